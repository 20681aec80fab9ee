//! The ARCHITECTURE.md invariants, checked at every write of the simulator's timeline (1–4, and 6
//! where nodes come and go) and over its journal of write requests (7).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use daemonroll::sim::requests::RequestRecord;
use daemonroll::sim::scheduling::misfit;
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
    /// Creates for a node that had become unfit too recently for the controller to know.
    pub creates_racing_node_changes: usize,
    /// Of those, creates while the controller's node watch was expired (410) and not yet relisted.
    pub creates_while_node_watch_expired: usize,
    /// The longest race: how long the node had been unfit when the pod was created.
    pub longest_node_race: chrono::Duration,
    /// Status writes equal to the last one, at least `--status-interval` after it, that the
    /// controller's DaemonSet watch may not have shown it yet (`Budget::status_seen_through`).
    pub status_rewrites_unseen: usize,
    /// Every breach of an invariant, in timeline order.
    pub breaches: Vec<String>,
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

/// Which nodes count as unavailable (invariant 2).
#[derive(Clone, Debug)]
enum Availability {
    /// These nodes, whenever one lacks an available pod.
    OverNodes(Vec<String>),
    /// Nodes the controller emptied (`Budget::charged_to_the_controller`).
    ChargedToTheController,
}

/// What the invariants allow for one DaemonSet during the replayed window:
/// `Budget::rolling("agent").nodes(12).at_most_unavailable(2)`.
#[derive(Clone, Debug)]
pub struct Budget {
    daemon_set: String,
    availability: Availability,
    max_unavailable: usize,
    /// Two pods on one node allowed (old and new side by side).
    surge: bool,
    min_ready: chrono::Duration,
    writer: Writer,
    /// Invariant 6 is checked, knowing what the controller could know of nodes.
    node_view: Option<WatchView>,
    /// What the controller could know of the DaemonSet, and its `--status-interval` (invariant 4).
    daemon_set_view: Option<(WatchView, chrono::Duration)>,
}

impl Budget {
    /// No rolling update in the window: no node may be judged unavailable, one pod per node.
    pub fn no_rollout(daemon_set: &str) -> Budget {
        Budget {
            daemon_set: daemon_set.into(),
            availability: Availability::OverNodes(Vec::new()),
            max_unavailable: 0,
            surge: false,
            min_ready: chrono::Duration::zero(),
            writer: Writer::Controller,
            node_view: None,
            daemon_set_view: None,
        }
    }

    /// A rolling update: say over how many nodes and how many may be unavailable at once.
    pub fn rolling(daemon_set: &str) -> Budget {
        Budget::no_rollout(daemon_set)
    }

    /// Availability is counted over node-001 … node-<count>.
    pub fn nodes(mut self, count: usize) -> Self {
        self.availability = Availability::OverNodes(node_names(count));
        self
    }

    /// Availability is counted over these nodes only.
    pub fn only_nodes(mut self, names: &[String]) -> Self {
        self.availability = Availability::OverNodes(names.to_vec());
        self
    }

    /// Nodes go NotReady, come back, join and leave: a node counts as unavailable from the
    /// controller's delete of its available pod on a Ready node until the node holds an available
    /// pod again, stops being Ready, or is removed. Nodes without an available pod for reasons of
    /// their own (NotReady, just joined, just back from NotReady) are not charged: the controller
    /// cannot prevent them, and it learns of them only as fast as its watches. Its own count
    /// (upstream's rollingUpdate) includes every node charged here: a Ready node without an
    /// available pod. So a controller within upstream's rule never exceeds this count.
    pub fn charged_to_the_controller(mut self) -> Self {
        self.availability = Availability::ChargedToTheController;
        self
    }

    /// Invariant 6: every pod the controller creates fits its node (the scheduler's filters:
    /// taints, affinity, node existence) when created, unless the controller's view of `nodes`
    /// shows that it could not know of the change yet.
    pub fn creates_fit_their_node(mut self, nodes: WatchView) -> Self {
        self.node_view = Some(nodes);
        self
    }

