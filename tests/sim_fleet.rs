//! The simulated fleet: scheduling daemon pods, kubelets making them Ready, node lifecycle, eviction,
//! pod garbage collection, image behaviours. Driven through the Rust handle; checked on the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use daemonroll::sim::cluster::{SimConfig, Simulator, create};
use daemonroll::sim::fleet::{FleetConfig, ImageBehaviour};
use daemonroll::sim::resources;
use daemonroll::sim::store::Store;
use serde_json::{Value, json};

fn start(ready_after: Duration) -> (tokio::runtime::Runtime, Simulator) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime starts");
    let fleet = FleetConfig {
        ready_after,
        terminate_after: Duration::from_millis(50),
        ..FleetConfig::default()
    };
    let simulator = runtime
        .block_on(Simulator::start(SimConfig {
            nodes: 3,
            fleet,
            ..SimConfig::default()
        }))
        .expect("starts");
    (runtime, simulator)
}

/// A daemon pod as the controller creates it: pinned by node affinity, with the daemon tolerations.
fn daemon_pod(name: &str, node: &str, image: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "agent"}},
           "spec": {"containers": [{"name": "agent", "image": image}],
                    "tolerations": [
                        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
                        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
                        {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}],
                    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}}}})
}

fn pod(store: &Store, name: &str) -> Option<Arc<Value>> {
    store.get(resources::find("", "v1", "pods").expect("served"), "default", name)
}

fn add_pod(store: &Store, object: Value) {
    create(
        store,
        resources::find("", "v1", "pods").expect("served"),
        "default",
        object,
        "test",
    )
    .expect("pod is created");
}

