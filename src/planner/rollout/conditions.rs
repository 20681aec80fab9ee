//! The `Progressing` and `Available` conditions daemonroll writes in DaemonSet status (pure).
//!
//! Invariants: lastTransitionTime changes only when a condition's status changes (as for
//! Deployments); a condition's reason names the one thing a user most needs to know, in the
//! precedence order of `progressing`.

use std::collections::BTreeMap;

use crate::snapshot::{ConditionView, StatusCounts, Timestamp};

pub const PROGRESSING: &str = "Progressing";
pub const AVAILABLE: &str = "Available";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub type_: &'static str,
    /// "True", "False" or "Unknown".
    pub status: &'static str,
    pub reason: &'static str,
    pub message: String,
    pub last_transition_time: Timestamp,
}

impl Condition {
    /// Warning-worthy: a rollout that stopped on its own, or a control that does not parse.
    pub fn is_warning(&self) -> bool {
        matches!(
            self.reason,
            "ProgressDeadlineExceeded" | "RolledBack" | "UpdatedNodeNotReady" | "InvalidAnnotation" | "RollbackFailed"
        ) || (self.type_ == AVAILABLE && self.status == "False")
    }

    /// Type, status and reason differ: a transition (message-only changes ride along with the
    /// next status write).
    pub fn differs_from(&self, stored: Option<&ConditionView>) -> bool {
        stored.is_none_or(|stored| stored.status != self.status || stored.reason != self.reason)
    }

    pub fn to_view(&self) -> ConditionView {
        ConditionView {
            type_: self.type_.to_string(),
            status: self.status.to_string(),
            reason: self.reason.to_string(),
            message: self.message.clone(),
            last_transition_time: Some(self.last_transition_time),
        }
    }
}

pub fn stored<'a>(conditions: &'a [ConditionView], type_: &str) -> Option<&'a ConditionView> {
    conditions.iter().find(|condition| condition.type_ == type_)
}

/// What the rollout looks like this sync, as the conditions read it.
pub struct RolloutFacts<'a> {
    pub counts: StatusCounts,
    /// Nodes still running an old pod.
    pub old_nodes: usize,
    pub revision: &'a str,
    pub held: &'a BTreeMap<&'static str, usize>,
    /// Up to a few held or blocked nodes with the reason, for messages.
    pub blockers: &'a [String],
    pub current_domain: Option<&'a str>,
    pub failure: Option<String>,
    pub rolled_back: Option<String>,
    pub rollback_error: Option<String>,
    pub problems: &'a [String],
    /// Said first in the message: a safety guard in force, coexist mode's fallbacks.
    pub notice: Option<&'a str>,
    pub max_unavailable: i64,
}

impl RolloutFacts<'_> {
    pub fn is_complete(&self) -> bool {
        let counts = &self.counts;
        self.old_nodes == 0
            && counts.updated_number_scheduled == counts.desired_number_scheduled
            && counts.number_available == counts.desired_number_scheduled
            && counts.number_misscheduled == 0
    }
}

fn held(facts: &RolloutFacts<'_>, kind: &str) -> usize {
    facts.held.get(kind).copied().unwrap_or(0)
}

fn progress_line(facts: &RolloutFacts<'_>) -> String {
    let counts = &facts.counts;
    let mut line = format!(
        "revision {}: {} of {} nodes updated, {} available",
        facts.revision, counts.updated_number_scheduled, counts.desired_number_scheduled, counts.number_available
    );
    if let Some(domain) = facts.current_domain {
        line.push_str(&format!("; rolling domain {domain}"));
    }
    if !facts.blockers.is_empty() {
        line.push_str("; ");
        line.push_str(&facts.blockers.join("; "));
    }
    line
}

/// (status, reason, message) of Progressing, in precedence order.
fn progressing(facts: &RolloutFacts<'_>) -> (&'static str, &'static str, String) {
    let mut progress = progress_line(facts);
    if let Some(notice) = facts.notice {
        progress = format!("{notice}; {progress}");
    }
    // A failed or rolled-back rollout outranks a bad annotation (whose words stay in the message):
    // `kubectl wait --for=condition=Progressing=False` must see it.
    let problems = facts.problems.join("; ");
    let with_problems = |text: String| {
        if problems.is_empty() {
            text
        } else {
            format!("{text}; {problems}")
        }
    };
    if let Some(why) = &facts.rolled_back {
        return ("False", "RolledBack", with_problems(format!("{why}; {progress}")));
    }
    if let Some(error) = &facts.rollback_error {
        return ("False", "RollbackFailed", with_problems(format!("{error}; {progress}")));
    }
    if let Some(failure) = &facts.failure {
        return (
            "False",
            "ProgressDeadlineExceeded",
            with_problems(format!("{failure}; {progress}")),
        );
    }
    if !problems.is_empty() {
        let status = if held(facts, "invalid-control") > 0 {
            "Unknown"
        } else {
            "True"
        };
        return (status, "InvalidAnnotation", format!("{problems}; {progress}"));
    }
    if held(facts, "updated-node-not-ready") > 0 {
        return ("False", "UpdatedNodeNotReady", progress);
    }
    if facts.is_complete() {
        return ("True", "RolloutComplete", progress);
    }
    if held(facts, "paused") > 0 {
        return ("Unknown", "Paused", progress);
    }
    let rollable = facts
        .old_nodes
        .saturating_sub(held(facts, "partition") + held(facts, "canary"));
    if rollable == 0 && facts.counts.number_available == facts.counts.desired_number_scheduled {
        let reason = if held(facts, "partition") >= held(facts, "canary") {
            "PartitionHeld"
        } else {
            "CanaryHeld"
        };
        return ("True", reason, progress);
    }
    if held(facts, "soaking") > 0 {
        return ("True", "Soaking", progress);
    }
    ("True", "NewRevisionRolling", progress)
}

/// The two conditions for this sync; a status that did not change keeps its transition time.
pub fn compute(facts: &RolloutFacts<'_>, stored_conditions: &[ConditionView], now: Timestamp) -> [Condition; 2] {
    let (status, reason, message) = progressing(facts);
    let counts = &facts.counts;
    let minimum = (i64::from(counts.desired_number_scheduled) - facts.max_unavailable).max(0);
    let available = i64::from(counts.number_available) >= minimum;
    let (available_status, available_reason) = if available {
        ("True", "MinimumNodesAvailable")
    } else {
        ("False", "MinimumNodesUnavailable")
    };
    let available_message = format!(
        "{} of {} nodes run an available pod; at least {minimum} must",
        counts.number_available, counts.desired_number_scheduled
    );
    let build = |type_, status, reason, message| {
        let last_transition_time = stored(stored_conditions, type_)
            .filter(|stored| stored.status == status)
            .and_then(|stored| stored.last_transition_time)
            .unwrap_or(now);
        Condition {
            type_,
            status,
            reason,
            message,
            last_transition_time,
        }
    };
    [
        build(PROGRESSING, status, reason, message),
        build(AVAILABLE, available_status, available_reason, available_message),
    ]
}
