//! The pure planner: one DaemonSet sync as upstream's controller would run it (no I/O, no clock).
//!
//! Upstream: daemon_controller.go syncDaemonSet and updateDaemonSet. Order: validity checks →
//! history → manage → rolling update (only when manage wrote nothing) → history cleanup → status.
//! The planner never fails: invalid input becomes `Plan::problems` and the sync does nothing unsafe.

pub mod availability;
pub mod eligibility;
pub mod intstr;
pub mod manage;
pub mod plan;
pub mod pods;
pub mod rolling;
pub mod selector;
pub mod status;
pub mod template;
pub mod tolerations;

use std::time::Duration;

use crate::history::patch::template_patch;
use crate::history::revisions::{self, CurrentRevision};
use crate::snapshot::{DaemonSetView, FailedPodBackoff, Snapshot, Timestamp, UpdateStrategy};
use eligibility::{Eligibility, EligibilityRules};
use manage::{Note, Writes};
pub use plan::{NodeAction, NodeNote, OwnershipChanges, Plan, PlannedEvent, Reason, StatusUpdate, Step};
use pods::NodeState;
use selector::Selector;
use template::TemplateFields;

/// What every step of one sync shares.
pub struct Context<'s> {
    pub daemon_set: &'s DaemonSetView,
    /// The current revision's hash.
    pub hash: String,
    /// The template-generation annotation as canonical decimal, when it parses as int64.
    pub template_generation: Option<String>,
    pub allows_surge: bool,
    pub backoff: &'s FailedPodBackoff,
    pub now: Timestamp,
}

fn empty_plan(daemon_set: &DaemonSetView) -> Plan<'_> {
    Plan {
        daemon_set,
        update_revision: String::new(),
        creates: Vec::new(),
        deletes: Vec::new(),
        step: Step::Idle,
        status: None,
        history: None,
        prune_revisions: Vec::new(),
        relabel_pods: Vec::new(),
        ownership: OwnershipChanges::default(),
        nodes: Vec::new(),
        problems: Vec::new(),
        events: Vec::new(),
        backoff_updates: Vec::new(),
        requeue_after: None,
    }
}

