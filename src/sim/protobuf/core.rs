//! core/v1 kinds from protobuf: Namespace, ServiceAccount, ConfigMap, Secret, Event (no I/O).
//!
//! Go field types, and so which zero values are absent, follow k8s.io/api core/v1 types.go.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1 as json;
use k8s_pb::api::core::v1 as pb;
use serde_json::Value;

use super::meta::{list, map, micro_time, nonzero, object_meta, required, text, time};
use super::{ProtobufError, message};

pub fn namespace(raw: &[u8]) -> Result<Value, ProtobufError> {
    const KIND: &str = "Namespace";
    let pb::Namespace { metadata, spec, status } = message(KIND, raw)?;
    let spec = spec.map(|pb::NamespaceSpec { finalizers }| json::NamespaceSpec {
        finalizers: list(finalizers, |f| f),
    });
    let status = match status {
        None => None,
        Some(pb::NamespaceStatus { phase, conditions }) => {
            let mut converted = Vec::with_capacity(conditions.len());
            for condition in conditions {
                let pb::NamespaceCondition {
                    r#type,
                    status,
                    last_transition_time,
                    reason,
                    message,
                } = condition;
                converted.push(json::NamespaceCondition {
                    type_: required(r#type),
                    status: required(status),
                    last_transition_time: time(KIND, "status.conditions.lastTransitionTime", last_transition_time)?,
                    reason: text(reason),
                    message: text(message),
                });
            }
            Some(json::NamespaceStatus {
                phase: text(phase),
                conditions: (!converted.is_empty()).then_some(converted),
            })
        }
    };
    let namespace = json::Namespace {
        metadata: object_meta(KIND, metadata)?,
        spec,
        status,
    };
    super::json(KIND, &namespace)
}

pub fn service_account(raw: &[u8]) -> Result<Value, ProtobufError> {
    const KIND: &str = "ServiceAccount";
    let pb::ServiceAccount {
        metadata,
        secrets,
        image_pull_secrets,
        automount_service_account_token,
    } = message(KIND, raw)?;
    let account = json::ServiceAccount {
        metadata: object_meta(KIND, metadata)?,
        secrets: list(secrets, object_reference),
        image_pull_secrets: list(image_pull_secrets, |pb::LocalObjectReference { name }| {
            json::LocalObjectReference { name: required(name) }
        }),
        automount_service_account_token,
    };
    super::json(KIND, &account)
}

pub fn config_map(raw: &[u8]) -> Result<Value, ProtobufError> {
    const KIND: &str = "ConfigMap";
    let pb::ConfigMap {
        metadata,
        immutable,
        data,
        binary_data,
    } = message(KIND, raw)?;
    let config_map = json::ConfigMap {
        metadata: object_meta(KIND, metadata)?,
        immutable,
        data: map(data),
        binary_data: map(binary_data.into_iter().map(|(k, v)| (k, ByteString(v))).collect()),
    };
    super::json(KIND, &config_map)
}

pub fn secret(raw: &[u8]) -> Result<Value, ProtobufError> {
    const KIND: &str = "Secret";
    let pb::Secret {
        metadata,
        immutable,
        data,
        string_data,
        r#type,
    } = message(KIND, raw)?;
    let secret = json::Secret {
        metadata: object_meta(KIND, metadata)?,
        immutable,
        data: map(data.into_iter().map(|(k, v)| (k, ByteString(v))).collect()),
        string_data: map(string_data),
        type_: text(r#type),
    };
    super::json(KIND, &secret)
}

pub fn event(raw: &[u8]) -> Result<Value, ProtobufError> {
    const KIND: &str = "Event";
    let pb::Event {
        metadata,
        involved_object,
        reason,
        message: note,
        source,
        first_timestamp,
        last_timestamp,
        count,
        r#type,
        event_time,
        series,
        action,
        related,
        reporting_component,
        reporting_instance,
    } = message(KIND, raw)?;
    let series = match series {
        None => None,
        Some(pb::EventSeries {
            count,
            last_observed_time,
        }) => Some(json::EventSeries {
            count,
            last_observed_time: micro_time(KIND, "series.lastObservedTime", last_observed_time)?,
        }),
    };
    let event = json::Event {
        metadata: object_meta(KIND, metadata)?,
        involved_object: object_reference(involved_object.unwrap_or_default()),
        reason: text(reason),
        message: text(note),
        source: source.map(event_source),
        first_timestamp: time(KIND, "firstTimestamp", first_timestamp)?,
        last_timestamp: time(KIND, "lastTimestamp", last_timestamp)?,
        count: nonzero(count),
        type_: text(r#type),
        event_time: micro_time(KIND, "eventTime", event_time)?,
        series,
        action: text(action),
        related: related.map(object_reference),
        reporting_component: text(reporting_component),
        reporting_instance: text(reporting_instance),
    };
    super::json(KIND, &event)
}

pub fn object_reference(value: pb::ObjectReference) -> json::ObjectReference {
    let pb::ObjectReference {
        kind,
        namespace,
        name,
        uid,
        api_version,
        resource_version,
        field_path,
    } = value;
    json::ObjectReference {
        kind: text(kind),
        namespace: text(namespace),
        name: text(name),
        uid: text(uid),
        api_version: text(api_version),
        resource_version: text(resource_version),
        field_path: text(field_path),
    }
}

pub fn event_source(value: pb::EventSource) -> json::EventSource {
    let pb::EventSource { component, host } = value;
    json::EventSource {
        component: text(component),
        host: text(host),
    }
}
