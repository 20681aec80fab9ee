//! Leader-elected `daemonroll run` replicas (the real binary) with their admin server: starting
//! them, who holds the Lease, and reading /readyz and /metrics.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// The Lease the replicas elect a leader with.
const LEASE_PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/default/leases/daemonroll";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One replica: POD_NAME `name`, admin server on `port`; killed (SIGKILL) when dropped.
pub struct Replica {
    pub name: &'static str,
    pub port: u16,
    pub child: Child,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a replica with a 3 s lease, a 2 s renew deadline and a 0.5 s retry period.
pub fn start_replica(cluster: &Cluster, name: &'static str) -> Replica {
    let port = free_port();
    let log = std::fs::File::create(cluster.dir.0.join(format!("{name}.log"))).expect("log");
    let child = Command::new(env!("CARGO_BIN_EXE_daemonroll"))
        .args(["run", "--kubeconfig"])
        .arg(&cluster.kubeconfig)
        .args([
            "--leader-elect",
            "--leader-elect-namespace",
            "default",
            "--leader-elect-lease-duration",
            "3s",
            "--leader-elect-renew-deadline",
            "2s",
            "--leader-elect-retry-period",
            "500ms",
            "--admin-addr",
            &format!("127.0.0.1:{port}"),
        ])
        .env("POD_NAME", name)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("daemonroll starts");
    Replica { name, port, child }
}

/// A plain HTTP/1.0 GET (the admin server is not a Kubernetes API): status and body.
pub async fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, body)| body.to_string())?;
    Some((status, body))
}

/// The Lease's holderIdentity (`<replica>_<suffix>`), empty if none.
pub async fn holder(cluster: &Cluster) -> String {
    cluster
        .try_get(LEASE_PATH)
        .await
        .and_then(|lease| lease["spec"]["holderIdentity"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Waits until `replica` holds the Lease; returns how long that took.
pub async fn wait_holder(cluster: &Cluster, replica: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    cluster
        .wait_until(&format!("{replica} holding the lease"), limit, || async {
            holder(cluster).await.starts_with(&format!("{replica}_"))
        })
        .await;
    started.elapsed()
}

/// Waits until the replica's /readyz answers 200.
pub async fn wait_ready(cluster: &Cluster, replica: &Replica, limit: Duration) {
    cluster
        .wait_until(&format!("{} ready", replica.name), limit, || async {
            http_get(replica.port, "/readyz")
                .await
                .is_some_and(|(status, _)| status == 200)
        })
        .await;
}

/// The resourceVersion of the first Lease write that made `replica` the holder.
pub fn acquired_at(cluster: &Cluster, replica: &str) -> u64 {
    cluster
        .timeline()
        .iter()
        .find(|r| {
            r.kind == "Lease"
                && r.object.value()["spec"]["holderIdentity"]
                    .as_str()
                    .is_some_and(|h| h.starts_with(&format!("{replica}_")))
        })
        .map(|r| r.resource_version)
        .expect("the replica acquired the lease")
}

/// The replica's /metrics, parsed.
pub async fn metrics(replica: &Replica) -> Vec<(String, f64)> {
    parse_metrics(&http_get(replica.port, "/metrics").await.expect("metrics").1)
}

/// A sample of the Prometheus text: every line a comment or `name{labels} value`.
pub fn parse_metrics(text: &str) -> Vec<(String, f64)> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "unterminated labels in {line}");
        }
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line}"));
        samples.push((series.to_string(), value));
    }
    assert!(text.trim_end().ends_with("# EOF"), "OpenMetrics text ends with # EOF");
    samples
}

pub fn sample(samples: &[(String, f64)], series: &str) -> Option<f64> {
    samples.iter().find(|(s, _)| s == series).map(|(_, v)| *v)
}
