//! Reading what `plan --live` plans from: DaemonSets, Nodes, Pods and ControllerRevisions of a cluster (I/O).

use serde_json::Value;

use daemonroll::snapshot::dump::{Dump, DumpError};

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The API server could not be reached or refused the list.
    #[error("cannot list {what} from the API server at {url} (is it reachable? check --kubeconfig and --context)")]
    List {
        what: &'static str,
        url: String,
        #[source]
        source: kube::Error,
    },
    /// An object the API server returned is malformed.
    #[error("cannot read the objects the API server returned")]
    Objects(#[source] DumpError),
}

const COLLECTIONS: [(&str, &str, &str); 4] = [
    ("daemonsets", "/apis/apps/v1/daemonsets", "DaemonSet"),
    ("nodes", "/api/v1/nodes", "Node"),
    ("pods", "/api/v1/pods", "Pod"),
    (
        "controllerrevisions",
        "/apis/apps/v1/controllerrevisions",
        "ControllerRevision",
    ),
];

/// Lists the four collections across all namespaces, 500 objects a page, as served (JSON, so fields
/// this build does not know survive into the plan's templates).
pub async fn fetch(client: &kube::Client, url: &str) -> Result<Dump, LiveError> {
    let mut items: Vec<Value> = Vec::new();
    for (what, path, kind) in COLLECTIONS {
        let mut token = String::new();
        loop {
            let query = if token.is_empty() {
                "?limit=500".to_string()
            } else {
                format!("?limit=500&continue={token}")
            };
            let request = http::Request::get(format!("{path}{query}"))
                .body(Vec::new())
                .map_err(|error| LiveError::List {
                    what,
                    url: url.to_string(),
                    source: kube::Error::HttpError(error),
                })?;
            let page: Value = client.request(request).await.map_err(|source| LiveError::List {
                what,
                url: url.to_string(),
                source,
            })?;
            for mut item in page.get("items").and_then(Value::as_array).cloned().unwrap_or_default() {
                if item.get("kind").is_none() {
                    item["kind"] = Value::from(kind);
                }
                items.push(item);
            }
            token = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if token.is_empty() {
                break;
            }
        }
    }
    Dump::from_objects(items).map_err(LiveError::Objects)
}
