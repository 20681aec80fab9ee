//! kube-rs against the simulator: a `kube_runtime::watcher` over Pods survives a forced 410 (it
//! relists) and dropped connections (it resumes), and its store ends up holding every object exactly
//! once, at its latest resourceVersion.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use daemonroll::sim::cluster::{SimConfig, Simulator, create};
use daemonroll::sim::faults::FaultRule;
use daemonroll::sim::resources;
use daemonroll::sim::store::Store;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::json;

fn pods() -> &'static resources::Resource {
    resources::find("", "v1", "pods").expect("served")
}

fn add(store: &Store, name: &str) {
    let pod = json!({"metadata": {"name": name, "labels": {"batch": "watch"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}});
    create(store, pods(), "default", pod, "test").expect("pod is created");
}

fn relabel(store: &Store, name: &str, value: &str) {
    store
        .write(pods(), "default", name, "test", "patch", |current, _| {
            let mut pod = current.cloned().expect("pod exists");
            pod["metadata"]["labels"]["step"] = json!(value);
            Ok(Some(pod))
        })
        .expect("pod is updated");
}

fn remove(store: &Store, name: &str) {
    store
        .write(pods(), "default", name, "test", "delete", |current, _| {
            Ok(current.and(None))
        })
        .expect("pod is deleted");
}

/// name → resourceVersion of every pod in the simulator.
fn truth(store: &Store) -> BTreeMap<String, String> {
    store
        .list(pods(), Some("default"))
        .0
        .iter()
        .map(|p| {
            (
                p["metadata"]["name"].as_str().unwrap_or_default().to_string(),
                p["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

fn seen(reader: &reflector::Store<Pod>) -> BTreeMap<String, String> {
    reader
        .state()
        .iter()
        .map(|p| {
            (
                p.metadata.name.clone().unwrap_or_default(),
                p.metadata.resource_version.clone().unwrap_or_default(),
            )
        })
        .collect()
}

async fn converge(store: &Store, reader: &reflector::Store<Pod>, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (expected, actual) = (truth(store), seen(reader));
        if expected == actual {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the watcher's store never caught up.\nsimulator: {expected:?}\nwatcher:   {actual:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_survives_a_forced_410_and_dropped_connections() {
    // The fleet is not needed: no nodes, so nothing schedules or starts these pods.
    let simulator = Simulator::start(SimConfig {
        nodes: 0,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let store = Arc::clone(&simulator.store);
    // Dropped connections from the start: every pod watch ends after 200 ms; the watcher must resume
    // from its last resourceVersion each time (rules apply to watches as they start).
    let drop_watches = FaultRule {
        verbs: vec!["watch".into()],
        resources: vec!["pods".into()],
        drop_watch_after_ms: Some(200),
        ..FaultRule::default()
    };
    simulator.faults.set_rules(vec![drop_watches.clone()]);
    let config = kube::Config::new(simulator.url().parse().expect("valid URL"));
    let client = kube::Client::try_from(config).expect("client");
    let api: Api<Pod> = Api::namespaced(client, "default");
    let (reader, writer) = reflector::store::<Pod>();
    let stream = reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .applied_objects();
    let consumer = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            if let Err(error) = item {
                eprintln!("watcher error (it retries): {error}");
            }
        }
    });
    reader.wait_until_ready().await.expect("initial list");

    for index in 0..10 {
        add(&store, &format!("p{index}"));
    }
    converge(&store, &reader, "after creates").await;

    for round in 0..3 {
        for index in 0..10 {
            relabel(&store, &format!("p{index}"), &format!("drop-{round}"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    remove(&store, "p3");
    converge(&store, &reader, "across dropped connections").await;
    let resumed = simulator.store.timeline().len();

    // Forced 410 on every resume: the watcher must relist; a deletion made meanwhile must vanish too.
    simulator.faults.set_rules(vec![FaultRule {
        expire_watch_resumes: true,
        ..drop_watches
    }]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    remove(&store, "p4");
    add(&store, "p10");
    relabel(&store, "p5", "after-410");
    converge(&store, &reader, "across a forced 410").await;
    simulator.faults.set_rules(Vec::new());

    let final_state = seen(&reader);
    assert_eq!(final_state.len(), 9, "p0–p10 without p3 and p4: {final_state:?}");
    assert!(!final_state.contains_key("p3") && !final_state.contains_key("p4"));
    assert!(resumed > 30, "the writes happened");
    let injected = simulator.faults.injected();
    assert!(injected.dropped_watches >= 3, "connections were dropped: {injected:?}");
    assert!(
        injected.expired_resumes >= 1,
        "a resume was answered with 410: {injected:?}"
    );
    let journaled: Vec<u16> = simulator
        .requests
        .entries()
        .iter()
        .filter(|r| r.verb == "watch")
        .map(|r| r.code)
        .collect();
    assert!(
        journaled.contains(&410) && journaled.contains(&200),
        "the journal tells expired resumes (410) from others: {journaled:?}"
    );
    consumer.abort();
}
