//! Hostile dumps through the `plan -f` path (dump reader → Snapshots → planner → the pods a sync
//! would create): each is planned correctly or refused with a short error that says where, never
//! a panic. Sizes are the ones the issue names, well past what kube-apiserver accepts (labels 63
//! bytes, annotations 256 KiB in all), since a dump is any file a person hands in.

use chrono::{DateTime, Utc};
use daemonroll::planner::new_pod::daemon_pod;
use daemonroll::planner::{self, Plan};
use daemonroll::snapshot::Snapshot;
use daemonroll::snapshot::dump::Dump;
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_608_000, 0).expect("2026-11-25T12:00:00Z")
}

// ---------------------------------------------------------------- builders

fn node(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/os": "linux"}}})
}

fn tainted(mut node: Value, key: &str) -> Value {
    node["spec"]["taints"] = json!([{"key": key, "effect": "NoSchedule"}]);
    node
}

fn daemon_set(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
           "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"), "generation": 1},
           "spec": {"selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                                 "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}}}})
}

fn annotated(mut object: Value, key: &str, value: &str) -> Value {
    object["metadata"]["annotations"][key] = json!(value);
    object
}

fn template_spec(mut daemon_set: Value, field: &str, value: Value) -> Value {
    daemon_set["spec"]["template"]["spec"][field] = value;
    daemon_set
}

fn dump(objects: &[Value]) -> Vec<u8> {
    json!({"apiVersion": "v1", "kind": "List", "items": objects})
        .to_string()
        .into_bytes()
}

/// The dump's Snapshots; panics with the reader's error if it refuses the dump.
fn snapshots(bytes: &[u8]) -> Vec<Snapshot> {
    match Dump::parse_bytes(bytes) {
        Ok(dump) => dump.snapshots(now()),
        Err(error) => panic!("the dump is refused: {}", error_text(&error)),
    }
}

/// The reader's error and its causes, as `daemonroll plan` prints them; panics if it reads the dump.
fn refusal(bytes: &[u8]) -> String {
    match Dump::parse_bytes(bytes) {
        Ok(dump) => panic!(
            "the dump is read: {} nodes, {} DaemonSets",
            dump.nodes.len(),
            dump.daemon_sets.len()
        ),
        Err(error) => error_text(&error),
    }
}

fn error_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text = format!("{text}: {next}");
        cause = next.source();
    }
    text
}

fn creates(plan: &Plan<'_>) -> Vec<String> {
    plan.creates.iter().map(|node| node.to_string()).collect()
}

// ---------------------------------------------------------------- sizes

#[test]
fn a_one_megabyte_annotation_is_read_and_planned_like_a_small_one() {
    let blob = "x".repeat(1 << 20);
    let bytes = dump(&[
        node("n1"),
        node("n2"),
        annotated(daemon_set("agent"), "example.com/blob", &blob),
    ]);
    let snapshots = snapshots(&bytes);
    let plan = planner::plan(&snapshots[0]);
    assert_eq!(
        (creates(&plan), plan.problems.clone()),
        (vec!["n1".into(), "n2".into()], vec![])
    );
}

#[test]
fn a_one_megabyte_rollout_control_is_reported_in_a_short_problem() {
    let bytes = dump(&[
        node("n1"),
        annotated(daemon_set("agent"), "daemonroll.io/partition", &"9".repeat(1 << 20)),
    ]);
    let snapshots = snapshots(&bytes);
    let plan = planner::plan(&snapshots[0]);
    let problems: Vec<String> = plan.rollout.problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("daemonroll.io/partition") && problems[0].len() < 1024,
        "a problem naming the annotation, short enough for an Event: {} bytes",
        problems[0].len()
    );
}

#[test]
fn ten_thousand_tolerations_let_the_pod_onto_the_node_the_last_one_tolerates() {
    let tolerations: Vec<Value> = (0..10_000)
        .map(|i| json!({"key": format!("team-{i}"), "operator": "Exists", "effect": "NoSchedule"}))
        .collect();
    let bytes = dump(&[
        tainted(node("n1"), "team-9999"),
        tainted(node("n2"), "team-10000"),
        template_spec(daemon_set("agent"), "tolerations", json!(tolerations)),
    ]);
    let snapshots = snapshots(&bytes);
    let plan = planner::plan(&snapshots[0]);
    assert_eq!(creates(&plan), vec!["n1"], "n2's taint is tolerated by none");
    let pod = daemon_pod(plan.daemon_set, &plan.update_revision, "n1");
    let on_pod = pod["spec"]["tolerations"].as_array().map_or(0, Vec::len);
    assert!(on_pod >= 10_000, "the created pod keeps every toleration: {on_pod}");
}

