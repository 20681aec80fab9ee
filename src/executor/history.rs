//! ControllerRevision writes (I/O). Upstream: update.go constructHistory, snapshot, dedupCurHistories
//! and cleanupHistory. Invariants: a new revision's `data` reaches the server as the exact patch bytes
//! the hash was computed from, so kube-controller-manager's byte comparison recognises it; every
//! change to an existing revision or pod names it by uid (ARCHITECTURE.md invariant 7), so a
//! same-named successor the cache has not shown yet is never changed or deleted (upstream names
//! none for these deletes and label patches).

use serde_json::{Map, Value, json};

use super::Executor;
use crate::kube::paths;
use crate::kube::{ApiError, PatchKind};
use crate::planner::Plan;
use crate::planner::revisions::{CurrentRevision, HistoryPlan, NewRevision};
use crate::snapshot::{DaemonSetView, REVISION_HASH_LABEL, RevisionView};

/// The request body for a new revision: metadata as JSON, `data` spliced in as raw bytes.
pub(super) fn revision_body(ds: &DaemonSetView, revision: &NewRevision) -> Vec<u8> {
    let mut labels = ds
        .template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    labels.insert(REVISION_HASH_LABEL.into(), json!(revision.hash));
    let annotations: Map<String, Value> = ds
        .annotations
        .iter()
        .map(|(key, value)| (key.to_string(), json!(value)))
        .collect();
    let mut metadata = json!({
        "name": revision.name,
        "namespace": ds.namespace,
        "labels": labels,
        "ownerReferences": [ds.controller_reference()],
    });
    if !annotations.is_empty() {
        metadata["annotations"] = Value::Object(annotations);
    }
    let head = json!({
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": metadata,
        "revision": revision.revision,
    })
    .to_string();
    let mut body = head.into_bytes();
    body.pop(); // the closing brace; `data` follows
    body.extend_from_slice(b",\"data\":");
    body.extend_from_slice(&revision.data);
    body.push(b'}');
    body
}

#[derive(Debug, thiserror::Error)]
pub(super) enum HistoryError {
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The revision to create exists already; the cache has not shown it yet.
    #[error("the revision exists but is not in the cache yet")]
    NotYetSeen,
}

pub(super) async fn apply(executor: &Executor, plan: &Plan<'_>, history: &HistoryPlan<'_>) -> Result<(), HistoryError> {
    let ds = plan.daemon_set;
    for revision in &history.label_with_name {
        let name = revision.name.as_str();
        let patch = json!({"metadata": {"uid": revision.uid, "labels": {REVISION_HASH_LABEL: name}}});
        executor
            .api
            .patch(&paths::revision_path(&ds.namespace, name), PatchKind::Merge, &patch)
            .await?;
    }
    match &history.current {
        CurrentRevision::Create(revision) => {
            match executor
                .api
                .create_raw(&paths::revisions_path(&ds.namespace), revision_body(ds, revision))
                .await
            {
                Ok(_) => {
                    tracing::info!(ds = %ds.key(), revision = %revision.name, number = revision.revision, "created revision");
                }
                // The cache has not shown our own earlier create yet, or another writer made it: the
                // watch brings the revision and a sync, whose plan uses it or reports a collision
                // (upstream reads it back here; waiting needs no `get` permission and no extra request).
                Err(error) if error.is_already_exists() => return Err(HistoryError::NotYetSeen),
                Err(error) => return Err(error.into()),
            }
        }
        CurrentRevision::Existing {
            name,
            uid,
            renumber_to: Some(number),
        } => {
            let patch = json!({"metadata": {"uid": uid}, "revision": number});
            executor
                .api
                .patch(&paths::revision_path(&ds.namespace, name), PatchKind::Merge, &patch)
                .await?;
            tracing::info!(ds = %ds.key(), revision = %name, number, "renumbered revision");
        }
        CurrentRevision::Existing { renumber_to: None, .. } | CurrentRevision::Collision { .. } => {}
    }
    if !history.duplicates.is_empty() {
        // Pods first, so no live pod is left pointing at a deleted revision's hash.
        for pod in &plan.relabel_pods {
            let patch =
                json!({"metadata": {"uid": pod.uid.as_str(), "labels": {REVISION_HASH_LABEL: history.update_hash}}});
            match executor
                .api
                .patch(&paths::pod_path(&ds.namespace, &pod.name), PatchKind::Merge, &patch)
                .await
            {
                // Gone, or replaced by a same-named pod: nothing to relabel.
                Err(error) if !error.is_not_found() && !error.is_conflict() => return Err(error.into()),
                _ => {}
            }
        }
        for revision in &history.duplicates {
            delete_revision(executor, ds, revision).await?;
        }
    }
    Ok(())
}

/// Deletes `revision` by uid; one already gone, or replaced by a same-named revision (the uid
/// precondition fails with 409), needs nothing more.
async fn delete_revision(executor: &Executor, ds: &DaemonSetView, revision: &RevisionView) -> Result<(), ApiError> {
    let name = revision.name.as_str();
    match executor
        .api
        .delete(&paths::revision_path(&ds.namespace, name), Some(&revision.uid))
        .await
    {
        Ok(_) => {
            tracing::info!(ds = %ds.key(), revision = name, "deleted revision");
            Ok(())
        }
        Err(error) if error.is_not_found() || error.is_conflict() => {
            tracing::debug!(ds = %ds.key(), revision = name, %error, "revision gone or replaced already");
            Ok(())
        }
        Err(error) => Err(error),
    }
}

pub(super) async fn prune(executor: &Executor, plan: &Plan<'_>) -> Result<(), ApiError> {
    for revision in &plan.prune_revisions {
        delete_revision(executor, plan.daemon_set, revision).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::from_json::daemon_set_from_json;

    #[test]
    fn the_revision_body_carries_the_patch_bytes_verbatim() {
        let ds = daemon_set_from_json(&json!({
            "metadata": {"name": "agent", "namespace": "ns", "uid": "u1", "annotations": {"a": "1"}},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": []}}},
        }))
        .expect("valid");
        // Go escapes '<' as \u003c; a JSON round trip would lose that.
        let data = br#"{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"a\u003cb"}}}}}"#.to_vec();
        let revision = NewRevision {
            name: "agent-abc".into(),
            hash: "abc".into(),
            revision: 3,
            data: data.clone(),
        };
        let body = revision_body(&ds, &revision);
        let text = String::from_utf8(body.clone()).expect("utf-8");
        assert!(text.ends_with(&format!(",\"data\":{}}}", String::from_utf8(data).expect("utf-8"))));
        let parsed: Value = serde_json::from_slice(&body).expect("valid JSON");
        assert_eq!(parsed["revision"], 3);
        assert_eq!(parsed["metadata"]["labels"]["controller-revision-hash"], "abc");
        assert_eq!(parsed["metadata"]["labels"]["app"], "agent");
        assert_eq!(parsed["metadata"]["annotations"]["a"], "1");
        assert_eq!(parsed["metadata"]["ownerReferences"][0]["uid"], "u1");
        assert_eq!(parsed["data"]["spec"]["template"]["metadata"]["labels"]["app"], "a<b");
    }
}
