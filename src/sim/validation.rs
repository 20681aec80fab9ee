//! Validation as kube-apiserver does it: every kind's metadata, and DaemonSets as
//! pkg/apis/apps/validation checks them (the parts the controller relies on); rejected writes
//! answer 422 with one cause per field (no I/O).

use serde_json::{Map, Value, json};

use super::errors::ApiError;
use super::meta_validation::metadata_causes;
use super::resources::Resource;

fn int_or_percent(value: Option<&Value>) -> Result<Option<(i64, bool)>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(|v| Some((v, false)))
            .ok_or_else(|| format!("{n} is not an integer")),
        Some(Value::String(text)) => {
            let number = text
                .strip_suffix('%')
                .ok_or_else(|| format!("{text:?} must be an integer or a percentage"))?;
            number
                .parse::<i64>()
                .map(|v| Some((v, true)))
                .map_err(|_| format!("{text:?} is not a valid percentage"))
        }
        Some(other) => Err(format!("{other} must be an integer or a percentage")),
    }
}

fn selector_matches(selector: &Value, labels: &Value) -> bool {
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    let labels_ok = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|m| m.iter().all(|(k, v)| label(k) == v.as_str()));
    let expressions_ok = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .is_none_or(|expressions| {
            expressions.iter().all(|e| {
                let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
                let values: Vec<&str> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|v| v.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                match e.get("operator").and_then(Value::as_str) {
                    Some("In") => label(key).is_some_and(|v| values.contains(&v)),
                    Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
                    Some("Exists") => label(key).is_some(),
                    Some("DoesNotExist") => label(key).is_none(),
                    _ => false,
                }
            })
        });
    labels_ok && expressions_ok
}