#[test]
fn a_label_value_longer_than_the_api_allows_is_read_and_matched_as_it_is() {
    // kube-apiserver refuses label values over 63 bytes, so such a dump was edited by hand; the
    // planner compares labels as opaque strings, so it plans it as written.
    let long = "a".repeat(100 * 1024);
    let mut big_node = node("n2");
    big_node["metadata"]["labels"]["pool"] = json!(long);
    let bytes = dump(&[node("n1"), big_node, daemon_set("agent")]);
    let snapshots = snapshots(&bytes);
    let plan = planner::plan(&snapshots[0]);
    assert_eq!(creates(&plan), vec!["n1", "n2"]);
}

#[test]
fn a_selector_value_longer_than_the_api_allows_is_a_short_problem() {
    // Upstream: metav1.LabelSelectorAsSelector refuses the value (validation.IsValidLabelValue).
    let long = "a".repeat(100 * 1024);
    let mut agent = daemon_set("agent");
    agent["spec"]["selector"]["matchLabels"]["app"] = json!(long);
    agent["spec"]["template"]["metadata"]["labels"]["app"] = json!(long);
    let snapshots = snapshots(&dump(&[node("n1"), agent]));
    let plan = planner::plan(&snapshots[0]);
    assert!(plan.creates.is_empty(), "an invalid selector is not acted on");
    assert_eq!(plan.problems.len(), 1, "{:?}", plan.problems);
    assert!(
        plan.problems[0].contains("invalid label value") && plan.problems[0].len() < 1024,
        "{} bytes: {:.200}",
        plan.problems[0].len(),
        plan.problems[0]
    );
}

// ---------------------------------------------------------------- bytes

#[test]
fn a_byte_that_is_not_utf8_is_refused_naming_its_line_and_column() {
    let bytes = b"kind: Node\nmetadata:\n  name: n\xff1\n";
    assert_eq!(
        refusal(bytes),
        "byte 30 (line 3, column 10) is not valid UTF-8: a dump is UTF-8 text"
    );
}

// ---------------------------------------------------------------- duplicates

#[test]
fn two_nodes_of_one_name_are_refused_naming_both_places() {
    let bytes = dump(&[node("n1"), node("n2"), node("n1"), daemon_set("agent")]);
    assert_eq!(
        refusal(&bytes),
        "document 1, item 3: Node n1 appears twice in the dump (first at document 1, item 1); a cluster holds one"
    );
}

#[test]
fn a_pod_listed_twice_is_refused() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "agent-x", "namespace": "default"},
                     "spec": {"nodeName": "n1"}});
    let stream = format!("{pod}\n{pod}\n");
    assert_eq!(
        refusal(stream.as_bytes()),
        "document 2: Pod default/agent-x appears twice in the dump (first at document 1); a cluster holds one"
    );
}

// ---------------------------------------------------------------- fields the planner never reads

#[test]
fn ephemeral_containers_resize_policies_and_unknown_fields_reach_created_pods() {
    // kube-apiserver refuses ephemeralContainers in a pod template (ValidatePodTemplateSpec) and
    // drops unknown fields; a dump may still hold them, and the planner must carry, not interpret, them.
    let containers = json!([{"name": "agent", "image": "agent:1", "futureContainerField": {"level": 2},
                             "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}]}]);
    let ephemeral = json!([{"name": "debug", "image": "busybox", "targetContainerName": "agent"}]);
    let agent = template_spec(daemon_set("agent"), "containers", containers.clone());
    let agent = template_spec(agent, "ephemeralContainers", ephemeral.clone());
    let agent = template_spec(agent, "futurePodField", json!([1, "two", null]));
    let snapshots = snapshots(&dump(&[node("n1"), agent]));
    let plan = planner::plan(&snapshots[0]);
    assert_eq!(creates(&plan), vec!["n1"]);
    let pod = daemon_pod(plan.daemon_set, &plan.update_revision, "n1");
    assert_eq!(
        (
            &pod["spec"]["containers"],
            &pod["spec"]["ephemeralContainers"],
            &pod["spec"]["futurePodField"]
        ),
        (&containers, &ephemeral, &json!([1, "two", null]))
    );
}
