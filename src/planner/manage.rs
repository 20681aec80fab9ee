//! The manage step: pods to create on nodes that need one, pods to delete (pure).
//!
//! Upstream: daemon_controller.go manage, podsShouldBeOnNode, getUnscheduledPodsWithoutNode.
//! Assumptions: `states` come from `pods::node_map` (node-name order, survivor order within a node).
//! Invariants: a node gets at most one create; a terminating pod is never deleted again unless it is
//! unscheduled and pinned to a missing node; without surge a node never keeps two running pods
//! (ARCHITECTURE.md, invariant 1).

use std::collections::HashSet;
use std::time::Duration;

use super::Context;
use super::decisions::{Decisions, Note};
use super::eligibility::Eligibility;
use super::plan::{NodeAction, PlannedEvent, Reason};
use super::pods::{DaemonPod, NodePods, NodeState};
use crate::snapshot::{BackoffEntry, PodPhase, PodView};

/// What manage decides, with the Events and failed-pod backoff its deletes bring.
#[derive(Default)]
pub struct Managed<'s> {
    pub decisions: Decisions<'s>,
    pub events: Vec<PlannedEvent>,
    pub backoff_updates: Vec<(&'s str, BackoffEntry)>,
    /// The shortest remaining failed-pod backoff, when a failed pod waits for it.
    pub backoff_requeue: Option<Duration>,
}

