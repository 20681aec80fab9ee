//! `meta.k8s.io/v1 Table` responses, so that `kubectl get` prints real columns (no I/O but `now`).
//!
//! Column sets follow kube-apiserver's server-side printers (pkg/printers/internalversion), which
//! `kubectl get` shows as they come.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::resources::Resource;
use super::views;

fn column(name: &str, kind: &str, priority: u8) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": kind, "format": format, "description": "", "priority": priority})
}

fn columns(resource: &Resource) -> Vec<Value> {
    match resource.kind {
        "Pod" => vec![
            column("Name", "string", 0),
            column("Ready", "string", 0),
            column("Status", "string", 0),
            column("Restarts", "string", 0),
            column("Age", "string", 0),
            column("IP", "string", 1),
            column("Node", "string", 1),
            column("Nominated Node", "string", 1),
            column("Readiness Gates", "string", 1),
        ],
        "Node" => vec![
            column("Name", "string", 0),
            column("Status", "string", 0),
            column("Roles", "string", 0),
            column("Age", "string", 0),
            column("Version", "string", 0),
            column("Internal-IP", "string", 1),
            column("External-IP", "string", 1),
            column("OS-Image", "string", 1),
            column("Kernel-Version", "string", 1),
            column("Container-Runtime", "string", 1),
        ],
        "DaemonSet" => vec![
            column("Name", "string", 0),
            column("Desired", "integer", 0),
            column("Current", "integer", 0),
            column("Ready", "integer", 0),
            column("Up-to-date", "integer", 0),
            column("Available", "integer", 0),
            column("Node Selector", "string", 0),
            column("Age", "string", 0),
            column("Containers", "string", 1),
            column("Images", "string", 1),
            column("Selector", "string", 1),
        ],
        "ControllerRevision" => vec![
            column("Name", "string", 0),
            column("Controller", "string", 0),
            column("Revision", "integer", 0),
            column("Age", "string", 0),
        ],
        "Event" => vec![
            column("Last Seen", "string", 0),
            column("Type", "string", 0),
            column("Reason", "string", 0),
            column("Object", "string", 0),
            column("Subobject", "string", 1),
            column("Source", "string", 1),
            column("Message", "string", 0),
            column("First Seen", "string", 1),
            column("Count", "string", 1),
            column("Name", "string", 1),
        ],
        "ConfigMap" => vec![
            column("Name", "string", 0),
            column("Data", "string", 0),
            column("Age", "string", 0),
        ],
        "Secret" => vec![
            column("Name", "string", 0),
            column("Type", "string", 0),
            column("Data", "string", 0),
            column("Age", "string", 0),
        ],
        _ => vec![column("Name", "string", 0), column("Age", "string", 0)],
    }
}

/// kubectl's short duration: 45s, 12m, 3h, 5d, 2y.
pub fn age(created: Option<&str>, now: DateTime<Utc>) -> String {
    let Some(created) = created.and_then(|c| DateTime::parse_from_rfc3339(c).ok()) else {
        return "<unknown>".into();
    };
    let seconds = (now - created.with_timezone(&Utc)).num_seconds().max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 3600 * 2 => format!("{}m", s / 60),
        s if s < 86400 * 2 => format!("{}h", s / 3600),
        s if s < 86400 * 365 * 2 => format!("{}d", s / 86400),
        s => format!("{}y", s / (86400 * 365)),
    }
}

fn text(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn number(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn or_none(value: String) -> String {
    if value.is_empty() { "<none>".into() } else { value }
}

fn map_text(value: Option<&Value>) -> String {
    value
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn condition(object: &Value, kind: &str) -> Option<String> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|conditions| {
            conditions
                .iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
                .and_then(|c| c.get("status").and_then(Value::as_str).map(String::from))
        })
}

fn cells(resource: &Resource, object: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let name = text(object, "/metadata/name");
    let age = age(
        object.pointer("/metadata/creationTimestamp").and_then(Value::as_str),
        now,
    );
    match resource.kind {
        "Pod" => pod_cells(object, name, age),
        "Node" => node_cells(object, name, age),
        "DaemonSet" => daemon_set_cells(object, name, age),
        "ControllerRevision" => controller_revision_cells(object, name, age),
        // Both Event resources print the stored core/v1 form, as kube-apiserver prints its internal one.
        "Event" => event_cells(&views::to_storage(resource, object.clone()), name, now),
        "ConfigMap" => vec![
            json!(name),
            json!(entries(object, "/data") + entries(object, "/binaryData")),
            json!(age),
        ],
        "Secret" => vec![
            json!(name),
            json!(text(object, "/type")),
            json!(entries(object, "/data")),
            json!(age),
        ],
        _ => vec![json!(name), json!(age)],
    }
}

/// A Pod's cells, in the order of its `columns`.
fn pod_cells(object: &Value, name: String, age: String) -> Vec<Value> {
    let containers = object
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let ready = object
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(0, |s| s.iter().filter(|c| c.get("ready") == Some(&json!(true))).count());
    let status = if object.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating".to_string()
    } else {
        or_none(text(object, "/status/phase"))
    };
    vec![
        json!(name),
        json!(format!("{ready}/{containers}")),
        json!(status),
        json!("0"),
        json!(age),
        json!(or_none(text(object, "/status/podIP"))),
        json!(or_none(text(object, "/spec/nodeName"))),
        json!("<none>"),
        json!("<none>"),
    ]
}

