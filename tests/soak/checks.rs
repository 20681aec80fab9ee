//! The soak's invariant checks on hand-written timelines: what counts against the budget where
//! nodes come and go (2), creates for unfit nodes (6), and changes that name no object (7).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use daemonroll::sim::requests::RequestRecord;
use daemonroll::sim::store::{EventType, WriteRecord};
use daemonroll::sim::stored::StoredObject;
use serde_json::{Value, json};

use crate::support::*;

const UID: &str = "ds-uid";

/// A timeline written one record at a time, a second apart unless told.
struct Timeline {
    records: Vec<WriteRecord>,
    now: DateTime<Utc>,
}

impl Timeline {
    /// The DaemonSet `agent`, and Ready nodes n1 and n2 each running an available pod of it.
    fn two_nodes_with_available_pods() -> Timeline {
        let mut timeline = Timeline {
            records: Vec::new(),
            now: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
        };
        let ds = json!({"metadata": {"name": "agent", "namespace": "default", "uid": UID}, "status": {}});
        timeline.write("e2e-test", "create", EventType::Added, "DaemonSet", ds);
        for node in ["n1", "n2"] {
            timeline.node(node, true);
            let pod = timeline.pod(&format!("p-{node}"), node, true);
            timeline.write("daemonroll", "create", EventType::Added, "Pod", pod);
        }
        timeline.after(Duration::seconds(10))
    }

    fn after(mut self, elapsed: Duration) -> Timeline {
        self.now += elapsed;
        self
    }

    fn write(&mut self, actor: &str, verb: &str, event: EventType, kind: &'static str, object: Value) {
        self.now += Duration::seconds(1);
        self.records.push(WriteRecord {
            resource_version: 1000 + self.records.len() as u64,
            actor: actor.into(),
            verb: verb.into(),
            event,
            kind,
            namespace: text(&object, "/metadata/namespace").into(),
            name: text(&object, "/metadata/name").into(),
            time: self.now,
            object: Arc::new(StoredObject::encode(&object).expect("a hand-written object is storable")),
        });
    }

    fn node(&mut self, name: &str, ready: bool) {
        let taints = if ready {
            json!([])
        } else {
            json!([{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}])
        };
        let condition = json!([{"type": "Ready", "status": if ready { "True" } else { "Unknown" }}]);
        let object =
            json!({"metadata": {"name": name}, "spec": {"taints": taints}, "status": {"conditions": condition}});
        self.write("sim-fleet", "update", EventType::Modified, "Node", object);
    }

    fn remove_node(&mut self, name: &str) {
        self.write(
            "sim-fleet",
            "delete",
            EventType::Deleted,
            "Node",
            json!({"metadata": {"name": name}}),
        );
    }

    /// A pod of `agent` pinned to `node`, Ready since before the timeline began if `ready`.
    fn pod(&self, name: &str, node: &str, ready: bool) -> Value {
        let since = DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap_or_default()
            .to_rfc3339();
        let mut pod = Value::from(pod(name).controlled_by("agent", UID).pinned_to(node).on(node));
        pod["metadata"]["labels"] = json!({"controller-revision-hash": "h1", "pod-template-generation": "1"});
        let status = if ready { "True" } else { "False" };
        pod["status"] = json!({"conditions": [{"type": "Ready", "status": status, "lastTransitionTime": since}]});
        pod
    }

    /// daemonroll marks `name` on `node` for deletion.
    fn controller_deletes(&mut self, name: &str, node: &str) {
        let mut pod = self.pod(name, node, true);
        pod["metadata"]["deletionTimestamp"] = json!(self.now.to_rfc3339());
        self.write("daemonroll", "delete", EventType::Modified, "Pod", pod);
    }

    /// daemonroll creates a pod for `node`, not yet bound.
    fn controller_creates(&mut self, name: &str, node: &str) {
        let mut pod = Value::from(pod(name).controlled_by("agent", UID).pinned_to(node));
        pod["metadata"]["labels"] = json!({"controller-revision-hash": "h2", "pod-template-generation": "2"});
        self.write("daemonroll", "create", EventType::Added, "Pod", pod);
    }

    fn replay(&self, budget: usize) -> Replay {
        self.replay_with_node_watch_frozen(budget, Vec::new())
    }

