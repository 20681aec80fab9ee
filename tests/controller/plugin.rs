//! `kubectl daemonroll …` through the real kubectl, with this build's binary linked as the plugin
//! (shared by tests/controller and, through `#[path]`, tests/cluster).

use std::path::Path;
use std::process::{Command, Output};

/// Runs `kubectl daemonroll ARGS --kubeconfig KUBECONFIG`, the plugin linked into `scratch`/plugin-bin
/// first on PATH.
pub fn kubectl_daemonroll(kubeconfig: &Path, scratch: &Path, args: &[&str]) -> Output {
    let bin = scratch.join("plugin-bin");
    if !bin.join("kubectl-daemonroll").exists() {
        std::fs::create_dir_all(&bin).expect("plugin dir");
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_daemonroll"), bin.join("kubectl-daemonroll"))
            .expect("plugin link");
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    Command::new("kubectl")
        .arg("daemonroll")
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .env("PATH", path)
        .output()
        .expect("kubectl runs")
}
