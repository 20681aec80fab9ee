//! Coexist mode: beside kube-controller-manager's DaemonSet controller, on OnDelete DaemonSets
//! opted in with `daemonroll.io/rollout: managed`, daemonroll only decides which old pods to
//! delete and when; kube-controller-manager creates their replacements (pure).
//!
//! Assumptions: kube-controller-manager owns pods' creation, ControllerRevisions, status counters,
//! observedGeneration and collisionCount (README "On a managed cluster").
//! Invariants:
//! - The plan never creates a pod, writes a revision or a status counter; its conditions carry
//!   the `daemonroll.io/` prefix.
//! - No delete on a NotReady node (the pod would stay Terminating and never be recreated), nor on
//!   a node that should not run the pod (kube-controller-manager removes those itself).
//! - Budgets are upstream's, from the `rollingUpdate` the spec keeps under OnDelete; surge cannot
//!   be honoured (the built-in controller keeps the oldest pod on a node): one at a time instead.

use serde_json::Value;

use super::decisions::NodeNotes;
use super::intstr::{Budgets, scaled_value_round_up};
use super::pods::{self, NodeState};
use super::rollout::hold::Hold;
use super::rollout::{self, conditions, controls};
use super::{Context, Plan, Step, check_spec, claim, eligibility::EligibilityRules, revisions, rolling, status};
use crate::snapshot::{
    ConditionView, DaemonSetView, IntOrString, REVISION_HASH_LABEL, RevisionView, Snapshot, UpdateStrategy,
};

/// The opt-in annotation and its one accepted value.
pub const OPT_IN: &str = "daemonroll.io/rollout";
pub const MANAGED: &str = "managed";
/// daemonroll's condition types in coexist mode (kube-controller-manager owns the rest of status).
pub const CONDITION_PREFIX: &str = "daemonroll.io/";
/// Annotation prefixes of other OnDelete orchestrators: daemonroll refuses to share a DaemonSet.
const FOREIGN_ORCHESTRATORS: [&str; 1] = ["rollouts.kruise.io/"];

/// Whether the DaemonSet asks for coexist mode.
pub fn opted_in(daemon_set: &DaemonSetView) -> bool {
    daemon_set
        .annotations
        .get(OPT_IN)
        .is_some_and(|value| value.trim() == MANAGED)
}

/// daemonroll's stored conditions under their unprefixed types.
fn own_conditions(daemon_set: &DaemonSetView) -> Vec<ConditionView> {
    daemon_set
        .conditions
        .iter()
        .filter_map(|condition| {
            let type_ = condition.type_.strip_prefix(CONDITION_PREFIX)?;
            Some(ConditionView {
                type_: type_.to_string(),
                ..condition.clone()
            })
        })
        .collect()
}

