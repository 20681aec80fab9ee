//! Which pods and revisions are the DaemonSet's, and the node → daemon pods map (pure).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use smallvec::SmallVec;

use super::Context;
use super::availability::{is_available, is_ready, is_updated, survivor_order};
use super::eligibility::{Eligibility, EligibilityRules};
use super::selector::Selector;
use crate::snapshot::{ControllerRef, DaemonSetView, Labels, NodeView, PodView, RevisionView};

/// How an object relates to the DaemonSet. Upstream: controller_ref_manager.go ClaimObject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Controlled by the DaemonSet and matching its selector.
    Owned,
    /// An orphan matching the selector: adopted by this sync.
    Adopt,
    /// Controlled by the DaemonSet but no longer matching: released by this sync.
    Release,
    /// Not the DaemonSet's business.
    Ignore,
}

fn is_controlled_by(controller: &ControllerRef, daemon_set: &DaemonSetView) -> bool {
    // Upstream (newest) resolves the controller ref by kind, name and uid, not uid alone.
    controller.uid == daemon_set.uid && controller.kind == "DaemonSet" && controller.name == daemon_set.name
}

pub fn claim(
    daemon_set: &DaemonSetView,
    selector: &Selector,
    controller: Option<&ControllerRef>,
    labels: &Labels,
    object_terminating: bool,
) -> Claim {
    let deleting = daemon_set.deletion_timestamp.is_some();
    match controller {
        Some(controller) if is_controlled_by(controller, daemon_set) => {
            if selector.matches(labels) {
                Claim::Owned
            } else if deleting {
                Claim::Ignore
            } else {
                Claim::Release
            }
        }
        Some(_) => Claim::Ignore,
        None if deleting || object_terminating || !selector.matches(labels) => Claim::Ignore,
        None => Claim::Adopt,
    }
}

/// The DaemonSet's pods after claiming, plus the ownership changes the claim implies.
pub struct ClaimedPods<'s> {
    pub pods: Vec<&'s PodView>,
    pub adopted: Vec<&'s PodView>,
    pub released: Vec<&'s PodView>,
}

pub fn claim_pods<'s>(
    daemon_set: &DaemonSetView,
    selector: &Selector,
    candidates: &'s [Arc<PodView>],
) -> ClaimedPods<'s> {
    let mut claimed = ClaimedPods {
        pods: Vec::with_capacity(candidates.len()),
        adopted: Vec::new(),
        released: Vec::new(),
    };
    for pod in candidates {
        match claim(
            daemon_set,
            selector,
            pod.controller.as_ref(),
            &pod.labels,
            pod.is_terminating(),
        ) {
            Claim::Owned => claimed.pods.push(pod),
            Claim::Adopt => {
                claimed.pods.push(pod);
                claimed.adopted.push(pod);
            }
            Claim::Release => claimed.released.push(pod),
            Claim::Ignore => {}
        }
    }
    claimed
}

pub struct ClaimedRevisions<'s> {
    pub revisions: Vec<&'s RevisionView>,
    pub adopted: Vec<&'s str>,
    pub released: Vec<&'s str>,
}

pub fn claim_revisions<'s>(
    daemon_set: &DaemonSetView,
    selector: &Selector,
    candidates: &'s [RevisionView],
) -> ClaimedRevisions<'s> {
    let mut claimed = ClaimedRevisions {
        revisions: Vec::new(),
        adopted: Vec::new(),
        released: Vec::new(),
    };
    for revision in candidates {
        let terminating = revision.deletion_timestamp.is_some();
        match claim(
            daemon_set,
            selector,
            revision.controller.as_ref(),
            &revision.labels,
            terminating,
        ) {
            Claim::Owned => claimed.revisions.push(revision),
            Claim::Adopt => {
                claimed.revisions.push(revision);
                claimed.adopted.push(&revision.name);
            }
            Claim::Release => claimed.released.push(&revision.name),
            Claim::Ignore => {}
        }
    }
    claimed
}

