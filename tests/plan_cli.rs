//! End to end: the real `daemonroll plan` binary on the example dumps and on bad input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const NOW: &str = "2026-11-25T12:00:00Z";

fn daemonroll(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_daemonroll"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the daemonroll binary starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(input.as_bytes())
            .expect("stdin accepts the dump");
    }
    child.wait_with_output().expect("daemonroll exits")
}

fn plan_json(file: &str) -> Value {
    let output = daemonroll(&["plan", "-f", file, "--now", NOW, "-o", "json"], None);
    assert!(
        output.status.success(),
        "plan failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("plan -o json prints JSON")
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect()
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

// ARCHITECTURE.md, "The `plan -o json` contract": field names and nesting exactly, nothing more.
#[test]
fn json_output_has_exactly_the_contract_fields() {
    let plan = plan_json("examples/rolling-12-nodes.yaml");
    assert_eq!(keys(&plan), vec!["daemonSets"]);
    let ds = &plan["daemonSets"][0];
    let mut ds_keys = keys(ds);
    ds_keys.sort();
    assert_eq!(
        ds_keys,
        vec![
            "createOnNodes",
            "deletePods",
            "name",
            "namespace",
            "nodes",
            "rollout",
            "status",
            "updateRevision"
        ]
    );
    let mut rollout_keys = keys(&ds["rollout"]);
    rollout_keys.sort();
    assert_eq!(
        rollout_keys,
        vec!["conditions", "held", "problems", "rollbackToRevision"]
    );
    let mut condition_keys = keys(&ds["rollout"]["conditions"][0]);
    condition_keys.sort();
    assert_eq!(condition_keys, vec!["message", "reason", "status", "type"]);
    let mut status_keys = keys(&ds["status"]);
    status_keys.sort();
    assert_eq!(
        status_keys,
        vec![
            "currentNumberScheduled",
            "desiredNumberScheduled",
            "numberAvailable",
            "numberMisscheduled",
            "numberReady",
            "numberUnavailable",
            "observedGeneration",
            "updatedNumberScheduled"
        ]
    );
    let mut node_keys = keys(&ds["nodes"][0]);
    node_keys.sort();
    assert_eq!(node_keys, vec!["action", "node", "reason"]);
}

// Worked by hand: worker-07 carries the unreachable NoSchedule taint (no implicit toleration) so it
// should not run a pod but keeps its old one (misscheduled); desired = 11. worker-05's new pod is not
// ready and worker-07's old pod is not available: 2 unavailable = maxUnavailable, so no available old
// pod may go, but the unavailable old pod on worker-07 is replaced regardless (update.go rollingUpdate).
#[test]
fn mid_rollout_plan_replaces_only_the_unavailable_old_pod() {
    let plan = plan_json("examples/rolling-12-nodes.yaml");
    let ds = &plan["daemonSets"][0];
    assert_eq!(
        (ds["namespace"].as_str(), ds["name"].as_str()),
        (Some("monitoring"), Some("node-exporter"))
    );
    assert_eq!(
        ds["updateRevision"], "6b49d8c7f5",
        "taken from the matching ControllerRevision's label"
    );
    assert_eq!(strings(&ds["createOnNodes"]), Vec::<&str>::new());
    assert_eq!(strings(&ds["deletePods"]), vec!["node-exporter-o07y"]);
    let status = &ds["status"];
    let counters: Vec<i64> = [
        "desiredNumberScheduled",
        "currentNumberScheduled",
        "numberMisscheduled",
        "numberReady",
        "updatedNumberScheduled",
        "numberAvailable",
        "numberUnavailable",
        "observedGeneration",
    ]
    .iter()
    .map(|key| status[*key].as_i64().expect("an integer"))
    .collect();
    assert_eq!(counters, vec![11, 11, 1, 10, 5, 10, 1, 2]);
    let node_names: Vec<&str> = ds["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["node"].as_str())
        .collect();
    let mut sorted = node_names.clone();
    sorted.sort();
    assert_eq!(node_names, sorted, "nodes are sorted by name");
    assert_eq!(
        node_names.len(),
        12,
        "every node the DaemonSet cares about is explained"
    );
    let worker_06 = &ds["nodes"][5];
    assert_eq!(
        (worker_06["node"].as_str(), worker_06["action"].as_str()),
        (Some("worker-06"), Some("wait"))
    );
    assert!(
        worker_06["reason"]
            .as_str()
            .is_some_and(|r| r.contains("maxUnavailable=2 spent")),
        "{worker_06}"
    );
}

// Worked by hand: maxSurge 25% of 8 = 2; on node-4 the new pod has been ready 12 s ≥ minReadySeconds 10,
// so manage deletes the old pod there (daemon_controller.go podsShouldBeOnNode surge branch); node-3's new
// pod is ready only 5 s, so both stay. Manage wrote, so the rolling update waits for the next sync.
#[test]
fn surge_plan_deletes_the_old_pod_beside_an_available_new_one() {
    let plan = plan_json("examples/surge-rollout.yaml");
    let ds = &plan["daemonSets"][0];
    assert_eq!(strings(&ds["createOnNodes"]), Vec::<&str>::new());
    assert_eq!(strings(&ds["deletePods"]), vec!["log-agent-old4"]);
    assert_eq!(
        ds["status"]["updatedNumberScheduled"], 2,
        "node-3/4 are judged by their oldest (old) pod"
    );
    assert_eq!(ds["status"]["numberAvailable"], 8);
}

// Worked by hand from the fixtures: flannel requires kubernetes.io/os=linux and tolerates only
// NoSchedule taints; fluent-bit tolerates every NoSchedule and NoExecute taint.
#[test]
fn fresh_install_creates_pods_only_where_each_agent_may_run() {
    let plan = plan_json("examples/fresh-install.yaml");
    let names: Vec<(&str, &str)> = plan["daemonSets"]
        .as_array()
        .expect("daemonSets")
        .iter()
        .map(|ds| {
            (
                ds["namespace"].as_str().unwrap_or(""),
                ds["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![("kube-system", "kube-flannel-ds"), ("logging", "fluent-bit")],
        "sorted by namespace"
    );
    assert_eq!(
        strings(&plan["daemonSets"][0]["createOnNodes"]),
        vec!["cp-1", "worker-1", "worker-2"]
    );
    assert_eq!(
        strings(&plan["daemonSets"][1]["createOnNodes"]),
        vec!["cp-1", "win-1", "worker-1", "worker-2", "worker-3"]
    );
}

#[test]
fn a_named_daemon_set_filters_the_plan_and_an_unknown_one_is_an_error() {
    let output = daemonroll(
        &[
            "plan",
            "-f",
            "examples/fresh-install.yaml",
            "--now",
            NOW,
            "-o",
            "json",
            "logging/fluent-bit",
        ],
        None,
    );
    assert!(output.status.success());
    let plan: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(plan["daemonSets"].as_array().map(Vec::len), Some(1));

    let output = daemonroll(&["plan", "-f", "examples/fresh-install.yaml", "default/nope"], None);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no DaemonSet default/nope"));
}

#[test]
fn the_table_names_what_happens_on_each_node_and_why() {
    let output = daemonroll(&["plan", "-f", "examples/rolling-12-nodes.yaml", "--now", NOW], None);
    assert!(output.status.success());
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains("DaemonSet monitoring/node-exporter"), "{table}");
    assert!(
        table.contains("desired 11  current 11  updated 5  ready 10  available 10  misscheduled 1"),
        "{table}"
    );
    assert!(table.contains("worker-07  delete"), "{table}");
    assert!(table.contains("5 node(s) keep their pod unchanged"), "{table}");
}

// A JSON List on stdin, with a template field unknown to this build; the revision holding it (as the
// API server serves it) is recognised, so no new revision and no pod replacement is planned.
#[test]
fn json_from_stdin_with_an_unknown_template_field_matches_its_revision() {
    let template = serde_json::json!({
        "metadata": {"labels": {"app": "agent"}},
        "spec": {"containers": [{"name": "a", "image": "a:1", "resources": {}}], "futureField": {"level": 3}}
    });
    let mut data_template = template.clone();
    data_template["$patch"] = "replace".into();
    let dump = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "n1"}},
        {"kind": "DaemonSet", "apiVersion": "apps/v1",
         "metadata": {"name": "agent", "namespace": "default", "uid": "u1", "generation": 1},
         "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template}},
        {"kind": "ControllerRevision", "apiVersion": "apps/v1",
         "metadata": {"name": "agent-abc", "namespace": "default", "labels": {"app": "agent", "controller-revision-hash": "abc"},
                      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "u1", "controller": true}]},
         "revision": 1, "data": {"spec": {"template": data_template}}},
        {"kind": "Pod", "apiVersion": "v1",
         "metadata": {"name": "agent-x", "namespace": "default", "labels": {"app": "agent", "controller-revision-hash": "abc"},
                      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "u1", "controller": true}]},
         "spec": {"nodeName": "n1"},
         "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-25T11:00:00Z"}]}}
    ]});
    let output = daemonroll(
        &["plan", "-f", "-", "--now", NOW, "-o", "json"],
        Some(&dump.to_string()),
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let plan: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let ds = &plan["daemonSets"][0];
    assert_eq!(ds["updateRevision"], "abc");
    assert_eq!(
        (strings(&ds["createOnNodes"]).len(), strings(&ds["deletePods"]).len()),
        (0, 0)
    );
    assert_eq!(ds["status"]["updatedNumberScheduled"], 1);
}

