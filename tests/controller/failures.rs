//! Failed pods are replaced with backoff; a crash-looping new image stalls within maxUnavailable.

use crate::support::*;

/// One node, a DaemonSet whose image fails, and the controller running.
async fn broken_daemon_set_on_one_node() -> (Cluster, Running) {
    let cluster = Cluster::with_nodes(1).pods_ready_after(millis(100)).start().await;
    cluster.image_fails("agent:broken");
    let controller = cluster.start_controller();
    cluster
        .create_daemon_set(daemon_set("agent").image("agent:broken"))
        .await;
    (cluster, controller)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_pod_is_replaced_with_a_backoff_that_grows() {
    let (cluster, controller) = broken_daemon_set_on_one_node().await;
    // Upstream backoff: 1 s, doubling (kube-controller-manager's failedPodsBackoff).
    tokio::time::sleep(secs(9)).await;
    let deletes = cluster.pod_delete_times();
    assert!(deletes.len() >= 3, "failed pods deleted: {deletes:?}");
    let gaps: Vec<i64> = deletes.windows(2).map(|w| (w[1] - w[0]).num_milliseconds()).collect();
    // The backoff is keyed by status.observedGeneration as read when a sync starts (upstream): the
    // first failed pod may be deleted under generation 0's key, before daemonroll's first status
    // write reaches its cache, and the second at once under generation 1's fresh key. Only the
    // first gap may be that short; from there on the backoff doubles.
    let gaps = match gaps.first() {
        Some(first) if *first < 900 => gaps[1..].to_vec(),
        _ => gaps,
    };
    assert!(gaps.len() >= 2, "failed pods deleted: {deletes:?}");
    assert!(gaps[0] >= 900, "the second delete waits about 1 s: {gaps:?}");
    assert!(gaps[1] >= 1800, "then about 2 s: {gaps:?}");
    assert!(gaps[1] > gaps[0], "the backoff grows: {gaps:?}");
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_pod_and_the_pods_created_are_reported_as_events() {
    let (cluster, controller) = broken_daemon_set_on_one_node().await;
    cluster
        .wait_until("FailedDaemonPod and SuccessfulCreate events", secs(9), || async {
            let reasons = cluster.event_reasons().await;
            reasons.iter().any(|r| r == "FailedDaemonPod") && reasons.iter().any(|r| r == "SuccessfulCreate")
        })
        .await;
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_image_stalls_the_rollout_within_max_unavailable() {
    let cluster = Cluster::with_nodes(10).pods_ready_after(millis(200)).start().await;
    cluster.image_crash_loops("agent:crash");
    let controller = cluster.start_controller();
    cluster.create_daemon_set(daemon_set("agent").max_unavailable(2)).await;
    cluster.wait_rolled_out("agent").pods(10).within(secs(20)).await;
    let start = cluster.mark();
    cluster.set_image("agent", "agent:crash").await;
    tokio::time::sleep(secs(4)).await;
    let ds = cluster.get_daemon_set("agent").await;
    assert_eq!(ds["status"]["updatedNumberScheduled"], 2, "{}", ds["status"]);
    assert_eq!(ds["status"]["numberUnavailable"], 2, "{}", ds["status"]);
    let budget = Budget::rolling("agent").nodes(10).at_most_unavailable(2);
    let replay = cluster.check_invariants_since(start, &budget);
    assert_eq!(
        replay.pod_deletes, 2,
        "the rollout stops after the first wave: {replay:?}"
    );
    assert_eq!(replay.pod_creates, 2);
    controller.stop().await;
}
