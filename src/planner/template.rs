//! Reads the scheduling-relevant fields of a served pod template (pure).

use serde_json::Value;

use super::selector::NodeSelectorTermSpec;
use super::tolerations::Toleration;
use crate::snapshot::brief::{Brief, brief_json};
use crate::snapshot::{Labels, SelectorRequirement};

/// The parts of `spec.template` that eligibility and pod creation read.
#[derive(Clone, Debug, Default)]
pub struct TemplateFields {
    pub labels: Labels,
    /// `spec.nodeName`; None when unset or empty (Go's zero value: no node named).
    pub node_name: Option<String>,
    pub node_selector: Labels,
    /// `affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`
    /// when the required selector is set (an empty list then matches no node).
    pub required_node_terms: Option<Vec<NodeSelectorTermSpec>>,
    pub tolerations: Vec<Toleration>,
    pub host_network: bool,
    /// A container (init containers included) asks for a hostPort: two pods of the template
    /// cannot run on one node, so surge can never start its new pod.
    pub host_ports: bool,
}

fn uses_host_ports(spec: &Value) -> bool {
    ["containers", "initContainers"]
        .iter()
        .filter_map(|list| spec.get(list).and_then(Value::as_array))
        .flatten()
        .filter_map(|container| container.get("ports").and_then(Value::as_array))
        .flatten()
        .any(|port| port.get("hostPort").and_then(Value::as_i64).is_some_and(|p| p > 0))
}

fn string_field(value: &Value, key: &str, at: &str) -> Result<String, String> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!("{at}.{key} must be a string, found {}", brief_json(other))),
    }
}

fn string_map(value: Option<&Value>, at: &str) -> Result<Labels, String> {
    match value {
        None | Some(Value::Null) => Ok(Labels::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(format!(
                    "{at}[{}] must be a string, found {}",
                    Brief(k),
                    brief_json(other)
                )),
            })
            .collect(),
        Some(other) => Err(format!("{at} must be a map, found {}", brief_json(other))),
    }
}

fn list<'a>(value: Option<&'a Value>, at: &str) -> Result<&'a [Value], String> {
    match value {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(format!("{at} must be a list, found {other}")),
    }
}

fn requirements(value: Option<&Value>, at: &str) -> Result<Vec<SelectorRequirement>, String> {
    list(value, at)?
        .iter()
        .map(|item| {
            let values = list(item.get("values"), &format!("{at}.values"))?
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("{at}.values must hold strings"))
                })
                .collect::<Result<_, _>>()?;
            Ok(SelectorRequirement {
                key: string_field(item, "key", at)?,
                operator: string_field(item, "operator", at)?,
                values,
            })
        })
        .collect()
}

impl TemplateFields {
    /// Fails with a message naming the field when the template is not shaped like a PodTemplateSpec.
    pub fn read(template: &Value) -> Result<Self, String> {
        if !template.is_object() {
            return Err("spec.template must be an object".into());
        }
        let null = Value::Null;
        let metadata = template.get("metadata").unwrap_or(&null);
        let spec = template.get("spec").unwrap_or(&null);
        let required = spec
            .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution")
            .filter(|v| !v.is_null());
        let required_node_terms = match required {
            None => None,
            Some(selector) => Some(
                list(selector.get("nodeSelectorTerms"), "nodeSelectorTerms")?
                    .iter()
                    .map(|term| {
                        Ok(NodeSelectorTermSpec {
                            match_expressions: requirements(term.get("matchExpressions"), "matchExpressions")?,
                            match_fields: requirements(term.get("matchFields"), "matchFields")?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            ),
        };
        let tolerations = list(spec.get("tolerations"), "spec.template.spec.tolerations")?
            .iter()
            .map(|item| {
                let at = "spec.template.spec.tolerations";
                Ok(Toleration {
                    key: string_field(item, "key", at)?,
                    operator: string_field(item, "operator", at)?,
                    value: string_field(item, "value", at)?,
                    effect: string_field(item, "effect", at)?,
                    toleration_seconds: item.get("tolerationSeconds").and_then(Value::as_i64),
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(TemplateFields {
            labels: string_map(metadata.get("labels"), "spec.template.metadata.labels")?,
            node_name: Some(string_field(spec, "nodeName", "spec.template.spec")?).filter(|name| !name.is_empty()),
            node_selector: string_map(spec.get("nodeSelector"), "spec.template.spec.nodeSelector")?,
            required_node_terms,
            tolerations,
            host_network: spec.get("hostNetwork").and_then(Value::as_bool).unwrap_or(false),
            host_ports: uses_host_ports(spec),
        })
    }
}
