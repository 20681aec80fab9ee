//! Builders that read like the scenario and produce the JSON the test client sends:
//! `daemon_set("agent").max_unavailable(2).min_ready_seconds(5)`,
//! `pod("orphan-1").app("agent").template_generation(1).on("node-002")`.
//! Plain JSON only: nothing here depends on daemonroll's API.
#![allow(dead_code)]

use serde_json::{Value, json};

/// The image every DaemonSet starts with unless the scenario says otherwise.
pub const FIRST_IMAGE: &str = "agent:1";

/// The name of the one container of every fixture's pod template.
pub const CONTAINER: &str = "agent";

/// An int budget (`2`) or a percentage (`"20%"`), as maxUnavailable and maxSurge take.
pub trait IntOrPercent {
    fn to_json(self) -> Value;
}

impl IntOrPercent for i64 {
    fn to_json(self) -> Value {
        json!(self)
    }
}

impl IntOrPercent for &str {
    fn to_json(self) -> Value {
        json!(self)
    }
}

// ---------------------------------------------------------------- daemon sets

/// A DaemonSet under construction; `Value::from` (or the cluster's `create_daemon_set`) takes the JSON.
#[derive(Clone, Debug)]
pub struct DaemonSetBuilder(Value);

/// A DaemonSet `name` in `default`: selector and template label `app=<name>`, one container "agent"
/// running `agent:1`, RollingUpdate with maxUnavailable 1 and maxSurge 0 (both written out).
pub fn daemon_set(name: &str) -> DaemonSetBuilder {
    DaemonSetBuilder(json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": CONTAINER, "image": FIRST_IMAGE}]}
            }
        }
    }))
}

impl DaemonSetBuilder {
    pub fn name(&self) -> &str {
        self.0["metadata"]["name"].as_str().unwrap_or_default()
    }

    pub fn image(mut self, image: &str) -> Self {
        self.0["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
        self
    }

    /// The container's command.
    pub fn command(mut self, command: &[&str]) -> Self {
        self.0["spec"]["template"]["spec"]["containers"][0]["command"] = json!(command);
        self
    }

    /// RollingUpdate (the default) with this maxUnavailable.
    pub fn max_unavailable(mut self, value: impl IntOrPercent) -> Self {
        self.rolling_update()["maxUnavailable"] = value.to_json();
        self
    }

    /// RollingUpdate (the default) with this maxSurge.
    pub fn max_surge(mut self, value: impl IntOrPercent) -> Self {
        self.rolling_update()["maxSurge"] = value.to_json();
        self
    }

    /// Pods are replaced only when deleted (by hand, or because they failed).
    pub fn on_delete(mut self) -> Self {
        self.0["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
        self
    }

    /// OnDelete, keeping a rollingUpdate budget for coexist mode (the API server keeps it unvalidated).
    pub fn on_delete_keeping_budget(mut self, max_unavailable: impl IntOrPercent) -> Self {
        self.0["spec"]["updateStrategy"] =
            json!({"type": "OnDelete", "rollingUpdate": {"maxUnavailable": max_unavailable.to_json()}});
        self
    }

    /// Tolerates every taint (`operator: Exists`), as node agents such as CNI plugins do.
    pub fn tolerate_everything(mut self) -> Self {
        self.0["spec"]["template"]["spec"]["tolerations"] = json!([{"operator": "Exists"}]);
        self
    }

    /// A field of the template's container, as given (fields the planner never reads).
    pub fn container_field(mut self, key: &str, value: Value) -> Self {
        self.0["spec"]["template"]["spec"]["containers"][0][key] = value;
        self
    }

    /// The pod template's tolerations, as given.
    pub fn tolerations(mut self, tolerations: Value) -> Self {
        self.0["spec"]["template"]["spec"]["tolerations"] = tolerations;
        self
    }

    /// spec.selector, as given (the template labels stay `app=<name>`).
    pub fn selector(mut self, selector: Value) -> Self {
        self.0["spec"]["selector"] = selector;
        self
    }

    /// An annotation on the DaemonSet itself (rollout controls, coexist mode's opt-in).
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.0["metadata"]["annotations"][key] = json!(value);
        self
    }

    pub fn min_ready_seconds(mut self, seconds: i64) -> Self {
        self.0["spec"]["minReadySeconds"] = json!(seconds);
        self
    }

    /// minReadySeconds as text: what an older API server without validation may have stored.
    pub fn unparseable_min_ready_seconds(mut self, text: &str) -> Self {
        self.0["spec"]["minReadySeconds"] = json!(text);
        self
    }

    pub fn revision_history_limit(mut self, limit: i64) -> Self {
        self.0["spec"]["revisionHistoryLimit"] = json!(limit);
        self
    }

    /// A nodeSelector entry on the pod template.
    pub fn node_selector(mut self, key: &str, value: &str) -> Self {
        self.0["spec"]["template"]["spec"]["nodeSelector"][key] = json!(value);
        self
    }

    /// An annotation on the pod template (and so on every pod; KWOK's stages read them).
    pub fn template_annotation(mut self, key: &str, value: &str) -> Self {
        self.0["spec"]["template"]["metadata"]["annotations"][key] = json!(value);
        self
    }

    /// A hostPort on the first container (two pods of the template cannot share a node).
    pub fn host_port(mut self, port: i64) -> Self {
        self.0["spec"]["template"]["spec"]["containers"][0]["ports"] =
            json!([{"containerPort": port, "hostPort": port, "protocol": "TCP"}]);
        self
    }

    /// A label on the DaemonSet itself (what `--selector` matches).
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.0["metadata"]["labels"][key] = json!(value);
        self
    }

