//! The gate the rollout controls put on one sync's rolling update: which nodes may roll, in what
//! order, and how many more this sync (pure).
//!
//! Assumptions: `states` is the node map in name order (`pods::node_map`); the gate is computed
//! only when the rolling-update step runs.
//! Invariants:
//! - An open gate (no control set) holds nothing, counts every node and keeps name order.
//! - The rollout order is the domain order of `topology-key` (label values ascending, nodes
//!   without the label last), then node name; a partition keeps the tail of that order, so the
//!   kept nodes stay the same while the partition shrinks.
//! - Node holds stop every rolling write on the node; the wave hold stops only new disruptions
//!   (available old pods), so an unavailable pod of the current wave is still replaced.

use std::time::Duration;

use chrono::TimeDelta;

use super::controls::RolloutControls;
use super::hold::Hold;
use crate::planner::pods::{DaemonPod, NodeState};
use crate::snapshot::Timestamp;

/// Shown for nodes without the topology label, which roll last.
pub const UNLABELLED_DOMAIN: &str = "(no label)";

/// The progress deadline passed for this updated pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure<'s> {
    pub pod: &'s str,
    pub node: &'s str,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gate<'s> {
    /// Per state index; empty when nothing is held.
    node_holds: Vec<Option<Hold<'s>>>,
    /// Rollout rank per state index; empty for name order.
    rank: Vec<usize>,
    /// Nodes whose unavailability is not charged to maxUnavailable; empty when all are charged.
    not_charged: Vec<bool>,
    /// Holds every available old pod that is not otherwise held.
    pub wave_hold: Option<Hold<'s>>,
    /// How many more nodes of the rolling domain may become unavailable, with the domain and cap.
    pub domain_room: Option<(i64, &'s str, usize)>,
    /// The domain rolling now (`topology-key`).
    pub current_domain: Option<&'s str>,
    pub failure: Option<Failure<'s>>,
    /// When a wave's soak time or a pod's progress deadline ends.
    pub requeue_after: Option<Duration>,
}

impl<'s> Gate<'s> {
    pub fn hold(&self, index: usize) -> Option<Hold<'s>> {
        self.node_holds.get(index).copied().flatten()
    }

    /// The hold on a new disruption of the node: its node hold, else the wave hold.
    pub fn disruption_hold(&self, index: usize) -> Option<Hold<'s>> {
        self.hold(index).or(self.wave_hold)
    }

    pub fn charged(&self, index: usize) -> bool {
        !self.not_charged.get(index).copied().unwrap_or(false)
    }

    pub fn rank(&self, index: usize) -> usize {
        self.rank.get(index).copied().unwrap_or(index)
    }

    fn set_hold(&mut self, index: usize, hold: Hold<'s>) {
        if self.node_holds.is_empty() {
            self.node_holds = vec![None; self.rank.len().max(index + 1)];
        }
        if self.node_holds.len() <= index {
            self.node_holds.resize(index + 1, None);
        }
        // The first hold recorded wins: the order of `compute` is the order of precedence.
        self.node_holds[index].get_or_insert(hold);
    }

    fn hold_all(&mut self, states: &[NodeState<'s>], hold: Hold<'s>) {
        for index in 0..states.len() {
            self.set_hold(index, hold);
        }
    }
}

/// What the gate reads besides the controls and the node map.
pub struct GateInput<'a, 's> {
    pub controls: &'a RolloutControls,
    pub states: &'a [NodeState<'s>],
    pub now: Timestamp,
    pub min_ready_seconds: i32,
    /// The rollout of the current revision completed before (the stored Progressing condition
    /// says so): pods failing now are not a failed rollout.
    pub completed_before: bool,
    /// Holds recorded before any control's (coexist mode's unsafe nodes), so that waves and
    /// topology domains do not wait on nodes that can never roll.
    pub first_holds: Vec<(usize, Hold<'s>)>,
}

/// The node is unavailable as upstream's rolling update counts it (update.go rollingUpdate).
pub fn is_unavailable(state: &NodeState<'_>) -> bool {
    let mut live = state.pods.iter().filter(|pod| !pod.is_terminating());
    match (live.next(), live.next()) {
        (Some(pod), None) => !pod.available,
        (Some(first), Some(second)) if live.next().is_none() && first.updated != second.updated => {
            // A surge pair: the old pod serves until the new one is available.
            let old = if first.updated { second } else { first };
            !old.available
        }
        _ => true,
    }
}

fn live_pods<'a, 's>(state: &'a NodeState<'s>) -> impl Iterator<Item = &'a DaemonPod<'s>> {
    state.pods.iter().filter(|pod| !pod.is_terminating())
}

