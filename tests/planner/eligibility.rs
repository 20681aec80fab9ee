//! Node eligibility: upstream daemon_controller.go NodeShouldRunDaemonPod (with predicates, NewPod and
//! util.AddOrUpdateDaemonPodTolerations), component-helpers nodeaffinity.go and the taint helpers.
//!
//! Each case is observed through whole syncs of one node named `test-node`:
//! - without a daemon pod on the node, a pod is created iff shouldRun;
//! - with a running, current, ready daemon pod on it, that pod is deleted iff !shouldContinueRunning.
//!
//! Every table runs for both of upstream's updateStrategies() (OnDelete and RollingUpdate maxUnavailable 1),
//! since eligibility must not depend on the strategy.

use std::sync::Arc;

use daemonroll::snapshot::{IntOrString, REVISION_HASH_LABEL, RollingUpdateParams, Snapshot, UpdateStrategy};
use serde_json::{Value, json};

use crate::support::{
    DaemonSetBuilder, NodeBuilder, Outcome, cluster, current_hash, daemon_set, node, outcome, pod, writes,
};

const NODE: &str = "test-node";
const DAEMON_POD: &str = "daemon-pod";

#[derive(Clone, Copy, Debug)]
enum Strategy {
    OnDelete,
    RollingUpdate,
}

const STRATEGIES: [Strategy; 2] = [Strategy::OnDelete, Strategy::RollingUpdate];

/// Upstream updateStrategies(): OnDelete, or RollingUpdate with maxUnavailable 1 and maxSurge unset.
fn base_daemon_set(strategy: Strategy) -> DaemonSetBuilder {
    let daemon_set = daemon_set("foo");
    match strategy {
        Strategy::OnDelete => daemon_set.on_delete(),
        Strategy::RollingUpdate => daemon_set.strategy(UpdateStrategy::RollingUpdate(Some(RollingUpdateParams {
            max_unavailable: Some(IntOrString::Int(1)),
            max_surge: None,
        }))),
    }
}

struct Case {
    name: &'static str,
    daemon_set: fn(DaemonSetBuilder) -> DaemonSetBuilder,
    node: fn(NodeBuilder) -> NodeBuilder,
    /// Edits `spec.template.spec` for fields no builder covers (resources, ports, preferred affinity).
    spec: fn(&mut Value),
    /// Adds a non-daemon pod on the node (upstream's podsOnNode).
    other_pod: bool,
    /// (shouldRun, shouldContinueRunning)
    expected: (bool, bool),
}

fn case(
    name: &'static str,
    daemon_set: fn(DaemonSetBuilder) -> DaemonSetBuilder,
    node: fn(NodeBuilder) -> NodeBuilder,
    expected: (bool, bool),
) -> Case {
    Case {
        name,
        daemon_set,
        node,
        spec: |_| {},
        other_pod: false,
        expected,
    }
}

impl Case {
    fn spec(mut self, edit: fn(&mut Value)) -> Self {
        self.spec = edit;
        self
    }

    fn with_other_pod(mut self) -> Self {
        self.other_pod = true;
        self
    }
}

/// What two syncs of the node write: without and with a daemon pod on it.
#[derive(Debug, PartialEq)]
struct Observed {
    without_daemon_pod: Outcome,
    with_daemon_pod: Outcome,
}

fn expected((should_run, should_continue_running): (bool, bool)) -> Observed {
    let creates: &[&str] = if should_run { &[NODE] } else { &[] };
    let deletes: &[&str] = if should_continue_running { &[] } else { &[DAEMON_POD] };
    Observed {
        without_daemon_pod: writes(creates, &[]),
        with_daemon_pod: writes(&[], deletes),
    }
}

/// Applies `edit` to the template spec and moves pods of the old current hash to the new one.
fn edit_template(snapshot: &mut Snapshot, edit: fn(&mut Value)) {
    let before = current_hash(&snapshot.daemon_set);
    edit(&mut snapshot.daemon_set.template["spec"]);
    let after = current_hash(&snapshot.daemon_set);
    for pod in &mut snapshot.pods {
        let pod = Arc::make_mut(pod);
        if pod.labels.get(REVISION_HASH_LABEL) == Some(before.as_str()) {
            pod.labels.insert(REVISION_HASH_LABEL, after.clone());
        }
    }
}

