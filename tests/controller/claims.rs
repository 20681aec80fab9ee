//! Pod ownership (orphans adopted, pods whose labels stop matching released) and API errors on creates
//! (slow start stops at the first failed batch; retries back off; the DaemonSet completes afterwards).

use std::time::Duration;

use daemonroll::controller::Options;
use daemonroll::kube::PatchKind;
use daemonroll::sim::faults::FaultRule;
use serde_json::{Value, json};

use crate::support::*;

fn controller_of(pod: &Value) -> Option<String> {
    pod["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == true)
        .and_then(|r| r["name"].as_str())
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_are_adopted_and_pods_that_stop_matching_are_released() {
    let cluster = Cluster::start(3, fleet(100)).await;
    // Left by a DaemonSet deleted with --cascade=orphan: same labels, generation 1, on node-002.
    let orphan = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "orphan-1", "namespace": "default",
                     "labels": {"app": "agent", "pod-template-generation": "1"}},
        "spec": {"nodeName": "node-002", "containers": [{"name": "agent", "image": "agent:1"}]}});
    cluster
        .api
        .create("/api/v1/namespaces/default/pods", &orphan)
        .await
        .expect("orphan");
    let controller = cluster.start_controller(Options::default());
    cluster
        .create_daemon_set(daemon_set("agent", "agent:1", rolling(json!(1), json!(0))))
        .await;
    cluster.wait_rolled_out("agent", 3, Duration::from_secs(15)).await;
    let pods = cluster.pods().await;
    assert_eq!(pods.len(), 3);
    let adopted = pods.iter().find(|p| p["metadata"]["name"] == "orphan-1").expect("kept");
    assert_eq!(controller_of(adopted).as_deref(), Some("agent"), "adopted: {adopted}");
    let replay = check_invariants(&cluster.timeline(), &Budget::no_rollout("agent"), 0);
    assert_eq!(replay.pod_creates, 2, "no pod for the node the orphan covers");
    assert_eq!(replay.pod_deletes, 0);

    // Relabelled for debugging: released, and the node gets a new daemon pod.
    cluster
        .api
        .patch(
            "/api/v1/namespaces/default/pods/orphan-1",
            PatchKind::Merge,
            &json!({"metadata": {"labels": {"app": "debug"}}}),
        )
        .await
        .expect("relabelled");
    cluster
        .wait_until("orphan-1 released and replaced", Duration::from_secs(15), || async {
            let pods = cluster.pods().await;
            let released = pods
                .iter()
                .any(|p| p["metadata"]["name"] == "orphan-1" && controller_of(p).is_none());
            let replaced = pods
                .iter()
                .filter(|p| pod_node(p) == "node-002" && controller_of(p).as_deref() == Some("agent"))
                .count()
                == 1;
            released && replaced
        })
        .await;
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_creates_stop_slow_start_and_retry_with_backoff() {
    let cluster = Cluster::start(20, fleet(100)).await;
    cluster.sim.faults.set_rules(vec![FaultRule {
        verbs: vec!["create".into()],
        resources: vec!["pods".into()],
        error_rate: 1.0,
        error_code: 500,
        latency_ms: 0,
        drop_watch_after_ms: None,
        expire_watch_resumes: false,
    }]);
    let controller = cluster.start_controller(Options::default());
    cluster
        .create_daemon_set(daemon_set("agent", "agent:1", rolling(json!(1), json!(0))))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let attempts = cluster.sim.faults.injected().errors;
    // Each sync tries one create (a batch of 1) and stops; retries back off 5 ms, 10 ms, 20 ms, …
    // so 1.5 s holds about 9 syncs. Without slow start each would try all 20.
    assert!((3..=15).contains(&attempts), "{attempts} create attempts in 1.5 s");
    cluster.sim.faults.set_rules(Vec::new());
    cluster.wait_rolled_out("agent", 20, Duration::from_secs(20)).await;
    let events = cluster
        .api
        .get("/apis/events.k8s.io/v1/namespaces/default/events")
        .await
        .expect("events");
    assert!(
        events["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|e| e["reason"] == "FailedCreate")),
        "a FailedCreate event"
    );
    controller.stop().await;
}
