//! The manage step of ONE sync: upstream daemon_controller.go manage, podsShouldBeOnNode,
//! getNodesToDaemonPods, getUnscheduledPodsWithoutNode and syncNodes, checked against the scenarios of
//! daemon_controller_test.go. Expected creates, deletes and events are worked out by hand from upstream's
//! rules. Upstream counts C/D/E are reproduced as exact node / pod / event lists (sorted; the planner sorts
//! and caps, upstream takes lister order).

use std::time::Duration;

use chrono::{DateTime, TimeDelta};
use daemonroll::planner::{self, Plan};
use daemonroll::snapshot::{
    BackoffEntry, IntOrString, LabelSelector, PodPhase, RollingUpdateParams, Snapshot, TEMPLATE_GENERATION_LABEL,
    Timestamp, UpdateStrategy,
};
use serde_json::json;

use crate::support::{
    DaemonSetBuilder, NodeBuilder, PodBuilder, ago, cluster, daemon_set, node, nodes, now, outcome_of, pod,
};

#[derive(Clone, Copy, Debug)]
enum Strategy {
    OnDelete,
    RollingUpdate,
}

/// Upstream updateStrategies().
const STRATEGIES: [Strategy; 2] = [Strategy::OnDelete, Strategy::RollingUpdate];

/// Upstream newDaemonSet(name) with one of updateStrategies(): OnDelete, or RollingUpdate maxUnavailable 1
/// with maxSurge unset.
fn new_daemon_set(name: &str, strategy: Strategy) -> DaemonSetBuilder {
    let daemon_set = daemon_set(name);
    match strategy {
        Strategy::OnDelete => daemon_set.on_delete(),
        Strategy::RollingUpdate => daemon_set.strategy(UpdateStrategy::RollingUpdate(Some(RollingUpdateParams {
            max_unavailable: Some(IntOrString::Int(1)),
            max_surge: None,
        }))),
    }
}

/// Upstream newUpdateSurge(1): RollingUpdate maxUnavailable 0, maxSurge 1.
fn surge_daemon_set() -> DaemonSetBuilder {
    daemon_set("foo").surge(1)
}

/// Upstream simpleNodeLabel.
fn simple_node(name: &str) -> NodeBuilder {
    node(name).label("color", "blue").label("speed", "fast")
}

/// Upstream addNodes(store, start, count, labels): `node-<i>`, labelled with simpleNodeLabel or not.
fn add_nodes(start: usize, count: usize, labelled: bool) -> Vec<NodeBuilder> {
    (start..start + count)
        .map(|i| format!("node-{i}"))
        .map(|name| if labelled { simple_node(&name) } else { node(&name) })
        .collect()
}

/// Upstream newPod(prefix, node, simpleDaemonSetLabel, ds): owned, current hash, phase "", no conditions.
fn new_pod(name: &str, node: &str) -> PodBuilder {
    pod(name).on(node).pending().phase(PodPhase::Other)
}

fn pod_name(node: &str, i: usize) -> String {
    format!("{node}-{i:02}")
}

/// Upstream addPods(store, node, simpleDaemonSetLabel, ds, count), named `<node>-00`, `<node>-01`, ….
fn add_pods(node: &str, count: usize) -> Vec<PodBuilder> {
    (0..count).map(|i| new_pod(&pod_name(node, i), node)).collect()
}

/// Upstream addPods(store, node, simpleDaemonSetLabel2, ds, count): owned but not matching the selector.
fn add_label2_pods(node: &str, count: usize) -> Vec<PodBuilder> {
    (0..count)
        .map(|i| new_pod(&format!("{node}-label2-{i}"), node).not_matching_selector())
        .collect()
}

/// Names of `add_pods(node, _)` pods with the given indexes.
fn pod_names(node: &str, indexes: std::ops::Range<usize>) -> Vec<String> {
    indexes.map(|i| pod_name(node, i)).collect()
}

/// Seconds since the Unix epoch (upstream sets CreationTimestamp to time.Unix(t, 0)).
fn unix(seconds: i64) -> Timestamp {
    DateTime::from_timestamp(seconds, 0).expect("valid timestamp")
}

/// What one sync writes and records: sorted creates (nodes), deletes (pods) and events.
#[derive(Debug, PartialEq)]
struct Observed {
    creates: Vec<String>,
    deletes: Vec<String>,
    events: Vec<String>,
}

fn events_of(plan: &Plan<'_>) -> Vec<String> {
    let mut events: Vec<String> = plan
        .events
        .iter()
        .map(|event| {
            let kind = if event.warning { "Warning" } else { "Normal" };
            format!("{kind} {}: {}", event.reason, event.message)
        })
        .collect();
    events.sort();
    events
}

fn observe(snapshot: &Snapshot) -> Observed {
    let plan = planner::plan(snapshot);
    let written = outcome_of(&plan);
    Observed {
        creates: written.creates,
        deletes: written.deletes,
        events: events_of(&plan),
    }
}

fn sorted(items: impl IntoIterator<Item = impl ToString>) -> Vec<String> {
    let mut items: Vec<String> = items.into_iter().map(|item| item.to_string()).collect();
    items.sort();
    items
}

fn expect(
    creates: impl IntoIterator<Item = impl ToString>,
    deletes: impl IntoIterator<Item = impl ToString>,
    events: Vec<String>,
) -> Observed {
    Observed {
        creates: sorted(creates),
        deletes: sorted(deletes),
        events: sorted(events),
    }
}

const NONE: [&str; 0] = [];

fn nothing() -> Observed {
    expect(NONE, NONE, vec![])
}

/// Upstream FailedDaemonPodReason event.
fn failed_event(pod: &str, node: &str) -> String {
    format!("Warning FailedDaemonPod: Found failed daemon pod default/{pod} on node {node}, will try to kill it")
}

/// Upstream SucceededDaemonPodReason event.
fn succeeded_event(pod: &str, node: &str) -> String {
    format!("Normal SucceededDaemonPod: Found succeeded daemon pod default/{pod} on node {node}, will try to delete it")
}

const SELECTING_ALL: &str =
    "Warning SelectingAll: This daemon set is selecting all pods. A non-empty selector is required.";

struct Case {
    name: String,
    snapshot: Snapshot,
    expected: Observed,
}

fn case(name: &str, snapshot: Snapshot, expected: Observed) -> Case {
    Case {
        name: name.into(),
        snapshot,
        expected,
    }
}

/// Runs `cases` once per upstream update strategy, naming each case after its strategy.
fn for_both_strategies(cases: impl Fn(Strategy) -> Vec<Case>) -> Vec<Case> {
    STRATEGIES
        .into_iter()
        .flat_map(|strategy| {
            cases(strategy).into_iter().map(move |mut case| {
                case.name = format!("{} [{strategy:?}]", case.name);
                case
            })
        })
        .collect()
}

fn check(cases: Vec<Case>) {
    for case in cases {
        assert_eq!(observe(&case.snapshot), case.expected, "{}", case.name);
    }
}

