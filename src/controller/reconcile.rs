//! One reconcile of one DaemonSet: a Snapshot from the store, the plan, status spacing, the
//! executor's writes, and what the sync leaves for the next one (backoff, requeue) (I/O).
//!
//! Invariants: expectations are read before the cache (observations reach the cache before they
//! lower expectations, so met expectations imply the cache shows the observed pods); a changed
//! status is written at most once per `status_interval` per DaemonSet, and a deferred one is
//! written when the interval ends; a sync that found its cache stale advances no backoff; a sync is
//! deferred (not planned) only while it could neither write a pod (expectations pending) nor a
//! status (interval not over) and the DaemonSet is the one the last plan read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::DynamicObject;
use kube::runtime::controller::Action;

use super::Controller;
use super::metrics::{ErrorLabels, OutcomeLabels};
use super::options::Mode;
use crate::executor::{Applied, SyncError, Written};
use crate::planner::{self, Plan};
use crate::snapshot::{DaemonSetStatusView, ObjectKey};

/// When to look again at a DaemonSet whose cached copy was found outdated.
const STALE_RETRY: Duration = Duration::from_secs(1);

/// The first retry delay of a failing DaemonSet, doubled per consecutive failure up to the maximum.
/// Upstream: client-go workqueue DefaultControllerRateLimiter (its per-item exponential part).
const RETRY_BASE: Duration = Duration::from_millis(5);
const RETRY_MAX: Duration = Duration::from_secs(1000);

impl Controller {
    /// The Controller's reconcile function: runs the sync in a task of its own, so that a panic
    /// fails only this sync, and records its outcome.
    pub(super) async fn reconcile(object: Arc<DynamicObject>, this: Arc<Self>) -> Result<Action, SyncError> {
        let key = key_of(&object);
        let started = Instant::now();
        let sync = tokio::spawn({
            let this = Arc::clone(&this);
            let key = key.clone();
            async move { this.sync(&key).await }
        });
        let result = match sync.await {
            Ok(result) => result,
            Err(error) => {
                tracing::error!(ds = %key, %error, "sync panicked");
                Err(SyncError::Panicked)
            }
        };
        this.record_outcome(started, &result);
        match result.map(SyncOutcome::requeue) {
            Ok(requeue) => {
                this.failures.lock().remove(&key);
                Ok(requeue.map_or_else(Action::await_change, Action::requeue))
            }
            Err(error) => Err(error),
        }
    }

    /// The Controller's error policy: retry after the DaemonSet's next exponential delay.
    pub(super) fn retry_after_failure(object: Arc<DynamicObject>, error: &SyncError, this: Arc<Self>) -> Action {
        let key = key_of(&object);
        let delay = {
            let mut failures = this.failures.lock();
            let count = failures.entry(key.clone()).or_default();
            let delay = retry_delay(*count);
            *count = count.saturating_add(1);
            delay
        };
        tracing::warn!(ds = %key, %error, retry_in_ms = delay.as_millis() as u64, "sync failed");
        Action::requeue(delay)
    }

    fn record_outcome(&self, started: Instant, result: &Result<SyncOutcome, SyncError>) {
        self.metrics.sync_duration.observe(started.elapsed().as_secs_f64());
        let outcome = match result {
            Ok(SyncOutcome::Planned(_)) => "success",
            Ok(SyncOutcome::Deferred(_)) => "deferred",
            Err(_) => "error",
        };
        self.metrics
            .syncs
            .get_or_create(&OutcomeLabels { result: outcome })
            .inc();
        if let Err(error) = result {
            let kind = match error {
                SyncError::Api(_) => "api",
                SyncError::PodWrites { .. } => "pod_writes",
                SyncError::Collision(_) => "collision",
                SyncError::Panicked => "panic",
            };
            self.metrics.sync_errors.get_or_create(&ErrorLabels { kind }).inc();
        }
        let pending = self.expectations.pending_count(Instant::now());
        self.metrics.expectations_pending.set(pending as i64);
    }

