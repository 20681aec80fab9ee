//! The Plan one sync yields, and the per-node explanations (pure data).

use std::fmt;
use std::time::Duration;

use super::revisions::HistoryPlan;
use super::rolling::RollingError;
use super::rollout::{Hold, RolloutReport};
use crate::snapshot::{BackoffEntry, DaemonSetStatusView, DaemonSetView, PodView, RevisionView, Taint};

/// Which step produced this sync's creates and deletes (upstream runs the rolling update only
/// when manage had nothing to do, because manage's writes leave expectations unsatisfied).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing to write.
    Idle,
    Manage,
    RollingUpdate,
}

/// The status this sync writes. `changed` is false when upstream would skip the write
/// (all counters equal and observedGeneration already ≥ generation; daemon_controller.go storeDaemonSetStatus):
/// no needless write (ARCHITECTURE.md, invariant 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusUpdate {
    pub status: DaemonSetStatusView,
    pub changed: bool,
}

/// Events upstream records on the DaemonSet during planning (pod-control events come from the executor).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedEvent {
    pub warning: bool,
    /// Upstream reason string, e.g. `FailedDaemonPod`.
    pub reason: &'static str,
    pub message: String,
}

/// What happens on a node in this sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeAction {
    /// A daemon pod is created.
    Create,
    /// One or more pods are deleted.
    Delete,
    /// Pods are deleted and a pod is created (surge).
    Replace,
    /// Something should happen but is held back (budget, backoff, termination, burst cap).
    Wait,
    /// Nothing to do.
    Keep,
}

impl NodeAction {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeAction::Create => "create",
            NodeAction::Delete => "delete",
            NodeAction::Replace => "replace",
            NodeAction::Wait => "wait",
            NodeAction::Keep => "keep",
        }
    }
}