// Mirrors TestSimpleDaemonSetLaunchesPods and the other launch tests named per case, both strategies.
#[test]
fn every_eligible_node_without_a_daemon_pod_gets_one() {
    let no_schedule_tolerations = json!([{"key": "dedicated", "value": "user1", "effect": "NoSchedule"}]);
    check(for_both_strategies(|s| {
        vec![
            case(
                "TestSimpleDaemonSetLaunchesPods: 5 nodes",
                cluster(new_daemon_set("foo", s)).nodes(nodes(5)).snapshot(),
                expect(["node-0", "node-1", "node-2", "node-3", "node-4"], NONE, vec![]),
            ),
            case(
                "TestNoNodesDoesNothing",
                cluster(new_daemon_set("foo", s)).snapshot(),
                nothing(),
            ),
            case(
                "TestOneNodeDaemonLaunchesPod",
                cluster(new_daemon_set("foo", s)).nodes([node("only-node")]).snapshot(),
                expect(["only-node"], NONE, vec![]),
            ),
            case(
                "TestNotReadyNodeDaemonDoesLaunchPod: Ready=False without a taint",
                cluster(new_daemon_set("foo", s)).nodes([node("not-ready")]).snapshot(),
                expect(["not-ready"], NONE, vec![]),
            ),
            case(
                "TestNetworkUnavailableNodeDaemonLaunchesPod: NetworkUnavailable condition without a taint",
                cluster(new_daemon_set("simple", s))
                    .nodes([node("network-unavailable")])
                    .snapshot(),
                expect(["network-unavailable"], NONE, vec![]),
            ),
            case(
                "TestSelectorDaemonLaunchesPods / TestSelectorDaemonSetLaunchesPods: nodeSelector simpleNodeLabel",
                cluster(
                    new_daemon_set("foo", s)
                        .node_selector("color", "blue")
                        .node_selector("speed", "fast"),
                )
                .nodes(add_nodes(0, 4, false))
                .nodes(add_nodes(4, 3, true))
                .snapshot(),
                expect(["node-4", "node-5", "node-6"], NONE, vec![]),
            ),
            case(
                "TestNameDaemonSetLaunchesPods: nodeName node-0",
                cluster(new_daemon_set("foo", s).template_node_name("node-0"))
                    .nodes(nodes(5))
                    .snapshot(),
                expect(["node-0"], NONE, vec![]),
            ),
            case(
                "TestNameAndSelectorDaemonSetLaunchesPods: nodeName node-6 and simpleNodeLabel",
                cluster(
                    new_daemon_set("foo", s)
                        .node_selector("color", "blue")
                        .node_selector("speed", "fast")
                        .template_node_name("node-6"),
                )
                .nodes(add_nodes(0, 4, false))
                .nodes(add_nodes(4, 3, true))
                .snapshot(),
                expect(["node-6"], NONE, vec![]),
            ),
            case(
                "TestNodeAffinityDaemonLaunchesPods: color In [blue]",
                cluster(new_daemon_set("foo", s).required_affinity(json!([
                    {"matchExpressions": [{"key": "color", "operator": "In", "values": ["blue"]}]}
                ])))
                .nodes(add_nodes(0, 4, false))
                .nodes(add_nodes(4, 3, true))
                .snapshot(),
                expect(["node-4", "node-5", "node-6"], NONE, vec![]),
            ),
            case(
                "TestTaintedNodeDaemonLaunchesToleratePod",
                cluster(new_daemon_set("tolerate", s).tolerations(no_schedule_tolerations.clone()))
                    .nodes([node("tainted").taint("dedicated", "user1", "NoSchedule")])
                    .snapshot(),
                expect(["tainted"], NONE, vec![]),
            ),
            case(
                "TestNotReadyNodeDaemonLaunchesPod: not-ready NoExecute taint",
                cluster(new_daemon_set("simple", s))
                    .nodes([node("tainted").taint("node.kubernetes.io/not-ready", "", "NoExecute")])
                    .snapshot(),
                expect(["tainted"], NONE, vec![]),
            ),
            case(
                "TestUnreachableNodeDaemonLaunchesPod: unreachable NoExecute taint",
                cluster(new_daemon_set("simple", s))
                    .nodes([node("tainted").taint("node.kubernetes.io/unreachable", "", "NoExecute")])
                    .snapshot(),
                expect(["tainted"], NONE, vec![]),
            ),
            case(
                "TestNodeDaemonLaunchesToleratePod: tolerations on an untainted node",
                cluster(new_daemon_set("tolerate", s).tolerations(no_schedule_tolerations.clone()))
                    .nodes(nodes(1))
                    .snapshot(),
                expect(["node-0"], NONE, vec![]),
            ),
            case(
                "TestTaintPressureNodeDaemonLaunchesPod: disk, memory and pid pressure taints",
                cluster(new_daemon_set("critical", s))
                    .nodes([node("resources-pressure")
                        .taint("node.kubernetes.io/disk-pressure", "", "NoSchedule")
                        .taint("node.kubernetes.io/memory-pressure", "", "NoSchedule")
                        .taint("node.kubernetes.io/pid-pressure", "", "NoSchedule")])
                    .snapshot(),
                expect(["resources-pressure"], NONE, vec![]),
            ),
            case(
                "TestDaemonKillFailedPods \"no pods (create 1)\"",
                cluster(new_daemon_set("foo", s)).nodes(nodes(1)).snapshot(),
                expect(["node-0"], NONE, vec![]),
            ),
        ]
    }));
}

// Mirrors TestBadSelectorDaemonDoesNothing and the other do-nothing tests named per case, both strategies.
#[test]
fn nodes_that_should_not_run_a_daemon_pod_get_none() {
    check(for_both_strategies(|s| {
        vec![
            case(
                "TestBadSelectorDaemonDoesNothing: nodeSelector simpleNodeLabel2",
                cluster(
                    new_daemon_set("foo", s)
                        .node_selector("color", "red")
                        .node_selector("speed", "fast"),
                )
                .nodes(add_nodes(0, 4, false))
                .nodes(add_nodes(4, 3, true))
                .snapshot(),
                nothing(),
            ),
            case(
                "TestBadNameDaemonSetDoesNothing: nodeName node-10",
                cluster(new_daemon_set("foo", s).template_node_name("node-10"))
                    .nodes(nodes(5))
                    .snapshot(),
                nothing(),
            ),
            case(
                "TestInconsistentNameSelectorDaemonSetDoesNothing: nodeName node-0 is unlabelled",
                cluster(
                    new_daemon_set("foo", s)
                        .node_selector("color", "blue")
                        .node_selector("speed", "fast")
                        .template_node_name("node-0"),
                )
                .nodes(add_nodes(0, 4, false))
                .nodes(add_nodes(4, 3, true))
                .snapshot(),
                nothing(),
            ),
            case(
                "TestTaintedNodeDaemonDoesNotLaunchIntolerantPod",
                cluster(new_daemon_set("intolerant", s))
                    .nodes([node("tainted").taint("dedicated", "user1", "NoSchedule")])
                    .snapshot(),
                nothing(),
            ),
            case(
                "network-unavailable NoSchedule taint without hostNetwork",
                cluster(new_daemon_set("simple", s))
                    .nodes([node("tainted").taint("node.kubernetes.io/network-unavailable", "", "NoSchedule")])
                    .snapshot(),
                nothing(),
            ),
            case(
                "network-unavailable NoSchedule taint with hostNetwork",
                cluster(new_daemon_set("simple", s).host_network())
                    .nodes([node("tainted").taint("node.kubernetes.io/network-unavailable", "", "NoSchedule")])
                    .snapshot(),
                expect(["tainted"], NONE, vec![]),
            ),
        ]
    }));
}

