//! The cluster tier's harness: a real control plane (kube-apiserver 1.37, etcd, the scheduler,
//! kube-controller-manager, KWOK nodes) per test, a kube client, the test's own pod recorder, the
//! real kubectl, and daemonroll as its binary.
//!
//! Tests run one at a time (a control plane takes most of the machine's two cores): `Cluster`
//! holds a process-wide lock until it is dropped.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};
use serde_json::{Value, json};

pub use crate::control_plane::*;
pub use crate::daemonroll::*;
pub use crate::fixtures::*;
pub use crate::pod_fields::*;
pub use crate::recorder::*;

static ONE_AT_A_TIME: LazyLock<Arc<tokio::sync::Mutex<()>>> = LazyLock::new(Default::default);

pub fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

/// Where `deploy/` puts daemonroll, and so its leader-election Lease.
pub const LEASE_NAMESPACE: &str = "daemonroll-system";

/// How long KWOK's pods take from Running to Ready in the fixtures (`ready_after`).
pub const READY_AFTER: &str = "1s";

pub struct ClusterBuilder {
    nodes: usize,
    daemonset_controller: DaemonSetController,
}

impl ClusterBuilder {
    /// kube-controller-manager starts with its DaemonSet controller on (daemonroll is not running).
    pub fn with_builtin_daemonset_controller(mut self) -> Self {
        self.daemonset_controller = DaemonSetController::On;
        self
    }

    /// The control plane, or None (and a SKIPPED line) where its binaries are not built.
    pub async fn start(self) -> Option<Cluster> {
        let Binaries::Built(bin) = binaries() else {
            return None;
        };
        let turn = Arc::clone(&ONE_AT_A_TIME).lock_owned().await;
        let started = Instant::now();
        let plane = ControlPlane::up(bin, self.nodes, self.daemonset_controller);
        eprintln!("control plane with {} nodes up in {:?}", self.nodes, started.elapsed());
        let client = client_for(&plane.kubeconfig()).await;
        let recorder = PodRecorder::start(client.clone(), "default").await;
        Some(Cluster {
            service_account: std::sync::OnceLock::new(),
            recorder,
            client,
            nodes: self.nodes,
            plane,
            _turn: turn,
        })
    }
}

pub async fn client_for(kubeconfig: &std::path::Path) -> Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig).expect("the kubeconfig up wrote is readable");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("the kubeconfig is valid");
    Client::try_from(config).expect("a client")
}

