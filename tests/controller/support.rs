//! The end-to-end harness: a simulator, a daemonroll controller (in-process, or the real binary),
//! a test client, kubectl, and the DESIGN.md invariants checked on the simulator's timeline.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use daemonroll::controller::{Controller, Options};
use daemonroll::kube::config::client_from_config;
use daemonroll::kube::{ApiClient, PatchKind, WriteGate};
use daemonroll::ops::lifecycle;
use daemonroll::sim::cluster::{SimConfig, Simulator};
use daemonroll::sim::fleet::FleetConfig;
use daemonroll::sim::store::{EventType, WriteRecord};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const CONTROLLER: &str = "daemonroll";

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("daemonroll-{name}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).expect("temp dir is writable");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running controller: in-process (stopped through its shutdown signal) or the real binary.
pub enum Running {
    InProcess {
        stop: Option<oneshot::Sender<()>>,
        task: tokio::task::JoinHandle<()>,
    },
    Binary(Child),
}

impl Running {
    pub async fn stop(mut self) {
        match &mut self {
            Running::InProcess { stop, task } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
            }
            Running::Binary(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Running::Binary(child) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub struct Cluster {
    pub sim: Simulator,
    /// Writes as the test ("e2e-test" in the timeline).
    pub api: ApiClient,
    pub dir: TempDir,
    pub kubeconfig: PathBuf,
}

pub fn fleet(ready_after_ms: u64) -> FleetConfig {
    FleetConfig {
        ready_after: Duration::from_millis(ready_after_ms),
        terminate_after: Duration::from_millis(50),
        ..FleetConfig::default()
    }
}

impl Cluster {
    pub async fn start(nodes: usize, fleet: FleetConfig) -> Cluster {
        let sim = Simulator::start(SimConfig {
            nodes,
            fleet,
            ..SimConfig::default()
        })
        .await
        .expect("simulator starts");
        let mut config = kube::Config::new(sim.url().parse().expect("url"));
        config
            .headers
            .push((http::header::USER_AGENT, http::HeaderValue::from_static("e2e-test/1")));
        let api = ApiClient::new(kube::Client::try_from(config).expect("client"));
        let dir = TempDir::new("e2e");
        let kubeconfig = dir.0.join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");
        Cluster {
            sim,
            api,
            dir,
            kubeconfig,
        }
    }

    pub fn controller_client(&self) -> kube::Client {
        client_from_config(kube::Config::new(self.sim.url().parse().expect("url"))).expect("client")
    }

    /// Starts daemonroll in this process.
    pub fn start_controller(&self, options: Options) -> Running {
        let client = self.controller_client();
        let controller = Controller::new(client.clone(), options, WriteGate::open(), Default::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let stop = async move {
                let _ = stopped.await;
            };
            let _ = lifecycle::run(controller, &client, None, stop).await;
        });
        Running::InProcess { stop: Some(stop), task }
    }

    /// Starts the real `daemonroll run` binary against this cluster.
    pub fn start_binary(&self, extra: &[&str]) -> Running {
        let log = std::fs::File::create(self.dir.0.join(format!("run-{}.log", uuid::Uuid::new_v4()))).expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_daemonroll"))
            .arg("run")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            // Tests run in parallel: no fixed admin port.
            .args(["--admin-addr", "off"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("daemonroll starts");
        Running::Binary(child)
    }

    pub async fn create_daemon_set(&self, object: Value) -> Value {
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        self.api
            .create(&format!("/apis/apps/v1/namespaces/{namespace}/daemonsets"), &object)
            .await
            .expect("DaemonSet is created")
    }

    pub async fn patch_daemon_set(&self, name: &str, patch: Value) {
        self.api
            .patch(&ds_path(name), PatchKind::Merge, &patch)
            .await
            .expect("DaemonSet is patched");
    }

    pub async fn set_image(&self, name: &str, image: &str) {
        self.patch_daemon_set(
            name,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": image}]}}}}),
        )
        .await;
    }

    pub async fn daemon_set(&self, name: &str) -> Value {
        self.api.get(&ds_path(name)).await.expect("DaemonSet exists")
    }

    pub async fn pods(&self) -> Vec<Value> {
        let list = self.api.get("/api/v1/namespaces/default/pods").await.expect("pods");
        list["items"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until the DaemonSet's status says the rollout of its current generation is complete
    /// with `desired` pods; panics after `limit` with the last status.
    pub async fn wait_rolled_out(&self, name: &str, desired: i64, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let ds = self.daemon_set(name).await;
            let status = &ds["status"];
            let count = |field: &str| status[field].as_i64().unwrap_or(0);
            let done = status["observedGeneration"].as_i64() >= ds["metadata"]["generation"].as_i64()
                && count("desiredNumberScheduled") == desired
                && count("updatedNumberScheduled") == desired
                && count("numberAvailable") == desired
                && count("currentNumberScheduled") == desired
                && count("numberMisscheduled") == 0;
            if done {
                return ds;
            }
            assert!(
                Instant::now() < deadline,
                "{name} not rolled out to {desired} within {limit:?}: {status}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls `check` every 50 ms until it holds; panics with `what` after `limit`.
    pub async fn wait_until<F, Fut>(&self, what: &str, limit: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + limit;
        while !check().await {
            assert!(
                Instant::now() < deadline,
                "timed out after {limit:?} waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until at least `count` pods of `name` run the current template.
    pub async fn wait_updated(&self, name: &str, count: i64, limit: Duration) {
        self.wait_until(&format!("{count} pods of {name} updated"), limit, || async {
            self.daemon_set(name).await["status"]["updatedNumberScheduled"]
                .as_i64()
                .unwrap_or(0)
                >= count
        })
        .await;
    }

    pub fn timeline(&self) -> Vec<WriteRecord> {
        self.sim.store.timeline()
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.0.join("kubectl-cache"))
            .args(args)
            .output()
            .expect("kubectl runs")
    }

    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args);
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

pub fn kubectl_installed() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn ds_path(name: &str) -> String {
    format!("/apis/apps/v1/namespaces/default/daemonsets/{name}")
}

/// A DaemonSet `name` of one container "agent" running `image`, with `strategy` as updateStrategy.
pub fn daemon_set(name: &str, image: &str, strategy: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "updateStrategy": strategy,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "agent", "image": image}]}
            }
        }
    })
}

pub fn rolling(max_unavailable: Value, max_surge: Value) -> Value {
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable, "maxSurge": max_surge}})
}

fn text<'v>(value: &'v Value, pointer: &str) -> &'v str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