fn observe(case: &Case, strategy: Strategy) -> Observed {
    let mut pods = vec![pod(DAEMON_POD).on(NODE)];
    if case.other_pod {
        pods.push(
            pod("non-daemon-pod")
                .on(NODE)
                .orphan()
                .not_matching_selector()
                .unlabelled(),
        );
    }
    let mut with_daemon_pod = cluster((case.daemon_set)(base_daemon_set(strategy)))
        .nodes([(case.node)(node(NODE))])
        .pods(pods)
        .snapshot();
    edit_template(&mut with_daemon_pod, case.spec);
    let mut without_daemon_pod = with_daemon_pod.clone();
    without_daemon_pod.pods.retain(|pod| pod.name != DAEMON_POD);
    Observed {
        without_daemon_pod: outcome(&without_daemon_pod),
        with_daemon_pod: outcome(&with_daemon_pod),
    }
}

fn check(cases: Vec<Case>) {
    for strategy in STRATEGIES {
        for case in &cases {
            assert_eq!(
                observe(case, strategy),
                expected(case.expected),
                "{} [{strategy:?}]",
                case.name
            );
        }
    }
}

const RUN: (bool, bool) = (true, true);
const KEEP_ONLY: (bool, bool) = (false, true);
const NONE: (bool, bool) = (false, false);

fn same(node: NodeBuilder) -> NodeBuilder {
    node
}

fn same_daemon_set(daemon_set: DaemonSetBuilder) -> DaemonSetBuilder {
    daemon_set
}

/// Upstream newNode("test-node", simpleDaemonSetLabel).
fn simple_daemon_set_labelled(node: NodeBuilder) -> NodeBuilder {
    node.label("name", "simple-daemon").label("type", "production")
}

/// Upstream resourcePodSpec(nodeName, memory, cpu) without the nodeName (set through the builder).
fn requests(spec: &mut Value, memory: &str, cpu: &str) {
    spec["containers"][0]["resources"] = json!({"requests": {"memory": memory, "cpu": cpu}});
}

fn host_port(spec: &mut Value, port: u16) {
    spec["containers"][0]["ports"] = json!([{"hostPort": port, "containerPort": port}]);
}

fn one_expression(daemon_set: DaemonSetBuilder, key: &str, operator: &str, values: &[&str]) -> DaemonSetBuilder {
    daemon_set.required_affinity(json!([{"matchExpressions": [{"key": key, "operator": operator, "values": values}]}]))
}

fn one_field(daemon_set: DaemonSetBuilder, key: &str, operator: &str, values: &[&str]) -> DaemonSetBuilder {
    daemon_set.required_affinity(json!([{"matchFields": [{"key": key, "operator": operator, "values": values}]}]))
}

