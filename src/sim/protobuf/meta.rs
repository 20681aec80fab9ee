//! meta/v1 messages shared by every kind, and Go's zero values read as absent (no I/O).
//!
//! gogo-protobuf writes each non-pointer Go field even when it is empty, where JSON would leave an
//! `omitempty` field out; these helpers undo that per field. Pointer fields keep what was sent.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as json;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as pb;
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString as PbIntOrString;

use super::ProtobufError;

/// A Go `string` field tagged `omitempty`: empty is absent.
pub fn text(value: Option<String>) -> Option<String> {
    value.filter(|s| !s.is_empty())
}

/// A Go `string` field without `omitempty` (required in k8s-openapi).
pub fn required(value: Option<String>) -> String {
    value.unwrap_or_default()
}

/// A Go number field tagged `omitempty`: zero is absent.
pub fn nonzero<T: Default + PartialEq>(value: Option<T>) -> Option<T> {
    value.filter(|v| *v != T::default())
}

/// A Go slice tagged `omitempty`, its items converted: empty is absent.
pub fn list<P, J>(items: Vec<P>, convert: impl FnMut(P) -> J) -> Option<Vec<J>> {
    (!items.is_empty()).then(|| items.into_iter().map(convert).collect())
}

/// A Go slice tagged `omitempty` whose conversion can fail.
pub fn try_list<P, J>(
    items: Vec<P>,
    convert: impl FnMut(P) -> Result<J, ProtobufError>,
) -> Result<Option<Vec<J>>, ProtobufError> {
    if items.is_empty() {
        return Ok(None);
    }
    items.into_iter().map(convert).collect::<Result<_, _>>().map(Some)
}

/// A Go map tagged `omitempty`: empty is absent.
pub fn map<V>(entries: BTreeMap<String, V>) -> Option<BTreeMap<String, V>> {
    (!entries.is_empty()).then_some(entries)
}

/// What Go's zero `time.Time` is as Unix seconds (0001-01-01T00:00:00Z).
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

fn timestamp(kind: &'static str, field: &'static str, seconds: i64, nanos: i32) -> Result<Timestamp, ProtobufError> {
    Timestamp::new(seconds, nanos).map_err(|error| ProtobufError::Value {
        kind,
        field,
        problem: error.to_string(),
    })
}

/// A `metav1.Time`: a zero time is marshalled as an empty message, and nanoseconds are dropped on
/// unmarshal (apimachinery meta/v1 time_proto.go), so only the seconds count.
pub fn time(
    kind: &'static str,
    field: &'static str,
    value: Option<pb::Time>,
) -> Result<Option<json::Time>, ProtobufError> {
    let Some(pb::Time { seconds, nanos: _ }) = value else {
        return Ok(None);
    };
    match seconds {
        None | Some(GO_ZERO_TIME_SECONDS) => Ok(None),
        Some(seconds) => timestamp(kind, field, seconds, 0).map(|t| Some(json::Time(t))),
    }
}

/// A `metav1.MicroTime`: as `time`, but nanoseconds kept (micro_time_proto.go).
pub fn micro_time(
    kind: &'static str,
    field: &'static str,
    value: Option<pb::MicroTime>,
) -> Result<Option<json::MicroTime>, ProtobufError> {
    let Some(pb::MicroTime { seconds, nanos }) = value else {
        return Ok(None);
    };
    match seconds {
        None | Some(GO_ZERO_TIME_SECONDS) => Ok(None),
        Some(seconds) => timestamp(kind, field, seconds, nanos.unwrap_or(0)).map(|t| Some(json::MicroTime(t))),
    }
}

/// A time field k8s-openapi requires: a zero time cannot be written in its JSON form.
pub fn required_time<T>(kind: &'static str, field: &'static str, value: Option<T>) -> Result<T, ProtobufError> {
    value.ok_or(ProtobufError::Value {
        kind,
        field,
        problem: "a zero time where a time is required".into(),
    })
}

