//! The rolling-update step: old pods to delete (maxSurge = 0) or nodes to surge onto (pure).
//!
//! Upstream: update.go rollingUpdate, findUpdatedPodsOnNode; updatedDesiredNodeCounts for budgets.
//! Assumptions: runs only when manage had nothing to write this sync; `states` holds every node
//! that should run a pod or holds one (missing nodes included), as upstream's nodeToDaemonPods does,
//! in node-name order.
//! Invariants:
//! - maxSurge = 0: available old pods are deleted only while unavailable < maxUnavailable; old pods
//!   that are not available are replaced at once (they do not make things worse). ARCHITECTURE.md,
//!   invariant 2.
//! - maxSurge > 0: an available old pod on an eligible node is deleted only once the new pod on
//!   that node is available; at most maxSurge nodes surge at once, beyond nodes whose old pod is unavailable.
//! - Upstream walks a Go map (random order); only the number of candidates taken is defined.
//!   daemonroll takes candidates in node-name order (the states' order) so that plans are reproducible
//!   (ARCHITECTURE.md, "Deliberate differences from upstream").

use std::fmt;

use super::decisions::Decisions;
use super::intstr::{BudgetError, Budgets};
use super::plan::{NodeAction, Reason};
use super::pods::{DaemonPod, NodeState};
use super::rollout::Hold;
use super::rollout::gate::{Gate, is_unavailable};
use crate::snapshot::PodView;

/// Why the rolling update writes nothing this sync (upstream's rollingUpdate returns an error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RollingError<'s> {
    /// maxSurge or maxUnavailable does not resolve.
    InvalidBudget(BudgetError<'s>),
    /// A node holding only an old pod is not in the node list (upstream re-reads the node there).
    NodeNotFound(&'s str),
}

impl fmt::Display for RollingError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RollingError::InvalidBudget(error) => write!(f, "couldn't get unavailable numbers: invalid {error}"),
            RollingError::NodeNotFound(node) => write!(f, "couldn't get node for nodeName {node:?}: node not found"),
        }
    }
}

/// The new and old pod on a node, or None when the node has more than one of either (manage prunes it).
type NewAndOld<'s> = (Option<DaemonPod<'s>>, Option<DaemonPod<'s>>);

fn updated_and_old<'s>(pods: &[DaemonPod<'s>]) -> Option<NewAndOld<'s>> {
    let mut new_pod = None;
    let mut old_pod = None;
    for pod in pods.iter().copied().filter(|pod| !pod.is_terminating()) {
        let slot = if pod.updated { &mut new_pod } else { &mut old_pod };
        if slot.is_some() {
            return None;
        }
        *slot = Some(pod);
    }
    Some((new_pod, old_pod))
}

/// The rolling update's writes under `budgets` (resolved by `rollout::budgets`), through `gate`.
pub fn rolling_update<'s>(
    budgets: Budgets,
    states: &[NodeState<'s>],
    gate: &Gate<'s>,
) -> Result<Decisions<'s>, RollingError<'s>> {
    if budgets.max_surge == 0 {
        Ok(without_surge(states, budgets, gate))
    } else {
        with_surge(states, budgets, gate)
    }
}

/// The note of a node a control holds.
fn held<'s>(index: usize, hold: Hold<'s>) -> (usize, (NodeAction, Reason<'s>)) {
    (index, (NodeAction::Wait, Reason::Held(hold)))
}

/// Candidates no control holds, in rollout order; notes for the held ones go to `decisions`.
fn open_candidates<'s>(
    candidates: Vec<(usize, &'s PodView)>,
    gate: &Gate<'s>,
    decisions: &mut Decisions<'s>,
) -> Vec<(usize, &'s PodView)> {
    let mut open = Vec::with_capacity(candidates.len());
    for (index, pod) in candidates {
        match gate.disruption_hold(index) {
            Some(hold) => decisions.notes.push(held(index, hold)),
            None => open.push((index, pod)),
        }
    }
    open.sort_by_key(|&(index, _)| gate.rank(index));
    open
}

/// How many of `open` candidates the domain cap lets through, and the note for the rest.
fn domain_room<'s>(gate: &Gate<'s>) -> (usize, Option<Hold<'s>>) {
    match gate.domain_room {
        Some((room, domain, max)) => (room.max(0) as usize, Some(Hold::DomainBudgetSpent { domain, max })),
        None => (usize::MAX, None),
    }
}

