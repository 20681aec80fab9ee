//! Rolling update (maxSurge = 0 and > 0), OnDelete, budget resolution, candidate selection and the
//! manage-first rule. Every expectation is worked out by hand from upstream's update.go rollingUpdate,
//! findUpdatedPodsOnNode and updatedDesiredNodeCounts, util/daemonset_util.go and pkg/api/v1/pod
//! IsPodAvailable, for ONE real sync: the rolling update runs only when manage writes nothing.
//!
//! Upstream walks a Go map, so WHICH candidates it takes is unspecified (only how many); our planner
//! takes candidates in node-name order, and the tables assert that deterministic choice.

use std::time::Duration;

use daemonroll::planner::{self, NodeAction, Step};
use daemonroll::snapshot::{
    IntOrString, RollingUpdateParams, Snapshot, TEMPLATE_GENERATION_ANNOTATION, TEMPLATE_GENERATION_LABEL,
    UpdateStrategy,
};

use crate::support::*;

// ---------------------------------------------------------------- helpers

/// What one real sync does: which step wrote, and the writes.
type Sync = (Step, Outcome);

fn sync(snapshot: &Snapshot) -> Sync {
    let plan = planner::plan(snapshot);
    (plan.step, outcome_of(&plan))
}

fn by_rolling_update(creates: &[&str], deletes: &[&str]) -> Sync {
    (Step::RollingUpdate, writes(creates, deletes))
}

fn by_manage(creates: &[&str], deletes: &[&str]) -> Sync {
    (Step::Manage, writes(creates, deletes))
}

fn idle() -> Sync {
    (Step::Idle, writes(&[], &[]))
}

/// Writes given as owned names (for large fleets); sorted the way a plan lists them.
fn sorted_writes(step: Step, mut creates: Vec<String>, mut deletes: Vec<String>) -> Sync {
    creates.sort();
    deletes.sort();
    (step, Outcome { creates, deletes })
}

struct Case {
    name: &'static str,
    snapshot: Snapshot,
    expected: Sync,
}

fn check(cases: Vec<Case>) {
    for case in cases {
        assert_eq!(sync(&case.snapshot), case.expected, "case: {}", case.name);
    }
}

/// A cluster of untainted nodes `node-0 … node-<k-1>`, one per layout token.
fn fleet(daemon_set: DaemonSetBuilder, layout: &str) -> Cluster {
    let count = layout.split_whitespace().count();
    cluster(daemon_set).nodes(nodes(count)).pods(layout_pods(layout))
}

fn fleet_snapshot(daemon_set: DaemonSetBuilder, layout: &str) -> Snapshot {
    fleet(daemon_set, layout).snapshot()
}

/// `token` repeated `count` times, as layout text.
fn repeat(token: &str, count: usize) -> String {
    vec![token; count].join(" ")
}

/// A layout of `count` nodes where node `i` gets `token(i)`.
fn layout_by(count: usize, token: impl Fn(usize) -> &'static str) -> String {
    (0..count).map(token).collect::<Vec<_>>().join(" ")
}

fn no_schedule_taint(name: &str) -> NodeBuilder {
    node(name).taint("node-role.kubernetes.io/control-plane", "", "NoSchedule")
}

/// An old pod that failed on `node`; deleting it is held back by the failed-pod backoff
/// (see `in_backoff`), so manage leaves it alone this sync.
fn failed_old(name: &str, node: &str) -> PodBuilder {
    pod(name).on(node).old().failed()
}

fn in_backoff(cluster: Cluster, node: &str) -> Cluster {
    cluster.backoff(node, 1, Duration::from_secs(60))
}

fn rolling_strategy(max_unavailable: Option<IntOrString>, max_surge: Option<IntOrString>) -> UpdateStrategy {
    UpdateStrategy::RollingUpdate(Some(RollingUpdateParams {
        max_unavailable,
        max_surge,
    }))
}

fn percent(value: &str) -> Option<IntOrString> {
    Some(IntOrString::String(value.into()))
}

// ---------------------------------------------------------------- budgets (updatedDesiredNodeCounts)

#[test]
fn max_unavailable_resolves_ints_and_rounds_percentages_up() {
    // Upstream: update_test.go TestGetUnavailableNumbers; update.go updatedDesiredNodeCounts, util UnavailableCount.
    // Percentages are scaled with intstr roundUp=true.
    // Every pod is old and available, so the rolling update deletes min(maxUnavailable, #old) of them.
    let ds = || daemon_set("ds");
    let cases = vec![
        Case {
            name: "the API default maxUnavailable 1 deletes one old pod (ours: node-0; upstream: any one)",
            snapshot: fleet_snapshot(ds(), "O O O"),
            expected: by_rolling_update(&[], &["old-0"]),
        },
        Case {
            name: "int 2 of 5 nodes",
            snapshot: fleet_snapshot(ds().max_unavailable(2), "O O O O O"),
            expected: by_rolling_update(&[], &["old-0", "old-1"]),
        },
        Case {
            name: "30% of 5 nodes rounds 1.5 up to 2",
            snapshot: fleet_snapshot(ds().max_unavailable("30%"), "O O O O O"),
            expected: by_rolling_update(&[], &["old-0", "old-1"]),
        },
        Case {
            name: "25% of 5 nodes rounds 1.25 up to 2",
            snapshot: fleet_snapshot(ds().max_unavailable("25%"), "O O O O O"),
            expected: by_rolling_update(&[], &["old-0", "old-1"]),
        },
        Case {
            name: "1% of 1 node rounds 0.01 up to 1",
            snapshot: fleet_snapshot(ds().max_unavailable("1%"), "O"),
            expected: by_rolling_update(&[], &["old-0"]),
        },
        Case {
            name: "TestGetUnavailableNumbers 'MaxUnavailable in percents': 50% of 2 nodes is 1",
            snapshot: fleet_snapshot(ds().max_unavailable("50%"), "O O"),
            expected: by_rolling_update(&[], &["old-0"]),
        },
        Case {
            name: "100% of 3 nodes deletes every old pod",
            snapshot: fleet_snapshot(ds().max_unavailable("100%"), "O O O"),
            expected: by_rolling_update(&[], &["old-0", "old-1", "old-2"]),
        },
        Case {
            name: "an int larger than the node count is not capped, only limited by the candidates",
            snapshot: fleet_snapshot(ds().max_unavailable(7), "O O O"),
            expected: by_rolling_update(&[], &["old-0", "old-1", "old-2"]),
        },
        Case {
            name: "TestGetUnavailableNumbers 'surge int 0, unavailable 0': both zero means maxUnavailable 1",
            snapshot: fleet_snapshot(ds().max_unavailable(0).max_surge(0), "O O O O"),
            expected: by_rolling_update(&[], &["old-0"]),
        },
        Case {
            name: "maxUnavailable 0% with maxSurge unset resolves to 0 and is defaulted to 1",
            snapshot: fleet_snapshot(ds().strategy(rolling_strategy(percent("0%"), None)), "O O O O"),
            expected: by_rolling_update(&[], &["old-0"]),
        },
        Case {
            name: "maxUnavailable 0% with maxSurge 0% is defaulted to 1",
            snapshot: fleet_snapshot(ds().strategy(rolling_strategy(percent("0%"), percent("0%"))), "O O O O"),
            expected: by_rolling_update(&[], &["old-0"]),
        },
        Case {
            name: "RollingUpdate without rollingUpdate parameters resolves both to 0, defaulted to maxUnavailable 1",
            snapshot: fleet_snapshot(ds().strategy(UpdateStrategy::RollingUpdate(None)), "O O O O"),
            expected: by_rolling_update(&[], &["old-0"]),
        },
        Case {
            name: "TestGetUnavailableNumbers 'pod terminating' (third node holds an old pod instead of nothing): \
                   50% of 3 is 2, the terminating-only node uses one",
            snapshot: fleet_snapshot(ds().max_unavailable("50%"), "O T O"),
            expected: by_rolling_update(&[], &["old-0"]),
        },
    ];
    check(cases);
}

