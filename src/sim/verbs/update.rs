//! The update verbs: PUT and PATCH of an object or its status subresource (no I/O; writes through the store).
//!
//! `dryRun=All` only previews; an update that removes the last finalizer of a deleted object deletes it.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::{Request, header_text};
use crate::sim::admission;
use crate::sim::errors::ApiError;
use crate::sim::patch::{self, PatchType};
use crate::sim::response::json_response;

impl Request<'_> {
    fn status_only(&self) -> Result<bool, ApiError> {
        match self.target.subresource.as_deref() {
            None => Ok(false),
            Some("status") if self.resource().has_status => Ok(true),
            Some(other) => Err(ApiError::method_not_allowed(format!(
                "subresource {other:?} does not support this verb"
            ))),
        }
    }

    /// Stores `updated`, or deletes the object when a pending deletion has lost its last finalizer.
    fn finish_update(updated: Value) -> Option<Value> {
        let finalizers_left = updated
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if updated.pointer("/metadata/deletionTimestamp").is_some() && !finalizers_left {
            return None;
        }
        Some(updated)
    }

    /// Applies `compute` to the stored object (or only previews it for `dryRun=All`) and answers
    /// with the result. Shared by PUT and PATCH.
    fn write_update(
        &self,
        name: &str,
        verb: &str,
        compute: impl Fn(&Value) -> Result<Value, ApiError>,
    ) -> Result<Response, ApiError> {
        let resource = self.resource();
        if self.dry_run() {
            let current = self
                .state
                .store
                .get(resource, self.namespace(), name)
                .ok_or_else(|| ApiError::not_found(resource, name))?;
            return Ok(json_response(StatusCode::OK, &compute(&current)?));
        }
        let mut last = None;
        let written = self
            .state
            .store
            .write(resource, self.namespace(), name, &self.actor, verb, |current, _| {
                let current = current.ok_or_else(|| ApiError::not_found(resource, name))?;
                let updated = compute(current)?;
                last = Some(updated.clone());
                Ok(Self::finish_update(updated))
            });
        respond_written(written, last)
    }

    pub(super) fn update(self) -> Result<Response, ApiError> {
        let resource = self.resource();
        let name = self.object_name("PUT")?;
        let status_only = self.status_only()?;
        let requested = self.body_json()?;
        let verb = if status_only { "status" } else { "update" };
        let compute = |current: &Value| -> Result<Value, ApiError> {
            admission::check_precondition(resource, current, &requested)?;
            admission::prepare_update(resource, current, requested.clone(), status_only)
        };
        self.write_update(&name, verb, compute)
    }

    pub(super) fn patch(self) -> Result<Response, ApiError> {
        let resource = self.resource();
        let name = self.object_name("PATCH")?;
        let status_only = self.status_only()?;
        let content_type = header_text(&self.headers, header::CONTENT_TYPE);
        let patch_type = PatchType::from_content_type(&content_type)
            .ok_or_else(|| ApiError::unsupported_media_type(&content_type))?;
        let patch_body = self.body_json()?;
        if patch_type == PatchType::Apply && self.state.store.get(resource, self.namespace(), &name).is_none() {
            self.require_namespace()?;
            let created = self.create_named(&name, patch_body)?;
            return Ok(json_response(StatusCode::CREATED, &created));
        }
        let verb = if status_only { "status" } else { "patch" };
        let compute = |current: &Value| -> Result<Value, ApiError> {
            let patched = patch::apply(patch_type, current, &patch_body)
                .map_err(|problem| ApiError::invalid(resource, &name, &[("patch".into(), problem)]))?;
            admission::check_precondition(resource, current, &patched)?;
            admission::prepare_update(resource, current, patched, status_only)
        };
        self.write_update(&name, verb, compute)
    }
}

/// The stored object, or, when the write removed the last finalizer of a deleted object, the
/// object as last written (kube-apiserver answers with it too).
fn respond_written(written: Result<Option<Arc<Value>>, ApiError>, last: Option<Value>) -> Result<Response, ApiError> {
    match (written?, last) {
        (Some(object), _) => Ok(json_response(StatusCode::OK, &object)),
        (None, Some(last)) => Ok(json_response(StatusCode::OK, &last)),
        (None, None) => Err(ApiError::status(500, "the write returned nothing")),
    }
}
