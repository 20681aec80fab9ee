//! API errors as kube-apiserver reports them: a metav1.Status body with a matching HTTP code (no I/O).

use serde_json::{Value, json};

use super::protobuf::ProtobufError;
use super::resources::Resource;

/// A failed request; rendered as a `Status` object.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: String, details: Option<Value>) -> Self {
        ApiError {
            code,
            reason,
            message,
            details,
        }
    }

    fn details(resource: &Resource, name: &str) -> Value {
        json!({"name": name, "group": resource.group, "kind": resource.plural})
    }

    pub fn not_found(resource: &Resource, name: &str) -> Self {
        let message = format!("{} \"{name}\" not found", resource.qualified_plural());
        Self::new(404, "NotFound", message, Some(Self::details(resource, name)))
    }

    pub fn already_exists(resource: &Resource, name: &str) -> Self {
        let message = format!("{} \"{name}\" already exists", resource.qualified_plural());
        Self::new(409, "AlreadyExists", message, Some(Self::details(resource, name)))
    }

    pub fn conflict(resource: &Resource, name: &str, why: &str) -> Self {
        let message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": {why}",
            resource.qualified_plural()
        );
        Self::new(409, "Conflict", message, Some(Self::details(resource, name)))
    }

    pub fn stale(resource: &Resource, name: &str) -> Self {
        Self::conflict(
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 with one cause per (field, message).
    pub fn invalid(resource: &Resource, name: &str, causes: &[(String, String)]) -> Self {
        let summary: Vec<String> = causes
            .iter()
            .map(|(field, message)| format!("{field}: {message}"))
            .collect();
        // NewInvalid names the qualified kind (`DaemonSet.apps`; a core kind alone).
        let qualified = if resource.group.is_empty() {
            resource.kind.to_string()
        } else {
            format!("{}.{}", resource.kind, resource.group)
        };
        let message = match summary.as_slice() {
            [one] => format!("{qualified} \"{name}\" is invalid: {one}"),
            many => format!("{qualified} \"{name}\" is invalid: [{}]", many.join(", ")),
        };
        let causes: Vec<Value> = causes
            .iter()
            .map(|(field, message)| json!({"reason": cause_reason(message), "message": message, "field": field}))
            .collect();
        let details = json!({"name": name, "group": resource.group, "kind": resource.kind, "causes": causes});
        Self::new(422, "Invalid", message, Some(details))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message.into(), None)
    }

    pub fn expired(requested: u64, oldest: u64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {requested} ({oldest})"),
            None,
        )
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message.into(), None)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format: {content_type}"),
            None,
        )
    }

    /// 415 for a body whose encoding or kind is not understood, with the reason.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(415, "UnsupportedMediaType", message.into(), None)
    }

    /// Injected or internal failures (500, 503, 429 …).
    pub fn status(code: u16, message: impl Into<String>) -> Self {
        let reason = match code {
            429 => "TooManyRequests",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            409 => "Conflict",
            _ => "InternalError",
        };
        Self::new(code, reason, message.into(), None)
    }

    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

/// A protobuf body that cannot be decoded: 415 when its kind or encoding is not understood, else 400.
impl From<ProtobufError> for ApiError {
    fn from(error: ProtobufError) -> Self {
        let mut message = error.to_string();
        let mut cause = std::error::Error::source(&error);
        while let Some(inner) = cause {
            message.push_str(&format!(": {inner}"));
            cause = inner.source();
        }
        if error.is_unsupported() {
            ApiError::unsupported(message)
        } else {
            ApiError::bad_request(message)
        }
    }
}

/// A cause's reason (metav1.CauseType) from its message's opening, as field.ErrorType prints it.
fn cause_reason(message: &str) -> &'static str {
    [
        ("Required value", "FieldValueRequired"),
        ("Unsupported value", "FieldValueNotSupported"),
        ("Forbidden", "FieldValueForbidden"),
        ("Duplicate value", "FieldValueDuplicate"),
        ("Not found", "FieldValueNotFound"),
        ("Too long", "FieldValueTooLong"),
    ]
    .iter()
    .find(|(opening, _)| message.starts_with(opening))
    .map_or("FieldValueInvalid", |(_, reason)| reason)
}
