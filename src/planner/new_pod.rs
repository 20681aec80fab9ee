//! The pod a sync creates on a node, built from the served template JSON (pure).
//!
//! Upstream: util/daemonset_util.go CreatePodTemplate and ReplaceDaemonSetPodNodeNameNodeAffinity;
//! controller_utils.go GetPodFromTemplate. Invariants: the template's spec is copied as served (fields
//! unknown to this build included); the pod carries the controller ownerReference, the hash and
//! generation labels, the implicit daemon tolerations and a required node affinity naming only its node
//! (ARCHITECTURE.md, invariant 3); `spec.nodeName` stays as the template has it (the scheduler binds).

use serde_json::{Map, Value, json};

use super::tolerations::{Toleration, implicit_daemon_tolerations};
use crate::snapshot::{DaemonSetView, REVISION_HASH_LABEL, TEMPLATE_GENERATION_LABEL};

fn toleration_json(toleration: &Toleration) -> Value {
    let mut object = Map::new();
    for (key, value) in [
        ("key", &toleration.key),
        ("operator", &toleration.operator),
        ("value", &toleration.value),
        ("effect", &toleration.effect),
    ] {
        if !value.is_empty() {
            object.insert(key.into(), json!(value));
        }
    }
    if let Some(seconds) = toleration.toleration_seconds {
        object.insert("tolerationSeconds".into(), json!(seconds));
    }
    Value::Object(object)
}

fn toleration_from_json(value: &Value) -> Toleration {
    let field = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    Toleration {
        key: field("key"),
        operator: field("operator"),
        value: field("value"),
        effect: field("effect"),
        toleration_seconds: value.get("tolerationSeconds").and_then(Value::as_i64),
    }
}

/// Adds or updates the implicit daemon tolerations in a tolerations JSON list, keeping user entries
/// (and their unknown fields) untouched unless an implicit toleration replaces them.
/// Upstream: pkg/apis/core/v1/helper/helpers.go AddOrUpdateTolerationInPodSpec.
fn add_daemon_tolerations(tolerations: &mut Vec<Value>, host_network: bool) {
    // Parsed once and kept in step with `tolerations`: a template may carry thousands.
    let mut parsed: Vec<Toleration> = tolerations.iter().map(toleration_from_json).collect();
    for implicit in implicit_daemon_tolerations(host_network) {
        if parsed.contains(&implicit) {
            continue;
        }
        let mut replaced = false;
        for (slot, existing) in tolerations.iter_mut().zip(parsed.iter_mut()) {
            let same_identity = existing.key == implicit.key
                && existing.operator == implicit.operator
                && existing.value == implicit.value
                && existing.effect == implicit.effect;
            if same_identity {
                *slot = toleration_json(&implicit);
                *existing = implicit.clone();
                replaced = true;
            }
        }
        if !replaced {
            tolerations.push(toleration_json(&implicit));
            parsed.push(implicit);
        }
    }
}

/// Pins the pod to `node`: the required node affinity becomes exactly one `metadata.name In [node]`
/// term; preferred terms and pod (anti-)affinity stay.
fn pin_to_node(spec: &mut Map<String, Value>, node: &str) {
    let term = json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]);
    let affinity = spec.entry("affinity").or_insert_with(|| json!({}));
    if !affinity.is_object() {
        *affinity = json!({});
    }
    let node_affinity = &mut affinity["nodeAffinity"];
    if !node_affinity.is_object() {
        *node_affinity = json!({});
    }
    let required = &mut node_affinity["requiredDuringSchedulingIgnoredDuringExecution"];
    if !required.is_object() {
        *required = json!({});
    }
    required["nodeSelectorTerms"] = term;
}

