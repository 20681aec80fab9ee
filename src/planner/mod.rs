//! The pure planner: one DaemonSet sync as upstream's controller would run it (no I/O, no clock).
//!
//! Upstream: daemon_controller.go syncDaemonSet and updateDaemonSet. Order: validity checks →
//! history → manage → rolling update (only when manage wrote nothing) → history cleanup → status.
//! The planner never fails: invalid input becomes `Plan::problems` and the sync does nothing unsafe.

pub mod availability;
pub mod eligibility;
pub mod intstr;
pub mod manage;
pub mod new_pod;
pub mod plan;
pub mod pods;
pub mod revisions;
pub mod rolling;
pub mod selector;
pub mod status;
pub mod template;
pub mod tolerations;

use std::time::Duration;

use crate::history::patch::template_patch;
use crate::snapshot::{DaemonSetView, FailedPodBackoff, Snapshot, Timestamp, UpdateStrategy};
use eligibility::{Eligibility, EligibilityRules};
use manage::{Note, Writes};
pub use plan::{NodeAction, NodeNote, OwnershipChanges, Plan, PlannedEvent, Reason, StatusUpdate, Step};
use pods::NodeState;
use revisions::CurrentRevision;
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
    // Upstream: syncDaemonSet checks for the selector that selects everything first (event, nothing else),
    // then returns for a DaemonSet being deleted, before history, manage and status.
    if daemon_set
        .selector
        .as_ref()
        .is_some_and(|s| s.match_labels.is_empty() && s.match_expressions.is_empty())
    {
        let message = "This daemon set is selecting all pods. A non-empty selector is required.";
        plan.events.push(PlannedEvent {
            warning: true,
            reason: "SelectingAll",
            message: message.into(),
        });
        plan.problems.push(message.into());
        return plan;
    }
    if daemon_set.deletion_timestamp.is_some() {
        plan.problems
            .push("the DaemonSet is being deleted: its pods are left to the garbage collector".into());
        return plan;
    }
    let selector = match daemon_set.selector.as_ref().map(Selector::compile) {
        None => {
            plan.warn(
                "InvalidSelector",
                "spec.selector is missing: refusing to manage pods".into(),
            );
            return plan;
        }
        Some(Err(error)) => {
            plan.warn("InvalidSelector", format!("spec.selector is invalid: {error}"));
            return plan;
        }
        Some(Ok(selector)) => selector,
    };
    let template = match TemplateFields::read(&daemon_set.template) {
        Ok(template) => template,
        Err(error) => {
            plan.warn("InvalidTemplate", format!("invalid pod template: {error}"));
            return plan;
        }
    };
    // API validation forbids this; planning anyway would create pods the DaemonSet never claims.
    if !selector.matches(&template.labels) {
        plan.warn(
            "SelectorMismatch",
            "spec.selector does not match spec.template.metadata.labels: refusing to create pods".into(),
        );
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

    if !history.duplicates.is_empty() {
        plan.relabel_pods = pods::claimed_pods(daemon_set, &selector, &snapshot.pods)
            .into_iter()
            .filter(|pod| pod.revision_hash().unwrap_or_default() != history.update_hash)
            .collect();
    }
    let rules = EligibilityRules::compile(&template);
    for error in rules.affinity_errors() {
        plan.warn(
            "InvalidNodeAffinity",
            format!("required node affinity term ignored: {error}"),
        );
    }
    let context = Context {
        daemon_set,
        hash: history.update_hash.clone(),
        template_generation: daemon_set.template_generation().map(|g| g.to_string()),
        allows_surge: intstr::allows_surge(&daemon_set.update_strategy),
        backoff: &snapshot.failed_pod_backoff,
        now: snapshot.now,
    };
    let map = pods::node_map(&context, &selector, &snapshot.nodes, &snapshot.pods, &rules, true);
    plan.ownership.adopt_pods = map.adopted;
    plan.ownership.release_pods = map.released;
    let states = map.states;
    let sorted_by_name = map.sorted_by_name;
    let mut notes: Vec<Note<'_>> = vec![None; states.len()];

    let observed_generation = if snapshot.expectations_satisfied {
        let rolling_ok = sync_pods(snapshot, &context, &states, sorted_by_name, &mut notes, &mut plan);
        // Live hashes only matter when there are more old revisions than the limit keeps.
        if rolling_ok && history.old.len() > daemon_set.revision_history_limit.max(0) as usize {
            let claimed = pods::claimed_pods(daemon_set, &selector, &snapshot.pods);
            let live = pods::live_hashes(&claimed);
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
    if !changed {
        // Nothing is written, so the stored observedGeneration (possibly ahead) stays.
        status.observed_generation = stored.observed_generation;
    }
    plan.status = Some(StatusUpdate { status, changed });
    // Upstream: updateDaemonSetStatus requeues after minReadySeconds while pods are ready but not available.
    if daemon_set.min_ready_seconds > 0 && counts.number_ready != counts.number_available {
        let wait = Duration::from_secs(daemon_set.min_ready_seconds.unsigned_abs().into());
        plan.requeue_after = Some(plan.requeue_after.map_or(wait, |r| r.min(wait)));
    }
    plan.nodes = explain(&context, &states, sorted_by_name, notes);
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
    let context = Context {
        daemon_set,
        hash: hash.to_string(),
        template_generation: daemon_set.template_generation().map(|g| g.to_string()),
        allows_surge: false,
        backoff: &snapshot.failed_pod_backoff,
        now: snapshot.now,
    };
    let map = pods::node_map(&context, &selector, &snapshot.nodes, &snapshot.pods, &rules, false);
    Some(status::count(&map.states))
}

/// Runs manage, then the rolling update when manage has nothing to write; fills creates/deletes.
/// Returns false when the rolling update failed (upstream then skips the history cleanup).
fn sync_pods<'s>(
    snapshot: &'s Snapshot,
    context: &Context<'s>,
    states: &[NodeState<'s>],
    sorted_by_name: bool,
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
                rolling::rolling_update(states, sorted_by_name, max_surge, max_unavailable, desired, notes)
            });
        match rolled {
            Ok(rolling_writes) => {
                if !rolling_writes.is_empty() {
                    plan.step = Step::RollingUpdate;
                }
                writes = rolling_writes;
            }
            Err(error) => {
                // Nodes still running an old pod wait on this problem, not on manage.
                for (state, note) in states.iter().zip(notes.iter_mut()) {
                    if note.is_none() && state.pods.iter().any(|pod| !pod.updated && !pod.is_terminating()) {
                        *note = Some((NodeAction::Wait, Reason::RollingBlocked(error.clone())));
                    }
                }
                plan.warn("InvalidUpdateStrategy", format!("rolling update: {error}"));
                rolling_ok = false;
            }
        }
    }
    apply_burst_cap(snapshot.burst_replicas, states, sorted_by_name, writes, notes, plan);
    rolling_ok
}