fn without_surge<'s>(states: &[NodeState<'s>], budgets: Budgets, gate: &Gate<'s>) -> Decisions<'s> {
    let max_unavailable = budgets.max_unavailable;
    let mut unavailable = 0i64;
    let mut blocker: Option<(&'s str, &'s PodView)> = None;
    let mut replacements = Vec::new();
    let mut candidates = Vec::new();
    for (index, state) in states.iter().enumerate() {
        let counted_unavailable = match updated_and_old(&state.pods) {
            None | Some((None, None) | (Some(_), Some(_))) => true,
            Some((Some(new), None)) => !new.available,
            Some((None, Some(old))) => {
                if old.available {
                    candidates.push((index, old.pod));
                    false
                } else {
                    replacements.push((index, old.pod));
                    true
                }
            }
        };
        // The alphabetically first unavailable pod (states are in name order) explains why candidates wait.
        if counted_unavailable && gate.charged(index) {
            unavailable += 1;
            if blocker.is_none() {
                blocker = state.pods.first().map(|pod| (state.node, pod.pod));
            }
        }
    }
    // Priority order for the burst cap: replacements first, then candidates in rollout order.
    let mut decisions = Decisions::default();
    decisions.notes.reserve_exact(replacements.len() + candidates.len());
    for (index, pod) in replacements {
        if let Some(hold) = gate.hold(index) {
            decisions.notes.push(held(index, hold));
            continue;
        }
        decisions.writes.deletes.push((index, pod));
        decisions
            .notes
            .push((index, (NodeAction::Delete, Reason::RollingReplaceUnavailable(pod))));
    }
    let open = open_candidates(candidates, gate, &mut decisions);
    let remaining = (max_unavailable - unavailable).clamp(0, open.len() as i64) as usize;
    let (room, domain_hold) = domain_room(gate);
    for (position, (index, pod)) in open.into_iter().enumerate() {
        let note = if position < remaining.min(room) {
            decisions.writes.deletes.push((index, pod));
            (NodeAction::Delete, Reason::RollingDelete { pod, max_unavailable })
        } else if let Some(hold) = domain_hold.filter(|_| position >= room && position < remaining) {
            (NodeAction::Wait, Reason::Held(hold))
        } else {
            let reason = Reason::UnavailableBudgetSpent {
                pod,
                max_unavailable,
                blocker,
            };
            (NodeAction::Wait, reason)
        };
        decisions.notes.push((index, note));
    }
    decisions
}
/// One pass of the surge branch over the nodes.
#[derive(Default)]
struct SurgeScan<'s> {
    /// Nodes counted against maxSurge: a new pod not yet available beside an old one, or pods to prune.
    surging: i64,
    /// Nodes whose pod (the old one when there are both) is available, nodes being sunset included.
    available: i64,
    /// Writes that need no budget: replacements of unavailable old pods, old pods whose new pod is available.
    forced: Decisions<'s>,
    /// Available old pods on nodes that should no longer run one.
    should_not_run: Vec<(usize, &'s PodView)>,
    /// Available old pods on eligible nodes without a new pod: the nodes that may surge.
    candidates: Vec<(usize, &'s PodView)>,
}

fn scan_for_surge<'s>(states: &[NodeState<'s>]) -> Result<SurgeScan<'s>, RollingError<'s>> {
    let mut scan = SurgeScan::default();
    for (index, state) in states.iter().enumerate() {
        let Some((new_pod, old_pod)) = updated_and_old(&state.pods) else {
            scan.surging += 1;
            continue;
        };
        if let Some(pod) = old_pod.or(new_pod)
            && pod.available
        {
            scan.available += 1;
        }
        let forced = &mut scan.forced;
        match (new_pod, old_pod) {
            (_, None) => {}
            (None, Some(old)) => {
                let Some(eligibility) = state.eligibility else {
                    return Err(RollingError::NodeNotFound(state.node));
                };
                if !old.available {
                    let note = if eligibility.should_run() {
                        forced.writes.creates.push(index);
                        (NodeAction::Create, Reason::SurgeReplaceUnavailable(old.pod))
                    } else {
                        forced.writes.deletes.push((index, old.pod));
                        (NodeAction::Delete, Reason::SurgeDeleteOnIneligible(old.pod))
                    };
                    forced.notes.push((index, note));
                } else if !eligibility.should_run() {
                    scan.should_not_run.push((index, old.pod));
                } else {
                    scan.candidates.push((index, old.pod));
                }
            }
            (Some(new), Some(old)) => {
                let note = if new.available {
                    forced.writes.deletes.push((index, old.pod));
                    let reason = Reason::SurgeNewPodAvailable {
                        old: old.pod,
                        new: new.pod,
                    };
                    (NodeAction::Delete, reason)
                } else {
                    scan.surging += 1;
                    (NodeAction::Wait, Reason::SurgeWaitingForNewPod { new: new.pod })
                };
                forced.notes.push((index, note));
            }
        }
    }
    Ok(scan)
}

