//! Whether a pod fits a node, as the simulated scheduler decides it (no I/O).
//!
//! Written from kube-scheduler's filter plugins (NodeName, NodeUnschedulable, NodeAffinity,
//! TaintToleration) independently of daemonroll's planner. Resources and ports are not modelled:
//! simulated nodes have room for every daemon pod.

use serde_json::Value;

fn str_at<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn tolerates(toleration: &Value, taint: &Value) -> bool {
    let effect = str_at(toleration, "effect");
    let key = str_at(toleration, "key");
    if !effect.is_empty() && effect != str_at(taint, "effect") {
        return false;
    }
    if !key.is_empty() && key != str_at(taint, "key") {
        return false;
    }
    match str_at(toleration, "operator") {
        "Exists" => true,
        "" | "Equal" => str_at(toleration, "value") == str_at(taint, "value"),
        _ => false,
    }
}

fn requirement_matches(requirement: &Value, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
    let key = str_at(requirement, "key");
    let values: Vec<&str> = requirement
        .get("values")
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let actual = lookup(key);
    let number = |text: &str| text.parse::<i64>().ok();
    match str_at(requirement, "operator") {
        "In" => actual.is_some_and(|a| values.contains(&a.as_str())),
        "NotIn" => actual.is_none_or(|a| !values.contains(&a.as_str())),
        "Exists" => actual.is_some(),
        "DoesNotExist" => actual.is_none(),
        "Gt" => {
            matches!((actual.as_deref().and_then(number), values.first().and_then(|v| number(v))), (Some(a), Some(b)) if a > b)
        }
        "Lt" => {
            matches!((actual.as_deref().and_then(number), values.first().and_then(|v| number(v))), (Some(a), Some(b)) if a < b)
        }
        _ => false,
    }
}

/// Why a pod does not fit a node, in the scheduler's words; None when it fits.
pub fn misfit(pod: &Value, node: &Value) -> Option<String> {
    let node_name = node
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let spec = pod.get("spec").cloned().unwrap_or(Value::Null);
    let wanted = str_at(&spec, "nodeName");
    if !wanted.is_empty() && wanted != node_name {
        return Some("node(s) didn't match the requested node name".into());
    }
    let labels = node.pointer("/metadata/labels").cloned().unwrap_or(Value::Null);
    let label = |key: &str| labels.get(key).and_then(Value::as_str).map(String::from);
    if let Some(selector) = spec.get("nodeSelector").and_then(Value::as_object)
        && selector.iter().any(|(k, v)| label(k).as_deref() != v.as_str())
    {
        return Some("node(s) didn't match Pod's node affinity/selector".into());
    }
    if let Some(terms) = spec
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array)
    {
        let field = |key: &str| (key == "metadata.name").then(|| node_name.to_string());
        let term_matches = |term: &Value| {
            let expressions = term
                .get("matchExpressions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let fields = term
                .get("matchFields")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            (!expressions.is_empty() || !fields.is_empty())
                && expressions.iter().all(|r| requirement_matches(r, &label))
                && fields.iter().all(|r| requirement_matches(r, &field))
        };
        if !terms.iter().any(term_matches) {
            return Some("node(s) didn't match Pod's node affinity/selector".into());
        }
    }
    let tolerations = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if node.pointer("/spec/unschedulable") == Some(&Value::Bool(true)) {
        let taint = serde_json::json!({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"});
        if !tolerations.iter().any(|t| tolerates(t, &taint)) {
            return Some("node(s) were unschedulable".into());
        }
    }
    for taint in node
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let effect = str_at(taint, "effect");
        if (effect == "NoSchedule" || effect == "NoExecute") && !tolerations.iter().any(|t| tolerates(t, taint)) {
            return Some(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                str_at(taint, "key"),
                str_at(taint, "value")
            ));
        }
    }
    None
}

/// Whether a running pod must be evicted from its node: an untolerated NoExecute taint.
pub fn evicted_by(pod: &Value, node: &Value) -> Option<String> {
    let tolerations = pod
        .pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    node.pointer("/spec/taints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|taint| str_at(taint, "effect") == "NoExecute" && !tolerations.iter().any(|t| tolerates(t, taint)))
        .map(|taint| str_at(taint, "key").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, extra: Value) -> Value {
        let mut node = json!({"metadata": {"name": name, "labels": {"zone": "a"}}, "spec": {}});
        if let Some(spec) = extra.as_object() {
            for (k, v) in spec {
                node["spec"][k] = v.clone();
            }
        }
        node
    }

    fn pinned(to: &str, tolerations: Value) -> Value {
        json!({"spec": {"tolerations": tolerations, "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [to]}]}]}}}}})
    }

    #[test]
    fn daemon_pods_fit_only_their_node_and_only_when_taints_are_tolerated() {
        let tainted = node(
            "n1",
            json!({"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}),
        );
        let cordoned = node("n1", json!({"unschedulable": true}));
        let exists_all = json!([{"operator": "Exists"}]);
        let unschedulable =
            json!([{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]);
        assert_eq!(misfit(&pinned("n1", json!([])), &node("n1", json!({}))), None);
        assert!(misfit(&pinned("n2", json!([])), &node("n1", json!({}))).is_some());
        assert!(misfit(&pinned("n1", json!([])), &tainted).is_some());
        assert_eq!(misfit(&pinned("n1", exists_all), &tainted), None);
        assert!(misfit(&pinned("n1", json!([])), &cordoned).is_some());
        assert_eq!(misfit(&pinned("n1", unschedulable), &cordoned), None);
        let no_execute = node("n1", json!({"taints": [{"key": "k", "effect": "NoExecute"}]}));
        assert_eq!(evicted_by(&pinned("n1", json!([])), &no_execute).as_deref(), Some("k"));
        assert_eq!(
            evicted_by(&pinned("n1", json!([{"operator": "Exists"}])), &no_execute),
            None
        );
    }
}