    /// What the controller could see: 2 s of delivery, and its watch expired over `frozen`, in
    /// seconds from now (an end of None: no list followed).
    fn watch_view(&self, frozen: Vec<(i64, Option<i64>)>) -> WatchView {
        let at = |seconds: i64| self.now + Duration::seconds(seconds);
        WatchView {
            delivery: Duration::seconds(2),
            frozen: frozen
                .into_iter()
                .map(|(start, end)| (at(start), end.map(at)))
                .collect(),
        }
    }

    /// As `replay`, the controller's node watch expired (410) over `frozen`, in seconds from now.
    fn replay_with_node_watch_frozen(&self, budget: usize, frozen: Vec<(i64, Option<i64>)>) -> Replay {
        let view = self.watch_view(frozen);
        let budget = Budget::rolling("agent")
            .at_most_unavailable(budget)
            .charged_to_the_controller()
            .creates_fit_their_node(view);
        replay_invariants(&self.records, &budget, 0)
    }

    /// As `replay`, the controller's DaemonSet watch expired over `frozen`, in seconds from now.
    fn replay_with_daemon_set_watch_frozen(&self, frozen: Vec<(i64, Option<i64>)>) -> Replay {
        let view = self.watch_view(frozen);
        let budget = Budget::rolling("agent")
            .at_most_unavailable(2)
            .status_seen_through(view, Duration::seconds(1));
        replay_invariants(&self.records, &budget, 0)
    }
}

#[test]
fn emptying_a_ready_node_counts_against_the_budget_until_its_new_pod_is_available() {
    let mut timeline = Timeline::two_nodes_with_available_pods();
    timeline.controller_deletes("p-n1", "n1");
    timeline.controller_deletes("p-n2", "n2");
    let gone = timeline.pod("p-n1", "n1", false);
    timeline.write("sim-kubelet", "delete", EventType::Deleted, "Pod", gone);
    let replacement = timeline.pod("q-n1", "n1", true);
    timeline.write("sim-kubelet", "status", EventType::Modified, "Pod", replacement);
    timeline.node("n2", true);
    let replay = timeline.replay(1);
    assert_eq!(replay.max_unavailable_seen, 2);
    // Over budget from the second delete until n1's old pod is gone and its new one available.
    let charged = r#"{"n1", "n2"}"#;
    assert_eq!(
        replay.breaches,
        [
            format!("invariant 2: 2 unavailable (budget 1) at rv 1006 (delete Pod p-n2): {charged}"),
            format!("invariant 2: 2 unavailable (budget 1) at rv 1007 (delete Pod p-n1): {charged}"),
        ]
    );
}

#[test]
fn a_node_that_is_not_ready_or_removed_is_not_charged() {
    let mut timeline = Timeline::two_nodes_with_available_pods();
    timeline.controller_deletes("p-n1", "n1");
    timeline.node("n1", false);
    timeline.controller_deletes("p-n2", "n2");
    timeline.remove_node("n2");
    let replay = timeline.replay(1);
    assert_eq!(replay.breaches, Vec::<String>::new());
    assert_eq!(replay.max_unavailable_seen, 1);
}

#[test]
fn a_create_for_a_node_long_gone_or_long_not_ready_is_a_breach_and_a_recent_one_a_race() {
    let mut timeline = Timeline::two_nodes_with_available_pods();
    // A second apart: each create comes 2 s after its node's change, within the delivery allowed.
    timeline.remove_node("n1");
    timeline.node("n2", false);
    timeline.controller_creates("late-for-n1", "n1");
    timeline.controller_creates("late-for-n2", "n2");
    timeline = timeline.after(Duration::seconds(5));
    timeline.controller_creates("stale-for-n2", "n2");
    timeline.controller_creates("never", "n9");
    let replay = timeline.replay(2);
    assert_eq!(replay.creates_racing_node_changes, 2);
    assert_eq!(replay.longest_node_race, Duration::seconds(2));
    let sixes = sixes(&replay);
    assert_eq!(sixes.len(), 2, "{:?}", replay.breaches);
    assert!(
        sixes[0].contains("stale-for-n2") && sixes[0].contains("untolerated taint"),
        "{sixes:?}"
    );
    assert!(
        sixes[1].contains("never") && sixes[1].contains("never existed"),
        "{sixes:?}"
    );
}

