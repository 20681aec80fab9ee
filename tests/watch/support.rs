//! What the `watch` and `kubectl daemonroll` tests share: a simulated cluster with its kubeconfig,
//! daemonroll's controller in this process, an HTTP client that writes as the test, and the
//! binary.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use daemonroll::controller::{Controller, Options};
use daemonroll::kube::config::client_from_config;
use daemonroll::kube::{ApiClient, PatchKind, WriteGate};
use daemonroll::ops::lifecycle;
use daemonroll::sim::cluster::{SimConfig, Simulator};
use daemonroll::sim::fleet::{FleetConfig, ImageBehaviour};
use serde_json::{Value, json};
use tokio::sync::oneshot;

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

pub fn installed(program: &str, version_args: &[&str]) -> bool {
    Command::new(program)
        .args(version_args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A simulated cluster of `nodes` nodes (node-001 …) whose pods become Ready 300 ms after they start.
pub struct Cluster {
    pub sim: Simulator,
    api: ApiClient,
    pub dir: TempDir,
    pub kubeconfig: PathBuf,
    controller: Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
}

impl Cluster {
    pub async fn start(nodes: usize) -> Cluster {
        let fleet = FleetConfig {
            ready_after: Duration::from_millis(300),
            terminate_after: Duration::from_millis(50),
            ..FleetConfig::default()
        };
        let sim = Simulator::start(SimConfig {
            nodes,
            fleet,
            ..SimConfig::default()
        })
        .await
        .expect("simulator starts");
        let mut config = kube::Config::new(sim.url().parse().expect("simulator URL"));
        config
            .headers
            .push((http::header::USER_AGENT, http::HeaderValue::from_static("e2e-test/1")));
        let api = ApiClient::new(kube::Client::try_from(config).expect("test client"));
        let dir = TempDir::new("view");
        let kubeconfig = dir.0.join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");
        Cluster {
            sim,
            api,
            dir,
            kubeconfig,
            controller: None,
        }
    }

    /// Starts daemonroll's controller in this process.
    pub fn start_controller(&mut self) {
        let client =
            client_from_config(kube::Config::new(self.sim.url().parse().expect("simulator URL"))).expect("client");
        let controller = Controller::new(
            client.clone(),
            Options::default(),
            WriteGate::open(),
            Default::default(),
        );
        self.controller = Some(lifecycle::spawn(controller, client));
    }

    pub async fn stop(mut self) {
        if let Some((stop, task)) = self.controller.take() {
            let _ = stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        self.sim.stop().await;
    }

    /// Pods of `image` run but never become Ready.
    pub fn image_never_ready(&self, image: &str) {
        self.sim
            .fleet
            .set_image_behaviour(image, Some(ImageBehaviour::NeverReady));
    }

    pub async fn create(&self, collection: &str, object: Value) -> Value {
        self.api.create(collection, &object).await.expect("object is created")
    }

    pub async fn patch(&self, path: &str, patch: Value) -> Value {
        self.api
            .patch(path, PatchKind::Merge, &patch)
            .await
            .expect("object is patched")
    }

    pub async fn get(&self, path: &str) -> Value {
        self.api.get(path).await.expect("object exists")
    }

    pub async fn pods(&self, namespace: &str) -> Vec<Value> {
        let list = self.get(&format!("/api/v1/namespaces/{namespace}/pods")).await;
        list["items"].as_array().cloned().unwrap_or_default()
    }

    /// Polls `check` every 50 ms until it holds; panics with `what` after `limit`.
    pub async fn wait_until<F, Fut>(&self, what: &str, limit: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + limit;
        while !check().await {
            assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub fn ds_path(namespace: &str, name: &str) -> String {
    format!("/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}")
}

/// A DaemonSet of `image`, maxUnavailable 1, with these annotations.
pub fn daemon_set(name: &str, image: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "agent", "image": image}]}
            }
        }
    })
}

/// Runs the daemonroll binary.
pub fn daemonroll(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_daemonroll"))
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
