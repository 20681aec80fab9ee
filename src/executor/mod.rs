//! Applies a Plan to the API server: ownership, history, pod creates and deletes, status, Events (I/O).
//!
//! Order follows upstream's syncDaemonSet: claim revisions → construct history → claim pods →
//! manage or rolling-update writes (with expectations set first) → cleanup history → status.
//! Invariant: pod creates and deletes are issued only after the DaemonSet's expectations are set
//! to exactly their number, so the next sync waits until the watch has shown every one of them.

mod coexist;
pub mod events;
mod history;
mod ownership;
mod pods;
mod rollout;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::kube::paths::daemon_set_path;
use crate::kube::{ApiClient, ApiError, PatchKind};
use crate::planner::revisions::{CurrentRevision, HistoryPlan};
use crate::planner::{Plan, Step};
use crate::snapshot::{DaemonSetStatusView, DaemonSetView, ObjectKey};
use crate::store::Expectations;
use events::{DaemonSetEvent, EventSink, daemon_set_reference};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("{failed} of {attempted} pod writes failed; first: {first}")]
    PodWrites {
        failed: usize,
        attempted: usize,
        #[source]
        first: ApiError,
    },
    #[error("revision name {0} is taken by another template: collisionCount bumped, syncing again")]
    Collision(String),
    #[error("the sync panicked (a bug: please report it with the log)")]
    Panicked,
}

/// What one sync did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The plan was carried out.
    Written(Written),
    /// A fresh read showed the cached DaemonSet outdated (changed, deleted or being deleted), or a
    /// revision to create exists but is not cached yet: nothing was written; the watch brings the
    /// change and a sync with it.
    Stale,
}

/// What a carried-out plan wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub created: usize,
    pub deleted: usize,
    pub status_written: bool,
}

/// Status writes made and not yet collected by the caller: when each DaemonSet's status was
/// written, recorded as the write succeeds, whatever the rest of the sync does. A sync that wrote
/// the status and then failed is retried within milliseconds, and the retry must wait out
/// `--status-interval` too (its cache may not show the write yet, and would have it written
/// again unchanged).
#[derive(Debug, Default)]
pub struct StatusWrites(Mutex<HashMap<ObjectKey, Instant>>);

impl StatusWrites {
    /// When the status of `key` was written since the last call, if it was.
    pub fn take(&self, key: &ObjectKey) -> Option<Instant> {
        self.0.lock().remove(key)
    }

    fn record(&self, key: ObjectKey) {
        self.0.lock().insert(key, Instant::now());
    }
}

/// Writes plans for one controller process.
#[derive(Clone)]
pub struct Executor {
    api: ApiClient,
    events: EventSink,
    expectations: Arc<Expectations>,
    status_writes: Arc<StatusWrites>,
}

/// The status patch; `metadata.uid` makes it fail on a same-named successor of the DaemonSet.
/// `conditions` replaces the whole list (merge patch), so it carries the other writers' conditions too.
fn status_json(uid: &str, status: &DaemonSetStatusView, conditions: Option<Vec<Value>>) -> Value {
    let counts = &status.counts;
    let mut body = json!({
        "observedGeneration": status.observed_generation,
        "desiredNumberScheduled": counts.desired_number_scheduled,
        "currentNumberScheduled": counts.current_number_scheduled,
        "numberMisscheduled": counts.number_misscheduled,
        "numberReady": counts.number_ready,
        "updatedNumberScheduled": counts.updated_number_scheduled,
        "numberAvailable": counts.number_available,
        "numberUnavailable": counts.number_unavailable,
    });
    if let Some(collisions) = status.collision_count {
        body["collisionCount"] = json!(collisions);
    }
    if let Some(conditions) = conditions {
        body["conditions"] = Value::Array(conditions);
    }
    json!({ "metadata": {"uid": uid}, "status": body })
}