#[test]
fn percentages_scale_against_nodes_that_should_run_a_pod_only() {
    // Upstream: update.go updatedDesiredNodeCounts (desiredNumberScheduled counts shouldRun nodes only).
    // 4 eligible nodes + node-4 with an untolerated NoSchedule taint holding an (available, old) pod:
    // 50% of 4 = 2 deletions; scaled against 5 nodes it would be 3. node-4's old pod is still a candidate.
    let mut all = nodes(4);
    all.push(no_schedule_taint("node-4"));
    let snapshot = cluster(daemon_set("ds").max_unavailable("50%"))
        .nodes(all)
        .pods(layout_pods("O O O O O"))
        .snapshot();
    assert_eq!(sync(&snapshot), by_rolling_update(&[], &["old-0", "old-1"]));
}

#[test]
fn max_surge_resolves_ints_and_rounds_percentages_up() {
    // Upstream: update_test.go TestGetUnavailableNumbers; update.go updatedDesiredNodeCounts, util SurgeCount.
    // Every pod is old and available: the rolling update surges onto min(maxSurge, #old) nodes.
    let ds = || daemon_set("ds");
    let cases = vec![
        Case {
            name: "surge 1 of 5 nodes (ours: node-0; upstream: any one)",
            snapshot: fleet_snapshot(ds().surge(1), "O O O O O"),
            expected: by_rolling_update(&["node-0"], &[]),
        },
        Case {
            name: "TestGetUnavailableNumbers 'in percents, surge': 50% of 2 nodes is 1",
            snapshot: fleet_snapshot(ds().surge("50%"), "O O"),
            expected: by_rolling_update(&["node-0"], &[]),
        },
        Case {
            name: "TestGetUnavailableNumbers 'MaxUnavailable is 100%, surge': 100% of 2 nodes is 2",
            snapshot: fleet_snapshot(ds().surge("100%"), "O O"),
            expected: by_rolling_update(&["node-0", "node-1"], &[]),
        },
        Case {
            name: "30% of 5 nodes rounds up to 2",
            snapshot: fleet_snapshot(ds().surge("30%"), "O O O O O"),
            expected: by_rolling_update(&["node-0", "node-1"], &[]),
        },
        Case {
            name: "20% of 3 nodes rounds 0.6 up to 1",
            snapshot: fleet_snapshot(ds().surge("20%"), "O O O"),
            expected: by_rolling_update(&["node-0"], &[]),
        },
        Case {
            name: "1% of 1 node rounds up to 1",
            snapshot: fleet_snapshot(ds().surge("1%"), "O"),
            expected: by_rolling_update(&["node-0"], &[]),
        },
        Case {
            name: "an int larger than the node count surges onto every node",
            snapshot: fleet_snapshot(ds().surge(10), "O O O"),
            expected: by_rolling_update(&["node-0", "node-1", "node-2"], &[]),
        },
    ];
    check(cases);
}

#[test]
fn invalid_budgets_stop_the_rolling_update_and_report_a_problem() {
    // Upstream: update.go rollingUpdate returns "couldn't get unavailable numbers" when intstr
    // GetScaledValueFromIntOrPercent fails (a string must be "<int>%"); syncDaemonSet still writes status
    // with observedGeneration raised (updateDaemonSetStatus(..., true) runs after updateDaemonSet's error).
    let cases = [
        (
            "maxUnavailable \"10\" (no percent sign)",
            daemon_set("ds").max_unavailable("10"),
        ),
        ("maxUnavailable \"abc%\"", daemon_set("ds").max_unavailable("abc%")),
        (
            "maxSurge \"abc%\"",
            daemon_set("ds").max_unavailable(0).max_surge("abc%"),
        ),
        (
            "maxSurge \"5\" (no percent sign)",
            daemon_set("ds").max_unavailable(0).max_surge("5"),
        ),
    ];
    for (name, ds) in cases {
        let snapshot = fleet(ds.generation(2).status(counts([0; 7]), 1), "O O O").snapshot();
        let plan = planner::plan(&snapshot);
        assert_eq!((plan.step, outcome_of(&plan)), idle(), "case: {name}");
        assert!(
            !plan.problems.is_empty(),
            "case: {name}: the rolling-update error must be reported"
        );
        let status = plan.status.expect("status is still written");
        assert_eq!(status.status.observed_generation, 2, "case: {name}");
    }
    // The same fleet with a valid budget rolls and reports nothing.
    let valid_snapshot = fleet(daemon_set("ds").max_unavailable("10%"), "O O O").snapshot();
    let valid = planner::plan(&valid_snapshot);
    assert_eq!((valid.step, outcome_of(&valid)), by_rolling_update(&[], &["old-0"]));
    assert!(valid.problems.is_empty(), "unexpected problems: {:?}", valid.problems);
}

// ---------------------------------------------------------------- maxSurge = 0

#[test]
fn without_surge_unavailable_nodes_use_up_the_budget() {
    // Upstream: update.go rollingUpdate (maxSurge == 0 branch) — what counts as unavailable.
    let ds = |max_unavailable: i64| daemon_set("ds").max_unavailable(max_unavailable);
    let cases = vec![
        Case {
            name: "a new pod that is not ready counts as unavailable: budget 1 is spent",
            snapshot: fleet_snapshot(ds(1), "n O O"),
            expected: idle(),
        },
        Case {
            name: "a new pod that is not ready leaves 1 of budget 2",
            snapshot: fleet_snapshot(ds(2), "n O O"),
            expected: by_rolling_update(&[], &["old-1"]),
        },
        Case {
            name: "an available new pod costs nothing",
            snapshot: fleet_snapshot(ds(1), "N O O"),
            expected: by_rolling_update(&[], &["old-1"]),
        },
        Case {
            name: "a node whose only pod is terminating counts as unavailable (manage waits, no create)",
            snapshot: fleet_snapshot(ds(1), "T O O"),
            expected: idle(),
        },
        Case {
            name: "a terminating-only node leaves 1 of budget 2",
            snapshot: fleet_snapshot(ds(2), "T O O"),
            expected: by_rolling_update(&[], &["old-1"]),
        },
        Case {
            name: "terminating pods are ignored: a node with a terminating old pod and an available new pod is fine",
            snapshot: fleet_snapshot(ds(1), "TN O O"),
            expected: by_rolling_update(&[], &["old-1"]),
        },
        Case {
            name: "TestDaemonSetUpdatesNoTemplateChanged: unready pods that are all new are never deleted",
            snapshot: fleet_snapshot(ds(3), "n n n n n"),
            expected: idle(),
        },
    ];
    check(cases);
}

