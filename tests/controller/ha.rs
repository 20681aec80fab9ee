//! Operations: two `daemonroll run` replicas with Lease leader election (only the leader writes,
//! SIGKILL and SIGTERM hand over), /readyz and /metrics.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use daemonroll::sim::faults::FaultRule;
use serde_json::json;

use crate::support::*;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

struct Replica {
    name: &'static str,
    port: u16,
    child: Child,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_replica(cluster: &Cluster, name: &'static str) -> Replica {
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
async fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
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

async fn holder(cluster: &Cluster) -> String {
    cluster
        .api
        .get("/apis/coordination.k8s.io/v1/namespaces/default/leases/daemonroll")
        .await
        .ok()
        .and_then(|lease| lease["spec"]["holderIdentity"].as_str().map(str::to_string))
        .unwrap_or_default()
}

async fn wait_holder(cluster: &Cluster, replica: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    cluster
        .wait_until(&format!("{replica} holding the lease"), limit, || async {
            holder(cluster).await.starts_with(&format!("{replica}_"))
        })
        .await;
    started.elapsed()
}

/// The resourceVersion of the first Lease write that made `replica` the holder.
fn acquired_at(cluster: &Cluster, replica: &str) -> u64 {
    cluster
        .timeline()
        .iter()
        .find(|r| {
            r.kind == "Lease"
                && r.object["spec"]["holderIdentity"]
                    .as_str()
                    .is_some_and(|h| h.starts_with(&format!("{replica}_")))
        })
        .map(|r| r.resource_version)
        .expect("the replica acquired the lease")
}

/// A sample of the Prometheus text: every line a comment or `name{labels} value`.
fn parse_metrics(text: &str) -> Vec<(String, f64)> {
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

fn sample(samples: &[(String, f64)], series: &str) -> Option<f64> {
    samples.iter().find(|(s, _)| s == series).map(|(_, v)| *v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_writes_and_kill_or_sigterm_hands_over() {
    let cluster = Cluster::start(20, fleet(400)).await;
    let a = start_replica(&cluster, "replica-a");
    wait_holder(&cluster, "replica-a", Duration::from_secs(10)).await;
    let mut b = start_replica(&cluster, "replica-b");
    cluster
        .create_daemon_set(daemon_set("agent", "agent:1", rolling(json!(2), json!(0))))
        .await;
    cluster.wait_rolled_out("agent", 20, Duration::from_secs(30)).await;
    for replica in [&a, &b] {
        let (status, _) = http_get(replica.port, "/readyz").await.expect("readyz answers");
        assert_eq!(status, 200, "{} is ready (leader or warm follower)", replica.name);
    }
    let leader = parse_metrics(&http_get(a.port, "/metrics").await.expect("metrics").1);
    let follower = parse_metrics(&http_get(b.port, "/metrics").await.expect("metrics").1);
    assert_eq!(sample(&leader, "daemonroll_leader"), Some(1.0));
    assert_eq!(sample(&follower, "daemonroll_leader"), Some(0.0));

    let start = now_version(&cluster);
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_updated("agent", 6, Duration::from_secs(30)).await;
    drop(a); // SIGKILL: the lease is not released
    let takeover = wait_holder(&cluster, "replica-b", Duration::from_secs(10)).await;
    cluster.wait_rolled_out("agent", 20, Duration::from_secs(60)).await;
    eprintln!("takeover after SIGKILL: {takeover:?}");
    assert!(
        takeover <= Duration::from_millis(4500),
        "takeover took {takeover:?}: lease duration 3 s + retries (0.5 s each) and scheduling slack"
    );

    let b_acquired = acquired_at(&cluster, "replica-b");
    for record in cluster.timeline().iter().filter(|r| r.kind != "Lease") {
        match record.actor.as_str() {
            "daemonroll@replica-b" => assert!(
                record.resource_version > b_acquired,
                "replica-b wrote {} {} before it held the lease",
                record.verb,
                record.name
            ),
            "daemonroll@replica-a" => assert!(
                record.resource_version < b_acquired,
                "replica-a wrote {} {} after losing the lease",
                record.verb,
                record.name
            ),
            _ => {}
        }
    }
    let mut budget = Budget {
        daemon_set: "agent".into(),
        nodes: node_names(20),
        max_unavailable: 2,
        surge: false,
        min_ready: chrono::Duration::zero(),
    };
    let replay = check_invariants_by(&cluster.timeline(), &budget, start, |actor| {
        actor.starts_with("daemonroll@")
    });
    assert_eq!(replay.pod_creates, 20, "no duplicate across the failover: {replay:?}");
    assert_eq!(replay.pod_deletes, 20, "{replay:?}");

    // SIGTERM: the leader releases the lease and a new replica takes over at its next try.
    let c = start_replica(&cluster, "replica-c");
    cluster
        .wait_until("replica-c ready", Duration::from_secs(10), || async {
            http_get(c.port, "/readyz")
                .await
                .is_some_and(|(status, _)| status == 200)
        })
        .await;
    let pid = b.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let handover = wait_holder(&cluster, "replica-c", Duration::from_secs(10)).await;
    eprintln!("handover after SIGTERM: {handover:?}");
    // Well below the 3 s a follower waits for an unreleased lease.
    assert!(handover < Duration::from_millis(2500), "handover took {handover:?}");
    let exit = b.child.wait().expect("replica-b exits");
    assert!(exit.success(), "replica-b exit status: {exit:?}");
    let start = now_version(&cluster);
    cluster.set_image("agent", "agent:3").await;
    cluster.wait_rolled_out("agent", 20, Duration::from_secs(60)).await;
    budget.max_unavailable = 2;
    let replay = check_invariants_by(&cluster.timeline(), &budget, start, |actor| {
        actor == "daemonroll@replica-c"
    });
    assert_eq!(replay.pod_creates, 20, "replica-c rolled agent:3: {replay:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_waits_for_the_stores_and_metrics_follow_a_rollout() {
    let cluster = Cluster::start(12, fleet(600)).await;
    // Slow lists keep the stores unsynced for a while.
    cluster.sim.faults.set_rules(vec![FaultRule {
        verbs: vec!["list".into()],
        resources: vec!["pods".into()],
        error_rate: 0.0,
        error_code: 500,
        latency_ms: 1500,
        drop_watch_after_ms: None,
        expire_watch_resumes: false,
    }]);
    let replica = start_replica(&cluster, "solo");
    let mut saw_unready = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match http_get(replica.port, "/readyz").await {
            Some((503, _)) => saw_unready = true,
            Some((200, _)) => break,
            _ => {}
        }
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(saw_unready, "/readyz answered 503 before the stores synced");
    assert_eq!(http_get(replica.port, "/healthz").await.map(|r| r.0), Some(200));
    cluster.sim.faults.set_rules(Vec::new());

    cluster
        .create_daemon_set(daemon_set("agent", "agent:1", rolling(json!(2), json!(0))))
        .await;
    cluster.wait_rolled_out("agent", 12, Duration::from_secs(30)).await;
    cluster.set_image("agent", "agent:2").await;
    let updated = r#"daemonroll_daemonset_updated_pods{namespace="default",name="agent"}"#;
    let in_progress = r#"daemonroll_daemonset_rollout_in_progress{namespace="default",name="agent"}"#;
    let mut seen_updated = Vec::new();
    let mut seen_in_progress = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let samples = parse_metrics(&http_get(replica.port, "/metrics").await.expect("metrics").1);
        if let Some(value) = sample(&samples, updated)
            && seen_updated.last() != Some(&value)
        {
            seen_updated.push(value);
        }
        if let Some(value) = sample(&samples, in_progress)
            && seen_in_progress.last() != Some(&value)
        {
            seen_in_progress.push(value);
        }
        if seen_in_progress.len() >= 2 && seen_in_progress.last() == Some(&0.0) && seen_updated.last() == Some(&12.0) {
            assert!(sample(&samples, "daemonroll_pods_created_total").is_some_and(|v| v >= 24.0));
            assert!(sample(&samples, "daemonroll_pods_deleted_total").is_some_and(|v| v >= 12.0));
            assert!(sample(&samples, r#"daemonroll_syncs_total{result="success"}"#).is_some_and(|v| v > 0.0));
            assert!(
                samples
                    .iter()
                    .any(|(s, _)| s.starts_with("daemonroll_sync_duration_seconds_bucket"))
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rollout not seen in metrics: {seen_updated:?} {seen_in_progress:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("updated gauge went {seen_updated:?}; in progress {seen_in_progress:?}");
    assert!(
        seen_updated.len() >= 3,
        "the updated gauge moved through the rollout: {seen_updated:?}"
    );
    // The first scrape may precede the controller's view of the new generation (still 0 then).
    assert!(seen_in_progress.contains(&1.0), "{seen_in_progress:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_renewals_fail_stops_writing_and_exits_non_zero() {
    leader_gives_up_at_the_deadline(1.0, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_renewals_hang_gives_up_at_the_deadline_not_after_the_request() {
    // Each Lease request hangs 8 s: the 2 s deadline must still end the leadership on time.
    leader_gives_up_at_the_deadline(0.0, 8000).await;
}

async fn leader_gives_up_at_the_deadline(error_rate: f64, latency_ms: u64) {
    let cluster = Cluster::start(3, fleet(100)).await;
    let mut replica = start_replica(&cluster, "lonely");
    wait_holder(&cluster, "lonely", Duration::from_secs(10)).await;
    cluster
        .create_daemon_set(daemon_set("agent", "agent:1", rolling(json!(1), json!(0))))
        .await;
    cluster.wait_rolled_out("agent", 3, Duration::from_secs(15)).await;
    cluster.sim.faults.set_rules(vec![FaultRule {
        verbs: vec!["update".into(), "get".into()],
        resources: vec!["leases".into()],
        error_rate,
        error_code: 500,
        latency_ms,
        drop_watch_after_ms: None,
        expire_watch_resumes: false,
    }]);
    let cut_off = Instant::now();
    let deadline = cut_off + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = replica.child.try_wait().expect("waitable") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after renewals started failing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let after = cut_off.elapsed();
    eprintln!("exited {after:?} after renewals started failing: {status:?}");
    assert_eq!(status.code(), Some(1), "a lost lease is an error exit");
    assert!(
        after >= Duration::from_millis(1500) && after <= Duration::from_secs(3),
        "gave up at the 2 s renew deadline, counted from the last renewal's start, not after the 8 s request: {after:?}"
    );
}