/// Keeps the first `burst` creates and deletes, then sorts them (nodes and pods by name).
/// Upstream: daemon_controller.go syncNodes keeps the first burstReplicas of each list. Manage's lists
/// follow the node lister (no defined order), so daemonroll takes them by name; the rolling update's
/// lists are in priority order (replacements of unavailable pods before budgeted candidates), which the
/// cap keeps, so that capping never drops a replacement in favour of a candidate.
fn apply_burst_cap<'s>(
    burst: usize,
    states: &[NodeState<'s>],
    sorted_by_name: bool,
    writes: Writes<'s>,
    notes: &mut [Note<'s>],
    plan: &mut Plan<'s>,
) {
    let by_node = |a: &usize, b: &usize| {
        if sorted_by_name {
            a.cmp(b)
        } else {
            states[*a].node.cmp(states[*b].node)
        }
    };
    let by_name = plan.step != Step::RollingUpdate;
    let mut creates = writes.creates;
    if by_name {
        creates.sort_by(by_node);
    }
    for index in creates.iter().skip(burst) {
        notes[*index] = Some((NodeAction::Wait, Reason::BurstCapped(burst)));
    }
    creates.truncate(burst);
    creates.sort_by(by_node);
    let mut deletes = writes.deletes;
    if by_name {
        deletes.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    }
    for (index, _) in deletes.iter().skip(burst) {
        notes[*index] = Some((NodeAction::Wait, Reason::BurstCapped(burst)));
    }
    deletes.truncate(burst);
    deletes.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    plan.creates = creates.into_iter().map(|index| states[index].node).collect();
    plan.deletes = deletes.into_iter().map(|(_, pod)| pod).collect();
}

/// One note per node the DaemonSet cares about, sorted by node name.
fn explain<'s>(
    context: &Context<'s>,
    states: &[NodeState<'s>],
    sorted_by_name: bool,
    notes: Vec<Note<'s>>,
) -> Vec<NodeNote<'s>> {
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
    if !sorted_by_name {
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