#[test]
fn without_surge_nodes_with_two_old_or_two_new_pods_are_skipped_and_count_as_unavailable() {
    // Upstream: update.go findUpdatedPodsOnNode (more than one old or new pod → !ok) and rollingUpdate
    // (!ok → numUnavailable++). A Failed pod held back by the failed-pod backoff stays on the node
    // (manage skips it, daemon_controller.go podsShouldBeOnNode) but is classified like any other pod.
    let two_old = |max_unavailable: i64| {
        in_backoff(
            fleet(daemon_set("ds").max_unavailable(max_unavailable), "O O O"),
            "node-0",
        )
        .pods([failed_old("old-0-failed", "node-0")])
        .snapshot()
    };
    let two_new = in_backoff(fleet(daemon_set("ds"), "N O O"), "node-0")
        .pods([pod("new-0-failed").on("node-0").failed()])
        .snapshot();
    let old_and_new = in_backoff(fleet(daemon_set("ds"), "N O O"), "node-0")
        .pods([failed_old("old-0-failed", "node-0")])
        .snapshot();
    let cases = vec![
        Case {
            name: "two old pods on node-0 spend budget 1",
            snapshot: two_old(1),
            expected: idle(),
        },
        Case {
            name: "two old pods on node-0 leave 1 of budget 2 (ours: node-1)",
            snapshot: two_old(2),
            expected: by_rolling_update(&[], &["old-1"]),
        },
        Case {
            name: "two new pods on node-0 spend budget 1",
            snapshot: two_new,
            expected: idle(),
        },
        Case {
            name: "an old (failed) and a new pod on node-0 count as unavailable",
            snapshot: old_and_new,
            expected: idle(),
        },
    ];
    check(cases);
}

#[test]
fn without_surge_old_pods_that_are_not_available_are_replaced_beyond_the_budget() {
    // Upstream: update.go rollingUpdate (maxSurge == 0): an unavailable old pod goes to allowedReplacementPods
    // before the numUnavailable >= maxUnavailable check.
    let stale = |name: &str, node: &str| pod(name).on(node).old().ready_since(ago(30));
    let cases = vec![
        Case {
            name: "TestDaemonSetUpdatesAllOldPodsNotReady: 5 unready old pods, maxUnavailable 3 → all 5",
            snapshot: fleet_snapshot(daemon_set("ds").max_unavailable(3), "o o o o o"),
            expected: by_rolling_update(&[], &["old-0", "old-1", "old-2", "old-3", "old-4"]),
        },
        Case {
            name: "minReadySeconds 60 with old pods Ready for 30 s: every old pod is unavailable and replaced",
            snapshot: cluster(daemon_set("ds").min_ready_seconds(60))
                .nodes(nodes(4))
                .pods((0..4).map(|i| stale(&format!("old-{i}"), &format!("node-{i}"))))
                .snapshot(),
            expected: by_rolling_update(&[], &["old-0", "old-1", "old-2", "old-3"]),
        },
        Case {
            name: "replacements use the budget first: no available old pod is taken",
            snapshot: fleet_snapshot(daemon_set("ds").max_unavailable(2), "O o O o O"),
            expected: by_rolling_update(&[], &["old-1", "old-3"]),
        },
        Case {
            name: "replacements plus the candidates the budget still allows",
            snapshot: fleet_snapshot(daemon_set("ds").max_unavailable(3), "O o O O O"),
            expected: by_rolling_update(&[], &["old-0", "old-1", "old-2"]),
        },
        Case {
            name: "an old Failed pod held back by the backoff is replaced by the rolling update",
            snapshot: in_backoff(fleet(daemon_set("ds"), "- O O"), "node-0")
                .pods([failed_old("old-0-failed", "node-0")])
                .snapshot(),
            expected: by_rolling_update(&[], &["old-0-failed"]),
        },
    ];
    check(cases);
}

#[test]
fn without_surge_every_node_in_the_pod_map_is_walked() {
    // Upstream: update.go rollingUpdate iterates nodeToDaemonPods, which holds every claimed pod's target
    // node (getNodesToDaemonPods), including nodes that should not run a pod and nodes not in the lister.
    let mut tainted = vec![no_schedule_taint("node-0")];
    tainted.extend(nodes(3).into_iter().skip(1));
    let cases = vec![
        Case {
            name: "an available old pod on an untolerated-NoSchedule node is a deletion candidate",
            snapshot: cluster(daemon_set("ds"))
                .nodes(tainted)
                .pods(layout_pods("O N N"))
                .snapshot(),
            expected: by_rolling_update(&[], &["old-0"]),
        },
        Case {
            name: "an available old pod bound to a node that no longer exists is a deletion candidate",
            snapshot: fleet(daemon_set("ds"), "N N")
                .pods([pod("old-x").on("node-gone").old()])
                .snapshot(),
            expected: by_rolling_update(&[], &["old-x"]),
        },
    ];
    check(cases);
}

#[test]
fn available_old_pods_are_chosen_by_node_name_within_the_budget() {
    // Upstream: update.go rollingUpdate takes candidates in Go map order (unspecified); only the count
    // min(max(0, maxUnavailable - numUnavailable), #candidates) is defined. Ours: node-name order.
    let snapshot = fleet_snapshot(daemon_set("ds").max_unavailable(2), "N O O O O");
    let plan = planner::plan(&snapshot);
    assert_eq!(plan.deletes.len(), 2, "upstream's count");
    assert_eq!(
        outcome_of(&plan),
        writes(&[], &["old-1", "old-2"]),
        "our deterministic choice"
    );
    let actions: Vec<_> = (0..5).map(|i| action_on(&plan, &format!("node-{i}"))).collect();
    assert_eq!(
        actions,
        [
            Some(NodeAction::Keep),
            Some(NodeAction::Delete),
            Some(NodeAction::Delete),
            Some(NodeAction::Wait),
            Some(NodeAction::Wait),
        ]
    );
}

#[test]
fn rolling_deletes_are_sorted_by_pod_name_and_capped_at_the_burst_limit() {
    // Upstream: daemon_controller.go syncNodes caps deletes at burstReplicas (250); update.go rollingUpdate
    // sends every unavailable old pod. Upstream caps its (map-ordered) list; ours sorts by pod name first.
    let snapshot = fleet_snapshot(daemon_set("ds"), &repeat("o", 300));
    let mut names: Vec<String> = (0..300).map(|i| format!("old-{i}")).collect();
    names.sort();
    names.truncate(250);
    let plan = planner::plan(&snapshot);
    assert_eq!(plan.deletes.len(), 250);
    assert_eq!(
        (plan.step, outcome_of(&plan)),
        sorted_writes(Step::RollingUpdate, vec![], names)
    );
}

// ---------------------------------------------------------------- availability inside the rolling update

