//! Builders that read like the scenario: `pod("p1").on("n1").old().ready_since(ago(30))`.
#![allow(dead_code)]

use chrono::{DateTime, TimeDelta, Utc};
use daemonroll::history::hash::revision_hash;
use daemonroll::history::patch::template_patch;
use daemonroll::snapshot::{
    ConditionView, ControllerRef, DaemonSetStatusView, DaemonSetView, IntOrString, LabelSelector, Labels, NodeView,
    PodPhase, PodView, REVISION_HASH_LABEL, ReadyCondition, RevisionView, RollingUpdateParams, StatusCounts,
    TEMPLATE_GENERATION_ANNOTATION, TEMPLATE_GENERATION_LABEL, Taint, Timestamp, UpdateStrategy,
};
use serde_json::{Value, json};

/// The fixed clock of every scenario.
pub fn now() -> Timestamp {
    DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .expect("valid constant")
}

pub fn ago(seconds: i64) -> Timestamp {
    now() - TimeDelta::seconds(seconds)
}

// ---------------------------------------------------------------- nodes

pub struct NodeBuilder(NodeView);

pub fn node(name: &str) -> NodeBuilder {
    NodeBuilder(NodeView {
        name: name.into(),
        ..NodeView::default()
    })
}

/// `count` nodes named `node-0`, `node-1`, … (upstream's addNodes naming).
pub fn nodes(count: usize) -> Vec<NodeBuilder> {
    (0..count).map(|i| node(&format!("node-{i}"))).collect()
}

impl NodeBuilder {
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.0.labels.insert(key, value);
        self
    }

    pub fn taint(mut self, key: &str, value: &str, effect: &str) -> Self {
        self.0.taints.push(Taint {
            key: key.into(),
            value: value.into(),
            effect: effect.into(),
        });
        self
    }

    /// The node's Ready condition is False (the kubelet reports a problem or stopped reporting).
    pub fn not_ready(mut self) -> Self {
        self.0.ready = Some(false);
        self
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn build(self) -> NodeView {
        self.0
    }
}

// ---------------------------------------------------------------- daemon sets

pub struct DaemonSetBuilder(DaemonSetView);

/// A DaemonSet as the API server serves it: defaults applied, generation 1, template generation 1,
/// selector `app=<name>`, RollingUpdate maxUnavailable 1 / maxSurge 0, revisionHistoryLimit 10.
pub fn daemon_set(name: &str) -> DaemonSetBuilder {
    let template = json!({
        "metadata": {"creationTimestamp": null, "labels": {"app": name}},
        "spec": {
            "containers": [{"name": "agent", "image": "agent:v1", "resources": {}}],
            "restartPolicy": "Always",
        }
    });
    DaemonSetBuilder(DaemonSetView {
        namespace: "default".into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        generation: 1,
        annotations: Labels::from([(TEMPLATE_GENERATION_ANNOTATION, "1")]),
        selector: Some(LabelSelector {
            match_labels: Labels::from([("app", name)]),
            match_expressions: Vec::new(),
        }),
        template,
        update_strategy: UpdateStrategy::RollingUpdate(Some(RollingUpdateParams {
            max_unavailable: Some(IntOrString::Int(1)),
            max_surge: Some(IntOrString::Int(0)),
        })),
        on_delete_rolling_update: None,
        min_ready_seconds: 0,
        revision_history_limit: 10,
        status: DaemonSetStatusView::default(),
        conditions: Vec::new(),
        deletion_timestamp: None,
    })
}

/// An int budget (`3`) or a percentage (`"20%"`).
pub trait Budget {
    fn budget(self) -> IntOrString;
}
impl Budget for i64 {
    fn budget(self) -> IntOrString {
        IntOrString::Int(self)
    }
}
impl Budget for &str {
    fn budget(self) -> IntOrString {
        IntOrString::String(self.into())
    }
}

impl DaemonSetBuilder {
    fn spec_mut(&mut self) -> &mut serde_json::Map<String, Value> {
        self.0.template["spec"]
            .as_object_mut()
            .expect("template spec is an object")
    }

    fn rolling_mut(&mut self) -> &mut RollingUpdateParams {
        if !matches!(self.0.update_strategy, UpdateStrategy::RollingUpdate(Some(_))) {
            self.0.update_strategy = UpdateStrategy::RollingUpdate(Some(RollingUpdateParams::default()));
        }
        match &mut self.0.update_strategy {
            UpdateStrategy::RollingUpdate(Some(params)) => params,
            _ => unreachable!("set above"),
        }
    }