// Mirrors TestNodeShouldRunDaemonPod, all 11 cases (resources, host ports, unschedulable are ignored).
#[test]
fn every_case_of_upstream_node_should_run_daemon_pod_holds() {
    check(vec![
        case(
            "[0] ShouldRunDaemonPod: requests 50M / 0.5 cpu",
            same_daemon_set,
            simple_daemon_set_labelled,
            RUN,
        )
        .spec(|spec| requests(spec, "50M", "0.5")),
        case(
            "[1] InsufficientResourceError: requests 200M on a 100M node still runs",
            same_daemon_set,
            simple_daemon_set_labelled,
            RUN,
        )
        .spec(|spec| requests(spec, "200M", "0.5")),
        case(
            "[2] ErrPodNotMatchHostName: template nodeName other-node",
            |ds| ds.template_node_name("other-node"),
            simple_daemon_set_labelled,
            NONE,
        )
        .spec(|spec| requests(spec, "50M", "0.5")),
        case(
            "[3] ErrPodNotFitsHostPorts: host port 666 held by another pod still runs",
            same_daemon_set,
            simple_daemon_set_labelled,
            RUN,
        )
        .spec(|spec| host_port(spec, 666))
        .with_other_pod(),
        case(
            "[4] InsufficientResourceError: requests 100M beside a 50M pod still runs",
            same_daemon_set,
            simple_daemon_set_labelled,
            RUN,
        )
        .spec(|spec| requests(spec, "100M", "0.5"))
        .with_other_pod(),
        case(
            "[5] ShouldRunDaemonPod: requests 50M beside a 50M pod",
            same_daemon_set,
            simple_daemon_set_labelled,
            RUN,
        )
        .spec(|spec| requests(spec, "50M", "0.5"))
        .with_other_pod(),
        case(
            "[6] ErrNodeSelectorNotMatch: nodeSelector simpleDaemonSetLabel2",
            |ds| ds.node_selector("name", "simple-daemon").node_selector("type", "test"),
            simple_daemon_set_labelled,
            NONE,
        ),
        case(
            "[7] ShouldRunDaemonPod: nodeSelector simpleDaemonSetLabel",
            |ds| {
                ds.node_selector("name", "simple-daemon")
                    .node_selector("type", "production")
            },
            simple_daemon_set_labelled,
            RUN,
        ),
        case(
            "[8] ErrPodAffinityNotMatch: required affinity type In [test]",
            |ds| one_expression(ds, "type", "In", &["test"]),
            simple_daemon_set_labelled,
            NONE,
        ),
        case(
            "[9] ShouldRunDaemonPod: required affinity type In [production]",
            |ds| one_expression(ds, "type", "In", &["production"]),
            simple_daemon_set_labelled,
            RUN,
        ),
        case(
            "[10] ShouldRunDaemonPodOnUnschedulableNode: spec.unschedulable without a taint",
            same_daemon_set,
            simple_daemon_set_labelled,
            RUN,
        )
        .spec(|spec| requests(spec, "50M", "0.5")),
    ]);
}

// Mirrors TestNameDaemonSetLaunchesPods / TestBadNameDaemonSetDoesNothing (template nodeName is checked first).
#[test]
fn a_template_node_name_restricts_the_daemon_set_to_that_node() {
    check(vec![
        case(
            "nodeName equal to the node",
            |ds| ds.template_node_name(NODE),
            same,
            RUN,
        ),
        case(
            "nodeName of another node",
            |ds| ds.template_node_name("other-node"),
            same,
            NONE,
        ),
        case(
            "empty nodeName means any node",
            |ds| ds.template_node_name(""),
            same,
            RUN,
        ),
        case(
            "nodeName of another node wins over a tolerable node",
            |ds| {
                ds.template_node_name("other-node")
                    .tolerations(json!([{"operator": "Exists"}]))
            },
            |n| n.taint("k", "v", "NoSchedule"),
            NONE,
        ),
        case(
            "nodeName matches but an untolerated NoSchedule taint keeps pods only",
            |ds| ds.template_node_name(NODE),
            |n| n.taint("k", "v", "NoSchedule"),
            KEEP_ONLY,
        ),
        case(
            "nodeName matches but the nodeSelector does not",
            |ds| ds.template_node_name(NODE).node_selector("color", "blue"),
            same,
            NONE,
        ),
    ]);
}

// Mirrors TestSelectorDaemonLaunchesPods / TestBadSelectorDaemonDoesNothing (nodeSelector as a label set).
#[test]
fn a_node_selector_needs_every_entry_present_with_the_same_value() {
    check(vec![
        case(
            "one matching entry, extra node labels ignored",
            |ds| ds.node_selector("color", "blue"),
            |n| n.label("color", "blue").label("speed", "fast"),
            RUN,
        ),
        case(
            "all entries match (simpleNodeLabel)",
            |ds| ds.node_selector("color", "blue").node_selector("speed", "fast"),
            |n| n.label("color", "blue").label("speed", "fast"),
            RUN,
        ),
        case(
            "one of two entries missing on the node",
            |ds| ds.node_selector("color", "blue").node_selector("speed", "fast"),
            |n| n.label("color", "blue"),
            NONE,
        ),
        case(
            "different value (simpleNodeLabel2)",
            |ds| ds.node_selector("color", "red").node_selector("speed", "fast"),
            |n| n.label("color", "blue").label("speed", "fast"),
            NONE,
        ),
        case("unlabelled node", |ds| ds.node_selector("color", "blue"), same, NONE),
        case(
            "empty value matches an empty label",
            |ds| ds.node_selector("color", ""),
            |n| n.label("color", ""),
            RUN,
        ),
        case(
            "empty value needs the label to exist",
            |ds| ds.node_selector("color", ""),
            same,
            NONE,
        ),
        case(
            "nodeSelector matches but required affinity does not (ANDed)",
            |ds| one_expression(ds.node_selector("color", "blue"), "zone", "In", &["a"]),
            |n| n.label("color", "blue").label("zone", "b"),
            NONE,
        ),
        case(
            "nodeSelector and required affinity both match",
            |ds| one_expression(ds.node_selector("color", "blue"), "zone", "In", &["a"]),
            |n| n.label("color", "blue").label("zone", "a"),
            RUN,
        ),
    ]);
}

