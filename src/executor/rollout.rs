//! Writes the rollout controls ask for beyond pods and status: a rollback of the template and
//! the last-complete-revision mark (I/O).
//!
//! Both are patches of the DaemonSet with `metadata.uid` set, so a same-named successor is never
//! touched; they are made only by the leader, like every other write.

use serde_json::{Value, json};

use super::Executor;
use crate::kube::paths::daemon_set_path;
use crate::kube::{ApiError, PatchKind};
use crate::planner::Plan;
use crate::planner::rollout::controls::{LAST_COMPLETE_REVISION, ROLLBACK_REASON, ROLLED_BACK_TO};

/// The rollback patch: the revision's data (`spec.template` with `$patch: replace`, as
/// `kubectl rollout undo` sends it; kubectl polymorphichelpers/rollback.go) plus the record of why.
pub fn rollback_patch(uid: &str, revision_data: &Value, to_hash: &str, reason: &str) -> Value {
    let mut body = revision_data.clone();
    if !body.is_object() {
        body = json!({});
    }
    body["metadata"] = json!({
        "uid": uid,
        "annotations": {ROLLED_BACK_TO: to_hash, ROLLBACK_REASON: reason},
    });
    body
}

pub fn mark_complete_patch(uid: &str, hash: &str) -> Value {
    json!({"metadata": {"uid": uid, "annotations": {LAST_COMPLETE_REVISION: hash}}})
}

/// Applies the plan's rollback and completion mark, if any. Returns whether the template changed.
pub async fn apply(executor: &Executor, plan: &Plan<'_>) -> Result<bool, ApiError> {
    let ds = plan.daemon_set;
    let path = daemon_set_path(&ds.namespace, &ds.name);
    if let Some(rollback) = &plan.rollout.rollback {
        let body = rollback_patch(&ds.uid, &rollback.to.data, rollback.to_hash, &rollback.reason);
        tolerate_gone(executor.api.patch(&path, PatchKind::Strategic, &body).await)?;
        tracing::warn!(ds = %ds.key(), to_revision = rollback.to.revision, from = %rollback.from_hash,
            reason = %rollback.reason, "rollout failed: template rolled back");
        executor.event(plan, true, "RollingBack", rollback.reason.clone());
        return Ok(true);
    }
    if let Some(hash) = &plan.rollout.mark_complete {
        tolerate_gone(
            executor
                .api
                .patch(&path, PatchKind::Merge, &mark_complete_patch(&ds.uid, hash))
                .await,
        )?;
        tracing::debug!(ds = %ds.key(), revision_hash = %hash, "recorded the last complete revision");
    }
    Ok(false)
}

/// A DaemonSet deleted or replaced by a same-named one since the sync read it: nothing to do.
fn tolerate_gone(result: Result<Value, ApiError>) -> Result<(), ApiError> {
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.is_not_found() || error.is_conflict() || error.code() == Some(422) => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rollback_patch_is_the_revision_data_with_the_record_and_the_uid_precondition() {
        let data = json!({"spec": {"template": {"$patch": "replace", "spec": {"containers": []}}}});
        let body = rollback_patch("u1", &data, "abc", "revision 3 failed");
        assert_eq!(body["spec"], data["spec"]);
        assert_eq!(body["metadata"]["uid"], "u1");
        assert_eq!(body["metadata"]["annotations"][ROLLED_BACK_TO], "abc");
        assert_eq!(body["metadata"]["annotations"][ROLLBACK_REASON], "revision 3 failed");
    }
}