pub fn manage<'s>(context: &Context<'s>, states: &[NodeState<'s>]) -> Managed<'s> {
    let mut manager = Manager {
        context,
        managed: Managed::default(),
        advanced: HashSet::new(),
    };
    for (index, state) in states.iter().enumerate() {
        if let Some(note) = manager.node(index, state) {
            manager.managed.decisions.notes.push((index, note));
        }
    }
    manager.managed
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

struct Manager<'c, 's> {
    context: &'c Context<'s>,
    managed: Managed<'s>,
    /// Nodes whose failed-pod backoff this sync advanced: after a failed pod is deleted the node is
    /// in backoff at once (one backoff key per node).
    advanced: HashSet<&'s str>,
}

impl<'s> Manager<'_, 's> {
    fn create(&mut self, index: usize) {
        self.managed.decisions.writes.creates.push(index);
    }

    fn delete(&mut self, index: usize, pod: &'s PodView) {
        self.managed.decisions.writes.deletes.push((index, pod));
    }

    /// Records the writes one node needs; returns the note they leave on it.
    fn node(&mut self, index: usize, state: &NodeState<'s>) -> Option<Note<'s>> {
        let Some(eligibility) = state.eligibility else {
            return Some(self.missing_node(index, state));
        };
        if eligibility.should_run() && state.pods.is_empty() {
            self.create(index);
            Some((NodeAction::Create, Reason::NoDaemonPod))
        } else if eligibility.should_continue_running() {
            let (running, note) = self.sweep_node(index, state);
            self.prune_running(index, eligibility, &running, note)
        } else {
            self.evict(index, state, eligibility)
        }
    }

    /// Upstream: getUnscheduledPodsWithoutNode — only unscheduled pods; the pod GC removes bound ones.
    fn missing_node(&mut self, index: usize, state: &NodeState<'s>) -> Note<'s> {
        let mut note = (NodeAction::Keep, Reason::NodeMissing(state.node));
        for pod in state.pods.iter().filter(|pod| pod.node_name.is_empty()) {
            self.delete(index, pod.pod);
            note = (NodeAction::Delete, Reason::PodOnMissingNode(pod.pod));
        }
        note
    }

    /// Deletes the pods of a node that may no longer keep them (terminating ones are on their way).
    fn evict(&mut self, index: usize, state: &NodeState<'s>, eligibility: Eligibility<'s>) -> Option<Note<'s>> {
        let mut deleted = false;
        for pod in state.pods.iter().filter(|pod| !pod.is_terminating()) {
            self.delete(index, pod.pod);
            deleted = true;
        }
        if deleted {
            Some((NodeAction::Delete, ineligible_reason(eligibility)))
        } else {
            let terminating = state.pods.first()?;
            Some((NodeAction::Wait, Reason::Terminating(terminating.pod)))
        }
    }

    /// Deletes failed (after their backoff) and succeeded pods; returns the pods still running and
    /// the note so far.
    fn sweep_node(&mut self, index: usize, state: &NodeState<'s>) -> (NodePods<'s>, Option<Note<'s>>) {
        let mut running = NodePods::new();
        let mut note = None;
        for daemon_pod in state.pods.iter().copied() {
            let pod = daemon_pod.pod;
            if daemon_pod.is_terminating() {
                note.get_or_insert((NodeAction::Wait, Reason::Terminating(pod)));
                continue;
            }
            match daemon_pod.phase {
                PodPhase::Failed => match self.delete_failed(index, state.node, pod) {
                    Some(remaining) => {
                        note.get_or_insert((NodeAction::Wait, Reason::FailedPodBackoff(pod, remaining)));
                    }
                    None => note = Some((NodeAction::Delete, Reason::FailedPod(pod))),
                },
                // Upstream: kubernetes PR #117073 — succeeded daemon pods are deleted (no backoff).
                PodPhase::Succeeded => {
                    self.managed.events.push(PlannedEvent {
                        warning: false,
                        reason: "SucceededDaemonPod",
                        message: format!(
                            "Found succeeded daemon pod {}/{} on node {}, will try to delete it",
                            self.context.daemon_set.namespace, pod.name, state.node
                        ),
                    });
                    self.delete(index, pod);
                    note = Some((NodeAction::Delete, Reason::SucceededPod(pod)));
                }
                _ => running.push(daemon_pod),
            }
        }
        (running, note)
    }

    /// Deletes a failed pod and advances the node's backoff, unless the backoff holds the pod back:
    /// then returns how long it still waits.
    fn delete_failed(&mut self, index: usize, node: &'s str, pod: &'s PodView) -> Option<Duration> {
        let context = self.context;
        let remaining = if self.advanced.contains(node) {
            Some(context.backoff.initial)
        } else {
            context.backoff.delay_remaining(node, context.now)
        };
        if let Some(remaining) = remaining {
            let requeue = &mut self.managed.backoff_requeue;
            *requeue = Some(requeue.map_or(remaining, |r| r.min(remaining)));
            return Some(remaining);
        }
        self.advanced.insert(node);
        self.managed
            .backoff_updates
            .push((node, context.backoff.next_entry(node, context.now)));
        self.managed.events.push(PlannedEvent {
            warning: true,
            reason: "FailedDaemonPod",
            message: format!(
                "Found failed daemon pod {}/{} on node {}, will try to kill it",
                context.daemon_set.namespace, pod.name, node
            ),
        });
        self.delete(index, pod);
        None
    }

    /// Keeps one running pod per node (two while a surge is in progress); `note` is the node's note so far.
    fn prune_running(
        &mut self,
        index: usize,
        eligibility: Eligibility<'s>,
        running: &[DaemonPod<'s>],
        mut note: Option<Note<'s>>,
    ) -> Option<Note<'s>> {
        if !self.context.allows_surge {
            if let [keep, extra @ ..] = running {
                for pod in extra {
                    self.delete(index, pod.pod);
                    note = Some((NodeAction::Delete, Reason::DuplicatePod { keep: keep.pod }));
                }
            }
            return note;
        }
        match running {
            [] if eligibility.should_run() => {
                self.create(index);
                let action = match note {
                    Some((NodeAction::Delete, _)) => NodeAction::Replace,
                    _ => NodeAction::Create,
                };
                Some((action, Reason::NoDaemonPodSurge))
            }
            [] | [_] => note,
            _ => self.prune_surge(index, running, note),
        }
    }

    /// Two or more running pods while surging: keeps the oldest new and the oldest old pod, and the
    /// old one only until the new one is available (or at once when the old one is not ready).
    fn prune_surge(&mut self, index: usize, running: &[DaemonPod<'s>], mut note: Option<Note<'s>>) -> Option<Note<'s>> {
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
                    self.delete(index, pod.pod);
                    note = Some((NodeAction::Delete, Reason::DuplicatePod { keep }));
                }
            }
        }
        let (Some(new), Some(old)) = (oldest_new, oldest_old) else {
            return note;
        };
        if !old.ready {
            self.delete(index, old.pod);
            Some((NodeAction::Delete, Reason::SurgeOldPodNotReady(old.pod)))
        } else if new.available {
            self.delete(index, old.pod);
            Some((
                NodeAction::Delete,
                Reason::SurgeNewPodAvailable {
                    old: old.pod,
                    new: new.pod,
                },
            ))
        } else {
            note.or(Some((NodeAction::Wait, Reason::SurgeWaitingForNewPod { new: new.pod })))
        }
    }
}
