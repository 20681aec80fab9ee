//! The create verbs: POST of a new object, and of a pod's `binding` subresource (no I/O; writes through the store).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::Request;
use crate::sim::admission;
use crate::sim::errors::ApiError;
use crate::sim::response::json_response;

impl Request<'_> {
    pub(super) fn create(self) -> Result<Response, ApiError> {
        let resource = self.resource();
        if self.target.subresource.as_deref() == Some("binding") {
            return self.bind();
        }
        if self.target.name.is_some() {
            return Err(ApiError::method_not_allowed("POST is only supported on collections"));
        }
        self.require_namespace()?;
        let body = self.body_json()?;
        if let Some(kind) = body.get("kind").and_then(Value::as_str)
            && kind != resource.kind
        {
            return Err(ApiError::bad_request(format!(
                "the body is a {kind}, not a {}",
                resource.kind
            )));
        }
        let explicit = body
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(String::from);
        let generate = body
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
            .map(String::from);
        for _attempt in 0..8 {
            let name = match (&explicit, &generate) {
                (Some(name), _) => name.clone(),
                (None, Some(prefix)) => {
                    let mut random = self.state.random.lock();
                    format!("{prefix}{}", admission::random_suffix(&mut random))
                }
                (None, None) => {
                    return Err(ApiError::invalid(
                        resource,
                        "",
                        &[(
                            "metadata.name".into(),
                            "Required value: name or generateName is required".into(),
                        )],
                    ));
                }
            };
            match self.create_named(&name, body.clone()) {
                Ok(object) => return Ok(json_response(StatusCode::CREATED, &object)),
                // A generated name collided: try another one.
                Err(error) if error.code == 409 && explicit.is_none() => continue,
                Err(error) => return Err(error),
            }
        }
        Err(ApiError::status(500, "could not generate a unique name"))
    }

    fn bind(self) -> Result<Response, ApiError> {
        let resource = self.resource();
        let name = self.target.name.clone().unwrap_or_default();
        let binding = self.body_json()?;
        let node = binding
            .pointer("/target/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if node.is_empty() {
            return Err(ApiError::invalid(
                resource,
                &name,
                &[("target.name".into(), "Required value".into())],
            ));
        }
        self.state
            .store
            .write(resource, self.namespace(), &name, &self.actor, "bind", |current, _| {
                let current = current.ok_or_else(|| ApiError::not_found(resource, &name))?;
                let assigned = current
                    .pointer("/spec/nodeName")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !assigned.is_empty() {
                    return Err(ApiError::conflict(
                        resource,
                        &name,
                        &format!("pod {name} is already assigned to node \"{assigned}\""),
                    ));
                }
                let mut bound = current.clone();
                bound["spec"]["nodeName"] = json!(node);
                Ok(Some(bound))
            })?;
        Ok(json_response(
            StatusCode::CREATED,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
        ))
    }
}
