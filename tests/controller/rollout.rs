//! Creating and rolling DaemonSets: counts, kubectl's view, and invariants 1–4 at every instant.

use std::time::Duration;

use daemonroll::controller::Options;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_daemon_set_gets_one_pod_per_node_and_kubectl_sees_it_rolled_out() {
    let cluster = Cluster::start(50, fleet(200)).await;
    let controller = cluster.start_controller(Options::default());
    cluster
        .create_daemon_set(daemon_set("agent", "agent:1", rolling(json!(1), json!(0))))
        .await;
    let ds = cluster.wait_rolled_out("agent", 50, Duration::from_secs(30)).await;
    for field in [
        "desiredNumberScheduled",
        "currentNumberScheduled",
        "numberReady",
        "numberAvailable",
    ] {
        assert_eq!(ds["status"][field], 50, "{field}: {}", ds["status"]);
    }
    let pods = cluster.pods().await;
    assert_eq!(pods.len(), 50);
    let mut nodes: Vec<String> = pods.iter().map(pod_node).collect();
    nodes.sort();
    nodes.dedup();
    assert_eq!(nodes, node_names(50), "one pod on every node");

    let replay = check_invariants(&cluster.timeline(), &Budget::no_rollout("agent"), 0);
    assert_eq!(replay.pod_creates, 50, "one create per node");
    assert_eq!(replay.pod_deletes, 0);
    assert_eq!(replay.revision_creates, 1);

    if kubectl_installed() {
        let out = cluster.kubectl_ok(&["rollout", "status", "ds/agent", "--timeout=10s"]);
        assert!(out.contains("daemon set \"agent\" successfully rolled out"), "{out}");
    }
    controller.stop().await;
}

/// Rolls `agent` from agent:1 to agent:2 on `nodes` nodes and checks the invariants over the rollout.
async fn roll(nodes: usize, strategy: serde_json::Value, min_ready_seconds: i64, budget: usize, surge: bool) -> Replay {
    let cluster = Cluster::start(nodes, fleet(300)).await;
    let controller = cluster.start_controller(Options::default());
    let mut object = daemon_set("agent", "agent:1", strategy);
    object["spec"]["minReadySeconds"] = json!(min_ready_seconds);
    cluster.create_daemon_set(object).await;
    let wait = Duration::from_secs(30 + 3 * min_ready_seconds as u64 * nodes as u64 / budget.max(1) as u64);
    cluster.wait_rolled_out("agent", nodes as i64, wait).await;
    let start = now_version(&cluster);
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rolled_out("agent", nodes as i64, wait).await;
    let pods = cluster.pods().await;
    assert_eq!(pods.len(), nodes);
    assert!(
        pods.iter().all(|p| p["spec"]["containers"][0]["image"] == "agent:2"),
        "every pod runs the new image"
    );
    let replay = check_invariants(
        &cluster.timeline(),
        &Budget {
            daemon_set: "agent".into(),
            nodes: node_names(nodes),
            max_unavailable: budget,
            surge,
            min_ready: chrono::Duration::seconds(min_ready_seconds),
        },
        start,
    );
    let writes = pod_writes(&cluster.timeline(), start);
    assert_eq!(replay.pod_creates, nodes, "one create per replaced pod:\n{writes}");
    assert_eq!(replay.pod_deletes, nodes, "one delete per old pod:\n{writes}");
    controller.stop().await;
    replay
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_unavailable_two_is_never_exceeded() {
    let replay = roll(12, rolling(json!(2), json!(0)), 0, 2, false).await;
    assert_eq!(replay.max_unavailable_seen, 2, "the budget is used: {replay:?}");
    assert_eq!(replay.max_pods_on_a_node, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_unavailable_twenty_percent_rounds_up_per_upstream() {
    // 20% of 12 nodes = 2.4, rounded up (intstr GetScaledValueFromIntOrPercent, roundUp=true) = 3.
    let replay = roll(12, rolling(json!("20%"), json!(0)), 0, 3, false).await;
    assert_eq!(replay.max_unavailable_seen, 3, "{replay:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_surge_three_keeps_every_node_available() {
    let replay = roll(12, rolling(json!(0), json!(3)), 0, 0, true).await;
    assert_eq!(replay.max_pods_on_a_node, 2, "old and new side by side: {replay:?}");
    assert_eq!(replay.max_unavailable_seen, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_ready_seconds_holds_the_next_wave_until_pods_are_available() {
    let replay = roll(8, rolling(json!(4), json!(0)), 5, 4, false).await;
    assert_eq!(replay.max_unavailable_seen, 4, "{replay:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_node_rollout_writes_each_pod_once_and_status_about_once_per_wave() {
    let cluster = Cluster::start(200, fleet(300)).await;
    let controller = cluster.start_controller(Options::default());
    cluster
        .create_daemon_set(daemon_set("agent", "agent:1", rolling(json!("10%"), json!(0))))
        .await;
    cluster.wait_rolled_out("agent", 200, Duration::from_secs(60)).await;
    let start = now_version(&cluster);
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rolled_out("agent", 200, Duration::from_secs(120)).await;
    // Let a trailing status write land before counting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let replay = check_invariants(&cluster.timeline(), &Budget::rolling("agent", 200, 20), start);
    let waves = 200 / 20;
    eprintln!("200-node rollout: {replay:?}");
    assert_eq!(replay.pod_creates, 200);
    assert_eq!(replay.pod_deletes, 200);
    assert!(
        replay.status_writes <= waves + 4,
        "{} status writes for {waves} waves",
        replay.status_writes
    );
    controller.stop().await;
}
