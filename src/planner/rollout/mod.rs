//! Rollout controls beyond upstream: the gate they put on the rolling update, and the report
//! (conditions, held nodes, rollback) they leave in the Plan (pure).
//!
//! Invariants:
//! - With no control set the gate holds nothing and the budgets are upstream's: the plan is
//!   upstream's (ARCHITECTURE.md, "Rollout controls").
//! - A control only ever removes writes of the rolling-update step, never adds a delete the
//!   budgets would refuse; manage (missing pods, failed pods) is never held.

pub mod conditions;
pub mod controls;
pub mod gate;
pub mod hold;
pub mod rollback;

use std::collections::BTreeMap;

pub use conditions::{AVAILABLE, Condition, PROGRESSING};
pub use controls::{ControlProblem, RolloutControls};
pub use hold::Hold;
pub use rollback::Rollback;

/// What the rollout controls did in one sync, for the executor, status, metrics and `plan`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RolloutReport<'s> {
    /// The controls in force; the controller keeps them as the last good setting.
    pub controls: RolloutControls,
    /// Annotations whose value does not parse.
    pub problems: Vec<ControlProblem>,
    /// The annotation values in force that parsed; the controller passes them to the next sync.
    pub good_annotations: crate::snapshot::Labels,
    /// The Progressing and Available conditions this sync computes (None when the sync writes no
    /// status).
    pub conditions: Option<[Condition; 2]>,
    /// Nodes held by each kind of hold (`Hold::kind`).
    pub held: BTreeMap<&'static str, usize>,
    /// The progress deadline passed for an updated pod: the rollout is failed.
    pub failed: bool,
    /// The template to restore (`on-failure: rollback`).
    pub rollback: Option<Rollback<'s>>,
    /// Hash to record as the last complete revision (only with `on-failure: rollback`).
    pub mark_complete: Option<String>,
    /// Coexist mode: the conditions changed status or reason and are written (there is no
    /// status write of counters for them to ride along with).
    pub write_conditions: bool,
    /// Coexist mode: the DaemonSet left coexist mode and daemonroll's conditions are removed.
    pub clear_conditions: bool,
    /// Coexist mode: why daemonroll does nothing on this opted-in DaemonSet.
    pub misconfigured: Option<String>,
    /// Coexist mode: the nodes of `Snapshot::awaiting_recreate` still without a pod.
    pub awaiting_recreate: Vec<(String, Timestamp)>,
}

use std::time::Duration;

use crate::planner::intstr::{self, BudgetError, Budgets, rolling_budgets};
use crate::planner::plan::PlannedEvent;
use crate::planner::pods::NodeState;
use crate::snapshot::{ConditionView, DaemonSetView, RevisionView, StatusCounts, Timestamp, UpdateStrategy};
use conditions::RolloutFacts;
use controls::{OnFailure, ParsedControls};
use gate::Gate;

/// Upstream's surge rule, widened by `max-surge` and narrowed by the hostPort guard.
/// `max-surge`, when set, replaces the spec's maxSurge here too, so that manage and the rolling
/// update agree on whether a node may hold an old and a new pod.
pub fn allows_surge(strategy: &UpdateStrategy, controls: &RolloutControls, host_ports: bool) -> bool {
    let surges = match controls.max_surge {
        Some(amount) => amount.of_rounded_up(1) > 0,
        None => intstr::allows_surge(strategy),
    };
    surges && !host_ports
}

/// The budgets in force, and whether the hostPort guard turned surge into unavailability.
/// Upstream: update.go updatedDesiredNodeCounts, then `max-surge` replaces maxSurge.
pub fn budgets<'s>(
    strategy: &'s UpdateStrategy,
    controls: &RolloutControls,
    host_ports: bool,
    desired: i64,
) -> Result<(Budgets, bool), BudgetError<'s>> {
    let mut budgets = rolling_budgets(strategy, desired)?;
    if let Some(amount) = controls.max_surge {
        budgets.max_surge = amount.of_rounded_up(desired.max(0) as usize) as i64;
        // Upstream's rule for both budgets zero still holds once the annotation replaced maxSurge
        // (`max-surge: "0"` over a spec with maxUnavailable 0 must not stall the rollout).
        if desired > 0 && budgets.max_surge == 0 && budgets.max_unavailable == 0 {
            budgets.max_unavailable = 1;
        }
    }
    if host_ports && budgets.max_surge > 0 {
        // The surge pod could never start beside the old one: the same number of nodes roll
        // without surging instead.
        let guarded = Budgets {
            max_surge: 0,
            max_unavailable: budgets.max_unavailable.max(budgets.max_surge),
        };
        return Ok((guarded, true));
    }
    Ok((budgets, false))
}