/// Waits (up to 10 s) until `check` holds for the pod's current state; panics with `what` otherwise.
fn wait_for(store: &Store, name: &str, what: &str, check: impl Fn(Option<&Value>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let current = pod(store, name);
        if check(current.as_deref()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pod {name}: timed out waiting until {what}; now {current:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ready(pod: Option<&Value>) -> bool {
    pod.and_then(|p| p.pointer("/status/conditions"))
        .and_then(Value::as_array)
        .is_some_and(|conditions| conditions.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

fn phase(pod: Option<&Value>) -> String {
    pod.and_then(|p| p.pointer("/status/phase"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[test]
fn daemon_pods_are_bound_to_their_node_run_and_become_ready() {
    let (_runtime, simulator) = start(Duration::from_millis(100));
    let store = Arc::clone(&simulator.store);
    add_pod(&store, daemon_pod("p1", "node-002", "agent:1"));
    wait_for(&store, "p1", "it is Ready", ready);
    let bound = pod(&store, "p1").expect("exists");
    assert_eq!(
        (bound["spec"]["nodeName"].clone(), phase(Some(&bound))),
        (json!("node-002"), "Running".to_string())
    );
    let kubelet_writes = store
        .timeline()
        .iter()
        .filter(|w| w.name == "p1" && w.actor.starts_with("sim-"))
        .count();
    assert_eq!(kubelet_writes, 3, "bind, start, ready");
}

#[test]
fn pods_wait_for_a_cordoned_or_tainted_node_unless_they_tolerate_it() {
    let (_runtime, simulator) = start(Duration::ZERO);
    let store = Arc::clone(&simulator.store);
    simulator
        .fleet
        .taint("node-001", "dedicated", "gpu", "NoSchedule")
        .expect("node exists");
    add_pod(&store, daemon_pod("intolerant", "node-001", "agent:1"));
    wait_for(&store, "intolerant", "it is reported unschedulable", |p| {
        p.and_then(|p| p.pointer("/status/conditions/0/reason"))
            .and_then(Value::as_str)
            == Some("Unschedulable")
    });
    assert_eq!(
        pod(&store, "intolerant").map(|p| p["spec"]["nodeName"].clone()),
        Some(Value::Null)
    );
    simulator.fleet.untaint("node-001", "dedicated").expect("node exists");
    simulator.fleet.cordon("node-001", true).expect("node exists");
    wait_for(
        &store,
        "intolerant",
        "it is bound to the cordoned node (daemon pods tolerate unschedulable)",
        |p| p.and_then(|p| p.pointer("/spec/nodeName")).and_then(Value::as_str) == Some("node-001"),
    );
    wait_for(&store, "intolerant", "it is Ready", ready);
}

#[test]
fn not_ready_nodes_make_their_pods_unready_and_no_execute_taints_evict() {
    let (_runtime, simulator) = start(Duration::ZERO);
    let store = Arc::clone(&simulator.store);
    add_pod(&store, daemon_pod("p1", "node-003", "agent:1"));
    wait_for(&store, "p1", "it is Ready", ready);
    simulator.fleet.set_node_ready("node-003", false).expect("node exists");
    wait_for(&store, "p1", "it is not Ready", |p| p.is_some() && !ready(p));
    simulator.fleet.set_node_ready("node-003", true).expect("node exists");
    wait_for(&store, "p1", "it is Ready again", ready);
    simulator
        .fleet
        .taint("node-003", "maintenance", "", "NoExecute")
        .expect("node exists");
    wait_for(&store, "p1", "the taint manager evicted it", |p| p.is_none());
}

#[test]
fn image_behaviours_fail_crash_loop_or_never_ready() {
    let (_runtime, simulator) = start(Duration::ZERO);
    let store = Arc::clone(&simulator.store);
    simulator
        .fleet
        .set_image_behaviour("agent:broken", Some(ImageBehaviour::Fail));
    simulator
        .fleet
        .set_image_behaviour("agent:crashy", Some(ImageBehaviour::CrashLoop));
    simulator
        .fleet
        .set_image_behaviour("agent:slow", Some(ImageBehaviour::NeverReady));
    add_pod(&store, daemon_pod("broken", "node-001", "agent:broken"));
    add_pod(&store, daemon_pod("crashy", "node-002", "agent:crashy"));
    add_pod(&store, daemon_pod("slow", "node-003", "agent:slow"));
    wait_for(&store, "broken", "it failed", |p| phase(p) == "Failed");
    wait_for(&store, "crashy", "it runs", |p| phase(p) == "Running");
    wait_for(&store, "slow", "it runs", |p| phase(p) == "Running");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!ready(pod(&store, "crashy").as_deref()) && !ready(pod(&store, "slow").as_deref()));
    let crashy = pod(&store, "crashy").expect("exists");
    assert_eq!(
        crashy["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
        "CrashLoopBackOff"
    );
}

#[test]
fn removed_nodes_take_their_pods_with_them_and_added_nodes_are_ready() {
    let (_runtime, simulator) = start(Duration::ZERO);
    let store = Arc::clone(&simulator.store);
    add_pod(&store, daemon_pod("p1", "node-001", "agent:1"));
    wait_for(&store, "p1", "it is Ready", ready);
    simulator.fleet.remove_node("node-001").expect("node exists");
    wait_for(&store, "p1", "the pod garbage collector deleted it", |p| p.is_none());
    simulator.fleet.add_node("node-009", 9).expect("new node");
    add_pod(&store, daemon_pod("p9", "node-009", "agent:1"));
    wait_for(&store, "p9", "it is Ready on the new node", ready);
}

#[test]
fn pods_pinned_to_missing_nodes_stay_pending() {
    let (_runtime, simulator) = start(Duration::ZERO);
    let store = Arc::clone(&simulator.store);
    add_pod(&store, daemon_pod("lost", "node-404", "agent:1"));
    wait_for(&store, "lost", "it is reported unschedulable", |p| {
        p.and_then(|p| p.pointer("/status/conditions/0/message"))
            .and_then(Value::as_str)
            .is_some_and(|m| m.starts_with("0/3 nodes are available"))
    });
}