    /// One sync of `key`; says when to sync again regardless of events.
    async fn sync(&self, key: &ObjectKey) -> Result<SyncOutcome, SyncError> {
        let started = Instant::now();
        let satisfied = self.expectations.satisfied(key, started);
        if !satisfied && let Some(wait) = self.deferral(key, started) {
            return Ok(SyncOutcome::Deferred(wait));
        }
        let (planned, snapshot) = {
            let mut store = self.store.lock();
            (store.cache().daemon_set(key), store.snapshot(key, chrono::Utc::now()))
        };
        let (Some(planned), Some(mut snapshot)) = (planned, snapshot) else {
            tracing::debug!(ds = %key, "DaemonSet not cached (deleted, or unreadable): nothing to do");
            return Ok(SyncOutcome::Planned(None));
        };
        self.last_planned.lock().insert(key.clone(), planned);
        snapshot.expectations_satisfied = satisfied;
        snapshot.burst_replicas = self.options.burst_replicas;
        snapshot.last_good_controls = self
            .last_good_controls
            .lock()
            .get(key)
            .filter(|(uid, _)| *uid == snapshot.daemon_set.uid)
            .map(|(_, good)| good.clone());

        if self.options.mode == Mode::Coexist {
            snapshot.awaiting_recreate = self.awaiting_recreate.lock().get(key).cloned().unwrap_or_default();
            snapshot.recreate_wait = self.options.recreate_wait;
            snapshot.replaced_by_daemonroll = self.replaced_by_daemonroll.lock().get(key).cloned();
        }
        let plan = match self.options.mode {
            Mode::Replace => planner::plan(&snapshot),
            Mode::Coexist => planner::coexist::plan(&snapshot),
        };
        self.report(key, &plan);
        self.remember_controls(key, &plan);
        let (write_status, status_wait) = self.status_spacing(key, &plan, started);
        let reported_done = reports_done(&plan);
        let result = self.executor.apply(key, &plan, write_status).await;
        // Whatever the result: a sync that wrote the status and then failed is retried within
        // milliseconds, and the retry must wait out the interval too.
        if let Some(at) = self.executor.status_writes().take(key) {
            let write = StatusWrite { at, reported_done };
            self.last_status_write.lock().insert(key.clone(), write);
        }
        // Upstream advances a node's failed-pod backoff when manage picks the pod, whatever the delete
        // returns; a sync that wrote nothing (stale cache) picked nothing.
        if !plan.backoff_updates.is_empty() && !matches!(result, Ok(Applied::Stale)) {
            let updates = plan.backoff_updates.iter().map(|(node, entry)| (*node, *entry));
            self.store.lock().record_backoff(key, &snapshot.daemon_set, updates);
        }
        if plan.coexist {
            self.remember_recreates(key, &plan, matches!(result, Ok(Applied::Written(_))));
        }
        let requeue = earliest(plan.requeue_after, status_wait);
        tracing::debug!(ds = %key, elapsed_ms = started.elapsed().as_millis() as u64, "synced");
        match result? {
            Applied::Written(written) => {
                self.record_written(&written);
                Ok(SyncOutcome::Planned(requeue))
            }
            // The watch brings the newer DaemonSet and a sync with it; this requeue is a safety net.
            Applied::Stale => Ok(SyncOutcome::Planned(Some(STALE_RETRY))),
        }
    }

    /// Logs what the plan found and exports its status.
    fn report(&self, key: &ObjectKey, plan: &Plan<'_>) {
        if let Some(update) = &plan.status {
            let current = update.status.observed_generation >= plan.daemon_set.generation;
            self.metrics.record_status(key, &update.status.counts, current);
        }
        for problem in &plan.problems {
            tracing::debug!(ds = %key, problem, "sync problem");
        }
        for event in plan.events.iter().filter(|e| e.warning) {
            tracing::warn!(ds = %key, reason = event.reason, "{}", event.message);
        }
        for event in plan.events.iter().filter(|e| !e.warning) {
            tracing::info!(ds = %key, reason = event.reason, "{}", event.message);
        }
        let failed_now = plan
            .events
            .iter()
            .any(|event| event.reason == "ProgressDeadlineExceeded");
        self.metrics.record_rollout(key, &plan.rollout, failed_now);
    }