/// The node still has rolling to do: an old pod, or no available updated pod where one belongs.
fn needs_work(state: &NodeState<'_>) -> bool {
    live_pods(state).any(|pod| !pod.updated)
        || (state.should_run() && !live_pods(state).any(|pod| pod.updated && pod.available))
}

pub fn compute<'s>(input: &GateInput<'_, 's>) -> Gate<'s> {
    let controls = input.controls;
    let states = input.states;
    let mut gate = Gate::default();
    for (index, hold) in &input.first_holds {
        gate.set_hold(*index, *hold);
    }
    if !controls.any() {
        return gate;
    }
    let domains: Vec<Option<&'s str>> = match &controls.topology {
        Some(topology) => states
            .iter()
            .map(|state| state.view.and_then(|view| view.labels.get(&topology.key)))
            .collect(),
        None => vec![None; states.len()],
    };
    gate.rank = rollout_ranks(&domains);
    not_ready_nodes(input, &mut gate);
    progress_deadline(input, &mut gate);
    if controls.hold_for_invalid {
        gate.hold_all(states, Hold::InvalidControl);
    }
    if let Some(failure) = gate.failure {
        gate.hold_all(
            states,
            Hold::ProgressDeadlineExceeded {
                pod: failure.pod,
                node: failure.node,
            },
        );
    }
    if controls.paused {
        gate.hold_all(states, Hold::Paused);
    }
    partition(input, &mut gate);
    canary(input, &mut gate);
    if let Some(topology) = &controls.topology {
        domain_by_domain(input, &domains, topology.max_unavailable_per_domain, &mut gate);
    }
    if let Some(interval) = controls.wave_interval {
        waves(input, interval, &mut gate);
    }
    gate
}

/// Rank of each state in the rollout order: domain order (unlabelled last), then name order.
fn rollout_ranks(domains: &[Option<&str>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..domains.len()).collect();
    order.sort_by_key(|&index| (domains[index].is_none(), domains[index], index));
    let mut rank = vec![0; domains.len()];
    for (position, index) in order.into_iter().enumerate() {
        rank[index] = position;
    }
    rank
}

/// `ignore-not-ready-nodes`: NotReady nodes not yet reached are skipped and not charged; a
/// NotReady node that already runs the new revision stops the rollout.
fn not_ready_nodes<'s>(input: &GateInput<'_, 's>, gate: &mut Gate<'s>) {
    if !input.controls.ignore_not_ready_nodes {
        return;
    }
    let states = input.states;
    let mut blocker = None;
    gate.not_charged = vec![false; states.len()];
    for (index, state) in states.iter().enumerate() {
        if !state.view.is_some_and(|view| view.is_not_ready()) {
            continue;
        }
        if live_pods(state).any(|pod| pod.updated) {
            blocker.get_or_insert(state.node);
        } else {
            gate.not_charged[index] = true;
            gate.set_hold(index, Hold::NodeNotReady);
        }
    }
    if let Some(node) = blocker {
        gate.hold_all(states, Hold::UpdatedNodeNotReady { node });
    }
}

/// `progress-deadline`: an updated pod unavailable for longer than the deadline fails the rollout.
fn progress_deadline<'s>(input: &GateInput<'_, 's>, gate: &mut Gate<'s>) {
    let Some(deadline) = input.controls.progress_deadline else {
        return;
    };
    let deadline = TimeDelta::from_std(deadline).unwrap_or(TimeDelta::MAX);
    let rolling = input
        .states
        .iter()
        .any(|state| live_pods(state).any(|pod| !pod.updated));
    if input.completed_before && !rolling {
        return;
    }
    for (index, state) in input.states.iter().enumerate() {
        if !gate.charged(index) {
            continue;
        }
        // A Ready pod inside its minReadySeconds becomes available on its own: not late.
        for pod in live_pods(state).filter(|pod| pod.updated && !pod.available && !pod.ready) {
            // Unavailable since it last turned not ready, else since it was created.
            let since = pod
                .pod
                .ready
                .and_then(|ready| ready.last_transition_time)
                .or(pod.creation_timestamp);
            let Some(ends) = since.and_then(|since| since.checked_add_signed(deadline)) else {
                continue;
            };
            if ends <= input.now {
                gate.failure.get_or_insert(Failure {
                    pod: pod.pod.name.as_str(),
                    node: state.node,
                });
            } else {
                requeue(gate, (ends - input.now).to_std().unwrap_or_default());
            }
        }
    }
}

fn requeue(gate: &mut Gate<'_>, after: Duration) {
    gate.requeue_after = Some(gate.requeue_after.map_or(after, |r| r.min(after)));
}

