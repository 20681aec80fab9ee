//! The Snapshot one sync decides from: one DaemonSet, the nodes, candidate pods and revisions, `now` (pure, no I/O).
//!
//! Views are slim, planner-shaped copies of API objects: they keep what the upstream rules read
//! and nothing else, except the DaemonSet's pod template, which is kept as the JSON the API server
//! served so that fields unknown to this build survive into created pods and revision data.

pub mod assemble;
pub mod brief;
pub mod dump;
pub mod from_json;
pub mod key;
pub mod labels;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use key::ObjectKey;
pub use labels::{Labels, Name};
pub type Timestamp = DateTime<Utc>;

/// kube-controller-manager's `--concurrent-daemonset-syncs` peer: the per-sync cap on creates and on deletes.
/// Upstream: daemon_controller.go BurstReplicas.
pub const DEFAULT_BURST_REPLICAS: usize = 250;

/// Coexist mode's default for `Snapshot::recreate_wait`.
pub const DEFAULT_RECREATE_WAIT: Duration = Duration::from_secs(60);

/// Label carrying the revision hash on pods and ControllerRevisions.
pub const REVISION_HASH_LABEL: &str = "controller-revision-hash";
/// Pod label carrying the template generation a pod was created from.
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// DaemonSet annotation exposing the internal template generation (apps/v1 conversion).
pub const TEMPLATE_GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";

/// Everything one sync of one DaemonSet reads. Invariant: `pods` and `revisions` hold only objects
/// of the DaemonSet's namespace; ownership (claim, adopt, release) is decided by the planner.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub daemon_set: DaemonSetView,
    /// Every Node in the cluster (the node lister's view). Order does not change the plan; `assemble`
    /// keeps them sorted by name, which spares the planner a sort.
    pub nodes: Arc<Vec<NodeView>>,
    /// Coexist mode: when daemonroll deleted the pod of each node whose replacement by
    /// kube-controller-manager it still waits for (kept by the controller, in memory).
    pub awaiting_recreate: BTreeMap<String, Timestamp>,
    /// Coexist mode: the revision hash daemonroll rolled to and the nodes it emptied for it (kept
    /// by the controller, in memory): new pods there are daemonroll's doing, not unplanned.
    pub replaced_by_daemonroll: Option<(String, std::collections::BTreeSet<String>)>,
    /// Coexist mode: how long kube-controller-manager may take to recreate a deleted pod before
    /// the wait is reported (WaitingForRecreate).
    pub recreate_wait: Duration,
    /// Pods of the DaemonSet's namespace that are controlled by it or are orphans. Order does not
    /// change the plan; `assemble` sorts them by target node, so that with nodes sorted by name
    /// the planner joins them without hashing.
    pub pods: Vec<Arc<PodView>>,
    /// ControllerRevisions of the DaemonSet's namespace (any owner: names matter for collisions).
    pub revisions: Vec<RevisionView>,
    /// Failed-pod backoff state for this DaemonSet at its current observedGeneration, by node.
    pub failed_pod_backoff: FailedPodBackoff,
    /// False while the controller still waits to observe its own earlier creates/deletes:
    /// the sync then only refreshes status (without raising observedGeneration).
    pub expectations_satisfied: bool,
    pub burst_replicas: usize,
    /// The `daemonroll.io/` annotation values that parsed in the previous sync of this DaemonSet
    /// (None after a restart): an annotation that stops parsing keeps its last good setting.
    pub last_good_controls: Option<Labels>,
    pub now: Timestamp,
}

