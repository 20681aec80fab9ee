//! `on-failure: rollback`: which revision a failed rollout returns to (pure).
//!
//! The target is the revision recorded as last complete (`daemonroll.io/last-complete-revision`,
//! written when a rollout completes with rollback configured), else the newest old revision, the
//! one `kubectl rollout undo` picks. Upstream kubectl: polymorphichelpers/rollback.go
//! DaemonSetRollbacker applies the revision's data as a strategic merge patch; so does the executor.

use super::controls::{LAST_COMPLETE_REVISION, ROLLED_BACK_TO};
use crate::planner::revisions::hash_of;
use crate::snapshot::{DaemonSetView, RevisionView};

/// A template to restore.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollback<'s> {
    pub to: &'s RevisionView,
    /// The hash of the restored revision (recorded in `daemonroll.io/rolled-back-to`).
    pub to_hash: &'s str,
    /// The hash of the revision that failed.
    pub from_hash: String,
    /// Why, for the annotation, the Event and the condition.
    pub reason: String,
}

/// Whether the current revision is the result of a rollback daemonroll made.
pub fn is_rolled_back(daemon_set: &DaemonSetView, update_hash: &str) -> bool {
    !update_hash.is_empty() && daemon_set.annotations.get(ROLLED_BACK_TO) == Some(update_hash)
}

/// The revision to restore, or why there is none. `old` is ascending by revision number.
pub fn target<'s>(daemon_set: &DaemonSetView, old: &[&'s RevisionView]) -> Result<&'s RevisionView, String> {
    if let Some(hash) = daemon_set.annotations.get(LAST_COMPLETE_REVISION)
        && let Some(revision) = old.iter().rev().find(|revision| hash_of(revision) == hash)
    {
        return Ok(revision);
    }
    old.last()
        .copied()
        .ok_or_else(|| "no earlier revision to roll back to: the rollout pauses instead".to_string())
}
