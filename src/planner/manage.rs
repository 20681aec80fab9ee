//! The manage step: pods to create on nodes that need one, pods to delete (pure).
//!
//! Upstream: daemon_controller.go manage, podsShouldBeOnNode, getUnscheduledPodsWithoutNode.
//! Assumptions: `states` come from `pods::node_states` (survivor order within a node).
//! Invariants: a node gets at most one create; a terminating pod is never deleted again unless it is
//! unscheduled and pinned to a missing node; without surge a node never keeps two running pods.

use std::collections::HashSet;
use std::time::Duration;

use super::Context;
use super::eligibility::Eligibility;
use super::plan::{NodeAction, PlannedEvent, Reason};
use super::pods::{DaemonPod, NodePods, NodeState};
use crate::snapshot::{BackoffEntry, PodPhase, PodView};

pub type Note<'s> = Option<(NodeAction, Reason<'s>)>;

#[derive(Default)]
pub struct Writes<'s> {
    /// Indexes into the node states.
    pub creates: Vec<usize>,
    pub deletes: Vec<(usize, &'s PodView)>,
}

impl Writes<'_> {
    pub fn is_empty(&self) -> bool {
        self.creates.is_empty() && self.deletes.is_empty()
    }
}

#[derive(Default)]
pub struct ManageOutcome<'s> {
    pub writes: Writes<'s>,
    pub events: Vec<PlannedEvent>,
    pub backoff_updates: Vec<(&'s str, BackoffEntry)>,
    pub backoff_requeue: Option<Duration>,
}

fn ineligible_reason(eligibility: Eligibility<'_>) -> Reason<'_> {
    match eligibility {
        Eligibility::OtherNodeName => Reason::OtherNodeName,
        Eligibility::AffinityMismatch => Reason::AffinityMismatch,
        Eligibility::UntoleratedNoExecute(taint) => Reason::UntoleratedNoExecute(taint),
        Eligibility::UntoleratedNoSchedule(taint) => Reason::UntoleratedNoSchedule(taint),
        Eligibility::Eligible => Reason::UpToDate,
    }
}

pub fn manage<'s>(context: &Context<'s>, states: &[NodeState<'s>], notes: &mut [Note<'s>]) -> ManageOutcome<'s> {
    let mut outcome = ManageOutcome::default();
    // One backoff key per node: after a failed pod is deleted the node is in backoff at once.
    let mut advanced: HashSet<&str> = HashSet::new();
    for (index, state) in states.iter().enumerate() {
        let Some(eligibility) = state.eligibility else {
            // Upstream: getUnscheduledPodsWithoutNode — only unscheduled pods; the pod GC removes bound ones.
            for pod in state.pods.iter().filter(|pod| pod.node_name.is_empty()) {
                outcome.writes.deletes.push((index, pod.pod));
                notes[index] = Some((NodeAction::Delete, Reason::PodOnMissingNode(pod.pod)));
            }
            if notes[index].is_none() {
                notes[index] = Some((
                    NodeAction::Keep,
                    Reason::NotManaged(format!(
                        "node {} does not exist; the pod garbage collector removes its pods",
                        state.node
                    )),
                ));
            }
            continue;
        };
        let exists = !state.pods.is_empty();
        if eligibility.should_run() && !exists {
            outcome.writes.creates.push(index);
            notes[index] = Some((NodeAction::Create, Reason::NoDaemonPod));
        } else if eligibility.should_continue_running() {
            let running = sweep_node(context, index, state, notes, &mut outcome, &mut advanced);
            prune_running(context, index, eligibility, &running, notes, &mut outcome);
        } else if exists {
            let reason = ineligible_reason(eligibility);
            for pod in state.pods.iter().filter(|pod| !pod.is_terminating()) {
                outcome.writes.deletes.push((index, pod.pod));
                notes[index] = Some((NodeAction::Delete, reason.clone()));
            }
            if notes[index].is_none() {
                notes[index] = Some((NodeAction::Wait, Reason::Terminating(state.pods[0].pod)));
            }
        }
    }
    outcome
}

