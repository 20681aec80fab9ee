//! DaemonSetStatus counters, computed from the snapshot as given (pure).
//!
//! Upstream: daemon_controller.go updateDaemonSetStatus, storeDaemonSetStatus.
//! Invariants: only the first pod of a node in survivor order is judged; nodes that do not exist
//! count nowhere; numberUnavailable = desired − available.

use super::pods::NodeState;
use crate::snapshot::StatusCounts;

pub fn count(states: &[NodeState<'_>]) -> StatusCounts {
    let mut counts = StatusCounts::default();
    for state in states {
        let Some(eligibility) = state.eligibility else {
            continue;
        };
        let first = state.pods.first();
        if !eligibility.should_run() {
            if first.is_some() {
                counts.number_misscheduled += 1;
            }
            continue;
        }
        counts.desired_number_scheduled += 1;
        let Some(pod) = first else {
            continue;
        };
        counts.current_number_scheduled += 1;
        if pod.ready {
            counts.number_ready += 1;
            if pod.available {
                counts.number_available += 1;
            }
        }
        if pod.updated {
            counts.updated_number_scheduled += 1;
        }
    }
    counts.number_unavailable = counts.desired_number_scheduled - counts.number_available;
    counts
}
