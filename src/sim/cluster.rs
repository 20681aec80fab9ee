//! Starting a simulated cluster: the HTTP server, the seed objects, the kubeconfig (I/O: network, files).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::serve::ListenerExt;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::admission;
use super::errors::ApiError;
use super::faults::Faults;
use super::fleet::{Fleet, FleetConfig};
use super::requests::RequestJournal;
use super::resources::{self, Resource};
use super::server::router;
use super::state::AppState;
use super::store::{Retention, Store, now_rfc3339};

/// How to start a simulated cluster.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Nodes created at start, named `node-001`, `node-002`, ….
    pub nodes: usize,
    /// 0 picks a free port.
    pub port: u16,
    /// Seeds the simulator's random choices (generated names), so runs repeat.
    pub seed: u64,
    /// Scheduler, kubelets and node lifecycle: how fast pods become Ready, which images misbehave.
    pub fleet: FleetConfig,
    /// Writes the timeline keeps and requests the request journal keeps, the oldest dropped
    /// first; None keeps all (tests replay whole runs). The watch log is bounded apart
    /// (`store::DEFAULT_LOG_CAPACITY`).
    pub history: Option<usize>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            nodes: 3,
            port: 0,
            seed: 1,
            fleet: FleetConfig::default(),
            history: None,
        }
    }
}

/// Why a simulated cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listening socket could not be opened.
    #[error("cannot listen on 127.0.0.1:{port} (choose another --port, or 0 for a free one)")]
    Listen {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    /// The kubeconfig file could not be written.
    #[error("cannot write the kubeconfig to {path} (choose another --kubeconfig-out)")]
    Kubeconfig {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A seed object was rejected (a bug in the seed data).
    #[error("cannot create seed object: {0}")]
    Seed(#[from] ApiError),
}

/// A running simulated cluster. Dropping it stops the server.
pub struct Simulator {
    pub address: SocketAddr,
    pub store: Arc<Store>,
    /// Node operations and pod behaviours of the simulated fleet.
    pub fleet: Fleet,
    /// Fault injection rules for API requests.
    pub faults: Arc<Faults>,
    /// Every request answered, by caller, verb and resource.
    pub access: Arc<super::access::AccessLog>,
    /// Every resource request answered: when, the preconditions a write carried, the answer's code.
    pub requests: Arc<RequestJournal>,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    fleet_task: JoinHandle<()>,
}

fn resource(group: &str, plural: &str) -> &'static Resource {
    resources::builtin(group, plural)
}

/// Creates an object as the API server would, on behalf of `actor`; its name is `metadata.name`.
pub fn create(
    store: &Store,
    resource: &'static Resource,
    namespace: &str,
    object: Value,
    actor: &str,
) -> Result<Arc<Value>, ApiError> {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    create_named(store, resource, namespace, &name, object, actor, false)
}

/// Creates `object` named `name`: server-owned metadata, defaults and validation applied; 409
/// AlreadyExists if the name is taken. With `dry_run` the result is returned but not stored.
pub fn create_named(
    store: &Store,
    resource: &'static Resource,
    namespace: &str,
    name: &str,
    object: Value,
    actor: &str,
    dry_run: bool,
) -> Result<Arc<Value>, ApiError> {
    let uid = uuid::Uuid::new_v4().to_string();
    let prepared = admission::prepare_create(resource, namespace, name, object, &uid, &now_rfc3339())?;
    if dry_run {
        return match store.get(resource, namespace, name) {
            Some(_) => Err(ApiError::already_exists(resource, name)),
            None => Ok(Arc::new(prepared)),
        };
    }
    let written = store.write(resource, namespace, name, actor, "create", |current, _| match current {
        Some(_) => Err(ApiError::already_exists(resource, name)),
        None => Ok(Some(prepared)),
    })?;
    written.ok_or_else(|| ApiError::status(500, "create wrote nothing"))
}

/// A node as a kubelet registers it: well-known labels, capacity, conditions, addresses, nodeInfo.
pub fn node_object(name: &str, index: usize) -> Value {
    let zone = ["a", "b", "c"][index % 3];
    let condition = |kind: &str, status: &str, reason: &str| {
        json!({"type": kind, "status": status, "reason": reason, "message": "",
               "lastHeartbeatTime": now_rfc3339(), "lastTransitionTime": now_rfc3339()})
    };
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": "amd64",
            "topology.kubernetes.io/zone": format!("sim-1{zone}"),
            "topology.kubernetes.io/region": "sim-1",
            "node.kubernetes.io/instance-type": "sim.large",
        }},
        "spec": {"podCIDR": format!("10.244.{}.0/24", index % 256)},
        "status": {
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "110", "ephemeral-storage": "95Gi"},
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID"),
                condition("Ready", "True", "KubeletReady"),
            ],
            "addresses": [
                {"type": "InternalIP", "address": format!("10.0.{}.{}", index / 250, index % 250 + 1)},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.32.4", "kubeProxyVersion": "v1.32.4", "osImage": "Simulated Linux 1.0",
                "kernelVersion": "6.1.0-sim", "containerRuntimeVersion": "containerd://1.7.24",
                "operatingSystem": "linux", "architecture": "amd64",
                "machineID": format!("{index:032x}"), "systemUUID": format!("{index:032x}"), "bootID": format!("{index:032x}")
            }
        }
    })
}