/// Plans one coexist sync of `snapshot.daemon_set`.
pub fn plan(snapshot: &Snapshot) -> Plan<'_> {
    let daemon_set = &snapshot.daemon_set;
    let mut plan = Plan::new(daemon_set);
    plan.coexist = true;
    if !opted_in(daemon_set) || daemon_set.deletion_timestamp.is_some() {
        // Leaving coexist mode: daemonroll's conditions go (README "On a managed cluster").
        plan.rollout.clear_conditions = daemon_set
            .conditions
            .iter()
            .any(|condition| condition.type_.starts_with(CONDITION_PREFIX));
        if plan.rollout.clear_conditions {
            plan.events.push(super::PlannedEvent {
                warning: false,
                reason: "CoexistLeft",
                message: format!(
                    "{OPT_IN} removed (or the DaemonSet is being deleted): daemonroll stops deleting pods                      and removes its conditions"
                ),
            });
        }
        return plan;
    }
    if let Err(problem) = refusal(daemon_set) {
        misconfigured(&mut plan, problem, snapshot.now);
        return plan;
    }
    let Ok(spec) = check_spec(daemon_set) else {
        // kube-controller-manager reports invalid specs itself; nothing is safe to delete.
        plan.problems
            .push("the DaemonSet's spec is invalid: nothing is deleted".into());
        return plan;
    };
    if daemon_set.status.observed_generation < daemon_set.generation {
        plan.problems.push(
            "kube-controller-manager has not observed the current generation yet: waiting for its revision".into(),
        );
        return plan;
    }
    let claimed = claim::claim_revisions(daemon_set, &spec.selector, &snapshot.revisions);
    let Some(target) = target_revision(daemon_set, &claimed.revisions) else {
        plan.problems
            .push("no ControllerRevision of this DaemonSet yet: waiting for kube-controller-manager".into());
        return plan;
    };
    let hash = target_hash(daemon_set, target);
    plan.update_revision.clone_from(&hash);
    let rules = EligibilityRules::compile(&spec.template);
    let context = Context::new(snapshot, hash.clone(), false);
    let states = pods::node_map(&context, &spec.selector, &snapshot.nodes, &snapshot.pods, &rules).states;
    let desired = states.iter().filter(|state| state.should_run()).count() as i64;
    let (budgets, budget_notice) = match budgets(daemon_set, desired) {
        Ok(found) => found,
        Err(problem) => {
            misconfigured(&mut plan, problem, snapshot.now);
            return plan;
        }
    };
    let parsed = controls::parse(&daemon_set.annotations, snapshot.last_good_controls.as_ref());
    let stored = own_conditions(daemon_set);
    let gate = rollout::gate_for(
        daemon_set,
        &stored,
        &parsed.controls,
        &states,
        unsafe_nodes(&states),
        snapshot.now,
    );

    let mut notes = NodeNotes::new(&context, &states);
    if snapshot.expectations_satisfied {
        let decided = rolling::rolling_update(budgets, &states, &gate).unwrap_or_default();
        plan.deletes = decided.writes.deletes.iter().map(|(_, pod)| *pod).collect();
        plan.deletes.sort_by(|a, b| a.name.cmp(&b.name));
        plan.deletes.truncate(snapshot.burst_replicas);
        notes.record(decided.notes);
        if !plan.deletes.is_empty() {
            plan.step = Step::RollingUpdate;
        }
    }
    let counts = status::count(&states);
    let replaced = snapshot
        .replaced_by_daemonroll
        .as_ref()
        .filter(|(rolled_to, _)| *rolled_to == hash)
        .map(|(_, nodes)| nodes);
    let holding = parsed.controls.paused || parsed.controls.partition.is_some() || parsed.controls.canary.is_some();
    let unplanned = holding.then(|| unplanned_updates(&states, replaced)).flatten();
    let awaiting = awaiting_recreate(snapshot, &states);
    let overdue = overdue_recreates(snapshot, &awaiting);
    let notice = [budget_notice, unplanned, overdue]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
    let notice = (!notice.is_empty()).then(|| notice.join("; "));
    let old_revisions: Vec<&RevisionView> = claimed
        .revisions
        .iter()
        .copied()
        .filter(|revision| revision.revision < target.revision)
        .collect();
    let (mut report, events, requeue) = rollout::report(rollout::ReportInput {
        daemon_set,
        stored_conditions: &stored,
        notice,
        update_hash: &hash,
        revision_number: Some(target.revision),
        parsed,
        gate: &gate,
        states: &states,
        counts,
        old_revisions: &old_revisions,
        max_unavailable: budgets.max_unavailable,
        surge_guarded: false,
        now: snapshot.now,
    });
    // No counter write for a message to ride along with: a changed message is written too (the
    // controller spaces status writes, so at most one per status interval).
    if let Some(conditions) = report.conditions.as_ref() {
        report.write_conditions = conditions.iter().any(|condition| {
            let stored = conditions::stored(&stored, condition.type_);
            condition.differs_from(stored) || stored.is_some_and(|stored| stored.message != condition.message)
        });
    }
    if !snapshot.expectations_satisfied {
        report.rollback = None;
    }
    plan.events.extend(events);
    if let Some(after) = requeue {
        plan.requeue_within(after);
    }
    // Sync again when the next wait runs out, so that the report does not wait for an event.
    let wait = chrono::TimeDelta::from_std(snapshot.recreate_wait).unwrap_or(chrono::TimeDelta::MAX);
    for (_, since) in &awaiting {
        if let Some(remaining) = since
            .checked_add_signed(wait)
            .and_then(|due| (due - snapshot.now).to_std().ok())
        {
            plan.requeue_within(remaining);
        }
    }
    report.awaiting_recreate = awaiting;
    plan.rollout = report;
    plan.nodes = notes.into_nodes();
    plan
}

