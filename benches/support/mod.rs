//! Snapshots the planner benchmarks run on: upstream's BenchmarkUpdateDaemonSetStatus nodes, and a
//! cluster mid-rollout. Shared by `planner.rs` (wall clock) and `instructions.rs` (instruction counts).
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use daemonroll::history::hash::revision_hash;
use daemonroll::history::patch::template_patch;
use daemonroll::snapshot::{
    ControllerRef, DaemonSetStatusView, DaemonSetView, IntOrString, LabelSelector, Labels, NodeView, PodPhase, PodView,
    ReadyCondition, RevisionView, RollingUpdateParams, Snapshot, UpdateStrategy,
};
use serde_json::{Value, json};

pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
}

pub fn exclusion_affinity() -> Value {
    json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{
    "matchExpressions": [
        {"key": "example.com/papaya", "operator": "NotIn", "values": ["true"]},
        {"key": "example.com/kumquat", "operator": "NotIn", "values": ["true"]},
        {"key": "quince", "operator": "NotIn", "values": ["dragonfruit"]},
        {"key": "lychee", "operator": "NotIn", "values": ["rambutan"]},
        {"key": "example.com/durian", "operator": "NotIn", "values": ["mangosteen", "tamarind", "persimmon"]},
        {"key": "example.com/guava", "operator": "NotIn", "values": ["starfruit"]}
    ]}]}}})
}

pub fn daemon_set(affinity: Option<Value>, image: &str) -> DaemonSetView {
    let mut template = json!({
        "metadata": {"labels": {"name": "bench"}},
        "spec": {"containers": [{"name": "agent", "image": image, "imagePullPolicy": "IfNotPresent",
                                  "terminationMessagePath": "/dev/termination-log", "resources": {}}],
                 "dnsPolicy": "ClusterFirst", "restartPolicy": "Always"}
    });
    if let Some(affinity) = affinity {
        template["spec"]["affinity"] = affinity;
    }
    DaemonSetView {
        namespace: "default".into(),
        name: "bench".into(),
        uid: "uid-bench".into(),
        generation: 2,
        annotations: Labels::from([("deprecated.daemonset.template.generation", "2")]),
        selector: Some(LabelSelector {
            match_labels: Labels::from([("name", "bench")]),
            match_expressions: Vec::new(),
        }),
        template,
        update_strategy: UpdateStrategy::RollingUpdate(Some(RollingUpdateParams {
            max_unavailable: Some(IntOrString::String("10%".into())),
            max_surge: Some(IntOrString::Int(0)),
        })),
        on_delete_rolling_update: None,
        min_ready_seconds: 0,
        revision_history_limit: 10,
        status: DaemonSetStatusView::default(),
        conditions: Vec::new(),
        deletion_timestamp: None,
    }
}

pub fn nodes(count: usize) -> Arc<Vec<NodeView>> {
    (0..count)
        .map(|i| NodeView {
            name: format!("node-{i}").into(),
            labels: Labels::from([
                ("kubernetes.io/hostname", format!("node-{i}")),
                ("topology.kubernetes.io/zone", format!("zone-{}", i % 3)),
                ("topology.kubernetes.io/region", "region-1".to_string()),
            ]),
            taints: Vec::new(),
            ready: Some(true),
            being_deleted: false,
        })
        .collect::<Vec<_>>()
        .into()
}

/// Nodes as the snapshot builders provide them: sorted by name.
pub fn sorted_nodes(count: usize) -> Arc<Vec<NodeView>> {
    let mut list = nodes(count).to_vec();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    list.into()
}

pub fn revision(ds: &DaemonSetView, template: &Value, number: i64, hash: &str) -> RevisionView {
    let mut data_template = template.clone();
    data_template["$patch"] = json!("replace");
    RevisionView {
        name: format!("bench-{hash}"),
        uid: format!("uid-{hash}"),
        labels: Labels::from([("name", "bench"), ("controller-revision-hash", hash)]),
        controller: Some(ControllerRef {
            api_version: "apps/v1".into(),
            kind: "DaemonSet".into(),
            name: ds.name.as_str().into(),
            uid: ds.uid.as_str().into(),
        }),
        revision: number,
        data: json!({"spec": {"template": data_template}}),
        deletion_timestamp: None,
    }
}

/// One pod per node; even nodes on the new revision, odd ones still old; all ready for an hour.
pub fn mid_rollout(count: usize) -> Snapshot {
    let ds = daemon_set(None, "agent:v2");
    let old = daemon_set(None, "agent:v1");
    let new_hash = revision_hash(&template_patch(&ds.template), None);
    let revisions = vec![
        revision(&ds, &old.template, 1, "oldhash"),
        revision(&ds, &ds.template, 2, &new_hash),
    ];
    let owner = ControllerRef {
        api_version: "apps/v1".into(),
        kind: "DaemonSet".into(),
        name: "bench".into(),
        uid: "uid-bench".into(),
    };
    let pods = (0..count)
        .map(|i| {
            let (hash, generation) = if i % 2 == 0 {
                (new_hash.as_str(), "2")
            } else {
                ("oldhash", "1")
            };
            Arc::new(PodView {
                name: format!("bench-{i:05}").into(),
                uid: format!("uid-pod-{i}").into(),
                labels: Labels::from([
                    ("name", "bench"),
                    ("controller-revision-hash", hash),
                    ("pod-template-generation", generation),
                ]),
                controller: Some(owner.clone()),
                node_name: format!("node-{i}").into(),
                target_node: Some(format!("node-{i}").into()),
                phase: PodPhase::Running,
                ready: Some(ReadyCondition {
                    is_true: true,
                    last_transition_time: Some(now() - TimeDelta::hours(1)),
                }),
                creation_timestamp: Some(now() - TimeDelta::hours(2)),
                deletion_timestamp: None,
            })
        })
        .collect();
    let mut snapshot = Snapshot::new(ds, now());
    snapshot.nodes = sorted_nodes(count);
    snapshot.pods = pods;
    // As the snapshot builders provide them: pods ordered by target node.
    daemonroll::snapshot::assemble::sort_by_target_node(&mut snapshot.pods);
    snapshot.revisions = revisions;
    snapshot
}
