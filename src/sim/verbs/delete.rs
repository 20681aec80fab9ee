//! The delete verb: preconditions, finalizers, graceful pod termination, removal (no I/O; writes through the store).
//!
//! An object removed at once takes its dependents with it, or releases them, by owner-reference garbage collection.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::Request;
use crate::sim::errors::ApiError;
use crate::sim::gc::collect_garbage;
use crate::sim::resources::Resource;
use crate::sim::response::json_response;
use crate::sim::store::now_rfc3339;

impl Request<'_> {
    pub(super) fn delete(self) -> Result<Response, ApiError> {
        let resource = self.resource();
        let name = self.object_name("DELETE (collection deletes are not supported)")?;
        let options = self.body_json()?;
        let propagation = options
            .get("propagationPolicy")
            .and_then(Value::as_str)
            .or_else(|| self.params.get("propagationPolicy").map(String::as_str))
            .unwrap_or("Background")
            .to_string();
        let current = self
            .state
            .store
            .get(resource, self.namespace(), &name)
            .ok_or_else(|| ApiError::not_found(resource, &name))?;
        check_preconditions(resource, &name, &current, &options)?;
        if self.dry_run() {
            return Ok(json_response(StatusCode::OK, &current));
        }
        let has_finalizers = current
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if has_finalizers {
            // Deletion waits for the finalizers; the object only gets a deletionTimestamp.
            return self.mark_deleted(&name, 0);
        }
        // A pod running on a node terminates gracefully: the kubelet removes it once its containers stop.
        let grace = options
            .get("gracePeriodSeconds")
            .and_then(Value::as_i64)
            .or_else(|| {
                current
                    .pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
            })
            .unwrap_or(30);
        let bound = current
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        if resource.kind == "Pod" && bound && grace > 0 {
            return self.mark_deleted(&name, grace);
        }
        self.remove(&name, &current, &propagation)
    }

    /// Sets `deletionTimestamp` (once) and answers with the marked object; the object stays stored.
    fn mark_deleted(&self, name: &str, grace_period_seconds: i64) -> Result<Response, ApiError> {
        let resource = self.resource();
        let marked =
            self.state
                .store
                .write(resource, self.namespace(), name, &self.actor, "delete", |current, _| {
                    let mut marked = current.cloned().ok_or_else(|| ApiError::not_found(resource, name))?;
                    if marked.pointer("/metadata/deletionTimestamp").is_none() {
                        marked["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
                        marked["metadata"]["deletionGracePeriodSeconds"] = json!(grace_period_seconds);
                    }
                    Ok(Some(marked))
                })?;
        Ok(json_response(StatusCode::OK, &marked.unwrap_or_default()))
    }

    /// Removes the object now, after its dependents per `propagation`; a pod is answered with itself,
    /// a namespace with itself Terminating, anything else with a Success `Status`.
    fn remove(&self, name: &str, current: &Value, propagation: &str) -> Result<Response, ApiError> {
        let resource = self.resource();
        let uid = current
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        collect_garbage(&self.state.store, &uid, propagation);
        self.state
            .store
            .write(resource, self.namespace(), name, &self.actor, "delete", |_, _| Ok(None))?;
        if resource.kind == "Pod" {
            return Ok(json_response(StatusCode::OK, current));
        }
        if resource.kind == "Namespace" {
            // kube-apiserver answers with the namespace Terminating, before its namespace
            // controller empties and removes it; here that finishes at once.
            let mut terminating = current.clone();
            terminating["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
            terminating["status"]["phase"] = json!("Terminating");
            return Ok(json_response(StatusCode::OK, &terminating));
        }
        let details = json!({"name": name, "group": resource.group, "kind": resource.plural, "uid": uid});
        Ok(json_response(
            StatusCode::OK,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
        ))
    }
}

/// DeleteOptions preconditions: a `uid` or `resourceVersion` that differs from the object's is a 409.
fn check_preconditions(resource: &Resource, name: &str, current: &Value, options: &Value) -> Result<(), ApiError> {
    for (field, pointer) in [
        ("uid", "/metadata/uid"),
        ("resourceVersion", "/metadata/resourceVersion"),
    ] {
        let actual = current.pointer(pointer).and_then(Value::as_str);
        if let Some(wanted) = options
            .pointer(&format!("/preconditions/{field}"))
            .and_then(Value::as_str)
            && actual != Some(wanted)
        {
            let why = format!(
                "Precondition failed: {field}: {wanted}, object {field}: {}",
                actual.unwrap_or_default()
            );
            return Err(ApiError::conflict(resource, name, &why));
        }
    }
    Ok(())
}