/// Plans one sync of `snapshot.daemon_set`.
pub fn plan(snapshot: &Snapshot) -> Plan<'_> {
    let daemon_set = &snapshot.daemon_set;
    let mut plan = empty_plan(daemon_set);
    // Upstream: syncDaemonSet returns before anything else for a DaemonSet being deleted.
    if daemon_set.deletion_timestamp.is_some() {
        plan.problems
            .push("the DaemonSet is being deleted: its pods are left to the garbage collector".into());
        return plan;
    }
    let selector = match daemon_set.selector.as_ref().map(Selector::compile) {
        None => {
            plan.problems
                .push("spec.selector is missing: refusing to manage pods".into());
            return plan;
        }
        Some(Err(error)) => {
            plan.problems.push(format!("spec.selector is invalid: {error}"));
            return plan;
        }
        Some(Ok(selector)) => selector,
    };
    if selector.is_empty() {
        let message = "This daemon set is selecting all pods. A non-empty selector is required.";
        plan.events.push(PlannedEvent {
            warning: true,
            reason: "SelectingAll",
            message: message.into(),
        });
        plan.problems.push(message.into());
        return plan;
    }
    let template = match TemplateFields::read(&daemon_set.template) {
        Ok(template) => template,
        Err(error) => {
            plan.problems.push(format!("invalid pod template: {error}"));
            return plan;
        }
    };
    // API validation forbids this; planning anyway would create pods the DaemonSet never claims.
    if !selector.matches(&template.labels) {
        plan.problems
            .push("spec.selector does not match spec.template.metadata.labels: refusing to create pods".into());
        return plan;
    }

    let claimed_revisions = pods::claim_revisions(daemon_set, &selector, &snapshot.revisions);
    plan.ownership.adopt_revisions = claimed_revisions.adopted;
    plan.ownership.release_revisions = claimed_revisions.released;
    let patch = template_patch(&daemon_set.template);
    let history = revisions::construct(daemon_set, &claimed_revisions.revisions, &snapshot.revisions, &patch);
    plan.update_revision = history.update_hash.clone();
    if let CurrentRevision::Collision {
        name,
        next_collision_count,
    } = &history.current
    {
        plan.problems.push(format!(
            "found a hash collision for revision {name}: bumping collisionCount to {next_collision_count}"
        ));
        let mut status = daemon_set.status;
        status.collision_count = Some(*next_collision_count);
        plan.status = Some(StatusUpdate { status, changed: true });
        plan.history = Some(history);
        return plan;
    }

    let claimed_pods = pods::claim_pods(daemon_set, &selector, &snapshot.pods);
    plan.ownership.adopt_pods = claimed_pods.adopted;
    plan.ownership.release_pods = claimed_pods.released;
    if !history.duplicates.is_empty() {
        plan.relabel_pods = claimed_pods
            .pods
            .iter()
            .copied()
            .filter(|pod| pod.revision_hash().unwrap_or_default() != history.update_hash)
            .collect();
    }
    let rules = EligibilityRules::compile(&template);
    for error in rules.affinity_errors() {
        plan.problems
            .push(format!("required node affinity term ignored: {error}"));
    }
    let context = Context {
        daemon_set,
        hash: history.update_hash.clone(),
        template_generation: daemon_set.template_generation().map(|g| g.to_string()),
        allows_surge: intstr::allows_surge(&daemon_set.update_strategy),
        backoff: &snapshot.failed_pod_backoff,
        now: snapshot.now,
    };
    let states = pods::node_states(&context, &snapshot.nodes, &claimed_pods.pods, &rules);
    let mut notes: Vec<Note<'_>> = vec![None; states.len()];

    let observed_generation = if snapshot.expectations_satisfied {
        let rolling_ok = sync_pods(snapshot, &context, &states, &mut notes, &mut plan);
        // Live hashes only matter when there are more old revisions than the limit keeps.
        if rolling_ok && history.old.len() > daemon_set.revision_history_limit.max(0) as usize {
            let live = pods::live_hashes(&claimed_pods.pods);
            plan.prune_revisions = revisions::prune(&history.old, daemon_set.revision_history_limit, &live);
        }
        daemon_set.generation
    } else {
        plan.problems
            .push("waiting to observe this controller's earlier creates and deletes: status only".into());
        daemon_set.status.observed_generation
    };
    plan.history = Some(history);

    let counts = status::count(&states);
    let mut status = daemon_set.status;
    status.counts = counts;
    status.observed_generation = observed_generation;
    let stored = &daemon_set.status;
    let changed = !(stored.counts == counts && stored.observed_generation >= daemon_set.generation);
    plan.status = Some(StatusUpdate { status, changed });
    // Upstream: updateDaemonSetStatus requeues after minReadySeconds while pods are ready but not available.
    if daemon_set.min_ready_seconds > 0 && counts.number_ready != counts.number_available {
        let wait = Duration::from_secs(daemon_set.min_ready_seconds.unsigned_abs().into());
        plan.requeue_after = Some(plan.requeue_after.map_or(wait, |r| r.min(wait)));
    }
    plan.nodes = explain(&context, &states, notes);
    plan
}

/// Status counters only, for a known update hash: the per-node eligibility and status pass that
/// upstream's `BenchmarkUpdateDaemonSetStatus` measures (daemon_controller.go updateDaemonSetStatus).
/// None when the spec is invalid (the full `plan` explains why).
pub fn status_pass(snapshot: &Snapshot, hash: &str) -> Option<crate::snapshot::StatusCounts> {
    let daemon_set = &snapshot.daemon_set;
    let selector = Selector::compile(daemon_set.selector.as_ref()?)
        .ok()
        .filter(|s| !s.is_empty())?;
    let template = TemplateFields::read(&daemon_set.template).ok()?;
    let rules = EligibilityRules::compile(&template);
    let claimed = pods::claim_pods(daemon_set, &selector, &snapshot.pods);
    let context = Context {
        daemon_set,
        hash: hash.to_string(),
        template_generation: daemon_set.template_generation().map(|g| g.to_string()),
        allows_surge: false,
        backoff: &snapshot.failed_pod_backoff,
        now: snapshot.now,
    };
    let states = pods::node_states(&context, &snapshot.nodes, &claimed.pods, &rules);
    Some(status::count(&states))
}

