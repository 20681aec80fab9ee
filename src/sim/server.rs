//! The HTTP front of the simulated API server: routes, and the start of every resource request (I/O: HTTP, clock).
//!
//! For a resource path it names the caller, records the access and the request (with a write's
//! preconditions and the answer's code), applies the injected faults, then hands the request to
//! its verb.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;

use super::access::Access;
use super::admin;
use super::discovery;
use super::errors::ApiError;
use super::requests::RequestRecord;
use super::resources;
use super::response::{error_response, json_response};
use super::state::AppState;
use super::verbs::{Params, Request};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/version",
            get(|| async { json_response(StatusCode::OK, &discovery::version()) }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .route(
            "/api",
            get(|State(state): State<AppState>| async move {
                json_response(StatusCode::OK, &discovery::api_versions(&state.address))
            }),
        )
        .route(
            "/apis",
            get(|| async { json_response(StatusCode::OK, &discovery::api_group_list()) }),
        )
        .route(
            "/openapi/v3",
            get(|| async { json_response(StatusCode::OK, &discovery::openapi_index()) }),
        )
        .merge(admin::routes())
        .fallback(handle)
        .with_state(state)
}

/// The caller's product name from its User-Agent (`kubectl/v1.32.4 (linux/amd64) …` → `kubectl`);
/// a client running as several replicas may add `(instance NAME)`, which is kept as `product@NAME`.
fn actor(headers: &HeaderMap) -> String {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let product = agent
        .split('/')
        .next()
        .filter(|name| !name.is_empty())
        .unwrap_or("unknown");
    let instance = agent
        .split_once("(instance ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(name, _)| name.trim())
        .filter(|name| !name.is_empty());
    match instance {
        Some(instance) => format!("{product}@{instance}"),
        None => product.to_string(),
    }
}

/// Everything that is not a fixed route: discovery per group/version, openapi documents, resources.
async fn handle(State(state): State<AppState>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path();
    let params: Params = Query::<Params>::try_from_uri(&uri).map(|q| q.0).unwrap_or_default();
    if method == Method::GET
        && let Some(document) = discovery_document(path)
    {
        return json_response(StatusCode::OK, &document);
    }
    let Some(target) = resources::parse_path(path) else {
        let error = ApiError::status(
            404,
            format!("the server could not find the requested resource ({path})"),
        );
        return error_response(&ApiError {
            reason: "NotFound",
            ..error
        });
    };
    let verb = match method {
        Method::GET if target.name.is_some() => "get",
        Method::GET if params.get("watch").is_some_and(|w| w == "true" || w == "1") => "watch",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => "other",
    };
    let actor = actor(&headers);
    let resource = match &target.subresource {
        Some(sub) => format!("{}/{sub}", target.resource.plural),
        None => target.resource.plural.to_string(),
    };
    let mut record = RequestRecord::new(
        &actor,
        verb,
        resource.clone(),
        target.namespace.as_deref().unwrap_or_default(),
        target.name.as_deref().unwrap_or_default(),
        &body,
    );
    state.access.record(Access {
        actor: actor.clone(),
        verb,
        group: target.resource.group,
        resource,
    });
    let (response, expired) = async {
        let decision = state.faults.decide(verb, target.resource.plural);
        if !decision.latency.is_zero() {
            tokio::time::sleep(decision.latency).await;
        }
        if let Some(error) = decision.error {
            return (error_response(&error), false);
        }
        let expired = decision.expire_resume && resumes(verb, &params);
        let request = Request {
            state: &state,
            target,
            params,
            headers,
            body,
            actor,
            drop_watch_after: decision.drop_watch_after,
            expire_resume: decision.expire_resume,
        };
        let response = request
            .serve(method)
            .await
            .unwrap_or_else(|error| error_response(&error));
        (response, expired)
    }
    .await;
    record.code = if expired { 410 } else { response.status().as_u16() };
    state.requests.record(record);
    response
}

/// A watch from a resourceVersion (what an injected expiry answers with 410).
fn resumes(verb: &str, params: &Params) -> bool {
    verb == "watch"
        && params
            .get("resourceVersion")
            .and_then(|rv| rv.parse::<u64>().ok())
            .is_some_and(|rv| rv > 0)
}

fn discovery_document(path: &str) -> Option<Value> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", version] => discovery::api_resource_list("", version),
        ["apis", group, version] => discovery::api_resource_list(group, version),
        ["openapi", "v3", rest @ ..] if !rest.is_empty() => discovery::openapi_document(&rest.join("/")),
        _ => None,
    }
}
