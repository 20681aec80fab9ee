//! The per-sync cap on creates and on deletes (pure).
//!
//! Upstream: daemon_controller.go syncNodes keeps the first burstReplicas of each list. Manage's
//! lists follow the node lister (no defined order), so daemonroll takes them by name (ARCHITECTURE.md,
//! "Deliberate differences from upstream"); the rolling update's lists are in priority order
//! (replacements of unavailable pods before budgeted candidates), which the cap keeps, so that
//! capping never drops a replacement in favour of a candidate.

use super::decisions::{Note, Writes};
use super::plan::{NodeAction, Reason, Step};
use super::pods::NodeState;
use crate::snapshot::PodView;

/// The writes a sync issues, and the notes of the nodes whose writes wait for the next sync.
pub struct Capped<'s> {
    /// Node names, sorted.
    pub creates: Vec<&'s str>,
    /// Sorted by pod name.
    pub deletes: Vec<&'s PodView>,
    pub held_back: Vec<(usize, Note<'s>)>,
}

/// Keeps the first `burst` creates and deletes of `step`'s writes, then sorts them. `states` are in
/// node-name order, so node indexes sort as names do.
pub fn cap<'s>(burst: usize, step: Step, states: &[NodeState<'s>], writes: Writes<'s>) -> Capped<'s> {
    let by_name = step != Step::RollingUpdate;
    let held_back_note = (NodeAction::Wait, Reason::BurstCapped(burst));
    let mut held_back = Vec::new();
    let mut creates = writes.creates;
    if by_name {
        creates.sort_unstable();
    }
    held_back.extend(creates.iter().skip(burst).map(|index| (*index, held_back_note)));
    creates.truncate(burst);
    creates.sort_unstable();
    let mut deletes = writes.deletes;
    if by_name {
        deletes.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    }
    held_back.extend(deletes.iter().skip(burst).map(|(index, _)| (*index, held_back_note)));
    deletes.truncate(burst);
    deletes.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    Capped {
        creates: creates.into_iter().map(|index| states[index].node).collect(),
        deletes: deletes.into_iter().map(|(_, pod)| pod).collect(),
        held_back,
    }
}
