//! Expectations: the creates and deletes a DaemonSet's last sync issued that the watch has not shown yet.
//!
//! Upstream: pkg/controller/controller_utils.go ControllerExpectations. Invariant: while a DaemonSet's
//! expectations are unmet, its syncs only refresh status, so a lagging cache never yields a second
//! pod for the same node. A record older than the timeout counts as met (an event may have been lost).
//! The clock is passed in, so that tests control it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Upstream: ExpectationsTimeout.
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(5 * 60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Record {
    adds: i64,
    deletes: i64,
    set_at: Instant,
}

/// Expectations of every DaemonSet, by `namespace/name`. Shared by the reconcilers and the watch
/// event handlers, hence the lock; every operation is short.
#[derive(Debug, Default)]
pub struct Expectations {
    records: Mutex<HashMap<String, Record>>,
}

impl Expectations {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Record>) -> T) -> T {
        let mut records = self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut records)
    }

    /// Records that a sync is about to issue `adds` creates and `deletes` deletes.
    /// Upstream: SetExpectations (overwrites any earlier record).
    pub fn set(&self, key: &str, adds: usize, deletes: usize, now: Instant) {
        let record = Record {
            adds: adds as i64,
            deletes: deletes as i64,
            set_at: now,
        };
        self.with(|records| records.insert(key.to_string(), record));
    }

    /// Whether a sync may act: no record, both counts reached, or the record timed out.
    /// Upstream: SatisfiedExpectations / ControlleeExpectations.Fulfilled / isExpired.
    pub fn satisfied(&self, key: &str, now: Instant) -> bool {
        self.with(|records| match records.get(key) {
            None => true,
            Some(record) => {
                (record.adds <= 0 && record.deletes <= 0)
                    || now.saturating_duration_since(record.set_at) > EXPECTATIONS_TIMEOUT
            }
        })
    }

    /// A pod this DaemonSet created was observed, or one create failed. Upstream: CreationObserved.
    pub fn creation_observed(&self, key: &str) {
        self.lower(key, 1, 0);
    }

    /// A pod this DaemonSet deletes was observed gone or terminating, or one delete failed.
    /// Upstream: DeletionObserved.
    pub fn deletion_observed(&self, key: &str) {
        self.lower(key, 0, 1);
    }

    /// Creates that will not happen (slow start stopped after a failed batch). Upstream: LowerExpectations.
    pub fn lower(&self, key: &str, adds: usize, deletes: usize) {
        self.with(|records| {
            if let Some(record) = records.get_mut(key) {
                record.adds -= adds as i64;
                record.deletes -= deletes as i64;
            }
        });
    }

    /// Forgets a DaemonSet (it was deleted). Upstream: DeleteExpectations.
    pub fn forget(&self, key: &str) {
        self.with(|records| records.remove(key));
    }

    /// (creates, deletes) still expected, for metrics and logs.
    pub fn pending(&self, key: &str) -> Option<(i64, i64)> {
        self.with(|records| records.get(key).map(|r| (r.adds.max(0), r.deletes.max(0))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Mirrors controller_utils_test.go TestControllerExpectations: adds and deletes must both be
    // observed; a fresh SetExpectations overwrites; a record older than the timeout is met.
    #[test]
    fn expectations_are_met_by_observations_or_by_time() {
        let expectations = Expectations::default();
        let start = Instant::now();
        assert!(expectations.satisfied("ns/ds", start), "no record means met");

        expectations.set("ns/ds", 2, 1, start);
        assert!(!expectations.satisfied("ns/ds", start));
        expectations.creation_observed("ns/ds");
        expectations.deletion_observed("ns/ds");
        assert_eq!(expectations.pending("ns/ds"), Some((1, 0)));
        assert!(!expectations.satisfied("ns/ds", start), "one create still expected");
        expectations.creation_observed("ns/ds");
        assert!(expectations.satisfied("ns/ds", start));
        expectations.creation_observed("ns/ds");
        assert!(expectations.satisfied("ns/ds", start), "extra observations keep it met");

        expectations.set("ns/ds", 3, 0, start);
        expectations.lower("ns/ds", 2, 0);
        assert!(
            !expectations.satisfied("ns/ds", start + EXPECTATIONS_TIMEOUT),
            "not yet expired at the timeout"
        );
        assert!(
            expectations.satisfied("ns/ds", start + EXPECTATIONS_TIMEOUT + Duration::from_secs(1)),
            "expired"
        );

        expectations.forget("ns/ds");
        assert_eq!(expectations.pending("ns/ds"), None);
        assert!(expectations.satisfied("ns/ds", start));
    }

    #[test]
    fn observations_for_unknown_daemon_sets_are_ignored() {
        let expectations = Expectations::default();
        expectations.creation_observed("ns/other");
        assert_eq!(expectations.pending("ns/other"), None);
    }
}
