//! Creating and rolling DaemonSets: counts, kubectl's view, and the ARCHITECTURE.md invariants 1–4
//! at every instant.

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_daemon_set_gets_one_pod_per_node() {
    let cluster = Cluster::with_nodes(50).pods_ready_after(millis(200)).start().await;
    let controller = cluster.start_controller();
    cluster.create_daemon_set(daemon_set("agent")).await;
    let ds = cluster.wait_rolled_out("agent").pods(50).within(secs(30)).await;
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

    let replay = cluster.check_invariants_since(Mark::BEGINNING, &Budget::no_rollout("agent"));
    assert_eq!(replay.pod_creates, 50, "one create per node");
    assert_eq!(replay.pod_deletes, 0);
    assert_eq!(replay.revision_creates, 1);
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rollout_status_sees_a_new_daemon_set_rolled_out() {
    if !kubectl_installed() {
        eprintln!("kubectl is not installed: skipping");
        return;
    }
    let cluster = Cluster::with_nodes(50).pods_ready_after(millis(200)).start().await;
    let controller = cluster.start_controller();
    cluster.create_daemon_set(daemon_set("agent")).await;
    cluster.wait_rolled_out("agent").pods(50).within(secs(30)).await;
    let out = cluster.kubectl_ok(&["rollout", "status", "ds/agent", "--timeout=10s"]);
    assert!(out.contains("daemon set \"agent\" successfully rolled out"), "{out}");
    controller.stop().await;
}

/// A rollout of `agent` from agent:1 to agent:2 over a fresh cluster, with the invariants checked
/// over the rollout: `Rollout::over(12).max_unavailable(2).expect_budget(2).run()`.
struct Rollout {
    nodes: usize,
    daemon_set: DaemonSetBuilder,
    min_ready_seconds: i64,
    /// How many nodes may be unavailable at once, as the test computes it from the strategy.
    budget: usize,
    surge: bool,
}

impl Rollout {
    /// Over `nodes` nodes, RollingUpdate with maxUnavailable 1 and maxSurge 0 until said otherwise.
    fn over(nodes: usize) -> Rollout {
        Rollout {
            nodes,
            daemon_set: daemon_set("agent"),
            min_ready_seconds: 0,
            budget: 1,
            surge: false,
        }
    }

    fn max_unavailable(mut self, value: impl IntOrPercent) -> Self {
        self.daemon_set = self.daemon_set.max_unavailable(value);
        self
    }

    /// maxSurge as given and maxUnavailable 0: old and new pods may run side by side.
    fn max_surge(mut self, value: impl IntOrPercent) -> Self {
        self.daemon_set = self.daemon_set.max_unavailable(0).max_surge(value);
        self.surge = true;
        self
    }

    fn min_ready_seconds(mut self, seconds: i64) -> Self {
        self.min_ready_seconds = seconds;
        self
    }

    /// At no instant may more than `nodes` nodes lack an available pod.
    fn expect_budget(mut self, nodes: usize) -> Self {
        self.budget = nodes;
        self
    }

    /// Rolls out and checks that every pod was replaced once and the invariants held throughout.
    async fn run(self) -> Replay {
        let nodes = self.nodes;
        let cluster = Cluster::with_nodes(nodes).pods_ready_after(millis(300)).start().await;
        let controller = cluster.start_controller();
        cluster
            .create_daemon_set(self.daemon_set.min_ready_seconds(self.min_ready_seconds))
            .await;
        // Liveness: a wave lasts about minReadySeconds; 3× and 30 s of slack for a loaded machine.
        let wait = secs(30 + 3 * self.min_ready_seconds as u64 * nodes as u64 / self.budget.max(1) as u64);
        cluster.wait_rolled_out("agent").pods(nodes as i64).within(wait).await;
        let start = cluster.mark();
        cluster.set_image("agent", "agent:2").await;
        cluster.wait_rolled_out("agent").pods(nodes as i64).within(wait).await;
        let pods = cluster.pods().await;
        assert_eq!(pods.len(), nodes);
        assert!(
            pods.iter().all(|p| pod_image(p) == "agent:2"),
            "every pod runs the new image"
        );
        let mut budget = Budget::rolling("agent")
            .nodes(nodes)
            .at_most_unavailable(self.budget)
            .min_ready_seconds(self.min_ready_seconds);
        if self.surge {
            budget = budget.surge();
        }
        let replay = cluster.check_invariants_since(start, &budget);
        let writes = cluster.pod_writes_since(start);
        assert_eq!(replay.pod_creates, nodes, "one create per replaced pod:\n{writes}");
        assert_eq!(replay.pod_deletes, nodes, "one delete per old pod:\n{writes}");
        controller.stop().await;
        replay
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_unavailable_two_is_never_exceeded() {
    let replay = Rollout::over(12).max_unavailable(2).expect_budget(2).run().await;
    assert_eq!(replay.max_unavailable_seen, 2, "the budget is used: {replay:?}");
    assert_eq!(replay.max_pods_on_a_node, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_unavailable_twenty_percent_rounds_up_per_upstream() {
    // 20% of 12 nodes = 2.4, rounded up (intstr GetScaledValueFromIntOrPercent, roundUp=true) = 3.
    let replay = Rollout::over(12).max_unavailable("20%").expect_budget(3).run().await;
    assert_eq!(replay.max_unavailable_seen, 3, "{replay:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_surge_three_keeps_every_node_available() {
    let replay = Rollout::over(12).max_surge(3).expect_budget(0).run().await;
    assert_eq!(replay.max_pods_on_a_node, 2, "old and new side by side: {replay:?}");
    assert_eq!(replay.max_unavailable_seen, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_ready_seconds_holds_the_next_wave_until_pods_are_available() {
    let replay = Rollout::over(8)
        .max_unavailable(4)
        .min_ready_seconds(5)
        .expect_budget(4)
        .run()
        .await;
    assert_eq!(replay.max_unavailable_seen, 4, "{replay:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_node_rollout_writes_each_pod_once_and_status_about_once_per_wave() {
    let cluster = Cluster::with_nodes(200).pods_ready_after(millis(300)).start().await;
    let controller = cluster.start_controller();
    cluster
        .create_daemon_set(daemon_set("agent").max_unavailable("10%"))
        .await;
    cluster.wait_rolled_out("agent").pods(200).within(secs(60)).await;
    let start = cluster.mark();
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rolled_out("agent").pods(200).within(secs(120)).await;
    // Let a trailing status write land before counting.
    tokio::time::sleep(millis(1500)).await;
    let budget = Budget::rolling("agent").nodes(200).at_most_unavailable(20);
    let replay = cluster.check_invariants_since(start, &budget);
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