/// Why a node's action is what it is. Formatting is deferred to output time (plans are hot).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reason<'s> {
    NoDaemonPod,
    NoDaemonPodSurge,
    UpToDate,
    UpToDateNotAvailable(&'s PodView),
    OldPodKeptOnDelete(&'s PodView),
    OtherNodeName,
    AffinityMismatch,
    UntoleratedNoExecute(&'s Taint),
    UntoleratedNoSchedule(&'s Taint),
    PodOnMissingNode(&'s PodView),
    FailedPod(&'s PodView),
    FailedPodBackoff(&'s PodView, Duration),
    SucceededPod(&'s PodView),
    Terminating(&'s PodView),
    DuplicatePod {
        keep: &'s PodView,
    },
    SurgeOldPodNotReady(&'s PodView),
    SurgeNewPodAvailable {
        old: &'s PodView,
        new: &'s PodView,
    },
    SurgeWaitingForNewPod {
        new: &'s PodView,
    },
    BurstCapped(usize),
    ManageFirst,
    RollingReplaceUnavailable(&'s PodView),
    RollingDelete {
        pod: &'s PodView,
        max_unavailable: i64,
    },
    UnavailableBudgetSpent {
        pod: &'s PodView,
        max_unavailable: i64,
        blocker: Option<(&'s str, &'s PodView)>,
    },
    SurgeCreate {
        old: &'s PodView,
        max_surge: i64,
    },
    SurgeReplaceUnavailable(&'s PodView),
    SurgeBudgetSpent {
        old: &'s PodView,
        max_surge: i64,
    },
    SurgeDeleteOnIneligible(&'s PodView),
    SurgeKeepOnIneligible(&'s PodView),
    RollingBlocked(RollingError<'s>),
    /// A rollout control keeps the node from rolling this sync.
    Held(Hold<'s>),
    /// A node that holds only pods the pod garbage collector removes.
    NodeMissing(&'s str),
    NothingToDo,
}

fn pod_state(pod: &PodView) -> &'static str {
    match pod.ready {
        Some(ready) if ready.is_true => "ready",
        Some(_) => "not ready",
        None => "not ready (no Ready condition)",
    }
}

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NoDaemonPod => write!(f, "no daemon pod on an eligible node"),
            Reason::NoDaemonPodSurge => write!(
                f,
                "no running daemon pod on an eligible node (surge allows a new one at once)"
            ),
            Reason::UpToDate => write!(f, "pod is up to date and available"),
            Reason::UpToDateNotAvailable(pod) => write!(
                f,
                "pod {} is up to date but not yet available ({})",
                pod.name,
                pod_state(pod)
            ),
            Reason::OldPodKeptOnDelete(pod) => write!(
                f,
                "pod {} runs an old template; OnDelete strategy waits for it to be deleted",
                pod.name
            ),
            Reason::OtherNodeName => write!(f, "template.spec.nodeName names another node"),
            Reason::AffinityMismatch => write!(f, "node does not match nodeSelector / required node affinity"),
            Reason::UntoleratedNoExecute(taint) => {
                write!(f, "untolerated NoExecute taint {}={}", taint.key, taint.value)
            }
            Reason::UntoleratedNoSchedule(taint) => write!(
                f,
                "untolerated NoSchedule taint {}={}: existing pods stay, no new pod",
                taint.key, taint.value
            ),
            Reason::PodOnMissingNode(pod) => write!(
                f,
                "unscheduled pod {} is pinned to a node that does not exist",
                pod.name
            ),
            Reason::FailedPod(pod) => write!(f, "pod {} failed", pod.name),
            Reason::FailedPodBackoff(pod, remaining) => write!(
                f,
                "pod {} failed; deletion backs off for {}s",
                pod.name,
                remaining.as_secs_f64().ceil()
            ),
            Reason::SucceededPod(pod) => write!(f, "pod {} succeeded (daemon pods must keep running)", pod.name),
            Reason::Terminating(pod) => write!(f, "pod {} is terminating; a new pod follows once it is gone", pod.name),
            Reason::DuplicatePod { keep } => write!(
                f,
                "more than one daemon pod on the node; keeping the oldest, {}",
                keep.name
            ),
            Reason::SurgeOldPodNotReady(pod) => {
                write!(f, "surge: old pod {} is not ready, the new pod replaces it", pod.name)
            }
            Reason::SurgeNewPodAvailable { old, new } => write!(
                f,
                "surge: new pod {} is available, deleting old pod {}",
                new.name, old.name
            ),
            Reason::SurgeWaitingForNewPod { new } => {
                write!(f, "surge: waiting for new pod {} to become available", new.name)
            }
            Reason::BurstCapped(cap) => write!(f, "over the burst cap of {cap} writes per sync; next sync"),
            Reason::ManageFirst => write!(
                f,
                "rolling update waits until the pods created or deleted this sync are observed"
            ),
            Reason::RollingReplaceUnavailable(pod) => write!(
                f,
                "old pod {} is not available: replaced at once (does not wait for the budget)",
                pod.name
            ),
            Reason::RollingDelete { pod, max_unavailable } => write!(
                f,
                "rolling update: deleting old pod {} (maxUnavailable={max_unavailable})",
                pod.name
            ),
            Reason::UnavailableBudgetSpent {
                pod,
                max_unavailable,
                blocker,
            } => match blocker {
                Some((node, blocking)) => write!(
                    f,
                    "maxUnavailable={max_unavailable} spent: pod {} on {node} is {}; old pod {} waits",
                    blocking.name,
                    pod_state(blocking),
                    pod.name
                ),
                None => write!(f, "maxUnavailable={max_unavailable} spent; old pod {} waits", pod.name),
            },
            Reason::SurgeCreate { old, max_surge } => write!(
                f,
                "rolling update: surging a new pod beside old pod {} (maxSurge={max_surge})",
                old.name
            ),
            Reason::SurgeReplaceUnavailable(pod) => write!(
                f,
                "old pod {} is not available: new pod created at once (not limited by maxSurge)",
                pod.name
            ),
            Reason::SurgeBudgetSpent { old, max_surge } => {
                write!(f, "maxSurge={max_surge} spent; old pod {} waits", old.name)
            }
            Reason::SurgeDeleteOnIneligible(pod) => {
                write!(f, "node no longer eligible and old pod {} is unavailable", pod.name)
            }
            Reason::SurgeKeepOnIneligible(pod) => write!(
                f,
                "node no longer eligible; old pod {} stays until enough pods elsewhere are available",
                pod.name
            ),
            Reason::RollingBlocked(error) => write!(f, "rolling update blocked: {error}"),
            Reason::Held(hold) => write!(f, "{hold}"),
            Reason::NodeMissing(node) => write!(
                f,
                "node {node} does not exist; the pod garbage collector removes its pods"
            ),
            Reason::NothingToDo => write!(f, "nothing to do"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodeNote<'s> {
    pub node: &'s str,
    pub action: NodeAction,
    pub reason: Reason<'s>,
}

/// Pods and revisions whose ownership this sync changes (upstream ClaimPods / ClaimControllerRevisions).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OwnershipChanges<'s> {
    pub adopt_pods: Vec<&'s PodView>,
    pub release_pods: Vec<&'s PodView>,
    pub adopt_revisions: Vec<&'s RevisionView>,
    pub release_revisions: Vec<&'s RevisionView>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plan<'s> {
    pub daemon_set: &'s DaemonSetView,
    /// The hash pods of the current template carry (the controller-revision-hash label value);
    /// empty when the sync stops before history (see `HistoryPlan::update_hash`).
    pub update_revision: String,
    /// Nodes that get a new pod, sorted, capped at the burst limit.
    pub creates: Vec<&'s str>,
    /// Pods to delete, sorted by name, capped at the burst limit.
    pub deletes: Vec<&'s PodView>,
    pub step: Step,
    /// None when the sync writes no status (DaemonSet being deleted, selector selects everything,
    /// revision name collision).
    pub status: Option<StatusUpdate>,
    /// None when the sync stops before history (same cases as `status`, except collision).
    pub history: Option<HistoryPlan<'s>>,
    /// Old revisions to delete after this sync (revisionHistoryLimit).
    pub prune_revisions: Vec<&'s RevisionView>,
    /// Pods relabelled to the kept revision's hash when duplicate current revisions are removed.
    pub relabel_pods: Vec<&'s PodView>,
    pub ownership: OwnershipChanges<'s>,
    /// Every node the DaemonSet cares about (eligible or holding its pods), sorted by node name.
    pub nodes: Vec<NodeNote<'s>>,
    /// DaemonSet-wide problems in words, for people: `plan` prints them and the controller logs them
    /// at debug level. Those a user must fix (invalid spec, blocked rolling update) are also in
    /// `events` as Warning Events (`Plan::warn`); the others (DaemonSet being deleted, waiting for
    /// earlier writes to be observed, revision hash collision) are not.
    pub problems: Vec<String>,
    /// Events the executor records on the DaemonSet.
    pub events: Vec<PlannedEvent>,
    /// Failed-pod backoff entries advanced by this sync's failed-pod deletes.
    pub backoff_updates: Vec<(&'s str, BackoffEntry)>,
    /// When to sync again even if nothing changes (backoff expiry, minReadySeconds, soak time,
    /// progress deadlines).
    pub requeue_after: Option<Duration>,
    /// What the rollout controls did (all empty without `daemonroll.io/` annotations, except the
    /// conditions).
    pub rollout: RolloutReport<'s>,
    /// Planned in coexist mode (`planner::coexist`): the executor deletes pods and writes
    /// daemonroll's own conditions, nothing else.
    pub coexist: bool,
}

impl<'s> Plan<'s> {
    /// A plan that writes nothing (not even status).
    pub fn new(daemon_set: &'s DaemonSetView) -> Self {
        Plan {
            daemon_set,
            update_revision: String::new(),
            creates: Vec::new(),
            deletes: Vec::new(),
            step: Step::Idle,
            status: None,
            history: None,
            prune_revisions: Vec::new(),
            relabel_pods: Vec::new(),
            ownership: OwnershipChanges::default(),
            nodes: Vec::new(),
            problems: Vec::new(),
            events: Vec::new(),
            backoff_updates: Vec::new(),
            requeue_after: None,
            rollout: RolloutReport::default(),
            coexist: false,
        }
    }

    /// Asks for another sync within `after`.
    pub fn requeue_within(&mut self, after: Duration) {
        self.requeue_after = Some(self.requeue_after.map_or(after, |r| r.min(after)));
    }

    /// Records a DaemonSet-wide problem that users must fix, as a problem and a Warning Event.
    pub fn warn(&mut self, reason: &'static str, message: String) {
        self.events.push(PlannedEvent {
            warning: true,
            reason,
            message: message.clone(),
        });
        self.problems.push(message);
    }
}
