//! The two backends side by side: the simulator and a real control plane, each with a kube
//! client for raw requests and the real kubectl 1.37 (built with the control plane) for both.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use daemonroll::sim::cluster::{SimConfig, Simulator};
use futures::{AsyncBufReadExt, StreamExt};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};

use crate::control_plane::{ControlPlane, DaemonSetController};
use crate::diff::assert_same;

/// Nodes on each side: node-001 and node-002, Ready, on both.
pub const NODES: usize = 2;

/// An answer: the status code and the body (JSON, or the text as a string).
pub struct Answer {
    pub code: u16,
    pub body: Value,
}

impl Answer {
    /// The answer as one document, so a diff names `code` as it names a field of `body`.
    pub fn whole(&self) -> Value {
        json!({"code": self.code, "body": self.body})
    }
}

/// The content types of the four patches.
#[derive(Clone, Copy)]
pub enum PatchType {
    Merge,
    Strategic,
    Json,
    Apply,
}

impl PatchType {
    fn content_type(self) -> &'static str {
        match self {
            PatchType::Merge => "application/merge-patch+json",
            PatchType::Strategic => "application/strategic-merge-patch+json",
            PatchType::Json => "application/json-patch+json",
            PatchType::Apply => "application/apply-patch+yaml",
        }
    }
}

/// One backend: `sim` or `real`.
pub struct Endpoint {
    pub name: &'static str,
    client: kube::Client,
    kubeconfig: PathBuf,
    kubectl: PathBuf,
    cache: PathBuf,
}

impl Endpoint {
    pub async fn send(&self, method: &str, path: &str, content_type: &str, accept: &str, body: Vec<u8>) -> Answer {
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .header("accept", accept)
            .body(kube::client::Body::from(body))
            .expect("a request");
        let response = self
            .client
            .send(request)
            .await
            .unwrap_or_else(|error| panic!("{}: {method} {path} is answered: {error}", self.name));
        let code = response.status().as_u16();
        let bytes = response.into_body().collect_bytes().await.expect("a body");
        let body =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Answer { code, body }
    }