// Mirrors TestDealsWithExistingPods (2/5/0) and the existing-pod tests named per case, both strategies.
#[test]
fn existing_pods_are_kept_deduplicated_or_removed_from_ineligible_nodes() {
    check(for_both_strategies(|s| {
        let selector_daemon_set = || {
            new_daemon_set("foo", s)
                .node_selector("color", "blue")
                .node_selector("speed", "fast")
        };
        vec![
            case(
                "TestDealsWithExistingPods",
                cluster(new_daemon_set("foo", s))
                    .nodes(nodes(5))
                    .pods(add_pods("node-1", 1))
                    .pods(add_pods("node-2", 2))
                    .pods(add_pods("node-3", 5))
                    .pods(add_label2_pods("node-4", 2))
                    .snapshot(),
                expect(
                    ["node-0", "node-4"],
                    [pod_names("node-2", 1..2), pod_names("node-3", 1..5)].concat(),
                    vec![],
                ),
            ),
            case(
                "TestSelectorDaemonDeletesUnselectedPods",
                cluster(selector_daemon_set())
                    .nodes(add_nodes(0, 5, false))
                    .nodes(add_nodes(5, 5, true))
                    .pods(add_label2_pods("node-0", 2))
                    .pods(add_pods("node-1", 3))
                    .pods(add_label2_pods("node-1", 1))
                    .pods(add_pods("node-4", 1))
                    .snapshot(),
                expect(
                    ["node-5", "node-6", "node-7", "node-8", "node-9"],
                    [pod_names("node-1", 0..3), pod_names("node-4", 0..1)].concat(),
                    vec![],
                ),
            ),
            case(
                "TestSelectorDaemonDealsWithExistingPods",
                cluster(selector_daemon_set())
                    .nodes(add_nodes(0, 5, false))
                    .nodes(add_nodes(5, 5, true))
                    .pods(add_pods("node-0", 1))
                    .pods(add_pods("node-1", 3))
                    .pods(add_label2_pods("node-1", 2))
                    .pods(add_pods("node-2", 4))
                    .pods(add_pods("node-6", 13))
                    .pods(add_label2_pods("node-7", 4))
                    .pods(add_pods("node-9", 1))
                    .pods(add_label2_pods("node-9", 1))
                    .snapshot(),
                expect(
                    ["node-5", "node-7", "node-8"],
                    [
                        pod_names("node-0", 0..1),
                        pod_names("node-1", 0..3),
                        pod_names("node-2", 0..4),
                        pod_names("node-6", 1..13),
                    ]
                    .concat(),
                    vec![],
                ),
            ),
            case(
                "TestDaemonKillFailedPods \"normal (do nothing)\"",
                cluster(new_daemon_set("foo", s))
                    .nodes(nodes(1))
                    .pods(add_pods("node-0", 1))
                    .snapshot(),
                nothing(),
            ),
            case(
                "TestNoScheduleTaintedDoesntEvicitRunningIntolerantPod",
                cluster(new_daemon_set("intolerant", s))
                    .nodes([node("tainted").taint("dedicated", "user1", "NoSchedule")])
                    .pods([new_pod("keep-running-me", "tainted")])
                    .snapshot(),
                nothing(),
            ),
            case(
                "TestNoExecuteTaintedDoesEvicitRunningIntolerantPod",
                cluster(new_daemon_set("intolerant", s))
                    .nodes([node("tainted").taint("dedicated", "user1", "NoExecute")])
                    .pods([new_pod("stop-running-me", "tainted")])
                    .snapshot(),
                expect(NONE, ["stop-running-me"], vec![]),
            ),
            case(
                "untolerated NoSchedule node keeps one pod but still prunes duplicates",
                cluster(new_daemon_set("intolerant", s))
                    .nodes([node("tainted").taint("dedicated", "user1", "NoSchedule")])
                    .pods(add_pods("tainted", 3))
                    .snapshot(),
                expect(NONE, pod_names("tainted", 1..3), vec![]),
            ),
            case(
                "every non-terminating pod on a NoExecute node goes, whatever its phase",
                cluster(new_daemon_set("intolerant", s))
                    .nodes([node("tainted").taint("dedicated", "user1", "NoExecute")])
                    .pods([
                        new_pod("running", "tainted"),
                        new_pod("pending", "tainted").phase(PodPhase::Pending),
                        new_pod("failed", "tainted").failed(),
                        new_pod("succeeded", "tainted").succeeded(),
                        new_pod("terminating", "tainted").terminating(),
                    ])
                    .snapshot(),
                expect(NONE, ["failed", "pending", "running", "succeeded"], vec![]),
            ),
        ]
    }));
}

// Mirrors TestDaemonKillFailedPods (every case) plus podsShouldBeOnNode's SucceededDaemonPod rule, both strategies.
#[test]
fn failed_and_succeeded_pods_are_deleted_with_an_event_and_replaced_next_sync() {
    check(for_both_strategies(|s| {
        let one_node = || cluster(new_daemon_set("foo", s)).nodes(nodes(1));
        vec![
            case(
                "TestDaemonKillFailedPods \"1 failed pod (kill 1), 0 normal pod (create 0; will create in the next sync)\"",
                one_node().pods([new_pod("failed-0", "node-0").failed()]).snapshot(),
                expect(NONE, ["failed-0"], vec![failed_event("failed-0", "node-0")]),
            ),
            case(
                "TestDaemonKillFailedPods \"1 failed pod (kill 1), 3 normal pods (kill 2)\"",
                one_node()
                    .pods([new_pod("failed-0", "node-0").failed()])
                    .pods(add_pods("node-0", 3))
                    .snapshot(),
                expect(
                    NONE,
                    ["failed-0", "node-0-01", "node-0-02"],
                    vec![failed_event("failed-0", "node-0")],
                ),
            ),
            case(
                "a succeeded pod is deleted without backoff and not replaced in the same sync",
                one_node()
                    .pods([new_pod("succeeded-0", "node-0").succeeded()])
                    .snapshot(),
                expect(NONE, ["succeeded-0"], vec![succeeded_event("succeeded-0", "node-0")]),
            ),
            case(
                "two succeeded pods on one node are both deleted",
                one_node()
                    .pods([
                        new_pod("succeeded-0", "node-0").succeeded(),
                        new_pod("succeeded-1", "node-0").succeeded(),
                    ])
                    .snapshot(),
                expect(
                    NONE,
                    ["succeeded-0", "succeeded-1"],
                    vec![
                        succeeded_event("succeeded-0", "node-0"),
                        succeeded_event("succeeded-1", "node-0"),
                    ],
                ),
            ),
            case(
                "a succeeded pod beside a running pod is deleted, the running pod stays",
                one_node()
                    .pods([new_pod("succeeded-0", "node-0").succeeded()])
                    .pods(add_pods("node-0", 1))
                    .snapshot(),
                expect(NONE, ["succeeded-0"], vec![succeeded_event("succeeded-0", "node-0")]),
            ),
            case(
                "failed and succeeded pods on several nodes",
                cluster(new_daemon_set("foo", s))
                    .nodes(nodes(3))
                    .pods([
                        new_pod("failed-0", "node-0").failed(),
                        new_pod("succeeded-1", "node-1").succeeded(),
                        new_pod("running-2", "node-2"),
                    ])
                    .snapshot(),
                expect(
                    NONE,
                    ["failed-0", "succeeded-1"],
                    vec![
                        failed_event("failed-0", "node-0"),
                        succeeded_event("succeeded-1", "node-1"),
                    ],
                ),
            ),
            case(
                "a failed pod on an untolerated NoSchedule node is deleted like on an eligible node",
                cluster(new_daemon_set("foo", s))
                    .nodes([node("tainted").taint("dedicated", "user1", "NoSchedule")])
                    .pods([new_pod("failed-0", "tainted").failed()])
                    .snapshot(),
                expect(NONE, ["failed-0"], vec![failed_event("failed-0", "tainted")]),
            ),
            case(
                "a failed pod on a node that no longer matches is deleted without an event or backoff",
                cluster(new_daemon_set("foo", s).node_selector("color", "blue"))
                    .nodes(nodes(1))
                    .pods([new_pod("failed-0", "node-0").failed()])
                    .backoff("node-0", 0, Duration::from_secs(60))
                    .snapshot(),
                expect(NONE, ["failed-0"], vec![]),
            ),
            case(
                "a failed pod that is being deleted is dropped, so the node gets a new pod",
                one_node()
                    .pods([new_pod("failed-0", "node-0").failed().terminating()])
                    .snapshot(),
                expect(["node-0"], NONE, vec![]),
            ),
            case(
                "a succeeded pod that is being deleted is dropped, so the node gets a new pod",
                one_node()
                    .pods([new_pod("succeeded-0", "node-0").succeeded().terminating()])
                    .snapshot(),
                expect(["node-0"], NONE, vec![]),
            ),
            case(
                "an adopted orphan that failed is deleted with an event",
                one_node()
                    .pods([new_pod("orphan-failed", "node-0").orphan().unlabelled().failed()])
                    .snapshot(),
                expect(NONE, ["orphan-failed"], vec![failed_event("orphan-failed", "node-0")]),
            ),
        ]
    }));
}