/// A bad value as field.Invalid prints it: Go's encoding/json, map keys sorted.
fn go_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by_key(|(key, _)| key.as_str());
            let fields: Vec<String> = entries
                .iter()
                .map(|(key, value)| format!("{}:{}", Value::from(key.as_str()), go_json(value)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(go_json).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// A LabelSelector as Go encodes the struct: `matchLabels`, then `matchExpressions`, each
/// omitted when empty.
pub fn go_selector_json(selector: &Value) -> String {
    let fields: Vec<String> = ["matchLabels", "matchExpressions"]
        .iter()
        .filter_map(|field| {
            let value = selector.get(*field)?;
            let empty = value.as_object().is_some_and(Map::is_empty) || value.as_array().is_some_and(Vec::is_empty);
            (!value.is_null() && !empty).then(|| format!("\"{field}\":{}", go_json(value)))
        })
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// Any kind's validation: its metadata (`ValidateObjectMeta`, every kind) and, for a DaemonSet,
/// its spec; all causes in one 422, as kube-apiserver aggregates them.
pub fn validate(resource: &Resource, object: &Value) -> Result<(), ApiError> {
    let mut causes = metadata_causes(object);
    if resource.kind == "DaemonSet" {
        causes.extend(daemon_set_causes(object));
    }
    if causes.is_empty() {
        return Ok(());
    }
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Err(ApiError::invalid(resource, name, &causes))
}

/// apps/validation ValidateDaemonSet (the parts the controller relies on).
fn daemon_set_causes(object: &Value) -> Vec<(String, String)> {
    let spec = object.get("spec").cloned().unwrap_or(Value::Null);
    let mut causes = selector_causes(&spec);
    causes.extend(template_causes(&spec));
    for (field, minimum) in [("minReadySeconds", 0), ("revisionHistoryLimit", 0)] {
        if spec.get(field).and_then(Value::as_i64).is_some_and(|v| v < minimum) {
            causes.push((
                format!("spec.{field}"),
                "Invalid value: must be greater than or equal to 0".into(),
            ));
        }
    }
    if spec.pointer("/updateStrategy/type").and_then(Value::as_str) == Some("RollingUpdate") {
        causes.extend(rolling_update_causes(&spec));
    }
    causes
}

/// The selector is required, not empty, and matches the template's labels.
fn selector_causes(spec: &Value) -> Vec<(String, String)> {
    let mut causes: Vec<(String, String)> = Vec::new();
    let selector = spec.get("selector").filter(|s| !s.is_null());
    let labels = spec.pointer("/template/metadata/labels").cloned().unwrap_or(json!({}));
    match selector {
        // Upstream: a nil selector selects nothing, so it cannot match the template's labels.
        None => causes.push((
            "spec.template.metadata.labels".into(),
            format!(
                "Invalid value: {}: `selector` does not match template `labels`",
                go_json(&labels)
            ),
        )),
        Some(selector) => {
            let empty = selector
                .get("matchLabels")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty)
                && selector
                    .get("matchExpressions")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty);
            if empty {
                causes.push((
                    "spec.selector".into(),
                    format!(
                        "Invalid value: {}: empty selector is invalid for daemonset",
                        go_selector_json(selector)
                    ),
                ));
            } else if !selector_matches(selector, &labels) {
                causes.push((
                    "spec.template.metadata.labels".into(),
                    format!(
                        "Invalid value: {}: `selector` does not match template `labels`",
                        go_json(&labels)
                    ),
                ));
            }
        }
    }
    causes
}

/// The pod template: restartPolicy Always, at least one container, every container with an image.
fn template_causes(spec: &Value) -> Vec<(String, String)> {
    let mut causes: Vec<(String, String)> = Vec::new();
    let restart = spec
        .pointer("/template/spec/restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or("Always");
    if restart != "Always" {
        causes.push((
            "spec.template.spec.restartPolicy".into(),
            format!("Unsupported value: {restart:?}: supported values: \"Always\""),
        ));
    }
    let containers = spec.pointer("/template/spec/containers").and_then(Value::as_array);
    if containers.is_none_or(Vec::is_empty) {
        causes.push(("spec.template.spec.containers".into(), "Required value".into()));
    }
    for (index, container) in containers.into_iter().flatten().enumerate() {
        if container.get("image").and_then(Value::as_str).is_none_or(str::is_empty) {
            causes.push((
                format!("spec.template.spec.containers[{index}].image"),
                "Required value".into(),
            ));
        }
    }
    causes
}

/// `maxUnavailable` and `maxSurge`: each an int or a percentage ≥ 0 (≤ 100%), exactly one of them non-zero.
fn rolling_update_causes(spec: &Value) -> Vec<(String, String)> {
    let mut causes: Vec<(String, String)> = Vec::new();
    let rolling = spec
        .pointer("/updateStrategy/rollingUpdate")
        .cloned()
        .unwrap_or(Value::Null);
    let mut resolved = Vec::new();
    for field in ["maxUnavailable", "maxSurge"] {
        match int_or_percent(rolling.get(field)) {
            Err(problem) => causes.push((
                format!("spec.updateStrategy.rollingUpdate.{field}"),
                format!("Invalid value: {problem}"),
            )),
            Ok(Some((value, percent))) => {
                if value < 0 {
                    causes.push((
                        format!("spec.updateStrategy.rollingUpdate.{field}"),
                        "Invalid value: must be greater than or equal to 0".into(),
                    ));
                } else if percent && value > 100 {
                    causes.push((
                        format!("spec.updateStrategy.rollingUpdate.{field}"),
                        "Invalid value: must not be greater than 100%".into(),
                    ));
                }
                resolved.push(value);
            }
            Ok(None) => resolved.push(0),
        }
    }
    if resolved.len() == 2 && (resolved[0] == 0) == (resolved[1] == 0) {
        let problem = if resolved[0] == 0 {
            "may not be 0 when `maxSurge` is 0"
        } else {
            "may not be set when maxSurge is non-zero"
        };
        causes.push((
            "spec.updateStrategy.rollingUpdate.maxUnavailable".into(),
            format!("Invalid value: {problem}"),
        ));
    }
    causes
}
