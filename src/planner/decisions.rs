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

/// The note each node ends the sync with: a later step's note replaces an earlier one.
pub struct NodeNotes<'s> {
    notes: Vec<Option<Note<'s>>>,
}

impl<'s> NodeNotes<'s> {
    /// No note yet for any of `node_count` nodes.
    pub fn new(node_count: usize) -> Self {
        NodeNotes {
            notes: vec![None; node_count],
        }
    }

    pub fn record(&mut self, notes: impl IntoIterator<Item = (usize, Note<'s>)>) {
        for (index, note) in notes {
            self.notes[index] = Some(note);
        }
    }

    /// Notes every node no step noted yet for which `note_for` has one.
    pub fn note_unnoted(&mut self, mut note_for: impl FnMut(usize) -> Option<Note<'s>>) {
        for (index, note) in self.notes.iter_mut().enumerate() {
            if note.is_none() {
                *note = note_for(index);
            }
        }
    }

    /// One explanation per node, in the states' order (node-name order); nodes no step noted get
    /// the note their pods call for.
    pub fn explain(self, context: &Context<'s>, states: &[NodeState<'s>]) -> Vec<NodeNote<'s>> {
        states
            .iter()
            .zip(self.notes)
            .map(|(state, note)| {
                let (action, reason) = note.unwrap_or_else(|| default_note(context, state));
                NodeNote {
                    node: state.node,
                    action,
                    reason,
                }
            })
            .collect()
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
