//! The node → daemon pods map: the DaemonSet's pods filed by target node, with each node's eligibility (pure).

use std::collections::HashMap;
use std::sync::Arc;

use smallvec::SmallVec;

use super::Context;
use super::availability::{is_available, is_ready, is_updated, survivor_order};
use super::claim::{Claim, claim};
use super::eligibility::{Eligibility, EligibilityRules};
use super::selector::Selector;
use crate::snapshot::{NodeView, PodPhase, PodView};

/// A claimed pod with what every step asks of it, computed once per sync.
#[derive(Clone, Copy, Debug)]
pub struct DaemonPod<'s> {
    pub pod: &'s PodView,
    /// Copied from the pod so that later steps need not visit it again.
    pub phase: PodPhase,
    pub terminating: bool,
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
    pub fn is_terminating(&self) -> bool {
        self.terminating
    }

    fn classify(context: &Context<'_>, pod: &'s PodView) -> Self {
        // Upstream reads a missing label as "" (Go map lookup).
        let has_current_hash = pod.revision_hash().unwrap_or_default() == context.hash;
        // Upstream: util/daemonset_util.go IsPodUpdated — the hash (when set), else the generation label.
        let updated = (has_current_hash && !context.hash.is_empty())
            || is_updated(pod, "", context.template_generation.as_deref());
        DaemonPod {
            pod,
            phase: pod.phase,
            terminating: pod.is_terminating(),
            updated,
            has_current_hash,
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
    /// The node itself; None for a node that is not in the node list.
    pub view: Option<&'s NodeView>,
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

/// The node → daemon pods map and the ownership changes claiming implies.
pub struct NodeMap<'s> {
    pub states: Vec<NodeState<'s>>,
    pub adopted: Vec<&'s PodView>,
    pub released: Vec<&'s PodView>,
}

/// Claims candidate pods and classifies the ones that belong on a node.
struct Filer<'c, 's> {
    context: &'c Context<'c>,
    selector: &'c Selector,
    adopted: Vec<&'s PodView>,
    released: Vec<&'s PodView>,
}

impl<'c, 's> Filer<'c, 's> {
    fn new(context: &'c Context<'c>, selector: &'c Selector) -> Self {
        Filer {
            context,
            selector,
            adopted: Vec::new(),
            released: Vec::new(),
        }
    }

    /// The pod as a daemon pod of its target node, or None when it is not the DaemonSet's, is a
    /// deleted terminal pod (kubernetes PR #118716), or has no target node (GetTargetNodeName error).
    fn file(&mut self, pod: &'s PodView) -> Option<DaemonPod<'s>> {
        let daemon_set = self.context.daemon_set;
        match claim(
            daemon_set,
            self.selector,
            pod.controller.as_ref(),
            &pod.labels,
            pod.is_terminating(),
        ) {
            Claim::Owned => {}
            Claim::Adopt => self.adopted.push(pod),
            Claim::Release => {
                self.released.push(pod);
                return None;
            }
            Claim::Ignore => return None,
        }
        if (pod.phase.is_terminal() && pod.is_terminating()) || pod.target_node.is_none() {
            return None;
        }
        Some(DaemonPod::classify(self.context, pod))
    }

    fn finish(self, states: Vec<NodeState<'s>>) -> NodeMap<'s> {
        NodeMap {
            states,
            adopted: self.adopted,
            released: self.released,
        }
    }
}

/// The nodes the DaemonSet cares about, in node-name order: every node that should run a pod or
/// holds one of its pods, missing nodes included. Each pod is claimed, classified and filed in one
/// visit. Upstream: daemon_controller.go getNodesToDaemonPods plus the per-node
/// NodeShouldRunDaemonPod calls.
///
/// Every later step relies on the name order (a state's index order is its name order), so none
/// of them sorts or compares names. Snapshot assembly provides nodes sorted by name and pods by
/// target node: the two are then merged in step, without hashing and without a sort. Other input
/// (hand-built snapshots) is filed through a node-name index and sorted once here.
pub fn node_map<'s>(
    context: &Context<'_>,
    selector: &Selector,
    nodes: &'s [NodeView],
    candidates: &'s [Arc<PodView>],
    rules: &EligibilityRules,
) -> NodeMap<'s> {
    let mut map = match merge_sorted(context, selector, nodes, candidates, rules) {
        Some(merged) => return merged,
        None if candidates.is_empty() => nodes_without_pods(context, selector, nodes, rules),
        None => file_by_index(context, selector, nodes, candidates, rules),
    };
    if !map.states.is_sorted_by(|a, b| a.node <= b.node) {
        map.states.sort_by(|a, b| a.node.cmp(b.node));
    }
    map
}

/// The node map in no particular order, for callers that only count (the status pass): it skips
/// the order checks, and node lists in creation order (`node-10` before `node-2`) need no sort.
pub fn unordered_node_map<'s>(
    context: &Context<'_>,
    selector: &Selector,
    nodes: &'s [NodeView],
    candidates: &'s [Arc<PodView>],
    rules: &EligibilityRules,
) -> NodeMap<'s> {
    if candidates.is_empty() {
        return nodes_without_pods(context, selector, nodes, rules);
    }
    merge_sorted(context, selector, nodes, candidates, rules)
        .unwrap_or_else(|| file_by_index(context, selector, nodes, candidates, rules))
}

