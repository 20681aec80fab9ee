//! The HTTP front of the simulated API server: routing, verbs, bodies, responses (I/O: HTTP).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use parking_lot::Mutex;
use serde_json::{Value, json};

use super::admission;
use super::cluster::create_named;
use super::discovery;
use super::errors::ApiError;
use super::faults::Faults;
use super::fleet::{Fleet, ImageBehaviour};
use super::patch::{self, PatchType};
use super::resources::{self, Resource, Target};
use super::selectors::{FieldQuery, LabelQuery};
use super::store::{Store, now_rfc3339};
use super::table;
use super::watch::{self, WatchRequest};

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub access: Arc<super::access::AccessLog>,
    pub faults: Arc<Faults>,
    pub fleet: Fleet,
    pub random: Arc<Mutex<fastrand::Rng>>,
    /// `host:port`, for discovery's serverAddressByClientCIDRs.
    pub address: String,
}

type Params = HashMap<String, String>;

fn json_response(status: StatusCode, value: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

fn error_response(error: &ApiError) -> Response {
    let status = StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &error.to_status())
}

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
        .route("/sim/v1/timeline", get(admin_timeline))
        .route("/sim/v1/faults", get(admin_faults).put(admin_set_faults))
        .route("/sim/v1/nodes", axum::routing::post(admin_add_node))
        .route("/sim/v1/nodes/{name}/{action}", axum::routing::post(admin_node_action))
        .route("/sim/v1/images/{image}", axum::routing::put(admin_image))
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

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
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
    state.access.record(super::access::Access {
        actor: actor.clone(),
        verb,
        group: target.resource.group,
        resource: match &target.subresource {
            Some(sub) => format!("{}/{sub}", target.resource.plural),
            None => target.resource.plural.to_string(),
        },
    });
    let decision = state.faults.decide(verb, target.resource.plural);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    if let Some(error) = decision.error {
        return error_response(&error);
    }
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
    let result = match method {
        Method::GET => request.get().await,
        Method::POST => request.create(),
        Method::PUT => request.update(),
        Method::PATCH => request.patch(),
        Method::DELETE => request.delete(),
        other => Err(ApiError::method_not_allowed(format!("method {other} is not supported"))),
    };
    result.unwrap_or_else(|error| error_response(&error))
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

struct Request<'a> {
    state: &'a AppState,
    target: Target,
    params: Params,
    headers: HeaderMap,
    body: Bytes,
    actor: String,
    /// Injected: end the watch after this long.
    drop_watch_after: Option<Duration>,
    /// Injected: answer a watch that resumes from a resourceVersion with 410 Expired.
    expire_resume: bool,
}

