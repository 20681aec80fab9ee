//! The planner: one DaemonSet sync as upstream's controller would run it (pure: no I/O, no clock).
//!
//! Upstream: daemon_controller.go syncDaemonSet and updateDaemonSet. Order: validity checks →
//! history → manage → rolling update (only when manage wrote nothing) → history cleanup → status.
//! The planner never fails: invalid input becomes `Plan::problems` and the sync does nothing unsafe.

pub mod availability;
pub mod burst;
pub mod claim;
pub mod coexist;
pub mod decisions;
pub mod eligibility;
pub mod intstr;
pub mod manage;
pub mod new_pod;
pub mod plan;
pub mod pods;
pub mod revisions;
pub mod rolling;
pub mod rollout;
pub mod selector;
pub mod status;
pub mod template;
pub mod tolerations;

use std::time::Duration;

use crate::history::patch::template_patch;
use crate::snapshot::{
    DaemonSetView, FailedPodBackoff, RevisionView, Snapshot, StatusCounts, Timestamp, UpdateStrategy,
};
use decisions::{Decisions, NodeNotes};
use eligibility::EligibilityRules;
pub use plan::{NodeAction, NodeNote, OwnershipChanges, Plan, PlannedEvent, Reason, StatusUpdate, Step};
use pods::NodeState;
use revisions::{CurrentRevision, HistoryPlan};
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

impl<'s> Context<'s> {
    fn new(snapshot: &'s Snapshot, hash: String, allows_surge: bool) -> Self {
        let daemon_set = &snapshot.daemon_set;
        Context {
            daemon_set,
            hash,
            template_generation: daemon_set.template_generation().map(|g| g.to_string()),
            allows_surge,
            backoff: &snapshot.failed_pod_backoff,
            now: snapshot.now,
        }
    }
}