/// The gate for this sync's rolling update.
/// `stored_conditions` are daemonroll's conditions as stored, under their unprefixed types.
pub fn gate_for<'s>(
    daemon_set: &DaemonSetView,
    stored_conditions: &[ConditionView],
    controls: &RolloutControls,
    states: &[NodeState<'s>],
    first_holds: Vec<(usize, Hold<'s>)>,
    now: Timestamp,
) -> Gate<'s> {
    let completed_before = conditions::stored(stored_conditions, PROGRESSING)
        .is_some_and(|condition| condition.reason == "RolloutComplete");
    gate::compute(&gate::GateInput {
        controls,
        states,
        now,
        min_ready_seconds: daemon_set.min_ready_seconds,
        completed_before,
        first_holds,
    })
}

/// Everything `report` reads.
pub struct ReportInput<'a, 's> {
    pub daemon_set: &'s DaemonSetView,
    /// daemonroll's conditions as stored, under their unprefixed types.
    pub stored_conditions: &'a [ConditionView],
    /// Said first in the Progressing message (the hostPort guard, coexist mode's fallbacks).
    pub notice: Option<String>,
    pub update_hash: &'a str,
    pub revision_number: Option<i64>,
    pub parsed: ParsedControls,
    pub gate: &'a Gate<'s>,
    pub states: &'a [NodeState<'s>],
    pub counts: StatusCounts,
    /// Old revisions, ascending by number.
    pub old_revisions: &'a [&'s RevisionView],
    pub max_unavailable: i64,
    pub surge_guarded: bool,
    pub now: Timestamp,
}

/// The report, the Events of this sync's transitions, and when to sync again.
pub fn report<'s>(input: ReportInput<'_, 's>) -> (RolloutReport<'s>, Vec<PlannedEvent>, Option<Duration>) {
    let daemon_set = input.daemon_set;
    let gate = input.gate;
    let (held, blockers, old_nodes) = held_nodes(gate, input.states);
    let rolled_back = rollback::is_rolled_back(daemon_set, input.update_hash).then(|| {
        let why = daemon_set
            .annotations
            .get(controls::ROLLBACK_REASON)
            .unwrap_or("the rollout failed");
        format!("rolled back: {why}")
    });
    let failure = gate.failure.map(|failure| {
        format!(
            "updated pod {} on {} was not available within the progress deadline",
            failure.pod, failure.node
        )
    });
    let mut rollback = None;
    let mut rollback_error = None;
    if let Some(failure_text) = &failure
        && input.parsed.controls.on_failure == OnFailure::Rollback
        && rolled_back.is_none()
    {
        match rollback::target(daemon_set, input.old_revisions) {
            Ok(to) => {
                rollback = Some(Rollback {
                    to,
                    to_hash: revisions_hash(to),
                    from_hash: input.update_hash.to_string(),
                    reason: format!(
                        "revision {} ({}) failed: {failure_text}; restored revision {}",
                        input.revision_number.map_or_else(|| "?".to_string(), |n| n.to_string()),
                        input.update_hash,
                        to.revision
                    ),
                })
            }
            Err(error) => rollback_error = Some(error),
        }
    }
    let problems: Vec<String> = input.parsed.problems.iter().map(ToString::to_string).collect();
    // The guard matters (and is said) only while old pods are left to replace.
    let surge_guarded = input.surge_guarded && old_nodes > 0;
    let notice = match (surge_guarded, &input.notice) {
        (true, Some(notice)) => Some(format!("{SURGE_GUARD}; {notice}")),
        (true, None) => Some(SURGE_GUARD.to_string()),
        (false, notice) => notice.clone(),
    };
    let revision = input
        .revision_number
        .map_or_else(|| input.update_hash.to_string(), |n| n.to_string());
    let facts = RolloutFacts {
        counts: input.counts,
        old_nodes,
        revision: &revision,
        held: &held,
        blockers: &blockers,
        current_domain: gate.current_domain,
        failure,
        rolled_back: rolled_back.clone(),
        rollback_error,
        problems: &problems,
        notice: notice.as_deref(),
        max_unavailable: input.max_unavailable,
    };
    let conditions = conditions::compute(&facts, input.stored_conditions, input.now);
    let mark_complete = (input.parsed.controls.on_failure == OnFailure::Rollback
        && facts.is_complete()
        && !input.update_hash.is_empty()
        && daemon_set.annotations.get(controls::LAST_COMPLETE_REVISION) != Some(input.update_hash))
    .then(|| input.update_hash.to_string());
    let events = transition_events(
        daemon_set,
        input.stored_conditions,
        &conditions,
        &problems,
        surge_guarded,
    );
    let report = RolloutReport {
        failed: gate.failure.is_some(),
        controls: input.parsed.controls,
        problems: input.parsed.problems,
        good_annotations: input.parsed.good,
        conditions: Some(conditions),
        held,
        rollback,
        mark_complete,
        write_conditions: false,
        clear_conditions: false,
        misconfigured: None,
        awaiting_recreate: Vec::new(),
    };
    (report, events, gate.requeue_after)
}

