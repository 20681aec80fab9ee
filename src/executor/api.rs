//! Raw JSON requests to the API server (I/O). Objects travel as served JSON so that fields this
//! build does not know survive every write.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use http::{Method, Request};
use serde_json::Value;

pub use crate::ops::leader::WriteGate;

/// The longest the executor waits for one answer (kube-controller-manager's clients use 32 s
/// server-side timeouts; a hung TCP connection otherwise never answers).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A token bucket shared by every request of one client (client-go's flowcontrol token bucket).
#[derive(Debug)]
pub struct RateLimiter {
    qps: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    pub fn new(qps: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        RateLimiter {
            qps: qps.max(0.001),
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Waits for a token.
    pub async fn acquire(&self) {
        let wait = {
            let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let (tokens, last) = &mut *state;
            let now = Instant::now();
            *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.qps).min(self.burst);
            *last = now;
            *tokens -= 1.0;
            // A negative balance is this request's place in line.
            (*tokens < 0.0).then(|| Duration::from_secs_f64(-*tokens / self.qps))
        };
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
        }
    }
}

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

/// A failed request, naming the verb and path; shown as the server's message, or the innermost
/// transport error (kube's own rendering repeats each layer).
#[derive(Debug, thiserror::Error)]
#[error("{verb} {path}: {}", summary(error))]
pub struct ApiError {
    pub verb: &'static str,
    pub path: String,
    /// Not a `source`: the message above already says what it says.
    pub error: kube::Error,
}

fn summary(error: &kube::Error) -> String {
    if let kube::Error::Api(status) = error {
        return format!("{} ({} {})", status.message, status.code, status.reason);
    }
    let mut innermost: &dyn std::error::Error = error;
    while let Some(next) = innermost.source() {
        innermost = next;
    }
    innermost.to_string()
}

impl ApiError {
    /// The HTTP status the API server answered with, if it answered.
    pub fn code(&self) -> Option<u16> {
        match &self.error {
            kube::Error::Api(status) => Some(status.code),
            _ => None,
        }
    }

    fn reason(&self) -> &str {
        match &self.error {
            kube::Error::Api(status) => status.reason.as_str(),
            _ => "",
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }

    pub fn is_conflict(&self) -> bool {
        self.code() == Some(409) && self.reason() != "AlreadyExists"
    }

    pub fn is_already_exists(&self) -> bool {
        self.code() == Some(409) && self.reason() == "AlreadyExists"
    }

    /// The server may have carried the write out (upstream: apierrors.IsTimeout, which ReplicaSet and
    /// DaemonSet treat as "still expected").
    pub fn is_timeout(&self) -> bool {
        self.code() == Some(504) || self.reason() == "Timeout"
    }

    /// Whether the request failed because the namespace is being deleted (upstream ignores those creates).
    pub fn is_namespace_terminating(&self) -> bool {
        match &self.error {
            kube::Error::Api(status) => status
                .details
                .as_ref()
                .is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating")),
            _ => false,
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

pub fn pods_path(namespace: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/pods")
}

pub fn pod_path(namespace: &str, name: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/pods/{name}")
}

pub fn daemon_set_path(namespace: &str, name: &str) -> String {
    format!("/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}")
}

pub fn revisions_path(namespace: &str) -> String {
    format!("/apis/apps/v1/namespaces/{namespace}/controllerrevisions")
}

pub fn revision_path(namespace: &str, name: &str) -> String {
    format!("/apis/apps/v1/namespaces/{namespace}/controllerrevisions/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_rate_limiter_lets_a_burst_through_then_paces_at_qps() {
        let limiter = RateLimiter::new(10.0, 2);
        let start = tokio::time::Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst passes at once");
        for _ in 0..3 {
            limiter.acquire().await;
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(290) && elapsed <= Duration::from_millis(320),
            "3 more at 10/s take 0.3 s: {elapsed:?}"
        );
    }
}
