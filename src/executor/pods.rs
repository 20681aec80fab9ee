//! Pod creates (slow start) and deletes for one sync (I/O).
//!
//! Upstream: daemon_controller.go syncNodes and controller_utils.go slowStartBatch. Creates go in
//! batches of 1, 2, 4, … and stop after the first batch with a failure; creates that were never
//! attempted and creates that failed are taken off the expectations, except timeouts (the pod may exist).

use futures::future::join_all;
use serde_json::Value;

use super::events::{DaemonSetEvent, daemon_set_reference, pod_reference};
use super::{Executor, SyncError};
use crate::kube::ApiError;
use crate::kube::paths;
use crate::planner::Plan;
use crate::planner::new_pod::daemon_pod;
use crate::snapshot::ObjectKey;

enum Outcome {
    Done,
    /// Failed without a trace on the server (or with an acceptable one): not an error for the sync.
    Ignored,
    Failed(ApiError),
}

fn pod_event(executor: &Executor, plan: &Plan<'_>, warning: bool, reason: &str, message: String, pod: Option<&str>) {
    executor.events.send(DaemonSetEvent {
        warning,
        reason: reason.into(),
        message,
        regarding: daemon_set_reference(&plan.daemon_set.key(), Some(&plan.daemon_set.uid)),
        related: pod.map(|name| pod_reference(&plan.daemon_set.namespace, name)),
    });
}

async fn create_one(executor: &Executor, key: &ObjectKey, plan: &Plan<'_>, node: &str) -> Outcome {
    let ds = plan.daemon_set;
    let pod = daemon_pod(ds, &plan.update_revision, node);
    match executor.api.create(&paths::pods_path(&ds.namespace), &pod).await {
        Ok(created) => {
            let name = created
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            tracing::info!(ds = %ds.key(), node, pod = name, "created daemon pod");
            pod_event(
                executor,
                plan,
                false,
                "SuccessfulCreate",
                format!("Created pod: {name}"),
                Some(name),
            );
            Outcome::Done
        }
        Err(error) if error.is_namespace_terminating() => {
            executor.expectations.creation_observed(key);
            Outcome::Ignored
        }
        Err(error) => {
            // A timed-out create may still happen: keep expecting it (upstream ReplicaSet does the same).
            if !error.is_timeout() {
                executor.expectations.creation_observed(key);
            }
            tracing::warn!(ds = %ds.key(), node, %error, "cannot create daemon pod");
            pod_event(
                executor,
                plan,
                true,
                "FailedCreate",
                format!("Error creating: {error}"),
                None,
            );
            Outcome::Failed(error)
        }
    }
}

async fn delete_one(executor: &Executor, key: &ObjectKey, plan: &Plan<'_>, name: &str, uid: &str) -> Outcome {
    let ds = plan.daemon_set;
    let uid = (!uid.is_empty()).then_some(uid);
    match executor.api.delete(&paths::pod_path(&ds.namespace, name), uid).await {
        Ok(_) => {
            tracing::info!(ds = %ds.key(), pod = name, "deleted daemon pod");
            pod_event(
                executor,
                plan,
                false,
                "SuccessfulDelete",
                format!("Deleted pod: {name}"),
                Some(name),
            );
            Outcome::Done
        }
        // Gone already, or replaced by a same-named pod (uid precondition): nothing to delete.
        Err(error) if error.is_not_found() || error.is_conflict() => {
            executor.expectations.deletion_observed(key, uid.unwrap_or_default());
            Outcome::Ignored
        }
        Err(error) => {
            executor.expectations.deletion_observed(key, uid.unwrap_or_default());
            tracing::warn!(ds = %ds.key(), pod = name, %error, "cannot delete daemon pod");
            pod_event(
                executor,
                plan,
                true,
                "FailedDelete",
                format!("Error deleting: {error}"),
                Some(name),
            );
            Outcome::Failed(error)
        }
    }
}

/// What the pod writes of one sync came to.
pub(super) struct PodWrites {
    pub created: usize,
    pub deleted: usize,
    /// Set when any create or delete failed: the count and the first failure.
    pub error: Option<SyncError>,
}

/// Issues the plan's creates and deletes.
pub(super) async fn create_and_delete(executor: &Executor, key: &ObjectKey, plan: &Plan<'_>) -> PodWrites {
    let mut failures: Vec<ApiError> = Vec::new();
    let mut created = 0;
    let mut attempted = 0;
    let mut batch = 1;
    while attempted < plan.creates.len() {
        let end = (attempted + batch).min(plan.creates.len());
        let outcomes = join_all(
            plan.creates[attempted..end]
                .iter()
                .map(|node| create_one(executor, key, plan, node)),
        )
        .await;
        attempted = end;
        let before = failures.len();
        for outcome in outcomes {
            match outcome {
                Outcome::Done => created += 1,
                Outcome::Ignored => {}
                Outcome::Failed(error) => failures.push(error),
            }
        }
        if failures.len() > before {
            break;
        }
        batch *= 2;
    }
    let skipped = plan.creates.len() - attempted;
    if skipped > 0 {
        tracing::info!(ds = %plan.daemon_set.key(), skipped, "slow start stopped after a failed batch");
        executor.expectations.lower_creates(key, skipped);
    }

    let deletes = join_all(
        plan.deletes
            .iter()
            .map(|pod| delete_one(executor, key, plan, &pod.name, &pod.uid)),
    )
    .await;
    let mut deleted = 0;
    for outcome in deletes {
        match outcome {
            Outcome::Done => deleted += 1,
            Outcome::Ignored => {}
            Outcome::Failed(error) => failures.push(error),
        }
    }
    let attempted = attempted + plan.deletes.len();
    let failed = failures.len();
    let error = failures.into_iter().next().map(|first| SyncError::PodWrites {
        failed,
        attempted,
        first,
    });
    PodWrites {
        created,
        deleted,
        error,
    }
}
