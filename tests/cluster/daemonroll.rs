//! daemonroll as users run it: the built binary, `daemonroll run --kubeconfig …`, its log in a file.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Daemonroll {
    child: Child,
    pub log: PathBuf,
}

impl Daemonroll {
    /// `daemonroll run --kubeconfig KUBECONFIG --admin-addr off EXTRA…`, logging to `log`;
    /// `pod_name` is what POD_NAME would say in a cluster (a replica's identity).
    pub fn start(kubeconfig: &Path, log: PathBuf, extra: &[&str], pod_name: Option<&str>) -> Daemonroll {
        let file = File::create(&log).expect("the log file is writable");
        let child = Command::new(env!("CARGO_BIN_EXE_daemonroll"))
            .arg("run")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--admin-addr", "off", "--log-format", "json"])
            .args(extra)
            .env("RUST_LOG", "info")
            .envs(pod_name.map(|name| ("POD_NAME", name)))
            .stdout(Stdio::null())
            .stderr(file.try_clone().expect("the log file can be shared"))
            .spawn()
            .expect("daemonroll starts");
        Daemonroll { child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL: no cleanup, no Lease release.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits up to `limit` for the exit.
    pub async fn stop(mut self, limit: Duration) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = tokio::time::Instant::now() + limit;
        while self.is_running() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The log so far, one JSON object per line.
    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The end of the log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Daemonroll {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