#[test]
fn min_ready_seconds_boundary_and_missing_transition_time_decide_availability() {
    // Upstream: pkg/api/v1/pod/util.go IsPodAvailable — available iff Ready and (minReadySeconds == 0 or
    // LTT set and LTT + minReadySeconds <= now; inclusive since kubernetes PR #132122), TestIsPodAvailable.
    let ds = || daemon_set("ds").min_ready_seconds(10);
    let cases = vec![
        Case {
            name: "old pod Ready exactly minReadySeconds is available (a candidate); one Ready 9 s is replaced",
            snapshot: cluster(ds())
                .nodes(nodes(2))
                .pods([
                    pod("old-0").on("node-0").old().ready_since(ago(10)),
                    pod("old-1").on("node-1").old().ready_since(ago(9)),
                ])
                .snapshot(),
            // old-1 uses the budget; with a strict `<` old-0 would be replaced too.
            expected: by_rolling_update(&[], &["old-1"]),
        },
        Case {
            name: "new pod Ready exactly minReadySeconds is available, so the budget is free",
            snapshot: cluster(ds())
                .nodes(nodes(2))
                .pods([
                    pod("new-0").on("node-0").ready_since(ago(10)),
                    pod("old-1").on("node-1").old(),
                ])
                .snapshot(),
            expected: by_rolling_update(&[], &["old-1"]),
        },
        Case {
            name: "new pod Ready one second short of minReadySeconds is unavailable and spends the budget",
            snapshot: cluster(ds())
                .nodes(nodes(2))
                .pods([
                    pod("new-0").on("node-0").ready_since(ago(9)),
                    pod("old-1").on("node-1").old(),
                ])
                .snapshot(),
            expected: idle(),
        },
        Case {
            name: "Ready without lastTransitionTime and minReadySeconds 10: never available, replaced",
            snapshot: cluster(ds())
                .nodes(nodes(3))
                .pods([
                    pod("old-0").on("node-0").old(),
                    pod("old-1").on("node-1").old(),
                    pod("old-2").on("node-2").old().ready_without_time(),
                ])
                .snapshot(),
            expected: by_rolling_update(&[], &["old-2"]),
        },
        Case {
            name: "Ready without lastTransitionTime and minReadySeconds 0: available, an ordinary candidate",
            snapshot: cluster(daemon_set("ds"))
                .nodes(nodes(3))
                .pods([
                    pod("old-0").on("node-0").old(),
                    pod("old-1").on("node-1").old(),
                    pod("old-2").on("node-2").old().ready_without_time(),
                ])
                .snapshot(),
            expected: by_rolling_update(&[], &["old-0"]),
        },
    ];
    check(cases);
}

#[test]
fn updated_pods_are_recognised_by_hash_or_by_the_template_generation_label() {
    // Upstream: util/daemonset_util.go IsPodUpdated (hash label == hash, OR pod-template-generation label ==
    // the generation annotation when it parses), TestIsPodUpdated; used by findUpdatedPodsOnNode.
    // node-0 holds the pod under test; node-1 an ordinary old pod; maxUnavailable 1.
    // If the pod under test is new, only old-1 is a candidate; if it is old, node-0 comes first by name.
    let with_pod = |ds: DaemonSetBuilder, under_test: PodBuilder| {
        cluster(ds)
            .nodes(nodes(2))
            .pods([under_test, pod("old-1").on("node-1").old()])
            .snapshot()
    };
    let generation_match = || pod("gen-0").on("node-0").old().label(TEMPLATE_GENERATION_LABEL, "1");
    let mut unparsable_annotation = with_pod(daemon_set("ds"), generation_match());
    unparsable_annotation
        .daemon_set
        .annotations
        .insert(TEMPLATE_GENERATION_ANNOTATION, "abc");
    let cases = vec![
        Case {
            name: "hash differs but the generation label equals the annotation: updated",
            snapshot: with_pod(daemon_set("ds"), generation_match()),
            expected: by_rolling_update(&[], &["old-1"]),
        },
        Case {
            name: "generation 5: a pod labelled 5 with an old hash is updated",
            snapshot: with_pod(
                daemon_set("ds").generation(5),
                pod("gen-0").on("node-0").old().label(TEMPLATE_GENERATION_LABEL, "5"),
            ),
            expected: by_rolling_update(&[], &["old-1"]),
        },
        Case {
            name: "hash matches while the generation label is stale: updated",
            snapshot: with_pod(
                daemon_set("ds"),
                pod("gen-0").on("node-0").label(TEMPLATE_GENERATION_LABEL, "0"),
            ),
            expected: by_rolling_update(&[], &["old-1"]),
        },
        Case {
            name: "annotation absent: only the hash counts, so the generation-labelled pod is old",
            snapshot: with_pod(daemon_set("ds").without_template_generation(), generation_match()),
            expected: by_rolling_update(&[], &["gen-0"]),
        },
        Case {
            name: "annotation that does not parse as int64: only the hash counts",
            snapshot: unparsable_annotation,
            expected: by_rolling_update(&[], &["gen-0"]),
        },
    ];
    check(cases);
}

// ---------------------------------------------------------------- manage first

#[test]
fn manage_writes_leave_the_rolling_update_for_a_later_sync() {
    // Upstream: daemon_controller.go updateDaemonSet — rollingUpdate runs only if SatisfiedExpectations
    // after manage, which is false in a real cluster once manage created or deleted anything (semantics B22).
    let with_failed = fleet(daemon_set("ds").max_unavailable(2), "O O -")
        .pods([failed_old("old-2", "node-2")])
        .snapshot();
    let mut noexecute = vec![node("node-0").taint("dedicated", "user1", "NoExecute")];
    noexecute.extend(nodes(3).into_iter().skip(1));
    let cases = vec![
        Case {
            name: "derived D1: an empty desired node gets its pod; no old pod is deleted in the same sync",
            snapshot: fleet_snapshot(daemon_set("ds").max_unavailable(2), "O O -"),
            expected: by_manage(&["node-2"], &[]),
        },
        Case {
            name: "derived D10: a failed old pod is deleted by manage; the rolling update waits",
            snapshot: with_failed,
            expected: by_manage(&[], &["old-2"]),
        },
        Case {
            name: "derived D9: two old pods on a node — manage keeps the oldest (name tiebreak), deletes the other",
            snapshot: fleet_snapshot(daemon_set("ds").max_unavailable(2), "OO O O"),
            expected: by_manage(&[], &["old-0b"]),
        },
        Case {
            name: "derived D3: with surge a terminating-only node gets a new pod at once; no surge candidate this sync",
            snapshot: fleet_snapshot(daemon_set("ds").surge(1), "T O O"),
            expected: by_manage(&["node-0"], &[]),
        },
        Case {
            name: "derived D4: with surge an untolerated NoExecute taint makes manage delete the pod",
            snapshot: cluster(daemon_set("ds").surge(1))
                .nodes(noexecute)
                .pods(layout_pods("O O O"))
                .snapshot(),
            expected: by_manage(&[], &["old-0"]),
        },
        Case {
            name: "TestSurgeCreatesNewPodWhenAtMaxSurgeAndOldPodDeleted: create on the node whose old pod terminates",
            snapshot: cluster(daemon_set("ds").surge(1))
                .nodes(nodes(5))
                .pods([
                    pod("new-0").on("node-0").created(ago(60)).not_ready(),
                    pod("old-0").on("node-0").old(),
                    pod("old-1").on("node-1").old(),
                    pod("old-2").on("node-2").old(),
                    pod("old-3").on("node-3").old(),
                    pod("old-4").on("node-4").old().terminating(),
                ])
                .snapshot(),
            expected: by_manage(&["node-4"], &[]),
        },
        Case {
            name: "TestDaemonSetUpdatesPodsWithMaxSurge step 3a: manage deletes old pods beside available new ones",
            snapshot: fleet_snapshot(daemon_set("ds").surge(2), "ON ON O O O"),
            expected: by_manage(&[], &["old-0", "old-1"]),
        },
    ];
    check(cases);
}

