//! Pods follow nodes: added, labelled out of the nodeSelector, tainted NoExecute, NotReady, removed.
//! Each test starts from four Linux nodes running `agent`, changes one node, and ends with the
//! invariants replayed over the whole timeline and one create per node that needed a pod.

use crate::support::*;

/// The nodes of the pods not being deleted, sorted.
async fn pod_nodes(cluster: &Cluster) -> Vec<String> {
    let mut nodes: Vec<String> = cluster
        .pods()
        .await
        .iter()
        .filter(|p| !is_terminating(p))
        .map(pod_node)
        .collect();
    nodes.sort();
    nodes
}

async fn wait_pods_on(cluster: &Cluster, expected: &[&str], what: &str) {
    let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    cluster
        .wait_until(what, secs(15), || async { pod_nodes(cluster).await == expected })
        .await;
}

/// Four nodes labelled kubernetes.io/os=linux, and `agent` (nodeSelector linux) rolled out on them.
async fn cluster_with_agent_on_four_linux_nodes() -> (Cluster, Running) {
    let cluster = Cluster::with_nodes(4).pods_ready_after(millis(100)).start().await;
    let controller = cluster.start_controller();
    cluster
        .create_daemon_set(daemon_set("agent").node_selector("kubernetes.io/os", "linux"))
        .await;
    cluster.wait_rolled_out("agent").pods(4).within(secs(15)).await;
    (cluster, controller)
}

/// Replays the whole timeline (invariants 1–4 with no rollout) and checks that daemonroll created
/// one pod per node that needed one (`nodes_needing_a_pod`), apart from creates that raced a node
/// change.
fn assert_one_create_per_node(cluster: &Cluster, nodes_needing_a_pod: usize, scenario: &str) {
    let replay = cluster.check_invariants_since(Mark::BEGINNING, &Budget::no_rollout("agent"));
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
        // Undone by daemonroll, or by the simulator's taint manager or pod GC.
        let Some(undone) = timeline
            .iter()
            .find(|r| r.kind == "Pod" && r.verb == "delete" && r.name == create.name && r.time - create.time < window)
        else {
            continue;
        };
        let node = pod_node(&create.object.value());
        // A node's creation cannot undo a pod made for it; only a change of the node can.
        let node_changes: Vec<_> = timeline
            .iter()
            .filter(|r| r.kind == "Node" && r.verb != "create" && r.name == node)
            .collect();
        let changed_since_create = node_changes
            .iter()
            .any(|r| r.resource_version > create.resource_version && r.resource_version < undone.resource_version);
        if changed_since_create {
            continue; // the pod was needed when created; the node's change took it away
        }
        let changed_just_before = node_changes
            .iter()
            .any(|r| r.resource_version < create.resource_version && create.time - r.time < window);
        assert!(
            changed_just_before,
            "pod {} on {node} was created and deleted with no node change racing it:\n{}",
            create.name,
            cluster.pod_writes_since(Mark::BEGINNING)
        );
        raced += 1;
    }
    assert_eq!(
        replay.pod_creates - raced,
        nodes_needing_a_pod,
        "{scenario}:\n{}",
        cluster.pod_writes_since(Mark::BEGINNING)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_added_gets_a_pod() {
    let (cluster, controller) = cluster_with_agent_on_four_linux_nodes().await;
    cluster.add_node(5);
    wait_pods_on(
        &cluster,
        &["node-001", "node-002", "node-003", "node-004", "node-005"],
        "a pod on the new node",
    )
    .await;
    assert_one_create_per_node(&cluster, 5, "4 nodes, then one added");
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_relabelled_out_of_the_node_selector_loses_its_pod() {
    let (cluster, controller) = cluster_with_agent_on_four_linux_nodes().await;
    cluster.node("node-002").label("kubernetes.io/os", "windows");
    wait_pods_on(
        &cluster,
        &["node-001", "node-003", "node-004"],
        "the pod leaving the relabelled node",
    )
    .await;
    assert_one_create_per_node(&cluster, 4, "4 nodes");
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_tainted_no_execute_loses_its_pod() {
    let (cluster, controller) = cluster_with_agent_on_four_linux_nodes().await;
    cluster.node("node-003").taint("dedicated", "storage", "NoExecute");
    wait_pods_on(
        &cluster,
        &["node-001", "node-002", "node-004"],
        "the pod leaving the NoExecute-tainted node",
    )
    .await;
    assert_one_create_per_node(&cluster, 4, "4 nodes");
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_not_ready_node_keeps_its_pod_counted_misscheduled_until_ready_again() {
    let (cluster, controller) = cluster_with_agent_on_four_linux_nodes().await;
    // NotReady: the daemon pod tolerates not-ready NoExecute and stays, but the node's NoSchedule
    // taint makes it misscheduled (upstream: shouldRun false, shouldContinueRunning true).
    cluster.node("node-004").become_not_ready();
    cluster
        .wait_until("node-004's pod counted misscheduled", secs(15), || async {
            let ds = cluster.get_daemon_set("agent").await;
            ds["status"]["numberMisscheduled"] == 1 && ds["status"]["desiredNumberScheduled"] == 3
        })
        .await;
    assert_eq!(
        pod_nodes(&cluster).await,
        vec!["node-001", "node-002", "node-003", "node-004"],
        "the pod on the NotReady node stays"
    );
    cluster.node("node-004").become_ready();
    cluster.wait_rolled_out("agent").pods(4).within(secs(15)).await;
    assert_one_create_per_node(&cluster, 4, "4 nodes");
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_nodes_pod_is_gone() {
    let (cluster, controller) = cluster_with_agent_on_four_linux_nodes().await;
    cluster.node("node-001").remove();
    wait_pods_on(
        &cluster,
        &["node-002", "node-003", "node-004"],
        "the pod of the removed node gone",
    )
    .await;
    assert_one_create_per_node(&cluster, 4, "4 nodes");
    controller.stop().await;
}