    pub fn image(mut self, image: &str) -> Self {
        self.0.template["spec"]["containers"][0]["image"] = json!(image);
        self
    }

    pub fn node_selector(mut self, key: &str, value: &str) -> Self {
        let spec = self.spec_mut();
        let selector = spec.entry("nodeSelector").or_insert_with(|| json!({}));
        selector[key] = json!(value);
        self
    }

    /// `terms` is the JSON list of nodeSelectorTerms.
    pub fn required_affinity(mut self, terms: Value) -> Self {
        self.spec_mut().insert(
            "affinity".into(),
            json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}),
        );
        self
    }

    pub fn tolerations(mut self, tolerations: Value) -> Self {
        self.spec_mut().insert("tolerations".into(), tolerations);
        self
    }

    pub fn host_network(mut self) -> Self {
        self.spec_mut().insert("hostNetwork".into(), json!(true));
        self
    }

    pub fn template_node_name(mut self, node: &str) -> Self {
        self.spec_mut().insert("nodeName".into(), json!(node));
        self
    }

    pub fn max_unavailable(mut self, value: impl Budget) -> Self {
        self.rolling_mut().max_unavailable = Some(value.budget());
        self
    }

    pub fn max_surge(mut self, value: impl Budget) -> Self {
        self.rolling_mut().max_surge = Some(value.budget());
        self
    }

    /// maxSurge as given and maxUnavailable 0 (upstream's newUpdateSurge).
    pub fn surge(self, value: impl Budget) -> Self {
        self.max_unavailable(0).max_surge(value)
    }

    pub fn strategy(mut self, strategy: UpdateStrategy) -> Self {
        self.0.update_strategy = strategy;
        self
    }

    pub fn on_delete(self) -> Self {
        self.strategy(UpdateStrategy::OnDelete)
    }

    /// OnDelete keeping `rolling_update` as served under `spec.updateStrategy.rollingUpdate` (the
    /// API server does not validate it there; coexist mode reads its budget from it).
    pub fn on_delete_budget(mut self, rolling_update: Value) -> Self {
        self.0.update_strategy = UpdateStrategy::OnDelete;
        self.0.on_delete_rolling_update = Some(rolling_update);
        self
    }

    /// status.observedGeneration, the counters left as they are.
    pub fn observed_generation(mut self, generation: i64) -> Self {
        self.0.status.observed_generation = generation;
        self
    }

    pub fn min_ready_seconds(mut self, seconds: i32) -> Self {
        self.0.min_ready_seconds = seconds;
        self
    }

    pub fn revision_history_limit(mut self, limit: i32) -> Self {
        self.0.revision_history_limit = limit;
        self
    }

    /// metadata.generation and the template-generation annotation.
    pub fn generation(mut self, generation: i64) -> Self {
        self.0.generation = generation;
        self.0
            .annotations
            .insert(TEMPLATE_GENERATION_ANNOTATION, generation.to_string());
        self
    }

    pub fn without_template_generation(mut self) -> Self {
        self.0.annotations.remove(TEMPLATE_GENERATION_ANNOTATION);
        self
    }

    pub fn status(mut self, counts: StatusCounts, observed_generation: i64) -> Self {
        self.0.status.counts = counts;
        self.0.status.observed_generation = observed_generation;
        self
    }

    pub fn collision_count(mut self, count: i32) -> Self {
        self.0.status.collision_count = Some(count);
        self
    }

    pub fn selector(mut self, selector: Option<LabelSelector>) -> Self {
        self.0.selector = selector;
        self
    }

    pub fn template_labels(mut self, labels: Value) -> Self {
        self.0.template["metadata"]["labels"] = labels;
        self
    }

    pub fn deleting(mut self) -> Self {
        self.0.deletion_timestamp = Some(ago(5));
        self
    }

    /// A metadata annotation, such as a `daemonroll.io/` rollout control.
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.0.annotations.insert(key, value);
        self
    }

    /// The first container asks for `port` on the host.
    pub fn host_port(mut self, port: u16) -> Self {
        self.0.template["spec"]["containers"][0]["ports"] = json!([{"containerPort": port, "hostPort": port}]);
        self
    }

    /// A stored status condition that changed ten minutes ago, with an empty message.
    pub fn condition(mut self, type_: &str, status: &str, reason: &str) -> Self {
        self.0.conditions.push(ConditionView {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: String::new(),
            last_transition_time: Some(ago(600)),
        });
        self
    }

    /// Stored status conditions as an earlier sync computed them (`Condition::to_view`).
    pub fn conditions(mut self, conditions: Vec<ConditionView>) -> Self {
        self.0.conditions = conditions;
        self
    }

    pub fn build(self) -> DaemonSetView {
        self.0
    }
}

