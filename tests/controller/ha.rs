//! Operations: `daemonroll run` replicas with Lease leader election (only the leader writes, SIGKILL
//! hands over, lost renewals end the leadership), /readyz and /metrics. SIGTERM is in sigterm.rs.

use std::time::Instant;

use daemonroll::sim::faults::FaultRule;

use crate::replicas::*;
use crate::support::*;

/// Twenty nodes; replica-a leading, replica-b following, and `agent` (maxUnavailable 2) rolled out.
async fn two_replicas_with_agent_rolled_out() -> (Cluster, Replica, Replica) {
    let cluster = Cluster::with_nodes(20).pods_ready_after(millis(400)).start().await;
    let a = start_replica(&cluster, "replica-a");
    wait_holder(&cluster, "replica-a", secs(10)).await;
    let b = start_replica(&cluster, "replica-b");
    cluster.create_daemon_set(daemon_set("agent").max_unavailable(2)).await;
    cluster.wait_rolled_out("agent").pods(20).within(secs(30)).await;
    (cluster, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_and_follower_are_both_ready_and_only_the_leader_reports_leading() {
    let (_cluster, a, b) = two_replicas_with_agent_rolled_out().await;
    for replica in [&a, &b] {
        let (status, _) = http_get(replica.port, "/readyz").await.expect("readyz answers");
        assert_eq!(status, 200, "{} is ready (leader or warm follower)", replica.name);
    }
    assert_eq!(sample(&metrics(&a).await, "daemonroll_leader"), Some(1.0));
    assert_eq!(sample(&metrics(&b).await, "daemonroll_leader"), Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_killed_mid_rollout_is_replaced_and_only_the_leader_ever_writes() {
    let (cluster, a, _b) = two_replicas_with_agent_rolled_out().await;
    let start = cluster.mark();
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_updated("agent").pods(6).within(secs(30)).await;
    drop(a); // SIGKILL: the lease is not released
    let takeover = wait_holder(&cluster, "replica-b", secs(10)).await;
    cluster.wait_rolled_out("agent").pods(20).within(secs(60)).await;
    eprintln!("takeover after SIGKILL: {takeover:?}");
    assert!(
        takeover <= millis(4500),
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
    let budget = Budget::rolling("agent")
        .nodes(20)
        .at_most_unavailable(2)
        .written_by(Writer::AnyReplica);
    let replay = cluster.check_invariants_since(start, &budget);
    assert_eq!(replay.pod_creates, 20, "no duplicate across the failover: {replay:?}");
    assert_eq!(replay.pod_deletes, 20, "{replay:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_503_until_the_stores_have_synced() {
    let cluster = Cluster::with_nodes(12).pods_ready_after(millis(600)).start().await;
    // Slow lists keep the stores unsynced for a while.
    cluster.sim.faults.set_rules(vec![FaultRule {
        verbs: vec!["list".into()],
        resources: vec!["pods".into()],
        error_rate: 0.0,
        error_code: 500,
        latency_ms: 1500,
        ..FaultRule::default()
    }]);
    let replica = start_replica(&cluster, "solo");
    let mut saw_unready = false;
    let deadline = Instant::now() + secs(10);
    loop {
        match http_get(replica.port, "/readyz").await {
            Some((503, _)) => saw_unready = true,
            Some((200, _)) => break,
            _ => {}
        }
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(millis(50)).await;
    }
    assert!(saw_unready, "/readyz answered 503 before the stores synced");
    assert_eq!(http_get(replica.port, "/healthz").await.map(|r| r.0), Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_a_rollout() {
    let cluster = Cluster::with_nodes(12).pods_ready_after(millis(600)).start().await;
    let replica = start_replica(&cluster, "solo");
    cluster.create_daemon_set(daemon_set("agent").max_unavailable(2)).await;
    cluster.wait_rolled_out("agent").pods(12).within(secs(30)).await;
    cluster.set_image("agent", "agent:2").await;
    let updated = r#"daemonroll_daemonset_updated_pods{namespace="default",name="agent"}"#;
    let in_progress = r#"daemonroll_daemonset_rollout_in_progress{namespace="default",name="agent"}"#;
    let mut seen_updated = Vec::new();
    let mut seen_in_progress = Vec::new();
    let deadline = Instant::now() + secs(30);
    loop {
        let samples = metrics(&replica).await;
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
        tokio::time::sleep(millis(100)).await;
    }
    eprintln!("updated gauge went {seen_updated:?}; in progress {seen_in_progress:?}");
    assert!(
        seen_updated.len() >= 3,
        "the updated gauge moved through the rollout: {seen_updated:?}"
    );
    // The first scrape may precede the controller's view of the new generation (still 0 then).
    assert!(seen_in_progress.contains(&1.0), "{seen_in_progress:?}");
}

/// How the Lease requests of the leader fail once the test cuts it off.
#[derive(Clone, Copy)]
enum LeaseFault {
    /// Every Lease get and update answers 500 at once.
    Failing,
    /// Every Lease get and update hangs this long before it is served.
    Hanging { milliseconds: u64 },
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_renewals_fail_stops_writing_and_exits_non_zero() {
    leader_gives_up_at_the_deadline(LeaseFault::Failing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_renewals_hang_gives_up_at_the_deadline_not_after_the_request() {
    // Each Lease request hangs 8 s: the 2 s deadline must still end the leadership on time.
    leader_gives_up_at_the_deadline(LeaseFault::Hanging { milliseconds: 8000 }).await;
}

async fn leader_gives_up_at_the_deadline(fault: LeaseFault) {
    let cluster = Cluster::with_nodes(3).pods_ready_after(millis(100)).start().await;
    let mut replica = start_replica(&cluster, "lonely");
    wait_holder(&cluster, "lonely", secs(10)).await;
    cluster.create_daemon_set(daemon_set("agent")).await;
    cluster.wait_rolled_out("agent").pods(3).within(secs(15)).await;
    let (error_rate, latency_ms) = match fault {
        LeaseFault::Failing => (1.0, 0),
        LeaseFault::Hanging { milliseconds } => (0.0, milliseconds),
    };
    cluster.sim.faults.set_rules(vec![FaultRule {
        verbs: vec!["update".into(), "get".into()],
        resources: vec!["leases".into()],
        error_rate,
        error_code: 500,
        latency_ms,
        ..FaultRule::default()
    }]);
    let cut_off = Instant::now();
    let status = wait_exit(&mut replica.child, secs(10)).await;
    let after = cut_off.elapsed();
    eprintln!("exited {after:?} after renewals started failing: {status:?}");
    assert_eq!(status.code(), Some(1), "a lost lease is an error exit");
    assert!(
        after >= millis(1500) && after <= secs(3),
        "gave up at the 2 s renew deadline, counted from the last renewal's start, not after the 8 s request: {after:?}"
    );
}