// Mirrors TestDaemonKillFailedPodsBackoff step by step (fake backoff 50ms/500ms), per strategy.
#[test]
fn failed_pod_deletion_backs_off_per_node_until_exactly_the_delay_has_passed() {
    const INITIAL: Duration = Duration::from_millis(50);
    const MAX: Duration = Duration::from_millis(500);
    let one_nanosecond = TimeDelta::nanoseconds(1);
    let delay = TimeDelta::from_std(INITIAL).expect("small");
    for strategy in STRATEGIES {
        let sync_with = |entry: Option<BackoffEntry>| {
            let mut snapshot = cluster(new_daemon_set("foo", strategy))
                .nodes(nodes(1))
                .pods([new_pod("node-0-failed", "node-0").failed()])
                .snapshot();
            snapshot.failed_pod_backoff.initial = INITIAL;
            snapshot.failed_pod_backoff.max = MAX;
            if let Some(entry) = entry {
                snapshot.failed_pod_backoff.entries.insert("node-0".into(), entry);
            }
            let plan = planner::plan(&snapshot);
            let observed = Observed {
                creates: outcome_of(&plan).creates,
                deletes: outcome_of(&plan).deletes,
                events: events_of(&plan),
            };
            let updates: Vec<(String, BackoffEntry)> = plan
                .backoff_updates
                .iter()
                .map(|(node, entry)| (node.to_string(), *entry))
                .collect();
            (observed, updates)
        };
        let deleted = expect(NONE, ["node-0-failed"], vec![failed_event("node-0-failed", "node-0")]);
        let steps = [
            (
                "first sync: no entry yet",
                None,
                deleted,
                vec![("node-0".to_string(), entry(now(), INITIAL))],
            ),
            (
                "immediate second sync: limited by the backoff",
                Some(entry(now(), INITIAL)),
                nothing(),
                vec![],
            ),
            (
                "delay - 1ns later: still in backoff",
                Some(entry(now() - (delay - one_nanosecond), INITIAL)),
                nothing(),
                vec![],
            ),
            (
                "exactly delay later: deleted again and the delay doubles",
                Some(entry(now() - delay, INITIAL)),
                expect(NONE, ["node-0-failed"], vec![failed_event("node-0-failed", "node-0")]),
                vec![("node-0".to_string(), entry(now(), INITIAL * 2))],
            ),
        ];
        for (name, backoff, expected, expected_updates) in steps {
            assert_eq!(
                sync_with(backoff),
                (expected, expected_updates),
                "{name} [{strategy:?}]"
            );
        }
    }
}

fn entry(last_update: Timestamp, delay: Duration) -> BackoffEntry {
    BackoffEntry { last_update, delay }
}

// Mirrors TestDaemonKillFailedPodsBackoff with the production backoff given as input, both strategies.
#[test]
fn failed_pod_backoff_is_per_node_and_does_not_hold_back_succeeded_pods() {
    check(for_both_strategies(|s| {
        let one_node = || cluster(new_daemon_set("foo", s)).nodes(nodes(1));
        vec![
            case(
                "in backoff (1 of 4 seconds left): not deleted, no event, no replacement",
                one_node()
                    .pods([new_pod("failed-0", "node-0").failed()])
                    .backoff("node-0", 3, Duration::from_secs(4))
                    .snapshot(),
                nothing(),
            ),
            case(
                "exactly at expiry: deleted",
                one_node()
                    .pods([new_pod("failed-0", "node-0").failed()])
                    .backoff("node-0", 4, Duration::from_secs(4))
                    .snapshot(),
                expect(NONE, ["failed-0"], vec![failed_event("failed-0", "node-0")]),
            ),
            case(
                "a backoff entry of another node does not hold this node back",
                cluster(new_daemon_set("foo", s))
                    .nodes(nodes(2))
                    .pods([new_pod("failed-0", "node-0").failed(), new_pod("running-1", "node-1")])
                    .backoff("node-1", 0, Duration::from_secs(60))
                    .snapshot(),
                expect(NONE, ["failed-0"], vec![failed_event("failed-0", "node-0")]),
            ),
            case(
                "two failed pods on one node: only the first is deleted",
                one_node()
                    .pods([
                        new_pod("failed-a", "node-0").failed().created(ago(7200)),
                        new_pod("failed-b", "node-0").failed().created(ago(3600)),
                    ])
                    .snapshot(),
                expect(NONE, ["failed-a"], vec![failed_event("failed-a", "node-0")]),
            ),
            case(
                "in backoff, a running pod beside the failed one is still deduplicated",
                one_node()
                    .pods([new_pod("failed-0", "node-0").failed()])
                    .pods(add_pods("node-0", 2))
                    .backoff("node-0", 0, Duration::from_secs(60))
                    .snapshot(),
                expect(NONE, ["node-0-01"], vec![]),
            ),
            case(
                "in backoff, a succeeded pod is still deleted",
                one_node()
                    .pods([
                        new_pod("failed-0", "node-0").failed(),
                        new_pod("succeeded-0", "node-0").succeeded(),
                    ])
                    .backoff("node-0", 0, Duration::from_secs(60))
                    .snapshot(),
                expect(NONE, ["succeeded-0"], vec![succeeded_event("succeeded-0", "node-0")]),
            ),
        ]
    }));
}

// Mirrors failedPodsBackoff.Next in podsShouldBeOnNode (client-go flowcontrol.Backoff: double, cap, expire).
#[test]
fn deleting_a_failed_pod_advances_the_node_backoff_like_flowcontrol_next() {
    let second = Duration::from_secs(1);
    let max = Duration::from_secs(15 * 60);
    let cases = [
        ("no entry: initial delay", None, second),
        (
            "expired 4s entry: doubled",
            Some(("node-0", 4, Duration::from_secs(4))),
            Duration::from_secs(8),
        ),
        (
            "doubling stops at max",
            Some(("node-0", 600, Duration::from_secs(600))),
            max,
        ),
        (
            "idle exactly 2 × max: still doubled (capped)",
            Some(("node-0", 1800, max)),
            max,
        ),
        (
            "idle more than 2 × max: back to the initial delay",
            Some(("node-0", 1801, max)),
            second,
        ),
    ];
    for (name, backoff, delay) in cases {
        let cluster = cluster(new_daemon_set("foo", Strategy::RollingUpdate))
            .nodes(nodes(1))
            .pods([new_pod("failed-0", "node-0").failed()]);
        let cluster = match backoff {
            Some((node, seconds_ago, delay)) => cluster.backoff(node, seconds_ago, delay),
            None => cluster,
        };
        let snapshot = cluster.snapshot();
        let plan = planner::plan(&snapshot);
        let updates: Vec<(&str, BackoffEntry)> = plan.backoff_updates.clone();
        assert_eq!(
            (outcome_of(&plan).deletes, updates),
            (vec!["failed-0".to_string()], vec![("node-0", entry(now(), delay))]),
            "{name}"
        );
    }
}

