//! Nodes joining, tainted, NotReady and leaving, as kube-controller-manager's node lifecycle
//! controller and KWOK's stages make them.

use crate::support::*;

async fn rolled_out_on(nodes: usize) -> Option<(Cluster, Daemonroll)> {
    let cluster = Cluster::with_nodes(nodes).start().await?;
    let daemonroll = cluster.start_daemonroll(&[]);
    cluster.create_daemon_set(agent("agent")).await;
    cluster.wait_rolled_out("agent", "agent:1", nodes, secs(60)).await;
    Some((cluster, daemonroll))
}

async fn nodes_with_a_pod(cluster: &Cluster) -> Vec<String> {
    let mut nodes: Vec<String> = cluster
        .pods_of("agent")
        .await
        .iter()
        .filter(|pod| !is_terminating(pod))
        .map(pod_node)
        .collect();
    nodes.sort();
    nodes
}

#[tokio::test]
async fn a_node_that_joins_gets_a_pod() {
    let Some((cluster, _daemonroll)) = rolled_out_on(3).await else {
        return;
    };
    add_node(&cluster, 4);
    cluster.wait_rolled_out("agent", "agent:1", 4, secs(30)).await;
    assert_eq!(nodes_with_a_pod(&cluster).await, node_names(4));
}

#[tokio::test]
async fn a_no_execute_taint_the_pod_does_not_tolerate_removes_it() {
    let Some((cluster, _daemonroll)) = rolled_out_on(3).await else {
        return;
    };
    cluster.node("node-002").taint("dedicated=gpu:NoExecute");
    cluster
        .wait_until("node-002 without a pod", secs(30), || async {
            nodes_with_a_pod(&cluster).await == ["node-001", "node-003"]
        })
        .await;
    tokio::time::sleep(secs(3)).await;
    assert_eq!(
        nodes_with_a_pod(&cluster).await,
        ["node-001", "node-003"],
        "no pod comes back"
    );
    let status = &cluster.get_daemon_set("agent").await["status"];
    assert_eq!(status["desiredNumberScheduled"], 2, "{status}");
}

#[tokio::test]
async fn a_not_ready_node_keeps_its_pod() {
    let Some((cluster, _daemonroll)) = rolled_out_on(3).await else {
        return;
    };
    let before = cluster.pods_of("agent").await;
    cluster.node("node-002").become_not_ready();
    cluster
        .wait_until(
            "node-002 tainted not-ready by the node lifecycle controller",
            secs(30),
            || async {
                cluster
                    .kubectl_ok(&["get", "node", "node-002", "-o", "jsonpath={.spec.taints}"])
                    .contains("not-ready")
            },
        )
        .await;
    tokio::time::sleep(secs(5)).await;
    let after = cluster.pods_of("agent").await;
    let uids = |pods: &[serde_json::Value]| {
        let mut uids: Vec<String> = pods.iter().map(|pod| text(pod, "/metadata/uid").to_string()).collect();
        uids.sort();
        uids
    };
    assert_eq!(
        uids(&after),
        uids(&before),
        "daemon pods tolerate not-ready: none deleted or added"
    );
}

#[tokio::test]
async fn a_removed_node_leaves_the_desired_count() {
    let Some((cluster, _daemonroll)) = rolled_out_on(4).await else {
        return;
    };
    cluster.node("node-003").remove();
    cluster
        .wait_until("desiredNumberScheduled 3", secs(30), || async {
            let status = &cluster.get_daemon_set("agent").await["status"];
            status["desiredNumberScheduled"] == 3 && status["currentNumberScheduled"] == 3
        })
        .await;
    let pods_on_live_nodes = nodes_with_a_pod(&cluster)
        .await
        .into_iter()
        .filter(|node| node != "node-003")
        .count();
    assert_eq!(pods_on_live_nodes, 3);
}