fn controller_uid(pod: &Value) -> Option<&str> {
    pod.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r["controller"] == json!(true))
        .and_then(|r| r["uid"].as_str())
}

/// The node a daemon pod belongs to: spec.nodeName, else its pinning affinity's value.
pub fn pod_node(pod: &Value) -> String {
    let bound = text(pod, "/spec/nodeName");
    if !bound.is_empty() {
        return bound.to_string();
    }
    text(
        pod,
        "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields/0/values/0",
    )
    .to_string()
}

fn ready_since(pod: &Value) -> Option<DateTime<Utc>> {
    let conditions = pod.pointer("/status/conditions")?.as_array()?;
    let ready = conditions.iter().find(|c| c["type"] == "Ready")?;
    if ready["status"] != "True" {
        return None;
    }
    text(ready, "/lastTransitionTime").parse().ok()
}

/// What a timeline replay found, for assertions beyond the invariants.
#[derive(Debug, Default)]
pub struct Replay {
    pub max_pods_on_a_node: usize,
    pub max_unavailable_seen: usize,
    pub pod_creates: usize,
    pub pod_deletes: usize,
    pub status_writes: usize,
    pub revision_creates: usize,
    pub writes_by_verb: BTreeMap<(String, String), usize>,
}

/// What the invariants allow for one DaemonSet during the replayed window.
pub struct Budget {
    pub daemon_set: String,
    /// Nodes that should run a daemon pod (availability is counted over them).
    pub nodes: Vec<String>,
    pub max_unavailable: usize,
    pub surge: bool,
    pub min_ready: chrono::Duration,
}

impl Budget {
    /// No rolling update in the window: no node may be judged unavailable, one pod per node.
    pub fn no_rollout(daemon_set: &str) -> Budget {
        Budget {
            daemon_set: daemon_set.into(),
            nodes: Vec::new(),
            max_unavailable: 0,
            surge: false,
            min_ready: chrono::Duration::zero(),
        }
    }

    /// A rollout over `nodes` nodes (node-001…) with `max_unavailable` and no surge.
    pub fn rolling(daemon_set: &str, nodes: usize, max_unavailable: usize) -> Budget {
        Budget {
            nodes: node_names(nodes),
            max_unavailable,
            ..Budget::no_rollout(daemon_set)
        }
    }
}