#[test]
fn bad_input_ends_in_a_clear_error_naming_the_problem() {
    let cases: [(&[&str], Option<&str>, &str); 5] = [
        (
            &["plan", "-f", "no/such/file.yaml"],
            None,
            "cannot read no/such/file.yaml",
        ),
        (&["plan", "-f", "-"], Some("kind: List\nitems: [\n"), "not valid YAML"),
        (
            &["plan", "-f", "-"],
            Some("{\"kind\": \"List\", \"items\": [}"),
            "not valid JSON",
        ),
        (
            &["plan", "-f", "examples/surge-rollout.yaml", "--now", "yesterday"],
            None,
            "--now \"yesterday\" is not an RFC 3339 time",
        ),
        (
            &["plan", "-f", "-"],
            Some("kind: Pod\nmetadata: {name: p, namespace: default, creationTimestamp: soon}\n"),
            "Pod default/p: metadata.creationTimestamp",
        ),
    ];
    for (args, stdin, expected) in cases {
        let output = daemonroll(args, stdin);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(
            stderr.contains(expected),
            "{args:?}: stderr was {stderr:?}, expected it to contain {expected:?}"
        );
        assert!(output.stdout.is_empty(), "{args:?}: nothing half-written on stdout");
    }
}

// A malformed maxUnavailable blocks the rolling update (upstream: update.go updatedDesiredNodeCounts errors;
// manage is unaffected): the JSON stays the contract, the node says why it waits, stderr names the problem.
#[test]
fn an_invalid_budget_is_reported_on_stderr_and_blocks_only_the_rolling_update() {
    let dump = r#"
apiVersion: v1
kind: List
items:
- {kind: Node, apiVersion: v1, metadata: {name: n1}}
- kind: DaemonSet
  apiVersion: apps/v1
  metadata: {name: agent, namespace: default, uid: u1, generation: 2, annotations: {deprecated.daemonset.template.generation: "2"}}
  spec:
    selector: {matchLabels: {app: agent}}
    updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: "ten percent"}}
    template: {metadata: {labels: {app: agent}}, spec: {containers: [{name: a, image: "a:2"}]}}
