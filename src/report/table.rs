//! A plan as a table for people: one block per DaemonSet, then what happens on each node and why (pure).

use std::fmt::Write;

use super::resulting_status;
use crate::planner::{NodeAction, Plan, Step};

/// Renders plans; nodes whose action is `keep` are summarised unless `all_nodes`.
pub fn render(plans: &[Plan<'_>], all_nodes: bool) -> String {
    let mut out = String::new();
    if plans.is_empty() {
        out.push_str("no DaemonSets in the input\n");
    }
    for (position, plan) in plans.iter().enumerate() {
        if position > 0 {
            out.push('\n');
        }
        render_one(&mut out, plan, all_nodes);
    }
    out
}

/// The rollout controls' part: held nodes by control and the Progressing condition, when a control is set.
fn render_rollout(out: &mut String, plan: &Plan<'_>) {
    let rollout = &plan.rollout;
    if !rollout.held.is_empty() {
        let held: Vec<String> = rollout
            .held
            .iter()
            .map(|(kind, count)| format!("{kind} {count}"))
            .collect();
        let _ = writeln!(out, "  held by rollout controls: {}", held.join(", "));
    }
    for problem in &rollout.problems {
        let _ = writeln!(out, "  ! {problem}");
    }
    if let Some(rollback) = &rollout.rollback {
        let _ = writeln!(
            out,
            "  ! rollback to revision {}: {}",
            rollback.to.revision, rollback.reason
        );
    }
    let uses_controls = crate::planner::rollout::uses_controls(plan.daemon_set);
    if let Some([progressing, _]) = rollout.conditions.as_ref().filter(|_| uses_controls) {
        let _ = writeln!(
            out,
            "  Progressing={} {}: {}",
            progressing.status, progressing.reason, progressing.message
        );
    }
}

fn render_one(out: &mut String, plan: &Plan<'_>, all_nodes: bool) {
    let daemon_set = plan.daemon_set;
    let counts = resulting_status(plan).counts;
    let step = match plan.step {
        Step::Idle => "nothing to do",
        Step::Manage => "manage",
        Step::RollingUpdate => "rolling update",
    };
    let revision = if plan.update_revision.is_empty() {
        "-"
    } else {
        plan.update_revision.as_str()
    };
    let _ = writeln!(
        out,
        "DaemonSet {}/{}  (revision {revision})",
        daemon_set.namespace, daemon_set.name
    );
    let _ = writeln!(
        out,
        "  desired {}  current {}  updated {}  ready {}  available {}  misscheduled {}",
        counts.desired_number_scheduled,
        counts.current_number_scheduled,
        counts.updated_number_scheduled,
        counts.number_ready,
        counts.number_available,
        counts.number_misscheduled
    );
    let _ = writeln!(
        out,
        "  this sync: {} create(s), {} delete(s)  [{step}]",
        plan.creates.len(),
        plan.deletes.len()
    );
    for problem in &plan.problems {
        let _ = writeln!(out, "  ! {problem}");
    }
    render_rollout(out, plan);
    let shown: Vec<_> = plan
        .nodes
        .iter()
        .filter(|note| all_nodes || note.action != NodeAction::Keep)
        .collect();
    if !shown.is_empty() {
        let width = shown.iter().map(|note| note.node.len()).max().unwrap_or(4).max(4);
        let _ = writeln!(out, "  {:<width$}  {:<7}  WHY", "NODE", "ACTION");
        for note in &shown {
            let _ = writeln!(
                out,
                "  {:<width$}  {:<7}  {}",
                note.node,
                note.action.as_str(),
                note.reason
            );
        }
    }
    let kept = plan.nodes.len() - shown.len();
    if kept > 0 {
        let _ = writeln!(
            out,
            "  ({kept} node(s) keep their pod unchanged; --all-nodes lists them)"
        );
    }
}
