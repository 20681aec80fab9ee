//! The controller's per-event cost (issue 13): what one watched pod or node change costs the
//! controller before any sync, at 1,000 and at 10,000 nodes. The ratio between the two sizes is the
//! figure that matters: a change should cost the same whatever the fleet's size.
//!
//! Each event goes the way `controller::watch` takes a pod or node: the watch line's JSON decoded
//! into a `RawObject` (as kube-runtime's watcher does), whose JSON the store reads, then
//! `Store::applied` (cache update, matcher checks, the DaemonSets it triggers, expectations).
//! `pod_readiness_change_via_dynamic_object` is the way DaemonSets still go (and pods went before):
//! decoded into a `DynamicObject`, then re-encoded as the JSON the store reads.
//! `snapshot` is the start of a sync, which is linear in the fleet by nature, for comparison.
//! Results and the command are in BENCHMARKS.md.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use daemonroll::controller::raw::{RawObject, Served};
use daemonroll::snapshot::ObjectKey;
use daemonroll::store::{Expectations, Kind, Store};
use kube::api::DynamicObject;
use serde_json::{Value, json};

const DAEMON_SET_UID: &str = "0b8c6f0e-0000-4000-8000-000000000001";

fn daemon_set() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "default", "uid": DAEMON_SET_UID, "generation": 2,
                     "resourceVersion": "10"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
                 "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "5%"}},
                 "template": {"metadata": {"labels": {"app": "agent"}},
                              "spec": {"containers": [{"name": "agent", "image": "agent:2"}]}}},
        "status": {"observedGeneration": 2}})
}

fn node(index: usize) -> Value {
    json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": format!("node-{index:05}"), "uid": format!("node-uid-{index}"), "resourceVersion": "20",
                     "labels": {"kubernetes.io/hostname": format!("node-{index:05}"),
                                "topology.kubernetes.io/zone": format!("zone-{}", index % 3),
                                "kubernetes.io/os": "linux"}},
        "spec": {},
        "status": {"conditions": [{"type": "Ready", "status": "True",
                                   "lastTransitionTime": "2026-12-05T10:00:00Z"}]}})
}

fn pod(index: usize, ready: bool) -> Value {
    let node = format!("node-{index:05}");
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("agent-{index:05}"), "namespace": "default", "uid": format!("pod-uid-{index}"),
                     "resourceVersion": "30", "creationTimestamp": "2026-12-05T10:00:00Z",
                     "labels": {"app": "agent", "controller-revision-hash": "5d8f7c9b6", "pod-template-generation": "2"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                                          "uid": DAEMON_SET_UID, "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"nodeName": node, "containers": [{"name": "agent", "image": "agent:2"}],
                 "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                     {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}},
                 "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}]},
        "status": {"phase": "Running",
                   "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" },
                                   "lastTransitionTime": "2026-12-05T10:00:01Z"}]}})
}

/// A store holding one DaemonSet, `count` nodes and one Ready pod of it per node.
fn fleet(count: usize) -> (Store, Expectations) {
    let mut store = Store::default();
    let expectations = Expectations::default();
    let apply = |store: &mut Store, kind: Kind, object: &Value| {
        if let Err(error) = store.applied(kind, object, &expectations) {
            panic!("the benchmark's {kind:?} is malformed: {error}");
        }
    };
    apply(&mut store, Kind::DaemonSet, &daemon_set());
    for index in 0..count {
        apply(&mut store, Kind::Node, &node(index));
        apply(&mut store, Kind::Pod, &pod(index, true));
    }
    (store, expectations)
}

/// A watch line as the API server sends it.
fn watch_line(object: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"type": "MODIFIED", "object": object})).unwrap_or_default()
}

/// What the watch path does with one line: decode, re-read as JSON, apply.
fn on_watch_line<K: Served>(store: &mut Store, expectations: &Expectations, kind: Kind, line: &[u8]) -> usize {
    let Ok(event) = serde_json::from_slice::<kube::core::WatchEvent<K>>(line) else {
        return 0;
    };
    let kube::core::WatchEvent::Modified(object) = event else {
        return 0;
    };
    store
        .applied(kind, &object.served_json(), expectations)
        .map(|triggered| triggered.now.len())
        .unwrap_or(0)
}

fn per_event(c: &mut Criterion) {
    let mut group = c.benchmark_group("watch_event");
    for count in [1_000, 10_000] {
        let (mut store, expectations) = fleet(count);
        let middle = count / 2;
        // Alternate the pod between not Ready and Ready, so that every event is a real change.
        let pod_lines = [watch_line(&pod(middle, false)), watch_line(&pod(middle, true))];
        let mut turn = 0;
        group.bench_function(BenchmarkId::new("pod_readiness_change", count), |b| {
            b.iter(|| {
                turn ^= 1;
                on_watch_line::<RawObject>(&mut store, &expectations, Kind::Pod, black_box(&pod_lines[turn]))
            })
        });
        group.bench_function(
            BenchmarkId::new("pod_readiness_change_via_dynamic_object", count),
            |b| {
                b.iter(|| {
                    turn ^= 1;
                    on_watch_line::<DynamicObject>(&mut store, &expectations, Kind::Pod, black_box(&pod_lines[turn]))
                })
            },
        );
        let mut tainted = node(middle);
        tainted["spec"]["taints"] = json!([{"key": "example.com/maintenance", "effect": "NoSchedule"}]);
        let node_lines = [watch_line(&tainted), watch_line(&node(middle))];
        group.bench_function(BenchmarkId::new("node_taint_change", count), |b| {
            b.iter(|| {
                turn ^= 1;
                on_watch_line::<RawObject>(&mut store, &expectations, Kind::Node, black_box(&node_lines[turn]))
            })
        });
        let value = pod(middle, true);
        group.bench_function(BenchmarkId::new("pod_store_apply_only", count), |b| {
            b.iter(|| {
                store
                    .applied(Kind::Pod, black_box(&value), &expectations)
                    .map(|t| t.now.len())
            })
        });
        let key = ObjectKey::new("default", "agent");
        let now = chrono::DateTime::from_timestamp(1_796_000_000, 0).unwrap_or_default();
        group.bench_function(BenchmarkId::new("sync_snapshot", count), |b| {
            b.iter(|| store.snapshot(black_box(&key), now).map(|s| s.pods.len()))
        });
    }
    group.finish();
}

criterion_group!(benches, per_event);
criterion_main!(benches);