- kind: Pod
  apiVersion: v1
  metadata:
    name: agent-old
    namespace: default
    labels: {app: agent, controller-revision-hash: old, pod-template-generation: "1"}
    ownerReferences: [{apiVersion: apps/v1, kind: DaemonSet, name: agent, uid: u1, controller: true}]
  spec: {nodeName: n1}
  status: {phase: Running, conditions: [{type: Ready, status: "True", lastTransitionTime: "2026-11-25T11:00:00Z"}]}
"#;
    let output = daemonroll(&["plan", "-f", "-", "--now", NOW, "-o", "json"], Some(dump));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let plan: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let ds = &plan["daemonSets"][0];
    assert_eq!(
        (strings(&ds["createOnNodes"]).len(), strings(&ds["deletePods"]).len()),
        (0, 0)
    );
    assert_eq!(ds["nodes"][0]["action"], "wait");
    assert!(
        ds["nodes"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("rolling update blocked")),
        "{}",
        ds["nodes"]
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: DaemonSet default/agent: rolling update: couldn't get unavailable numbers"),
        "{stderr}"
    );
}

/// The example dump with `annotation` added to the DaemonSet.
fn example_with_annotation(annotation: &str) -> String {
    let dump = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/rolling-12-nodes.yaml"))
        .expect("the example is readable");
    let marker = "      deprecated.daemonset.template.generation: '2'\n";
    assert!(dump.contains(marker), "the example's DaemonSet annotations moved");
    dump.replacen(marker, &format!("{marker}      {annotation}\n"), 1)
}

// README "Rollout controls": `plan` names the control that holds each node.
#[test]
fn plan_explains_the_nodes_a_partition_holds() {
    let dump = example_with_annotation("daemonroll.io/partition: '4'");
    let output = daemonroll(&["plan", "-f", "-", "--now", NOW, "-o", "json"], Some(&dump));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let plan: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let ds = &plan["daemonSets"][0];
    assert_eq!(ds["rollout"]["held"]["partition"], 4, "{}", ds["rollout"]);
    let held: Vec<&str> = ds["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|node| {
            node["reason"]
                .as_str()
                .is_some_and(|r| r.contains("daemonroll.io/partition"))
        })
        .map(|node| node["node"].as_str().expect("node name"))
        .collect();
    assert_eq!(held.len(), 4, "{}", ds["nodes"]);
    let table = daemonroll(&["plan", "-f", "-", "--now", NOW], Some(&dump));
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("held by rollout controls: partition 4"), "{table}");
    assert!(table.contains("Progressing="), "{table}");
}

#[test]
fn plan_reports_an_invalid_annotation_and_holds_the_rollout() {
    let dump = example_with_annotation("daemonroll.io/partition: 'most'");
    let output = daemonroll(&["plan", "-f", "-", "--now", NOW, "-o", "json"], Some(&dump));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let plan: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let ds = &plan["daemonSets"][0];
    let problems = strings(&ds["rollout"]["problems"]);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains("daemonroll.io/partition") && problems[0].contains("\"most\""),
        "{problems:?}"
    );
    assert_eq!(strings(&ds["deletePods"]), Vec::<&str>::new());
    assert_eq!(ds["rollout"]["conditions"][0]["reason"], "InvalidAnnotation");
}
