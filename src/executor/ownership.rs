//! Adoption and release of pods and revisions (I/O). Upstream: controller_ref_manager.go ClaimPods,
//! ClaimControllerRevisions. Invariant: nothing is adopted unless a fresh read (not the cache) showed the
//! DaemonSet with the same uid and not being deleted (upstream's canAdopt recheck; see `Executor::apply`).

use serde_json::{Value, json};

use super::{Executor, SyncError};
use crate::kube::paths;
use crate::kube::{ApiError, PatchKind};
use crate::planner::Plan;
use crate::snapshot::DaemonSetView;

fn adopt_patch(ds: &DaemonSetView, uid: &str) -> Value {
    json!({"metadata": {"ownerReferences": [ds.controller_reference()], "uid": uid}})
}

fn release_patch(ds: &DaemonSetView, uid: &str) -> Value {
    json!({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": ds.uid}], "uid": uid}})
}

/// Releases ignore objects already gone or no longer ours (upstream treats NotFound and Invalid as done).
fn ignore_gone(result: Result<Value, ApiError>) -> Result<(), ApiError> {
    match result {
        Err(error) if error.is_not_found() || error.code() == Some(422) || error.is_conflict() => Ok(()),
        other => other.map(|_| ()),
    }
}

pub(super) async fn claim_revisions(executor: &Executor, plan: &Plan<'_>) -> Result<(), SyncError> {
    let ds = plan.daemon_set;
    let changes = &plan.ownership;
    for revision in &changes.adopt_revisions {
        let (name, uid) = (revision.name.as_str(), revision.uid.as_str());
        executor
            .api
            .patch(
                &paths::revision_path(&ds.namespace, name),
                PatchKind::Strategic,
                &adopt_patch(ds, uid),
            )
            .await?;
        tracing::info!(ds = %ds.key(), revision = name, "adopted revision");
    }
    for revision in &changes.release_revisions {
        let (name, uid) = (revision.name.as_str(), revision.uid.as_str());
        ignore_gone(
            executor
                .api
                .patch(
                    &paths::revision_path(&ds.namespace, name),
                    PatchKind::Strategic,
                    &release_patch(ds, uid),
                )
                .await,
        )?;
        tracing::info!(ds = %ds.key(), revision = name, "released revision");
    }
    Ok(())
}

pub(super) async fn claim_pods(executor: &Executor, plan: &Plan<'_>) -> Result<(), SyncError> {
    let ds = plan.daemon_set;
    let changes = &plan.ownership;
    for pod in &changes.adopt_pods {
        let path = paths::pod_path(&ds.namespace, &pod.name);
        match executor
            .api
            .patch(&path, PatchKind::Strategic, &adopt_patch(ds, &pod.uid))
            .await
        {
            // Gone, or changed so that the uid no longer matches: the next sync sees the truth.
            Err(error) if error.is_not_found() || error.code() == Some(422) => {}
            Err(error) => return Err(error.into()),
            Ok(_) => tracing::info!(ds = %ds.key(), pod = %pod.name, node = %pod.node_name, "adopted pod"),
        }
    }
    for pod in &changes.release_pods {
        let path = paths::pod_path(&ds.namespace, &pod.name);
        ignore_gone(
            executor
                .api
                .patch(&path, PatchKind::Strategic, &release_patch(ds, &pod.uid))
                .await,
        )?;
        tracing::info!(ds = %ds.key(), pod = %pod.name, "released pod");
    }
    Ok(())
}
