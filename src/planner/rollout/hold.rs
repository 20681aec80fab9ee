//! Why a rollout control keeps a node from rolling this sync (pure data).

use std::fmt;
use std::time::Duration;

use super::controls;

/// Why a node that runs an old pod is not replaced this sync, beyond upstream's budgets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold<'s> {
    /// `paused: "true"`.
    Paused,
    /// The node is one of the `kept` nodes a partition keeps on the old revision.
    Partition { kept: usize },
    /// The node does not match `rollout-node-selector`.
    Canary,
    /// `topology-key`: the domain `current` rolls first.
    OtherDomain { current: &'s str },
    /// `max-unavailable-per-domain` spent in this node's domain.
    DomainBudgetSpent { domain: &'s str, max: usize },
    /// `wave-interval`: the last wave became available; the next starts after `remaining`.
    Soaking { remaining: Duration },
    /// `wave-interval`: the current wave is not available yet.
    WaveInFlight,
    /// `progress-deadline`: an updated pod was not available in time; the rollout stopped.
    ProgressDeadlineExceeded { pod: &'s str, node: &'s str },
    /// `ignore-not-ready-nodes`: the node was NotReady before it was reached; it neither rolls
    /// nor spends maxUnavailable.
    NodeNotReady,
    /// `ignore-not-ready-nodes`: a node that already runs the new revision went NotReady.
    UpdatedNodeNotReady { node: &'s str },
    /// A control's annotation does not parse and has no last good setting.
    InvalidControl,
    /// Coexist mode: the node is NotReady; a pod deleted there would stay Terminating and
    /// kube-controller-manager would never recreate it.
    NotReadyNode,
    /// Coexist mode: the node should not run the pod; kube-controller-manager removes it.
    NotEligible,
}

/// Every `Hold::kind`, for metrics that must reset the kinds a sync no longer reports.
pub const HOLD_KINDS: [&str; 13] = [
    "paused",
    "partition",
    "canary",
    "other-domain",
    "domain-budget",
    "soaking",
    "wave-in-flight",
    "progress-deadline",
    "node-not-ready",
    "updated-node-not-ready",
    "invalid-control",
    "not-ready-node",
    "not-eligible",
];

impl Hold<'_> {
    /// A stable name, for metrics labels and the JSON plan.
    pub fn kind(&self) -> &'static str {
        match self {
            Hold::Paused => "paused",
            Hold::Partition { .. } => "partition",
            Hold::Canary => "canary",
            Hold::OtherDomain { .. } => "other-domain",
            Hold::DomainBudgetSpent { .. } => "domain-budget",
            Hold::Soaking { .. } => "soaking",
            Hold::WaveInFlight => "wave-in-flight",
            Hold::ProgressDeadlineExceeded { .. } => "progress-deadline",
            Hold::NodeNotReady => "node-not-ready",
            Hold::UpdatedNodeNotReady { .. } => "updated-node-not-ready",
            Hold::InvalidControl => "invalid-control",
            Hold::NotReadyNode => "not-ready-node",
            Hold::NotEligible => "not-eligible",
        }
    }

    /// A blocker stops the rollout until someone acts; other holds are what a user asked for or
    /// pass on their own (soak time, a wave in flight, another domain first).
    pub fn is_blocker(&self) -> bool {
        matches!(
            self,
            Hold::ProgressDeadlineExceeded { .. } | Hold::UpdatedNodeNotReady { .. } | Hold::InvalidControl
        )
    }
}

impl fmt::Display for Hold<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hold::Paused => write!(f, "held: the rollout is paused ({})", controls::PAUSED),
            Hold::Partition { kept } => write!(
                f,
                "held: one of the {kept} nodes the partition keeps on the old revision ({})",
                controls::PARTITION
            ),
            Hold::Canary => write!(
                f,
                "held: the node does not match the canary selector ({})",
                controls::ROLLOUT_NODE_SELECTOR
            ),
            Hold::OtherDomain { current } => {
                write!(f, "held: domain {current:?} rolls first ({})", controls::TOPOLOGY_KEY)
            }
            Hold::DomainBudgetSpent { domain, max } => write!(
                f,
                "held: {max} nodes of domain {domain:?} are unavailable ({})",
                controls::MAX_UNAVAILABLE_PER_DOMAIN
            ),
            Hold::Soaking { remaining } => write!(
                f,
                "held: soaking; the next wave starts in {}s ({})",
                remaining.as_secs_f64().ceil(),
                controls::WAVE_INTERVAL
            ),
            Hold::WaveInFlight => write!(
                f,
                "held: the current wave is not available yet ({})",
                controls::WAVE_INTERVAL
            ),
            Hold::ProgressDeadlineExceeded { pod, node } => write!(
                f,
                "blocked: updated pod {pod} on {node} was not available within the progress deadline ({})",
                controls::PROGRESS_DEADLINE
            ),
            Hold::NodeNotReady => write!(
                f,
                "skipped: the node is NotReady; it rolls once Ready ({})",
                controls::IGNORE_NOT_READY_NODES
            ),
            Hold::UpdatedNodeNotReady { node } => write!(
                f,
                "blocked: node {node} went NotReady after it received the new revision"
            ),
            Hold::InvalidControl => write!(
                f,
                "blocked: a rollout annotation is invalid (see the Progressing condition)"
            ),
            Hold::NotReadyNode => write!(
                f,
                "skipped: the node is NotReady; a pod deleted there would never be recreated"
            ),
            Hold::NotEligible => write!(f, "left to kube-controller-manager: the node should not run the pod"),
        }
    }
}