/// Runs manage, then the rolling update when manage has nothing to write; fills creates/deletes.
/// Returns false when the rolling update failed (upstream then skips the history cleanup).
fn sync_pods<'s>(
    snapshot: &'s Snapshot,
    context: &Context<'s>,
    states: &[NodeState<'s>],
    notes: &mut [Note<'s>],
    plan: &mut Plan<'s>,
) -> bool {
    let managed = manage::manage(context, states, notes);
    plan.events.extend(managed.events);
    plan.backoff_updates = managed.backoff_updates;
    plan.requeue_after = managed.backoff_requeue;
    let mut writes = managed.writes;
    let mut rolling_ok = true;
    if !writes.is_empty() {
        plan.step = Step::Manage;
    } else if let UpdateStrategy::RollingUpdate(_) = &snapshot.daemon_set.update_strategy {
        let desired = states.iter().filter(|state| state.should_run()).count() as i64;
        let rolled = intstr::rolling_budgets(&snapshot.daemon_set.update_strategy, desired)
            .map_err(|error| format!("couldn't get unavailable numbers: invalid {error}"))
            .and_then(|(max_surge, max_unavailable)| {
                rolling::rolling_update(states, max_surge, max_unavailable, desired, notes)
            });
        match rolled {
            Ok(rolling_writes) => {
                if !rolling_writes.is_empty() {
                    plan.step = Step::RollingUpdate;
                }
                writes = rolling_writes;
            }
            Err(error) => {
                plan.problems.push(format!("rolling update: {error}"));
                rolling_ok = false;
            }
        }
    }
    apply_burst_cap(snapshot.burst_replicas, states, writes, notes, plan);
    rolling_ok
}

/// Sorts creates by node and deletes by pod name and keeps the first `burst` of each.
/// Upstream: daemon_controller.go syncNodes (burstReplicas).
fn apply_burst_cap<'s>(
    burst: usize,
    states: &[NodeState<'s>],
    writes: Writes<'s>,
    notes: &mut [Note<'s>],
    plan: &mut Plan<'s>,
) {
    let mut creates = writes.creates;
    creates.sort_by(|a, b| states[*a].node.cmp(states[*b].node));
    for index in creates.iter().skip(burst) {
        notes[*index] = Some((NodeAction::Wait, Reason::BurstCapped(burst)));
    }
    creates.truncate(burst);
    let mut deletes = writes.deletes;
    deletes.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    for (index, _) in deletes.iter().skip(burst) {
        notes[*index] = Some((NodeAction::Wait, Reason::BurstCapped(burst)));
    }
    deletes.truncate(burst);
    plan.creates = creates.into_iter().map(|index| states[index].node).collect();
    plan.deletes = deletes.into_iter().map(|(_, pod)| pod).collect();
}

/// One note per node the DaemonSet cares about, sorted by node name.
fn explain<'s>(context: &Context<'s>, states: &[NodeState<'s>], notes: Vec<Note<'s>>) -> Vec<NodeNote<'s>> {
    let mut explained: Vec<NodeNote<'s>> = states
        .iter()
        .zip(notes)
        .map(|(state, note)| {
            let (action, reason) = note.unwrap_or_else(|| default_note(context, state));
            NodeNote {
                node: state.node,
                action,
                reason,
            }
        })
        .collect();
    if !explained.is_sorted_by(|a, b| a.node <= b.node) {
        explained.sort_by(|a, b| a.node.cmp(b.node));
    }
    explained
}

/// The note for a node no step acted on.
fn default_note<'s>(context: &Context<'s>, state: &NodeState<'s>) -> (NodeAction, Reason<'s>) {
    match state.eligibility {
        Some(Eligibility::UntoleratedNoSchedule(taint)) => (NodeAction::Keep, Reason::UntoleratedNoSchedule(taint)),
        _ => {
            let Some(pod) = state.pods.iter().find(|pod| !pod.is_terminating()) else {
                return (NodeAction::Keep, Reason::NotManaged("nothing to do".into()));
            };
            match (pod.updated, pod.available, &context.daemon_set.update_strategy) {
                (true, true, _) => (NodeAction::Keep, Reason::UpToDate),
                (true, false, _) => (NodeAction::Keep, Reason::UpToDateNotAvailable(pod.pod)),
                (false, _, UpdateStrategy::RollingUpdate(_)) => (NodeAction::Wait, Reason::ManageFirst),
                (false, _, _) => (NodeAction::Keep, Reason::OldPodKeptOnDelete(pod.pod)),
            }
        }
    }
}