pub struct Cluster {
    service_account: std::sync::OnceLock<PathBuf>,
    pub recorder: PodRecorder,
    pub client: Client,
    pub nodes: usize,
    pub plane: ControlPlane,
    // Last: released only after the control plane is down.
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl Cluster {
    pub fn with_nodes(nodes: usize) -> ClusterBuilder {
        ClusterBuilder {
            nodes,
            daemonset_controller: DaemonSetController::Off,
        }
    }

    /// `daemonroll run` against this control plane as users run it: with the token of
    /// `deploy/`'s ServiceAccount, so every test also checks that its RBAC rules suffice.
    pub fn start_daemonroll(&self, extra: &[&str]) -> Daemonroll {
        self.start_daemonroll_as(&self.service_account_kubeconfig(), "daemonroll", extra)
    }

    /// `kubectl apply -k deploy/` (once), then a kubeconfig carrying a token of its ServiceAccount.
    pub fn service_account_kubeconfig(&self) -> PathBuf {
        self.service_account
            .get_or_init(|| {
                let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
                self.kubectl_ok(&["apply", "-k", &deploy.to_string_lossy()]);
                let token = self.kubectl_ok(&[
                    "create",
                    "token",
                    "daemonroll",
                    "-n",
                    "daemonroll-system",
                    "--duration=1h",
                ]);
                kubeconfig_with_token(self, token.trim(), "daemonroll.kubeconfig")
            })
            .clone()
    }

    /// `daemonroll run` with another kubeconfig (another identity), logging to logs/<log_name>.log.
    pub fn start_daemonroll_as(&self, kubeconfig: &std::path::Path, log_name: &str, extra: &[&str]) -> Daemonroll {
        Daemonroll::start(kubeconfig, self.plane.log_path(log_name), extra, None)
    }

    /// A leader-electing replica named `name` (its POD_NAME), on the Lease `daemonroll` in
    /// `daemonroll-system`, where `deploy/`'s Role lets it write Leases.
    pub fn start_replica(&self, name: &str, extra: &[&str]) -> Daemonroll {
        let mut args = vec!["--leader-elect=true", "--leader-elect-namespace", LEASE_NAMESPACE];
        args.extend_from_slice(extra);
        let kubeconfig = self.service_account_kubeconfig();
        Daemonroll::start(&kubeconfig, self.plane.log_path(name), &args, Some(name))
    }

    pub fn daemon_sets(&self) -> Api<DaemonSet> {
        Api::namespaced(self.client.clone(), "default")
    }

    pub async fn create_daemon_set(&self, daemon_set: impl Into<Value>) {
        let daemon_set: DaemonSet = serde_json::from_value(daemon_set.into()).expect("a DaemonSet");
        self.daemon_sets()
            .create(&PostParams::default(), &daemon_set)
            .await
            .expect("the DaemonSet is created");
    }

    pub async fn patch_daemon_set(&self, name: &str, patch: Value) {
        self.daemon_sets()
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .expect("the DaemonSet is patched");
    }

    /// A new image for the fixture's one container: a template change, a new revision.
    pub async fn set_image(&self, name: &str, image: &str) {
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": CONTAINER, "image": image}]}}}});
        self.daemon_sets()
            .patch(name, &PatchParams::default(), &Patch::Strategic(patch))
            .await
            .expect("the template is patched");
    }

    pub async fn get_daemon_set(&self, name: &str) -> Value {
        let daemon_set = self.daemon_sets().get(name).await.expect("the DaemonSet exists");
        serde_json::to_value(daemon_set).unwrap_or_default()
    }

    pub async fn delete_daemon_set(&self, name: &str, propagation: PropagationPolicy) {
        let params = DeleteParams {
            propagation_policy: Some(propagation),
            ..DeleteParams::default()
        };
        self.daemon_sets()
            .delete(name, &params)
            .await
            .expect("the DaemonSet is deleted");
    }

    pub async fn pods(&self) -> Vec<Value> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), "default");
        let list = pods.list(&ListParams::default()).await.expect("pods are listed");
        list.items
            .into_iter()
            .map(|pod| serde_json::to_value(pod).unwrap_or_default())
            .collect()
    }

    /// The pods the DaemonSet `name` controls.
    pub async fn pods_of(&self, name: &str) -> Vec<Value> {
        let mut pods = self.pods().await;
        pods.retain(|pod| controller_name(pod).as_deref() == Some(name));
        pods
    }

    pub async fn revisions(&self) -> Vec<Value> {
        let api: Api<ControllerRevision> = Api::namespaced(self.client.clone(), "default");
        let list = api.list(&ListParams::default()).await.expect("revisions are listed");
        list.items
            .into_iter()
            .map(|r| serde_json::to_value(r).unwrap_or_default())
            .collect()
    }

    /// Waits until `name` runs one Ready, not terminating pod with `image` on each of `nodes`
    /// nodes and its status says so for the current generation.
    pub async fn wait_rolled_out(&self, name: &str, image: &str, nodes: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let pods = self.pods_of(name).await;
            let done = pods.len() == nodes
                && pods
                    .iter()
                    .all(|pod| pod_image(pod) == image && is_ready(pod) && !is_terminating(pod));
            let daemon_set = self.get_daemon_set(name).await;
            let status = &daemon_set["status"];
            let current = status["observedGeneration"] == daemon_set["metadata"]["generation"]
                && status["updatedNumberScheduled"] == json!(nodes)
                && status["numberAvailable"] == json!(nodes);
            if done && current {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name} not rolled out to {image} on {nodes} nodes within {limit:?}: {} pods ({} with {image}, {} ready), status {status}",
                pods.len(),
                pods.iter().filter(|pod| pod_image(pod) == image).count(),
                pods.iter().filter(|pod| is_ready(pod)).count(),
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until `name` has at least one pod with `image`: the rollout has begun.
    pub async fn wait_rollout_under_way(&self, name: &str, image: &str) {
        self.wait_until("the rollout under way", secs(30), || async {
            self.pods_of(name).await.iter().any(|pod| pod_image(pod) == image)
        })
        .await;
    }

    /// Polls `check` until it holds, or fails naming `what`.
    pub async fn wait_until<F, Fut>(&self, what: &str, limit: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + limit;
        while !check().await {
            assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// kubectl that must succeed; its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let output = self.plane.kubectl(args);
        assert!(
            output.status.success(),
            "kubectl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// kube-apiserver's audit log: every write that completed, in order.
    pub fn audit(&self) -> Vec<AuditEntry> {
        let text = std::fs::read_to_string(self.plane.log_path("audit")).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|entry| entry["stage"] == "ResponseComplete")
            .map(|entry| AuditEntry {
                verb: text_of(&entry, "/verb"),
                resource: text_of(&entry, "/objectRef/resource"),
                subresource: text_of(&entry, "/objectRef/subresource"),
                name: text_of(&entry, "/objectRef/name"),
                user_agent: text_of(&entry, "/userAgent"),
                code: entry
                    .pointer("/responseStatus/code")
                    .and_then(Value::as_i64)
                    .unwrap_or_default(),
            })
            .collect()
    }

    pub fn node(&self, name: &str) -> NodeHandle<'_> {
        NodeHandle {
            cluster: self,
            name: name.to_string(),
        }
    }
}

fn text_of(value: &Value, pointer: &str) -> String {
    text(value, pointer).to_string()
}

/// One completed write from kube-apiserver's audit log.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    pub verb: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    pub user_agent: String,
    pub code: i64,
}

