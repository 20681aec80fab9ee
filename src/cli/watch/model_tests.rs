//! The model: which state each node's cell shows, and how cells are grouped.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use daemonroll::planner::rollout::Hold;
use daemonroll::planner::{self, Reason};
use daemonroll::snapshot::dump::Dump;
use daemonroll::snapshot::{PodView, Snapshot, Timestamp};

use super::*;

fn now() -> Timestamp {
    DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .expect("valid constant")
}

const UID: &str = "ds-uid";

fn daemon_set(annotations: Value) -> Value {
    json!({
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "default", "uid": UID, "generation": 2,
            "annotations": annotations},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"app": "agent"}},
                         "spec": {"containers": [{"name": "agent", "image": "agent:2"}]}}
        },
        "status": {"observedGeneration": 2}
    })
}

fn node(name: &str, zone: Option<&str>) -> Value {
    let mut labels = json!({"kubernetes.io/hostname": name});
    if let Some(zone) = zone {
        labels["zone"] = json!(zone);
    }
    json!({"kind": "Node", "metadata": {"name": name, "labels": labels}})
}

/// A pod of template generation `generation` on `node`, Ready or not.
fn pod(node: &str, generation: u32, ready: bool) -> Value {
    json!({
        "kind": "Pod",
        "metadata": {"name": format!("agent-{node}-g{generation}"), "namespace": "default", "uid": format!("{node}-{generation}"),
            "creationTimestamp": "2026-11-25T11:00:00Z",
            "labels": {"app": "agent", "pod-template-generation": generation.to_string()},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": UID, "controller": true}]},
        "spec": {"nodeName": node, "containers": [{"name": "agent", "image": format!("agent:{generation}")}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"},
            "lastTransitionTime": "2026-11-25T11:30:00Z"}]}
    })
}

fn snapshot(objects: Vec<Value>) -> Snapshot {
    let dump = Dump::from_objects(objects).expect("valid objects");
    dump.snapshots(now()).into_iter().next().expect("one DaemonSet")
}

/// Each group's domain and its cells' (node, state).
type Grid = Vec<(Option<String>, Vec<(String, CellState)>)>;

fn states(model: &Model) -> Grid {
    model
        .groups
        .iter()
        .map(|g| {
            let cells = g.cells.iter().map(|c| (c.node.clone(), c.state)).collect();
            (g.domain.clone(), cells)
        })
        .collect()
}

#[test]
fn a_paused_rollout_shows_new_pods_by_availability_and_old_pods_as_held_grouped_by_zone() {
    let snapshot = snapshot(vec![
        daemon_set(
            json!({"daemonroll.io/paused": "true", "daemonroll.io/topology-key": "zone",
                          "deprecated.daemonset.template.generation": "2"}),
        ),
        node("n1", Some("zone-a")),
        node("n2", Some("zone-a")),
        node("n3", Some("zone-b")),
        node("n4", None),
        pod("n1", 2, true),
        pod("n2", 2, false),
        pod("n3", 1, true),
        pod("n4", 1, true),
    ]);
    let plan = planner::plan(&snapshot);
    let model = Model::from_plan(&snapshot, &plan);

    let cell = |node: &str, state| (node.to_string(), state);
    assert_eq!(
        states(&model),
        vec![
            (
                Some("zone-a".into()),
                vec![cell("n1", CellState::NewAvailable), cell("n2", CellState::NewStarting)]
            ),
            (Some("zone-b".into()), vec![cell("n3", CellState::Held)]),
            (Some("(no label)".into()), vec![cell("n4", CellState::Held)]),
        ]
    );
    assert_eq!(model.topology_key.as_deref(), Some("zone"));
    assert_eq!(model.controls, vec!["paused=true", "topology-key=zone"]);
    assert_eq!(model.desired, 4);
    let progressing = model
        .conditions
        .iter()
        .find(|c| c.type_ == PROGRESSING)
        .map(|c| c.reason.as_str());
    assert_eq!(progressing, Some("Paused"));
    let old_pods: Vec<_> = model.cells().map(|c| c.old_pod.clone()).collect();
    assert_eq!(
        old_pods,
        vec![None, None, Some("agent-n3-g1".into()), Some("agent-n4-g1".into())]
    );
    let blocked: Vec<_> = model.blockers.iter().map(|b| b.node.as_str()).collect();
    assert_eq!(blocked, vec!["n3", "n4"], "held nodes are listed with their reason");
    assert!(model.blockers[0].text.contains("paused"), "{:?}", model.blockers);
}