/// `partition`: N eligible nodes keep the old revision: the last N of the rollout order among
/// those still running it, so that a node joining at the new revision takes no kept slot.
fn partition<'s>(input: &GateInput<'_, 's>, gate: &mut Gate<'s>) {
    let Some(amount) = input.controls.partition else {
        return;
    };
    let states = input.states;
    let desired = states.iter().filter(|state| state.should_run()).count();
    let mut old: Vec<usize> = (0..states.len())
        .filter(|&index| states[index].should_run() && live_pods(&states[index]).any(|pod| !pod.updated))
        .collect();
    let kept = amount.of_rounded_down(desired).min(old.len());
    old.sort_by_key(|&index| std::cmp::Reverse(gate.rank(index)));
    for &index in &old[..kept] {
        gate.set_hold(index, Hold::Partition { kept });
    }
}

/// `rollout-node-selector`: nodes that do not match stay on the old revision.
fn canary<'s>(input: &GateInput<'_, 's>, gate: &mut Gate<'s>) {
    let Some(canary) = &input.controls.canary else {
        return;
    };
    // A selector that never parsed holds every node as an invalid control (a blocker).
    let Some(selector) = &canary.selector else {
        gate.hold_all(input.states, Hold::InvalidControl);
        return;
    };
    for (index, state) in input.states.iter().enumerate() {
        let matches = state.view.is_some_and(|view| selector.matches(&view.labels));
        if !matches {
            gate.set_hold(index, Hold::Canary);
        }
    }
}

/// `topology-key`: only the first domain (in rollout order) with work left rolls; the others wait.
fn domain_by_domain<'s>(
    input: &GateInput<'_, 's>,
    domains: &[Option<&'s str>],
    per_domain: Option<super::controls::Amount>,
    gate: &mut Gate<'s>,
) {
    let states = input.states;
    let mut order: Vec<usize> = (0..states.len()).collect();
    order.sort_by_key(|&index| gate.rank(index));
    let current = order
        .iter()
        .copied()
        .find(|&index| gate.hold(index).is_none() && needs_work(&states[index]))
        .map(|index| domains[index]);
    let Some(current) = current else {
        return;
    };
    let name = current.unwrap_or(UNLABELLED_DOMAIN);
    gate.current_domain = Some(name);
    let mut desired = 0;
    let mut unavailable = 0;
    for (index, state) in states.iter().enumerate() {
        if domains[index] != current {
            gate.set_hold(index, Hold::OtherDomain { current: name });
            continue;
        }
        desired += usize::from(state.should_run());
        unavailable += i64::from(gate.charged(index) && is_unavailable(state));
    }
    if let Some(amount) = per_domain {
        let max = amount.of_rounded_up(desired).max(1);
        gate.domain_room = Some((max as i64 - unavailable, name, max));
    }
}

/// `wave-interval`: a new wave starts once the previous one is available and has soaked.
fn waves<'s>(input: &GateInput<'_, 's>, interval: Duration, gate: &mut Gate<'s>) {
    // A surging node counts as available (its old pod serves) but its wave is not done until the
    // new pod is available.
    let in_flight = input.states.iter().enumerate().any(|(index, state)| {
        gate.hold(index).is_none()
            && gate.charged(index)
            && state.should_run()
            && (is_unavailable(state) || live_pods(state).any(|pod| pod.updated && !pod.available))
    });
    if in_flight {
        gate.wave_hold = Some(Hold::WaveInFlight);
        return;
    }
    let min_ready = TimeDelta::seconds(i64::from(input.min_ready_seconds));
    let last_available = input
        .states
        .iter()
        .flat_map(|state| live_pods(state))
        .filter(|pod| pod.updated && pod.available)
        .filter_map(|pod| pod.pod.ready.and_then(|ready| ready.last_transition_time))
        .max()
        .map(|since| since + min_ready);
    let Some(last_available) = last_available else {
        return;
    };
    // Condition times are whole seconds (metav1.Time): the pod may have turned Ready up to a
    // second after its recorded time, so the soak adds that second to last at least `interval`.
    let soak = TimeDelta::from_std(interval).unwrap_or(TimeDelta::MAX);
    let Some(soaked_at) = last_available
        .checked_add_signed(soak)
        .and_then(|at| at.checked_add_signed(TimeDelta::seconds(1)))
    else {
        // Beyond the calendar: the next wave never starts.
        gate.wave_hold = Some(Hold::Soaking { remaining: interval });
        return;
    };
    if soaked_at > input.now {
        let remaining = (soaked_at - input.now).to_std().unwrap_or_default();
        gate.wave_hold = Some(Hold::Soaking { remaining });
        requeue(gate, remaining);
    }
}
