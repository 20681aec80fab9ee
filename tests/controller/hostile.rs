//! Hostile DaemonSets on a live cluster: oversized ones are served like others, a template field
//! the planner never reads reaches every pod, and a selector that reaches another controller's
//! pods takes none of them.

use serde_json::{Value, json};

use crate::support::*;

/// 10,000 tolerations, none of which the simulated nodes need.
fn ten_thousand_tolerations() -> Value {
    let tolerations: Vec<Value> = (0..10_000)
        .map(|i| json!({"key": format!("example.com/team-{i}"), "operator": "Exists", "effect": "NoSchedule"}))
        .collect();
    json!(tolerations)
}

// kube-apiserver, and the simulator, refuse annotations over 256 KiB in all: the blob is the
// largest that leaves room for the annotations the API server and daemonroll add.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_daemon_sets_roll_out_beside_a_normal_one() {
    let cluster = Cluster::with_nodes(3).pods_ready_after(millis(100)).start().await;
    let controller = cluster.start_controller();
    let blob = "x".repeat(daemonroll::sim::meta_validation::ANNOTATIONS_LIMIT_BYTES - 4096);
    cluster
        .create_daemon_set(daemon_set("annotated").annotation("example.com/blob", &blob))
        .await;
    cluster
        .create_daemon_set(daemon_set("tolerant").tolerations(ten_thousand_tolerations()))
        .await;
    cluster.create_daemon_set(daemon_set("agent")).await;
    for name in ["agent", "annotated", "tolerant"] {
        cluster.wait_rolled_out(name).pods(3).within(secs(30)).await;
    }
    let writes = cluster.controller_writes_since(Mark::BEGINNING);
    let count = |verb: &str| writes.iter().filter(|write| write.starts_with(verb)).count();
    assert_eq!(
        (count("create Pod"), count("delete Pod")),
        (9, 0),
        "one create per node and DaemonSet, nothing retried: {writes:?}"
    );
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selector_reaching_another_daemon_sets_pods_takes_none_of_them() {
    let cluster = Cluster::with_nodes(3).pods_ready_after(millis(100)).start().await;
    let controller = cluster.start_controller();
    let agent = cluster.create_daemon_set(daemon_set("agent")).await;
    cluster.wait_rolled_out("agent").pods(3).within(secs(15)).await;
    let start = cluster.mark();
    // `greedy` selects app in (agent, greedy): agent's pods match it, but they have a controller.
    let selector = json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["agent", "greedy"]}]});
    let greedy = cluster.create_daemon_set(daemon_set("greedy").selector(selector)).await;
    cluster.wait_rolled_out("greedy").pods(3).within(secs(15)).await;
    tokio::time::sleep(secs(1)).await;
    let pods = cluster.pods().await;
    let nodes_of = |owner: &Value| {
        let uid = owner["metadata"]["uid"].as_str();
        let mut nodes: Vec<String> = pods
            .iter()
            .filter(|pod| controller_uid(pod) == uid)
            .map(pod_node)
            .collect();
        nodes.sort();
        nodes
    };
    assert_eq!(
        (nodes_of(&agent), nodes_of(&greedy)),
        (node_names(3), node_names(3)),
        "each DaemonSet controls its own pod on every node"
    );
    let writes = cluster.controller_writes_since(start);
    let touched: Vec<&String> = writes.iter().filter(|write| write.contains("Pod agent-")).collect();
    assert!(touched.is_empty(), "no write to agent's pods: {touched:?}");
    controller.stop().await;
}

// resizePolicy (in-place pod resize) is accepted in a pod template by kube-apiserver; daemonroll
// has no rule about it and must carry it into every pod as written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resize_policy_the_planner_never_reads_reaches_every_pod() {
    let cluster = Cluster::with_nodes(3).pods_ready_after(millis(100)).start().await;
    let controller = cluster.start_controller();
    let policy = json!([{"resourceName": "cpu", "restartPolicy": "NotRequired"},
                        {"resourceName": "memory", "restartPolicy": "RestartContainer"}]);
    cluster
        .create_daemon_set(daemon_set("agent").container_field("resizePolicy", policy.clone()))
        .await;
    cluster.wait_rolled_out("agent").pods(3).within(secs(15)).await;
    let policies: Vec<Value> = cluster
        .pods()
        .await
        .iter()
        .map(|pod| pod["spec"]["containers"][0]["resizePolicy"].clone())
        .collect();
    assert_eq!(policies, vec![policy; 3]);
    controller.stop().await;
}