/// The map when no pod is a candidate: the nodes that should run one, in input order.
fn nodes_without_pods<'s>(
    context: &Context<'_>,
    selector: &Selector,
    nodes: &'s [NodeView],
    rules: &EligibilityRules,
) -> NodeMap<'s> {
    let mut states = Vec::with_capacity(nodes.len());
    for node in nodes {
        push_state(&mut states, node, rules, NodePods::new());
    }
    Filer::new(context, selector).finish(states)
}

fn push_state<'s>(states: &mut Vec<NodeState<'s>>, node: &'s NodeView, rules: &EligibilityRules, pods: NodePods<'s>) {
    let eligibility = rules.evaluate(node);
    if eligibility.should_run() || !pods.is_empty() {
        states.push(NodeState {
            node: &node.name,
            eligibility: Some(eligibility),
            view: Some(node),
            pods,
        });
    }
}

fn sort_survivors(states: &mut [NodeState<'_>]) {
    for state in states {
        if state.pods.len() > 1 {
            state.pods.sort_by(|a, b| survivor_order(a.pod, b.pod));
        }
    }
}

/// Walks sorted nodes and target-sorted pods in step, placing missing nodes by name; None as soon
/// as either is out of order.
fn merge_sorted<'s>(
    context: &Context<'_>,
    selector: &Selector,
    nodes: &'s [NodeView],
    candidates: &'s [Arc<PodView>],
    rules: &EligibilityRules,
) -> Option<NodeMap<'s>> {
    let mut filer = Filer::new(context, selector);
    let mut states = Vec::with_capacity(nodes.len());
    let mut previous_node: Option<&str> = None;
    let mut previous_target: Option<&str> = None;
    let mut cursor = 0;
    // Files pods up to and including `node` (all pods when None); pods before it target missing
    // nodes, which sort between the previous node and this one.
    let mut advance = |node: Option<&str>, filer: &mut Filer<'_, 's>, states: &mut Vec<NodeState<'s>>| {
        let mut on_node = NodePods::new();
        while let Some(pod) = candidates.get(cursor) {
            let target = pod.target_node.as_deref();
            if let Some(target) = target {
                if previous_target.is_some_and(|previous| previous > target) {
                    return None;
                }
                if node.is_some_and(|node| target > node) {
                    break;
                }
                previous_target = Some(target);
            }
            cursor += 1;
            let (Some(target), Some(daemon_pod)) = (target, filer.file(pod)) else {
                continue;
            };
            if Some(target) == node {
                on_node.push(daemon_pod);
            } else if let Some(last) = states.last_mut().filter(|last| last.node == target) {
                last.pods.push(daemon_pod);
            } else {
                states.push(NodeState {
                    node: target,
                    eligibility: None,
                    view: None,
                    pods: NodePods::from_elem(daemon_pod, 1),
                });
            }
        }
        Some(on_node)
    };
    for node in nodes {
        if previous_node.is_some_and(|previous| previous > node.name.as_str()) {
            return None;
        }
        previous_node = Some(&node.name);
        let pods = advance(Some(&node.name), &mut filer, &mut states)?;
        push_state(&mut states, node, rules, pods);
    }
    advance(None, &mut filer, &mut states)?;
    sort_survivors(&mut states);
    Some(filer.finish(states))
}

/// Files pods through a node-name index (any input order): nodes in input order, then missing
/// nodes by name.
fn file_by_index<'s>(
    context: &Context<'_>,
    selector: &Selector,
    nodes: &'s [NodeView],
    candidates: &'s [Arc<PodView>],
    rules: &EligibilityRules,
) -> NodeMap<'s> {
    let mut filer = Filer::new(context, selector);
    // foldhash: node names such as node-1234 collide badly under Fx-style hashing.
    let mut node_index: HashMap<&'s str, usize, foldhash::fast::RandomState> = HashMap::default();
    node_index.reserve(nodes.len());
    for (index, node) in nodes.iter().enumerate() {
        node_index.insert(node.name.as_str(), index);
    }
    let mut per_node: Vec<NodePods<'s>> = Vec::new();
    per_node.resize_with(nodes.len(), NodePods::new);
    let mut on_missing_nodes: HashMap<&'s str, NodePods<'s>, foldhash::fast::RandomState> = HashMap::default();
    for pod in candidates {
        let (Some(target), Some(daemon_pod)) = (pod.target_node.as_deref(), filer.file(pod)) else {
            continue;
        };
        match node_index.get(target) {
            Some(&index) => per_node[index].push(daemon_pod),
            None => on_missing_nodes.entry(target).or_default().push(daemon_pod),
        }
    }
    let mut states = Vec::with_capacity(nodes.len());
    for (node, pods) in nodes.iter().zip(per_node) {
        push_state(&mut states, node, rules, pods);
    }
    let mut missing: Vec<NodeState<'s>> = on_missing_nodes
        .into_iter()
        .map(|(node, pods)| NodeState {
            node,
            eligibility: None,
            view: None,
            pods,
        })
        .collect();
    missing.sort_by(|a, b| a.node.cmp(b.node));
    states.extend(missing);
    sort_survivors(&mut states);
    filer.finish(states)
}
