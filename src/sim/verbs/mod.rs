//! The resource verbs of the simulated API server and the request they serve (no I/O; writes through the store).
//!
//! One file per verb family: read (get, list, watch), create (create, bind), update (update, patch),
//! delete. This file holds the parsed request and what every verb reads from it.

mod create;
mod delete;
mod read;
mod update;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use serde_json::Value;

use super::cluster::create_named;
use super::errors::ApiError;
use super::protobuf;
use super::resources::{self, Resource, Target};
use super::state::AppState;

/// Query parameters.
pub type Params = HashMap<String, String>;

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// One request on a resource path, with the faults injected into it.
pub struct Request<'a> {
    pub state: &'a AppState,
    pub target: Target,
    pub params: Params,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub actor: String,
    /// Injected: end the watch after this long.
    pub drop_watch_after: Option<Duration>,
    /// Injected: answer a watch that resumes from a resourceVersion with 410 Expired.
    pub expire_resume: bool,
}

impl Request<'_> {
    /// Serves the request with the verb its method names.
    pub async fn serve(self, method: Method) -> Result<Response, ApiError> {
        match method {
            Method::GET => self.get().await,
            Method::POST => self.create(),
            Method::PUT => self.update(),
            Method::PATCH => self.patch(),
            Method::DELETE => self.delete(),
            other => Err(ApiError::method_not_allowed(format!("method {other} is not supported"))),
        }
    }

    fn resource(&self) -> &'static Resource {
        self.target.resource
    }

    fn namespace(&self) -> &str {
        self.target.namespace.as_deref().unwrap_or_default()
    }

    fn dry_run(&self) -> bool {
        self.params.get("dryRun").is_some_and(|v| v == "All")
    }

    fn body_json(&self) -> Result<Value, ApiError> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        // client-go's typed clients (kubectl's generator commands) send protobuf; the verbs work on JSON.
        let content_type = header_text(&self.headers, header::CONTENT_TYPE);
        if content_type.starts_with(protobuf::CONTENT_TYPE) {
            return protobuf::decode(&self.body).map_err(ApiError::from);
        }
        serde_json::from_slice(&self.body).or_else(|json_error| {
            let text = std::str::from_utf8(&self.body).map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
            yaml_serde::from_str::<Value>(text)
                .map_err(|_| ApiError::bad_request(format!("the body is neither JSON nor YAML: {json_error}")))
        })
    }

    fn require_namespace(&self) -> Result<(), ApiError> {
        let Some(namespace) = self.target.namespace.as_deref().filter(|_| self.resource().namespaced) else {
            return if self.resource().namespaced {
                Err(ApiError::bad_request("a namespace is required for this resource"))
            } else {
                Ok(())
            };
        };
        let namespaces =
            resources::find("", "v1", "namespaces").ok_or_else(|| ApiError::status(500, "no namespaces"))?;
        match self.state.store.get(namespaces, "", namespace) {
            Some(_) => Ok(()),
            None => Err(ApiError::not_found(namespaces, namespace)),
        }
    }

    fn create_named(&self, name: &str, body: Value) -> Result<Arc<Value>, ApiError> {
        let store = &self.state.store;
        create_named(
            store,
            self.resource(),
            self.namespace(),
            name,
            body,
            &self.actor,
            self.dry_run(),
        )
    }

    /// The object name a verb needs, or 405 naming the verb.
    fn object_name(&self, verb: &str) -> Result<String, ApiError> {
        self.target
            .name
            .clone()
            .ok_or_else(|| ApiError::method_not_allowed(format!("{verb} needs an object name")))
    }
}