    /// No spec.selector: invalid, but an older API server without validation may have stored it.
    pub fn without_selector(mut self) -> Self {
        if let Some(spec) = self.0["spec"].as_object_mut() {
            spec.remove("selector");
        }
        self
    }

    fn rolling_update(&mut self) -> &mut Value {
        let strategy = &mut self.0["spec"]["updateStrategy"];
        if strategy["type"] != "RollingUpdate" {
            *strategy = json!({"type": "RollingUpdate", "rollingUpdate": {}});
        }
        &mut strategy["rollingUpdate"]
    }
}

impl From<DaemonSetBuilder> for Value {
    fn from(builder: DaemonSetBuilder) -> Value {
        builder.0
    }
}

// ---------------------------------------------------------------- pods

/// A pod under construction; `Value::from` (or the cluster's `create_pod`) takes the JSON.
#[derive(Clone, Debug)]
pub struct PodBuilder(Value);

/// A bare pod `name` in `default`: no labels, one container "agent" running `agent:1`, not bound.
pub fn pod(name: &str) -> PodBuilder {
    PodBuilder(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": CONTAINER, "image": FIRST_IMAGE}]}
    }))
}

/// As `pod`, named by the API server from `prefix` (metadata.generateName).
pub fn pod_named_from(prefix: &str) -> PodBuilder {
    PodBuilder(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": prefix, "namespace": "default"},
        "spec": {"containers": [{"name": CONTAINER, "image": FIRST_IMAGE}]}
    }))
}

impl PodBuilder {
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.0["metadata"]["labels"][key] = json!(value);
        self
    }

    /// The `app` label the fixtures' DaemonSets select on.
    pub fn app(self, app: &str) -> Self {
        self.label("app", app)
    }

    /// The `pod-template-generation` label a DaemonSet controller puts on its pods.
    pub fn template_generation(self, generation: i64) -> Self {
        self.label("pod-template-generation", &generation.to_string())
    }

    /// The `controller-revision-hash` label a DaemonSet controller puts on its pods.
    pub fn revision_hash(self, hash: &str) -> Self {
        self.label("controller-revision-hash", hash)
    }

    /// Owned (as controller) by the DaemonSet `name` with `uid`.
    pub fn controlled_by(mut self, name: &str, uid: &str) -> Self {
        self.0["metadata"]["ownerReferences"] = controller_reference(name, uid);
        self
    }

    /// The whole pod spec, e.g. a DaemonSet's `spec.template.spec` (bindings set before are replaced).
    pub fn spec(mut self, spec: Value) -> Self {
        self.0["spec"] = spec;
        self
    }

    /// Bound to `node` (spec.nodeName).
    pub fn on(mut self, node: &str) -> Self {
        self.0["spec"]["nodeName"] = json!(node);
        self
    }

    /// The node-pinning affinity a DaemonSet controller gives its pods.
    pub fn pinned_to(mut self, node: &str) -> Self {
        self.0["spec"]["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}});
        self
    }
}

impl From<PodBuilder> for Value {
    fn from(builder: PodBuilder) -> Value {
        builder.0
    }
}

/// The ownerReferences of an object controlled by the DaemonSet `name` with `uid`.
pub fn controller_reference(name: &str, uid: &str) -> Value {
    json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": name, "uid": uid,
            "controller": true, "blockOwnerDeletion": true}])
}

// ---------------------------------------------------------------- nodes

/// The simulator's name for node `number` (numbered from 1): `node-001`.
pub fn node_name(number: usize) -> String {
    format!("node-{number:03}")
}

/// The names of a simulated cluster of `count` nodes: node-001 … node-<count>.
pub fn node_names(count: usize) -> Vec<String> {
    (1..=count).map(node_name).collect()
}
