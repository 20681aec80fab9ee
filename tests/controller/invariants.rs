//! The ARCHITECTURE.md invariants 1–4, checked at every write of the simulator's timeline.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use daemonroll::sim::store::{EventType, WriteRecord};
use serde_json::Value;

use crate::pod_fields::*;
use crate::support::{CONTROLLER, node_names};

/// A position in the simulator's write timeline (a resourceVersion).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark(pub u64);

impl Mark {
    /// Before the first write.
    pub const BEGINNING: Mark = Mark(0);

    pub fn version(self) -> u64 {
        self.0
    }
}

/// What a timeline replay found, for assertions beyond the invariants.
#[derive(Debug, Default)]
pub struct Replay {
    pub max_pods_on_a_node: usize,
    pub max_unavailable_seen: usize,
    pub pod_creates: usize,
    pub pod_deletes: usize,
    pub status_writes: usize,
    pub revision_creates: usize,
    pub writes_by_verb: BTreeMap<(String, String), usize>,
}

/// Whose writes a replay counts as the controller's.
#[derive(Clone, Copy, Debug)]
pub enum Writer {
    /// The single in-process controller or binary (actor `daemonroll`).
    Controller,
    /// Any leader-elected replica (actor `daemonroll@<replica>`).
    AnyReplica,
    /// The leader-elected replica of this name only.
    Replica(&'static str),
}

impl Writer {
    fn matches(self, actor: &str) -> bool {
        match self {
            Writer::Controller => actor == CONTROLLER,
            Writer::AnyReplica => actor.starts_with("daemonroll@"),
            Writer::Replica(name) => actor.strip_prefix("daemonroll@") == Some(name),
        }
    }
}

/// What the invariants allow for one DaemonSet during the replayed window:
/// `Budget::rolling("agent").nodes(12).at_most_unavailable(2)`.
#[derive(Clone, Debug)]
pub struct Budget {
    daemon_set: String,
    /// Nodes that should run a daemon pod (availability is counted over them).
    nodes: Vec<String>,
    max_unavailable: usize,
    /// Two pods on one node allowed (old and new side by side).
    surge: bool,
    min_ready: chrono::Duration,
    writer: Writer,
}

impl Budget {
    /// No rolling update in the window: no node may be judged unavailable, one pod per node.
    pub fn no_rollout(daemon_set: &str) -> Budget {
        Budget {
            daemon_set: daemon_set.into(),
            nodes: Vec::new(),
            max_unavailable: 0,
            surge: false,
            min_ready: chrono::Duration::zero(),
            writer: Writer::Controller,
        }
    }

    /// A rolling update: say over how many nodes and how many may be unavailable at once.
    pub fn rolling(daemon_set: &str) -> Budget {
        Budget::no_rollout(daemon_set)
    }

    /// Availability is counted over node-001 … node-<count>.
    pub fn nodes(mut self, count: usize) -> Self {
        self.nodes = node_names(count);
        self
    }

    /// Availability is counted over these nodes only.
    pub fn only_nodes(mut self, names: &[String]) -> Self {
        self.nodes = names.to_vec();
        self
    }

    pub fn at_most_unavailable(mut self, count: usize) -> Self {
        self.max_unavailable = count;
        self
    }

    /// maxSurge > 0: a node may run an old and a new pod side by side.
    pub fn surge(mut self) -> Self {
        self.surge = true;
        self
    }

    /// A pod counts as available once Ready for this long.
    pub fn min_ready_seconds(mut self, seconds: i64) -> Self {
        self.min_ready = chrono::Duration::seconds(seconds);
        self
    }