impl Simulator {
    /// Binds 127.0.0.1, seeds namespaces and nodes, and serves until dropped or stopped.
    pub async fn start(config: SimConfig) -> Result<Simulator, SimError> {
        let listener = TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(|source| SimError::Listen {
                port: config.port,
                source,
            })?;
        let address = listener.local_addr().map_err(|source| SimError::Listen {
            port: config.port,
            source,
        })?;
        let store = Arc::new(Store::new(Retention {
            timeline: config.history,
            ..Retention::default()
        }));
        for namespace in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            create(
                &store,
                resource("", "namespaces"),
                "",
                json!({"metadata": {"name": namespace}}),
                "sim",
            )?;
        }
        for index in 1..=config.nodes {
            let name = format!("node-{index:03}");
            create(&store, resource("", "nodes"), "", node_object(&name, index), "sim")?;
        }
        let (fleet, fleet_task) = Fleet::spawn(Arc::clone(&store), config.fleet.clone());
        let faults = Arc::new(Faults::new(config.seed));
        let access = Arc::new(super::access::AccessLog::default());
        let requests = Arc::new(RequestJournal::bounded(config.history));
        let state = AppState {
            store: Arc::clone(&store),
            access: Arc::clone(&access),
            faults: Arc::clone(&faults),
            requests: Arc::clone(&requests),
            fleet: fleet.clone(),
            random: Arc::new(Mutex::new(fastrand::Rng::with_seed(config.seed))),
            address: address.to_string(),
        };

        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = router(state);
        let server = tokio::spawn(async move {
            // kube-apiserver's connections have TCP_NODELAY (Go sets it on every TCP connection).
            // Without it a watch's second small event in a row waits for the client's delayed ACK,
            // 40 ms on Linux: that was the tail of every reaction time measured against the simulator.
            let listener = listener.tap_io(|connection| {
                if let Err(error) = connection.set_nodelay(true) {
                    tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
                }
            });
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::error!(%error, "simulated API server stopped");
            }
        });
        tracing::info!(%address, nodes = config.nodes, "simulated cluster started");
        Ok(Simulator {
            address,
            store,
            fleet,
            faults,
            access,
            requests,
            shutdown: Some(shutdown),
            server,
            fleet_task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A kubeconfig pointing at this cluster (context and user `daemonroll-sim`, namespace default).
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: daemonroll-sim\n  cluster:\n    server: {url}\ncontexts:\n- name: daemonroll-sim\n  context:\n    cluster: daemonroll-sim\n    user: daemonroll-sim\n    namespace: default\ncurrent-context: daemonroll-sim\nusers:\n- name: daemonroll-sim\n  user:\n    token: daemonroll-sim\n",
            url = self.url()
        )
    }

    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), SimError> {
        std::fs::write(path, self.kubeconfig()).map_err(|source| SimError::Kubeconfig {
            path: path.display().to_string(),
            source,
        })
    }

    /// Stops serving and waits for the server task.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.server).await;
        self.fleet_task.abort();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.fleet_task.abort();
    }
}
