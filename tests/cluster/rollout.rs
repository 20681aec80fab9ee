//! Rolling updates under daemonroll, on the real control plane: the pods the test's own watch
//! saw, checked against the budget at every change.

use crate::support::*;

#[tokio::test]
async fn creates_one_pod_on_every_eligible_node() {
    let Some(cluster) = Cluster::with_nodes(6).start().await else {
        return;
    };
    cluster.node("node-002").taint("dedicated=gpu:NoSchedule");
    cluster.node("node-003").label("agent=off");
    let _daemonroll = cluster.start_daemonroll(&[]);
    let mut daemon_set: serde_json::Value = agent("agent").into();
    daemon_set["spec"]["template"]["spec"]["affinity"] = serde_json::json!({"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions":
            [{"key": "agent", "operator": "NotIn", "values": ["off"]}]}]}}});
    cluster.create_daemon_set(daemon_set).await;

    cluster
        .wait_until("a pod on each of the 4 eligible nodes", secs(30), || async {
            let pods = cluster.pods_of("agent").await;
            pods.len() == 4 && pods.iter().all(is_ready)
        })
        .await;
    let mut nodes: Vec<String> = cluster.pods_of("agent").await.iter().map(pod_node).collect();
    nodes.sort();
    assert_eq!(nodes, ["node-001", "node-004", "node-005", "node-006"]);
}

#[tokio::test]
async fn rolls_within_an_integer_max_unavailable() {
    let Some(cluster) = Cluster::with_nodes(12).start().await else {
        return;
    };
    let _daemonroll = cluster.start_daemonroll(&[]);
    cluster.create_daemon_set(agent("agent").max_unavailable(3)).await;
    cluster.wait_rolled_out("agent", "agent:1", 12, secs(60)).await;

    let mark = cluster.recorder.mark();
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rolled_out("agent", "agent:2", 12, secs(90)).await;

    let replay = cluster
        .recorder
        .check(mark, &Budget::rolling("agent").nodes(12).at_most_unavailable(3));
    assert_eq!((replay.pod_creates, replay.pod_deletes), (12, 12), "{replay:?}");
    assert_eq!(
        replay.max_unavailable_seen, 3,
        "the rollout used its whole budget: {replay:?}"
    );
}

#[tokio::test]
async fn rolls_within_a_percentage_max_unavailable() {
    let Some(cluster) = Cluster::with_nodes(10).start().await else {
        return;
    };
    let _daemonroll = cluster.start_daemonroll(&[]);
    cluster.create_daemon_set(agent("agent").max_unavailable("30%")).await;
    cluster.wait_rolled_out("agent", "agent:1", 10, secs(60)).await;

    let mark = cluster.recorder.mark();
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rolled_out("agent", "agent:2", 10, secs(90)).await;

    let replay = cluster
        .recorder
        .check(mark, &Budget::rolling("agent").nodes(10).at_most_unavailable(3));
    assert_eq!(replay.max_unavailable_seen, 3, "30% of 10 nodes: {replay:?}");
}

#[tokio::test]
async fn surges_a_new_pod_beside_the_old_one() {
    let Some(cluster) = Cluster::with_nodes(8).start().await else {
        return;
    };
    let _daemonroll = cluster.start_daemonroll(&[]);
    cluster
        .create_daemon_set(agent("agent").max_unavailable(0).max_surge(2))
        .await;
    cluster.wait_rolled_out("agent", "agent:1", 8, secs(60)).await;

    let mark = cluster.recorder.mark();
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rolled_out("agent", "agent:2", 8, secs(90)).await;

    let replay = cluster
        .recorder
        .check(mark, &Budget::rolling("agent").nodes(8).at_most_unavailable(0).surge());
    assert_eq!(replay.max_pods_on_a_node, 2, "old and new side by side: {replay:?}");
    assert_eq!((replay.pod_creates, replay.pod_deletes), (8, 8), "{replay:?}");
}

#[tokio::test]
async fn counts_a_pod_available_only_after_min_ready_seconds() {
    let Some(cluster) = Cluster::with_nodes(6).start().await else {
        return;
    };
    let _daemonroll = cluster.start_daemonroll(&[]);
    cluster
        .create_daemon_set(agent("agent").max_unavailable(2).min_ready_seconds(3))
        .await;
    cluster.wait_rolled_out("agent", "agent:1", 6, secs(60)).await;

    let mark = cluster.recorder.mark();
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rolled_out("agent", "agent:2", 6, secs(90)).await;

    // A pod Ready for less than 3 s counts as unavailable here: replacing the next one early
    // would show as a third unavailable node.
    let budget = Budget::rolling("agent")
        .nodes(6)
        .at_most_unavailable(2)
        .min_ready_seconds(3);
    let replay = cluster.recorder.check(mark, &budget);
    assert_eq!(replay.pod_creates, 6, "{replay:?}");
}

#[tokio::test]
async fn on_delete_replaces_only_the_pods_deleted() {
    let Some(cluster) = Cluster::with_nodes(4).start().await else {
        return;
    };
    let _daemonroll = cluster.start_daemonroll(&[]);
    cluster.create_daemon_set(agent("agent").on_delete()).await;
    cluster.wait_rolled_out("agent", "agent:1", 4, secs(60)).await;

    let mark = cluster.recorder.mark();
    cluster.set_image("agent", "agent:2").await;
    tokio::time::sleep(secs(3)).await;
    let untouched = cluster.recorder.check(mark, &Budget::rolling("agent").nodes(4));
    assert_eq!(
        (untouched.pod_creates, untouched.pod_deletes),
        (0, 0),
        "OnDelete: no pod replaced on its own"
    );

    let victim = cluster
        .pods_of("agent")
        .await
        .into_iter()
        .find(|pod| pod_node(pod) == "node-002")
        .expect("a pod on node-002");
    cluster.kubectl_ok(&["delete", "pod", text(&victim, "/metadata/name")]);
    cluster
        .wait_until("node-002 runs agent:2", secs(30), || async {
            cluster
                .pods_of("agent")
                .await
                .iter()
                .any(|pod| pod_node(pod) == "node-002" && pod_image(pod) == "agent:2" && is_ready(pod))
        })
        .await;
    let mut images: Vec<(String, String)> = cluster
        .pods_of("agent")
        .await
        .iter()
        .map(|pod| (pod_node(pod), pod_image(pod).to_string()))
        .collect();
    images.sort();
    assert_eq!(
        images,
        [
            ("node-001", "agent:1"),
            ("node-002", "agent:2"),
            ("node-003", "agent:1"),
            ("node-004", "agent:1")
        ]
        .map(|(node, image)| (node.to_string(), image.to_string()))
    );
}
