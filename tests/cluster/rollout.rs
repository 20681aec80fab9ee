//! Rolling updates under daemonroll, on the real control plane: the pods the test's own watch
//! saw, checked against the budget at every change.

use crate::support::*;

#[tokio::test]
async fn creates_one_pod_on_every_eligible_node() {
    let Some(cluster) = Cluster::with_nodes(6).start().await else { return };
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
    let Some(cluster) = Cluster::with_nodes(12).start().await else { return };
    let _daemonroll = cluster.start_daemonroll(&[]);
    cluster.create_daemon_set(agent("agent").max_unavailable(3)).await;
    cluster.wait_rolled_out("agent", "agent:1", 12, secs(60)).await;

    let mark = cluster.recorder.mark();
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rolled_out("agent", "agent:2", 12, secs(90)).await;

    let replay = cluster.recorder.check(mark, &Budget::rolling("agent").nodes(12).at_most_unavailable(3));
    assert_eq!((replay.pod_creates, replay.pod_deletes), (12, 12), "{replay:?}");
    assert_eq!(replay.max_unavailable_seen, 3, "the rollout used its whole budget: {replay:?}");
}