/// Deletes failed (with backoff) and succeeded pods; returns the pods still running.
fn sweep_node<'s>(
    context: &Context<'s>,
    index: usize,
    state: &NodeState<'s>,
    notes: &mut [Note<'s>],
    outcome: &mut ManageOutcome<'s>,
    advanced: &mut HashSet<&'s str>,
) -> NodePods<'s> {
    let mut running = NodePods::new();
    for daemon_pod in state.pods.iter().copied() {
        let pod = daemon_pod.pod;
        if daemon_pod.is_terminating() {
            if notes[index].is_none() {
                notes[index] = Some((NodeAction::Wait, Reason::Terminating(pod)));
            }
            continue;
        }
        match daemon_pod.phase {
            PodPhase::Failed => {
                let remaining = if advanced.contains(state.node) {
                    Some(context.backoff.initial)
                } else {
                    context.backoff.delay_remaining(state.node, context.now)
                };
                if let Some(remaining) = remaining {
                    outcome.backoff_requeue = Some(outcome.backoff_requeue.map_or(remaining, |r| r.min(remaining)));
                    if notes[index].is_none() {
                        notes[index] = Some((NodeAction::Wait, Reason::FailedPodBackoff(pod, remaining)));
                    }
                    continue;
                }
                advanced.insert(state.node);
                outcome
                    .backoff_updates
                    .push((state.node, context.backoff.next_entry(state.node, context.now)));
                outcome.events.push(PlannedEvent {
                    warning: true,
                    reason: "FailedDaemonPod",
                    message: format!(
                        "Found failed daemon pod {}/{} on node {}, will try to kill it",
                        context.daemon_set.namespace, pod.name, state.node
                    ),
                });
                outcome.writes.deletes.push((index, pod));
                notes[index] = Some((NodeAction::Delete, Reason::FailedPod(pod)));
            }
            // Upstream: kubernetes PR #117073 — succeeded daemon pods are deleted (no backoff).
            PodPhase::Succeeded => {
                outcome.events.push(PlannedEvent {
                    warning: false,
                    reason: "SucceededDaemonPod",
                    message: format!(
                        "Found succeeded daemon pod {}/{} on node {}, will try to delete it",
                        context.daemon_set.namespace, pod.name, state.node
                    ),
                });
                outcome.writes.deletes.push((index, pod));
                notes[index] = Some((NodeAction::Delete, Reason::SucceededPod(pod)));
            }
            _ => running.push(daemon_pod),
        }
    }
    running
}

/// Keeps one running pod per node (two while a surge is in progress).
fn prune_running<'s>(
    context: &Context<'s>,
    index: usize,
    eligibility: Eligibility<'s>,
    running: &[DaemonPod<'s>],
    notes: &mut [Note<'s>],
    outcome: &mut ManageOutcome<'s>,
) {
    if !context.allows_surge {
        if let [keep, extra @ ..] = running {
            for pod in extra {
                outcome.writes.deletes.push((index, pod.pod));
                notes[index] = Some((NodeAction::Delete, Reason::DuplicatePod { keep: keep.pod }));
            }
        }
        return;
    }
    if running.len() <= 1 {
        if running.is_empty() && eligibility.should_run() {
            outcome.writes.creates.push(index);
            let action = if notes[index]
                .as_ref()
                .is_some_and(|(action, _)| *action == NodeAction::Delete)
            {
                NodeAction::Replace
            } else {
                NodeAction::Create
            };
            notes[index] = Some((action, Reason::NoDaemonPodSurge));
        }
        return;
    }
    // Upstream: manage's surge pruning decides "new" by the hash label only (not the generation label).
    let mut oldest_new: Option<DaemonPod<'s>> = None;
    let mut oldest_old: Option<DaemonPod<'s>> = None;
    for pod in running.iter().copied() {
        let slot = if pod.has_current_hash {
            &mut oldest_new
        } else {
            &mut oldest_old
        };
        match slot {
            None => *slot = Some(pod),
            Some(keep) => {
                let keep = keep.pod;
                outcome.writes.deletes.push((index, pod.pod));
                notes[index] = Some((NodeAction::Delete, Reason::DuplicatePod { keep }));
            }
        }
    }
    if let (Some(new), Some(old)) = (oldest_new, oldest_old) {
        if !old.ready {
            outcome.writes.deletes.push((index, old.pod));
            notes[index] = Some((NodeAction::Delete, Reason::SurgeOldPodNotReady(old.pod)));
        } else if new.available {
            outcome.writes.deletes.push((index, old.pod));
            notes[index] = Some((
                NodeAction::Delete,
                Reason::SurgeNewPodAvailable {
                    old: old.pod,
                    new: new.pod,
                },
            ));
        } else if notes[index].is_none() {
            notes[index] = Some((NodeAction::Wait, Reason::SurgeWaitingForNewPod { new: new.pod }));
        }
    }
}
