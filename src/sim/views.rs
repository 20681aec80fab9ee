//! Resources served as a view of another's stored objects: events.k8s.io/v1 Events are core/v1 Events (no I/O).
//!
//! kube-apiserver stores an Event once and serves it under both groups, converting on the way in
//! and out; so does the store here: objects are kept in the storage resource's form, and every
//! read, watch and write of a view converts.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::resources::{self, Resource};
use super::stored::StoredObject;

/// The resource whose objects `resource` serves: itself, or core/v1 Events for events.k8s.io/v1.
pub fn storage(resource: &'static Resource) -> &'static Resource {
    if is_events_k8s_io(resource) {
        resources::builtin("", "events")
    } else {
        resource
    }
}

fn is_events_k8s_io(resource: &Resource) -> bool {
    resource.group == "events.k8s.io" && resource.plural == "events"
}

/// Whether `resource` serves its stored objects as they are stored.
pub fn is_own_storage(resource: &'static Resource) -> bool {
    !is_events_k8s_io(resource)
}

/// A stored object's JSON text as `resource` serves it: the stored text itself, unless it is a view.
pub fn view_json<'s>(resource: &'static Resource, stored: &'s StoredObject) -> Cow<'s, str> {
    if is_own_storage(resource) {
        Cow::Borrowed(stored.json())
    } else {
        Cow::Owned(to_view(resource, stored.value()).to_string())
    }
}

/// A stored object (storage form) as `resource` serves it (unchanged when `resource` is its own storage).
pub fn to_view(resource: &'static Resource, stored: Value) -> Value {
    if is_own_storage(resource) {
        return stored;
    }
    let mut view = stored;
    if let Value::Object(fields) = &mut view {
        convert(fields, resource, |(core, events)| (core, events));
        for field in OMITTED_FROM_EVENTS_K8S_IO_WHEN_UNSET {
            if fields.get(*field).is_some_and(|value| value == "") {
                fields.remove(*field);
            }
        }
    }
    view
}

/// An object written through `resource`, in its storage resource's form.
pub fn to_storage(resource: &Resource, mut view: Value) -> Value {
    if is_events_k8s_io(resource)
        && let Value::Object(fields) = &mut view
    {
        convert(fields, resources::builtin("", "events"), |(core, events)| {
            (events, core)
        });
    }
    if is_event(resource)
        && let Value::Object(fields) = &mut view
    {
        for (field, zero) in CORE_ZERO_VALUES {
            fields.entry(*field).or_insert_with(zero);
        }
    }
    view
}

fn is_event(resource: &Resource) -> bool {
    resource.plural == "events" && matches!(resource.group, "" | "events.k8s.io")
}

type ZeroValue = fn() -> Value;

/// core/v1 Event fields that kube-apiserver serialises even when unset (Go zero values without
/// `omitempty` effect: structs, times, strings without the tag), so every Event carries them.
const CORE_ZERO_VALUES: &[(&str, ZeroValue)] = &[
    ("source", || json!({})),
    ("firstTimestamp", || Value::Null),
    ("lastTimestamp", || Value::Null),
    ("eventTime", || Value::Null),
    ("reportingComponent", || json!("")),
    ("reportingInstance", || json!("")),
];

/// events.k8s.io/v1 Event fields that kube-apiserver omits when empty (`omitempty` there), though
/// the core/v1 form carries them.
const OMITTED_FROM_EVENTS_K8S_IO_WHEN_UNSET: &[&str] = &["reportingController", "reportingInstance"];

/// (core/v1 field, events.k8s.io/v1 field).
type Renamed = (&'static str, &'static str);

/// core/v1 field ↔ events.k8s.io/v1 field; every other field has the same name in both. As in
/// kube-apiserver's Convert_core_Event_To_v1_Event and Convert_v1_Event_To_core_Event
/// (pkg/apis/events/v1/conversion.go), plus `reportingComponent`, the core/v1 JSON name of the
/// Go field ReportingController.
const RENAMED: &[Renamed] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

/// Renames each field from one side of `RENAMED` to the other (`direction` picks (from, to)) and
/// sets `apiVersion` to `target`'s. A field already carrying a target name is one the source
/// version does not have; kube-apiserver's decoder drops it, and so does this.
fn convert(fields: &mut Map<String, Value>, target: &Resource, direction: fn(Renamed) -> Renamed) {
    for pair in RENAMED {
        let (from, to) = direction(*pair);
        let value = fields.remove(from);
        fields.remove(to);
        if let Some(value) = value {
            fields.insert(to.to_string(), value);
        }
    }
    fields.insert("apiVersion".into(), json!(target.api_version()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events_k8s_io() -> &'static Resource {
        resources::builtin("events.k8s.io", "events")
    }

    fn core_event() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "agent.1", "namespace": "default"},
            "involvedObject": {"kind": "DaemonSet", "name": "agent", "namespace": "default", "uid": "u1"},
            "reason": "SuccessfulCreate", "message": "Created pod: agent-x", "type": "Normal",
            "source": {"component": "daemonset-controller", "host": "h"},
            "firstTimestamp": "2026-12-05T10:00:00Z", "lastTimestamp": "2026-12-05T10:01:00Z", "count": 2,
            "eventTime": null, "action": "Create", "related": {"kind": "Pod", "name": "agent-x"},
            "reportingComponent": "daemonroll", "reportingInstance": "daemonroll-0",
            "series": {"count": 2, "lastObservedTime": "2026-12-05T10:01:00.000000Z"},
        })
    }

    #[test]
    fn a_core_event_reads_under_events_k8s_io_with_the_upstream_field_names() {
        let view = to_view(events_k8s_io(), core_event());
        assert_eq!(
            view,
            json!({
                "apiVersion": "events.k8s.io/v1", "kind": "Event",
                "metadata": {"name": "agent.1", "namespace": "default"},
                "regarding": {"kind": "DaemonSet", "name": "agent", "namespace": "default", "uid": "u1"},
                "reason": "SuccessfulCreate", "note": "Created pod: agent-x", "type": "Normal",
                "deprecatedSource": {"component": "daemonset-controller", "host": "h"},
                "deprecatedFirstTimestamp": "2026-12-05T10:00:00Z", "deprecatedLastTimestamp": "2026-12-05T10:01:00Z",
                "deprecatedCount": 2,
                "eventTime": null, "action": "Create", "related": {"kind": "Pod", "name": "agent-x"},
                "reportingController": "daemonroll", "reportingInstance": "daemonroll-0",
                "series": {"count": 2, "lastObservedTime": "2026-12-05T10:01:00.000000Z"},
            })
        );
    }

    #[test]
    fn converting_to_the_view_and_back_is_lossless() {
        let stored = core_event();
        let view = to_view(events_k8s_io(), stored.clone());
        assert_eq!(to_storage(events_k8s_io(), view), stored);
    }

    #[test]
    fn resources_that_are_their_own_storage_are_served_as_stored() {
        let pods = resources::builtin("", "pods");
        let stored = json!({"apiVersion": "v1", "kind": "Pod", "message": "kept"});
        assert_eq!(to_view(pods, stored.clone()), stored);
        assert_eq!(to_storage(pods, stored.clone()), stored);
        assert!(std::ptr::eq(storage(pods), pods));
        assert!(is_own_storage(pods) && !is_own_storage(events_k8s_io()));
    }
}