/// The conditions to write: daemonroll's, and the stored ones of other types as they are.
fn conditions_json(plan: &Plan<'_>) -> Option<Vec<Value>> {
    let ours = plan.rollout.conditions.as_ref()?;
    let time = |t: Option<crate::snapshot::Timestamp>| t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let mut list: Vec<Value> = ours
        .iter()
        .map(|condition| {
            json!({
                "type": condition.type_,
                "status": condition.status,
                "reason": condition.reason,
                "message": condition.message,
                "lastTransitionTime": time(Some(condition.last_transition_time)),
            })
        })
        .collect();
    for other in &plan.daemon_set.conditions {
        if ours.iter().all(|condition| condition.type_ != other.type_) {
            list.push(json!({
                "type": other.type_,
                "status": other.status,
                "reason": other.reason,
                "message": other.message,
                "lastTransitionTime": time(other.last_transition_time),
            }));
        }
    }
    Some(list)
}

impl Executor {
    pub fn new(api: ApiClient, events: EventSink, expectations: Arc<Expectations>) -> Self {
        Executor {
            api,
            events,
            expectations,
            status_writes: Arc::default(),
        }
    }

    /// The status writes made since the caller last collected them.
    pub fn status_writes(&self) -> &StatusWrites {
        &self.status_writes
    }

    pub fn events(&self) -> &EventSink {
        &self.events
    }

    fn event(&self, plan: &Plan<'_>, warning: bool, reason: &str, message: String) {
        self.events.send(DaemonSetEvent {
            warning,
            reason: reason.into(),
            message,
            regarding: daemon_set_reference(&plan.daemon_set.key(), Some(&plan.daemon_set.uid)),
            related: None,
        });
    }

    /// Applies `plan` for the DaemonSet `key`. `write_status` is false when the caller defers a
    /// changed status to a later sync.
    pub async fn apply(&self, key: &ObjectKey, plan: &Plan<'_>, write_status: bool) -> Result<Applied, SyncError> {
        if plan.coexist {
            return coexist::apply(self, key, plan, write_status).await;
        }
        let ds = plan.daemon_set;
        for event in &plan.events {
            self.event(plan, event.warning, event.reason, event.message.clone());
        }
        let mut written = Written::default();
        let Some(history) = &plan.history else {
            return Ok(Applied::Written(written));
        };
        if let CurrentRevision::Collision { name, .. } = &history.current {
            if let Some(update) = &plan.status {
                self.write_status(plan, &update.status).await?;
            }
            return Err(SyncError::Collision(name.clone()));
        }
        if writes_objects(plan, history) && !self.is_current(ds).await? {
            return Ok(Applied::Stale);
        }
        ownership::claim_revisions(self, plan).await?;
        match history::apply(self, plan, history).await {
            Ok(()) => {}
            Err(history::HistoryError::Api(error)) => return Err(error.into()),
            Err(history::HistoryError::NotYetSeen) => return Ok(Applied::Stale),
        }
        ownership::claim_pods(self, plan).await?;

        let mut pod_error = None;
        if plan.step != Step::Idle {
            let delete_uids = plan.deletes.iter().map(|pod| pod.uid.as_str());
            self.expectations
                .set(key, plan.creates.len(), delete_uids, std::time::Instant::now());
            let pods = pods::create_and_delete(self, key, plan).await;
            written.created = pods.created;
            written.deleted = pods.deleted;
            pod_error = pods.error;
        }
        // Upstream: updateDaemonSet cleans up history only after manage and the rolling update succeeded.
        if pod_error.is_none() {
            history::prune(self, plan).await?;
            if rollout::apply(self, plan).await? {
                // The template changed: the status of the old one is not worth writing.
                return Ok(Applied::Written(written));
            }
        }
        if let Some(update) = plan.status.filter(|update| update.changed && write_status) {
            self.write_status(plan, &update.status).await?;
            written.status_written = true;
        }
        tracing::debug!(ds = %key, created = written.created, deleted = written.deleted,
            status = written.status_written, "sync applied");
        match pod_error {
            Some(error) => Err(error),
            None => Ok(Applied::Written(written)),
        }
    }

