//! Builds snapshot views from Kubernetes objects as JSON values (pure, no I/O).
//!
//! DaemonSets get the apps/v1 defaults the API server would apply (upstream:
//! pkg/apis/apps/v1/defaults.go SetDefaults_DaemonSet), so hand-written manifests plan like served ones.

use serde_json::{Map, Value};

use super::brief::{self, Brief, brief_json};
use super::key::namespace_of;

use super::{
    ConditionView, ControllerRef, DaemonSetStatusView, DaemonSetView, IntOrString, LabelSelector, Labels, NodeView,
    PodPhase, PodView, ReadyCondition, RevisionView, RollingUpdateParams, SelectorRequirement, StatusCounts, Taint,
    Timestamp, UpdateStrategy,
};

/// Why an object could not be turned into a view.
#[derive(Debug, thiserror::Error)]
#[error("{kind} {name}: {problem}")]
pub struct ObjectError {
    pub kind: &'static str,
    /// `namespace/name`, `name`, or `<unnamed>`.
    pub name: String,
    pub problem: String,
}

type Object = Map<String, Value>;

/// 0001-01-01T00:00:00Z in Unix seconds.
const GO_ZERO_TIME: i64 = -62_135_596_800;

fn object_name(object: &Object) -> String {
    let metadata = object.get("metadata");
    let name = metadata.and_then(|m| m.get("name")).and_then(Value::as_str);
    let namespace = metadata.and_then(|m| m.get("namespace")).and_then(Value::as_str);
    match (namespace, name) {
        (Some(ns), Some(name)) if !ns.is_empty() => format!("{}/{}", brief::name(ns), brief::name(name)),
        (_, Some(name)) => brief::name(name),
        _ => "<unnamed>".to_string(),
    }
}

/// Reads typed fields of one object and names it in every error.
struct Reader<'a> {
    kind: &'static str,
    object: &'a Object,
}

impl<'a> Reader<'a> {
    fn new(kind: &'static str, value: &'a Value) -> Result<Self, ObjectError> {
        match value.as_object() {
            Some(object) => Ok(Reader { kind, object }),
            None => Err(ObjectError {
                kind,
                name: "<unnamed>".into(),
                problem: "is not a JSON object".into(),
            }),
        }
    }

    fn error(&self, problem: impl Into<String>) -> ObjectError {
        ObjectError {
            kind: self.kind,
            name: object_name(self.object),
            problem: problem.into(),
        }
    }

    fn at(&self, path: &[&str]) -> Option<&'a Value> {
        let mut current = self.object.get(*path.first()?)?;
        for key in &path[1..] {
            current = current.get(key)?;
        }
        (!current.is_null()).then_some(current)
    }

    fn string(&self, path: &[&str]) -> Result<String, ObjectError> {
        match self.at(path) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.error(format!(
                "{} must be a string, found {}",
                path.join("."),
                brief_json(other)
            ))),
        }
    }

    fn required_string(&self, path: &[&str]) -> Result<String, ObjectError> {
        let value = self.string(path)?;
        if value.is_empty() {
            return Err(self.error(format!("{} is required", path.join("."))));
        }
        Ok(value)
    }

    fn int(&self, path: &[&str], default: i64) -> Result<i64, ObjectError> {
        match self.at(path) {
            None => Ok(default),
            Some(value) => value.as_i64().ok_or_else(|| {
                self.error(format!(
                    "{} must be an integer, found {}",
                    path.join("."),
                    brief_json(value)
                ))
            }),
        }
    }

    fn labels(&self, path: &[&str]) -> Result<Labels, ObjectError> {
        string_map(self.at(path)).map_err(|problem| self.error(format!("{}: {problem}", path.join("."))))
    }

    fn timestamp(&self, path: &[&str]) -> Result<Option<Timestamp>, ObjectError> {
        parse_time(self.at(path)).map_err(|problem| self.error(format!("{}: {problem}", path.join("."))))
    }

    fn controller(&self) -> Result<Option<ControllerRef>, ObjectError> {
        let Some(references) = self.at(&["metadata", "ownerReferences"]) else {
            return Ok(None);
        };
        let references = references
            .as_array()
            .ok_or_else(|| self.error("metadata.ownerReferences must be a list"))?;
        // Upstream: metav1.GetControllerOf — the first reference with controller=true.
        let controller = references
            .iter()
            .find(|reference| reference.get("controller").and_then(Value::as_bool) == Some(true));
        Ok(controller.map(|reference| {
            let field = |key: &str| {
                reference
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            ControllerRef {
                api_version: field("apiVersion").into(),
                kind: field("kind").into(),
                name: field("name").into(),
                uid: field("uid").into(),
            }
        }))
    }
}