/// Plans one sync of `snapshot.daemon_set`.
pub fn plan(snapshot: &Snapshot) -> Plan<'_> {
    let daemon_set = &snapshot.daemon_set;
    let mut plan = Plan::new(daemon_set);
    let spec = match check_spec(daemon_set) {
        Ok(spec) => spec,
        Err(refusal) => {
            refusal.record(&mut plan);
            return plan;
        }
    };
    let Some(history) = plan_history(snapshot, &spec.selector, &mut plan) else {
        return plan;
    };
    let rules = EligibilityRules::compile(&spec.template);
    for error in rules.affinity_errors() {
        plan.warn(
            "InvalidNodeAffinity",
            format!("required node affinity term ignored: {error}"),
        );
    }
    let parsed = rollout::controls::parse(&daemon_set.annotations, snapshot.last_good_controls.as_ref());
    let strategy = &daemon_set.update_strategy;
    let allows_surge = rollout::allows_surge(strategy, &parsed.controls, spec.template.host_ports);
    let context = Context::new(snapshot, history.update_hash.clone(), allows_surge);
    let map = pods::node_map(&context, &spec.selector, &snapshot.nodes, &snapshot.pods, &rules);
    plan.ownership.adopt_pods = map.adopted;
    plan.ownership.release_pods = map.released;
    let states = map.states;
    let desired = states.iter().filter(|state| state.should_run()).count() as i64;
    let rolling = RollingInput {
        budgets: rollout::budgets(strategy, &parsed.controls, spec.template.host_ports, desired),
        gate: match strategy {
            UpdateStrategy::RollingUpdate(_) => rollout::gate_for(
                daemon_set,
                &daemon_set.conditions,
                &parsed.controls,
                &states,
                Vec::new(),
                snapshot.now,
            ),
            _ => rollout::gate::Gate::default(),
        },
    };

    let (notes, observed_generation) = if snapshot.expectations_satisfied {
        let pod_writes = sync_pods(snapshot, &context, &states, &rolling, &mut plan);
        // Upstream: updateDaemonSet cleans up history only when the rolling update did not fail.
        if !pod_writes.rolling_failed {
            plan.prune_revisions = prune_history(snapshot, &spec.selector, &history);
        }
        (pod_writes.notes, daemon_set.generation)
    } else {
        plan.problems
            .push("waiting to observe this controller's earlier creates and deletes: status only".into());
        (NodeNotes::new(&context, &states), daemon_set.status.observed_generation)
    };

    let counts = status::count(&states);
    let (report, events, requeue) = rollout::report(rollout::ReportInput {
        daemon_set,
        stored_conditions: &daemon_set.conditions,
        notice: None,
        update_hash: &history.update_hash,
        revision_number: history.current_number(),
        parsed,
        gate: &rolling.gate,
        states: &states,
        counts,
        old_revisions: &history.old,
        max_unavailable: rolling
            .budgets
            .as_ref()
            .map_or(1, |(budgets, _)| budgets.max_unavailable),
        surge_guarded: rolling.budgets.as_ref().is_ok_and(|(_, guarded)| *guarded),
        now: snapshot.now,
    });
    plan.events.extend(events);
    if let Some(after) = requeue {
        plan.requeue_within(after);
    }
    plan.history = Some(history);
    let mut update = status_update(daemon_set, counts, observed_generation);
    // Without a control, conditions ride along with the counter writes upstream makes anyway,
    // so the writes stay upstream's (ARCHITECTURE.md, invariant 4).
    if let Some(conditions) = report
        .conditions
        .as_ref()
        .filter(|_| rollout::uses_controls(daemon_set))
    {
        let stored = |type_| rollout::conditions::stored(&daemon_set.conditions, type_);
        update.changed |= conditions
            .iter()
            .any(|condition| condition.differs_from(stored(condition.type_)));
    }
    // The hostPort guard's Warning stops once the stored condition says it: store it at once.
    // Likewise a new problem with an annotation: its Warning stops once the condition says it.
    update.changed |= plan
        .events
        .iter()
        .any(|event| event.reason == rollout::SURGE_DISABLED || event.reason == "InvalidAnnotation");
    plan.status = Some(update);
    plan.rollout = report;
    if !snapshot.expectations_satisfied {
        plan.rollout.rollback = None;
    }
    if let Some(wait) = min_ready_requeue(daemon_set, counts) {
        plan.requeue_within(wait);
    }
    plan.nodes = notes.into_nodes();
    plan
}

/// The rolling update's budgets and the gate of the rollout controls, computed once per sync.
struct RollingInput<'s> {
    budgets: Result<(intstr::Budgets, bool), intstr::BudgetError<'s>>,
    gate: rollout::gate::Gate<'s>,
}

/// Status counters only, for a known update hash: the per-node eligibility and status pass that
/// upstream's `BenchmarkUpdateDaemonSetStatus` measures (daemon_controller.go updateDaemonSetStatus).
/// None when the spec is invalid (the full `plan` explains why).
pub fn status_pass(snapshot: &Snapshot, hash: &str) -> Option<StatusCounts> {
    let daemon_set = &snapshot.daemon_set;
    let selector = Selector::compile(daemon_set.selector.as_ref()?)
        .ok()
        .filter(|s| !s.is_empty())?;
    let template = TemplateFields::read(&daemon_set.template).ok()?;
    let rules = EligibilityRules::compile(&template);
    let context = Context::new(snapshot, hash.to_string(), false);
    // Counts do not depend on node order, so the nodes need not be in name order (upstream's
    // benchmark lists them in creation order: node-10 before node-2).
    let map = pods::unordered_node_map(&context, &selector, &snapshot.nodes, &snapshot.pods, &rules);
    Some(status::count(&map.states))
}

/// Why a sync stops before history; upstream returns early in the same cases.
enum Refusal {
    /// Upstream: syncDaemonSet records an Event and does nothing else.
    SelectsEverything,
    /// Its pods are left to the garbage collector.
    BeingDeleted,
    SelectorMissing,
    SelectorInvalid(String),
    TemplateInvalid(String),
    /// API validation forbids this; planning anyway would create pods the DaemonSet never claims
    /// (ARCHITECTURE.md, "Deliberate differences from upstream").
    SelectorMismatch,
}

