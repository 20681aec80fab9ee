//! The simulator's own admin API under `/sim/v1`, for tests and the CLI (I/O: HTTP).
//!
//! The write timeline, fault rules, node operations and image behaviours.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use super::errors::ApiError;
use super::faults::FaultRule;
use super::fleet::{ImageBehaviour, ready_condition_true};
use super::resources;
use super::response::{error_response, json_response};
use super::state::AppState;

/// The `/sim/v1` routes, to merge into the API server's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sim/v1/timeline", get(timeline))
        .route("/sim/v1/faults", get(faults).put(set_faults))
        .route("/sim/v1/nodes", post(add_node))
        .route("/sim/v1/nodes/{name}/{action}", post(node_action))
        .route("/sim/v1/images/{image}", put(image))
}

async fn timeline(State(state): State<AppState>) -> Response {
    let writes: Vec<Value> = state
        .store
        .timeline()
        .iter()
        .map(|w| {
            json!({"resourceVersion": w.resource_version, "actor": w.actor, "verb": w.verb, "event": w.event.as_str(),
                   "kind": w.kind, "namespace": w.namespace, "name": w.name, "time": w.time.to_rfc3339(),
                   "ready": ready_condition_true(&w.object.value())})
        })
        .collect();
    json_response(StatusCode::OK, &json!({"writes": writes}))
}

async fn faults(State(state): State<AppState>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({"rules": state.faults.rules(), "injected": state.faults.injected()}),
    )
}

async fn set_faults(State(state): State<AppState>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct Rules {
        rules: Vec<FaultRule>,
    }
    match serde_json::from_slice::<Rules>(&body) {
        Ok(rules) => {
            state.faults.set_rules(rules.rules);
            json_response(StatusCode::OK, &json!({"rules": state.faults.rules()}))
        }
        Err(error) => error_response(&ApiError::bad_request(format!(
            "expected {{\"rules\": [...]}}: {error}"
        ))),
    }
}

async fn add_node(State(state): State<AppState>, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(name) = request.get("name").and_then(Value::as_str) else {
        return error_response(&ApiError::bad_request("expected {\"name\": \"node-…\"}"));
    };
    let existing = state.store.count(resources::builtin("", "nodes"), None);
    match state.fleet.add_node(name, existing + 1) {
        Ok(()) => json_response(StatusCode::CREATED, &json!({"node": name})),
        Err(error) => error_response(&error),
    }
}

async fn node_action(
    State(state): State<AppState>,
    Path((name, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let field = |key: &str| request.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    let result = match action.as_str() {
        "ready" => state.fleet.set_node_ready(&name, true),
        "not-ready" => state.fleet.set_node_ready(&name, false),
        "cordon" => state.fleet.cordon(&name, true),
        "uncordon" => state.fleet.cordon(&name, false),
        "remove" => state.fleet.remove_node(&name),
        "taint" => state
            .fleet
            .taint(&name, &field("key"), &field("value"), &field("effect")),
        "untaint" => state.fleet.untaint(&name, &field("key")),
        "label" => {
            let value = request.get("value").and_then(Value::as_str);
            state.fleet.label(&name, &field("key"), value)
        }
        other => Err(ApiError::bad_request(format!(
            "unknown node action {other:?}: use ready, not-ready, cordon, uncordon, remove, taint, untaint or label"
        ))),
    };
    match result {
        Ok(()) => json_response(StatusCode::OK, &json!({"node": name, "action": action})),
        Err(error) => error_response(&error),
    }
}

async fn image(State(state): State<AppState>, Path(image): Path<String>, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let behaviour = match request.get("behaviour").and_then(Value::as_str) {
        None => None,
        Some("fail") => Some(ImageBehaviour::Fail),
        Some("crash-loop") => Some(ImageBehaviour::CrashLoop),
        Some("never-ready") => Some(ImageBehaviour::NeverReady),
        Some(other) => {
            return error_response(&ApiError::bad_request(format!(
                "unknown behaviour {other:?}: use fail, crash-loop, never-ready or null"
            )));
        }
    };
    state.fleet.set_image_behaviour(&image, behaviour);
    json_response(
        StatusCode::OK,
        &json!({"image": image, "behaviour": request.get("behaviour")}),
    )
}