// Mirrors TestDealsWithExistingPods' pruning order (podByCreationTimestampAndPhase), both strategies.
#[test]
fn duplicate_pods_keep_the_oldest_scheduled_one() {
    check(for_both_strategies(|s| {
        let one_node = || cluster(new_daemon_set("foo", s)).nodes(nodes(1));
        vec![
            case(
                "older creationTimestamp survives",
                one_node()
                    .pods([
                        new_pod("a-young", "node-0").created(ago(60)),
                        new_pod("b-old", "node-0").created(ago(3600)),
                    ])
                    .snapshot(),
                expect(NONE, ["a-young"], vec![]),
            ),
            case(
                "equal timestamps: the smaller name survives",
                one_node()
                    .pods([
                        new_pod("pod-b", "node-0").created(ago(60)),
                        new_pod("pod-a", "node-0").created(ago(60)),
                    ])
                    .snapshot(),
                expect(NONE, ["pod-b"], vec![]),
            ),
            case(
                "a scheduled pod survives an older unscheduled pod pinned to the node",
                one_node()
                    .pods([
                        new_pod("pinned-old", "node-0").pinned_to("node-0").created(ago(3600)),
                        new_pod("scheduled-young", "node-0").created(ago(60)),
                    ])
                    .snapshot(),
                expect(NONE, ["pinned-old"], vec![]),
            ),
            case(
                "phase is not compared: an older Pending pod survives a Running one",
                one_node()
                    .pods([
                        new_pod("pending-old", "node-0")
                            .phase(PodPhase::Pending)
                            .created(ago(3600)),
                        pod("running-young").on("node-0").created(ago(60)),
                    ])
                    .snapshot(),
                expect(NONE, ["running-young"], vec![]),
            ),
            case(
                "readiness is not compared: an older unready pod survives a ready one",
                one_node()
                    .pods([
                        pod("unready-old").on("node-0").not_ready().created(ago(3600)),
                        pod("ready-young").on("node-0").created(ago(60)),
                    ])
                    .snapshot(),
                expect(NONE, ["ready-young"], vec![]),
            ),
            case(
                "without surge the revision is not compared: an older old-revision pod survives",
                one_node()
                    .pods([
                        pod("old-revision").on("node-0").old().created(ago(3600)),
                        pod("new-revision").on("node-0").created(ago(60)),
                    ])
                    .snapshot(),
                expect(NONE, ["new-revision"], vec![]),
            ),
            case(
                "an Unknown-phase pod counts as running",
                one_node()
                    .pods([
                        new_pod("unknown-old", "node-0")
                            .phase(PodPhase::Unknown)
                            .created(ago(3600)),
                        new_pod("other-young", "node-0").created(ago(60)),
                    ])
                    .snapshot(),
                expect(NONE, ["other-young"], vec![]),
            ),
        ]
    }));
}

// Mirrors TestDaemonSetRespectsTermination plus podsShouldBeOnNode's deletionTimestamp rules, both strategies.
#[test]
fn terminating_pods_are_never_deleted_again_nor_replaced_without_surge() {
    check(for_both_strategies(|s| {
        vec![
            case(
                "TestDaemonSetRespectsTermination",
                cluster(new_daemon_set("foo", s))
                    .nodes(add_nodes(0, 1, true))
                    .pods([new_pod("node-0-terminating", "node-0").terminating()])
                    .snapshot(),
                nothing(),
            ),
            case(
                "a terminating pod beside a running pod: nothing to do",
                cluster(new_daemon_set("foo", s))
                    .nodes(nodes(1))
                    .pods([
                        new_pod("terminating", "node-0").terminating().created(ago(9000)),
                        new_pod("running", "node-0"),
                    ])
                    .snapshot(),
                nothing(),
            ),
            case(
                "two terminating pods: nothing to do",
                cluster(new_daemon_set("foo", s))
                    .nodes(nodes(1))
                    .pods([
                        new_pod("terminating-a", "node-0").terminating(),
                        new_pod("terminating-b", "node-0").terminating(),
                    ])
                    .snapshot(),
                nothing(),
            ),
            case(
                "on a NoExecute node only the non-terminating pod is deleted",
                cluster(new_daemon_set("foo", s))
                    .nodes([node("tainted").taint("dedicated", "user1", "NoExecute")])
                    .pods([
                        new_pod("terminating", "tainted").terminating(),
                        new_pod("running", "tainted"),
                    ])
                    .snapshot(),
                expect(NONE, ["running"], vec![]),
            ),
            case(
                "on a node that no longer matches, a terminating pod alone: nothing to do",
                cluster(new_daemon_set("foo", s).node_selector("color", "blue"))
                    .nodes(nodes(1))
                    .pods([new_pod("terminating", "node-0").terminating()])
                    .snapshot(),
                nothing(),
            ),
        ]
    }));
}

// Mirrors TestDeleteUnscheduledPodForNotExistingNode (0/1/0) and getUnscheduledPodsWithoutNode, both strategies.
#[test]
fn unscheduled_pods_pinned_to_missing_nodes_are_deleted_and_scheduled_ones_left_alone() {
    check(for_both_strategies(|s| {
        vec![
            case(
                "TestDeleteUnscheduledPodForNotExistingNode",
                cluster(new_daemon_set("foo", s))
                    .nodes(nodes(1))
                    .pods(add_pods("node-0", 1))
                    .pods(add_pods("node-1", 1))
                    .pods([new_pod("pod1-node-3", "node-2").pinned_to("node-2")])
                    .snapshot(),
                expect(NONE, ["pod1-node-3"], vec![]),
            ),
            case(
                "only a scheduled pod on a missing node: nothing to do",
                cluster(new_daemon_set("foo", s))
                    .nodes(nodes(1))
                    .pods(add_pods("node-0", 1))
                    .pods(add_pods("gone", 1))
                    .snapshot(),
                nothing(),
            ),
            case(
                "several unscheduled pods pinned to missing nodes, one of them terminating",
                cluster(new_daemon_set("foo", s))
                    .pods([
                        new_pod("pinned-a", "gone-a").pinned_to("gone-a"),
                        new_pod("pinned-b", "gone-a").pinned_to("gone-a"),
                        new_pod("pinned-c", "gone-b").pinned_to("gone-b").terminating(),
                    ])
                    .snapshot(),
                expect(NONE, ["pinned-a", "pinned-b", "pinned-c"], vec![]),
            ),
            case(
                "a failed pinned pod that is being deleted is dropped before that",
                cluster(new_daemon_set("foo", s))
                    .pods([new_pod("pinned-failed", "gone")
                        .pinned_to("gone")
                        .failed()
                        .terminating()])
                    .snapshot(),
                nothing(),
            ),
            case(
                "an unscheduled pod pinned to an existing node is that node's pod",
                cluster(new_daemon_set("foo", s))
                    .nodes(nodes(1))
                    .pods([new_pod("pinned", "node-0").pinned_to("node-0")])
                    .snapshot(),
                nothing(),
            ),
            case(
                "an owned pod with no target node belongs to no node",
                cluster(new_daemon_set("foo", s))
                    .nodes(nodes(1))
                    .pods([pod("nowhere")])
                    .snapshot(),
                expect(["node-0"], NONE, vec![]),
            ),
            case(
                "an orphan pinned to a missing node is adopted and deleted",
                cluster(new_daemon_set("foo", s))
                    .pods([new_pod("orphan-pinned", "gone").pinned_to("gone").orphan()])
                    .snapshot(),
                expect(NONE, ["orphan-pinned"], vec![]),
            ),
        ]
    }));
}