// ---------------------------------------------------------------- maxSurge > 0

#[test]
fn surge_creates_within_max_surge_and_waits_for_new_pods_to_become_available() {
    // Upstream: update.go rollingUpdate (maxSurge > 0 branch) and podsShouldBeOnNode's surge pruning.
    let ds = || daemon_set("ds").surge(1);
    let ready_for = |seconds: i64| {
        cluster(ds().min_ready_seconds(10))
            .nodes(nodes(3))
            .pods(layout_pods("O O O"))
            .pods([pod("new-0")
                .on("node-0")
                .created(ago(seconds + 5))
                .ready_since(ago(seconds))])
            .snapshot()
    };
    let cases = vec![
        Case {
            name: "a new pod that is not ready yet holds the surge budget",
            snapshot: fleet_snapshot(ds(), "On O O"),
            expected: idle(),
        },
        Case {
            name: "a new pod Ready for 5 s with minReadySeconds 10 is not available: both pods stay, budget held",
            snapshot: ready_for(5),
            expected: idle(),
        },
        Case {
            name: "a new pod Ready exactly minReadySeconds is available: manage deletes the old pod",
            snapshot: ready_for(10),
            expected: by_manage(&[], &["old-0"]),
        },
        Case {
            name: "once the old pod is gone the budget is free again (ours: node-1; upstream: node-1 or node-2)",
            snapshot: fleet_snapshot(ds(), "N O O"),
            expected: by_rolling_update(&["node-1"], &[]),
        },
        Case {
            name: "old pods that are not available get a new pod regardless of maxSurge, plus the free budget",
            snapshot: fleet_snapshot(ds(), "o o O O"),
            expected: by_rolling_update(&["node-0", "node-1", "node-2"], &[]),
        },
        Case {
            name: "forced creates while the budget is held by a surging node",
            snapshot: fleet_snapshot(ds(), "On o O"),
            expected: by_rolling_update(&["node-1"], &[]),
        },
        Case {
            name: "minReadySeconds 60 with old pods Ready 30 s: every node gets a new pod",
            snapshot: cluster(ds().min_ready_seconds(60))
                .nodes(nodes(3))
                .pods((0..3).map(|i| {
                    pod(&format!("old-{i}"))
                        .on(&format!("node-{i}"))
                        .old()
                        .ready_since(ago(30))
                }))
                .snapshot(),
            expected: by_rolling_update(&["node-0", "node-1", "node-2"], &[]),
        },
        Case {
            name: "a node with two old pods counts as surging (manage prunes it)",
            snapshot: in_backoff(fleet(ds(), "O O O"), "node-0")
                .pods([failed_old("old-0-failed", "node-0")])
                .snapshot(),
            expected: idle(),
        },
        Case {
            name: "an old Failed pod kept by the backoff is deleted once the new pod on its node is available",
            snapshot: in_backoff(fleet(ds(), "N O O"), "node-0")
                .pods([failed_old("old-0-failed", "node-0")])
                .snapshot(),
            expected: by_rolling_update(&["node-1"], &["old-0-failed"]),
        },
        Case {
            name: "TestDaemonSetUpdatesNoTemplateChanged (surge variant): all pods new, nothing to do",
            snapshot: fleet_snapshot(ds(), "n n n"),
            expected: idle(),
        },
    ];
    check(cases);
}

#[test]
fn surge_fails_when_an_old_pod_without_a_new_pod_targets_a_missing_node() {
    // Upstream: update.go rollingUpdate (maxSurge > 0): nodeLister.Get for a node holding only an old pod;
    // an error returns from rollingUpdate before syncNodes, so nothing is written.
    let broken = fleet(daemon_set("ds").surge(1), "O O")
        .pods([pod("old-x").on("node-gone").old()])
        .snapshot();
    let plan = planner::plan(&broken);
    assert_eq!((plan.step, outcome_of(&plan)), idle());
    assert!(!plan.problems.is_empty(), "the failed node lookup must be reported");

    // A new pod on the missing node needs no lookup: the rolling update proceeds.
    let fine = fleet(daemon_set("ds").surge(1), "O O")
        .pods([pod("new-x").on("node-gone")])
        .snapshot();
    assert_eq!(sync(&fine), by_rolling_update(&["node-0"], &[]));
}

#[test]
fn a_failed_surge_rolling_update_leaves_every_old_pod_waiting_whatever_the_node_names() {
    // The missing node sorts first: no node may claim a write the failed step never issues
    // (node-0's old pod is not available, which would otherwise get a new pod at once).
    let broken = fleet(daemon_set("ds").surge(1), "o O")
        .pods([pod("old-x").on("a-gone").old()])
        .snapshot();
    let plan = planner::plan(&broken);
    assert_eq!((plan.step, outcome_of(&plan)), idle());
    let notes: Vec<(&str, NodeAction, String)> = plan
        .nodes
        .iter()
        .map(|note| (note.node, note.action, note.reason.to_string()))
        .collect();
    let blocked = r#"rolling update blocked: couldn't get node for nodeName "a-gone": node not found"#;
    assert_eq!(
        notes,
        [
            (
                "a-gone",
                NodeAction::Keep,
                "node a-gone does not exist; the pod garbage collector removes its pods".to_string()
            ),
            ("node-0", NodeAction::Wait, blocked.to_string()),
            ("node-1", NodeAction::Wait, blocked.to_string()),
        ]
    );
}