fn revisions_hash(revision: &RevisionView) -> &str {
    crate::planner::revisions::hash_of(revision)
}

/// Held nodes by kind, up to three blockers in words, and the number of nodes still on an old pod.
fn held_nodes(gate: &Gate<'_>, states: &[NodeState<'_>]) -> (BTreeMap<&'static str, usize>, Vec<String>, usize) {
    let mut held = BTreeMap::new();
    let mut blockers = Vec::new();
    let mut old_nodes = 0;
    for (index, state) in states.iter().enumerate() {
        if !state.pods.iter().any(|pod| !pod.is_terminating() && !pod.updated) {
            continue;
        }
        old_nodes += 1;
        let Some(hold) = gate.disruption_hold(index) else {
            continue;
        };
        *held.entry(hold.kind()).or_insert(0) += 1;
        if hold.is_blocker() && blockers.len() < 3 {
            blockers.push(format!("{}: {hold}", state.node));
        }
    }
    (held, blockers, old_nodes)
}

/// The DaemonSet carries a rollout control or coexist mode's opt-in (not merely the marks
/// daemonroll writes itself, such as `last-complete-revision`).
pub fn uses_controls(daemon_set: &DaemonSetView) -> bool {
    controls::USER_ANNOTATIONS
        .iter()
        .chain([&crate::planner::coexist::OPT_IN])
        .any(|annotation| daemon_set.annotations.contains_key(annotation))
}

/// The reason of the hostPort guard's Warning Event.
pub const SURGE_DISABLED: &str = "SurgeDisabled";

/// Said in the Progressing message and a Warning Event when the hostPort guard applies.
const SURGE_GUARD: &str = "surge disabled: the template uses hostPorts, so a surge pod could never \
     start beside the old one; pods are replaced without surging, as many at a time as maxSurge allowed";

/// Events for a Progressing transition (reason or status changed, or a new problem), only on
/// DaemonSets that use a control: without annotations daemonroll records upstream's Events only.
/// The hostPort guard's Warning is recorded while the stored condition does not say it yet.
/// `problems` are the texts the InvalidAnnotation message starts with; only a change in them is a
/// new problem (the rest of the message is progress, which changes every few syncs).
fn transition_events(
    daemon_set: &DaemonSetView,
    stored_conditions: &[ConditionView],
    conditions: &[Condition; 2],
    problems: &[String],
    surge_guarded: bool,
) -> Vec<PlannedEvent> {
    let progressing = &conditions[0];
    let stored = conditions::stored(stored_conditions, PROGRESSING);
    let mut events = Vec::new();
    if surge_guarded && stored.is_none_or(|stored| !stored.message.contains(SURGE_GUARD)) {
        events.push(PlannedEvent {
            warning: true,
            reason: SURGE_DISABLED,
            message: SURGE_GUARD.to_string(),
        });
    }
    // Problems come from daemonroll.io/ annotations, so they imply a control.
    if !uses_controls(daemon_set) {
        return events;
    }
    let problems_prefix = format!("{}; ", problems.join("; "));
    let changed = progressing.differs_from(stored)
        || (progressing.reason == "InvalidAnnotation"
            && stored.is_some_and(|stored| !stored.message.starts_with(&problems_prefix)));
    if changed {
        events.push(PlannedEvent {
            warning: progressing.is_warning(),
            reason: progressing.reason,
            message: progressing.message.clone(),
        });
    }
    events
}