/// The Pod object to create for `daemon_set` on `node`, with `hash` as its revision label.
pub fn daemon_pod(daemon_set: &DaemonSetView, hash: &str, node: &str) -> Value {
    let template = daemon_set.template.as_object().cloned().unwrap_or_default();
    let template_metadata = template
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut spec = template
        .get("spec")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();

    let mut tolerations = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool).unwrap_or(false);
    add_daemon_tolerations(&mut tolerations, host_network);
    spec.insert("tolerations".into(), Value::Array(tolerations));
    pin_to_node(&mut spec, node);

    let mut labels = template_metadata
        .get("labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(generation) = daemon_set.template_generation() {
        labels.insert(TEMPLATE_GENERATION_LABEL.into(), json!(generation.to_string()));
    }
    if !hash.is_empty() {
        labels.insert(REVISION_HASH_LABEL.into(), json!(hash));
    }
    let mut metadata = Map::new();
    metadata.insert("generateName".into(), json!(format!("{}-", daemon_set.name)));
    metadata.insert("namespace".into(), json!(daemon_set.namespace));
    metadata.insert("labels".into(), Value::Object(labels));
    for key in ["annotations", "finalizers"] {
        if let Some(value) = template_metadata.get(key).filter(|v| !v.is_null()) {
            metadata.insert(key.into(), value.clone());
        }
    }
    metadata.insert("ownerReferences".into(), json!([daemon_set.controller_reference()]));
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::from_json::daemon_set_from_json;

    fn daemon_set(spec: Value) -> DaemonSetView {
        let object = json!({
            "metadata": {"name": "agent", "namespace": "kube-system", "uid": "u-1", "generation": 3,
                         "annotations": {"deprecated.daemonset.template.generation": "3"}},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": {"metadata": {"labels": {"app": "agent", "pod-template-generation": "1"},
                                               "annotations": {"a": "b"}, "name": "ignored"},
                                  "spec": spec}}
        });
        daemon_set_from_json(&object).expect("valid DaemonSet")
    }

    // Mirrors util/daemonset_util_test.go TestCreatePodTemplate and TestReplaceDaemonSetPodNodeNameNodeAffinity.
    #[test]
    fn created_pod_carries_labels_owner_pinning_and_unknown_fields() {
        let ds = daemon_set(json!({
            "containers": [{"name": "a", "image": "a:1", "futureContainerField": 1}],
            "futureSpecField": {"x": true},
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "os", "operator": "In", "values": ["linux"]}]}]},
                    "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {}}]
                },
                "podAntiAffinity": {"x": 1}
            }
        }));
        let pod = daemon_pod(&ds, "5d8f", "node-7");
        assert_eq!(pod["metadata"]["generateName"], "agent-");
        assert_eq!(pod["metadata"]["namespace"], "kube-system");
        assert_eq!(
            pod["metadata"]["name"],
            Value::Null,
            "template metadata.name is not copied"
        );
        assert_eq!(
            pod["metadata"]["labels"],
            json!({"app": "agent", "pod-template-generation": "3", "controller-revision-hash": "5d8f"})
        );
        assert_eq!(pod["metadata"]["annotations"], json!({"a": "b"}));
        assert_eq!(pod["metadata"]["ownerReferences"][0]["uid"], "u-1");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(pod["spec"]["futureSpecField"], json!({"x": true}));
        assert_eq!(pod["spec"]["containers"][0]["futureContainerField"], 1);
        assert_eq!(
            pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"],
            json!({"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-7"]}]}]})
        );
        assert_eq!(pod["spec"]["affinity"]["podAntiAffinity"], json!({"x": 1}));
        assert!(pod["spec"]["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"].is_array());
        assert_eq!(pod["spec"].get("nodeName"), None, "the scheduler binds the pod");
    }

    #[test]
    fn created_pod_gets_the_implicit_tolerations_after_the_users() {
        let ds = daemon_set(json!({
            "containers": [{"name": "a", "image": "a:1"}],
            "hostNetwork": true,
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule", "futureField": 1}
            ]
        }));
        let pod = daemon_pod(&ds, "h", "n1");
        let keys: Vec<&str> = pod["spec"]["tolerations"]
            .as_array()
            .expect("tolerations")
            .iter()
            .map(|t| t["key"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            keys,
            vec![
                "node.kubernetes.io/not-ready",
                "dedicated",
                "node.kubernetes.io/unreachable",
                "node.kubernetes.io/disk-pressure",
                "node.kubernetes.io/memory-pressure",
                "node.kubernetes.io/pid-pressure",
                "node.kubernetes.io/unschedulable",
                "node.kubernetes.io/network-unavailable",
            ]
        );
        assert_eq!(
            pod["spec"]["tolerations"][0].get("tolerationSeconds"),
            None,
            "replaced by the implicit one"
        );
        assert_eq!(
            pod["spec"]["tolerations"][1]["futureField"], 1,
            "user tolerations are kept as served"
        );
    }
}