impl AuditEntry {
    pub fn by_daemonroll(&self) -> bool {
        self.user_agent.starts_with("daemonroll/")
    }

    pub fn by_controller_manager(&self) -> bool {
        self.user_agent.starts_with("kube-controller-manager/")
    }

    /// `create pods`, `update daemonsets/status`, …
    pub fn describe(&self) -> String {
        if self.subresource.is_empty() {
            format!("{} {}", self.verb, self.resource)
        } else {
            format!("{} {}/{}", self.verb, self.resource, self.subresource)
        }
    }
}

pub struct NodeHandle<'c> {
    cluster: &'c Cluster,
    name: String,
}

impl NodeHandle<'_> {
    pub fn taint(&self, taint: &str) {
        self.cluster.kubectl_ok(&["taint", "node", &self.name, taint]);
    }

    pub fn label(&self, label: &str) {
        self.cluster
            .kubectl_ok(&["label", "node", &self.name, label, "--overwrite"]);
    }

    /// KWOK reports the node Ready=False (the stage `node-not-ready`); kube-controller-manager taints it.
    pub fn become_not_ready(&self) {
        self.label("kwok.daemonroll.io/not-ready=true");
    }

    pub fn become_ready(&self) {
        self.cluster
            .kubectl_ok(&["label", "node", &self.name, "kwok.daemonroll.io/not-ready-"]);
    }

    pub fn remove(&self) {
        self.cluster.kubectl_ok(&["delete", "node", &self.name]);
    }
}

/// A node KWOK manages, labelled as `up` labels its nodes.
pub fn add_node(cluster: &Cluster, number: usize) -> String {
    let name = node_name(number);
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name,
        "annotations": {"kwok.x-k8s.io/node": "fake"},
        "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                   "topology.kubernetes.io/zone": "region-1a", "type": "kwok"}}});
    let file = cluster.plane.dir.join(format!("{name}.json"));
    std::fs::write(&file, node.to_string()).expect("the node manifest is written");
    cluster.kubectl_ok(&["apply", "-f", &file.to_string_lossy()]);
    name
}

/// The fixture DaemonSet as the tier runs it: KWOK makes its pods Ready `READY_AFTER` after start.
pub fn agent(name: &str) -> DaemonSetBuilder {
    daemon_set(name).template_annotation("kwok.daemonroll.io/ready-after", READY_AFTER)
}

pub fn kubeconfig_with_token(cluster: &Cluster, token: &str, file_name: &str) -> PathBuf {
    let admin = std::fs::read_to_string(cluster.plane.kubeconfig()).expect("the admin kubeconfig");
    let mut lines = Vec::new();
    for line in admin.lines() {
        if line.trim_start().starts_with("token:") {
            lines.push(format!("    token: {token}"));
        } else {
            lines.push(line.to_string());
        }
    }
    let path = cluster.plane.dir.join(file_name);
    std::fs::write(&path, lines.join("\n")).expect("the kubeconfig is written");
    path
}