// Mirrors TestSurgeDealsWithExistingPods and the other five TestSurge* tests named per case.
#[test]
fn upstream_surge_scenarios_give_the_same_writes_in_one_sync() {
    let min_ready_case = |clock_after_ready: i64| {
        cluster(surge_daemon_set().min_ready_seconds(15))
            .nodes(nodes(5))
            .pods([
                new_pod("node-1-new", "node-1")
                    .created(unix(100))
                    .ready_since(ago(clock_after_ready)),
                new_pod("node-1-old-ready", "node-1")
                    .unlabelled()
                    .created(unix(50))
                    .ready_without_time(),
                new_pod("node-1-delete", "node-1")
                    .unlabelled()
                    .created(unix(60))
                    .ready_without_time(),
            ])
            .pods(add_pods("node-2", 1))
            .snapshot()
    };
    check(vec![
        case(
            "TestSurgeDealsWithExistingPods",
            cluster(surge_daemon_set())
                .nodes(nodes(5))
                .pods(add_pods("node-1", 1))
                .pods(add_pods("node-2", 2))
                .pods(add_pods("node-3", 5))
                .pods(add_label2_pods("node-4", 2))
                .snapshot(),
            expect(
                ["node-0", "node-4"],
                [pod_names("node-2", 1..2), pod_names("node-3", 1..5)].concat(),
                vec![],
            ),
        ),
        case(
            "TestSurgePreservesReadyOldPods",
            cluster(surge_daemon_set())
                .nodes(nodes(5))
                .pods([
                    new_pod("node-1-new", "node-1").created(unix(100)),
                    new_pod("node-1-old", "node-1")
                        .unlabelled()
                        .created(unix(50))
                        .ready_without_time(),
                    new_pod("node-1-delete", "node-1")
                        .unlabelled()
                        .created(unix(60))
                        .ready_without_time(),
                ])
                .pods(add_pods("node-2", 1))
                .snapshot(),
            expect(["node-0", "node-3", "node-4"], ["node-1-delete"], vec![]),
        ),
        case(
            "TestSurgeCreatesNewPodWhenAtMaxSurgeAndOldPodDeleted",
            cluster(surge_daemon_set())
                .nodes(nodes(5))
                .pods([
                    new_pod("node-0-new", "node-0").created(unix(100)).not_ready(),
                    new_pod("node-0-old-ready", "node-0")
                        .unlabelled()
                        .created(unix(50))
                        .ready_without_time(),
                ])
                .pods((1..5).map(|i| {
                    let old = new_pod(&format!("node-{i}-preserve"), &format!("node-{i}"))
                        .unlabelled()
                        .created(unix(1))
                        .ready_without_time();
                    if i == 4 { old.terminating() } else { old }
                }))
                .snapshot(),
            expect(["node-4"], NONE, vec![]),
        ),
        case(
            "TestSurgeDeletesUnreadyOldPods",
            cluster(surge_daemon_set())
                .nodes(nodes(5))
                .pods([
                    new_pod("node-1-new", "node-1").created(unix(100)),
                    new_pod("node-1-old-unready", "node-1")
                        .unlabelled()
                        .created(unix(50))
                        .not_ready(),
                    new_pod("node-1-delete", "node-1")
                        .unlabelled()
                        .created(unix(60))
                        .ready_without_time(),
                ])
                .pods(add_pods("node-2", 1))
                .snapshot(),
            expect(
                ["node-0", "node-3", "node-4"],
                ["node-1-delete", "node-1-old-unready"],
                vec![],
            ),
        ),
        case(
            "TestSurgePreservesOldReadyWithUnsatisfiedMinReady: new pod ready 10s of 15s",
            min_ready_case(10),
            expect(["node-0", "node-3", "node-4"], ["node-1-delete"], vec![]),
        ),
        case(
            "TestSurgeDeletesOldReadyWithUnsatisfiedMinReady: new pod ready 20s of 15s",
            min_ready_case(20),
            expect(
                ["node-0", "node-3", "node-4"],
                ["node-1-delete", "node-1-old-ready"],
                vec![],
            ),
        ),
    ]);
}

// Mirrors podsShouldBeOnNode's surge branch (util.AllowsSurge; "new" by hash label only).
#[test]
fn with_surge_manage_creates_at_once_and_replaces_old_pods_by_readiness() {
    check(vec![
        case(
            "only a failed pod: deleted and replaced in the same sync",
            cluster(surge_daemon_set())
                .nodes(nodes(1))
                .pods([new_pod("failed", "node-0").failed()])
                .snapshot(),
            expect(["node-0"], ["failed"], vec![failed_event("failed", "node-0")]),
        ),
        case(
            "only a failed pod in backoff: not deleted but a new pod is created",
            cluster(surge_daemon_set())
                .nodes(nodes(1))
                .pods([new_pod("failed", "node-0").failed()])
                .backoff("node-0", 0, Duration::from_secs(60))
                .snapshot(),
            expect(["node-0"], NONE, vec![]),
        ),
        case(
            "only a succeeded pod: deleted and replaced in the same sync",
            cluster(surge_daemon_set())
                .nodes(nodes(1))
                .pods([new_pod("succeeded", "node-0").succeeded()])
                .snapshot(),
            expect(["node-0"], ["succeeded"], vec![succeeded_event("succeeded", "node-0")]),
        ),
        case(
            "only a terminating pod: a new pod is created",
            cluster(surge_daemon_set())
                .nodes(nodes(1))
                .pods([pod("terminating").on("node-0").terminating()])
                .snapshot(),
            expect(["node-0"], NONE, vec![]),
        ),
        case(
            "only a terminating pod on an untolerated NoSchedule node: nothing",
            cluster(surge_daemon_set())
                .nodes([node("tainted").taint("dedicated", "user1", "NoSchedule")])
                .pods([pod("terminating").on("tainted").terminating()])
                .snapshot(),
            nothing(),
        ),
        case(
            "maxSurge 10% rounds up to 1 for one node, so surge applies",
            cluster(daemon_set("foo").surge("10%"))
                .nodes(nodes(1))
                .pods([pod("terminating").on("node-0").terminating()])
                .snapshot(),
            expect(["node-0"], NONE, vec![]),
        ),
        case(
            "maxSurge 0% is no surge: a terminating pod is not replaced yet",
            cluster(daemon_set("foo").max_unavailable(1).max_surge("0%"))
                .nodes(nodes(1))
                .pods([pod("terminating").on("node-0").terminating()])
                .snapshot(),
            nothing(),
        ),
        case(
            "old pod not Ready: deleted even though the new pod is not ready either",
            cluster(surge_daemon_set())
                .nodes(nodes(1))
                .pods([
                    pod("old").on("node-0").old().not_ready().created(ago(7200)),
                    pod("new").on("node-0").not_ready().created(ago(60)),
                ])
                .snapshot(),
            expect(NONE, ["old"], vec![]),
        ),
        case(
            "old pod Ready and new pod available: the old pod is deleted",
            cluster(surge_daemon_set())
                .nodes(nodes(1))
                .pods([
                    pod("old").on("node-0").old().created(ago(7200)),
                    pod("new").on("node-0").created(ago(600)).ready_since(ago(300)),
                ])
                .snapshot(),
            expect(NONE, ["old"], vec![]),
        ),
        case(
            "old pod Ready and new pod ready but not yet available (minReadySeconds 60): both kept",
            cluster(surge_daemon_set().min_ready_seconds(60))
                .nodes(nodes(1))
                .pods([
                    pod("old").on("node-0").old().created(ago(7200)),
                    pod("new").on("node-0").created(ago(600)).ready_since(ago(30)),
                ])
                .snapshot(),
            nothing(),
        ),
        case(
            "old hash with the current generation label is old: deleted once the new pod is available",
            cluster(surge_daemon_set())
                .nodes(nodes(1))
                .pods([
                    pod("a-stale-hash")
                        .on("node-0")
                        .old()
                        .label(TEMPLATE_GENERATION_LABEL, "1")
                        .created(ago(7200)),
                    pod("b-current-hash")
                        .on("node-0")
                        .created(ago(600))
                        .ready_since(ago(300)),
                ])
                .snapshot(),
            expect(NONE, ["a-stale-hash"], vec![]),
        ),
        case(
            "current hash with an old generation label is new: the old pod goes, not it",
            cluster(surge_daemon_set())
                .nodes(nodes(1))
                .pods([
                    pod("a-old").on("node-0").old().created(ago(7200)),
                    pod("b-current-hash")
                        .on("node-0")
                        .label(TEMPLATE_GENERATION_LABEL, "0")
                        .created(ago(600))
                        .ready_since(ago(300)),
                ])
                .snapshot(),
            expect(NONE, ["a-old"], vec![]),
        ),
        case(
            "two new pods: the younger is deleted",
            cluster(surge_daemon_set())
                .nodes(nodes(1))
                .pods([
                    pod("new-old").on("node-0").created(ago(7200)),
                    pod("new-young").on("node-0").created(ago(60)),
                ])
                .snapshot(),
            expect(NONE, ["new-young"], vec![]),
        ),
        case(
            "two old pods and no new one: the younger is deleted, nothing created",
            cluster(surge_daemon_set())
                .nodes(nodes(1))
                .pods([
                    pod("old-old").on("node-0").old().created(ago(7200)),
                    pod("old-young").on("node-0").old().created(ago(60)),
                ])
                .snapshot(),
            expect(NONE, ["old-young"], vec![]),
        ),
        case(
            "two old pods and an available new one: both old pods go",
            cluster(surge_daemon_set())
                .nodes(nodes(1))
                .pods([
                    pod("old-a").on("node-0").old().created(ago(7200)),
                    pod("old-b").on("node-0").old().created(ago(3600)),
                    pod("new").on("node-0").created(ago(600)).ready_since(ago(300)),
                ])
                .snapshot(),
            expect(NONE, ["old-a", "old-b"], vec![]),
        ),
    ]);
}

