//! PATCH bodies: JSON merge patch, JSON patch, strategic merge patch and server-side apply (no I/O).
//!
//! Strategic merge follows apimachinery strategicpatch for the built-in kinds served here: lists
//! with a patch merge key are merged element by element, `$patch: replace|delete` directives are
//! honoured, `null` deletes a field, `$setElementOrder`/`$retainKeys` are accepted and ignored.

use serde_json::{Map, Value};

/// The patch types of the `Content-Type` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    Merge,
    Json,
    StrategicMerge,
    Apply,
}

impl PatchType {
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media = content_type.split(';').next().unwrap_or_default().trim();
        match media {
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/json-patch+json" => Some(PatchType::Json),
            "application/strategic-merge-patch+json" => Some(PatchType::StrategicMerge),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Some(PatchType::Apply),
            _ => None,
        }
    }
}

/// The merge key of a list field, by field name (the pod-spec and metadata lists kubectl patches).
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers" | "initContainers" | "ephemeralContainers" | "env" | "volumes" | "imagePullSecrets" => {
            Some("name")
        }
        "volumeMounts" | "volumeDevices" => Some("mountPath"),
        "ports" => Some("containerPort"),
        "hostAliases" => Some("ip"),
        "conditions" => Some("type"),
        "ownerReferences" => Some("uid"),
        _ => None,
    }
}

fn strip_directives(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| !key.starts_with('$'))
                .map(|(key, value)| (key.clone(), strip_directives(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

fn merge_list(target: &mut Vec<Value>, patch: &[Value], key: &str) {
    for element in patch {
        let id = element.get(key);
        let directive = element.get("$patch").and_then(Value::as_str);
        let position = target
            .iter()
            .position(|existing| id.is_some() && existing.get(key) == id);
        match (directive, position) {
            (Some("delete"), Some(index)) => {
                target.remove(index);
            }
            (Some("delete"), None) => {}
            (Some("replace"), Some(index)) => target[index] = strip_directives(element),
            (_, Some(index)) => strategic_merge(&mut target[index], element),
            (_, None) => target.push(strip_directives(element)),
        }
    }
}

/// Applies a strategic merge patch to `target` in place.
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if patch_map.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = strip_directives(patch);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target_map) = target else {
        return;
    };
    for (field, value) in patch_map {
        if field.starts_with('$') {
            continue;
        }
        if value.is_null() {
            target_map.remove(field);
            continue;
        }
        if value.get("$patch").and_then(Value::as_str) == Some("delete") {
            target_map.remove(field);
            continue;
        }
        match (target_map.get_mut(field), value, merge_key(field)) {
            (Some(Value::Object(_)), Value::Object(_), _) => {
                if let Some(existing) = target_map.get_mut(field) {
                    strategic_merge(existing, value);
                }
            }
            (Some(Value::Array(existing)), Value::Array(items), Some(key)) => merge_list(existing, items, key),
            _ => {
                target_map.insert(field.clone(), strip_directives(value));
            }
        }
    }
}

/// Applies `patch` of `patch_type` to a copy of `current`.
pub fn apply(patch_type: PatchType, current: &Value, patch: &Value) -> Result<Value, String> {
    let mut patched = current.clone();
    match patch_type {
        PatchType::Merge => json_patch::merge(&mut patched, patch),
        PatchType::Json => {
            let operations: json_patch::Patch =
                serde_json::from_value(patch.clone()).map_err(|error| format!("invalid JSON patch: {error}"))?;
            json_patch::patch(&mut patched, &operations).map_err(|error| format!("the JSON patch failed: {error}"))?;
        }
        // Server-side apply is approximated by merging the applied configuration into the live
        // object; field ownership and conflicts are not modelled.
        PatchType::StrategicMerge | PatchType::Apply => strategic_merge(&mut patched, patch),
    }
    Ok(patched)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn daemon_set() -> Value {
        json!({"metadata": {"name": "foo", "labels": {"a": "1"}},
               "spec": {"template": {"metadata": {"labels": {"app": "foo"}},
                 "spec": {"containers": [{"name": "c", "image": "img:1", "env": [{"name": "X", "value": "1"}]},
                                         {"name": "sidecar", "image": "side:1"}],
                          "tolerations": [{"operator": "Exists"}]}}}})
    }

    // The patch `kubectl set image ds/foo c=img:2` sends.
    #[test]
    fn set_image_patch_merges_containers_by_name() {
        let patch = json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "sidecar"}],
                                                         "containers": [{"image": "img:2", "name": "c"}]}}}});
        let patched = apply(PatchType::StrategicMerge, &daemon_set(), &patch).expect("applies");
        assert_eq!(patched["spec"]["template"]["spec"]["containers"][0]["image"], "img:2");
        assert_eq!(
            patched["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
            "1"
        );
        assert_eq!(patched["spec"]["template"]["spec"]["containers"][1]["image"], "side:1");
    }

    // The patch `kubectl rollout undo` sends: a revision's data with `$patch: replace` on the template.
    #[test]
    fn replace_directive_swaps_the_template_wholesale() {
        let patch = json!({"spec": {"template": {"$patch": "replace", "metadata": {"labels": {"app": "foo"}},
                                                 "spec": {"containers": [{"name": "c", "image": "img:0"}]}}}});
        let patched = apply(PatchType::StrategicMerge, &daemon_set(), &patch).expect("applies");
        assert_eq!(
            patched["spec"]["template"],
            json!({"metadata": {"labels": {"app": "foo"}}, "spec": {"containers": [{"name": "c", "image": "img:0"}]}})
        );
    }

    #[test]
    fn delete_directives_and_nulls_remove_what_they_name() {
        let patch = json!({"metadata": {"labels": {"a": null}},
                           "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}});
        let patched = apply(PatchType::StrategicMerge, &daemon_set(), &patch).expect("applies");
        assert_eq!(patched["metadata"]["labels"], json!({}));
        assert_eq!(
            patched["spec"]["template"]["spec"]["containers"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
    }

    #[test]
    fn lists_without_a_merge_key_are_replaced() {
        let patch = json!({"spec": {"template": {"spec": {"tolerations": [{"key": "k", "operator": "Exists"}]}}}});
        let patched = apply(PatchType::StrategicMerge, &daemon_set(), &patch).expect("applies");
        assert_eq!(
            patched["spec"]["template"]["spec"]["tolerations"],
            json!([{"key": "k", "operator": "Exists"}])
        );
    }

    #[test]
    fn merge_and_json_patches_follow_their_rfcs() {
        let merged = apply(
            PatchType::Merge,
            &daemon_set(),
            &json!({"metadata": {"labels": {"tier": "web", "a": null}}}),
        )
        .expect("applies");
        assert_eq!(merged["metadata"]["labels"], json!({"tier": "web"}));
        let ops = json!([{"op": "replace", "path": "/spec/template/spec/containers/1/image", "value": "side:2"},
                         {"op": "test", "path": "/metadata/name", "value": "foo"}]);
        let patched = apply(PatchType::Json, &daemon_set(), &ops).expect("applies");
        assert_eq!(patched["spec"]["template"]["spec"]["containers"][1]["image"], "side:2");
        let failing = json!([{"op": "test", "path": "/metadata/name", "value": "bar"}]);
        assert!(apply(PatchType::Json, &daemon_set(), &failing).is_err());
    }
}