fn zone_cores_odd(node: NodeBuilder) -> NodeBuilder {
    node.label("zone", "a").label("cores", "8").label("odd", "x8")
}

// Mirrors TestNodeAffinityDaemonLaunchesPods, extended to every operator of labels.Requirement.Matches.
#[test]
fn required_node_affinity_operators_match_labels_like_label_requirements() {
    check(vec![
        case(
            "In, value listed",
            |ds| one_expression(ds, "zone", "In", &["a", "b"]),
            zone_cores_odd,
            RUN,
        ),
        case(
            "In, value not listed",
            |ds| one_expression(ds, "zone", "In", &["b"]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "In, label missing",
            |ds| one_expression(ds, "rack", "In", &["a"]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "NotIn, value not listed",
            |ds| one_expression(ds, "zone", "NotIn", &["b"]),
            zone_cores_odd,
            RUN,
        ),
        case(
            "NotIn, value listed",
            |ds| one_expression(ds, "zone", "NotIn", &["a", "b"]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "NotIn, label missing",
            |ds| one_expression(ds, "rack", "NotIn", &["a"]),
            zone_cores_odd,
            RUN,
        ),
        case(
            "Exists, label present",
            |ds| one_expression(ds, "zone", "Exists", &[]),
            zone_cores_odd,
            RUN,
        ),
        case(
            "Exists, label missing",
            |ds| one_expression(ds, "rack", "Exists", &[]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "DoesNotExist, label missing",
            |ds| one_expression(ds, "rack", "DoesNotExist", &[]),
            zone_cores_odd,
            RUN,
        ),
        case(
            "DoesNotExist, label present",
            |ds| one_expression(ds, "zone", "DoesNotExist", &[]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "Gt, 8 > 4",
            |ds| one_expression(ds, "cores", "Gt", &["4"]),
            zone_cores_odd,
            RUN,
        ),
        case(
            "Gt, 8 > 8 is false",
            |ds| one_expression(ds, "cores", "Gt", &["8"]),
            zone_cores_odd,
            NONE,
        ),
        // labels.NewRequirement checks every value, Gt/Lt bounds included, with validateLabelValue:
        // "-1" parses as an integer but is not a label value, so the term is void and matches nothing.
        case(
            "Gt, negative bound is not a valid label value",
            |ds| one_expression(ds, "cores", "Gt", &["-1"]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "Lt, 8 < 9",
            |ds| one_expression(ds, "cores", "Lt", &["9"]),
            zone_cores_odd,
            RUN,
        ),
        case(
            "Lt, 8 < 8 is false",
            |ds| one_expression(ds, "cores", "Lt", &["8"]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "Gt, non-integer label never matches",
            |ds| one_expression(ds, "odd", "Gt", &["1"]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "Lt, non-integer label never matches",
            |ds| one_expression(ds, "odd", "Lt", &["100"]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "Gt, label missing",
            |ds| one_expression(ds, "rack", "Gt", &["1"]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "expressions of one term are ANDed (one fails)",
            |ds| {
                ds.required_affinity(json!([{"matchExpressions": [
                    {"key": "zone", "operator": "In", "values": ["a"]},
                    {"key": "cores", "operator": "Gt", "values": ["10"]},
                ]}]))
            },
            zone_cores_odd,
            NONE,
        ),
        case(
            "expressions of one term are ANDed (all hold)",
            |ds| {
                ds.required_affinity(json!([{"matchExpressions": [
                    {"key": "zone", "operator": "In", "values": ["a"]},
                    {"key": "cores", "operator": "Gt", "values": ["4"]},
                    {"key": "rack", "operator": "DoesNotExist"},
                ]}]))
            },
            zone_cores_odd,
            RUN,
        ),
    ]);
}

// Mirrors nodeaffinity.go newNodeSelectorTerm: a parse error voids its term; predicates ignores the error.
#[test]
fn an_invalid_requirement_voids_its_term_but_other_terms_still_match() {
    check(vec![
        case(
            "Gt with a non-integer value",
            |ds| one_expression(ds, "cores", "Gt", &["eight"]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "Gt with two values",
            |ds| one_expression(ds, "cores", "Gt", &["1", "2"]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "Lt without a value",
            |ds| one_expression(ds, "cores", "Lt", &[]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "In without values",
            |ds| one_expression(ds, "zone", "In", &[]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "NotIn without values",
            |ds| one_expression(ds, "rack", "NotIn", &[]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "Exists with a value",
            |ds| one_expression(ds, "zone", "Exists", &["a"]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "DoesNotExist with a value",
            |ds| one_expression(ds, "rack", "DoesNotExist", &["a"]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "unknown operator",
            |ds| one_expression(ds, "zone", "Equals", &["a"]),
            zone_cores_odd,
            NONE,
        ),
        case(
            "a valid matching expression does not rescue an invalid one in the same term",
            |ds| {
                ds.required_affinity(json!([{"matchExpressions": [
                    {"key": "zone", "operator": "In", "values": ["a"]},
                    {"key": "cores", "operator": "Gt", "values": ["eight"]},
                ]}]))
            },
            zone_cores_odd,
            NONE,
        ),
        case(
            "an invalid term is ignored while another term matches",
            |ds| {
                ds.required_affinity(json!([
                    {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["eight"]}]},
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
                ]))
            },
            zone_cores_odd,
            RUN,
        ),
        case(
            "an invalid matchFields term is ignored while another term matches",
            |ds| {
                ds.required_affinity(json!([
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [NODE, "other-node"]}]},
                    {"matchExpressions": [{"key": "zone", "operator": "Exists"}]},
                ]))
            },
            zone_cores_odd,
            RUN,
        ),
    ]);
}

// Mirrors nodeaffinity.go nodeSelectorRequirementsAsFieldSelector (one value; other keys read as "").
#[test]
fn match_fields_compare_the_node_name_with_exactly_one_value() {
    check(vec![
        case(
            "metadata.name In [this node]",
            |ds| one_field(ds, "metadata.name", "In", &[NODE]),
            same,
            RUN,
        ),
        case(
            "metadata.name In [other node]",
            |ds| one_field(ds, "metadata.name", "In", &["other-node"]),
            same,
            NONE,
        ),
        case(
            "metadata.name NotIn [this node]",
            |ds| one_field(ds, "metadata.name", "NotIn", &[NODE]),
            same,
            NONE,
        ),
        case(
            "metadata.name NotIn [other node]",
            |ds| one_field(ds, "metadata.name", "NotIn", &["other-node"]),
            same,
            RUN,
        ),
        case(
            "In with two values voids the term",
            |ds| one_field(ds, "metadata.name", "In", &[NODE, "other-node"]),
            same,
            NONE,
        ),
        case(
            "NotIn with two values voids the term",
            |ds| one_field(ds, "metadata.name", "NotIn", &["a", "b"]),
            same,
            NONE,
        ),
        case(
            "In without values voids the term",
            |ds| one_field(ds, "metadata.name", "In", &[]),
            same,
            NONE,
        ),
        case(
            "Exists is not a field operator",
            |ds| one_field(ds, "metadata.name", "Exists", &[]),
            same,
            NONE,
        ),
        case(
            "another key compares with \"\": In [this node] fails",
            |ds| one_field(ds, "metadata.namespace", "In", &[NODE]),
            same,
            NONE,
        ),
        case(
            "another key compares with \"\": In [\"\"] holds",
            |ds| one_field(ds, "spec.unknown", "In", &[""]),
            same,
            RUN,
        ),
        case(
            "another key compares with \"\": NotIn [x] holds",
            |ds| one_field(ds, "spec.unknown", "NotIn", &["x"]),
            same,
            RUN,
        ),
        case(
            "a node label named metadata.name is not a field",
            |ds| one_field(ds, "metadata.name", "In", &["labelled-name"]),
            |n| n.label("metadata.name", "labelled-name"),
            NONE,
        ),
        case(
            "fields and expressions of one term are ANDed (expression fails)",
            |ds| {
                ds.required_affinity(json!([{
                    "matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}],
                    "matchFields": [{"key": "metadata.name", "operator": "In", "values": [NODE]}],
                }]))
            },
            zone_cores_odd,
            NONE,
        ),
        case(
            "fields and expressions of one term are ANDed (field fails)",
            |ds| {
                ds.required_affinity(json!([{
                    "matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}],
                    "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["other-node"]}],
                }]))
            },
            zone_cores_odd,
            NONE,
        ),
        case(
            "fields and expressions of one term are ANDed (both hold)",
            |ds| {
                ds.required_affinity(json!([{
                    "matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}],
                    "matchFields": [{"key": "metadata.name", "operator": "In", "values": [NODE]}],
                }]))
            },
            zone_cores_odd,
            RUN,
        ),
    ]);
}

// Mirrors nodeaffinity.go LazyErrorNodeSelector.Match (ORed terms; empty term or list matches nothing).
#[test]
fn node_selector_terms_are_ored_and_an_empty_term_or_list_matches_nothing() {
    check(vec![
        case(
            "second of two terms matches",
            |ds| {
                ds.required_affinity(json!([
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
                    {"matchExpressions": [{"key": "cores", "operator": "Lt", "values": ["16"]}]},
                ]))
            },
            zone_cores_odd,
            RUN,
        ),
        case(
            "no term matches",
            |ds| {
                ds.required_affinity(json!([
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["other-node"]}]},
                ]))
            },
            zone_cores_odd,
            NONE,
        ),
        case(
            "node-name terms are ORed",
            |ds| {
                ds.required_affinity(json!([
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["other-node"]}]},
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [NODE]}]},
                ]))
            },
            same,
            RUN,
        ),
        case("a single empty term matches nothing", |ds| ds.required_affinity(json!([{}])), zone_cores_odd, NONE),
        case(
            "a term with empty lists matches nothing",
            |ds| ds.required_affinity(json!([{"matchExpressions": [], "matchFields": []}])),
            zone_cores_odd,
            NONE,
        ),
        case(
            "an empty term beside a matching term",
            |ds| ds.required_affinity(json!([{}, {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}])),
            zone_cores_odd,
            RUN,
        ),
        case("an empty list of terms matches no node", |ds| ds.required_affinity(json!([])), zone_cores_odd, NONE),
        case("null terms match no node", |ds| ds.required_affinity(json!(null)), zone_cores_odd, NONE),
        case("preferred terms and pod anti-affinity are ignored", same_daemon_set, zone_cores_odd, RUN).spec(|spec| {
            spec["affinity"] = json!({
                "nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 100, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}}
                ]},
                "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "foo"}}, "topologyKey": "kubernetes.io/hostname"}
                ]},
            });
        }),
    ]);
}