// Mirrors syncNodes' burstReplicas cap (creates and deletes capped separately) with a cap of 3, both strategies.
#[test]
fn the_burst_cap_limits_creates_and_deletes_separately() {
    check(for_both_strategies(|s| {
        vec![
            case(
                "5 nodes need a pod, cap 3",
                cluster(new_daemon_set("foo", s)).nodes(nodes(5)).burst(3).snapshot(),
                expect(["node-0", "node-1", "node-2"], NONE, vec![]),
            ),
            case(
                "5 duplicate pods to delete, cap 3",
                cluster(new_daemon_set("foo", s))
                    .nodes(nodes(5))
                    .pods((0..5).flat_map(|i| add_pods(&format!("node-{i}"), 2)))
                    .burst(3)
                    .snapshot(),
                expect(NONE, ["node-0-01", "node-1-01", "node-2-01"], vec![]),
            ),
            case(
                "4 creates and 4 deletes, cap 3 each",
                cluster(new_daemon_set("foo", s).node_selector("color", "blue"))
                    .nodes((0..4).map(|i| node(&format!("blue-{i}")).label("color", "blue")))
                    .nodes((0..4).map(|i| node(&format!("red-{i}")).label("color", "red")))
                    .pods((0..4).map(|i| new_pod(&format!("red-{i}-pod"), &format!("red-{i}"))))
                    .burst(3)
                    .snapshot(),
                expect(
                    ["blue-0", "blue-1", "blue-2"],
                    ["red-0-pod", "red-1-pod", "red-2-pod"],
                    vec![],
                ),
            ),
            case(
                "events for every failed pod even when deletes are capped",
                cluster(new_daemon_set("foo", s))
                    .nodes(nodes(5))
                    .pods((0..5).map(|i| new_pod(&format!("failed-{i}"), &format!("node-{i}")).failed()))
                    .burst(3)
                    .snapshot(),
                expect(
                    NONE,
                    ["failed-0", "failed-1", "failed-2"],
                    (0..5)
                        .map(|i| failed_event(&format!("failed-{i}"), &format!("node-{i}")))
                        .collect(),
                ),
            ),
        ]
    }));
}

// Mirrors syncNodes with kube-controller-manager's BurstReplicas = 250 (cf. TestSimpleDaemonSetPodCreateErrors).
#[test]
fn a_300_node_cluster_gets_at_most_250_creates_and_250_deletes_in_one_sync() {
    let eligible: Vec<String> = (0..300).map(|i| format!("node-{i}")).collect();
    let ineligible: Vec<String> = (0..300).map(|i| format!("other-{i}")).collect();
    let snapshot = cluster(daemon_set("foo").node_selector("color", "blue"))
        .nodes(eligible.iter().map(|name| node(name).label("color", "blue")))
        .nodes(ineligible.iter().map(|name| node(name)))
        .pods(ineligible.iter().map(|name| pod(&format!("{name}-pod")).on(name)))
        .snapshot();
    assert_eq!(snapshot.burst_replicas, 250, "kube-controller-manager's burstReplicas");
    let mut creates = sorted(&eligible);
    creates.truncate(250);
    let mut deletes = sorted(ineligible.iter().map(|name| format!("{name}-pod")));
    deletes.truncate(250);
    assert_eq!(
        observe(&snapshot),
        Observed {
            creates,
            deletes,
            events: vec![]
        }
    );
}

/// One sync's writes plus the ownership changes (ClaimPods) it implies.
#[derive(Debug, PartialEq)]
struct Claimed {
    observed: Observed,
    adopted: Vec<String>,
    released: Vec<String>,
}

fn claimed(snapshot: &Snapshot) -> Claimed {
    let plan = planner::plan(snapshot);
    Claimed {
        observed: observe(snapshot),
        adopted: sorted(plan.ownership.adopt_pods.iter().map(|pod| &pod.name)),
        released: sorted(plan.ownership.release_pods.iter().map(|pod| &pod.name)),
    }
}

