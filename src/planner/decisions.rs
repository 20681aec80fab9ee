//! What the planning steps decide for nodes: pod writes, per-node notes, explanations (pure data).

use super::Context;
use super::eligibility::Eligibility;
use super::plan::{NodeAction, NodeNote, Reason};
use super::pods::NodeState;
use crate::snapshot::{PodView, UpdateStrategy};

/// A node's action in this sync and why.
pub type Note<'s> = (NodeAction, Reason<'s>);

/// Creates and deletes a step decides. Node indexes point into the node states.
#[derive(Debug, Default)]
pub struct Writes<'s> {
    /// Nodes that get a new pod.
    pub creates: Vec<usize>,
    /// Pods to delete, each with its node.
    pub deletes: Vec<(usize, &'s PodView)>,
}

impl Writes<'_> {
    pub fn is_empty(&self) -> bool {
        self.creates.is_empty() && self.deletes.is_empty()
    }
}

/// A step's writes and the notes it leaves: at most one note per node.
#[derive(Debug, Default)]
pub struct Decisions<'s> {
    pub writes: Writes<'s>,
    pub notes: Vec<(usize, Note<'s>)>,
}

/// The note each node ends the sync with. A node starts with the note its pods call for when no
/// step acts on it; a step's note replaces that, and a later recorded note replaces an earlier one.
pub struct NodeNotes<'s> {
    nodes: Vec<NodeNote<'s>>,
}

impl<'s> NodeNotes<'s> {
    pub fn new(context: &Context<'s>, states: &[NodeState<'s>]) -> Self {
        let nodes = states
            .iter()
            .map(|state| {
                let (action, reason) = default_note(context, state);
                NodeNote {
                    node: state.node,
                    action,
                    reason,
                }
            })
            .collect();
        NodeNotes { nodes }
    }

    pub fn record(&mut self, notes: impl IntoIterator<Item = (usize, Note<'s>)>) {
        for (index, (action, reason)) in notes {
            let node = &mut self.nodes[index];
            node.action = action;
            node.reason = reason;
        }
    }

    /// One explanation per node, in the states' order (node-name order).
    pub fn into_nodes(self) -> Vec<NodeNote<'s>> {
        self.nodes
    }
}

/// The note for a node no step acted on.
fn default_note<'s>(context: &Context<'s>, state: &NodeState<'s>) -> Note<'s> {
    if let Some(Eligibility::UntoleratedNoSchedule(taint)) = state.eligibility {
        return (NodeAction::Keep, Reason::UntoleratedNoSchedule(taint));
    }
    let Some(pod) = state.pods.iter().find(|pod| !pod.is_terminating()) else {
        return (NodeAction::Keep, Reason::NothingToDo);
    };
    match (pod.updated, pod.available, &context.daemon_set.update_strategy) {
        (true, true, _) => (NodeAction::Keep, Reason::UpToDate),
        (true, false, _) => (NodeAction::Keep, Reason::UpToDateNotAvailable(pod.pod)),
        (false, _, UpdateStrategy::RollingUpdate(_)) => (NodeAction::Wait, Reason::ManageFirst),
        (false, _, _) => (NodeAction::Keep, Reason::OldPodKeptOnDelete(pod.pod)),
    }
}
