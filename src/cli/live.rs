//! Reading what `plan --live` plans from: DaemonSets, Nodes, Pods and ControllerRevisions of a
//! cluster, 500 objects a page (CLI edge: network reads only, nothing is written).

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use daemonroll::controller::api_resource;
use daemonroll::snapshot::dump::{Dump, DumpError};
use daemonroll::store::Kind;

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The API server could not be reached or refused the list.
    #[error("cannot list {resource} from the API server at {url} (is it reachable? check --kubeconfig and --context)")]
    List {
        resource: String,
        url: String,
        #[source]
        source: kube::Error,
    },
    /// An object the API server returned is malformed.
    #[error("cannot read the objects the API server returned")]
    Objects(#[source] DumpError),
}

/// Lists the four kinds across all namespaces. Objects keep the fields the API server served beyond
/// their metadata, so that fields this build does not know survive into the plan's templates.
pub async fn fetch(client: &kube::Client, url: &str) -> Result<Dump, LiveError> {
    let mut items: Vec<Value> = Vec::new();
    for kind in Kind::ALL {
        let resource = api_resource(kind);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let mut params = ListParams::default().limit(500);
        loop {
            let page = api.list(&params).await.map_err(|source| LiveError::List {
                resource: resource.plural.clone(),
                url: url.to_string(),
                source,
            })?;
            for object in page.items {
                let mut item = serde_json::to_value(object).unwrap_or(Value::Null);
                // List items come without their kind; the dump reader goes by it.
                item["kind"] = Value::from(kind.name());
                items.push(item);
            }
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => params = params.continue_token(&token),
                _ => break,
            }
        }
    }
    Dump::from_objects(items).map_err(LiveError::Objects)
}