fn string_map(value: Option<&Value>) -> Result<Labels, String> {
    let Some(value) = value else {
        return Ok(Labels::new());
    };
    let Some(map) = value.as_object() else {
        return Err(format!("must be a map of strings, found {}", brief_json(value)));
    };
    map.iter()
        .map(|(key, value)| match value {
            Value::String(s) => Ok((key.clone(), s.clone())),
            other => Err(format!(
                "value of {} must be a string, found {}",
                Brief(key),
                brief_json(other)
            )),
        })
        .collect()
}

/// RFC 3339 time; Go's zero time (0001-01-01T00:00:00Z) means "unset", as metav1.Time.IsZero says.
fn parse_time(value: Option<&Value>) -> Result<Option<Timestamp>, String> {
    match value {
        None => Ok(None),
        Some(Value::String(text)) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|time| Some(time.with_timezone(&chrono::Utc)).filter(|t| t.timestamp() != GO_ZERO_TIME))
            .map_err(|err| format!("{} is not an RFC 3339 time: {err}", Brief(text))),
        Some(other) => Err(format!("must be an RFC 3339 time string, found {}", brief_json(other))),
    }
}

fn int_or_string(value: &Value) -> Option<IntOrString> {
    match value {
        Value::Number(number) => number.as_i64().map(IntOrString::Int),
        Value::String(text) => Some(IntOrString::String(text.clone())),
        _ => None,
    }
}

pub fn node_from_json(value: &Value) -> Result<NodeView, ObjectError> {
    let reader = Reader::new("Node", value)?;
    let mut taints = Vec::new();
    if let Some(list) = reader.at(&["spec", "taints"]) {
        let list = list
            .as_array()
            .ok_or_else(|| reader.error("spec.taints must be a list"))?;
        for taint in list {
            let field = |key: &str| taint.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
            taints.push(Taint {
                key: field("key"),
                value: field("value"),
                effect: field("effect"),
            });
        }
    }
    let ready = reader
        .at(&["status", "conditions"])
        .and_then(Value::as_array)
        .and_then(|conditions| {
            conditions
                .iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
        })
        .map(|condition| condition.get("status").and_then(Value::as_str) == Some("True"));
    Ok(NodeView {
        name: reader.required_string(&["metadata", "name"])?.into(),
        labels: reader.labels(&["metadata", "labels"])?,
        taints,
        ready,
        being_deleted: reader.timestamp(&["metadata", "deletionTimestamp"])?.is_some(),
    })
}

/// The single `metadata.name In [node]` value of the first such matchFields requirement.
/// Upstream: util/daemonset_util.go GetTargetNodeName (an In with ≠ 1 values yields no target).
fn pinned_node(spec: Option<&Value>) -> Option<String> {
    let terms = spec?
        .get("affinity")?
        .get("nodeAffinity")?
        .get("requiredDuringSchedulingIgnoredDuringExecution")?
        .get("nodeSelectorTerms")?
        .as_array()?;
    for term in terms {
        let Some(fields) = term.get("matchFields").and_then(Value::as_array) else {
            continue;
        };
        for requirement in fields {
            let key = requirement.get("key").and_then(Value::as_str);
            let operator = requirement.get("operator").and_then(Value::as_str);
            if key == Some("metadata.name") && operator == Some("In") {
                let values = requirement.get("values").and_then(Value::as_array)?;
                return match values.as_slice() {
                    [Value::String(node)] => Some(node.clone()),
                    _ => None,
                };
            }
        }
    }
    None
}

