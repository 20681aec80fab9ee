//! The rolling-update step: old pods to delete (maxSurge = 0) or nodes to surge onto (pure).
//!
//! Upstream: update.go rollingUpdate, findUpdatedPodsOnNode; updatedDesiredNodeCounts for budgets.
//! Assumptions: runs only when manage had nothing to write this sync; `states` holds every node
//! that should run a pod or holds one (missing nodes included), as upstream's nodeToDaemonPods does.
//! Invariants:
//! - maxSurge = 0: available old pods are deleted only while unavailable < maxUnavailable; old pods
//!   that are not available are replaced at once (they do not make things worse).
//! - maxSurge > 0: an available old pod on an eligible node is deleted only once the new pod on
//!   that node is available; at most maxSurge nodes surge at once, beyond nodes whose old pod is unavailable.
//! - Upstream walks a Go map (random order); only the number of candidates taken is defined.
//!   daemonroll takes candidates in node-name order so that plans are reproducible.

use super::manage::{Note, Writes};
use super::plan::{NodeAction, Reason};
use super::pods::{DaemonPod, NodeState};
use crate::snapshot::PodView;

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

/// Upstream returns an error (nothing written) in these cases.
pub type RollingError = String;

pub fn rolling_update<'s>(
    states: &[NodeState<'s>],
    sorted_by_name: bool,
    max_surge: i64,
    max_unavailable: i64,
    desired: i64,
    notes: &mut [Note<'s>],
) -> Result<Writes<'s>, RollingError> {
    if max_surge == 0 {
        Ok(without_surge(states, sorted_by_name, max_unavailable, notes))
    } else {
        with_surge(states, sorted_by_name, max_surge, desired, notes)
    }
}

/// Orders entries by node name; entries collected in state order already are when the states are.
fn by_node_name<T>(states: &[NodeState<'_>], sorted_by_name: bool, list: &mut [(usize, T)]) {
    if !sorted_by_name {
        list.sort_by(|a, b| states[a.0].node.cmp(states[b.0].node));
    }
}

fn without_surge<'s>(
    states: &[NodeState<'s>],
    sorted_by_name: bool,
    max_unavailable: i64,
    notes: &mut [Note<'s>],
) -> Writes<'s> {
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
        if counted_unavailable {
            unavailable += 1;
            // The alphabetically first unavailable pod explains why candidates wait.
            if let Some(pod) = state.pods.first()
                && blocker.is_none_or(|(node, _)| state.node < node)
            {
                blocker = Some((state.node, pod.pod));
            }
        }
    }
    let remaining = (max_unavailable - unavailable).clamp(0, candidates.len() as i64) as usize;
    // Priority order for the burst cap: replacements first, then candidates; by node name within each.
    by_node_name(states, sorted_by_name, &mut replacements);
    by_node_name(states, sorted_by_name, &mut candidates);
    let mut writes = Writes::default();
    for (index, pod) in replacements {
        writes.deletes.push((index, pod));
        notes[index] = Some((NodeAction::Delete, Reason::RollingReplaceUnavailable(pod)));
    }
    for (position, (index, pod)) in candidates.into_iter().enumerate() {
        if position < remaining {
            writes.deletes.push((index, pod));
            notes[index] = Some((NodeAction::Delete, Reason::RollingDelete { pod, max_unavailable }));
        } else {
            notes[index] = Some((
                NodeAction::Wait,
                Reason::UnavailableBudgetSpent {
                    pod,
                    max_unavailable,
                    blocker,
                },
            ));
        }
    }
    writes
}

fn with_surge<'s>(
    states: &[NodeState<'s>],
    sorted_by_name: bool,
    max_surge: i64,
    desired: i64,
    notes: &mut [Note<'s>],
) -> Result<Writes<'s>, RollingError> {
    let mut surging = 0i64;
    let mut available_count = 0i64;
    let mut writes = Writes::default();
    let mut forced_creates = Vec::new();
    let mut candidates = Vec::new();
    let mut should_not_run = Vec::new();
    for (index, state) in states.iter().enumerate() {
        let Some((new_pod, old_pod)) = updated_and_old(&state.pods) else {
            surging += 1;
            continue;
        };
        // Availability is counted on every node, including ones being sunset.
        if let Some(pod) = old_pod.or(new_pod)
            && pod.available
        {
            available_count += 1;
        }
        match (new_pod, old_pod) {
            (_, None) => {}
            (None, Some(old)) => {
                // Upstream re-reads the node here; a node missing from the lister fails the step.
                let Some(eligibility) = state.eligibility else {
                    return Err(format!(
                        "couldn't get node for nodeName {:?}: node not found",
                        state.node
                    ));
                };
                if !old.available {
                    if eligibility.should_run() {
                        forced_creates.push(index);
                        notes[index] = Some((NodeAction::Create, Reason::SurgeReplaceUnavailable(old.pod)));
                    } else {
                        writes.deletes.push((index, old.pod));
                        notes[index] = Some((NodeAction::Delete, Reason::SurgeDeleteOnIneligible(old.pod)));
                    }
                } else if !eligibility.should_run() {
                    should_not_run.push((index, old.pod));
                } else {
                    candidates.push((index, old.pod));
                }
            }
            (Some(new), Some(old)) => {
                if new.available {
                    writes.deletes.push((index, old.pod));
                    notes[index] = Some((
                        NodeAction::Delete,
                        Reason::SurgeNewPodAvailable {
                            old: old.pod,
                            new: new.pod,
                        },
                    ));
                } else {
                    surging += 1;
                    notes[index] = Some((NodeAction::Wait, Reason::SurgeWaitingForNewPod { new: new.pod }));
                }
            }
        }
    }
    // With surge the owner expects full availability: pods on nodes that should no longer run one
    // go only while more pods are available than desired.
    // Priority order for the burst cap: forced writes first, by node name.
    by_node_name(states, sorted_by_name, &mut writes.deletes);
    if !sorted_by_name {
        forced_creates.sort_by(|a, b| states[*a].node.cmp(states[*b].node));
    }
    let deletable = (available_count - desired).clamp(0, should_not_run.len() as i64) as usize;
    by_node_name(states, sorted_by_name, &mut should_not_run);
    for (position, (index, pod)) in should_not_run.into_iter().enumerate() {
        if position < deletable {
            writes.deletes.push((index, pod));
            notes[index] = Some((NodeAction::Delete, Reason::SurgeDeleteOnIneligible(pod)));
        } else {
            notes[index] = Some((NodeAction::Keep, Reason::SurgeKeepOnIneligible(pod)));
        }
    }
    let remaining = (max_surge - surging).clamp(0, candidates.len() as i64) as usize;
    by_node_name(states, sorted_by_name, &mut candidates);
    writes.creates = forced_creates;
    for (position, (index, old)) in candidates.into_iter().enumerate() {
        if position < remaining {
            writes.creates.push(index);
            notes[index] = Some((NodeAction::Create, Reason::SurgeCreate { old, max_surge }));
        } else {
            notes[index] = Some((NodeAction::Wait, Reason::SurgeBudgetSpent { old, max_surge }));
        }
    }
    Ok(writes)
}
