//! The API client every writer shares: raw JSON requests through the write gate, the rate limiter and a
//! timeout (I/O). Objects travel as served JSON so that fields this
//! build does not know survive every write.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request};
use serde_json::Value;

use super::error::ApiError;
use super::gate::WriteGate;
use super::rate_limit::RateLimiter;

/// The longest the executor waits for one answer (kube-controller-manager's clients use 32 s
/// server-side timeouts; a hung TCP connection otherwise never answers).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The content type of each patch flavour the executor sends.
#[derive(Clone, Copy, Debug)]
pub enum PatchKind {
    Merge,
    Strategic,
}

impl PatchKind {
    fn content_type(self) -> &'static str {
        match self {
            PatchKind::Merge => "application/merge-patch+json",
            PatchKind::Strategic => "application/strategic-merge-patch+json",
        }
    }
}

#[derive(Clone)]
pub struct ApiClient {
    client: kube::Client,
    /// Writes are refused while the gate is closed (a follower, or a leader that lost its lease).
    gate: Option<WriteGate>,
    limiter: Option<Arc<RateLimiter>>,
}

impl ApiClient {
    pub fn new(client: kube::Client) -> Self {
        ApiClient {
            client,
            gate: None,
            limiter: None,
        }
    }

    /// Refuses every write while `gate` is closed.
    pub fn with_gate(mut self, gate: WriteGate) -> Self {
        self.gate = Some(gate);
        self
    }

    /// At most `qps` requests a second on average, `burst` at once (kube-controller-manager's
    /// --kube-api-qps and --kube-api-burst).
    pub fn with_rate_limit(mut self, qps: f64, burst: u32) -> Self {
        self.limiter = Some(Arc::new(RateLimiter::new(qps, burst)));
        self
    }

    pub fn kube_client(&self) -> &kube::Client {
        &self.client
    }

    async fn send(
        &self,
        verb: &'static str,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Value, ApiError> {
        let fail = |error| ApiError {
            verb,
            path: path.to_string(),
            error,
        };
        let refused = || {
            let status = kube::core::Status::failure("not the leader: writes are stopped", "NotLeader");
            Err(fail(kube::Error::Api(status.boxed())))
        };
        let gated = method != Method::GET;
        if gated && self.gate.as_ref().is_some_and(|gate| !gate.is_open()) {
            return refused();
        }
        if let Some(limiter) = &self.limiter {
            limiter.acquire().await;
            // The lease may have been lost while waiting for a token.
            if gated && self.gate.as_ref().is_some_and(|gate| !gate.is_open()) {
                return refused();
            }
        }
        let mut request = Request::builder().method(method).uri(path);
        if let Some(content_type) = content_type {
            request = request.header(http::header::CONTENT_TYPE, content_type);
        }
        let request = request
            .body(body)
            .map_err(|error| fail(kube::Error::HttpError(error)))?;
        match tokio::time::timeout(REQUEST_TIMEOUT, self.client.request::<Value>(request)).await {
            Ok(result) => result.map_err(fail),
            // A hung connection must not pin a worker (and its DaemonSet) forever. The request may
            // still land: reported as a Timeout, which keeps a create expected (see pods.rs).
            Err(_) => {
                let status =
                    kube::core::Status::failure("no answer within the client timeout", "Timeout").with_code(504);
                Err(fail(kube::Error::Api(status.boxed())))
            }
        }
    }

    pub async fn get(&self, path: &str) -> Result<Value, ApiError> {
        self.send("get", Method::GET, path, None, Vec::new()).await
    }

    /// Creates from raw JSON bytes (ControllerRevision data must reach the server byte for byte).
    pub async fn create_raw(&self, path: &str, body: Vec<u8>) -> Result<Value, ApiError> {
        self.send("create", Method::POST, path, Some("application/json"), body)
            .await
    }

    pub async fn create(&self, path: &str, object: &Value) -> Result<Value, ApiError> {
        self.create_raw(path, object.to_string().into_bytes()).await
    }

    /// Replaces an object (PUT); its resourceVersion makes the write conditional.
    pub async fn replace(&self, path: &str, object: &Value) -> Result<Value, ApiError> {
        self.send(
            "update",
            Method::PUT,
            path,
            Some("application/json"),
            object.to_string().into_bytes(),
        )
        .await
    }

    pub async fn patch(&self, path: &str, kind: PatchKind, patch: &Value) -> Result<Value, ApiError> {
        self.send(
            "patch",
            Method::PATCH,
            path,
            Some(kind.content_type()),
            patch.to_string().into_bytes(),
        )
        .await
    }

    /// Deletes, with the uid as precondition when given (never deletes a same-named successor).
    pub async fn delete(&self, path: &str, uid: Option<&str>) -> Result<Value, ApiError> {
        let body = match uid {
            Some(uid) => serde_json::json!({
                "kind": "DeleteOptions",
                "apiVersion": "v1",
                "preconditions": {"uid": uid},
            })
            .to_string()
            .into_bytes(),
            None => Vec::new(),
        };
        let content_type = (!body.is_empty()).then_some("application/json");
        self.send("delete", Method::DELETE, path, content_type, body).await
    }
}