impl Refusal {
    fn record(self, plan: &mut Plan<'_>) {
        match self {
            Refusal::SelectsEverything => plan.warn(
                "SelectingAll",
                "This daemon set is selecting all pods. A non-empty selector is required.".into(),
            ),
            Refusal::BeingDeleted => plan
                .problems
                .push("the DaemonSet is being deleted: its pods are left to the garbage collector".into()),
            Refusal::SelectorMissing => plan.warn(
                "InvalidSelector",
                "spec.selector is missing: refusing to manage pods".into(),
            ),
            Refusal::SelectorInvalid(error) => {
                plan.warn("InvalidSelector", format!("spec.selector is invalid: {error}"))
            }
            Refusal::TemplateInvalid(error) => plan.warn("InvalidTemplate", format!("invalid pod template: {error}")),
            Refusal::SelectorMismatch => plan.warn(
                "SelectorMismatch",
                "spec.selector does not match spec.template.metadata.labels: refusing to create pods".into(),
            ),
        }
    }
}

/// The parts of a valid spec the later steps read.
struct ValidSpec {
    selector: Selector,
    template: TemplateFields,
}

/// Upstream: syncDaemonSet checks for a selector that selects everything first, then for a
/// DaemonSet being deleted; daemonroll then also refuses specs it cannot plan safely.
fn check_spec(daemon_set: &DaemonSetView) -> Result<ValidSpec, Refusal> {
    if daemon_set
        .selector
        .as_ref()
        .is_some_and(|s| s.match_labels.is_empty() && s.match_expressions.is_empty())
    {
        return Err(Refusal::SelectsEverything);
    }
    if daemon_set.deletion_timestamp.is_some() {
        return Err(Refusal::BeingDeleted);
    }
    let selector = daemon_set.selector.as_ref().ok_or(Refusal::SelectorMissing)?;
    let selector = Selector::compile(selector).map_err(Refusal::SelectorInvalid)?;
    let template = TemplateFields::read(&daemon_set.template).map_err(Refusal::TemplateInvalid)?;
    if !selector.matches(&template.labels) {
        return Err(Refusal::SelectorMismatch);
    }
    Ok(ValidSpec { selector, template })
}

/// Claims revisions and decides the current one; records the update revision, the revision
/// ownership changes and the pods to relabel. None when a revision-name collision stops the sync:
/// the plan then writes only the bumped collisionCount.
fn plan_history<'s>(snapshot: &'s Snapshot, selector: &Selector, plan: &mut Plan<'s>) -> Option<HistoryPlan<'s>> {
    let daemon_set = &snapshot.daemon_set;
    let claimed = claim::claim_revisions(daemon_set, selector, &snapshot.revisions);
    plan.ownership.adopt_revisions = claimed.adopted;
    plan.ownership.release_revisions = claimed.released;
    let patch = template_patch(&daemon_set.template);
    let history = revisions::construct(daemon_set, &claimed.revisions, &snapshot.revisions, &patch);
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
        return None;
    }
    if !history.duplicates.is_empty() {
        plan.relabel_pods = claim::claimed_pods(daemon_set, selector, &snapshot.pods)
            .into_iter()
            .filter(|pod| pod.revision_hash().unwrap_or_default() != history.update_hash)
            .collect();
    }
    Some(history)
}

/// Old revisions beyond revisionHistoryLimit that no live pod's hash uses.
fn prune_history<'s>(snapshot: &'s Snapshot, selector: &Selector, history: &HistoryPlan<'s>) -> Vec<&'s RevisionView> {
    let daemon_set = &snapshot.daemon_set;
    // Live hashes only matter when there are more old revisions than the limit keeps.
    if history.old.len() <= daemon_set.revision_history_limit.max(0) as usize {
        return Vec::new();
    }
    let claimed = claim::claimed_pods(daemon_set, selector, &snapshot.pods);
    let live = revisions::live_hashes(&claimed);
    revisions::prune(&history.old, daemon_set.revision_history_limit, &live)
}

