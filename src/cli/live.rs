//! Reading what `plan --live` and `watch` plan from: DaemonSets, Nodes, Pods and ControllerRevisions of a
//! cluster, 500 objects a page (CLI edge: network reads only, nothing is written).

use std::path::PathBuf;

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use daemonroll::controller::api_resource;
use daemonroll::kube::config::client_from_config;
use daemonroll::kube::{ClientError, ClientOptions};
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
    /// The DaemonSet to read does not exist.
    #[error("daemonsets.apps {name:?} not found in namespace {namespace:?}")]
    NotFound { namespace: String, name: String },
    /// The DaemonSet to read could not be read.
    #[error("cannot read DaemonSet {namespace}/{name} from the API server at {url}")]
    DaemonSet {
        namespace: String,
        name: String,
        url: String,
        #[source]
        source: kube::Error,
    },
    /// An object the API server returned is malformed.
    #[error("cannot read the objects the API server returned")]
    Objects(#[source] DumpError),
}

/// A client for the cluster the flags (or KUBECONFIG, ~/.kube/config, in-cluster) point at.
pub struct Connection {
    pub client: kube::Client,
    pub url: String,
    /// The context's namespace, else `default` (kubectl's rule for a missing `-n`).
    pub default_namespace: String,
}

pub async fn connect(kubeconfig: Option<PathBuf>, context: Option<String>) -> Result<Connection, ClientError> {
    let options = ClientOptions { kubeconfig, context };
    let config = daemonroll::kube::config::config(&options).await?;
    let url = config.cluster_url.to_string();
    let default_namespace = config.default_namespace.clone();
    let client = client_from_config(config)?;
    Ok(Connection {
        client,
        url,
        default_namespace,
    })
}

/// What one DaemonSet's plan needs, and no more: the DaemonSet, every Node, and the Pods and
/// ControllerRevisions of its namespace (`watch` reads this once a refresh).
pub async fn fetch_daemon_set(
    client: &kube::Client,
    url: &str,
    namespace: &str,
    name: &str,
) -> Result<Dump, LiveError> {
    let resource = api_resource(Kind::DaemonSet);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let daemon_set = api.get(name).await.map_err(|source| match &source {
        kube::Error::Api(status) if status.code == 404 => LiveError::NotFound {
            namespace: namespace.to_string(),
            name: name.to_string(),
        },
        _ => LiveError::DaemonSet {
            namespace: namespace.to_string(),
            name: name.to_string(),
            url: url.to_string(),
            source,
        },
    })?;
    let mut items = vec![item(daemon_set, Kind::DaemonSet)];
    for kind in [Kind::Node, Kind::Pod, Kind::ControllerRevision] {
        let resource = api_resource(kind);
        let api: Api<DynamicObject> = match kind {
            Kind::Node => Api::all_with(client.clone(), &resource),
            _ => Api::namespaced_with(client.clone(), namespace, &resource),
        };
        list_into(&api, kind, url, &mut items).await?;
    }
    Dump::from_objects(items).map_err(LiveError::Objects)
}

fn item(object: DynamicObject, kind: Kind) -> Value {
    let mut item = serde_json::to_value(object).unwrap_or(Value::Null);
    // List items come without their kind; the dump reader goes by it.
    item["kind"] = Value::from(kind.name());
    item
}

async fn list_into(api: &Api<DynamicObject>, kind: Kind, url: &str, items: &mut Vec<Value>) -> Result<(), LiveError> {
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list(&params).await.map_err(|source| LiveError::List {
            resource: api_resource(kind).plural,
            url: url.to_string(),
            source,
        })?;
        items.extend(page.items.into_iter().map(|object| item(object, kind)));
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => return Ok(()),
        }
    }
}

/// Lists the four kinds across all namespaces. Objects keep the fields the API server served beyond
/// their metadata, so that fields this build does not know survive into the plan's templates.
pub async fn fetch(client: &kube::Client, url: &str) -> Result<Dump, LiveError> {
    let mut items: Vec<Value> = Vec::new();
    for kind in Kind::ALL {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &api_resource(kind));
        list_into(&api, kind, url, &mut items).await?;
    }
    Dump::from_objects(items).map_err(LiveError::Objects)
}