#[test]
fn without_a_topology_key_all_nodes_form_one_group_and_an_old_unavailable_pod_is_unavailable() {
    let snapshot = snapshot(vec![
        daemon_set(json!({"deprecated.daemonset.template.generation": "2"})),
        node("n1", Some("zone-a")),
        node("n2", Some("zone-b")),
        pod("n1", 1, true),
        pod("n2", 1, false),
    ]);
    let plan = planner::plan(&snapshot);
    let model = Model::from_plan(&snapshot, &plan);

    assert_eq!(model.groups.len(), 1);
    assert_eq!(model.groups[0].domain, None);
    let by_node: Vec<_> = model.cells().map(|c| (c.node.as_str(), c.state)).collect();
    // maxUnavailable 1 is spent by n2's unavailable old pod, which is replaced at once.
    assert_eq!(by_node, vec![("n1", CellState::Old), ("n2", CellState::Unavailable)]);
    assert_eq!(
        model.strategy,
        "RollingUpdate maxUnavailable 1 maxSurge 0 (now: 1 unavailable, 0 surge of 2)"
    );
}

fn pod_view(name: &str) -> PodView {
    PodView {
        name: name.into(),
        ..PodView::default()
    }
}

#[test]
fn a_blocking_hold_shows_blocked_and_any_other_hold_shows_held_whatever_the_pods() {
    let old = pod_view("old");
    let pods = [&old];
    let always = |_: &PodView| true;
    let never = |_: &PodView| false;
    let deadline = Hold::ProgressDeadlineExceeded { pod: "p", node: "n" };
    assert_eq!(
        cell_state(&Reason::Held(deadline), &pods, never, always),
        CellState::Blocked
    );
    assert_eq!(
        cell_state(&Reason::Held(Hold::InvalidControl), &pods, never, always),
        CellState::Blocked
    );
    assert_eq!(
        cell_state(&Reason::Held(Hold::Partition { kept: 2 }), &pods, never, always),
        CellState::Held
    );
    assert_eq!(
        cell_state(
            &Reason::Held(Hold::Soaking {
                remaining: std::time::Duration::from_secs(3)
            }),
            &pods,
            never,
            always
        ),
        CellState::Held
    );
}

#[test]
fn without_a_hold_the_updated_pod_decides_then_the_old_one() {
    let (new, old) = (pod_view("new"), pod_view("old"));
    let is_new = |pod: &PodView| pod.name.as_str() == "new";
    let available = |_: &PodView| true;
    let unavailable = |_: &PodView| false;
    assert_eq!(
        cell_state(&Reason::NothingToDo, &[&old, &new], is_new, available),
        CellState::NewAvailable
    );
    assert_eq!(
        cell_state(&Reason::NothingToDo, &[&old, &new], is_new, unavailable),
        CellState::NewStarting
    );
    assert_eq!(
        cell_state(&Reason::NothingToDo, &[&old], is_new, available),
        CellState::Old
    );
    assert_eq!(
        cell_state(&Reason::NothingToDo, &[&old], is_new, unavailable),
        CellState::Unavailable
    );
    assert_eq!(
        cell_state(&Reason::NoDaemonPod, &[], is_new, available),
        CellState::Unavailable
    );
}

