//! What a plan did, in the shapes the scenarios assert on: writes, counts, holds, conditions, Events.
#![allow(dead_code)]

use daemonroll::planner::rollout::Hold;
use daemonroll::planner::{self, NodeAction, Plan, Reason};
use daemonroll::snapshot::{Snapshot, StatusCounts};

// ---------------------------------------------------------------- outcomes

/// What one sync writes to pods: sorted node names to create on and pod names to delete.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    pub creates: Vec<String>,
    pub deletes: Vec<String>,
}

pub fn writes(creates: &[&str], deletes: &[&str]) -> Outcome {
    Outcome {
        creates: creates.iter().map(|s| s.to_string()).collect(),
        deletes: deletes.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn outcome_of(plan: &Plan<'_>) -> Outcome {
    Outcome {
        creates: plan.creates.iter().map(|n| n.to_string()).collect(),
        deletes: plan.deletes.iter().map(|p| p.name.to_string()).collect(),
    }
}

pub fn outcome(snapshot: &Snapshot) -> Outcome {
    outcome_of(&planner::plan(snapshot))
}

/// Counters in upstream's order: desired, current, misscheduled, ready, updated, available, unavailable.
pub fn counts(values: [i32; 7]) -> StatusCounts {
    StatusCounts {
        desired_number_scheduled: values[0],
        current_number_scheduled: values[1],
        number_misscheduled: values[2],
        number_ready: values[3],
        updated_number_scheduled: values[4],
        number_available: values[5],
        number_unavailable: values[6],
    }
}

pub fn status_counts(snapshot: &Snapshot) -> StatusCounts {
    planner::plan(snapshot)
        .status
        .map(|update| update.status.counts)
        .unwrap_or_default()
}

pub fn action_on(plan: &Plan<'_>, node: &str) -> Option<NodeAction> {
    plan.nodes.iter().find(|note| note.node == node).map(|note| note.action)
}

/// The rollout control that holds `node` this sync, from the node's note.
pub fn held_on<'s>(plan: &Plan<'s>, node: &str) -> Option<Hold<'s>> {
    plan.nodes
        .iter()
        .find(|note| note.node == node)
        .and_then(|note| match note.reason {
            Reason::Held(hold) => Some(hold),
            _ => None,
        })
}

/// The nodes a control holds this sync, in the plan's node order.
pub fn held_nodes(plan: &Plan<'_>) -> Vec<String> {
    plan.nodes
        .iter()
        .filter(|note| matches!(note.reason, Reason::Held(_)))
        .map(|note| note.node.to_string())
        .collect()
}

/// (status, reason) of the Progressing condition this sync computes.
pub fn progressing(plan: &Plan<'_>) -> (&'static str, &'static str) {
    let conditions = plan.rollout.conditions.as_ref().expect("the sync computes conditions");
    (conditions[0].status, conditions[0].reason)
}

/// The Progressing condition's message.
pub fn progressing_message(plan: &Plan<'_>) -> String {
    let conditions = plan.rollout.conditions.as_ref().expect("the sync computes conditions");
    conditions[0].message.clone()
}

/// (warning, reason) of each Event the sync records.
pub fn event_reasons(plan: &Plan<'_>) -> Vec<(bool, &'static str)> {
    plan.events.iter().map(|event| (event.warning, event.reason)).collect()
}
