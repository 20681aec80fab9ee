//! The simulator's admin API (/sim/v1) and fault injection, driven over HTTP as a user or CI would.

use std::time::{Duration, Instant};

use daemonroll::sim::cluster::{SimConfig, Simulator};
use k8s_openapi::api::core::v1::{Node, Pod};

use kube::Api;
use kube::api::ListParams;
use serde_json::{Value, json};

async fn admin(client: &kube::Client, method: &str, path: &str, body: Value) -> Value {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).expect("JSON"))
        .expect("request");
    let text = client.request_text(request).await.expect("admin request succeeds");
    serde_json::from_str(&text).expect("admin answers JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_errors_and_latency_hit_only_the_matching_requests() {
    let simulator = Simulator::start(SimConfig::default()).await.expect("starts");
    let client = kube::Client::try_from(kube::Config::new(simulator.url().parse().expect("URL"))).expect("client");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let nodes: Api<Node> = Api::all(client.clone());

    let rules = json!({"rules": [
        // 500, not 503: kube-rs retries 503 (and 429) on its own, with backoff.
        {"verbs": ["list"], "resources": ["pods"], "errorRate": 1.0, "errorCode": 500},
        {"verbs": ["get"], "resources": ["nodes"], "latencyMs": 300},
        {"verbs": ["watch"], "dropWatchAfterMs": 3000, "expireWatchResumeRate": 0.1}
    ]});
    admin(&client, "PUT", "/sim/v1/faults", rules).await;
    let error = pods.list(&ListParams::default()).await.expect_err("listing pods fails");
    assert!(error.to_string().contains("injected fault"), "{error}");
    assert_eq!(
        nodes
            .list(&ListParams::default())
            .await
            .expect("listing nodes is untouched")
            .items
            .len(),
        3
    );
    let started = Instant::now();
    nodes.get("node-001").await.expect("get works, slowly");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the injected latency was added"
    );
    let faults = admin(&client, "GET", "/sim/v1/faults", json!(null)).await;
    assert_eq!(faults["injected"]["errors"], 1, "one request, one injected error");
    assert_eq!(faults["injected"]["errorsByCode"], json!({"500": 1}));
    assert_eq!(faults["rules"][2]["expireWatchResumeRate"], 0.1, "{faults}");

    admin(&client, "PUT", "/sim/v1/faults", json!({"rules": []})).await;
    assert!(pods.list(&ListParams::default()).await.is_ok(), "faults cleared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_actions_change_the_nodes_and_the_timeline_records_them() {
    let simulator = Simulator::start(SimConfig::default()).await.expect("starts");
    let client = kube::Client::try_from(kube::Config::new(simulator.url().parse().expect("URL"))).expect("client");
    let nodes: Api<Node> = Api::all(client.clone());
    admin(&client, "POST", "/sim/v1/nodes/node-001/cordon", json!(null)).await;
    admin(&client, "POST", "/sim/v1/nodes/node-002/not-ready", json!(null)).await;
    admin(
        &client,
        "POST",
        "/sim/v1/nodes/node-003/taint",
        json!({"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}),
    )
    .await;
    admin(
        &client,
        "POST",
        "/sim/v1/nodes/node-003/label",
        json!({"key": "pool", "value": "gpu"}),
    )
    .await;
    admin(&client, "POST", "/sim/v1/nodes", json!({"name": "node-004"})).await;

    let cordoned = nodes.get("node-001").await.expect("node");
    assert_eq!(cordoned.spec.and_then(|s| s.unschedulable), Some(true));
    let not_ready = nodes.get("node-002").await.expect("node");
    let taints: Vec<String> = not_ready
        .spec
        .and_then(|s| s.taints)
        .unwrap_or_default()
        .into_iter()
        .map(|t| format!("{}:{}", t.key, t.effect))
        .collect();
    assert_eq!(
        taints,
        vec![
            "node.kubernetes.io/unreachable:NoSchedule",
            "node.kubernetes.io/unreachable:NoExecute"
        ]
    );
    let labelled = nodes.get("node-003").await.expect("node");
    assert_eq!(
        labelled.metadata.labels.and_then(|l| l.get("pool").cloned()).as_deref(),
        Some("gpu")
    );
    assert_eq!(nodes.list(&ListParams::default()).await.expect("list").items.len(), 4);

    let timeline = admin(&client, "GET", "/sim/v1/timeline", json!(null)).await;
    let node_writes = timeline["writes"]
        .as_array()
        .expect("writes")
        .iter()
        .filter(|w| w["kind"] == "Node" && w["actor"] == "sim-fleet")
        .count();
    assert_eq!(node_writes, 5, "four node edits and one new node");
    let unknown = http::Request::builder()
        .method("POST")
        .uri("/sim/v1/nodes/node-001/explode")
        .body(Vec::new())
        .expect("request");
    let error = client
        .request_text(unknown)
        .await
        .expect_err("unknown actions are refused");
    assert!(error.to_string().contains("unknown node action"), "{error}");
}