/// The nodes daemonroll emptied that have no live pod of the target revision yet.
fn awaiting_recreate(snapshot: &Snapshot, states: &[NodeState<'_>]) -> Vec<(String, crate::snapshot::Timestamp)> {
    snapshot
        .awaiting_recreate
        .iter()
        .filter(|(node, _)| {
            let state = states.iter().find(|state| state.node == node.as_str());
            // Until a pod of the target revision shows up (the delete may not be observed yet).
            state.is_some_and(|state| {
                state.should_run() && !state.pods.iter().any(|pod| !pod.is_terminating() && pod.updated)
            })
        })
        .map(|(node, since)| (node.clone(), *since))
        .collect()
}

/// Nodes waiting for their new pod longer than `Snapshot::recreate_wait`, in words (WaitingForRecreate):
/// a kube-controller-manager outage must not look like progress, nor hang silently.
fn overdue_recreates(snapshot: &Snapshot, awaiting: &[(String, crate::snapshot::Timestamp)]) -> Option<String> {
    let wait = chrono::TimeDelta::from_std(snapshot.recreate_wait).unwrap_or(chrono::TimeDelta::MAX);
    let overdue: Vec<&str> = awaiting
        .iter()
        .filter(|(_, since)| since.checked_add_signed(wait).is_some_and(|due| due <= snapshot.now))
        .map(|(node, _)| node.as_str())
        .collect();
    if overdue.is_empty() {
        return None;
    }
    let shown: Vec<&str> = overdue.iter().copied().take(5).collect();
    Some(format!(
        "WaitingForRecreate: kube-controller-manager has not recreated the pod of {} node(s) within {}s          of daemonroll's delete: {}",
        overdue.len(),
        snapshot.recreate_wait.as_secs(),
        shown.join(", ")
    ))
}

/// Nothing is deleted; the Progressing condition (False, CoexistMisconfigured) and, on a change,
/// a Warning say what to change.
fn misconfigured(plan: &mut Plan<'_>, problem: String, now: crate::snapshot::Timestamp) {
    let stored = own_conditions(plan.daemon_set);
    let stored_progressing = conditions::stored(&stored, conditions::PROGRESSING);
    let changed = stored_progressing.is_none_or(|c| c.reason != MISCONFIGURED || c.message != problem);
    if changed {
        plan.warn(MISCONFIGURED, problem.clone());
    }
    let since = |type_: &str, status: &str| {
        conditions::stored(&stored, type_)
            .filter(|c| c.status == status)
            .and_then(|c| c.last_transition_time)
            .unwrap_or(now)
    };
    let progressing = conditions::Condition {
        type_: conditions::PROGRESSING,
        status: "False",
        reason: MISCONFIGURED,
        message: problem.clone(),
        last_transition_time: since(conditions::PROGRESSING, "False"),
    };
    let available = conditions::Condition {
        type_: conditions::AVAILABLE,
        status: "Unknown",
        reason: MISCONFIGURED,
        message: "daemonroll does not manage this DaemonSet's rollout".into(),
        last_transition_time: since(conditions::AVAILABLE, "Unknown"),
    };
    plan.rollout.write_conditions = changed;
    plan.rollout.conditions = Some([progressing, available]);
    plan.rollout.misconfigured = Some(problem);
}

const MISCONFIGURED: &str = "CoexistMisconfigured";

/// Why daemonroll must not act on an opted-in DaemonSet, in words that say what to change.
fn refusal(daemon_set: &DaemonSetView) -> Result<(), String> {
    if !matches!(daemon_set.update_strategy, UpdateStrategy::OnDelete) {
        return Err(format!(
            "{OPT_IN}: {MANAGED} needs spec.updateStrategy.type OnDelete; with RollingUpdate \
             kube-controller-manager rolls the DaemonSet itself: set the type to OnDelete (keeping \
             rollingUpdate for the budget) or remove the annotation"
        ));
    }
    if let Some((key, _)) = daemon_set
        .annotations
        .iter()
        .find(|(key, _)| FOREIGN_ORCHESTRATORS.iter().any(|prefix| key.starts_with(prefix)))
    {
        return Err(format!(
            "annotation {key} shows another orchestrator manages this DaemonSet's rollout: \
             daemonroll does nothing until one of the two lets go"
        ));
    }
    Ok(())
}

/// The owned revision with the highest number: the template kube-controller-manager creates from.
/// Owned by controllerRef uid only: `claimed` also holds orphans that match the selector, which
/// kube-controller-manager has not adopted (and may never build pods from).
fn target_revision<'s>(daemon_set: &DaemonSetView, claimed: &[&'s RevisionView]) -> Option<&'s RevisionView> {
    claimed
        .iter()
        .copied()
        .filter(|revision| revision.deletion_timestamp.is_none())
        .filter(|revision| {
            revision
                .controller
                .as_ref()
                .is_some_and(|controller| controller.uid == daemon_set.uid)
        })
        .max_by(|a, b| a.revision.cmp(&b.revision).then_with(|| a.name.cmp(&b.name)))
}

/// The hash pods of `revision` carry: its hash label, else the suffix of its name
/// `<daemonset>-<hash>` (design rule 3; never recomputed), else the whole name.
fn target_hash(daemon_set: &DaemonSetView, revision: &RevisionView) -> String {
    if revision.labels.get(REVISION_HASH_LABEL).is_some() {
        return revisions::hash_of(revision).to_string();
    }
    revision
        .name
        .strip_prefix(daemon_set.name.as_str())
        .and_then(|rest| rest.strip_prefix('-'))
        .filter(|suffix| !suffix.is_empty())
        .unwrap_or(revision.name.as_str())
        .to_string()
}

