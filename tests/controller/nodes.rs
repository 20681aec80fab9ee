//! Pods follow nodes: added, labelled out of the nodeSelector, tainted NoExecute, NotReady, removed.

use std::time::Duration;

use daemonroll::controller::Options;
use serde_json::json;

use crate::support::*;

async fn pod_nodes(cluster: &Cluster) -> Vec<String> {
    let mut nodes: Vec<String> = cluster
        .pods()
        .await
        .iter()
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none_or(|t| t.is_null()))
        .map(pod_node)
        .collect();
    nodes.sort();
    nodes
}

async fn wait_pods_on(cluster: &Cluster, expected: &[&str], what: &str) {
    let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    cluster
        .wait_until(what, Duration::from_secs(15), || async {
            pod_nodes(cluster).await == expected
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_follow_node_changes() {
    let cluster = Cluster::start(4, fleet(100)).await;
    let controller = cluster.start_controller(Options::default());
    let mut object = daemon_set("agent", "agent:1", rolling(json!(1), json!(0)));
    object["spec"]["template"]["spec"]["nodeSelector"] = json!({"kubernetes.io/os": "linux"});
    cluster.create_daemon_set(object).await;
    cluster.wait_rolled_out("agent", 4, Duration::from_secs(15)).await;
    let fleet = &cluster.sim.fleet;

    fleet.add_node("node-005", 5).expect("node added");
    wait_pods_on(
        &cluster,
        &["node-001", "node-002", "node-003", "node-004", "node-005"],
        "a pod on the new node",
    )
    .await;

    fleet
        .label("node-002", "kubernetes.io/os", Some("windows"))
        .expect("labelled");
    wait_pods_on(
        &cluster,
        &["node-001", "node-003", "node-004", "node-005"],
        "the pod leaving the relabelled node",
    )
    .await;

    fleet
        .taint("node-003", "dedicated", "storage", "NoExecute")
        .expect("tainted");
    wait_pods_on(
        &cluster,
        &["node-001", "node-004", "node-005"],
        "the pod leaving the NoExecute-tainted node",
    )
    .await;

    // NotReady: the daemon pod tolerates not-ready NoExecute and stays, but the node's NoSchedule
    // taint makes it misscheduled (upstream: shouldRun false, shouldContinueRunning true).
    fleet.set_node_ready("node-004", false).expect("not ready");
    cluster
        .wait_until(
            "node-004's pod counted misscheduled",
            Duration::from_secs(15),
            || async {
                let ds = cluster.daemon_set("agent").await;
                ds["status"]["numberMisscheduled"] == 1 && ds["status"]["desiredNumberScheduled"] == 2
            },
        )
        .await;
    assert_eq!(
        pod_nodes(&cluster).await,
        vec!["node-001", "node-004", "node-005"],
        "the pod on the NotReady node stays"
    );

    fleet.remove_node("node-001").expect("removed");
    wait_pods_on(&cluster, &["node-004", "node-005"], "the pod of the removed node gone").await;
    fleet.set_node_ready("node-004", true).expect("ready again");
    cluster.wait_rolled_out("agent", 2, Duration::from_secs(15)).await;

    let replay = check_invariants(&cluster.timeline(), &Budget::no_rollout("agent"), 0);
    // A create may race a node change the cache has not shown yet: the simulator's taint manager and
    // pod GC remove the pod at once, and the pod and node watches are independent (as upstream's
    // informers). Such a pod is deleted again; every other create is one node's one pod.
    let timeline = cluster.timeline();
    let created: Vec<_> = timeline
        .iter()
        .filter(|r| r.kind == "Pod" && r.verb == "create" && r.actor == CONTROLLER)
        .collect();
    let mut raced = 0;
    let window = chrono::Duration::milliseconds(500);
    for create in &created {
        let undone_at_once = timeline.iter().any(|r| {
            r.kind == "Pod"
                && r.verb == "delete"
                && r.actor == CONTROLLER
                && r.name == create.name
                && r.time - create.time < window
        });
        if !undone_at_once {
            continue;
        }
        let node = pod_node(&create.object);
        let node_changed_just_before = timeline.iter().any(|r| {
            r.kind == "Node"
                && r.name == node
                && r.resource_version < create.resource_version
                && create.time - r.time < window
        });
        assert!(
            node_changed_just_before,
            "pod {} on {node} was created and deleted with no node change racing it:\n{}",
            create.name,
            pod_writes(&timeline, 0)
        );
        raced += 1;
    }
    assert_eq!(
        replay.pod_creates - raced,
        5,
        "4 nodes, then one added:\n{}",
        pod_writes(&timeline, 0)
    );
    controller.stop().await;
}