impl Snapshot {
    pub fn new(daemon_set: DaemonSetView, now: Timestamp) -> Self {
        Snapshot {
            daemon_set,
            nodes: Arc::from(Vec::new()),
            pods: Vec::new(),
            revisions: Vec::new(),
            awaiting_recreate: BTreeMap::new(),
            replaced_by_daemonroll: None,
            recreate_wait: DEFAULT_RECREATE_WAIT,
            failed_pod_backoff: FailedPodBackoff::default(),
            expectations_satisfied: true,
            burst_replicas: DEFAULT_BURST_REPLICAS,
            last_good_controls: None,
            now,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeView {
    pub name: Name,
    pub labels: Labels,
    pub taints: Vec<Taint>,
    /// The node's Ready condition: Some(true) when its status is "True", Some(false) when "False"
    /// or "Unknown", None when the node has none (read as ready: only `ignore-not-ready-nodes` asks).
    pub ready: Option<bool>,
    /// `metadata.deletionTimestamp` is set.
    pub being_deleted: bool,
}

/// Taints that say a node's kubelet is gone or the node is being taken out of service.
const NODE_GONE_TAINTS: [&str; 2] = ["node.kubernetes.io/unreachable", "node.kubernetes.io/out-of-service"];

impl NodeView {
    /// NotReady, unreachable, out of service or being deleted: a pod deleted there would stay
    /// Terminating, and its replacement could never start (coexist mode never deletes there).
    pub fn is_unsafe_to_empty(&self) -> bool {
        self.is_not_ready()
            || self.being_deleted
            || self
                .taints
                .iter()
                .any(|taint| NODE_GONE_TAINTS.contains(&taint.key.as_str()))
    }

    /// The Ready condition says False or Unknown (the kubelet stopped reporting).
    pub fn is_not_ready(&self) -> bool {
        self.ready == Some(false)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute` (kept as served; unknown effects are ignored).
    pub effect: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
    /// Empty or unrecognised phase: treated like a running pod, as upstream does.
    #[default]
    Other,
}

impl PodPhase {
    pub fn parse(phase: &str) -> Self {
        match phase {
            "Pending" => PodPhase::Pending,
            "Running" => PodPhase::Running,
            "Succeeded" => PodPhase::Succeeded,
            "Failed" => PodPhase::Failed,
            "Unknown" => PodPhase::Unknown,
            _ => PodPhase::Other,
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, PodPhase::Succeeded | PodPhase::Failed)
    }
}

/// The pod's first `Ready` condition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadyCondition {
    /// status == "True"
    pub is_true: bool,
    pub last_transition_time: Option<Timestamp>,
}

/// A controller ownerReference (the first one with `controller: true`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControllerRef {
    pub api_version: Name,
    pub kind: Name,
    pub name: Name,
    pub uid: Name,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodView {
    pub name: Name,
    pub uid: Name,
    pub labels: Labels,
    pub controller: Option<ControllerRef>,
    /// `spec.nodeName`; empty while unscheduled.
    pub node_name: Name,
    /// The node this pod belongs to: `spec.nodeName`, else the node-pinning affinity's single
    /// `metadata.name In` value. Upstream: util/daemonset_util.go GetTargetNodeName.
    pub target_node: Option<Name>,
    pub phase: PodPhase,
    pub ready: Option<ReadyCondition>,
    /// None stands for Go's zero time, which sorts before every real timestamp.
    pub creation_timestamp: Option<Timestamp>,
    pub deletion_timestamp: Option<Timestamp>,
}

impl PodView {
    pub fn revision_hash(&self) -> Option<&str> {
        self.labels.get(REVISION_HASH_LABEL)
    }

    pub fn is_terminating(&self) -> bool {
        self.deletion_timestamp.is_some()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevisionView {
    pub name: String,
    pub uid: String,
    pub labels: Labels,
    pub controller: Option<ControllerRef>,
    pub revision: i64,
    /// `data` as served (a JSON object); compared with the template patch in Go encoding.
    pub data: Value,
    pub deletion_timestamp: Option<Timestamp>,
}

/// Label selector of a DaemonSet, parsed but not validated (validation is a planner rule).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelSelector {
    pub match_labels: Labels,
    pub match_expressions: Vec<SelectorRequirement>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SelectorRequirement {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
}

/// intstr.IntOrString as served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntOrString {
    Int(i64),
    String(String),
}

impl std::fmt::Display for IntOrString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IntOrString::Int(value) => write!(f, "{value}"),
            IntOrString::String(value) => write!(f, "{value}"),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RollingUpdateParams {
    pub max_unavailable: Option<IntOrString>,
    pub max_surge: Option<IntOrString>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateStrategy {
    /// `rollingUpdate` may be absent (`None`): upstream then resolves both budgets to 0.
    RollingUpdate(Option<RollingUpdateParams>),
    OnDelete,
    /// A type this controller does not know: no rolling step, no surge.
    Other(String),
}

/// The DaemonSetStatus counters and bookkeeping fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub desired_number_scheduled: i32,
    pub current_number_scheduled: i32,
    pub number_misscheduled: i32,
    pub number_ready: i32,
    pub updated_number_scheduled: i32,
    pub number_available: i32,
    pub number_unavailable: i32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DaemonSetStatusView {
    pub counts: StatusCounts,
    pub observed_generation: i64,
    pub collision_count: Option<i32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DaemonSetView {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub generation: i64,
    pub annotations: Labels,
    /// None when `spec.selector` is absent.
    pub selector: Option<LabelSelector>,
    /// `spec.template` exactly as served (unknown fields included).
    pub template: Value,
    pub update_strategy: UpdateStrategy,
    /// `spec.updateStrategy.rollingUpdate` as served when the type is OnDelete (the API server
    /// keeps it unvalidated; coexist mode reads its budget from it).
    pub on_delete_rolling_update: Option<Value>,
    pub min_ready_seconds: i32,
    pub revision_history_limit: i32,
    pub status: DaemonSetStatusView,
    /// `status.conditions` as served (daemonroll writes `Progressing` and `Available`).
    pub conditions: Vec<ConditionView>,
    pub deletion_timestamp: Option<Timestamp>,
}

/// One DaemonSetCondition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConditionView {
    pub type_: String,
    /// "True", "False" or "Unknown".
    pub status: String,
    pub reason: String,
    pub message: String,
    pub last_transition_time: Option<Timestamp>,
}

impl DaemonSetView {
    /// The DaemonSet's key; it displays as `<namespace>/<name>`.
    pub fn key(&self) -> ObjectKey {
        ObjectKey::new(self.namespace.as_str(), self.name.as_str())
    }

    /// The controller ownerReference this DaemonSet puts on the pods and revisions it owns.
    /// Upstream: metav1.NewControllerRef, as controller_ref_manager.go and daemon_controller.go use it.
    pub fn controller_reference(&self) -> Value {
        serde_json::json!({
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "name": self.name,
            "uid": self.uid,
            "controller": true,
            "blockOwnerDeletion": true,
        })
    }

    /// The template generation annotation as int64, if present and valid.
    /// Upstream: util/daemonset_util.go GetTemplateGeneration.
    pub fn template_generation(&self) -> Option<i64> {
        self.annotations
            .get(TEMPLATE_GENERATION_ANNOTATION)
            .and_then(|value| value.parse::<i64>().ok())
    }
}

/// One failed-pod backoff entry. Upstream: client-go flowcontrol.Backoff perItemBackoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffEntry {
    pub last_update: Timestamp,
    pub delay: Duration,
}

/// Per-node failed-pod backoff for one DaemonSet (key `<uid>/<observedGeneration>/<node>` upstream;
/// the caller passes only the entries of the current uid and observedGeneration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedPodBackoff {
    pub entries: BTreeMap<String, BackoffEntry>,
    pub initial: Duration,
    pub max: Duration,
}

impl Default for FailedPodBackoff {
    /// kube-controller-manager's values: 1 s initial, 15 min max.
    fn default() -> Self {
        FailedPodBackoff {
            entries: BTreeMap::new(),
            initial: Duration::from_secs(1),
            max: Duration::from_secs(15 * 60),
        }
    }
}

impl FailedPodBackoff {
    /// Whether deleting a failed pod on `node` must wait, and for how long at most.
    /// Upstream: flowcontrol.Backoff IsInBackOffSinceUpdate (entries idle for 2 × max expire).
    pub fn delay_remaining(&self, node: &str, now: Timestamp) -> Option<Duration> {
        let entry = self.entries.get(node)?;
        let since = now
            .signed_duration_since(entry.last_update)
            .to_std()
            .unwrap_or_default();
        if since > self.max * 2 || since >= entry.delay {
            return None;
        }
        Some(entry.delay - since)
    }

    /// The entry after a failed pod on `node` is deleted at `now`. Upstream: flowcontrol.Backoff Next.
    pub fn next_entry(&self, node: &str, now: Timestamp) -> BackoffEntry {
        let delay = match self.entries.get(node) {
            Some(entry) => {
                let since = now
                    .signed_duration_since(entry.last_update)
                    .to_std()
                    .unwrap_or_default();
                if since > self.max * 2 {
                    self.initial
                } else {
                    (entry.delay * 2).min(self.max)
                }
            }
            None => self.initial,
        };
        BackoffEntry {
            last_update: now,
            delay,
        }
    }
}