/// "agent" opted in to coexist mode: OnDelete keeping maxUnavailable 2, generation 2 observed,
/// with `conditions` stored.
fn coexist_daemon_set(conditions: Value) -> Value {
    let mut ds =
        daemon_set(json!({"daemonroll.io/rollout": "managed", "deprecated.daemonset.template.generation": "2"}));
    ds["spec"]["updateStrategy"] = json!({"type": "OnDelete", "rollingUpdate": {"maxUnavailable": 2}});
    ds["status"]["conditions"] = conditions;
    ds
}

/// kube-controller-manager's revision `number` of "agent", labelled `hash`.
fn controller_revision(number: i64, hash: &str) -> Value {
    json!({
        "kind": "ControllerRevision",
        "metadata": {"name": format!("agent-{hash}"), "namespace": "default", "uid": format!("rev-{number}"),
            "labels": {"app": "agent", "controller-revision-hash": hash},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": UID, "controller": true}]},
        "revision": number,
        "data": {"spec": {"template": {"$patch": "replace"}}}
    })
}

#[test]
fn a_coexist_daemon_set_is_planned_in_coexist_mode_with_prefixed_conditions() {
    let snapshot = snapshot(vec![
        coexist_daemon_set(json!([])),
        controller_revision(1, "h1"),
        controller_revision(2, "h2"),
        node("n1", None),
        node("n2", None),
        node("n3", None),
        pod("n1", 2, true),
        pod("n2", 1, true),
        pod("n3", 1, true),
    ]);
    let plan = plan(&snapshot);
    assert!(plan.coexist, "opted in and OnDelete: coexist mode's plan");
    assert!(plan.creates.is_empty());
    let model = Model::from_plan(&snapshot, &plan);
    assert_eq!(model.revision, "2 (h2)");
    assert!(model.strategy.contains("coexist mode"), "{}", model.strategy);
    assert!(model.strategy.contains(r#"{"maxUnavailable":2}"#), "{}", model.strategy);
    let types: Vec<&str> = model.conditions.iter().map(|c| c.type_.as_str()).collect();
    assert_eq!(types, vec!["daemonroll.io/Progressing", "daemonroll.io/Available"]);
    let by_node: Vec<_> = model.cells().map(|c| (c.node.as_str(), c.state)).collect();
    assert_eq!(
        by_node,
        vec![
            ("n1", CellState::NewAvailable),
            ("n2", CellState::Old),
            ("n3", CellState::Old)
        ]
    );
}

#[test]
fn a_coexist_daemon_set_waiting_for_kube_controller_manager_shows_its_stored_prefixed_conditions() {
    // observedGeneration behind: coexist mode plans nothing and computes no condition; the view
    // shows daemonroll's stored ones, not an unprefixed Progressing of someone else.
    let mut ds = coexist_daemon_set(json!([
        {"type": "Progressing", "status": "False", "reason": "Other", "message": "not daemonroll's"},
        {"type": "daemonroll.io/Progressing", "status": "True", "reason": "NewRevisionRolling", "message": "m"}
    ]));
    ds["status"]["observedGeneration"] = json!(1);
    let snapshot = snapshot(vec![
        ds,
        controller_revision(1, "h1"),
        node("n1", None),
        pod("n1", 1, true),
    ]);
    let plan = plan(&snapshot);
    assert!(plan.coexist);
    let model = Model::from_plan(&snapshot, &plan);
    let shown: Vec<(&str, &str)> = model
        .conditions
        .iter()
        .map(|c| (c.type_.as_str(), c.reason.as_str()))
        .collect();
    assert_eq!(shown, vec![("daemonroll.io/Progressing", "NewRevisionRolling")]);
    assert!(!model.problems.is_empty());
}

#[test]
fn the_annotation_without_on_delete_is_planned_in_replacement_mode() {
    // The watch view shows what would happen; coexist mode acts on OnDelete DaemonSets only.
    let snapshot = snapshot(vec![
        daemon_set(json!({"daemonroll.io/rollout": "managed", "deprecated.daemonset.template.generation": "2"})),
        node("n1", None),
        pod("n1", 1, true),
    ]);
    assert!(!plan(&snapshot).coexist);
}
