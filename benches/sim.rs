//! End-to-end simulator benchmarks over HTTP with kube-rs; results are in BENCHMARKS.md.
//! Run: `cargo bench --bench sim` (prints one line per measurement). With `-- --stop-at-5k` it
//! stops once 5,000 nodes + 5,000 pods are stored and Ready, before any LIST, so that a heap
//! profile of the bench (`heaptrack target/release/deps/sim-<hash> --stop-at-5k`) shows the
//! simulator at that size rather than the bench client's decoding.

use std::sync::Arc;
use std::time::{Duration, Instant};

use daemonroll::sim::cluster::{SimConfig, Simulator};
use daemonroll::sim::fleet::FleetConfig;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{ListParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn node(index: usize) -> Node {
    serde_json::from_value(daemonroll::sim::cluster::node_object(
        &format!("bench-{index:05}"),
        index,
    ))
    .expect("node JSON")
}

fn pod(name: &str, node: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "agent", "image": "agent:1"}],
                 "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                     {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}}}
    }))
    .expect("pod JSON")
}

/// When `count` pods have turned Ready, as seen in the store's events.
fn ready_pods(
    mut events: tokio::sync::broadcast::Receiver<Arc<daemonroll::sim::store::Event>>,
    count: usize,
) -> tokio::task::JoinHandle<Instant> {
    tokio::spawn(async move {
        let mut ready = std::collections::HashSet::new();
        while ready.len() < count {
            let Ok(event) = events.recv().await else {
                break;
            };
            if event.resource.kind == "Pod"
                && event
                    .object
                    .value()
                    .pointer("/status/conditions/3/status")
                    .and_then(|s| s.as_str())
                    == Some("True")
            {
                ready.insert(event.object.name().to_string());
            }
        }
        Instant::now()
    })
}

/// Runs `count` creates with `parallel` concurrent clients; returns the elapsed time.
async fn create_all<K, F>(api: Api<K>, count: usize, parallel: usize, make: F) -> Duration
where
    K: kube::Resource
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    F: Fn(usize) -> K + Send + Sync + 'static,
{
    let started = Instant::now();
    let make = Arc::new(make);
    let results: Vec<_> = futures::stream::iter(0..count)
        .map(|i| {
            let api = api.clone();
            let make = Arc::clone(&make);
            async move { api.create(&PostParams::default(), &make(i)).await }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    assert_eq!(failed, 0, "all creates succeed");
    started.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let fleet = FleetConfig {
        ready_after: Duration::ZERO,
        ..FleetConfig::default()
    };
    let simulator = Simulator::start(SimConfig {
        nodes: 0,
        fleet,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let client = kube::Client::try_from(kube::Config::new(simulator.url().parse().expect("URL"))).expect("client");
    let nodes: Api<Node> = Api::all(client.clone());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let baseline = rss_mib();

    let nodes_time = create_all(nodes.clone(), 5_000, 16, node).await;
    // Every pod is bound by the scheduler and made Ready by its kubelet (ready-after 0): seen in the
    // store's events, each parsed once (polling would parse all 5,000 pods each time, on the
    // cores the simulator needs).
    let ready_seen = ready_pods(simulator.store.subscribe(), 5_000);
    let pods_started = Instant::now();
    let pods_time = create_all(pods.clone(), 5_000, 16, |i| {
        pod(&format!("agent-{i:05}"), &format!("bench-{i:05}"))
    })
    .await;
    println!(
        "create 5,000 nodes over HTTP (16 concurrent clients): {:.2} s",
        nodes_time.as_secs_f64()
    );
    println!(
        "create 5,000 pods over HTTP (16 concurrent clients): {:.2} s",
        pods_time.as_secs_f64()
    );
    let all_ready = tokio::time::timeout(Duration::from_secs(120), ready_seen)
        .await
        .expect("pods did not all become Ready within 120 s")
        .expect("the event task");
    let ready_time = all_ready - pods_started;
    println!(
        "5,000 pods bound, started and Ready (from the first create): {:.2} s",
        ready_time.as_secs_f64()
    );
    println!(
        "RSS with 5,000 nodes + 5,000 pods (timeline included): {:.0} MiB (empty simulator: {baseline:.0} MiB)",
        rss_mib()
    );
    if std::env::args().any(|arg| arg == "--stop-at-5k") {
        return;
    }

    let mut list_times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let list = pods.list(&ListParams::default()).await.expect("list");
        assert_eq!(list.items.len(), 5_000);
        list_times.push(started.elapsed());
    }
    list_times.sort();
    println!(
        "LIST 5,000 pods over HTTP, median of 20: {:.1} ms",
        list_times[10].as_secs_f64() * 1000.0
    );
    println!(
        "RSS after those LISTs (the bench's kube-rs client decoded 5,000 typed pods each time): {:.0} MiB",
        rss_mib()
    );

    // Watch fan-out: 4 watchers, 1,000 pod updates; time until every watcher has seen all of them.
    let version = pods
        .list(&ListParams::default().limit(1))
        .await
        .expect("list")
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut watchers = Vec::new();
    for _ in 0..4 {
        let stream = pods
            .watch(&WatchParams::default(), &version)
            .await
            .expect("watch")
            .boxed();
        watchers.push(tokio::spawn(async move {
            let mut stream = stream;
            let mut seen = 0;
            while seen < 1_000 {
                match stream.try_next().await {
                    Ok(Some(WatchEvent::Modified(_))) => seen += 1,
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
            seen
        }));
    }
    let store = Arc::clone(&simulator.store);
    let resource = daemonroll::sim::resources::find("", "v1", "pods").expect("served");
    let started = Instant::now();
    for i in 0..1_000 {
        let name = format!("agent-{i:05}");
        store
            .write(resource, "default", &name, "bench", "patch", |current, _| {
                let mut pod = current.cloned().expect("pod exists");
                pod["metadata"]["labels"]["round"] = json!("1");
                Ok(Some(pod))
            })
            .expect("update");
    }
    let mut delivered = 0;
    for watcher in watchers {
        delivered += watcher.await.expect("watcher task");
    }
    println!(
        "watch fan-out: 1,000 pod updates to 4 watchers ({delivered} events delivered): {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );

    // Scale: 45,000 more pods (50,000 in all), written straight to the store in 5 namespaces' worth.
    let started = Instant::now();
    for i in 5_000..50_000 {
        let pod_object =
            serde_json::to_value(pod(&format!("agent-{i:05}"), &format!("bench-{:05}", i % 5_000))).expect("JSON");
        daemonroll::sim::cluster::create(&simulator.store, resource, "default", pod_object, "bench").expect("create");
    }
    println!(
        "45,000 more pods straight into the store: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!("RSS with 5,000 nodes + 50,000 pods: {:.0} MiB", rss_mib());
}
