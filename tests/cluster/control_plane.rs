//! A real control plane for one test: `tests/control-plane/up` in a scratch directory, `down` on
//! drop. Components can be stopped, killed and started again one by one.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// kube-controller-manager's DaemonSet controller, as `up --daemonset-controller` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaemonSetController {
    /// daemonroll replaces it (the default).
    Off,
    /// Running, with every other controller.
    On,
}

impl DaemonSetController {
    fn flag(self) -> &'static str {
        match self {
            DaemonSetController::Off => "off",
            DaemonSetController::On => "on",
        }
    }
}

/// The control-plane components `up` starts, by the names its pid files carry.
#[derive(Clone, Copy, Debug)]
pub enum Component {
    KubeApiserver,
    KubeControllerManager,
}

impl Component {
    fn name(self) -> &'static str {
        match self {
            Component::KubeApiserver => "kube-apiserver",
            Component::KubeControllerManager => "kube-controller-manager",
        }
    }
}

/// Where the tier finds the binaries: `tests/control-plane/build --cached`'s answer.
pub enum Binaries {
    Built(PathBuf),
    /// Not built on this machine (and not required): the tier skips.
    Missing,
}

pub fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/control-plane")
}

/// The cached binaries, without building them (a cold build takes about 12 minutes; `.ci/run`
/// builds first). With DAEMONROLL_REQUIRE_CONTROL_PLANE=1, as `.ci/run` sets, missing binaries fail
/// the test instead of skipping it.
pub fn binaries() -> Binaries {
    let output = Command::new(scripts().join("build"))
        .arg("--cached")
        .output()
        .expect("tests/control-plane/build runs");
    if output.status.success() {
        let dir = String::from_utf8_lossy(&output.stdout).trim().to_string();
        return Binaries::Built(PathBuf::from(dir));
    }
    assert!(
        std::env::var("DAEMONROLL_REQUIRE_CONTROL_PLANE").as_deref() != Ok("1"),
        "DAEMONROLL_REQUIRE_CONTROL_PLANE=1 but the control plane is not built: run tests/control-plane/build"
    );
    eprintln!("SKIPPED: the control plane is not built here; run tests/control-plane/build (about 12 minutes, once)");
    Binaries::Missing
}

pub struct ControlPlane {
    pub dir: PathBuf,
    pub bin: PathBuf,
}

impl ControlPlane {
    /// Starts etcd, kube-apiserver, kube-scheduler, kube-controller-manager and KWOK with `nodes`
    /// Ready fake nodes (node-001 …), with the apiserver's audit log of writes on.
    pub fn up(bin: PathBuf, nodes: usize, daemonset_controller: DaemonSetController) -> ControlPlane {
        let dir = std::env::temp_dir().join(format!("daemonroll-cluster-{}", uuid::Uuid::new_v4()));
        let plane = ControlPlane { dir, bin };
        plane.script(
            "up",
            &[
                "--nodes",
                &nodes.to_string(),
                "--daemonset-controller",
                daemonset_controller.flag(),
                "--audit",
            ],
        );
        plane
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("admin.kubeconfig")
    }

    pub fn log_path(&self, name: &str) -> PathBuf {
        self.dir.join("logs").join(format!("{name}.log"))
    }

    /// Stops a component as an operator would (SIGTERM, SIGKILL after 5 s).
    pub fn stop(&self, component: Component) {
        self.script("down", &[component.name()]);
    }

    /// Kills a component: SIGKILL, no shutdown.
    pub fn kill(&self, component: Component) {
        self.script("down", &["--kill", component.name()]);
    }

    /// Starts a stopped component again and waits until it is healthy.
    pub fn start(&self, component: Component, daemonset_controller: DaemonSetController) {
        self.script(
            "up",
            &[
                "--start",
                component.name(),
                "--daemonset-controller",
                daemonset_controller.flag(),
            ],
        );
    }

    /// kube-controller-manager restarted with its DaemonSet controller on or off.
    pub fn restart_controller_manager(&self, daemonset_controller: DaemonSetController) {
        self.stop(Component::KubeControllerManager);
        self.start(Component::KubeControllerManager, daemonset_controller);
    }

    /// The real kubectl 1.37 with the admin kubeconfig.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new(self.bin.join("kubectl"))
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(args)
            .output()
            .expect("kubectl runs")
    }

    fn script(&self, name: &str, args: &[&str]) {
        let output = Command::new(scripts().join(name))
            .arg("--dir")
            .arg(&self.dir)
            .args(args)
            .output()
            .expect("the control-plane script runs");
        assert!(
            output.status.success(),
            "tests/control-plane/{name} {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let keep = std::thread::panicking() || std::env::var_os("DAEMONROLL_KEEP_CONTROL_PLANE").is_some();
        let mut down = Command::new(scripts().join("down"));
        down.arg("--dir").arg(&self.dir).arg("--kill");
        if !keep {
            down.arg("--purge");
        } else {
            eprintln!("control plane state kept in {}", self.dir.display());
        }
        let _ = down.output();
    }
}
