//! Pod ownership (orphans adopted, pods whose labels stop matching released) and API errors on creates
//! (slow start stops at the first failed batch; retries back off; the DaemonSet completes afterwards).

use daemonroll::sim::faults::FaultRule;
use serde_json::json;

use crate::support::*;

/// Three nodes, and a pod `orphan-1` on node-002 left by a DaemonSet deleted with
/// --cascade=orphan (same labels, generation 1); then `agent` is created and rolled out.
async fn cluster_where_agent_found_an_orphan() -> (Cluster, Running) {
    let cluster = Cluster::with_nodes(3).pods_ready_after(millis(100)).start().await;
    cluster
        .create_pod(pod("orphan-1").app("agent").template_generation(1).on("node-002"))
        .await;
    let controller = cluster.start_controller();
    cluster.create_daemon_set(daemon_set("agent")).await;
    cluster.wait_rolled_out("agent").pods(3).within(secs(15)).await;
    (cluster, controller)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orphan_matching_the_selector_is_adopted_instead_of_replaced() {
    let (cluster, controller) = cluster_where_agent_found_an_orphan().await;
    let pods = cluster.pods().await;
    assert_eq!(pods.len(), 3);
    let adopted = pods
        .iter()
        .find(|p| p["metadata"]["name"] == "orphan-1")
        .expect("orphan-1 kept");
    assert_eq!(controller_name(adopted).as_deref(), Some("agent"), "adopted: {adopted}");
    let replay = cluster.check_invariants_since(Mark::BEGINNING, &Budget::no_rollout("agent"));
    assert_eq!(replay.pod_creates, 2, "no pod for the node the orphan covers");
    assert_eq!(replay.pod_deletes, 0);
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_relabelled_out_of_the_selector_is_released_and_its_node_gets_a_new_pod() {
    let (cluster, controller) = cluster_where_agent_found_an_orphan().await;
    // Relabelled for debugging.
    cluster
        .patch_pod("orphan-1", json!({"metadata": {"labels": {"app": "debug"}}}))
        .await;
    cluster
        .wait_until("orphan-1 released and replaced", secs(15), || async {
            let pods = cluster.pods().await;
            let released = pods
                .iter()
                .any(|p| p["metadata"]["name"] == "orphan-1" && controller_name(p).is_none());
            let replaced = pods
                .iter()
                .filter(|p| pod_node(p) == "node-002" && controller_name(p).as_deref() == Some("agent"))
                .count()
                == 1;
            released && replaced
        })
        .await;
    controller.stop().await;
}

/// Twenty nodes whose API server fails every pod create with 500, and `agent` created.
async fn cluster_failing_pod_creates() -> (Cluster, Running) {
    let cluster = Cluster::with_nodes(20).pods_ready_after(millis(100)).start().await;
    cluster.sim.faults.set_rules(vec![FaultRule {
        verbs: vec!["create".into()],
        resources: vec!["pods".into()],
        error_rate: 1.0,
        error_code: 500,
        latency_ms: 0,
        ..FaultRule::default()
    }]);
    let controller = cluster.start_controller();
    cluster.create_daemon_set(daemon_set("agent")).await;
    (cluster, controller)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_creates_stop_slow_start_and_retry_with_backoff() {
    let (cluster, controller) = cluster_failing_pod_creates().await;
    tokio::time::sleep(millis(1500)).await;
    let attempts = cluster.sim.faults.injected().errors;
    // Each sync tries one create (a batch of 1) and stops; retries back off 5 ms, 10 ms, 20 ms, …
    // so 1.5 s holds about 9 syncs. Without slow start each would try all 20.
    assert!((3..=15).contains(&attempts), "{attempts} create attempts in 1.5 s");
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_set_whose_creates_failed_completes_once_creates_succeed() {
    let (cluster, controller) = cluster_failing_pod_creates().await;
    tokio::time::sleep(millis(1500)).await;
    cluster.sim.faults.set_rules(Vec::new());
    cluster.wait_rolled_out("agent").pods(20).within(secs(20)).await;
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_create_is_reported_as_a_failed_create_event() {
    let (cluster, controller) = cluster_failing_pod_creates().await;
    tokio::time::sleep(millis(1500)).await;
    cluster.sim.faults.set_rules(Vec::new());
    cluster.wait_rolled_out("agent").pods(20).within(secs(20)).await;
    let reasons = cluster.event_reasons().await;
    assert!(
        reasons.iter().any(|r| r == "FailedCreate"),
        "a FailedCreate event: {reasons:?}"
    );
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_that_wrote_status_and_then_failed_still_spaces_its_next_status_write() {
    let cluster = Cluster::with_nodes(20).pods_ready_after(millis(100)).start().await;
    // Every pod create fails, so every sync fails after writing its status. The controller's
    // DaemonSet watch ends every 300 ms and every resume is answered 410: its cache does not show
    // its own status writes for a second or more at a time, so each retry of the failing sync
    // (5 ms, 10 ms, 20 ms, …) finds the status changed.
    cluster.sim.faults.set_rules(vec![
        FaultRule {
            verbs: vec!["create".into()],
            resources: vec!["pods".into()],
            error_rate: 1.0,
            error_code: 500,
            ..FaultRule::default()
        },
        FaultRule {
            verbs: vec!["watch".into()],
            resources: vec!["daemonsets".into()],
            drop_watch_after_ms: Some(300),
            expire_watch_resumes: true,
            ..FaultRule::default()
        },
    ]);
    let controller = cluster.start_controller();
    cluster.create_daemon_set(daemon_set("agent")).await;
    tokio::time::sleep(secs(3)).await;
    let status_writes: Vec<chrono::DateTime<chrono::Utc>> = cluster
        .timeline()
        .iter()
        .filter(|r| r.kind == "DaemonSet" && r.verb == "status")
        .map(|r| r.time)
        .collect();
    let gaps: Vec<i64> = status_writes
        .windows(2)
        .map(|w| (w[1] - w[0]).num_milliseconds())
        .collect();
    assert!(
        gaps.iter().all(|gap| *gap >= 900),
        "status written at most once per --status-interval (1 s), by failing syncs too: gaps {gaps:?} ms"
    );
    controller.stop().await;
}