/// The hash a revision of this DaemonSet's current template gets (no revisions in the snapshot).
pub fn current_hash(daemon_set: &DaemonSetView) -> String {
    revision_hash(&template_patch(&daemon_set.template), daemon_set.status.collision_count)
}

pub const OLD_HASH: &str = "old-hash";

// ---------------------------------------------------------------- pods

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Revision {
    /// Current hash and generation labels.
    New,
    /// OLD_HASH and the previous generation.
    Old,
    /// No revision labels at all.
    Unlabelled,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    DaemonSet,
    Orphan,
    Other,
}

pub struct PodBuilder {
    view: PodView,
    revision: Revision,
    owner: Owner,
    selector_labels: bool,
}

/// A running daemon pod of the current revision, ready for an hour, created two hours ago, not yet on a node.
pub fn pod(name: &str) -> PodBuilder {
    PodBuilder {
        view: PodView {
            name: name.into(),
            uid: format!("uid-{name}").into(),
            phase: PodPhase::Running,
            ready: Some(ReadyCondition {
                is_true: true,
                last_transition_time: Some(ago(3600)),
            }),
            creation_timestamp: Some(ago(7200)),
            ..PodView::default()
        },
        revision: Revision::New,
        owner: Owner::DaemonSet,
        selector_labels: true,
    }
}

impl PodBuilder {
    /// Bound to `node` (spec.nodeName).
    pub fn on(mut self, node: &str) -> Self {
        self.view.node_name = node.into();
        self.view.target_node = Some(node.into());
        self
    }

    /// Unscheduled, pinned to `node` by the node-name affinity.
    pub fn pinned_to(mut self, node: &str) -> Self {
        self.view.node_name.clear();
        self.view.target_node = Some(node.into());
        self
    }

    pub fn old(mut self) -> Self {
        self.revision = Revision::Old;
        self
    }

    pub fn new_revision(mut self) -> Self {
        self.revision = Revision::New;
        self
    }

    pub fn unlabelled(mut self) -> Self {
        self.revision = Revision::Unlabelled;
        self
    }

    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.view.labels.insert(key, value);
        self
    }

    /// Labels that do not match the DaemonSet's selector.
    pub fn not_matching_selector(mut self) -> Self {
        self.selector_labels = false;
        self
    }

    pub fn ready_since(mut self, since: Timestamp) -> Self {
        self.view.ready = Some(ReadyCondition {
            is_true: true,
            last_transition_time: Some(since),
        });
        self
    }

    /// Ready with no lastTransitionTime.
    pub fn ready_without_time(mut self) -> Self {
        self.view.ready = Some(ReadyCondition {
            is_true: true,
            last_transition_time: None,
        });
        self
    }

    pub fn not_ready(mut self) -> Self {
        self.view.ready = Some(ReadyCondition {
            is_true: false,
            last_transition_time: Some(ago(60)),
        });
        self
    }

    /// Running but not Ready since `since`.
    pub fn not_ready_since(mut self, since: Timestamp) -> Self {
        self.view.ready = Some(ReadyCondition {
            is_true: false,
            last_transition_time: Some(since),
        });
        self
    }

    pub fn phase(mut self, phase: PodPhase) -> Self {
        self.view.phase = phase;
        self
    }

    pub fn failed(self) -> Self {
        self.phase(PodPhase::Failed).not_ready()
    }

    pub fn succeeded(self) -> Self {
        self.phase(PodPhase::Succeeded).not_ready()
    }

    /// Pending and without conditions, as just created.
    pub fn pending(mut self) -> Self {
        self.view.phase = PodPhase::Pending;
        self.view.ready = None;
        self
    }

    pub fn terminating(mut self) -> Self {
        self.view.deletion_timestamp = Some(ago(1));
        self
    }

    pub fn created(mut self, at: Timestamp) -> Self {
        self.view.creation_timestamp = Some(at);
        self
    }

    pub fn orphan(mut self) -> Self {
        self.owner = Owner::Orphan;
        self
    }

    pub fn owned_by_other(mut self) -> Self {
        self.owner = Owner::Other;
        self
    }

    pub(crate) fn build_for(mut self, daemon_set: &DaemonSetView, hash: &str) -> PodView {
        if self.selector_labels {
            for (key, value) in daemon_set.selector.iter().flat_map(|s| s.match_labels.iter()) {
                self.view.labels.insert_if_absent(key, value);
            }
        }
        let generation = daemon_set.template_generation().unwrap_or(1);
        match self.revision {
            Revision::New => {
                self.view.labels.insert_if_absent(REVISION_HASH_LABEL, hash);
                self.view
                    .labels
                    .insert_if_absent(TEMPLATE_GENERATION_LABEL, generation.to_string());
            }
            Revision::Old => {
                self.view.labels.insert_if_absent(REVISION_HASH_LABEL, OLD_HASH);
                self.view
                    .labels
                    .insert_if_absent(TEMPLATE_GENERATION_LABEL, (generation - 1).to_string());
            }
            Revision::Unlabelled => {}
        }
        self.view.controller = match self.owner {
            Owner::DaemonSet => Some(ControllerRef {
                api_version: "apps/v1".into(),
                kind: "DaemonSet".into(),
                name: daemon_set.name.as_str().into(),
                uid: daemon_set.uid.as_str().into(),
            }),
            Owner::Orphan => None,
            Owner::Other => Some(ControllerRef {
                api_version: "apps/v1".into(),
                kind: "ReplicaSet".into(),
                name: "other".into(),
                uid: "uid-other".into(),
            }),
        };
        self.view
    }
}