    /// Coexist mode: the emptied nodes still waiting for kube-controller-manager, and this sync's.
    fn remember_recreates(&self, key: &ObjectKey, plan: &Plan<'_>, deleted: bool) {
        let mut waiting: std::collections::BTreeMap<_, _> = plan.rollout.awaiting_recreate.iter().cloned().collect();
        if deleted {
            let now = chrono::Utc::now();
            for pod in &plan.deletes {
                if let Some(node) = &pod.target_node {
                    waiting.entry(node.to_string()).or_insert(now);
                }
            }
        }
        let mut memory = self.awaiting_recreate.lock();
        if waiting.is_empty() {
            memory.remove(key);
        } else {
            memory.insert(key.clone(), waiting);
        }
        drop(memory);
        if deleted && !plan.deletes.is_empty() && !plan.update_revision.is_empty() {
            let mut replaced = self.replaced_by_daemonroll.lock();
            let entry = replaced
                .entry(key.clone())
                .or_insert_with(|| (plan.update_revision.clone(), Default::default()));
            if entry.0 != plan.update_revision {
                *entry = (plan.update_revision.clone(), Default::default());
            }
            entry.1.extend(
                plan.deletes
                    .iter()
                    .filter_map(|pod| pod.target_node.as_ref())
                    .map(|n| n.to_string()),
            );
        }
    }

    /// Keeps the control values that parsed, for the next sync of the same DaemonSet.
    fn remember_controls(&self, key: &ObjectKey, plan: &Plan<'_>) {
        let mut memory = self.last_good_controls.lock();
        if plan.rollout.good_annotations.is_empty() {
            memory.remove(key);
        } else {
            let uid = plan.daemon_set.uid.clone();
            memory.insert(key.clone(), (uid, plan.rollout.good_annotations.clone()));
        }
    }

    /// How long a sync with pending expectations may wait, if planning now could change nothing
    /// outside the process: no pod write (expectations pending, as upstream's syncDaemonSet skips
    /// manage), no status write (the status interval is not over) and no revision or rollback
    /// (the DaemonSet is the object the last plan read). Between waves a burst of pod events
    /// would otherwise plan the whole fleet once per event for nothing.
    fn deferral(&self, key: &ObjectKey, now: Instant) -> Option<Duration> {
        let cached = self.store.lock().cache().daemon_set(key)?;
        let unchanged = self
            .last_planned
            .lock()
            .get(key)
            .is_some_and(|planned| Arc::ptr_eq(planned, &cached));
        let last_status_write = self.last_status_write.lock().get(key).copied()?;
        deferral(
            unchanged,
            now.saturating_duration_since(last_status_write.at),
            self.options.status_interval,
        )
    }

    /// Whether this sync may write a changed status, and if not, how long until it may.
    fn status_spacing(&self, key: &ObjectKey, plan: &Plan<'_>, now: Instant) -> (bool, Option<Duration>) {
        let coexist_conditions = plan.coexist && plan.rollout.write_conditions;
        if !plan.status.is_some_and(|status| status.changed) && !coexist_conditions {
            return (true, None);
        }
        // The status that first reports a rollout done is written at once: `kubectl rollout
        // status` and anything gated on it see the end without up to an interval's lag. A pod
        // flapping afterwards costs at most one more write per interval.
        // Both the served status and daemonroll's own last write are consulted: right after that
        // write the cache still serves the old status, and the same status must not go out twice.
        let last = self.last_status_write.lock().get(key).copied();
        if first_report_of_done(reports_done(plan), last) {
            return (true, None);
        }
        let Some(last) = last else {
            return (true, None);
        };
        let since = now.saturating_duration_since(last.at);
        match self.options.status_interval.checked_sub(since) {
            Some(wait) if !wait.is_zero() => (false, Some(wait)),
            _ => (true, None),
        }
    }

    fn record_written(&self, written: &Written) {
        self.metrics.pods_created.inc_by(written.created as u64);
        self.metrics.pods_deleted.inc_by(written.deleted as u64);
    }
}

/// A status write of daemonroll's: when, and whether that status reported the rollout done.
#[derive(Clone, Copy, Debug)]
pub(super) struct StatusWrite {
    at: Instant,
    reported_done: bool,
}

/// Whether a status that reports the rollout done (and the served one does not) is the first
/// such report: not if daemonroll's own last write already said so and the cache lags behind it.
fn first_report_of_done(reports_done: bool, last: Option<StatusWrite>) -> bool {
    reports_done && !last.is_some_and(|written| written.reported_done)
}

/// Whether the plan's status reports the rollout done and the served status does not yet.
fn reports_done(plan: &Plan<'_>) -> bool {
    plan.status.is_some_and(|update| {
        reports_rollout_done(&update.status, plan.daemon_set.generation)
            && !reports_rollout_done(&plan.daemon_set.status, plan.daemon_set.generation)
    })
}

