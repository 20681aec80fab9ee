//! Renders plans for people (table) and programs (the `plan -o json` contract) (pure).

pub mod json;
#[doc(hidden)]
pub mod preview;
pub mod table;

use crate::planner::Plan;
use crate::snapshot::DaemonSetStatusView;

/// The status a plan leaves behind: the computed one, or the stored one when the sync writes none.
pub fn resulting_status(plan: &Plan<'_>) -> DaemonSetStatusView {
    plan.status.map_or(plan.daemon_set.status, |update| update.status)
}