#[test]
fn surge_sunsets_pods_on_nodes_that_should_no_longer_run_one() {
    // Upstream: kubernetes PR #119317 (update.go rollingUpdate, maxSurge > 0): an unavailable old pod on a
    // !shouldRun node is deleted at once; an available one only while numAvailable > desiredNumberScheduled.
    let two_tainted = || {
        let mut all = vec![no_schedule_taint("node-0"), no_schedule_taint("node-1")];
        all.extend(nodes(5).into_iter().skip(2));
        all
    };
    let one_tainted = || {
        let mut all = vec![no_schedule_taint("node-0")];
        all.extend(nodes(5).into_iter().skip(1));
        all
    };
    let on = |all: Vec<NodeBuilder>, ds: DaemonSetBuilder, layout: &str| {
        cluster(ds).nodes(all).pods(layout_pods(layout)).snapshot()
    };
    let ds = || daemon_set("ds").surge(1);
    let cases = vec![
        Case {
            name: "TestDaemonSetUpdatesPodsNotMatchTainstWithMaxSurge step 1: 5 available > 4 desired",
            snapshot: on(one_tainted(), ds(), "O O O O O"),
            expected: by_rolling_update(&["node-1"], &["old-0"]),
        },
        Case {
            name: "available equals desired: the old pod on the tainted node stays",
            snapshot: on(one_tainted(), ds(), "O o O O O"),
            expected: by_rolling_update(&["node-1", "node-2"], &[]),
        },
        Case {
            name: "derived D5: an unavailable old pod on the tainted node is deleted whatever the count",
            snapshot: on(one_tainted(), ds(), "o O O O O"),
            expected: by_rolling_update(&["node-1"], &["old-0"]),
        },
        Case {
            name: "two sunset pods, 5 available, 3 desired: both go",
            snapshot: on(two_tainted(), ds(), "O O O O O"),
            expected: by_rolling_update(&["node-2"], &["old-0", "old-1"]),
        },
        Case {
            name: "two sunset pods, 4 available, 3 desired: one goes (ours: node-0; upstream: either)",
            snapshot: on(two_tainted(), ds(), "O O o O O"),
            expected: by_rolling_update(&["node-2", "node-3"], &["old-0"]),
        },
        Case {
            name: "every node tainted, surge int 1: nothing desired, both available pods go",
            snapshot: on(
                vec![no_schedule_taint("node-0"), no_schedule_taint("node-1")],
                ds(),
                "O O",
            ),
            expected: by_rolling_update(&[], &["old-0", "old-1"]),
        },
        Case {
            name: "every node tainted, surge 10%: 10% of 0 desired is 0, so the maxSurge = 0 branch keeps them",
            snapshot: on(
                vec![no_schedule_taint("node-0"), no_schedule_taint("node-1")],
                daemon_set("ds").surge("10%"),
                "O O",
            ),
            expected: idle(),
        },
    ];
    check(cases);
}

// ---------------------------------------------------------------- OnDelete and other strategies

#[test]
fn on_delete_never_replaces_pods_because_of_a_template_change() {
    // Upstream: daemon_controller.go updateDaemonSet calls rollingUpdate only for RollingUpdate; util AllowsSurge
    // is false for OnDelete, update_test.go setup syncs under OnDelete.
    let cases = vec![
        Case {
            name: "available old pods stay",
            snapshot: fleet_snapshot(daemon_set("ds").on_delete(), "O O O"),
            expected: idle(),
        },
        Case {
            name: "unready old pods stay",
            snapshot: fleet_snapshot(daemon_set("ds").on_delete(), "o o o"),
            expected: idle(),
        },
        Case {
            name: "a node whose old pod was deleted gets a pod of the current template",
            snapshot: fleet_snapshot(daemon_set("ds").on_delete(), "O - O"),
            expected: by_manage(&["node-1"], &[]),
        },
        Case {
            name: "a terminating old pod is not replaced until it is gone",
            snapshot: fleet_snapshot(daemon_set("ds").on_delete(), "O T O"),
            expected: idle(),
        },
        Case {
            name: "no surge under OnDelete: of an old and a new pod, manage keeps the oldest (the old one)",
            snapshot: fleet_snapshot(daemon_set("ds").on_delete(), "ON O"),
            expected: by_manage(&[], &["new-0"]),
        },
        Case {
            name: "an unknown strategy type has no rolling step either",
            snapshot: fleet_snapshot(
                daemon_set("ds").strategy(UpdateStrategy::Other("Fancy".into())),
                "O o O",
            ),
            expected: idle(),
        },
    ];
    check(cases);
}

// ---------------------------------------------------------------- upstream multi-step tests

#[test]
fn rolling_update_replaces_two_pods_at_a_time_with_max_unavailable_two() {
    // Upstream: update_test.go TestDaemonSetUpdatesPods (5 nodes, maxUnavailable 2); steps "b" are the
    // rolling update upstream's fake ran inside the preceding manage sync (it deleted nothing then).
    let ds = || daemon_set("ds").max_unavailable(2);
    let step = |name, layout: &str, expected| Case {
        name,
        snapshot: fleet_snapshot(ds(), layout),
        expected,
    };
    check(vec![
        step(
            "1: delete 2 (ours: node-0, node-1)",
            "O O O O O",
            by_rolling_update(&[], &["old-0", "old-1"]),
        ),
        step("2: manage creates", "- - O O O", by_manage(&["node-0", "node-1"], &[])),
        step("2b: 2 new pods not ready spend the budget", "n n O O O", idle()),
        step(
            "3: after markPodsReady, delete 2 more",
            "N N O O O",
            by_rolling_update(&[], &["old-2", "old-3"]),
        ),
        step("4: manage creates", "N N - - O", by_manage(&["node-2", "node-3"], &[])),
        step("4b", "N N n n O", idle()),
        step(
            "5: only one candidate left",
            "N N N N O",
            by_rolling_update(&[], &["old-4"]),
        ),
        step("6: manage creates", "N N N N -", by_manage(&["node-4"], &[])),
        step("6b", "N N N N n", idle()),
        step("7: done", "N N N N N", idle()),
    ]);
}

#[test]
fn rolling_update_with_max_surge_two_surges_then_deletes_old_pods() {
    // Upstream: update_test.go TestDaemonSetUpdatesPodsWithMaxSurge (5 nodes, maxSurge 2). Upstream steps 3
    // and 5 did manage deletes + rolling creates in one fake sync: split into a (manage) and b (rolling update).
    let ds = || daemon_set("ds").surge(2);
    let step = |name, layout: &str, expected| Case {
        name,
        snapshot: fleet_snapshot(ds(), layout),
        expected,
    };
    check(vec![
        step(
            "1: surge onto 2 nodes (ours: node-0, node-1)",
            "O O O O O",
            by_rolling_update(&["node-0", "node-1"], &[]),
        ),
        step("2: new pods not ready", "On On O O O", idle()),
        step(
            "3a: new pods available, manage deletes old",
            "ON ON O O O",
            by_manage(&[], &["old-0", "old-1"]),
        ),
        step(
            "3b: surge onto 2 more",
            "N N O O O",
            by_rolling_update(&["node-2", "node-3"], &[]),
        ),
        step("4", "N N On On O", idle()),
        step("5a", "N N ON ON O", by_manage(&[], &["old-2", "old-3"])),
        step(
            "5b: one candidate left",
            "N N N N O",
            by_rolling_update(&["node-4"], &[]),
        ),
        step("6", "N N N N On", idle()),
        step(
            "7: manage deletes the last old pod",
            "N N N N ON",
            by_manage(&[], &["old-4"]),
        ),
        step("8: done", "N N N N N", idle()),
    ]);
}