// Mirrors TestGetNodesToDaemonPods "exclude deleted terminal pods" and ClaimPods rules, per strategy.
#[test]
fn claiming_adopts_matching_orphans_releases_unmatched_pods_and_ignores_the_rest() {
    for strategy in STRATEGIES {
        let daemon_set = || new_daemon_set("foo", strategy);
        let cases = [
            (
                "TestGetNodesToDaemonPods \"exclude deleted terminal pods\"",
                cluster(daemon_set())
                    .nodes(nodes(2))
                    .pods([
                        new_pod("matching-owned-0", "node-0"),
                        new_pod("matching-orphan-0", "node-0").orphan().unlabelled(),
                        new_pod("matching-owned-1", "node-1"),
                        new_pod("matching-orphan-1", "node-1").orphan().unlabelled(),
                        new_pod("matching-owned-succeeded-pod-0", "node-0").phase(PodPhase::Succeeded),
                        new_pod("matching-owned-failed-pod-1", "node-1").phase(PodPhase::Failed),
                        new_pod("non-matching-owned-0", "node-0").not_matching_selector(),
                        new_pod("non-matching-orphan-1", "node-1")
                            .not_matching_selector()
                            .orphan()
                            .unlabelled(),
                        new_pod("matching-owned-by-other-0", "node-0").owned_by_other(),
                        new_pod("matching-owned-succeeded-deleted-pod-0", "node-0")
                            .phase(PodPhase::Succeeded)
                            .terminating(),
                        new_pod("matching-owned-failed-deleted-pod-1", "node-1")
                            .phase(PodPhase::Failed)
                            .terminating(),
                    ])
                    .snapshot(),
                Claimed {
                    // Equal timestamps: "matching-orphan-*" sorts before "matching-owned-*" and survives.
                    observed: expect(
                        NONE,
                        [
                            "matching-owned-0",
                            "matching-owned-1",
                            "matching-owned-succeeded-pod-0",
                            "matching-owned-failed-pod-1",
                        ],
                        vec![
                            succeeded_event("matching-owned-succeeded-pod-0", "node-0"),
                            failed_event("matching-owned-failed-pod-1", "node-1"),
                        ],
                    ),
                    adopted: sorted(["matching-orphan-0", "matching-orphan-1"]),
                    released: sorted(["non-matching-owned-0"]),
                },
            ),
            (
                "ignored and released pods do not count: every node gets a pod",
                cluster(daemon_set())
                    .nodes(nodes(5))
                    .pods([
                        new_pod("released", "node-0").not_matching_selector(),
                        new_pod("orphan-not-matching", "node-1")
                            .orphan()
                            .not_matching_selector(),
                        new_pod("other-controller", "node-2").owned_by_other(),
                        new_pod("terminating-orphan", "node-3").orphan().terminating(),
                        new_pod("deleted-terminal", "node-4").failed().terminating(),
                    ])
                    .snapshot(),
                Claimed {
                    observed: expect(["node-0", "node-1", "node-2", "node-3", "node-4"], NONE, vec![]),
                    adopted: vec![],
                    released: sorted(["released"]),
                },
            ),
            (
                "an adopted orphan is this node's pod: no create, duplicates pruned",
                cluster(daemon_set())
                    .nodes(nodes(2))
                    .pods([
                        new_pod("orphan-0", "node-0").orphan(),
                        new_pod("orphan-1", "node-1").orphan().created(ago(60)),
                        new_pod("owned-1", "node-1").created(ago(3600)),
                    ])
                    .snapshot(),
                Claimed {
                    observed: expect(NONE, ["orphan-1"], vec![]),
                    adopted: sorted(["orphan-0", "orphan-1"]),
                    released: vec![],
                },
            ),
        ];
        for (name, snapshot, expected) in cases {
            assert_eq!(claimed(&snapshot), expected, "{name} [{strategy:?}]");
        }
    }
}

// Mirrors TestDontDoAnythingIfBeingDeleted (0/0/0; no adoption, no status), per strategy.
#[test]
fn a_daemon_set_being_deleted_does_nothing_at_all() {
    for strategy in STRATEGIES {
        let snapshot = cluster(
            new_daemon_set("foo", strategy)
                .template_node_name("not-too-much-mem")
                .deleting(),
        )
        .nodes([node("not-too-much-mem"), node("empty")])
        .pods([
            new_pod("orphan", "empty").orphan(),
            new_pod("failed", "not-too-much-mem").failed(),
            new_pod("non-daemon", "not-too-much-mem")
                .orphan()
                .not_matching_selector()
                .unlabelled(),
        ])
        .snapshot();
        let plan = planner::plan(&snapshot);
        assert_eq!(observe(&snapshot), nothing(), "writes [{strategy:?}]");
        assert!(
            plan.ownership.adopt_pods.is_empty(),
            "no adoption while deleting [{strategy:?}]"
        );
        assert!(plan.status.is_none(), "no status write while deleting [{strategy:?}]");
    }
}

fn select_all(daemon_set: DaemonSetBuilder) -> DaemonSetBuilder {
    daemon_set.selector(Some(LabelSelector::default()))
}

// Mirrors TestPodIsNotDeletedByDaemonsetWithEmptyLabelSelector (0/0/1), also while deleting, per strategy.
#[test]
fn an_empty_selector_only_records_a_selecting_all_warning() {
    for strategy in STRATEGIES {
        let build = |deleting: bool| {
            let daemon_set = select_all(new_daemon_set("foo", strategy).node_selector("foo", "bar"));
            let daemon_set = if deleting { daemon_set.deleting() } else { daemon_set };
            cluster(daemon_set)
                .nodes([node("node1").label("foo", "bar")])
                .pods([pod("non-daemon")
                    .on("node1")
                    .orphan()
                    .not_matching_selector()
                    .unlabelled()
                    .label("bang", "boom")])
                .snapshot()
        };
        // syncDaemonSet checks the empty selector BEFORE the deletionTimestamp, so a deleting DaemonSet warns too.
        for (name, snapshot) in [("live", build(false)), ("being deleted", build(true))] {
            let plan = planner::plan(&snapshot);
            assert_eq!(
                observe(&snapshot),
                expect(NONE, NONE, vec![SELECTING_ALL.into()]),
                "{name} [{strategy:?}]"
            );
            assert!(
                plan.ownership.adopt_pods.is_empty(),
                "{name}: nothing adopted [{strategy:?}]"
            );
            assert!(plan.status.is_none(), "{name}: no status write [{strategy:?}]");
        }
    }
}

// Mirrors apps/v1 validation (selector must match template labels): nothing written, a problem reported
// and a Warning event for the DaemonSet's owner to see.
#[test]
fn a_selector_that_does_not_match_the_template_labels_writes_nothing_and_reports_a_problem() {
    for strategy in STRATEGIES {
        let snapshot = cluster(new_daemon_set("foo", strategy).template_labels(json!({"app": "bar"})))
            .nodes(nodes(2))
            .pods([new_pod("failed", "node-0").failed()])
            .snapshot();
        let plan = planner::plan(&snapshot);
        assert_eq!(
            observe(&snapshot),
            expect(
                NONE,
                NONE,
                vec![
                    "Warning SelectorMismatch: spec.selector does not match spec.template.metadata.labels: \
                     refusing to create pods"
                        .into()
                ]
            ),
            "[{strategy:?}]"
        );
        assert!(!plan.problems.is_empty(), "a problem is reported [{strategy:?}]");
    }
}

// Mirrors updateDaemonSet (rollingUpdate only once manage's expectations are met), both strategies.
#[test]
fn manage_writes_hold_back_the_rolling_update_until_the_next_sync() {
    check(for_both_strategies(|s| {
        let rolling = matches!(s, Strategy::RollingUpdate);
        vec![
            case(
                "an empty node and an old pod: only the create",
                cluster(new_daemon_set("foo", s))
                    .nodes(nodes(2))
                    .pods([pod("old").on("node-0").old()])
                    .snapshot(),
                expect(["node-1"], NONE, vec![]),
            ),
            case(
                "the old pod alone: the rolling update may delete it (RollingUpdate only)",
                cluster(new_daemon_set("foo", s))
                    .nodes(nodes(1))
                    .pods([pod("old").on("node-0").old()])
                    .snapshot(),
                if rolling {
                    expect(NONE, ["old"], vec![])
                } else {
                    nothing()
                },
            ),
        ]
    }));
}

// Mirrors util/daemonset_util.go AllowsSurge (maxSurge resolved against one node must be > 0): a
// negative maxSurge disables surge, so manage prunes the younger of two running pods.
#[test]
fn a_negative_max_surge_does_not_allow_two_pods_on_a_node() {
    let snapshot = cluster(daemon_set("ds").max_unavailable(1).max_surge(-1))
        .nodes([node("n1")])
        .pods([
            pod("a-old").on("n1").old().created(ago(600)),
            pod("b-new").on("n1").not_ready().created(ago(60)),
        ])
        .snapshot();
    assert_eq!(
        crate::support::outcome(&snapshot),
        crate::support::writes(&[], &["b-new"])
    );
}
