//! The harness: a simulator on 127.0.0.1:0, the real kubectl pointed at it, and helpers that read
//! the stored objects.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use daemonroll::sim::cluster::{SimConfig, Simulator};
use daemonroll::sim::resources;
use daemonroll::sim::store::Store;
use serde_json::Value;

pub struct Kubectl {
    kubeconfig: PathBuf,
    cache: PathBuf,
    _dir: TempDir,
}

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
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

fn kubectl_installed() -> bool {
    Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Kubectl {
    pub fn new(simulator: &Simulator) -> Self {
        let dir = TempDir::new("kubectl");
        let kubeconfig = dir.0.join("kubeconfig");
        simulator.write_kubeconfig(&kubeconfig).expect("kubeconfig is written");
        Kubectl {
            kubeconfig,
            cache: dir.0.join("cache"),
            _dir: dir,
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("kubectl");
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args);
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("kubectl runs")
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn apply_stdin(&self, args: &[&str], manifest: &str) -> String {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl starts");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), manifest.as_bytes())
            .expect("manifest is sent");
        let output = child.wait_with_output().expect("kubectl exits");
        assert!(
            output.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// The lines a running kubectl prints, as they come.
pub fn lines_of(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    lines_rx
}

pub fn manifest(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent\n  namespace: default\nspec:\n  selector:\n    matchLabels: {{app: agent}}\n  template:\n    metadata:\n      labels: {{app: agent}}\n    spec:\n      containers:\n      - name: agent\n        image: {image}\n"
    )
}

/// The stored object (in namespace `default` if the kind is namespaced).
pub fn stored(store: &Store, plural: &str, group: &str, name: &str) -> Option<Arc<Value>> {
    stored_in(store, plural, group, "default", name)
}

/// The stored object in `namespace` (ignored for cluster-scoped kinds).
pub fn stored_in(store: &Store, plural: &str, group: &str, namespace: &str, name: &str) -> Option<Arc<Value>> {
    let resource = resources::find(group, "v1", plural).expect("served resource");
    store.get(resource, if resource.namespaced { namespace } else { "" }, name)
}

pub fn set_status(store: &Store, status: Value) {
    let resource = resources::find("apps", "v1", "daemonsets").expect("served");
    store
        .write(resource, "default", "agent", "test", "status", |current, _| {
            let mut updated = current.cloned().expect("the DaemonSet exists");
            updated["status"] = status;
            Ok(Some(updated))
        })
        .expect("status is written");
}

pub fn start() -> Option<(tokio::runtime::Runtime, Simulator, Kubectl)> {
    if !kubectl_installed() {
        eprintln!("SKIPPED: kubectl is not installed (apt-get install -y kubernetes-client); .ci/run installs it");
        return None;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime starts");
    let simulator = runtime
        .block_on(Simulator::start(SimConfig {
            nodes: 3,
            ..SimConfig::default()
        }))
        .expect("simulator starts");
    let kubectl = Kubectl::new(&simulator);
    Some((runtime, simulator, kubectl))
}