pub fn pod_from_json(value: &Value) -> Result<PodView, ObjectError> {
    let reader = Reader::new("Pod", value)?;
    let node_name = reader.string(&["spec", "nodeName"])?;
    let target_node = if node_name.is_empty() {
        pinned_node(reader.at(&["spec"]))
    } else {
        Some(node_name.clone())
    };
    let mut ready = None;
    if let Some(conditions) = reader.at(&["status", "conditions"]).and_then(Value::as_array) {
        // Upstream: pkg/api/v1/pod/util.go GetPodReadyCondition — the first Ready condition.
        if let Some(condition) = conditions
            .iter()
            .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
        {
            let last_transition_time = parse_time(condition.get("lastTransitionTime").filter(|v| !v.is_null()))
                .map_err(|problem| reader.error(format!("Ready condition lastTransitionTime: {problem}")))?;
            ready = Some(ReadyCondition {
                is_true: condition.get("status").and_then(Value::as_str) == Some("True"),
                last_transition_time,
            });
        }
    }
    Ok(PodView {
        name: reader.required_string(&["metadata", "name"])?.into(),
        uid: reader.string(&["metadata", "uid"])?.into(),
        labels: reader.labels(&["metadata", "labels"])?,
        controller: reader.controller()?,
        node_name: node_name.into(),
        target_node: target_node.map(Into::into),
        phase: PodPhase::parse(&reader.string(&["status", "phase"])?),
        ready,
        creation_timestamp: reader.timestamp(&["metadata", "creationTimestamp"])?,
        deletion_timestamp: reader.timestamp(&["metadata", "deletionTimestamp"])?,
    })
}

pub fn revision_from_json(value: &Value) -> Result<RevisionView, ObjectError> {
    let reader = Reader::new("ControllerRevision", value)?;
    Ok(RevisionView {
        name: reader.required_string(&["metadata", "name"])?,
        uid: reader.string(&["metadata", "uid"])?,
        labels: reader.labels(&["metadata", "labels"])?,
        controller: reader.controller()?,
        revision: reader.int(&["revision"], 0)?,
        data: reader.at(&["data"]).cloned().unwrap_or(Value::Null),
        deletion_timestamp: reader.timestamp(&["metadata", "deletionTimestamp"])?,
    })
}

