//! What `watch` shows of one plan: a cell per node in the state its pods and the planner give it,
//! grouped by topology domain, with the header facts and the current blockers (pure: built from a
//! Snapshot and its Plan, no I/O, no clock).

use std::collections::BTreeMap;

use daemonroll::planner::availability::{is_available, is_updated};
use daemonroll::planner::coexist::{self, CONDITION_PREFIX};
use daemonroll::planner::revisions::hash_of;
use daemonroll::planner::rollout::{self, AVAILABLE, PROGRESSING, controls, gate::UNLABELLED_DOMAIN};
use daemonroll::planner::{self, NodeAction, Plan, Reason};
use daemonroll::report::resulting_status;
use daemonroll::snapshot::{PodView, Snapshot, UpdateStrategy};

/// At most this many blockers are listed; the rest are counted.
pub const MAX_BLOCKERS: usize = 10;

/// What a node looks like to someone following the rollout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CellState {
    /// Runs the update revision and is available.
    NewAvailable,
    /// Runs the update revision, not available yet.
    NewStarting,
    /// Runs an old revision, available, waiting its turn.
    Old,
    /// No running pod, or only an old pod that is not available.
    Unavailable,
    /// A rollout control keeps it on the old revision (paused, partition, canary, another
    /// domain first, soaking): what a user asked for, or something that passes on its own.
    Held,
    /// The rollout cannot go on until someone acts (progress deadline, updated node NotReady,
    /// invalid annotation, invalid budgets).
    Blocked,
}

impl CellState {
    /// Legend order: from done to stuck.
    pub const ALL: [CellState; 6] = [
        CellState::NewAvailable,
        CellState::NewStarting,
        CellState::Old,
        CellState::Unavailable,
        CellState::Held,
        CellState::Blocked,
    ];

