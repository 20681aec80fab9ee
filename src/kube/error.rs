//! The error of one API request, and what the API server's answer means for the caller (no I/O).

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