    /// Whether a fresh read (not the cache) shows the DaemonSet as planned: same uid and generation,
    /// not being deleted. Upstream rechecks this before adopting (controller_ref_manager.go
    /// RecheckDeletionTimestamp); daemonroll rechecks before any object write, because the pod and
    /// DaemonSet watches are independent: a garbage collector deleting the pods of a DaemonSet being
    /// deleted can be seen before the deletion mark, and pods must not be recreated then.
    async fn is_current(&self, ds: &DaemonSetView) -> Result<bool, ApiError> {
        let fresh = match self.api.get(&daemon_set_path(&ds.namespace, &ds.name)).await {
            Ok(fresh) => fresh,
            Err(error) if error.is_not_found() => return Ok(false),
            Err(error) => return Err(error),
        };
        let uid = fresh
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let generation = fresh
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let deleting = fresh
            .pointer("/metadata/deletionTimestamp")
            .is_some_and(|t| !t.is_null());
        let current = uid == ds.uid && generation == ds.generation && !deleting;
        if !current {
            tracing::debug!(ds = %ds.key(), uid, generation, deleting, "cache is behind the API server: not writing");
        }
        Ok(current)
    }

    async fn write_status(&self, plan: &Plan<'_>, status: &DaemonSetStatusView) -> Result<(), ApiError> {
        let ds = plan.daemon_set;
        let path = format!("{}/status", daemon_set_path(&ds.namespace, &ds.name));
        match self
            .api
            .patch(
                &path,
                PatchKind::Merge,
                &status_json(&ds.uid, status, conditions_json(plan)),
            )
            .await
        {
            Ok(_) => {
                self.status_writes.record(ds.key());
                Ok(())
            }
            // Deleted, or replaced by a same-named DaemonSet (uid mismatch): nothing to report on.
            Err(error) if error.is_not_found() || error.is_conflict() || error.code() == Some(422) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

/// Whether the plan writes anything but status.
fn writes_objects(plan: &Plan<'_>, history: &HistoryPlan<'_>) -> bool {
    let ownership = &plan.ownership;
    plan.step != Step::Idle
        || !plan.prune_revisions.is_empty()
        || !ownership.adopt_pods.is_empty()
        || !ownership.release_pods.is_empty()
        || !ownership.adopt_revisions.is_empty()
        || !ownership.release_revisions.is_empty()
        || !history.label_with_name.is_empty()
        || !history.duplicates.is_empty()
        || !matches!(history.current, CurrentRevision::Existing { renumber_to: None, .. })
        || plan.rollout.rollback.is_some()
        || plan.rollout.mark_complete.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::StatusCounts;

    #[test]
    fn status_body_carries_every_counter_and_the_collision_count_only_when_set() {
        let status = DaemonSetStatusView {
            counts: StatusCounts {
                desired_number_scheduled: 3,
                current_number_scheduled: 2,
                number_misscheduled: 1,
                number_ready: 2,
                updated_number_scheduled: 1,
                number_available: 2,
                number_unavailable: 1,
            },
            observed_generation: 4,
            collision_count: None,
        };
        let body = status_json("u1", &status, None);
        assert_eq!(body["status"]["desiredNumberScheduled"], 3);
        assert_eq!(body["status"]["numberMisscheduled"], 1);
        assert_eq!(body["status"]["observedGeneration"], 4);
        assert!(body["status"].get("collisionCount").is_none());
        let bumped = DaemonSetStatusView {
            collision_count: Some(2),
            ..status
        };
        assert_eq!(status_json("u1", &bumped, None)["status"]["collisionCount"], 2);
        assert_eq!(body["metadata"]["uid"], "u1", "the patch is for this DaemonSet only");
    }
}
