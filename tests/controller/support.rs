//! The end-to-end harness: a simulator, a daemonroll controller (in-process, or the real binary),
//! a test client, kubectl, and the ARCHITECTURE.md invariants checked on the simulator's timeline.
//!
//! Invariant of this file: it is the only one that names daemonroll's controller and API-client
//! items (`controller`, `kube`, `ops::lifecycle`); the in-process start of a
//! controller is `Cluster::start_controller_with`, and nothing else builds one. Test files use the
//! simulator's API (`daemonroll::sim`) directly.
#![allow(dead_code)]

pub use crate::invariants::*;
pub use crate::pod_fields::*;

#[path = "handles.rs"]
mod handles;
pub use handles::*;

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};

use std::time::{Duration, Instant};

use daemonroll::controller::{Controller, Options};
use daemonroll::kube::config::client_from_config;
use daemonroll::kube::{ApiClient, ApiError, PatchKind, WriteGate};
use daemonroll::ops::lifecycle;
use daemonroll::sim::cluster::{SimConfig, Simulator};
use daemonroll::sim::fleet::{FleetConfig, ImageBehaviour};
use daemonroll::sim::requests::RequestRecord;
use daemonroll::sim::store::WriteRecord;
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub use crate::fixtures::*;

/// The actor daemonroll's writes carry in the timeline (a single, not leader-elected, controller).
pub const CONTROLLER: &str = "daemonroll";

pub fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

pub fn millis(milliseconds: u64) -> Duration {
    Duration::from_millis(milliseconds)
}

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

// ---------------------------------------------------------------- running controllers

/// A running controller: in-process (stopped through its shutdown signal) or the real binary.
pub enum Running {
    InProcess {
        stop: Option<oneshot::Sender<()>>,
        task: tokio::task::JoinHandle<()>,
    },
    Binary(Child),
}

impl Running {
    /// Stops the controller: its shutdown signal in-process, SIGKILL (no cleanup) for the binary.
    pub async fn stop(mut self) {
        match &mut self {
            Running::InProcess { stop, task } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                let _ = tokio::time::timeout(secs(10), task).await;
            }
            Running::Binary(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Sends SIGTERM to the binary.
    pub fn terminate(&self) {
        let Running::Binary(child) = self else {
            panic!("SIGTERM is for a controller started as the binary");
        };
        send_sigterm(child);
    }

    /// Waits for the binary to exit; panics if it still runs after `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let Running::Binary(child) = self else {
            panic!("only a binary exits by itself");
        };
        wait_exit(child, limit).await
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

/// `kill -TERM <pid>`.
pub fn send_sigterm(child: &Child) {
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    assert!(killed.success(), "kill -TERM {pid}: {killed:?}");
}

/// Polls `child` until it exits; panics if it still runs after `limit`.
pub async fn wait_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("the child is waitable") {
            return status;
        }
        assert!(Instant::now() < deadline, "still running {limit:?} later");
        tokio::time::sleep(millis(50)).await;
    }
}

/// What a test sets on an in-process controller; everything else is daemonroll's default.
#[derive(Clone, Debug, Default)]
pub struct ControllerSettings {
    /// `--selector`: only DaemonSets whose labels match.
    pub selector: Option<String>,
}

// ---------------------------------------------------------------- the cluster

/// How to start a simulated cluster: `Cluster::with_nodes(12).pods_ready_after(millis(300)).start()`.
pub struct ClusterBuilder {
    nodes: usize,
    fleet: FleetConfig,
    seed: u64,
}

impl ClusterBuilder {
    /// Seeds the simulator's random choices: generated names and injected faults.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How long a started pod takes to become Ready.
    pub fn pods_ready_after(mut self, delay: Duration) -> Self {
        self.fleet.ready_after = delay;
        self
    }

    pub async fn start(self) -> Cluster {
        let sim = Simulator::start(SimConfig {
            nodes: self.nodes,
            fleet: self.fleet,
            seed: self.seed,
            ..SimConfig::default()
        })
        .await
        .expect("simulator starts");
        let mut config = kube::Config::new(sim.url().parse().expect("simulator URL"));
        config
            .headers
            .push((http::header::USER_AGENT, http::HeaderValue::from_static("e2e-test/1")));
        let api = ApiClient::new(kube::Client::try_from(config).expect("test client"));
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
}

pub struct Cluster {
    pub sim: Simulator,
    /// Writes as the test ("e2e-test" in the timeline).
    api: ApiClient,
    pub dir: TempDir,
    pub kubeconfig: PathBuf,
}

/// An Event as far as the tests look at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The name of the object the Event is about.
    pub regarding: String,
    pub reason: String,
}