fn selector_from_json(reader: &Reader<'_>) -> Result<Option<LabelSelector>, ObjectError> {
    let Some(selector) = reader.at(&["spec", "selector"]) else {
        return Ok(None);
    };
    let match_labels = string_map(selector.get("matchLabels").filter(|v| !v.is_null()))
        .map_err(|problem| reader.error(format!("spec.selector.matchLabels: {problem}")))?;
    let mut match_expressions = Vec::new();
    if let Some(expressions) = selector.get("matchExpressions").filter(|v| !v.is_null()) {
        let expressions = expressions
            .as_array()
            .ok_or_else(|| reader.error("spec.selector.matchExpressions must be a list"))?;
        for expression in expressions {
            let field = |key: &str| {
                expression
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let values = expression
                .get("values")
                .and_then(Value::as_array)
                .map(|values| {
                    values
                        .iter()
                        .map(|v| v.as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default();
            match_expressions.push(SelectorRequirement {
                key: field("key"),
                operator: field("operator"),
                values,
            });
        }
    }
    Ok(Some(LabelSelector {
        match_labels,
        match_expressions,
    }))
}

fn strategy_from_json(reader: &Reader<'_>) -> Result<UpdateStrategy, ObjectError> {
    let kind = reader.string(&["spec", "updateStrategy", "type"])?;
    let rolling = reader.at(&["spec", "updateStrategy", "rollingUpdate"]);
    let budget = |key: &str| -> Result<Option<IntOrString>, ObjectError> {
        match rolling.and_then(|r| r.get(key)).filter(|v| !v.is_null()) {
            None => Ok(None),
            Some(value) => int_or_string(value).map(Some).ok_or_else(|| {
                reader.error(format!(
                    "spec.updateStrategy.rollingUpdate.{key} must be an integer or a percentage string, found {}",
                    brief_json(value)
                ))
            }),
        }
    };
    Ok(match kind.as_str() {
        // Upstream defaults: an empty type is RollingUpdate; its budgets default to 1 and 0.
        "" | "RollingUpdate" => UpdateStrategy::RollingUpdate(Some(RollingUpdateParams {
            max_unavailable: Some(budget("maxUnavailable")?.unwrap_or(IntOrString::Int(1))),
            max_surge: Some(budget("maxSurge")?.unwrap_or(IntOrString::Int(0))),
        })),
        "OnDelete" => UpdateStrategy::OnDelete,
        other => UpdateStrategy::Other(other.to_string()),
    })
}

/// `status.conditions`; entries that are not objects are an error, missing fields read as empty.
fn conditions_from_json(reader: &Reader<'_>) -> Result<Vec<ConditionView>, ObjectError> {
    let Some(list) = reader.at(&["status", "conditions"]).filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| reader.error("status.conditions must be a list"))?;
    let mut conditions = Vec::with_capacity(list.len());
    for condition in list {
        let field = |key: &str| {
            condition
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let last_transition_time = parse_time(condition.get("lastTransitionTime").filter(|v| !v.is_null()))
            .map_err(|problem| reader.error(format!("condition lastTransitionTime: {problem}")))?;
        conditions.push(ConditionView {
            type_: field("type"),
            status: field("status"),
            reason: field("reason"),
            message: field("message"),
            last_transition_time,
        });
    }
    Ok(conditions)
}

pub fn daemon_set_from_json(value: &Value) -> Result<DaemonSetView, ObjectError> {
    let reader = Reader::new("DaemonSet", value)?;
    let status = DaemonSetStatusView {
        counts: StatusCounts {
            desired_number_scheduled: reader.int(&["status", "desiredNumberScheduled"], 0)? as i32,
            current_number_scheduled: reader.int(&["status", "currentNumberScheduled"], 0)? as i32,
            number_misscheduled: reader.int(&["status", "numberMisscheduled"], 0)? as i32,
            number_ready: reader.int(&["status", "numberReady"], 0)? as i32,
            updated_number_scheduled: reader.int(&["status", "updatedNumberScheduled"], 0)? as i32,
            number_available: reader.int(&["status", "numberAvailable"], 0)? as i32,
            number_unavailable: reader.int(&["status", "numberUnavailable"], 0)? as i32,
        },
        observed_generation: reader.int(&["status", "observedGeneration"], 0)?,
        collision_count: match reader.at(&["status", "collisionCount"]) {
            None => None,
            Some(_) => Some(reader.int(&["status", "collisionCount"], 0)? as i32),
        },
    };
    // Checked to be a string; `namespace_of` applies the API server's default.
    reader.string(&["metadata", "namespace"])?;
    Ok(DaemonSetView {
        namespace: namespace_of(value).to_string(),
        name: reader.required_string(&["metadata", "name"])?,
        uid: reader.string(&["metadata", "uid"])?,
        generation: reader.int(&["metadata", "generation"], 0)?,
        annotations: reader.labels(&["metadata", "annotations"])?,
        selector: selector_from_json(&reader)?,
        template: reader
            .at(&["spec", "template"])
            .cloned()
            .unwrap_or(Value::Object(Map::new())),
        update_strategy: strategy_from_json(&reader)?,
        on_delete_rolling_update: (reader.string(&["spec", "updateStrategy", "type"])? == "OnDelete")
            .then(|| reader.at(&["spec", "updateStrategy", "rollingUpdate"]).cloned())
            .flatten(),
        min_ready_seconds: reader.int(&["spec", "minReadySeconds"], 0)? as i32,
        revision_history_limit: reader.int(&["spec", "revisionHistoryLimit"], 10)? as i32,
        status,
        conditions: conditions_from_json(&reader)?,
        deletion_timestamp: reader.timestamp(&["metadata", "deletionTimestamp"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_zero_times_read_as_unset() {
        let pod = json!({"metadata": {"name": "p", "creationTimestamp": "0001-01-01T00:00:00Z"},
                         "status": {"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "0001-01-01T00:00:00Z"}]}});
        let view = pod_from_json(&pod).expect("valid pod");
        assert_eq!(view.creation_timestamp, None);
        assert_eq!(
            view.ready.map(|r| (r.is_true, r.last_transition_time)),
            Some((true, None))
        );
        let set = json!({"metadata": {"name": "p", "creationTimestamp": "2026-11-25T12:00:00Z"}});
        assert!(pod_from_json(&set).expect("valid pod").creation_timestamp.is_some());
    }
}