fn dedicated_no_schedule(node: NodeBuilder) -> NodeBuilder {
    node.taint("dedicated", "user1", "NoSchedule")
}

fn dedicated_no_execute(node: NodeBuilder) -> NodeBuilder {
    node.taint("dedicated", "user1", "NoExecute")
}

// Mirrors TestTaintedNodeDaemon*/TestNo*TaintedDoes*EvicitRunningIntolerantPod and Toleration.ToleratesTaint.
#[test]
fn taints_need_a_toleration_and_only_an_untolerated_no_execute_evicts() {
    check(vec![
        case("untainted node", same_daemon_set, same, RUN),
        case(
            "untolerated NoSchedule: keep, do not create",
            same_daemon_set,
            dedicated_no_schedule,
            KEEP_ONLY,
        ),
        case(
            "untolerated NoExecute: evict",
            same_daemon_set,
            dedicated_no_execute,
            NONE,
        ),
        case(
            "PreferNoSchedule is ignored",
            same_daemon_set,
            |n| n.taint("dedicated", "user1", "PreferNoSchedule"),
            RUN,
        ),
        case(
            "untolerated NoSchedule and NoExecute",
            same_daemon_set,
            |n| n.taint("a", "", "NoSchedule").taint("b", "", "NoExecute"),
            NONE,
        ),
        case(
            "NoExecute tolerated, NoSchedule not",
            |ds| ds.tolerations(json!([{"key": "b", "operator": "Exists", "effect": "NoExecute"}])),
            |n| n.taint("a", "", "NoSchedule").taint("b", "", "NoExecute"),
            KEEP_ONLY,
        ),
        case(
            "NoSchedule tolerated, NoExecute not",
            |ds| ds.tolerations(json!([{"key": "a", "operator": "Exists", "effect": "NoSchedule"}])),
            |n| n.taint("a", "", "NoSchedule").taint("b", "", "NoExecute"),
            NONE,
        ),
        case(
            "noScheduleTolerations (empty operator means Equal) on a tainted node",
            |ds| ds.tolerations(json!([{"key": "dedicated", "value": "user1", "effect": "NoSchedule"}])),
            dedicated_no_schedule,
            RUN,
        ),
        case(
            "noScheduleTolerations on an untainted node",
            |ds| ds.tolerations(json!([{"key": "dedicated", "value": "user1", "effect": "NoSchedule"}])),
            same,
            RUN,
        ),
        case(
            "Equal with the same value",
            |ds| {
                ds.tolerations(
                    json!([{"key": "dedicated", "operator": "Equal", "value": "user1", "effect": "NoSchedule"}]),
                )
            },
            dedicated_no_schedule,
            RUN,
        ),
        case(
            "Equal with another value",
            |ds| {
                ds.tolerations(
                    json!([{"key": "dedicated", "operator": "Equal", "value": "user2", "effect": "NoSchedule"}]),
                )
            },
            dedicated_no_schedule,
            KEEP_ONLY,
        ),
        case(
            "Equal with an empty value tolerates an empty taint value",
            |ds| ds.tolerations(json!([{"key": "dedicated", "operator": "Equal", "effect": "NoExecute"}])),
            |n| n.taint("dedicated", "", "NoExecute"),
            RUN,
        ),
        case(
            "Exists ignores the value",
            |ds| ds.tolerations(json!([{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}])),
            dedicated_no_execute,
            RUN,
        ),
        case(
            "another key is not tolerated",
            |ds| ds.tolerations(json!([{"key": "other", "operator": "Exists", "effect": "NoExecute"}])),
            dedicated_no_execute,
            NONE,
        ),
        case(
            "an empty effect tolerates both effects",
            |ds| ds.tolerations(json!([{"key": "dedicated", "value": "user1"}])),
            |n| {
                n.taint("dedicated", "user1", "NoSchedule")
                    .taint("dedicated", "user1", "NoExecute")
            },
            RUN,
        ),
        case(
            "a NoSchedule toleration does not tolerate NoExecute",
            |ds| ds.tolerations(json!([{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}])),
            dedicated_no_execute,
            NONE,
        ),
        case(
            "a NoExecute toleration does not tolerate NoSchedule",
            |ds| ds.tolerations(json!([{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}])),
            dedicated_no_schedule,
            KEEP_ONLY,
        ),
        case(
            "empty key with Exists tolerates every taint",
            |ds| ds.tolerations(json!([{"operator": "Exists"}])),
            |n| n.taint("a", "1", "NoSchedule").taint("b", "2", "NoExecute"),
            RUN,
        ),
        case(
            "empty key with Exists and effect NoSchedule leaves NoExecute untolerated",
            |ds| ds.tolerations(json!([{"operator": "Exists", "effect": "NoSchedule"}])),
            |n| n.taint("a", "1", "NoSchedule").taint("b", "2", "NoExecute"),
            NONE,
        ),
        case(
            "empty key with Exists and effect NoSchedule on NoSchedule taints only",
            |ds| ds.tolerations(json!([{"operator": "Exists", "effect": "NoSchedule"}])),
            |n| n.taint("a", "1", "NoSchedule").taint("b", "2", "NoSchedule"),
            RUN,
        ),
        case(
            "tolerationSeconds play no part in eligibility",
            |ds| {
                ds.tolerations(json!([
                    {"key": "dedicated", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}
                ]))
            },
            dedicated_no_execute,
            RUN,
        ),
        case(
            "a Gt toleration tolerates nothing while TaintTolerationComparisonOperators is off (alpha default)",
            |ds| ds.tolerations(json!([{"key": "level", "operator": "Gt", "value": "1", "effect": "NoSchedule"}])),
            |n| n.taint("level", "5", "NoSchedule"),
            KEEP_ONLY,
        ),
    ]);
}

