//! Reading pods as the API server serves them (JSON), for assertions.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub fn text<'v>(value: &'v Value, pointer: &str) -> &'v str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// The uid of the pod's controller (its ownerReference with controller: true), if any.
pub fn controller_uid(pod: &Value) -> Option<&str> {
    pod.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r["controller"] == json!(true))
        .and_then(|r| r["uid"].as_str())
}

/// The name of the pod's controller (its ownerReference with controller: true), if any.
pub fn controller_name(pod: &Value) -> Option<String> {
    pod["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == true)
        .and_then(|r| r["name"].as_str())
        .map(str::to_string)
}

/// The node a daemon pod belongs to: spec.nodeName, else its pinning affinity's value.
pub fn pod_node(pod: &Value) -> String {
    let bound = text(pod, "/spec/nodeName");
    if !bound.is_empty() {
        return bound.to_string();
    }
    text(
        pod,
        "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields/0/values/0",
    )
    .to_string()
}

pub fn pod_image(pod: &Value) -> &str {
    text(pod, "/spec/containers/0/image")
}

/// status.phase: Pending, Running, Succeeded, Failed (empty before the kubelet wrote it).
pub fn pod_phase(pod: &Value) -> &str {
    text(pod, "/status/phase")
}

pub fn is_terminating(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null())
}

pub fn ready_since(pod: &Value) -> Option<DateTime<Utc>> {
    let conditions = pod.pointer("/status/conditions")?.as_array()?;
    let ready = conditions.iter().find(|c| c["type"] == "Ready")?;
    if ready["status"] != "True" {
        return None;
    }
    text(ready, "/lastTransitionTime").parse().ok()
}

/// Whether the pod's Ready condition is True.
pub fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| conditions.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}
