//! Expectations: the creates and deletes a DaemonSet's last sync issued that the watch has not shown yet.
//!
//! Upstream: pkg/controller/controller_utils.go ControllerExpectations for creates, and
//! UIDTrackingControllerExpectations (as the ReplicaSet controller uses) for deletes. Invariant: while a
//! DaemonSet's expectations are unmet, its syncs only refresh status, so a lagging cache never yields a
//! second pod for a node nor a second delete of a pod. Deletes are tracked by pod uid: upstream's
//! DaemonSet controller counts them, so the removal of a pod deleted by an earlier sync (a pod is
//! observed twice: marked terminating, then gone) could satisfy a later sync's delete. A record older
//! than the timeout counts as met (an event may have been lost). Pure: the clock is passed in.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::snapshot::ObjectKey;

/// Upstream: ExpectationsTimeout.
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(5 * 60);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Record {
    adds: i64,
    /// Uids of pods this DaemonSet deleted that the watch has not shown terminating or gone.
    deletes: HashSet<String>,
    set_at: Instant,
}

/// Expectations of every DaemonSet. Shared by the reconcilers and the watch event handlers, hence
/// the lock; every operation is short.
#[derive(Debug, Default)]
pub struct Expectations {
    records: Mutex<HashMap<ObjectKey, Record>>,
}

impl Expectations {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<ObjectKey, Record>) -> T) -> T {
        f(&mut self.records.lock())
    }

    /// Records that a sync is about to issue `adds` creates and delete the pods with `delete_uids`.
    /// Upstream: SetExpectations / ExpectDeletions (overwrites any earlier record).
    pub fn set<'u>(&self, key: &ObjectKey, adds: usize, delete_uids: impl IntoIterator<Item = &'u str>, now: Instant) {
        let record = Record {
            adds: adds as i64,
            deletes: delete_uids.into_iter().map(str::to_string).collect(),
            set_at: now,
        };
        self.with(|records| records.insert(key.clone(), record));
    }

    /// Whether a sync may act: no record, both counts reached, or the record timed out.
    /// Upstream: SatisfiedExpectations / ControlleeExpectations.Fulfilled / isExpired.
    pub fn satisfied(&self, key: &ObjectKey, now: Instant) -> bool {
        self.with(|records| match records.get(key) {
            None => true,
            Some(record) => {
                (record.adds <= 0 && record.deletes.is_empty())
                    || now.saturating_duration_since(record.set_at) > EXPECTATIONS_TIMEOUT
            }
        })
    }

    /// A pod this DaemonSet created was observed, or one create failed. Upstream: CreationObserved.
    pub fn creation_observed(&self, key: &ObjectKey) {
        self.lower_creates(key, 1);
    }

    /// The pod with `uid` was observed terminating or gone, or its delete failed; other pods' deletions
    /// do not count. Upstream: UIDTrackingControllerExpectations.DeletionObserved.
    pub fn deletion_observed(&self, key: &ObjectKey, uid: &str) {
        self.with(|records| {
            if let Some(record) = records.get_mut(key) {
                record.deletes.remove(uid);
            }
        });
    }

    /// Creates that will not happen (slow start stopped after a failed batch). Upstream: LowerExpectations.
    pub fn lower_creates(&self, key: &ObjectKey, adds: usize) {
        self.with(|records| {
            if let Some(record) = records.get_mut(key) {
                record.adds -= adds as i64;
            }
        });
    }

    /// Forgets a DaemonSet (it was deleted). Upstream: DeleteExpectations.
    pub fn forget(&self, key: &ObjectKey) {
        self.with(|records| records.remove(key));
    }

    /// How many DaemonSets wait on unobserved creates or deletes (expired records excluded).
    pub fn pending_count(&self, now: Instant) -> usize {
        self.with(|records| {
            records
                .values()
                .filter(|r| {
                    (r.adds > 0 || !r.deletes.is_empty())
                        && now.saturating_duration_since(r.set_at) <= EXPECTATIONS_TIMEOUT
                })
                .count()
        })
    }

    /// (creates, deletes) still expected.
    #[cfg(test)]
    pub fn pending(&self, key: &ObjectKey) -> Option<(i64, usize)> {
        self.with(|records| records.get(key).map(|r| (r.adds.max(0), r.deletes.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds() -> ObjectKey {
        ObjectKey::new("ns", "ds")
    }

    // Mirrors controller_utils_test.go TestControllerExpectations and TestUIDExpectations: creates and
    // deletes must both be observed; a fresh set overwrites; a record older than the timeout is met.
    #[test]
    fn expectations_are_met_by_observations_or_by_time() {
        let expectations = Expectations::default();
        let start = Instant::now();
        assert!(expectations.satisfied(&ds(), start), "no record means met");

        expectations.set(&ds(), 2, ["uid-a"], start);
        assert!(!expectations.satisfied(&ds(), start));
        expectations.creation_observed(&ds());
        expectations.deletion_observed(&ds(), "uid-a");
        assert_eq!(expectations.pending(&ds()), Some((1, 0)));
        assert!(!expectations.satisfied(&ds(), start), "one create still expected");
        expectations.creation_observed(&ds());
        assert!(expectations.satisfied(&ds(), start));
        expectations.creation_observed(&ds());
        assert!(expectations.satisfied(&ds(), start), "extra observations keep it met");

        expectations.set(&ds(), 3, [], start);
        expectations.lower_creates(&ds(), 2);
        assert!(
            !expectations.satisfied(&ds(), start + EXPECTATIONS_TIMEOUT),
            "not yet expired at the timeout"
        );
        assert!(
            expectations.satisfied(&ds(), start + EXPECTATIONS_TIMEOUT + Duration::from_secs(1)),
            "expired"
        );

        expectations.forget(&ds());
        assert_eq!(expectations.pending(&ds()), None);
        assert!(expectations.satisfied(&ds(), start));
    }

    #[test]
    fn only_the_expected_pods_deletions_count() {
        let expectations = Expectations::default();
        let start = Instant::now();
        expectations.set(&ds(), 0, ["uid-b"], start);
        // A pod deleted by an earlier sync disappears now: it must not stand in for uid-b.
        expectations.deletion_observed(&ds(), "uid-a");
        assert!(!expectations.satisfied(&ds(), start));
        expectations.deletion_observed(&ds(), "uid-b");
        assert!(expectations.satisfied(&ds(), start));
        expectations.deletion_observed(&ds(), "uid-b");
        assert!(
            expectations.satisfied(&ds(), start),
            "observed twice (terminating, gone): still met"
        );
    }

    #[test]
    fn observations_for_unknown_daemon_sets_are_ignored() {
        let expectations = Expectations::default();
        expectations.creation_observed(&ObjectKey::new("ns", "other"));
        expectations.deletion_observed(&ObjectKey::new("ns", "other"), "uid");
        assert_eq!(expectations.pending(&ObjectKey::new("ns", "other")), None);
    }
}