// Mirrors TestTaintPressureNodeDaemonLaunchesPod and the not-ready / unreachable / network-unavailable tests.
#[test]
fn implicit_daemon_tolerations_cover_node_lifecycle_taints_with_their_own_effects() {
    check(vec![
        case(
            "not-ready NoExecute (TestNotReadyNodeDaemonLaunchesPod)",
            same_daemon_set,
            |n| n.taint("node.kubernetes.io/not-ready", "", "NoExecute"),
            RUN,
        ),
        case(
            "unreachable NoExecute (TestUnreachableNodeDaemonLaunchesPod)",
            same_daemon_set,
            |n| n.taint("node.kubernetes.io/unreachable", "", "NoExecute"),
            RUN,
        ),
        case(
            "disk, memory and pid pressure NoSchedule (TestTaintPressureNodeDaemonLaunchesPod)",
            same_daemon_set,
            |n| {
                n.taint("node.kubernetes.io/disk-pressure", "", "NoSchedule")
                    .taint("node.kubernetes.io/memory-pressure", "", "NoSchedule")
                    .taint("node.kubernetes.io/pid-pressure", "", "NoSchedule")
            },
            RUN,
        ),
        case(
            "unschedulable NoSchedule (cordoned)",
            same_daemon_set,
            |n| n.taint("node.kubernetes.io/unschedulable", "", "NoSchedule"),
            RUN,
        ),
        case(
            "implicit tolerations use Exists: any taint value",
            same_daemon_set,
            |n| n.taint("node.kubernetes.io/not-ready", "anything", "NoExecute"),
            RUN,
        ),
        case(
            "not-ready NoSchedule is not covered (the implicit one is NoExecute)",
            same_daemon_set,
            |n| n.taint("node.kubernetes.io/not-ready", "", "NoSchedule"),
            KEEP_ONLY,
        ),
        case(
            "unreachable NoSchedule is not covered",
            same_daemon_set,
            |n| n.taint("node.kubernetes.io/unreachable", "", "NoSchedule"),
            KEEP_ONLY,
        ),
        case(
            "disk-pressure NoExecute is not covered (the implicit one is NoSchedule)",
            same_daemon_set,
            |n| n.taint("node.kubernetes.io/disk-pressure", "", "NoExecute"),
            NONE,
        ),
        case(
            "network-unavailable NoSchedule without hostNetwork (cf. TestNetworkUnavailableNodeDaemonLaunchesPod)",
            same_daemon_set,
            |n| n.taint("node.kubernetes.io/network-unavailable", "", "NoSchedule"),
            KEEP_ONLY,
        ),
        case(
            "network-unavailable NoSchedule with hostNetwork",
            |ds| ds.host_network(),
            |n| n.taint("node.kubernetes.io/network-unavailable", "", "NoSchedule"),
            RUN,
        ),
        case(
            "network-unavailable NoExecute even with hostNetwork",
            |ds| ds.host_network(),
            |n| n.taint("node.kubernetes.io/network-unavailable", "", "NoExecute"),
            NONE,
        ),
        case(
            "hostNetwork false adds no network-unavailable toleration",
            same_daemon_set,
            |n| n.taint("node.kubernetes.io/network-unavailable", "", "NoSchedule"),
            KEEP_ONLY,
        )
        .spec(|spec| spec["hostNetwork"] = json!(false)),
        case(
            "a user not-ready toleration with tolerationSeconds is replaced, still tolerated",
            |ds| {
                ds.tolerations(json!([{
                    "key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                    "tolerationSeconds": 300
                }]))
            },
            |n| n.taint("node.kubernetes.io/not-ready", "", "NoExecute"),
            RUN,
        ),
        case(
            "user tolerations are kept beside the implicit ones",
            |ds| ds.tolerations(json!([{"key": "dedicated", "operator": "Exists"}])),
            |n| {
                n.taint("dedicated", "user1", "NoExecute")
                    .taint("node.kubernetes.io/unreachable", "", "NoExecute")
                    .taint("node.kubernetes.io/unschedulable", "", "NoSchedule")
            },
            RUN,
        ),
    ]);
}