/// maxUnavailable from the `rollingUpdate` kept under OnDelete (which the API server does not
/// validate), upstream's resolution; surge falls back to one at a time. The notice says what
/// daemonroll assumed.
fn budgets(daemon_set: &DaemonSetView, desired: i64) -> Result<(Budgets, Option<String>), String> {
    let Some(kept) = daemon_set.on_delete_rolling_update.as_ref().filter(|v| !v.is_null()) else {
        let notice = format!("{NO_BUDGET}: maxUnavailable 1, upstream's default");
        return Ok((one_at_a_time(), Some(notice)));
    };
    let read = |key: &str| -> Result<Option<IntOrString>, String> {
        match kept.get(key).filter(|v| !v.is_null()) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(|n| Some(IntOrString::Int(n)))
                .ok_or_else(|| format!("spec.updateStrategy.rollingUpdate.{key} {n} is not an integer")),
            Some(Value::String(text)) => Ok(Some(IntOrString::String(text.clone()))),
            Some(other) => Err(format!(
                "spec.updateStrategy.rollingUpdate.{key} must be an integer or a percentage like \"10%\", found {other}"
            )),
        }
    };
    let resolve = |key: &str| -> Result<i64, String> {
        match read(key)? {
            None => Ok(0),
            // Upstream validation rejects negatives under RollingUpdate; nothing does under OnDelete.
            Some(value) if is_negative(&value) => Err(format!(
                "spec.updateStrategy.rollingUpdate.{key} {value} is negative: use 0 or more"
            )),
            Some(value) => scaled_value_round_up(&value, desired)
                .map_err(|error| format!("spec.updateStrategy.rollingUpdate.{key}: {error}")),
        }
    };
    let max_surge = resolve("maxSurge")?;
    let max_unavailable = match read("maxUnavailable")? {
        None => 1,
        Some(_) => resolve("maxUnavailable")?,
    };
    if max_surge > 0 {
        let notice = format!(
            "maxSurge {max_surge} {SURGE_FALLBACK} (kube-controller-manager keeps the oldest pod on a \
             node): one node at a time instead"
        );
        return Ok((one_at_a_time(), Some(notice)));
    }
    if max_unavailable <= 0 {
        return Ok((one_at_a_time(), None));
    }
    Ok((
        Budgets {
            max_surge: 0,
            max_unavailable,
        },
        None,
    ))
}

const NO_BUDGET: &str = "no rollingUpdate in the spec";
const SURGE_FALLBACK: &str = "cannot be honoured under OnDelete";
const UNPLANNED: &str = "unplanned updates (kube-controller-manager";

fn is_negative(value: &IntOrString) -> bool {
    match value {
        IntOrString::Int(n) => *n < 0,
        IntOrString::String(text) => text.trim_start().starts_with('-'),
    }
}

fn one_at_a_time() -> Budgets {
    Budgets {
        max_surge: 0,
        max_unavailable: 1,
    }
}

/// Coexist's own holds, before any control's: nodes where a deleted pod would never be
/// recreated, and nodes kube-controller-manager clears itself.
fn unsafe_nodes<'s>(states: &[NodeState<'s>]) -> Vec<(usize, Hold<'s>)> {
    states
        .iter()
        .enumerate()
        .filter_map(|(index, state)| {
            if state.view.is_none_or(|view| view.is_unsafe_to_empty()) {
                Some((index, Hold::NotReadyNode))
            } else if !state.should_run() {
                Some((index, Hold::NotEligible))
            } else {
                None
            }
        })
        .collect()
}

/// While pause, partition or a canary selector holds the rollout: nodes that run the new revision
/// though daemonroll did not empty them for it, so kube-controller-manager created it there (a new
/// node, a replaced failed or evicted pod). Said in the condition so that no one is surprised.
/// `replaced`: nodes daemonroll itself emptied for this revision (unknown after a restart, when
/// every updated node is counted).
fn unplanned_updates(
    states: &[NodeState<'_>],
    replaced: Option<&std::collections::BTreeSet<String>>,
) -> Option<String> {
    let nodes: Vec<&str> = states
        .iter()
        .filter(|state| state.pods.iter().any(|pod| !pod.is_terminating() && pod.updated))
        .filter(|state| !replaced.is_some_and(|nodes| nodes.contains(state.node)))
        .map(|state| state.node)
        .collect();
    if nodes.is_empty() {
        return None;
    }
    let shown: Vec<&str> = nodes.iter().copied().take(5).collect();
    let more = nodes.len().saturating_sub(shown.len());
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Some(format!(
        "{} {UNPLANNED} created the new revision on held nodes): {}{tail}",
        nodes.len(),
        shown.join(", ")
    ))
}