    /// The character a cell shows, in plain and coloured output alike (colour is not the only cue).
    pub fn symbol(self) -> char {
        match self {
            CellState::NewAvailable => '#',
            CellState::NewStarting => '+',
            CellState::Old => 'o',
            CellState::Unavailable => 'x',
            CellState::Held => 'h',
            CellState::Blocked => '!',
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CellState::NewAvailable => "new available",
            CellState::NewStarting => "new starting",
            CellState::Old => "old",
            CellState::Unavailable => "unavailable",
            CellState::Held => "held",
            CellState::Blocked => "blocked",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub node: String,
    pub state: CellState,
    /// The old pod still running on the node (not terminating): when it goes, the node switched.
    pub old_pod: Option<String>,
    /// `Hold::kind` when a rollout control holds the node.
    pub hold: Option<&'static str>,
}

/// Nodes of one topology domain (`domain` is None when no topology key is set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub domain: Option<String>,
    pub cells: Vec<Cell>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionLine {
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocker {
    pub node: String,
    pub text: String,
}

/// One frame's facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    /// `namespace/name`.
    pub daemon_set: String,
    /// The update revision as `number (hash)`, or `-` before history exists.
    pub revision: String,
    pub strategy: String,
    /// The `daemonroll.io/` annotations set, as `name=value` without the prefix.
    pub controls: Vec<String>,
    pub conditions: Vec<ConditionLine>,
    pub problems: Vec<String>,
    pub topology_key: Option<String>,
    pub groups: Vec<Group>,
    pub desired: usize,
    pub blockers: Vec<Blocker>,
    /// Blockers beyond `MAX_BLOCKERS`.
    pub more_blockers: usize,
}

/// The plan the controller would make: coexist mode's for an opted-in OnDelete DaemonSet (the
/// one daemonroll deletes for beside kube-controller-manager), replacement mode's otherwise.
pub fn plan(snapshot: &Snapshot) -> Plan<'_> {
    let daemon_set = &snapshot.daemon_set;
    if coexist::opted_in(daemon_set) && matches!(daemon_set.update_strategy, UpdateStrategy::OnDelete) {
        coexist::plan(snapshot)
    } else {
        planner::plan(snapshot)
    }
}

impl Model {
    pub fn from_plan(snapshot: &Snapshot, plan: &Plan<'_>) -> Model {
        let daemon_set = &snapshot.daemon_set;
        let generation = daemon_set.template_generation().map(|g| g.to_string());
        let updated = |pod: &PodView| is_updated(pod, &plan.update_revision, generation.as_deref());
        let available = |pod: &PodView| is_available(pod, daemon_set.min_ready_seconds, snapshot.now);
        let pods = pods_by_node(snapshot);
        let topology_key = plan.rollout.controls.topology.as_ref().map(|t| t.key.clone());
        let labels: BTreeMap<&str, &daemonroll::snapshot::Labels> =
            snapshot.nodes.iter().map(|n| (n.name.as_str(), &n.labels)).collect();

        let mut domains: BTreeMap<(bool, String), Vec<Cell>> = BTreeMap::new();
        let mut blockers = Vec::new();
        for note in &plan.nodes {
            let on_node = pods.get(note.node).map(Vec::as_slice).unwrap_or_default();
            if !shown(&note.reason, note.action, on_node) {
                continue;
            }
            let live: Vec<&PodView> = on_node.iter().copied().filter(|p| !p.is_terminating()).collect();
            let cell = Cell {
                node: note.node.to_string(),
                state: cell_state(&note.reason, &live, updated, available),
                old_pod: live.iter().find(|p| !updated(p)).map(|p| p.name.to_string()),
                hold: match note.reason {
                    Reason::Held(hold) => Some(hold.kind()),
                    _ => None,
                },
            };
            if note.action == NodeAction::Wait || matches!(note.reason, Reason::Held(_) | Reason::RollingBlocked(_)) {
                blockers.push(Blocker {
                    node: cell.node.clone(),
                    text: note.reason.to_string(),
                });
            }
            let domain = match &topology_key {
                Some(key) => match labels.get(note.node).and_then(|l| l.get(key)) {
                    Some(value) => (false, value.to_string()),
                    // Nodes without the label roll last, and are listed last.
                    None => (true, UNLABELLED_DOMAIN.to_string()),
                },
                None => (false, String::new()),
            };
            domains.entry(domain).or_default().push(cell);
        }
        let groups = domains
            .into_iter()
            .map(|((_, domain), cells)| Group {
                domain: topology_key.as_ref().map(|_| domain),
                cells,
            })
            .collect();
        let more_blockers = blockers.len().saturating_sub(MAX_BLOCKERS);
        blockers.truncate(MAX_BLOCKERS);
        let counts = resulting_status(plan).counts;
        Model {
            daemon_set: format!("{}/{}", daemon_set.namespace, daemon_set.name),
            revision: revision(snapshot, plan),
            strategy: strategy(plan, counts.desired_number_scheduled),
            controls: controls::USER_ANNOTATIONS
                .iter()
                .filter_map(|key| {
                    let value = daemon_set.annotations.get(key)?;
                    Some(format!("{}={value}", key.trim_start_matches(controls::PREFIX)))
                })
                .collect(),
            conditions: conditions(plan),
            problems: plan.problems.clone(),
            topology_key,
            groups,
            desired: usize::try_from(counts.desired_number_scheduled).unwrap_or(0),
            blockers,
            more_blockers,
        }
    }

    pub fn cells(&self) -> impl Iterator<Item = &Cell> {
        self.groups.iter().flat_map(|group| group.cells.iter())
    }