    pub fn written_by(mut self, writer: Writer) -> Self {
        self.writer = writer;
        self
    }
}

pub fn check_invariants(timeline: &[WriteRecord], budget: &Budget, from_version: u64) -> Replay {
    let uid = timeline
        .iter()
        .find(|r| r.kind == "DaemonSet" && r.name == budget.daemon_set)
        .map(|r| text(&r.object, "/metadata/uid").to_string())
        .expect("the DaemonSet is in the timeline");
    let mut pods: HashMap<String, Arc<Value>> = HashMap::new();
    let mut replay = Replay::default();
    let mut last_status: Option<Value> = None;
    for record in timeline {
        if record.kind == "Pod" && record.namespace == "default" {
            match record.event {
                EventType::Deleted => {
                    pods.remove(&record.name);
                }
                _ => {
                    pods.insert(record.name.clone(), Arc::clone(&record.object));
                }
            }
        }
        if record.resource_version <= from_version {
            if record.kind == "DaemonSet" && record.name == budget.daemon_set {
                last_status = Some(record.object["status"].clone());
            }
            continue;
        }
        let by_controller = budget.writer.matches(&record.actor);
        if by_controller {
            *replay
                .writes_by_verb
                .entry((record.kind.to_string(), record.verb.clone()))
                .or_default() += 1;
        }
        match (record.kind, record.verb.as_str()) {
            ("Pod", "create") if by_controller => {
                replay.pod_creates += 1;
                check_created_pod(&record.object, &uid);
            }
            ("Pod", "delete") if by_controller => replay.pod_deletes += 1,
            ("ControllerRevision", "create") if by_controller => replay.revision_creates += 1,
            ("DaemonSet", "status") if record.name == budget.daemon_set => {
                replay.status_writes += 1;
                let status = record.object["status"].clone();
                assert_ne!(
                    Some(&status),
                    last_status.as_ref(),
                    "invariant 4: status written again unchanged at rv {}",
                    record.resource_version
                );
            }
            _ => {}
        }
        if record.kind == "DaemonSet" && record.name == budget.daemon_set {
            last_status = Some(record.object["status"].clone());
        }
        // Invariants 1 and 2 at this instant.
        let mut per_node: HashMap<String, Vec<&Value>> = HashMap::new();
        for pod in pods.values() {
            if controller_uid(pod) == Some(uid.as_str()) {
                per_node.entry(pod_node(pod)).or_default().push(pod);
            }
        }
        let most = per_node.values().map(Vec::len).max().unwrap_or(0);
        replay.max_pods_on_a_node = replay.max_pods_on_a_node.max(most);
        let allowed = if budget.surge { 2 } else { 1 };
        assert!(
            most <= allowed,
            "invariant 1: {most} pods on one node at rv {} ({} {} {})",
            record.resource_version,
            record.verb,
            record.kind,
            record.name
        );
        let unavailable = budget
            .nodes
            .iter()
            .filter(|node| {
                !per_node.get(*node).is_some_and(|pods| {
                    pods.iter().any(|pod| {
                        pod.pointer("/metadata/deletionTimestamp").is_none_or(Value::is_null)
                            && ready_since(pod).is_some_and(|since| since + budget.min_ready <= record.time)
                    })
                })
            })
            .count();
        replay.max_unavailable_seen = replay.max_unavailable_seen.max(unavailable);
        assert!(
            unavailable <= budget.max_unavailable,
            "invariant 2: {unavailable} unavailable (budget {}) at rv {} ({} {} {})",
            budget.max_unavailable,
            record.resource_version,
            record.verb,
            record.kind,
            record.name
        );
    }
    replay
}

/// Invariant 3: what every pod daemonroll creates carries.
fn check_created_pod(pod: &Value, uid: &str) {
    let name = text(pod, "/metadata/name");
    let owner = pod.pointer("/metadata/ownerReferences/0").unwrap_or(&Value::Null);
    assert_eq!(owner["uid"], uid, "pod {name}: controller ownerReference");
    assert_eq!(owner["controller"], true, "pod {name}: controller ownerReference");
    assert_eq!(owner["kind"], "DaemonSet", "pod {name}");
    assert!(
        !text(pod, "/metadata/labels/controller-revision-hash").is_empty(),
        "pod {name}: controller-revision-hash label"
    );
    assert!(
        !text(pod, "/metadata/labels/pod-template-generation").is_empty(),
        "pod {name}: pod-template-generation label"
    );
    let term = pod
        .pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields/0")
        .unwrap_or(&Value::Null);
    assert_eq!(term["key"], "metadata.name", "pod {name}: node-pinning affinity");
    assert_eq!(term["operator"], "In", "pod {name}: node-pinning affinity");
}