/// Forced writes on held nodes become held notes.
fn hold_forced<'s>(forced: Decisions<'s>, gate: &Gate<'s>) -> Decisions<'s> {
    let Decisions { mut writes, notes } = forced;
    writes.creates.retain(|&index| gate.hold(index).is_none());
    writes.deletes.retain(|&(index, _)| gate.hold(index).is_none());
    let notes = notes
        .into_iter()
        .map(|(index, note)| match gate.hold(index) {
            Some(hold) => held(index, hold),
            None => (index, note),
        })
        .collect();
    Decisions { writes, notes }
}

/// Upstream allows surge only with maxUnavailable 0; `daemonroll.io/max-surge` combines them:
/// nodes that do not fit the surge budget are replaced without surging while unavailable nodes
/// stay under maxUnavailable.
fn with_surge<'s>(
    states: &[NodeState<'s>],
    budgets: Budgets,
    gate: &Gate<'s>,
) -> Result<Decisions<'s>, RollingError<'s>> {
    let desired = states.iter().filter(|state| state.should_run()).count() as i64;
    let max_surge = budgets.max_surge;
    let scan = scan_for_surge(states)?;
    // Priority order for the burst cap: forced writes first, by node name.
    let mut decisions = hold_forced(scan.forced, gate);
    decisions
        .notes
        .reserve_exact(scan.should_not_run.len() + scan.candidates.len());
    // With surge the owner expects full availability: pods on nodes that should no longer run one
    // go only while more pods are available than desired.
    let deletable = (scan.available - desired).clamp(0, scan.should_not_run.len() as i64) as usize;
    for (position, (index, pod)) in scan.should_not_run.into_iter().enumerate() {
        let note = if let Some(hold) = gate.hold(index) {
            (NodeAction::Wait, Reason::Held(hold))
        } else if position < deletable {
            decisions.writes.deletes.push((index, pod));
            (NodeAction::Delete, Reason::SurgeDeleteOnIneligible(pod))
        } else {
            (NodeAction::Keep, Reason::SurgeKeepOnIneligible(pod))
        };
        decisions.notes.push((index, note));
    }
    let open = open_candidates(scan.candidates, gate, &mut decisions);
    let surge_slots = (max_surge - scan.surging).clamp(0, open.len() as i64) as usize;
    let max_unavailable = budgets.max_unavailable;
    let unavailable = states
        .iter()
        .enumerate()
        .filter(|(index, state)| state.should_run() && gate.charged(*index) && is_unavailable(state))
        .count() as i64;
    let delete_slots = (max_unavailable - unavailable).max(0) as usize;
    let (room, domain_hold) = domain_room(gate);
    for (position, (index, old)) in open.into_iter().enumerate() {
        let note = if position >= room && position < surge_slots + delete_slots {
            (
                NodeAction::Wait,
                Reason::Held(domain_hold.unwrap_or(Hold::WaveInFlight)),
            )
        } else if position < surge_slots {
            decisions.writes.creates.push(index);
            (NodeAction::Create, Reason::SurgeCreate { old, max_surge })
        } else if position < surge_slots + delete_slots {
            decisions.writes.deletes.push((index, old));
            (
                NodeAction::Delete,
                Reason::RollingDelete {
                    pod: old,
                    max_unavailable,
                },
            )
        } else {
            (NodeAction::Wait, Reason::SurgeBudgetSpent { old, max_surge })
        };
        decisions.notes.push((index, note));
    }
    Ok(decisions)
}
