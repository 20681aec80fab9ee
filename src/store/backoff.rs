//! Failed-pod backoff state of every DaemonSet, kept under upstream's key (pure: times are passed in
//! by the planner's updates).
//!
//! Upstream: daemon_controller.go failedPodsBackoffKey, `<uid>/<status.observedGeneration>/<node>`,
//! computed from the DaemonSet as a sync read it. So a fixed template starts without backoff once
//! the status has observed its generation, and a DaemonSet recreated under the same name starts
//! fresh. Only the newest (uid, observedGeneration) of a DaemonSet is kept: once a sync reads a
//! newer one, the older key is never read again (upstream lets such entries expire instead).

use std::collections::HashMap;

use crate::snapshot::{BackoffEntry, DaemonSetView, FailedPodBackoff, ObjectKey};

/// The DaemonSet incarnation and status generation a backoff record belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Generation {
    uid: String,
    observed_generation: i64,
}

impl Generation {
    fn of(daemon_set: &DaemonSetView) -> Self {
        Generation {
            uid: daemon_set.uid.clone(),
            observed_generation: daemon_set.status.observed_generation,
        }
    }
}

#[derive(Debug, Default)]
pub struct FailedPodBackoffs {
    records: HashMap<ObjectKey, (Generation, FailedPodBackoff)>,
}

impl FailedPodBackoffs {
    /// The backoff a sync of `daemon_set` (as the sync read it) plans with.
    pub fn for_sync(&self, key: &ObjectKey, daemon_set: &DaemonSetView) -> FailedPodBackoff {
        match self.records.get(key) {
            Some((generation, backoff)) if *generation == Generation::of(daemon_set) => backoff.clone(),
            _ => FailedPodBackoff::default(),
        }
    }

    /// Records the entries a sync of `daemon_set` (as the sync read it) advanced.
    pub fn record<'n>(
        &mut self,
        key: &ObjectKey,
        daemon_set: &DaemonSetView,
        updates: impl IntoIterator<Item = (&'n str, BackoffEntry)>,
    ) {
        let generation = Generation::of(daemon_set);
        let (kept, backoff) = self
            .records
            .entry(key.clone())
            .or_insert_with(|| (generation.clone(), FailedPodBackoff::default()));
        if *kept != generation {
            *kept = generation;
            *backoff = FailedPodBackoff::default();
        }
        for (node, entry) in updates {
            backoff.entries.insert(node.to_string(), entry);
        }
    }

    /// Forgets a deleted DaemonSet.
    pub fn forget(&mut self, key: &ObjectKey) {
        self.records.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::snapshot::from_json::daemon_set_from_json;

    fn daemon_set(uid: &str, observed_generation: i64) -> DaemonSetView {
        let object = serde_json::json!({
            "metadata": {"name": "agent", "namespace": "ns", "uid": uid},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {}},
            "status": {"observedGeneration": observed_generation},
        });
        match daemon_set_from_json(&object) {
            Ok(view) => view,
            Err(error) => panic!("the fixture is a valid DaemonSet: {error}"),
        }
    }

    fn entry(seconds: u64) -> BackoffEntry {
        BackoffEntry {
            last_update: chrono::DateTime::UNIX_EPOCH,
            delay: Duration::from_secs(seconds),
        }
    }

    fn key() -> ObjectKey {
        ObjectKey::new("ns", "agent")
    }

    #[test]
    fn a_sync_of_the_same_generation_sees_the_recorded_backoff() {
        let mut backoffs = FailedPodBackoffs::default();
        backoffs.record(&key(), &daemon_set("u1", 3), [("n1", entry(8))]);
        let backoff = backoffs.for_sync(&key(), &daemon_set("u1", 3));
        assert_eq!(backoff.entries.get("n1"), Some(&entry(8)));
    }

    #[test]
    fn a_newly_observed_generation_starts_without_backoff() {
        let mut backoffs = FailedPodBackoffs::default();
        backoffs.record(&key(), &daemon_set("u1", 3), [("n1", entry(8))]);
        assert!(backoffs.for_sync(&key(), &daemon_set("u1", 4)).entries.is_empty());
    }

    #[test]
    fn a_daemon_set_recreated_under_the_same_name_starts_without_backoff() {
        let mut backoffs = FailedPodBackoffs::default();
        backoffs.record(&key(), &daemon_set("u1", 3), [("n1", entry(8))]);
        assert!(backoffs.for_sync(&key(), &daemon_set("u2", 3)).entries.is_empty());
    }

    #[test]
    fn recording_for_a_new_generation_drops_the_old_entries() {
        let mut backoffs = FailedPodBackoffs::default();
        backoffs.record(&key(), &daemon_set("u1", 3), [("n1", entry(8))]);
        backoffs.record(&key(), &daemon_set("u1", 4), [("n2", entry(1))]);
        let backoff = backoffs.for_sync(&key(), &daemon_set("u1", 4));
        assert_eq!(backoff.entries.keys().collect::<Vec<_>>(), ["n2"]);
    }
}