#[test]
fn rolling_update_with_max_surge_moves_off_a_node_that_no_longer_tolerates_its_taint() {
    // Upstream: update_test.go TestDaemonSetUpdatesPodsNotMatchTainstWithMaxSurge (kubernetes PR #119317):
    // node-0 has control-plane:NoSchedule, the new template no longer tolerates it; maxSurge 1.
    // Upstream steps 3, 5 and 7 (1 create + 1 delete in one fake sync) are split into a/b.
    let step = |name, layout: &str, expected| {
        let mut all = vec![no_schedule_taint("node-0")];
        all.extend(nodes(5).into_iter().skip(1));
        Case {
            name,
            snapshot: cluster(daemon_set("ds").surge(1))
                .nodes(all)
                .pods(layout_pods(layout))
                .snapshot(),
            expected,
        }
    };
    check(vec![
        step(
            "1: surge 1 (ours: node-1) and sunset node-0",
            "O O O O O",
            by_rolling_update(&["node-1"], &["old-0"]),
        ),
        step("2", "- On O O O", idle()),
        step("3a", "- ON O O O", by_manage(&[], &["old-1"])),
        step("3b", "- N O O O", by_rolling_update(&["node-2"], &[])),
        step("4", "- N On O O", idle()),
        step("5a", "- N ON O O", by_manage(&[], &["old-2"])),
        step("5b", "- N N O O", by_rolling_update(&["node-3"], &[])),
        step("6", "- N N On O", idle()),
        step("7a", "- N N ON O", by_manage(&[], &["old-3"])),
        step("7b", "- N N N O", by_rolling_update(&["node-4"], &[])),
        step("8", "- N N N On", idle()),
        step(
            "9: manage deletes the last old pod",
            "- N N N ON",
            by_manage(&[], &["old-4"]),
        ),
        step("10: node-0 stays empty", "- N N N N", idle()),
    ]);
}

#[test]
fn rolling_update_stalls_while_new_pods_never_become_ready() {
    // Upstream: update_test.go TestDaemonSetUpdatesWhenNewPodIsNotReady (maxUnavailable 3).
    let ds = || daemon_set("ds").max_unavailable(3);
    let step = |name, layout: &str, expected| Case {
        name,
        snapshot: fleet_snapshot(ds(), layout),
        expected,
    };
    check(vec![
        step("1", "O O O O O", by_rolling_update(&[], &["old-0", "old-1", "old-2"])),
        step("2", "- - - O O", by_manage(&["node-0", "node-1", "node-2"], &[])),
        step("3: 3 unready new pods spend the budget", "n n n O O", idle()),
    ]);
}

#[test]
fn a_second_template_change_replaces_unready_pods_and_keeps_the_ready_ones() {
    // Upstream: update_test.go TestDaemonSetUpdatesSomeOldPodsNotReady (maxUnavailable 2): after the second
    // template change the 2 unready pods are old and unavailable; the 3 Ready pods survive.
    let ds = || daemon_set("ds").max_unavailable(2);
    let step = |name, layout: &str, expected| Case {
        name,
        snapshot: fleet_snapshot(ds(), layout),
        expected,
    };
    check(vec![
        step("1", "O O O O O", by_rolling_update(&[], &["old-0", "old-1"])),
        step("2", "- - O O O", by_manage(&["node-0", "node-1"], &[])),
        step("3: unready new pods spend the budget", "n n O O O", idle()),
        step(
            "4: new template, the unready pods are old now",
            "o o O O O",
            by_rolling_update(&[], &["old-0", "old-1"]),
        ),
        step("5", "- - O O O", by_manage(&["node-0", "node-1"], &[])),
        step("6", "n n O O O", idle()),
    ]);
}

#[test]
fn repeated_template_changes_never_touch_old_healthy_pods() {
    // Upstream: update_test.go TestDaemonSetUpdatesSaveOldHealthyPods (20 nodes). Upstream draws
    // maxUnavailable at random in 0..=9; we run each value. Which 10 nodes are replaced first is upstream's
    // map order; ours is node-name order: node-0, node-1, node-10 … node-17.
    let mut by_name: Vec<usize> = (0..20).collect();
    by_name.sort_by_key(|i| format!("node-{i}"));
    let replaced: Vec<usize> = by_name[..10].to_vec();
    let old = |set: &[usize]| set.iter().map(|i| format!("old-{i}")).collect::<Vec<_>>();
    let on = |set: &[usize]| set.iter().map(|i| format!("node-{i}")).collect::<Vec<_>>();
    let layout = |set: &[usize], token: &'static str| layout_by(20, |i| if set.contains(&i) { token } else { "O" });

    // Phase 1: maxUnavailable 10.
    let ds = || daemon_set("ds").max_unavailable(10);
    assert_eq!(
        sync(&fleet_snapshot(ds(), &repeat("O", 20))),
        sorted_writes(Step::RollingUpdate, vec![], old(&replaced)),
        "phase 1 delete"
    );
    assert_eq!(
        sync(&fleet_snapshot(ds(), &layout(&replaced, "-"))),
        sorted_writes(Step::Manage, on(&replaced), vec![]),
        "phase 1 create"
    );
    assert_eq!(
        sync(&fleet_snapshot(ds(), &layout(&replaced, "n"))),
        idle(),
        "phase 1 wait"
    );

    // Phase 2: each new template makes the 10 unready pods old and unavailable; only they are replaced.
    for max_unavailable in 0..=9 {
        let ds = || daemon_set("ds").max_unavailable(max_unavailable);
        assert_eq!(
            sync(&fleet_snapshot(ds(), &layout(&replaced, "o"))),
            sorted_writes(Step::RollingUpdate, vec![], old(&replaced)),
            "phase 2, maxUnavailable {max_unavailable}: delete"
        );
        assert_eq!(
            sync(&fleet_snapshot(ds(), &layout(&replaced, "-"))),
            sorted_writes(Step::Manage, on(&replaced), vec![]),
            "phase 2, maxUnavailable {max_unavailable}: create"
        );
        assert_eq!(
            sync(&fleet_snapshot(ds(), &layout(&replaced, "n"))),
            idle(),
            "phase 2, maxUnavailable {max_unavailable}: wait"
        );
    }

    // Phase 3: maxUnavailable 11 — the 10 replacements plus one healthy candidate (ours: node-18, first by
    // name among the healthy nodes); 9 healthy pods remain.
    let ds = || daemon_set("ds").max_unavailable(11);
    let mut eleven = replaced.clone();
    eleven.push(18);
    assert_eq!(
        sync(&fleet_snapshot(ds(), &layout(&replaced, "o"))),
        sorted_writes(Step::RollingUpdate, vec![], old(&eleven)),
        "phase 3 delete"
    );
    assert_eq!(
        sync(&fleet_snapshot(ds(), &layout(&eleven, "-"))),
        sorted_writes(Step::Manage, on(&eleven), vec![]),
        "phase 3 create"
    );
    assert_eq!(
        sync(&fleet_snapshot(ds(), &layout(&eleven, "n"))),
        idle(),
        "phase 3 wait"
    );
}

#[test]
fn unavailable_old_pods_are_replaced_even_when_new_pods_use_up_the_budget() {
    // Upstream: update_test.go TestDaemonSetUpdatesAllOldNotReadyPodsAndNewNotReadyPods (100 nodes,
    // maxUnavailable 10): 10 available old, 2 unavailable old, 88 unavailable new pods.
    let ds = || daemon_set("ds").max_unavailable(10);
    let state = |unready_old: &'static str| {
        layout_by(100, move |i| match i {
            0..=9 => "O",
            10 | 11 => unready_old,
            _ => "n",
        })
    };
    check(vec![
        Case {
            name: "1: only the 2 unavailable old pods go",
            snapshot: fleet_snapshot(ds(), &state("o")),
            expected: by_rolling_update(&[], &["old-10", "old-11"]),
        },
        Case {
            name: "2: manage recreates them",
            snapshot: fleet_snapshot(ds(), &state("-")),
            expected: by_manage(&["node-10", "node-11"], &[]),
        },
        Case {
            name: "3: 90 unavailable new pods ≥ 10, the available old pods stay",
            snapshot: fleet_snapshot(ds(), &state("n")),
            expected: idle(),
        },
    ]);
}