pub fn object_meta(kind: &'static str, value: Option<pb::ObjectMeta>) -> Result<json::ObjectMeta, ProtobufError> {
    let pb::ObjectMeta {
        name,
        generate_name,
        namespace,
        self_link,
        uid,
        resource_version,
        generation,
        creation_timestamp,
        deletion_timestamp,
        deletion_grace_period_seconds,
        labels,
        annotations,
        owner_references,
        finalizers,
        managed_fields,
    } = value.unwrap_or_default();
    Ok(json::ObjectMeta {
        name: text(name),
        generate_name: text(generate_name),
        namespace: text(namespace),
        self_link: text(self_link),
        uid: text(uid),
        resource_version: text(resource_version),
        generation: nonzero(generation),
        creation_timestamp: time(kind, "metadata.creationTimestamp", creation_timestamp)?,
        deletion_timestamp: time(kind, "metadata.deletionTimestamp", deletion_timestamp)?,
        deletion_grace_period_seconds,
        labels: map(labels),
        annotations: map(annotations),
        owner_references: list(owner_references, owner_reference),
        finalizers: list(finalizers, |f| f),
        managed_fields: try_list(managed_fields, |entry| managed_fields_entry(kind, entry))?,
    })
}

fn owner_reference(value: pb::OwnerReference) -> json::OwnerReference {
    let pb::OwnerReference {
        api_version,
        kind,
        name,
        uid,
        controller,
        block_owner_deletion,
    } = value;
    json::OwnerReference {
        api_version: required(api_version),
        kind: required(kind),
        name: required(name),
        uid: required(uid),
        controller,
        block_owner_deletion,
    }
}

fn managed_fields_entry(
    kind: &'static str,
    value: pb::ManagedFieldsEntry,
) -> Result<json::ManagedFieldsEntry, ProtobufError> {
    let pb::ManagedFieldsEntry {
        manager,
        operation,
        api_version,
        time: when,
        fields_type,
        fields_v1,
        subresource,
    } = value;
    let fields_v1 = match fields_v1.and_then(|pb::FieldsV1 { raw }| raw) {
        None => None,
        Some(raw) => Some(json::FieldsV1(serde_json::from_slice(&raw).map_err(|error| {
            ProtobufError::Value {
                kind,
                field: "metadata.managedFields.fieldsV1",
                problem: error.to_string(),
            }
        })?)),
    };
    Ok(json::ManagedFieldsEntry {
        manager: text(manager),
        operation: text(operation),
        api_version: text(api_version),
        time: time(kind, "metadata.managedFields.time", when)?,
        fields_type: text(fields_type),
        fields_v1,
        subresource: text(subresource),
    })
}

pub fn label_selector(value: pb::LabelSelector) -> json::LabelSelector {
    let pb::LabelSelector {
        match_labels,
        match_expressions,
    } = value;
    json::LabelSelector {
        match_labels: map(match_labels),
        match_expressions: list(match_expressions, |requirement| {
            let pb::LabelSelectorRequirement { key, operator, values } = requirement;
            json::LabelSelectorRequirement {
                key: required(key),
                operator: required(operator),
                values: list(values, |v| v),
            }
        }),
    }
}

pub fn condition(kind: &'static str, value: pb::Condition) -> Result<json::Condition, ProtobufError> {
    let pb::Condition {
        r#type,
        status,
        observed_generation,
        last_transition_time,
        reason,
        message,
    } = value;
    let field = "status.conditions.lastTransitionTime";
    Ok(json::Condition {
        type_: required(r#type),
        status: required(status),
        observed_generation: nonzero(observed_generation),
        last_transition_time: required_time(kind, field, time(kind, field, last_transition_time)?)?,
        reason: required(reason),
        message: required(message),
    })
}

/// An `intstr.IntOrString`: type 0 holds an int, 1 a string (apimachinery util/intstr).
pub fn int_or_string(value: PbIntOrString) -> IntOrString {
    let PbIntOrString {
        r#type,
        int_val,
        str_val,
    } = value;
    match r#type {
        Some(1) => IntOrString::String(required(str_val)),
        _ => IntOrString::Int(int_val.unwrap_or_default()),
    }
}