impl Request<'_> {
    fn resource(&self) -> &'static Resource {
        self.target.resource
    }

    fn namespace(&self) -> &str {
        self.target.namespace.as_deref().unwrap_or_default()
    }

    fn flag(&self, name: &str) -> bool {
        self.params.get(name).is_some_and(|v| v == "true" || v == "1")
    }

    fn dry_run(&self) -> bool {
        self.params.get("dryRun").is_some_and(|v| v == "All")
    }

    fn body_json(&self) -> Result<Value, ApiError> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        // Protobuf is not spoken here; 415 makes client-go resend the request as JSON.
        let content_type = header_text(&self.headers, header::CONTENT_TYPE);
        if content_type.starts_with("application/vnd.kubernetes.protobuf") {
            return Err(ApiError::unsupported_media_type(&content_type));
        }
        serde_json::from_slice(&self.body).or_else(|json_error| {
            let text = std::str::from_utf8(&self.body).map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
            yaml_serde::from_str::<Value>(text)
                .map_err(|_| ApiError::bad_request(format!("the body is neither JSON nor YAML: {json_error}")))
        })
    }

    fn selectors(&self) -> Result<(LabelQuery, FieldQuery), ApiError> {
        let labels = LabelQuery::parse(self.params.get("labelSelector").map(String::as_str).unwrap_or_default())
            .map_err(ApiError::bad_request)?;
        let fields = FieldQuery::parse(self.params.get("fieldSelector").map(String::as_str).unwrap_or_default())
            .map_err(ApiError::bad_request)?;
        Ok((labels, fields))
    }

    fn wants_table(&self) -> bool {
        table::wants_table(&header_text(&self.headers, header::ACCEPT))
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

    async fn get(self) -> Result<Response, ApiError> {
        let resource = self.resource();
        if let Some(name) = &self.target.name {
            let object = self
                .state
                .store
                .get(resource, self.namespace(), name)
                .ok_or_else(|| ApiError::not_found(resource, name))?;
            if self.target.subresource.as_deref().is_some_and(|s| s != "status") {
                return Err(ApiError::method_not_allowed("GET is not supported on this subresource"));
            }
            if self.wants_table() {
                let version = self.state.store.resource_version();
                return Ok(json_response(
                    StatusCode::OK,
                    &table::table(resource, &[&object], version, false, chrono::Utc::now()),
                ));
            }
            return Ok(json_response(StatusCode::OK, &object));
        }
        if self.flag("watch") {
            return self.watch();
        }
        let (labels, fields) = self.selectors()?;
        let (objects, resource_version) = self.state.store.list(resource, self.target.namespace.as_deref());
        let matching: Vec<&Value> = objects
            .iter()
            .map(|o| o.as_ref())
            .filter(|o| labels.matches(o.pointer("/metadata/labels")) && fields.matches(o))
            .collect();
        // Pagination: the continue token is the offset of the next item.
        let offset: usize = self.params.get("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
        let limit: Option<usize> = self.params.get("limit").and_then(|l| l.parse().ok()).filter(|l| *l > 0);
        let end = limit.map_or(matching.len(), |limit| (offset + limit).min(matching.len()));
        let page: Vec<&Value> = matching
            .get(offset.min(matching.len())..end)
            .map(<[_]>::to_vec)
            .unwrap_or_default();
        let mut metadata = json!({"resourceVersion": resource_version.to_string()});
        if end < matching.len() {
            metadata["continue"] = json!(end.to_string());
            metadata["remainingItemCount"] = json!(matching.len() - end);
        }
        if self.wants_table() {
            let include_object = self.params.get("includeObject").is_some_and(|v| v == "Object");
            let mut response = table::table(resource, &page, resource_version, include_object, chrono::Utc::now());
            response["metadata"] = metadata;
            return Ok(json_response(StatusCode::OK, &response));
        }
        // Serialized from borrowed items: a list of thousands of objects is not copied first.
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct List<'a> {
            kind: String,
            api_version: String,
            metadata: Value,
            items: &'a [&'a Value],
        }
        let list = List {
            kind: resource.list_kind(),
            api_version: resource.api_version(),
            metadata,
            items: &page,
        };
        let body = serde_json::to_vec(&list)
            .map_err(|error| ApiError::status(500, format!("cannot encode the list: {error}")))?;
        Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response())
    }

    fn watch(self) -> Result<Response, ApiError> {
        let resource = self.resource();
        let (labels, fields) = self.selectors()?;
        let from = match self.params.get("resourceVersion").map(String::as_str) {
            None | Some("") => None,
            Some(text) => Some(
                text.parse::<u64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {text:?}")))?,
            ),
        };
        let request = WatchRequest {
            resource,
            namespace: self.target.namespace.clone(),
            labels,
            fields,
            timeout: {
                let asked = self
                    .params
                    .get("timeoutSeconds")
                    .and_then(|t| t.parse().ok())
                    .map(Duration::from_secs);
                match (asked, self.drop_watch_after) {
                    (Some(asked), Some(drop)) => Some(asked.min(drop)),
                    (asked, drop) => asked.or(drop),
                }
            },
            bookmarks: self.flag("allowWatchBookmarks"),
            table: self.wants_table(),
        };
        let content_type = if request.table {
            "application/json;as=Table;v=v1;g=meta.k8s.io"
        } else {
            "application/json"
        };
        if self.drop_watch_after.is_some() {
            self.state.faults.note_dropped_watch();
        }
        let started = if self.expire_resume && from.is_some_and(|rv| rv > 0) {
            self.state.faults.note_expired_resume();
            Err(ApiError::expired(
                from.unwrap_or_default(),
                self.state.store.resource_version(),
            ))
        } else {
            self.state.store.watch(resource, self.target.namespace.as_deref(), from)
        };
        match started {
            // kube-apiserver answers an expired resourceVersion with 200 and one ERROR event.
            Err(error) if error.code == 410 => {
                let line = format!("{}\n", json!({"type": "ERROR", "object": error.to_status()}));
                Ok(([(header::CONTENT_TYPE, content_type)], line).into_response())
            }
            Err(error) => Err(error),
            Ok(start) => {
                let body = Body::from_stream(watch::stream(Arc::clone(&self.state.store), request, start));
                Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
            }
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

    fn create(self) -> Result<Response, ApiError> {
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

    fn update(self) -> Result<Response, ApiError> {
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

    fn patch(self) -> Result<Response, ApiError> {
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

    fn delete(self) -> Result<Response, ApiError> {
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
                return Err(ApiError::conflict(resource, &name, &why));
            }
        }
        if self.dry_run() {
            return Ok(json_response(StatusCode::OK, &current));
        }
        let has_finalizers = current
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if has_finalizers {
            // Deletion waits for the finalizers; the object only gets a deletionTimestamp.
            let marked = self.state.store.write(
                resource,
                self.namespace(),
                &name,
                &self.actor,
                "delete",
                |current, _| {
                    let mut marked = current.cloned().ok_or_else(|| ApiError::not_found(resource, &name))?;
                    if marked.pointer("/metadata/deletionTimestamp").is_none() {
                        marked["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
                        marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                    }
                    Ok(Some(marked))
                },
            )?;
            return Ok(json_response(StatusCode::OK, &marked.unwrap_or_default()));
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
            let marked = self.state.store.write(
                resource,
                self.namespace(),
                &name,
                &self.actor,
                "delete",
                |current, _| {
                    let mut marked = current.cloned().ok_or_else(|| ApiError::not_found(resource, &name))?;
                    if marked.pointer("/metadata/deletionTimestamp").is_none() {
                        marked["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
                        marked["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
                    }
                    Ok(Some(marked))
                },
            )?;
            return Ok(json_response(StatusCode::OK, &marked.unwrap_or_default()));
        }
        let uid = current
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        collect_garbage(&self.state.store, &uid, &propagation);
        self.state
            .store
            .write(resource, self.namespace(), &name, &self.actor, "delete", |_, _| {
                Ok(None)
            })?;
        if resource.kind == "Pod" {
            return Ok(json_response(StatusCode::OK, &current));
        }
        let details = json!({"name": name, "group": resource.group, "kind": resource.plural, "uid": uid});
        Ok(json_response(
            StatusCode::OK,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
        ))
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

/// Owner-reference garbage collection for a deleted owner: dependents are deleted (Background,
/// Foreground; recursively) or released (Orphan). Dependents with other owners left are kept.
pub fn collect_garbage(store: &Store, owner_uid: &str, propagation: &str) {
    for (resource, dependent) in store.dependents(owner_uid) {
        let namespace = dependent
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let name = dependent
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let references = dependent
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let remaining: Vec<Value> = references
            .into_iter()
            .filter(|r| r.get("uid").and_then(Value::as_str) != Some(owner_uid))
            .collect();
        if propagation == "Orphan" || !remaining.is_empty() {
            let _ = store.write(
                resource,
                &namespace,
                &name,
                "garbage-collector",
                "update",
                |current, _| {
                    let Some(current) = current else { return Ok(None) };
                    let mut released = current.clone();
                    released["metadata"]["ownerReferences"] = json!(remaining);
                    Ok(Some(released))
                },
            );
            continue;
        }
        let uid = dependent
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        collect_garbage(store, &uid, propagation);
        let _ = store.write(
            resource,
            &namespace,
            &name,
            "garbage-collector",
            "delete",
            |current, _| match current {
                Some(_) => Ok(None),
                None => Err(ApiError::not_found(resource, &name)),
            },
        );
    }
}

// ---------------------------------------------------------------- admin API (/sim/v1)

async fn admin_timeline(State(state): State<AppState>) -> Response {
    let writes: Vec<Value> = state
        .store
        .timeline()
        .iter()
        .map(|w| {
            json!({"resourceVersion": w.resource_version, "actor": w.actor, "verb": w.verb, "event": w.event.as_str(),
                   "kind": w.kind, "namespace": w.namespace, "name": w.name, "time": w.time.to_rfc3339()})
        })
        .collect();
    json_response(StatusCode::OK, &json!({"writes": writes}))
}

async fn admin_faults(State(state): State<AppState>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({"rules": state.faults.rules(), "injected": state.faults.injected()}),
    )
}

async fn admin_set_faults(State(state): State<AppState>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct Rules {
        rules: Vec<super::faults::FaultRule>,
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

async fn admin_add_node(State(state): State<AppState>, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(name) = request.get("name").and_then(Value::as_str) else {
        return error_response(&ApiError::bad_request("expected {\"name\": \"node-…\"}"));
    };
    let (existing, _) = state.store.list(
        resources::find("", "v1", "nodes").unwrap_or(&resources::RESOURCES[0]),
        None,
    );
    match state.fleet.add_node(name, existing.len() + 1) {
        Ok(()) => json_response(StatusCode::CREATED, &json!({"node": name})),
        Err(error) => error_response(&error),
    }
}

async fn admin_node_action(
    State(state): State<AppState>,
    axum::extract::Path((name, action)): axum::extract::Path<(String, String)>,
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

async fn admin_image(
    State(state): State<AppState>,
    axum::extract::Path(image): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
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