// ---------------------------------------------------------------- layouts

/// Pods laid out one whitespace-separated token per node `node-<i>`; each character is one pod:
/// - `O` old revision, Ready for an hour (available);
/// - `o` old revision, Running but not Ready;
/// - `N` current revision, created 30 min ago, Ready for 20 min (available);
/// - `n` current revision, created a minute ago, not Ready;
/// - `T` old revision, Ready, terminating;
/// - `-` no pod.
///
/// Old pods are named `old-<i>`, new pods `new-<i>`, terminating ones `gone-<i>` (a second pod of a
/// kind on the same node gets a `b` suffix).
pub fn layout_pods(layout: &str) -> Vec<PodBuilder> {
    let names: Vec<String> = (0..layout.split_whitespace().count())
        .map(|i| format!("node-{i}"))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    layout_pods_on(&names, layout)
}

/// As `layout_pods`, token `i` on node `nodes[i]`; pods are named after the node without its
/// `node-` prefix: `old-3` on `node-3`, `old-a1` on `a1`.
pub fn layout_pods_on(nodes: &[&str], layout: &str) -> Vec<PodBuilder> {
    let tokens: Vec<&str> = layout.split_whitespace().collect();
    assert_eq!(tokens.len(), nodes.len(), "one layout token per node in {layout:?}");
    let mut pods = Vec::new();
    for (node, token) in nodes.iter().zip(tokens) {
        let id = node.strip_prefix("node-").unwrap_or(node);
        let mut seen: Vec<&str> = Vec::new();
        for symbol in token.chars() {
            let prefix = match symbol {
                'O' | 'o' => "old",
                'N' | 'n' => "new",
                'T' => "gone",
                '-' => continue,
                other => panic!("unknown layout symbol {other:?}"),
            };
            let suffix = if seen.contains(&prefix) { "b" } else { "" };
            seen.push(prefix);
            let base = pod(&format!("{prefix}-{id}{suffix}")).on(node);
            pods.push(match symbol {
                'O' => base.old(),
                'o' => base.old().not_ready(),
                'N' => base.created(ago(1800)).ready_since(ago(1200)),
                'n' => base.created(ago(60)).not_ready(),
                _ => base.old().terminating(),
            });
        }
    }
    pods
}

// ---------------------------------------------------------------- revisions

/// A revision owned by the DaemonSet holding `data`, labelled with `hash`.
pub fn revision(daemon_set: &DaemonSetView, name: &str, hash: Option<&str>, number: i64, data: Value) -> RevisionView {
    let mut labels = daemon_set
        .selector
        .as_ref()
        .map(|s| s.match_labels.clone())
        .unwrap_or_default();
    if let Some(hash) = hash {
        labels.insert(REVISION_HASH_LABEL, hash);
    }
    RevisionView {
        name: name.into(),
        uid: format!("uid-{name}"),
        labels,
        controller: Some(ControllerRef {
            api_version: "apps/v1".into(),
            kind: "DaemonSet".into(),
            name: daemon_set.name.as_str().into(),
            uid: daemon_set.uid.as_str().into(),
        }),
        revision: number,
        data,
        deletion_timestamp: None,
    }
}

/// Revision data holding this DaemonSet's current template, as the API server serves it.
pub fn current_data(daemon_set: &DaemonSetView) -> Value {
    serde_json::from_slice(&template_patch(&daemon_set.template)).expect("patch is JSON")
}

pub use crate::outcomes::*;
pub use crate::scenario::*;