#[test]
fn unready_old_pods_get_new_pods_beyond_max_surge_and_the_update_then_advances_with_min_ready_seconds() {
    // Upstream: update_test.go TestDaemonSetUpdatesAllOldPodsNotReadyMaxSurge (5 nodes, maxSurge 3, clock-driven).
    // A pod whose upstream time is t is built as ago(T - t) for a sync at upstream clock T. Upstream's t=320
    // step (manage deletes 3 + rolling creates 1 in one fake sync) is split into 320a and 320b.
    let ds = || daemon_set("ds").surge(3);
    let ds_h3 = || daemon_set("ds").surge(3).min_ready_seconds(15);
    let h2 = |i: usize, clock: i64| {
        pod(&format!("h2-{i}"))
            .on(&format!("node-{i}"))
            .old()
            .created(ago(clock - 200))
    };
    let h2_ready = |i: usize, clock: i64| h2(i, clock).ready_since(ago(clock - 200));
    let h3 = |i: usize, clock: i64, created: i64| {
        pod(&format!("h3-{i}"))
            .on(&format!("node-{i}"))
            .created(ago(clock - created))
    };
    check(vec![
        Case {
            name: "t=100: every H1 pod is unavailable, so every node gets an H2 pod (not limited by maxSurge)",
            snapshot: cluster(ds())
                .nodes(nodes(5))
                .pods((0..5).map(|i| pod(&format!("h1-{i}")).on(&format!("node-{i}")).old().pending()))
                .snapshot(),
            expected: by_rolling_update(&["node-0", "node-1", "node-2", "node-3", "node-4"], &[]),
        },
        Case {
            name: "t=200: manage deletes every H1 pod (not Ready) beside its H2 pod",
            snapshot: cluster(ds())
                .nodes(nodes(5))
                .pods((0..5).map(|i| {
                    pod(&format!("h1-{i}"))
                        .on(&format!("node-{i}"))
                        .old()
                        .created(ago(100))
                        .pending()
                }))
                .pods((0..5).map(|i| {
                    pod(&format!("h2-{i}"))
                        .on(&format!("node-{i}"))
                        .created(ago(0))
                        .pending()
                }))
                .snapshot(),
            expected: by_manage(&[], &["h1-0", "h1-1", "h1-2", "h1-3", "h1-4"]),
        },
        Case {
            name: "t=300: H2 pods Ready since 200, minReadySeconds 15, template H3: surge 3 (ours: node-0..2)",
            snapshot: cluster(ds_h3())
                .nodes(nodes(5))
                .pods((0..5).map(|i| h2_ready(i, 300)))
                .snapshot(),
            expected: by_rolling_update(&["node-0", "node-1", "node-2"], &[]),
        },
        Case {
            name: "t=310: 3 nodes surging (H3 Ready since 300 is not available until 315), node-3's H2 pod unready",
            snapshot: cluster(ds_h3())
                .nodes(nodes(5))
                .pods([
                    h2_ready(0, 310),
                    h3(0, 310, 300).ready_since(ago(10)),
                    h2_ready(1, 310),
                    h3(1, 310, 300).ready_since(ago(10)),
                    h2_ready(2, 310),
                    h3(2, 310, 300).pending(),
                    h2(3, 310).not_ready(),
                    h2_ready(4, 310),
                ])
                .snapshot(),
            expected: by_rolling_update(&["node-3"], &[]),
        },
        Case {
            name: "t=320a: manage deletes the H2 pods beside available H3 pods and the unready one",
            snapshot: cluster(ds_h3())
                .nodes(nodes(5))
                .pods([
                    h2_ready(0, 320),
                    h3(0, 320, 300).ready_since(ago(20)),
                    h2_ready(1, 320),
                    h3(1, 320, 300).ready_since(ago(20)),
                    h2_ready(2, 320),
                    h3(2, 320, 300).pending(),
                    h2(3, 320).not_ready(),
                    h3(3, 320, 320).pending(),
                    h2_ready(4, 320),
                ])
                .snapshot(),
            expected: by_manage(&[], &["h2-0", "h2-1", "h2-3"]),
        },
        Case {
            name: "t=320b: one node still surging, so the last node gets its H3 pod",
            snapshot: cluster(ds_h3())
                .nodes(nodes(5))
                .pods([
                    h3(0, 320, 300).ready_since(ago(20)),
                    h3(1, 320, 300).ready_since(ago(20)),
                    h2_ready(2, 320),
                    h3(2, 320, 300).pending(),
                    h3(3, 320, 320).pending(),
                    h2_ready(4, 320),
                ])
                .snapshot(),
            expected: by_rolling_update(&["node-4"], &[]),
        },
        Case {
            name: "t=340: H3 pods Ready since 320 are available (335 <= 340): manage deletes the last H2 pods",
            snapshot: cluster(ds_h3())
                .nodes(nodes(5))
                .pods([
                    h3(0, 340, 300).ready_since(ago(40)),
                    h3(1, 340, 300).ready_since(ago(40)),
                    h2_ready(2, 340),
                    h3(2, 340, 300).ready_since(ago(20)),
                    h3(3, 340, 320).ready_since(ago(20)),
                    h2_ready(4, 340),
                    h3(4, 340, 320).ready_since(ago(20)),
                ])
                .snapshot(),
            expected: by_manage(&[], &["h2-2", "h2-4"]),
        },
        Case {
            name: "t=350: done",
            snapshot: cluster(ds_h3())
                .nodes(nodes(5))
                .pods((0..5).map(|i| h3(i, 350, 320).ready_since(ago(30))))
                .snapshot(),
            expected: idle(),
        },
    ]);
}

#[test]
fn the_burst_cap_keeps_replacements_of_unavailable_pods_before_budgeted_candidates() {
    // Upstream: update.go rollingUpdate lists allowedReplacementPods before candidatePodsToDelete and
    // daemon_controller.go syncNodes keeps the first burstReplicas entries of that list.
    let snapshot = cluster(daemon_set("ds").max_unavailable(5))
        .nodes(nodes(5))
        .pods([
            pod("old-0").on("node-0").old(),
            pod("old-1").on("node-1").old(),
            pod("old-2").on("node-2").old(),
            pod("old-3").on("node-3").old().not_ready(),
            pod("old-4").on("node-4").old().not_ready(),
        ])
        .burst(3)
        .snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(
        (plan.step, outcome_of(&plan)),
        (Step::RollingUpdate, writes(&[], &["old-0", "old-3", "old-4"]))
    );
    assert_eq!(action_on(&plan, "node-1"), Some(NodeAction::Wait), "over the cap");
}