/// A claimed pod with what every step asks of it, computed once per sync.
#[derive(Clone, Copy, Debug)]
pub struct DaemonPod<'s> {
    pub pod: &'s PodView,
    /// Upstream IsPodUpdated: hash label or generation label matches.
    pub updated: bool,
    /// The hash label equals the update hash (manage's surge pruning looks at this only).
    pub has_current_hash: bool,
    pub ready: bool,
    pub available: bool,
}

impl std::ops::Deref for DaemonPod<'_> {
    type Target = PodView;

    fn deref(&self) -> &PodView {
        self.pod
    }
}

impl<'s> DaemonPod<'s> {
    fn classify(context: &Context<'_>, pod: &'s PodView) -> Self {
        DaemonPod {
            pod,
            updated: is_updated(pod, &context.hash, context.template_generation.as_deref()),
            has_current_hash: pod.revision_hash() == Some(context.hash.as_str()),
            ready: is_ready(pod),
            available: is_available(pod, context.daemon_set.min_ready_seconds, context.now),
        }
    }
}

/// One entry of upstream's node → daemon pods map, with the node's eligibility.
#[derive(Clone, Debug)]
pub struct NodeState<'s> {
    pub node: &'s str,
    /// None when the pods target a node that is not in the node list.
    pub eligibility: Option<Eligibility<'s>>,
    /// Pods targeting the node in survivor order (scheduled, oldest, name), terminating ones
    /// included; terminal pods that are also being deleted are left out (kubernetes PR #118716).
    pub pods: NodePods<'s>,
}

/// A node's daemon pods; nearly always one or two, kept inline.
pub type NodePods<'s> = SmallVec<[DaemonPod<'s>; 2]>;

impl NodeState<'_> {
    pub fn should_run(&self) -> bool {
        self.eligibility.is_some_and(Eligibility::should_run)
    }
}

/// The nodes the DaemonSet cares about: every node that should run a pod or holds one of its pods
/// (nodes listed in node order, then missing nodes by name).
/// Upstream: daemon_controller.go getNodesToDaemonPods plus the per-node NodeShouldRunDaemonPod calls.
pub fn node_states<'s>(
    context: &Context<'_>,
    nodes: &'s [NodeView],
    pods: &[&'s PodView],
    rules: &EligibilityRules,
) -> Vec<NodeState<'s>> {
    // foldhash: node names like node-1234 collide badly under Fx-style hashing.
    let mut by_node: HashMap<&'s str, NodePods<'s>, foldhash::fast::RandomState> = HashMap::default();
    by_node.reserve(pods.len());
    for pod in pods {
        if pod.phase.is_terminal() && pod.is_terminating() {
            continue;
        }
        // Upstream: pods without a target node are skipped (GetTargetNodeName error).
        if let Some(target) = pod.target_node.as_deref() {
            by_node
                .entry(target)
                .or_default()
                .push(DaemonPod::classify(context, pod));
        }
    }
    let mut states = Vec::with_capacity(nodes.len());
    for node in nodes {
        let eligibility = rules.evaluate(node);
        let pods = if by_node.is_empty() {
            NodePods::new()
        } else {
            by_node.remove(node.name.as_str()).unwrap_or_default()
        };
        if eligibility.should_run() || !pods.is_empty() {
            states.push(NodeState {
                node: &node.name,
                eligibility: Some(eligibility),
                pods,
            });
        }
    }
    let mut missing: Vec<NodeState<'s>> = by_node
        .into_iter()
        .map(|(node, pods)| NodeState {
            node,
            eligibility: None,
            pods,
        })
        .collect();
    missing.sort_by(|a, b| a.node.cmp(b.node));
    states.extend(missing);
    for state in &mut states {
        if state.pods.len() > 1 {
            state.pods.sort_by(|a, b| survivor_order(a.pod, b.pod));
        }
    }
    states
}

/// Hash labels of every claimed pod with a target node, deleted terminal pods included.
/// Upstream: update.go cleanupHistory (getNodesToDaemonPods with includeDeletedTerminal).
pub fn live_hashes<'s>(pods: &[&'s PodView]) -> HashSet<&'s str> {
    pods.iter()
        .filter(|pod| pod.target_node.is_some())
        .filter_map(|pod| pod.revision_hash())
        .filter(|hash| !hash.is_empty())
        .collect()
}