    /// Invariant 4 allows a status written again unchanged `status_interval` or more after the
    /// last write, where `daemon_sets` shows that the controller's watch may not have shown it its
    /// own last write yet (within the delivery allowed, or expired and not relisted): it compares
    /// with what it has seen. Within the interval, its own spacing must prevent any rewrite.
    pub fn status_seen_through(mut self, daemon_sets: WatchView, status_interval: chrono::Duration) -> Self {
        self.daemon_set_view = Some((daemon_sets, status_interval));
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

/// Replays the timeline, checks the invariants at every write after `from_version`, and panics
/// listing the breaches if there are any.
pub fn check_invariants(timeline: &[WriteRecord], budget: &Budget, from_version: u64) -> Replay {
    let replay = replay_invariants(timeline, budget, from_version);
    assert!(
        replay.breaches.is_empty(),
        "{} breaches of the invariants; the first:\n{}",
        replay.breaches.len(),
        replay.breaches.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
    replay
}

/// As `check_invariants`, with the breaches in `Replay::breaches` instead of a panic.
pub fn replay_invariants(timeline: &[WriteRecord], budget: &Budget, from_version: u64) -> Replay {
    let uid = timeline
        .iter()
        .find(|r| r.kind == "DaemonSet" && r.name == budget.daemon_set)
        .map(|r| r.object.uid().to_string())
        .expect("the DaemonSet is in the timeline");
    let mut world = World::default();
    // Nodes whose available pod the controller deleted and which have none yet (invariant 2 with
    // `Budget::charged_to_the_controller`).
    let mut charged = BTreeSet::new();
    let mut replay = Replay::default();
    let mut last_status: Option<Value> = None;
    let mut last_status_write: Option<DateTime<Utc>> = None;
    for record in timeline {
        let pod_before = world.apply(record);
        let this_daemon_set = record.kind == "DaemonSet" && record.name == budget.daemon_set;
        if record.resource_version <= from_version {
            if this_daemon_set {
                last_status = Some(record.object.value()["status"].take());
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
                replay.breaches.extend(check_created_pod(&record.object.value(), &uid));
                if let Some(view) = &budget.node_view {
                    world.check_fit(record, view, &mut replay);
                }
            }
            ("Pod", "delete") if by_controller => replay.pod_deletes += 1,
            ("ControllerRevision", "create") if by_controller => replay.revision_creates += 1,
            ("DaemonSet", "status") if record.name == budget.daemon_set => {
                replay.status_writes += 1;
                let status = record.object.value()["status"].take();
                let unseen = match (&budget.daemon_set_view, last_status_write) {
                    (Some((view, interval)), Some(last)) => {
                        let gap = record.time - last;
                        gap >= *interval && (gap <= view.delivery || view.frozen_before(last, record.time))
                    }
                    _ => false,
                };
                if Some(&status) == last_status.as_ref() {
                    if unseen {
                        replay.status_rewrites_unseen += 1;
                    } else {
                        let since_last = last_status_write.map_or("".into(), |last| {
                            format!(", {} ms after the last", (record.time - last).num_milliseconds())
                        });
                        replay.breaches.push(format!(
                            "invariant 4: status written again unchanged at rv {}{since_last}",
                            record.resource_version
                        ));
                    }
                }
                last_status_write = Some(record.time);
            }
            _ => {}
        }
        if this_daemon_set {
            last_status = Some(record.object.value()["status"].take());
        }
        let emptied_by_controller = match pod_before {
            Some(pod) if by_controller && record.kind == "Pod" && record.verb == "delete" => Some(pod),
            _ => None,
        };
        check_instant(
            &world,
            &mut charged,
            record,
            budget,
            &uid,
            emptied_by_controller,
            &mut replay,
        );
    }
    replay
}

/// Invariants 1 and 2 right after `record`.
fn check_instant(
    world: &World,
    charged: &mut BTreeSet<String>,
    record: &WriteRecord,
    budget: &Budget,
    uid: &str,
    emptied_by_controller: Option<Arc<Value>>,
    replay: &mut Replay,
) {
    let per_node = world.pods_per_node(uid);
    let at = format!(
        "at rv {} ({} {} {})",
        record.resource_version, record.verb, record.kind, record.name
    );
    let most = per_node.values().map(Vec::len).max().unwrap_or(0);
    replay.max_pods_on_a_node = replay.max_pods_on_a_node.max(most);
    let allowed = if budget.surge { 2 } else { 1 };
    if most > allowed {
        replay
            .breaches
            .push(format!("invariant 1: {most} pods on one node {at}"));
    }
    let available_on = |node: &str| {
        per_node
            .get(node)
            .is_some_and(|pods| pods.iter().any(|pod| is_available(pod, budget.min_ready, record.time)))
    };
    let unavailable = match &budget.availability {
        Availability::OverNodes(nodes) => nodes.iter().filter(|node| !available_on(node)).count(),
        Availability::ChargedToTheController => {
            if let Some(pod) = emptied_by_controller.filter(|pod| is_available(pod, budget.min_ready, record.time)) {
                let node = pod_node(&pod);
                if world.is_ready(&node) {
                    charged.insert(node);
                }
            }
            charged.retain(|node| world.is_ready(node) && !available_on(node));
            charged.len()
        }
    };
    replay.max_unavailable_seen = replay.max_unavailable_seen.max(unavailable);
    if unavailable > budget.max_unavailable {
        let nodes = match &budget.availability {
            Availability::OverNodes(_) => String::new(),
            Availability::ChargedToTheController => format!(": {charged:?}"),
        };
        replay.breaches.push(format!(
            "invariant 2: {unavailable} unavailable (budget {}) {at}{nodes}",
            budget.max_unavailable
        ));
    }
}

/// Ready for `min_ready` at `now`, and not being deleted.
fn is_available(pod: &Value, min_ready: chrono::Duration, now: DateTime<Utc>) -> bool {
    !is_terminating(pod) && ready_since(pod).is_some_and(|since| since + min_ready <= now)
}

/// The cluster as the timeline has built it so far.
#[derive(Default)]
struct World {
    pods: HashMap<String, Arc<Value>>,
    /// Every version of every node, oldest first.
    nodes: HashMap<String, Vec<NodeVersion>>,
}

/// A node as written at a time; None once removed.
type NodeVersion = (DateTime<Utc>, Option<Arc<Value>>);

impl World {
    /// Applies one write; returns the pod as it was before, for a pod write.
    fn apply(&mut self, record: &WriteRecord) -> Option<Arc<Value>> {
        match record.kind {
            "Pod" if record.namespace == "default" => match record.event {
                EventType::Deleted => self.pods.remove(&record.name),
                _ => self.pods.insert(record.name.clone(), Arc::new(record.object.value())),
            },
            "Node" => {
                let version = (record.event != EventType::Deleted).then(|| Arc::new(record.object.value()));
                self.nodes
                    .entry(record.name.clone())
                    .or_default()
                    .push((record.time, version));
                None
            }
            _ => None,
        }
    }

    /// The daemon pods of the DaemonSet `uid` (terminating ones included) by node.
    fn pods_per_node(&self, uid: &str) -> HashMap<String, Vec<&Value>> {
        let mut per_node: HashMap<String, Vec<&Value>> = HashMap::new();
        for pod in self.pods.values() {
            if controller_uid(pod) == Some(uid) {
                per_node.entry(pod_node(pod)).or_default().push(pod);
            }
        }
        per_node
    }

    fn node(&self, name: &str) -> Option<&Value> {
        self.nodes.get(name)?.last()?.1.as_deref()
    }

    fn is_ready(&self, name: &str) -> bool {
        self.node(name).is_some_and(|node| {
            node.pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
        })
    }

    /// Invariant 6 for the pod `record` creates.
    fn check_fit(&self, record: &WriteRecord, view: &WatchView, replay: &mut Replay) {
        let pod = &record.object.value();
        let node = pod_node(pod);
        let versions = self.nodes.get(&node).map(Vec::as_slice).unwrap_or_default();
        let why_unfit = |version: &Option<Arc<Value>>| match version {
            Some(object) => misfit(pod, object),
            None => Some("the node was removed".into()),
        };
        // The unbroken run of unfit versions at the end of the node's history.
        let unfit_run = versions
            .iter()
            .rev()
            .take_while(|(_, version)| why_unfit(version).is_some())
            .count();
        if unfit_run == 0 && !versions.is_empty() {
            return;
        }
        let why = versions
            .last()
            .and_then(|(_, version)| why_unfit(version))
            .unwrap_or_else(|| "the node never existed".into());
        let unfit_since = match versions.len() - unfit_run {
            0 => None,
            fit => Some(versions[fit].0),
        };
        let frozen = unfit_since.is_some_and(|since| view.frozen_before(since, record.time));
        match unfit_since.map(|since| record.time - since) {
            Some(unfit_for) if unfit_for <= view.delivery || frozen => {
                replay.creates_racing_node_changes += 1;
                replay.creates_while_node_watch_expired += usize::from(frozen);
                replay.longest_node_race = replay.longest_node_race.max(unfit_for);
            }
            unfit_for => replay.breaches.push(format!(
                "invariant 6: pod {} created at rv {} for {node}, unfit for {}: {why}",
                record.name,
                record.resource_version,
                unfit_for.map_or("ever".into(), |d| format!("{} ms", d.num_milliseconds()))
            )),
        }
    }
}

/// What a controller could know of one resource (invariants 4 and 6): a change reaches it
/// through its watch within `delivery`, except while its watch has been answered 410 Expired and
/// it has not listed the resource again (the client backs off before relisting: 0.8 s, doubling
/// with every further 410 within two minutes, as client-go's reflector does).
#[derive(Clone, Debug)]
pub struct WatchView {
    pub delivery: chrono::Duration,
    /// From each expired watch to the list that followed (None: none followed).
    pub frozen: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
}

impl WatchView {
    /// The view of `writer`'s watch of `resource` (plural), from the simulator's request journal.
    pub fn from_requests(
        journal: &[RequestRecord],
        writer: Writer,
        resource: &str,
        delivery: chrono::Duration,
    ) -> WatchView {
        let mut frozen = Vec::new();
        let mut since: Option<DateTime<Utc>> = None;
        for request in journal
            .iter()
            .filter(|r| r.resource == resource && writer.matches(&r.actor))
        {
            match (request.verb, request.code) {
                ("watch", 410) => {
                    since.get_or_insert(request.time);
                }
                ("list", 200) => {
                    if let Some(start) = since.take() {
                        frozen.push((start, Some(request.time)));
                    }
                }
                _ => {}
            }
        }
        frozen.extend(since.map(|start| (start, None)));
        WatchView { delivery, frozen }
    }

    /// Whether at `at` the controller's view was frozen since before `change` (less `delivery`):
    /// the change could not have reached it.
    fn frozen_before(&self, change: DateTime<Utc>, at: DateTime<Utc>) -> bool {
        self.frozen
            .iter()
            .any(|(start, end)| *start <= change + self.delivery && *start <= at && end.is_none_or(|end| at < end))
    }
}

/// Invariant 3: what every pod daemonroll creates carries; the breaches found.
fn check_created_pod(pod: &Value, uid: &str) -> Vec<String> {
    let name = text(pod, "/metadata/name");
    let owner = pod.pointer("/metadata/ownerReferences/0").unwrap_or(&Value::Null);
    let term = pod
        .pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields/0")
        .unwrap_or(&Value::Null);
    [
        (owner["uid"] == uid, "controller ownerReference uid"),
        (owner["controller"] == true, "controller ownerReference"),
        (owner["kind"] == "DaemonSet", "ownerReference kind DaemonSet"),
        (
            !text(pod, "/metadata/labels/controller-revision-hash").is_empty(),
            "controller-revision-hash label",
        ),
        (
            !text(pod, "/metadata/labels/pod-template-generation").is_empty(),
            "pod-template-generation label",
        ),
        (
            term["key"] == "metadata.name" && term["operator"] == "In",
            "node-pinning affinity",
        ),
    ]
    .into_iter()
    .filter(|(held, _)| !held)
    .map(|(_, what)| format!("invariant 3: pod {name} created without its {what}"))
    .collect()
}

/// The resources whose objects the controller decides from (Events are reports, not state).
const DECIDED_FROM: [&str; 4] = ["pods", "daemonsets", "daemonsets/status", "controllerrevisions"];

/// Invariant 7: every change `writer` asked for to an existing Pod, DaemonSet (status included) or
/// ControllerRevision names the object it read, by uid or resourceVersion, whatever the answer.
/// The server refuses (409) a precondition that does not match the stored object, so a change it
/// applied was made to the object the controller had read, as it existed at that moment. Creates
/// have no earlier state to name. Returns the requests that named nothing.
pub fn unconditional_changes(journal: &[RequestRecord], writer: Writer) -> Vec<String> {
    journal
        .iter()
        .filter(|w| writer.matches(&w.actor) && w.is_write() && w.verb != "create")
        .filter(|w| DECIDED_FROM.contains(&w.resource.as_str()) && !w.is_conditional())
        .map(|w| {
            format!(
                "invariant 7: {} {} {}/{} named no uid or resourceVersion (answered {})",
                w.verb, w.resource, w.namespace, w.name, w.code
            )
        })
        .collect()
}