#[test]
fn a_create_while_the_node_watch_was_expired_is_a_race_for_changes_made_since() {
    let mut timeline = Timeline::two_nodes_with_available_pods();
    timeline.node("n1", false);
    timeline.node("n2", false);
    timeline = timeline.after(Duration::seconds(5));
    timeline.controller_creates("unseen", "n2");
    timeline.controller_creates("seen", "n1");
    // n1 changed 8 s ago, n2 7 s ago; the node watch expired 5 s ago (n2's change may still have
    // been on its way: 2 s of delivery), and the nodes were not listed again.
    let frozen = timeline.replay_with_node_watch_frozen(2, vec![(-5, None)]);
    assert_eq!(frozen.creates_while_node_watch_expired, 1);
    assert_eq!(sixes(&frozen).len(), 1, "{:?}", frozen.breaches);
    assert!(sixes(&frozen)[0].contains("pod seen"), "{:?}", frozen.breaches);
    // Listed again before the creates: both are breaches.
    let relisted = timeline.replay_with_node_watch_frozen(2, vec![(-5, Some(-3))]);
    assert_eq!(sixes(&relisted).len(), 2, "{:?}", relisted.breaches);
}

/// The breaches of invariant 6.
fn sixes(replay: &Replay) -> Vec<&String> {
    replay
        .breaches
        .iter()
        .filter(|b| b.starts_with("invariant 6"))
        .collect()
}

/// Two status writes by daemonroll with the same status, `gap` apart.
fn the_same_status_twice(gap: Duration) -> Timeline {
    let mut timeline = Timeline::two_nodes_with_available_pods();
    let status = json!({"metadata": {"name": "agent", "namespace": "default", "uid": UID},
                        "status": {"observedGeneration": 1, "numberReady": 2}});
    timeline.write("daemonroll", "status", EventType::Modified, "DaemonSet", status.clone());
    timeline.write("daemonroll", "status", EventType::Modified, "DaemonSet", status);
    if let Some(last) = timeline.records.last_mut() {
        last.time = last.time - Duration::seconds(1) + gap;
    }
    timeline.now = timeline.records.last().map_or(timeline.now, |r| r.time);
    timeline
}

#[test]
fn a_status_written_again_unchanged_is_a_breach_unless_spaced_and_possibly_unseen() {
    let fours = |replay: &Replay| {
        let breaches = replay.breaches.iter().filter(|b| b.starts_with("invariant 4")).count();
        (breaches, replay.status_rewrites_unseen)
    };
    // Without a view of the controller's watch, every rewrite is a breach.
    assert_eq!(fours(&the_same_status_twice(Duration::seconds(1)).replay(2)), (1, 0));
    // With one (2 s of delivery, 1 s of status interval): spaced and within the delivery, excused.
    let spaced = the_same_status_twice(Duration::milliseconds(1_500));
    assert_eq!(fours(&spaced.replay_with_daemon_set_watch_frozen(vec![])), (0, 1));
    // Within the interval: the controller's own spacing should have held it back.
    let hasty = the_same_status_twice(Duration::milliseconds(20));
    assert_eq!(
        fours(&hasty.replay_with_daemon_set_watch_frozen(vec![(-1, None)])),
        (1, 0)
    );
    // Past the delivery: a breach, unless the watch had expired before the first write.
    let late = the_same_status_twice(Duration::seconds(5));
    assert_eq!(fours(&late.replay_with_daemon_set_watch_frozen(vec![])), (1, 0));
    assert_eq!(
        fours(&late.replay_with_daemon_set_watch_frozen(vec![(-6, None)])),
        (0, 1)
    );
}

#[test]
fn a_change_that_names_no_uid_or_resource_version_is_reported() {
    let request = |verb, resource: &str, body: &str| {
        let mut request = RequestRecord::new("daemonroll", verb, resource.into(), "default", "x", body.as_bytes());
        request.code = 200;
        request
    };
    let journal = [
        request("delete", "pods", r#"{"preconditions":{"uid":"u"}}"#),
        request("patch", "daemonsets/status", r#"{"metadata":{"uid":"u"}}"#),
        request("create", "pods", "{}"),
        request("patch", "events", "{}"),
        request("delete", "controllerrevisions", "{}"),
    ];
    assert_eq!(
        unconditional_changes(&journal, Writer::Controller),
        ["invariant 7: delete controllerrevisions default/x named no uid or resourceVersion (answered 200)"]
    );
}
