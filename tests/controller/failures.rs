//! Failed pods are replaced with backoff; a crash-looping new image stalls within maxUnavailable.

use std::time::Duration;

use daemonroll::controller::Options;
use daemonroll::sim::fleet::ImageBehaviour;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_pod_is_replaced_with_growing_backoff() {
    let cluster = Cluster::start(1, fleet(100)).await;
    cluster
        .sim
        .fleet
        .set_image_behaviour("agent:broken", Some(ImageBehaviour::Fail));
    let controller = cluster.start_controller(Options::default());
    cluster
        .create_daemon_set(daemon_set("agent", "agent:broken", rolling(json!(1), json!(0))))
        .await;
    // Upstream backoff: 1 s, doubling (kube-controller-manager's failedPodsBackoff).
    tokio::time::sleep(Duration::from_secs(9)).await;
    let deletes: Vec<_> = cluster
        .timeline()
        .into_iter()
        .filter(|r| r.kind == "Pod" && r.verb == "delete" && r.actor == CONTROLLER)
        .map(|r| r.time)
        .collect();
    assert!(deletes.len() >= 3, "failed pods deleted: {deletes:?}");
    let gaps: Vec<i64> = deletes.windows(2).map(|w| (w[1] - w[0]).num_milliseconds()).collect();
    assert!(gaps[0] >= 900, "the second delete waits about 1 s: {gaps:?}");
    assert!(gaps[1] >= 1800, "then about 2 s: {gaps:?}");
    assert!(gaps[1] > gaps[0], "the backoff grows: {gaps:?}");
    let events = cluster
        .api
        .get("/apis/events.k8s.io/v1/namespaces/default/events")
        .await
        .expect("events");
    let reasons: Vec<&str> = events["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|e| e["reason"].as_str()).collect())
        .unwrap_or_default();
    assert!(reasons.contains(&"FailedDaemonPod"), "{reasons:?}");
    assert!(reasons.contains(&"SuccessfulCreate"), "{reasons:?}");
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_image_stalls_the_rollout_within_max_unavailable() {
    let cluster = Cluster::start(10, fleet(200)).await;
    cluster
        .sim
        .fleet
        .set_image_behaviour("agent:crash", Some(ImageBehaviour::CrashLoop));
    let controller = cluster.start_controller(Options::default());
    cluster
        .create_daemon_set(daemon_set("agent", "agent:1", rolling(json!(2), json!(0))))
        .await;
    cluster.wait_rolled_out("agent", 10, Duration::from_secs(20)).await;
    let start = now_version(&cluster);
    cluster.set_image("agent", "agent:crash").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let ds = cluster.daemon_set("agent").await;
    assert_eq!(ds["status"]["updatedNumberScheduled"], 2, "{}", ds["status"]);
    assert_eq!(ds["status"]["numberUnavailable"], 2, "{}", ds["status"]);
    let replay = check_invariants(&cluster.timeline(), &Budget::rolling("agent", 10, 2), start);
    assert_eq!(
        replay.pod_deletes, 2,
        "the rollout stops after the first wave: {replay:?}"
    );
    assert_eq!(replay.pod_creates, 2);
    controller.stop().await;
}