/// Replays the timeline from `from_version` (exclusive) and checks DESIGN.md invariants 1–4 at
/// every write: pods per node, unavailable pods, what created pods carry, and needless status writes.
/// The controller's pod writes after `from_version`, one line each, for failure messages.
pub fn pod_writes(timeline: &[WriteRecord], from_version: u64) -> String {
    timeline
        .iter()
        .filter(|r| r.resource_version > from_version && r.kind == "Pod" && r.actor == CONTROLLER)
        .map(|r| {
            format!(
                "{} {} {} {} on {} hash {}",
                r.time.format("%H:%M:%S%.3f"),
                r.verb,
                r.name,
                r.resource_version,
                pod_node(&r.object),
                text(&r.object, "/metadata/labels/controller-revision-hash")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn check_invariants(timeline: &[WriteRecord], budget: &Budget, from_version: u64) -> Replay {
    check_invariants_by(timeline, budget, from_version, |actor| actor == CONTROLLER)
}

/// As `check_invariants`, counting the writes of every actor `is_controller` accepts (replicas).
pub fn check_invariants_by(
    timeline: &[WriteRecord],
    budget: &Budget,
    from_version: u64,
    is_controller: impl Fn(&str) -> bool,
) -> Replay {
    let uid = timeline
        .iter()
        .find(|r| r.kind == "DaemonSet" && r.name == budget.daemon_set)
        .map(|r| text(&r.object, "/metadata/uid").to_string())
        .expect("the DaemonSet is in the timeline");
    let mut pods: HashMap<String, Arc<Value>> = HashMap::new();
    let mut replay = Replay::default();
    let mut last_status: Option<Value> = None;
    for record in timeline {
        if record.kind == "Pod" && record.namespace == "default" {
            match record.event {
                EventType::Deleted => {
                    pods.remove(&record.name);
                }
                _ => {
                    pods.insert(record.name.clone(), Arc::clone(&record.object));
                }
            }
        }
        if record.resource_version <= from_version {
            if record.kind == "DaemonSet" && record.name == budget.daemon_set {
                last_status = Some(record.object["status"].clone());
            }
            continue;
        }
        let by_controller = is_controller(&record.actor);
        if by_controller {
            *replay
                .writes_by_verb
                .entry((record.kind.to_string(), record.verb.clone()))
                .or_default() += 1;
        }
        match (record.kind, record.verb.as_str()) {
            ("Pod", "create") if by_controller => {
                replay.pod_creates += 1;
                check_created_pod(&record.object, &uid);
            }
            ("Pod", "delete") if by_controller => replay.pod_deletes += 1,
            ("ControllerRevision", "create") if by_controller => replay.revision_creates += 1,
            ("DaemonSet", "status") if record.name == budget.daemon_set => {
                replay.status_writes += 1;
                let status = record.object["status"].clone();
                assert_ne!(
                    Some(&status),
                    last_status.as_ref(),
                    "invariant 4: status written again unchanged at rv {}",
                    record.resource_version
                );
            }
            _ => {}
        }
        if record.kind == "DaemonSet" && record.name == budget.daemon_set {
            last_status = Some(record.object["status"].clone());
        }
        // Invariants 1 and 2 at this instant.
        let mut per_node: HashMap<String, Vec<&Value>> = HashMap::new();
        for pod in pods.values() {
            if controller_uid(pod) == Some(uid.as_str()) {
                per_node.entry(pod_node(pod)).or_default().push(pod);
            }
        }
        let most = per_node.values().map(Vec::len).max().unwrap_or(0);
        replay.max_pods_on_a_node = replay.max_pods_on_a_node.max(most);
        let allowed = if budget.surge { 2 } else { 1 };
        assert!(
            most <= allowed,
            "invariant 1: {most} pods on one node at rv {} ({} {} {})",
            record.resource_version,
            record.verb,
            record.kind,
            record.name
        );
        let unavailable = budget
            .nodes
            .iter()
            .filter(|node| {
                !per_node.get(*node).is_some_and(|pods| {
                    pods.iter().any(|pod| {
                        pod.pointer("/metadata/deletionTimestamp").is_none_or(Value::is_null)
                            && ready_since(pod).is_some_and(|since| since + budget.min_ready <= record.time)
                    })
                })
            })
            .count();
        replay.max_unavailable_seen = replay.max_unavailable_seen.max(unavailable);
        assert!(
            unavailable <= budget.max_unavailable,
            "invariant 2: {unavailable} unavailable (budget {}) at rv {} ({} {} {})",
            budget.max_unavailable,
            record.resource_version,
            record.verb,
            record.kind,
            record.name
        );
    }
    replay
}

/// Invariant 3: what every pod daemonroll creates carries.
fn check_created_pod(pod: &Value, uid: &str) {
    let name = text(pod, "/metadata/name");
    let owner = pod.pointer("/metadata/ownerReferences/0").unwrap_or(&Value::Null);
    assert_eq!(owner["uid"], uid, "pod {name}: controller ownerReference");
    assert_eq!(owner["controller"], true, "pod {name}: controller ownerReference");
    assert_eq!(owner["kind"], "DaemonSet", "pod {name}");
    assert!(
        !text(pod, "/metadata/labels/controller-revision-hash").is_empty(),
        "pod {name}: controller-revision-hash label"
    );
    assert!(
        !text(pod, "/metadata/labels/pod-template-generation").is_empty(),
        "pod {name}: pod-template-generation label"
    );
    let term = pod
        .pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields/0")
        .unwrap_or(&Value::Null);
    assert_eq!(term["key"], "metadata.name", "pod {name}: node-pinning affinity");
    assert_eq!(term["operator"], "In", "pod {name}: node-pinning affinity");
}

/// "verb Kind name" of every write by daemonroll after `from_version`, Events left out.
pub fn controller_writes_since(cluster: &Cluster, from_version: u64) -> Vec<String> {
    cluster
        .timeline()
        .iter()
        .filter(|r| r.resource_version > from_version && r.actor == CONTROLLER && r.kind != "Event")
        .map(|r| format!("{} {} {}", r.verb, r.kind, r.name))
        .collect()
}

/// The latest resource version in the timeline (to start a replay window there).
pub fn now_version(cluster: &Cluster) -> u64 {
    cluster.timeline().last().map(|r| r.resource_version).unwrap_or(0)
}

pub fn node_names(count: usize) -> Vec<String> {
    (1..=count).map(|i| format!("node-{i:03}")).collect()
}
