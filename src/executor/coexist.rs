//! Applies a coexist-mode plan: pod deletes (uid preconditions, expectations set first) and
//! daemonroll's own prefixed conditions; kube-controller-manager writes everything else (I/O).

use serde_json::{Value, json};

use super::{Applied, Executor, SyncError, Written, pods, rollout};
use crate::kube::paths::daemon_set_path;
use crate::kube::{ApiError, PatchKind};
use crate::planner::Plan;
use crate::planner::coexist::{CONDITION_PREFIX, opted_in};
use crate::snapshot::{ObjectKey, Timestamp};

/// `write_status` is false when the caller defers changed conditions to a later sync.
pub async fn apply(
    executor: &Executor,
    key: &ObjectKey,
    plan: &Plan<'_>,
    write_status: bool,
) -> Result<Applied, SyncError> {
    for event in &plan.events {
        executor.event(plan, event.warning, event.reason, event.message.clone());
    }
    let mut written = Written::default();
    let rollout_writes = plan.rollout.rollback.is_some() || plan.rollout.mark_complete.is_some();
    // The strategy and the opt-in are read again right before a wave: a user flipping the
    // DaemonSet back to RollingUpdate must not see one more delete (README "On a managed cluster").
    if (!plan.deletes.is_empty() || rollout_writes) && !still_coexist(executor, plan).await? {
        return Ok(Applied::Stale);
    }
    if !plan.deletes.is_empty() {
        let delete_uids = plan.deletes.iter().map(|pod| pod.uid.as_str());
        executor
            .expectations
            .set(key, 0, delete_uids, std::time::Instant::now());
        let pods = pods::create_and_delete(executor, key, plan).await;
        written.deleted = pods.deleted;
        if let Some(error) = pods.error {
            return Err(error);
        }
    }
    if rollout::apply(executor, plan).await? {
        return Ok(Applied::Written(written));
    }
    if (plan.rollout.write_conditions && write_status) || plan.rollout.clear_conditions {
        write_conditions(executor, plan).await?;
        written.status_written = true;
    }
    Ok(Applied::Written(written))
}

/// A fresh read shows the same DaemonSet, still OnDelete, still opted in, not being deleted.
async fn still_coexist(executor: &Executor, plan: &Plan<'_>) -> Result<bool, ApiError> {
    let ds = plan.daemon_set;
    let fresh = match executor.api.get(&daemon_set_path(&ds.namespace, &ds.name)).await {
        Ok(fresh) => fresh,
        Err(error) if error.is_not_found() => return Ok(false),
        Err(error) => return Err(error),
    };
    let view = match crate::snapshot::from_json::daemon_set_from_json(&fresh) {
        Ok(view) => view,
        Err(_) => return Ok(false),
    };
    // Generation too: a template the user changed since the plan must not lose pods or be
    // overwritten by a rollback planned from the older one.
    let current = view.uid == ds.uid
        && view.generation == ds.generation
        && view.deletion_timestamp.is_none()
        && opted_in(&view)
        && matches!(view.update_strategy, crate::snapshot::UpdateStrategy::OnDelete);
    if !current {
        tracing::info!(ds = %ds.key(), "no longer an opted-in OnDelete DaemonSet: not deleting");
    }
    Ok(current)
}

/// The status patch of coexist mode: `conditions` only (daemonroll's, prefixed, and everyone
/// else's as stored), never a counter; `metadata.uid` guards against a same-named successor.
pub fn conditions_patch(plan: &Plan<'_>) -> Value {
    let time = |t: Option<Timestamp>| t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let mut list: Vec<Value> = plan
        .daemon_set
        .conditions
        .iter()
        .filter(|condition| !condition.type_.starts_with(CONDITION_PREFIX))
        .map(|condition| {
            json!({"type": condition.type_, "status": condition.status, "reason": condition.reason,
                   "message": condition.message, "lastTransitionTime": time(condition.last_transition_time)})
        })
        .collect();
    if !plan.rollout.clear_conditions
        && let Some(ours) = &plan.rollout.conditions
    {
        for condition in ours {
            list.push(json!({
                "type": format!("{CONDITION_PREFIX}{}", condition.type_),
                "status": condition.status,
                "reason": condition.reason,
                "message": condition.message,
                "lastTransitionTime": time(Some(condition.last_transition_time)),
            }));
        }
    }
    json!({"metadata": {"uid": plan.daemon_set.uid}, "status": {"conditions": list}})
}

async fn write_conditions(executor: &Executor, plan: &Plan<'_>) -> Result<(), ApiError> {
    let ds = plan.daemon_set;
    let path = format!("{}/status", daemon_set_path(&ds.namespace, &ds.name));
    match executor
        .api
        .patch(&path, PatchKind::Merge, &conditions_patch(plan))
        .await
    {
        Ok(_) => {
            executor.status_writes.record(ds.key());
            Ok(())
        }
        Err(error) if error.is_not_found() || error.is_conflict() || error.code() == Some(422) => Ok(()),
        Err(error) => Err(error),
    }
}