    pub fn count(&self, state: CellState) -> usize {
        self.cells().filter(|cell| cell.state == state).count()
    }
}

/// The DaemonSet's pods by target node: the ones it controls and orphans it may adopt.
fn pods_by_node(snapshot: &Snapshot) -> BTreeMap<&str, Vec<&PodView>> {
    let uid = snapshot.daemon_set.uid.as_str();
    let mut pods: BTreeMap<&str, Vec<&PodView>> = BTreeMap::new();
    for pod in &snapshot.pods {
        let ours = pod.controller.as_ref().is_none_or(|owner| owner.uid.as_str() == uid);
        let finished = pod.phase.is_terminal() && pod.is_terminating();
        if let (true, false, Some(node)) = (ours, finished, pod.target_node.as_ref()) {
            pods.entry(node.as_str()).or_default().push(pod);
        }
    }
    pods
}

/// Nodes that neither should run a pod nor hold one are not the DaemonSet's nodes.
fn shown(reason: &Reason<'_>, action: NodeAction, pods: &[&PodView]) -> bool {
    match reason {
        Reason::NodeMissing(_) => false,
        Reason::NothingToDo | Reason::UntoleratedNoSchedule(_) => action != NodeAction::Keep || !pods.is_empty(),
        _ => true,
    }
}

/// A control's hold wins over what the pods say; then the updated pod, then the old one.
pub fn cell_state(
    reason: &Reason<'_>,
    live_pods: &[&PodView],
    updated: impl Fn(&PodView) -> bool,
    available: impl Fn(&PodView) -> bool,
) -> CellState {
    match reason {
        Reason::Held(hold) if hold.is_blocker() => return CellState::Blocked,
        Reason::Held(_) => return CellState::Held,
        Reason::RollingBlocked(_) => return CellState::Blocked,
        _ => {}
    }
    if let Some(new) = live_pods.iter().find(|pod| updated(pod)) {
        return if available(new) {
            CellState::NewAvailable
        } else {
            CellState::NewStarting
        };
    }
    match live_pods.first() {
        Some(old) if available(old) => CellState::Old,
        _ => CellState::Unavailable,
    }
}

fn revision(snapshot: &Snapshot, plan: &Plan<'_>) -> String {
    if plan.update_revision.is_empty() {
        return "-".to_string();
    }
    // Coexist mode plans no history: the number is that of kube-controller-manager's revision.
    let owned_number = || {
        snapshot
            .revisions
            .iter()
            .filter(|r| r.controller.as_ref().is_some_and(|c| c.uid == plan.daemon_set.uid))
            .filter(|r| hash_of(r) == plan.update_revision || r.name.ends_with(&format!("-{}", plan.update_revision)))
            .map(|r| r.revision)
            .max()
    };
    let number = match plan.history.as_ref() {
        Some(history) => history.current_number(),
        None if plan.coexist => owned_number(),
        None => None,
    };
    match number {
        Some(number) => format!("{number} ({})", plan.update_revision),
        None => plan.update_revision.clone(),
    }
}

fn strategy(plan: &Plan<'_>, desired: i32) -> String {
    let strategy = &plan.daemon_set.update_strategy;
    if plan.coexist {
        let budget = plan
            .daemon_set
            .on_delete_rolling_update
            .as_ref()
            .filter(|v| !v.is_null())
            .map_or_else(
                || "no rollingUpdate: maxUnavailable 1".to_string(),
                |v| format!("rollingUpdate {v}"),
            );
        return format!(
            "OnDelete, coexist mode: daemonroll deletes old pods, kube-controller-manager recreates them ({budget})"
        );
    }
    match strategy {
        UpdateStrategy::RollingUpdate(params) => {
            let spec = |value: Option<&daemonroll::snapshot::IntOrString>, default: &str| {
                value.map_or_else(|| default.to_string(), ToString::to_string)
            };
            let params = params.clone().unwrap_or_default();
            let mut text = format!(
                "RollingUpdate maxUnavailable {} maxSurge {}",
                spec(params.max_unavailable.as_ref(), "0"),
                spec(params.max_surge.as_ref(), "0")
            );
            match rollout::budgets(strategy, &plan.rollout.controls, false, i64::from(desired)) {
                Ok((budgets, _)) => text.push_str(&format!(
                    " (now: {} unavailable, {} surge of {desired})",
                    budgets.max_unavailable, budgets.max_surge
                )),
                Err(error) => text.push_str(&format!(" (invalid: {error})")),
            }
            text
        }
        UpdateStrategy::OnDelete => "OnDelete (pods are replaced when deleted)".to_string(),
        UpdateStrategy::Other(other) => format!("{other} (unknown strategy: nothing is replaced)"),
    }
}

/// The conditions this sync computes; the stored ones when it computes none. In coexist mode
/// daemonroll's conditions are the `daemonroll.io/` ones (kube-controller-manager owns the rest).
fn conditions(plan: &Plan<'_>) -> Vec<ConditionLine> {
    let prefix = if plan.coexist { CONDITION_PREFIX } else { "" };
    if let Some(computed) = &plan.rollout.conditions {
        return computed
            .iter()
            .map(|c| ConditionLine {
                type_: format!("{prefix}{}", c.type_),
                status: c.status.to_string(),
                reason: c.reason.to_string(),
                message: c.message.clone(),
            })
            .collect();
    }
    plan.daemon_set
        .conditions
        .iter()
        .filter(|c| {
            c.type_
                .strip_prefix(prefix)
                .is_some_and(|type_| type_ == PROGRESSING || type_ == AVAILABLE)
        })
        .map(|c| ConditionLine {
            type_: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone(),
            message: c.message.clone(),
        })
        .collect()
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