/// Whether a status says every desired pod is updated and available, for this generation.
fn reports_rollout_done(status: &DaemonSetStatusView, generation: i64) -> bool {
    let counts = &status.counts;
    status.observed_generation >= generation
        && counts.updated_number_scheduled == counts.desired_number_scheduled
        && counts.number_available == counts.desired_number_scheduled
        && counts.number_unavailable == 0
}

/// What a sync did.
enum SyncOutcome {
    /// Planned and applied; when to sync again regardless of events.
    Planned(Option<Duration>),
    /// Skipped (see `Controller::deferral`); sync again after this long at the latest.
    Deferred(Duration),
}

impl SyncOutcome {
    fn requeue(self) -> Option<Duration> {
        match self {
            SyncOutcome::Planned(requeue) => requeue,
            SyncOutcome::Deferred(wait) => Some(wait),
        }
    }
}

/// The wait before a sync with pending expectations must plan: none unless the DaemonSet is
/// `unchanged` since the last plan and a status was written less than `status_interval` ago.
fn deferral(unchanged: bool, since_status_write: Duration, status_interval: Duration) -> Option<Duration> {
    let wait = status_interval.checked_sub(since_status_write)?;
    (unchanged && !wait.is_zero()).then_some(wait)
}

fn key_of(object: &DynamicObject) -> ObjectKey {
    let metadata = &object.metadata;
    ObjectKey::new(
        metadata.namespace.as_deref().unwrap_or_default(),
        metadata.name.as_deref().unwrap_or_default(),
    )
}

fn earliest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// 5 ms doubling per earlier consecutive failure, at most 1000 s.
fn retry_delay(failures: u32) -> Duration {
    RETRY_BASE
        .checked_mul(1u32.checked_shl(failures).unwrap_or(u32::MAX))
        .unwrap_or(RETRY_MAX)
        .min(RETRY_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_is_deferred_until_the_status_interval_ends_if_the_daemon_set_is_unchanged() {
        let interval = Duration::from_secs(1);
        assert_eq!(
            deferral(true, Duration::from_millis(300), interval),
            Some(Duration::from_millis(700))
        );
    }

    #[test]
    fn a_changed_daemon_set_or_an_ended_status_interval_is_planned_at_once() {
        let interval = Duration::from_secs(1);
        assert_eq!(deferral(false, Duration::from_millis(300), interval), None);
        assert_eq!(deferral(true, interval, interval), None);
        assert_eq!(deferral(true, Duration::from_secs(5), interval), None);
    }

    fn status(desired: i32, updated: i32, available: i32, observed_generation: i64) -> DaemonSetStatusView {
        let mut status = DaemonSetStatusView {
            observed_generation,
            ..DaemonSetStatusView::default()
        };
        status.counts.desired_number_scheduled = desired;
        status.counts.updated_number_scheduled = updated;
        status.counts.number_available = available;
        status.counts.number_unavailable = desired - available;
        status
    }

    #[test]
    fn a_rollout_is_done_when_every_desired_pod_is_updated_and_available_for_the_generation() {
        assert!(reports_rollout_done(&status(5, 5, 5, 2), 2));
        assert!(!reports_rollout_done(&status(5, 4, 5, 2), 2));
        assert!(!reports_rollout_done(&status(5, 5, 4, 2), 2));
        assert!(!reports_rollout_done(&status(5, 5, 5, 1), 2));
    }

    #[test]
    fn a_done_status_skips_the_spacing_only_once_even_while_the_cache_serves_the_old_status() {
        let at = Instant::now();
        let earlier_progress = StatusWrite {
            at,
            reported_done: false,
        };
        let done_already_written = StatusWrite {
            at,
            reported_done: true,
        };
        assert!(first_report_of_done(true, None));
        assert!(first_report_of_done(true, Some(earlier_progress)));
        assert!(!first_report_of_done(true, Some(done_already_written)));
        assert!(!first_report_of_done(false, None));
    }

    #[test]
    fn retries_start_at_5_ms_and_double_up_to_1000_s() {
        let delays: Vec<Duration> = (0..4).map(retry_delay).collect();
        assert_eq!(delays, [5, 10, 20, 40].map(Duration::from_millis).to_vec());
        assert_eq!(retry_delay(30), RETRY_MAX);
        assert_eq!(retry_delay(u32::MAX), RETRY_MAX);
    }
}