/// How a DELETE treats the object's dependents.
#[derive(Clone, Copy, Debug)]
pub enum Propagation {
    /// The object is gone at once; the garbage collector deletes its dependents afterwards.
    Background,
    /// The object stays (deletionTimestamp set) until the garbage collector has deleted its dependents.
    Foreground,
}

pub fn ds_path(name: &str) -> String {
    format!("/apis/apps/v1/namespaces/default/daemonsets/{name}")
}

pub fn pod_path(name: &str) -> String {
    format!("/api/v1/namespaces/default/pods/{name}")
}

impl Cluster {
    /// A simulated cluster of `nodes` nodes (node-001 …); pods become Ready after 1 s unless set.
    pub fn with_nodes(nodes: usize) -> ClusterBuilder {
        ClusterBuilder {
            nodes,
            fleet: FleetConfig {
                terminate_after: millis(50),
                ..FleetConfig::default()
            },
            seed: SimConfig::default().seed,
        }
    }

    /// Starts daemonroll in this process with its default options.
    pub fn start_controller(&self) -> Running {
        self.start_controller_with(ControllerSettings::default())
    }

    /// Starts daemonroll in this process (the one place that does).
    pub fn start_controller_with(&self, settings: ControllerSettings) -> Running {
        let options = Options {
            selector: settings.selector,
            ..Options::default()
        };
        let client =
            client_from_config(kube::Config::new(self.sim.url().parse().expect("simulator URL"))).expect("client");
        let controller = Controller::new(client.clone(), options, WriteGate::open(), Default::default());
        let (stop, task) = lifecycle::spawn(controller, client);
        Running::InProcess { stop: Some(stop), task }
    }

    /// Starts the real `daemonroll run` binary against this cluster, with `extra` flags.
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

    // ------------------------------------------------------------ the fleet

    /// Pods of `image` fail when started (phase Failed).
    pub fn image_fails(&self, image: &str) {
        self.sim.fleet.set_image_behaviour(image, Some(ImageBehaviour::Fail));
    }

    /// Pods of `image` run but restart forever and never become Ready.
    pub fn image_crash_loops(&self, image: &str) {
        self.sim
            .fleet
            .set_image_behaviour(image, Some(ImageBehaviour::CrashLoop));
    }

    /// Adds node `number` (`node_name(number)`).
    pub fn add_node(&self, number: usize) {
        self.sim.fleet.add_node(&node_name(number), number).expect("node added");
    }