    fn json(&self, value: &Value) -> Vec<u8> {
        serde_json::to_vec(value).expect("JSON")
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, "application/json", "application/json", Vec::new())
            .await
    }

    /// A GET answered as a `meta.k8s.io/v1 Table`, as kubectl asks for it.
    pub async fn get_table(&self, path: &str) -> Answer {
        let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
        self.send("GET", path, "application/json", accept, Vec::new()).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send("POST", path, "application/json", "application/json", self.json(body))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send("PUT", path, "application/json", "application/json", self.json(body))
            .await
    }

    pub async fn patch(&self, path: &str, patch: PatchType, body: &Value) -> Answer {
        self.send("PATCH", path, patch.content_type(), "application/json", self.json(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send("DELETE", path, "application/json", "application/json", Vec::new())
            .await
    }

    /// Creates `body` and expects 201.
    pub async fn create(&self, path: &str, body: &Value) -> Value {
        let answer = self.post(path, body).await;
        assert_eq!(answer.code, 201, "{}: POST {path}: {}", self.name, answer.body);
        answer.body
    }

    /// Opens a watch (no bookmarks), runs `act`, and answers the first `count` events it sees.
    pub async fn watch_while(&self, path: &str, count: usize, act: impl AsyncFnOnce()) -> Vec<Value> {
        let request = http::Request::builder()
            .method("GET")
            .uri(path)
            .header("accept-encoding", "identity")
            .body(Vec::new())
            .expect("a request");
        let stream = self
            .client
            .request_stream(request)
            .await
            .unwrap_or_else(|error| panic!("{}: watch {path} opens: {error}", self.name));
        act().await;
        let lines = stream.lines().take(count).map(|line| {
            let line = line.expect("a watch line");
            serde_json::from_str::<Value>(&line).expect("a JSON watch event")
        });
        tokio::time::timeout(Duration::from_secs(20), lines.collect::<Vec<_>>())
            .await
            .unwrap_or_else(|_| panic!("{}: {count} watch events within 20 s", self.name))
    }

    /// The real kubectl 1.37 against this backend.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        std::process::Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .output()
            .expect("kubectl runs")
    }

    /// Polls `path` until `done` holds for its body (20 s at most).
    pub async fn wait_for(&self, path: &str, what: &str, done: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let answer = self.get(path).await;
            if answer.code == 200 && done(&answer.body) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: {what} within 20 s: {}",
                self.name,
                answer.body
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

pub struct Backends {
    pub sim: Endpoint,
    pub real: Endpoint,
    // Dropped last: the endpoints' clients first, then the servers.
    _simulator: Simulator,
    _plane: ControlPlane,
}

impl Backends {
    /// A simulator and a control plane, each with NODES Ready nodes and no DaemonSet controller
    /// (the simulator has none; kube-controller-manager's is off), so only the cases write.
    pub async fn start(bin: PathBuf) -> Backends {
        let started = Instant::now();
        let plane = ControlPlane::up(bin.clone(), NODES, DaemonSetController::Off);
        eprintln!("control plane with {NODES} nodes up in {:?}", started.elapsed());
        let simulator = Simulator::start(SimConfig {
            nodes: NODES,
            ..SimConfig::default()
        })
        .await
        .expect("the simulator starts");
        let sim_kubeconfig = plane.dir.join("sim.kubeconfig");
        simulator
            .write_kubeconfig(&sim_kubeconfig)
            .expect("the kubeconfig is written");
        let sim = endpoint("sim", &sim_kubeconfig, &bin, &plane.dir).await;
        let real = endpoint("real", &plane.kubeconfig(), &bin, &plane.dir).await;
        // The ServiceAccount admission plugin refuses pods until kube-controller-manager has
        // created the namespace's `default` ServiceAccount.
        real.wait_for(
            "/api/v1/namespaces/default/serviceaccounts",
            "the default ServiceAccount",
            |list| list["items"].as_array().is_some_and(|items| !items.is_empty()),
        )
        .await;
        Backends {
            sim,
            real,
            _simulator: simulator,
            _plane: plane,
        }
    }

    /// Runs `scenario` on the simulator, then on the control plane, and asserts that the two
    /// answers are the same after normalising.
    pub async fn compare(&self, what: &str, scenario: impl AsyncFn(&Endpoint) -> Value) {
        self.compare_tolerating(what, &[], scenario).await;
    }

    /// `compare`, with the fields at `tolerated` (JSON pointers, `*` for any array index or key;
    /// each with the reason, for the reader) removed from both answers first.
    pub async fn compare_tolerating(
        &self,
        what: &str,
        tolerated: &[Tolerated],
        scenario: impl AsyncFn(&Endpoint) -> Value,
    ) {
        let mut sim = scenario(&self.sim).await;
        let mut real = scenario(&self.real).await;
        for Tolerated { pointer, .. } in tolerated {
            remove(&mut sim, pointer);
            remove(&mut real, pointer);
        }
        let notes: Vec<String> = tolerated
            .iter()
            .map(|Tolerated { pointer, reason }| format!("{pointer}, {reason}"))
            .collect();
        assert_same(what, &sim, &real, &notes);
    }

    /// Creates namespace `name` on both backends (for cases that list, away from other cases'
    /// objects and the Events the real node controller writes to `default`).
    pub async fn namespace(&self, name: &str) -> String {
        for endpoint in [&self.sim, &self.real] {
            endpoint
                .create("/api/v1/namespaces", &json!({"metadata": {"name": name}}))
                .await;
        }
        name.to_string()
    }
}

async fn endpoint(name: &'static str, kubeconfig: &Path, bin: &Path, dir: &Path) -> Endpoint {
    let config = Kubeconfig::read_from(kubeconfig).expect("the kubeconfig is readable");
    let config = kube::Config::from_custom_kubeconfig(config, &KubeConfigOptions::default())
        .await
        .expect("the kubeconfig is valid");
    Endpoint {
        name,
        client: kube::Client::try_from(config).expect("a client"),
        kubeconfig: kubeconfig.to_path_buf(),
        kubectl: bin.join("kubectl"),
        cache: dir.join(format!("kubectl-cache-{name}")),
    }
}

/// A field a case does not compare, and why: a difference listed in the README.
pub struct Tolerated {
    pub pointer: &'static str,
    pub reason: &'static str,
}

/// Removes every field `pointer` names (`*` matches any key or index).
fn remove(value: &mut Value, pointer: &str) {
    let segments: Vec<String> = pointer
        .trim_start_matches('/')
        .split('/')
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    remove_at(value, &segments);
}

fn remove_at(value: &mut Value, segments: &[&str]) {
    let [first, rest @ ..] = segments else { return };
    if rest.is_empty() {
        match value {
            Value::Object(map) if *first == "*" => map.clear(),
            Value::Object(map) => {
                map.remove(*first);
            }
            _ => {}
        }
        return;
    }
    let children: Vec<&mut Value> = match value {
        Value::Object(map) if *first == "*" => map.values_mut().collect(),
        Value::Array(items) if *first == "*" => items.iter_mut().collect(),
        Value::Object(map) => map.get_mut(*first).into_iter().collect(),
        Value::Array(items) => first
            .parse::<usize>()
            .ok()
            .and_then(|i| items.get_mut(i))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    for child in children {
        remove_at(child, rest);
    }
}