/// What the pod steps leave for the rest of the sync.
struct PodSync<'s> {
    notes: NodeNotes<'s>,
    rolling_failed: bool,
}

/// Runs manage, then the rolling update when manage has nothing to write, then the burst cap;
/// records the writes, Events and failed-pod backoff in `plan`.
fn sync_pods<'s>(
    snapshot: &'s Snapshot,
    context: &Context<'s>,
    states: &[NodeState<'s>],
    rolling: &RollingInput<'s>,
    plan: &mut Plan<'s>,
) -> PodSync<'s> {
    let managed = manage::manage(context, states);
    plan.events.extend(managed.events);
    plan.backoff_updates = managed.backoff_updates;
    plan.requeue_after = managed.backoff_requeue;
    let Decisions {
        writes: managed_writes,
        notes: managed_notes,
    } = managed.decisions;
    let strategy = &snapshot.daemon_set.update_strategy;
    let rolled = (managed_writes.is_empty() && matches!(strategy, UpdateStrategy::RollingUpdate(_))).then(|| {
        let (budgets, _) = rolling.budgets.map_err(rolling::RollingError::InvalidBudget)?;
        rolling::rolling_update(budgets, states, &rolling.gate)
    });
    let rolling_failed = matches!(rolled, Some(Err(_)));
    let mut notes = NodeNotes::new(context, states);
    if let Some(Err(error)) = rolled {
        // Nodes still running an old pod wait on this problem, unless manage's note (recorded
        // next, so it wins) says what they wait for.
        notes.record(states.iter().enumerate().filter_map(|(index, state)| {
            let runs_old = state.pods.iter().any(|pod| !pod.updated && !pod.is_terminating());
            runs_old.then_some((index, (NodeAction::Wait, Reason::RollingBlocked(error))))
        }));
    }
    notes.record(managed_notes);
    let (step, writes) = match rolled {
        None if managed_writes.is_empty() => (Step::Idle, managed_writes),
        None => (Step::Manage, managed_writes),
        Some(Ok(rolled)) => {
            notes.record(rolled.notes);
            let step = if rolled.writes.is_empty() {
                Step::Idle
            } else {
                Step::RollingUpdate
            };
            (step, rolled.writes)
        }
        Some(Err(error)) => {
            plan.warn("InvalidUpdateStrategy", format!("rolling update: {error}"));
            (Step::Idle, managed_writes)
        }
    };
    plan.step = step;
    let capped = burst::cap(snapshot.burst_replicas, step, states, writes);
    plan.creates = capped.creates;
    plan.deletes = capped.deletes;
    notes.record(capped.held_back);
    PodSync { notes, rolling_failed }
}

/// The status this sync writes. Upstream: daemon_controller.go updateDaemonSetStatus and
/// storeDaemonSetStatus (no write when every counter is equal and observedGeneration is current).
fn status_update(daemon_set: &DaemonSetView, counts: StatusCounts, observed_generation: i64) -> StatusUpdate {
    let stored = &daemon_set.status;
    let changed = !(stored.counts == counts && stored.observed_generation >= daemon_set.generation);
    let mut status = *stored;
    status.counts = counts;
    // Without a write the stored observedGeneration (possibly ahead) stays.
    if changed {
        status.observed_generation = observed_generation;
    }
    StatusUpdate { status, changed }
}

/// Upstream: updateDaemonSetStatus requeues after minReadySeconds while pods are ready but not available.
fn min_ready_requeue(daemon_set: &DaemonSetView, counts: StatusCounts) -> Option<Duration> {
    (daemon_set.min_ready_seconds > 0 && counts.number_ready != counts.number_available)
        .then(|| Duration::from_secs(daemon_set.min_ready_seconds.unsigned_abs().into()))
}