    /// A handle on the node `name` to change it as an operator or the node lifecycle would.
    pub fn node(&self, name: &str) -> NodeHandle<'_> {
        NodeHandle {
            cluster: self,
            name: name.to_string(),
        }
    }

    // ------------------------------------------------------------ objects

    /// Creates a DaemonSet (in its namespace, `default` if none) and returns it as stored.
    pub async fn create_daemon_set(&self, daemon_set: impl Into<Value>) -> Value {
        let object: Value = daemon_set.into();
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
        self.try_patch_daemon_set(name, patch)
            .await
            .expect("DaemonSet is patched");
    }

    /// A merge patch of the DaemonSet that may fail (injected faults).
    pub async fn try_patch_daemon_set(&self, name: &str, patch: Value) -> Result<(), ApiError> {
        self.api
            .patch(&ds_path(name), PatchKind::Merge, &patch)
            .await
            .map(|_| ())
    }

    /// The patch `set_image` sends.
    pub fn image_patch(image: &str) -> Value {
        json!({"spec": {"template": {"spec": {"containers": [{"name": CONTAINER, "image": image}]}}}})
    }

    /// Changes the image of the DaemonSet's container: a new template, so a new generation.
    pub async fn set_image(&self, name: &str, image: &str) {
        self.patch_daemon_set(name, Cluster::image_patch(image)).await;
    }

    pub async fn get_daemon_set(&self, name: &str) -> Value {
        self.api.get(&ds_path(name)).await.expect("DaemonSet exists")
    }

    pub async fn daemon_set_exists(&self, name: &str) -> bool {
        self.api.get(&ds_path(name)).await.is_ok()
    }

    pub async fn delete_daemon_set(&self, name: &str, propagation: Propagation) {
        let policy = match propagation {
            Propagation::Background => "Background",
            Propagation::Foreground => "Foreground",
        };
        let body = json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": policy});
        let request = http::Request::delete(ds_path(name))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string().into_bytes())
            .expect("request");
        let _: Value = self
            .api
            .kube_client()
            .request(request)
            .await
            .expect("DaemonSet is deleted");
    }

    /// Every pod in `default`, terminating ones included.
    pub async fn pods(&self) -> Vec<Value> {
        self.list("/api/v1/namespaces/default/pods").await
    }

    pub async fn create_pod(&self, pod: impl Into<Value>) -> Value {
        self.api
            .create("/api/v1/namespaces/default/pods", &pod.into())
            .await
            .expect("pod is created")
    }

    pub async fn patch_pod(&self, name: &str, patch: Value) {
        self.api
            .patch(&pod_path(name), PatchKind::Merge, &patch)
            .await
            .expect("pod is patched");
    }

    pub async fn controller_revisions(&self) -> Vec<Value> {
        self.list("/apis/apps/v1/namespaces/default/controllerrevisions").await
    }

    /// Creates an object from its exact bytes (e.g. JSON encoded as another implementation does).
    pub async fn create_raw(&self, collection: &str, body: String) -> Value {
        self.api
            .create_raw(collection, body.into_bytes())
            .await
            .expect("object is created")
    }

    /// The object at `path`, if the API server serves it.
    pub async fn try_get(&self, path: &str) -> Option<Value> {
        self.api.get(path).await.ok()
    }

    /// The items of the list at `path`.
    pub async fn list(&self, path: &str) -> Vec<Value> {
        let list = self.api.get(path).await.expect("list");
        list["items"].as_array().cloned().unwrap_or_default()
    }

    /// The Events in `default`.
    pub async fn events(&self) -> Vec<Event> {
        self.list("/apis/events.k8s.io/v1/namespaces/default/events")
            .await
            .iter()
            .map(|event| Event {
                regarding: text(event, "/regarding/name").to_string(),
                reason: text(event, "/reason").to_string(),
            })
            .collect()
    }

    pub async fn event_reasons(&self) -> Vec<String> {
        self.events().await.into_iter().map(|event| event.reason).collect()
    }

    // ------------------------------------------------------------ waiting

    /// Waits until the DaemonSet's status says the rollout of its current generation is complete:
    /// `cluster.wait_rolled_out("agent").pods(50).within(secs(30))`.
    pub fn wait_rolled_out<'c>(&'c self, name: &str) -> PodCountWait<'c> {
        PodCountWait {
            cluster: self,
            name: name.to_string(),
            goal: Goal::RolledOut,
        }
    }

    /// Waits until at least so many pods run the current template:
    /// `cluster.wait_updated("agent").pods(7).within(secs(30))`.
    pub fn wait_updated<'c>(&'c self, name: &str) -> PodCountWait<'c> {
        PodCountWait {
            cluster: self,
            name: name.to_string(),
            goal: Goal::Updated,
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
            tokio::time::sleep(millis(50)).await;
        }
    }

    // ------------------------------------------------------------ the timeline

    pub fn timeline(&self) -> Vec<WriteRecord> {
        self.sim.store.timeline()
    }

    /// Every resource request the simulator answered, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.sim.requests.entries()
    }

    /// The timeline's position now, to replay or list the writes that follow.
    /// When daemonroll deleted pods, in timeline order.
    pub fn pod_delete_times(&self) -> Vec<chrono::DateTime<chrono::Utc>> {
        self.timeline()
            .into_iter()
            .filter(|r| r.kind == "Pod" && r.verb == "delete" && r.actor == CONTROLLER)
            .map(|r| r.time)
            .collect()
    }

    pub fn mark(&self) -> Mark {
        Mark(self.timeline().last().map(|r| r.resource_version).unwrap_or(0))
    }

    /// Replays the timeline after `since` and checks the ARCHITECTURE.md invariants 1–4 at every write
    /// (pods per node, unavailable pods, what created pods carry, needless status writes);
    /// returns what the replay counted.
    pub fn check_invariants_since(&self, since: Mark, budget: &Budget) -> Replay {
        check_invariants(&self.timeline(), budget, since.0)
    }

    /// The controller's pod writes after `since`, one line each, for failure messages.
    pub fn pod_writes_since(&self, since: Mark) -> String {
        self.timeline()
            .iter()
            .filter(|r| r.resource_version > since.0 && r.kind == "Pod" && r.actor == CONTROLLER)
            .map(|r| {
                format!(
                    "{} {} {} {} on {} hash {}",
                    r.time.format("%H:%M:%S%.3f"),
                    r.verb,
                    r.name,
                    r.resource_version,
                    pod_node(&r.object.value()),
                    text(&r.object.value(), "/metadata/labels/controller-revision-hash")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// "verb Kind name" of every write by daemonroll after `since`, Events left out.
    pub fn controller_writes_since(&self, since: Mark) -> Vec<String> {
        self.timeline()
            .iter()
            .filter(|r| r.resource_version > since.0 && r.actor == CONTROLLER && r.kind != "Event")
            .map(|r| format!("{} {} {}", r.verb, r.kind, r.name))
            .collect()
    }

    // ------------------------------------------------------------ kubectl

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