/// A Node's cells, in the order of its `columns`.
fn node_cells(object: &Value, name: String, age: String) -> Vec<Value> {
    let mut status = match condition(object, "Ready").as_deref() {
        Some("True") => "Ready".to_string(),
        _ => "NotReady".to_string(),
    };
    if object.pointer("/spec/unschedulable") == Some(&json!(true)) {
        status.push_str(",SchedulingDisabled");
    }
    let roles: Vec<String> = object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let address = |kind: &str| {
        object
            .pointer("/status/addresses")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|x| x.get("type").and_then(Value::as_str) == Some(kind)))
            .and_then(|x| x.get("address").and_then(Value::as_str))
            .unwrap_or("<none>")
            .to_string()
    };
    vec![
        json!(name),
        json!(status),
        json!(or_none(roles.join(","))),
        json!(age),
        json!(text(object, "/status/nodeInfo/kubeletVersion")),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(or_none(text(object, "/status/nodeInfo/osImage"))),
        json!(or_none(text(object, "/status/nodeInfo/kernelVersion"))),
        json!(or_none(text(object, "/status/nodeInfo/containerRuntimeVersion"))),
    ]
}

/// A DaemonSet's cells, in the order of its `columns`.
fn daemon_set_cells(object: &Value, name: String, age: String) -> Vec<Value> {
    let containers = object
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array);
    let names: Vec<&str> = containers
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let images: Vec<&str> = containers
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("image").and_then(Value::as_str))
        .collect();
    vec![
        json!(name),
        json!(number(object, "/status/desiredNumberScheduled")),
        json!(number(object, "/status/currentNumberScheduled")),
        json!(number(object, "/status/numberReady")),
        json!(number(object, "/status/updatedNumberScheduled")),
        json!(number(object, "/status/numberAvailable")),
        json!(or_none(map_text(object.pointer("/spec/template/spec/nodeSelector")))),
        json!(age),
        json!(names.join(",")),
        json!(images.join(",")),
        json!(or_none(map_text(object.pointer("/spec/selector/matchLabels")))),
    ]
}

/// A ControllerRevision's cells, in the order of its `columns`.
fn controller_revision_cells(object: &Value, name: String, age: String) -> Vec<Value> {
    let controller = object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|refs| refs.iter().find(|r| r.get("controller") == Some(&json!(true))))
        .map(|r| {
            let kind = r.get("kind").and_then(Value::as_str).unwrap_or_default().to_lowercase();
            format!(
                "{kind}.apps/{}",
                r.get("name").and_then(Value::as_str).unwrap_or_default()
            )
        })
        .unwrap_or_else(|| "<none>".into());
    vec![
        json!(name),
        json!(controller),
        json!(number(object, "/revision")),
        json!(age),
    ]
}

fn entries(object: &Value, pointer: &str) -> usize {
    object
        .pointer(pointer)
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
}

/// A core/v1 Event's cells, in the order of its `columns` (upstream printers.go printEvent: a
/// missing firstTimestamp falls back to eventTime, lastTimestamp to the first, a series counts).
fn event_cells(event: &Value, name: String, now: DateTime<Utc>) -> Vec<Value> {
    let when = |pointer: &str| event.pointer(pointer).and_then(Value::as_str).filter(|t| !t.is_empty());
    let first_seen = age(when("/firstTimestamp").or(when("/eventTime")), now);
    let mut last_seen = when("/lastTimestamp").map_or_else(|| first_seen.clone(), |t| age(Some(t), now));
    let mut count = number(event, "/count");
    if event.get("series").is_some_and(Value::is_object) {
        last_seen = age(when("/series/lastObservedTime"), now);
        count = number(event, "/series/count");
    } else if count == 0 {
        count = 1;
    }
    let kind = text(event, "/involvedObject/kind").to_lowercase();
    let object_name = text(event, "/involvedObject/name");
    let target = if object_name.is_empty() {
        kind
    } else {
        format!("{kind}/{object_name}")
    };
    // formatEventSource: the reporting controller and instance stand in for an empty source.
    let first_non_empty = |a: String, b: String| if a.is_empty() { b } else { a };
    let component = first_non_empty(text(event, "/source/component"), text(event, "/reportingComponent"));
    let instance = first_non_empty(text(event, "/source/host"), text(event, "/reportingInstance"));
    let source = if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    };
    vec![
        json!(last_seen),
        json!(text(event, "/type")),
        json!(text(event, "/reason")),
        json!(target),
        json!(text(event, "/involvedObject/fieldPath")),
        json!(source),
        json!(text(event, "/message").trim()),
        json!(first_seen),
        json!(count),
        json!(name),
    ]
}

fn row(resource: &Resource, object: &Value, include_object: bool, now: DateTime<Utc>) -> Value {
    let row_object = if include_object {
        object.clone()
    } else {
        let mut metadata = object.get("metadata").cloned().unwrap_or(json!({}));
        // kube-apiserver builds rows from its internal object, where a DaemonSet's template
        // generation is a field, not this annotation (apps/v1 conversion adds it on the way out).
        if resource.kind == "DaemonSet"
            && let Some(Value::Object(annotations)) = metadata.get_mut("annotations")
        {
            annotations.remove("deprecated.daemonset.template.generation");
            if annotations.is_empty() {
                metadata.as_object_mut().map(|fields| fields.remove("annotations"));
            }
        }
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata})
    };
    json!({"cells": cells(resource, object, now), "object": row_object})
}

/// A Table of `objects`; `include_object` puts whole objects in rows (`includeObject=Object`).
pub fn table(
    resource: &Resource,
    objects: &[&Value],
    resource_version: u64,
    include_object: bool,
    now: DateTime<Utc>,
) -> Value {
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version.to_string()},
        "columnDefinitions": columns(resource),
        "rows": objects.iter().map(|object| row(resource, object, include_object, now)).collect::<Vec<_>>(),
    })
}

/// Whether the request's Accept header asks for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| first.contains("as=Table"))
}
