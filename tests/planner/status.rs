//! DaemonSetStatus: the seven counters, observedGeneration, the write-skip rule and expectations-pending
//! mode. Expectations are worked out by hand from upstream's daemon_controller.go updateDaemonSetStatus,
//! storeDaemonSetStatus and syncDaemonSet, computed over the snapshot as given (before this sync's writes).

use std::time::Duration;

use daemonroll::planner::{self, StatusUpdate, Step};
use daemonroll::snapshot::{DaemonSetStatusView, PodPhase, Snapshot, StatusCounts, TEMPLATE_GENERATION_LABEL};

use crate::support::*;

struct Case {
    name: &'static str,
    snapshot: Snapshot,
    /// [desired, current, misscheduled, ready, updated, available, unavailable]
    expected: StatusCounts,
}

fn check(cases: Vec<Case>) {
    for case in cases {
        assert_eq!(status_counts(&case.snapshot), case.expected, "case: {}", case.name);
    }
}

/// One node `node-0` holding `pods`.
fn one_node(daemon_set: DaemonSetBuilder, pods: impl IntoIterator<Item = PodBuilder>) -> Snapshot {
    cluster(daemon_set).nodes(nodes(1)).pods(pods).snapshot()
}

fn status_update(snapshot: &Snapshot) -> StatusUpdate {
    planner::plan(snapshot)
        .status
        .expect("every ordinary sync writes (or skips writing) status")
}

fn update(values: [i32; 7], observed_generation: i64, changed: bool) -> StatusUpdate {
    StatusUpdate {
        status: DaemonSetStatusView {
            counts: counts(values),
            observed_generation,
            collision_count: None,
        },
        changed,
    }
}

// ---------------------------------------------------------------- counters

#[test]
fn number_ready_follows_the_pods_ready_condition() {
    // Upstream: daemon_controller_test.go TestNumberReadyStatus (2 nodes, one pod each; sync, mark Ready, sync).
    let two = |ready: bool| {
        let make = |name: &str, node: &str| {
            let p = pod(name).on(node);
            if ready { p } else { p.pending() }
        };
        cluster(daemon_set("ds"))
            .nodes(nodes(2))
            .pods([make("p0", "node-0"), make("p1", "node-1")])
            .snapshot()
    };
    check(vec![
        Case {
            name: "sync 1: pods not ready",
            snapshot: two(false),
            expected: counts([2, 2, 0, 0, 2, 0, 2]),
        },
        Case {
            name: "sync 2: pods Ready",
            snapshot: two(true),
            expected: counts([2, 2, 0, 2, 2, 2, 0]),
        },
    ]);
}

#[test]
fn desired_current_and_misscheduled_follow_node_eligibility() {
    // Upstream: daemon_controller.go updateDaemonSetStatus (shouldRun → desired; pods → current; !shouldRun with
    // pods → misscheduled), TestNoScheduleTaintedDoesntEvicitRunningIntolerantPod (desired 0, misscheduled 1).
    let selective = || daemon_set("ds").node_selector("role", "agent");
    let cases = vec![
        Case {
            name: "no nodes",
            snapshot: cluster(daemon_set("ds")).snapshot(),
            expected: counts([0; 7]),
        },
        Case {
            name: "empty eligible nodes are desired, not current (manage's creates are not counted yet)",
            snapshot: cluster(daemon_set("ds")).nodes(nodes(3)).snapshot(),
            expected: counts([3, 0, 0, 0, 0, 0, 3]),
        },
        Case {
            name: "a pod on a node the nodeSelector no longer matches is misscheduled",
            snapshot: cluster(selective())
                .nodes([node("node-0").label("role", "agent"), node("node-1")])
                .pods([pod("p0").on("node-0"), pod("p1").on("node-1")])
                .snapshot(),
            expected: counts([1, 1, 1, 1, 1, 1, 0]),
        },
        Case {
            name: "an ineligible node without pods counts nowhere",
            snapshot: cluster(selective())
                .nodes([node("node-0").label("role", "agent"), node("node-1")])
                .pods([pod("p0").on("node-0")])
                .snapshot(),
            expected: counts([1, 1, 0, 1, 1, 1, 0]),
        },
        Case {
            name: "TestNoScheduleTaintedDoesntEvicitRunningIntolerantPod: kept pod on an untolerated NoSchedule node",
            snapshot: cluster(daemon_set("ds"))
                .nodes([node("tainted").taint("dedicated", "user1", "NoSchedule")])
                .pods([pod("keep-running-me").on("tainted")])
                .snapshot(),
            expected: counts([0, 0, 1, 0, 0, 0, 0]),
        },
        Case {
            name: "a pod on an untolerated NoExecute node is misscheduled (manage deletes it this sync)",
            snapshot: cluster(daemon_set("ds"))
                .nodes([node("tainted").taint("dedicated", "user1", "NoExecute")])
                .pods([pod("stop-running-me").on("tainted")])
                .snapshot(),
            expected: counts([0, 0, 1, 0, 0, 0, 0]),
        },
        Case {
            name: "TestTaintedNodeDaemonDoesNotLaunchIntolerantPod: tainted node without pods",
            snapshot: cluster(daemon_set("ds"))
                .nodes([node("tainted").taint("dedicated", "user1", "NoSchedule")])
                .snapshot(),
            expected: counts([0; 7]),
        },
        Case {
            name: "a template nodeName makes every other node ineligible",
            snapshot: cluster(daemon_set("ds").template_node_name("node-1"))
                .nodes(nodes(3))
                .pods([pod("p0").on("node-0"), pod("p1").on("node-1")])
                .snapshot(),
            expected: counts([1, 1, 1, 1, 1, 1, 0]),
        },
        Case {
            name: "pods on nodes that do not exist (bound or pinned) count nowhere",
            snapshot: cluster(daemon_set("ds"))
                .nodes(nodes(1))
                .pods([
                    pod("p0").on("node-0"),
                    pod("lost").on("node-gone"),
                    pod("pinned").pinned_to("node-vanished"),
                ])
                .snapshot(),
            expected: counts([1, 1, 0, 1, 1, 1, 0]),
        },
        Case {
            name: "an unscheduled pod pinned to an existing node is current",
            snapshot: one_node(daemon_set("ds"), [pod("p0").pinned_to("node-0").pending()]),
            expected: counts([1, 1, 0, 0, 1, 0, 1]),
        },
    ];
    check(cases);
}

#[test]
fn only_the_daemon_sets_own_pods_are_counted() {
    // Upstream: daemon_controller.go getNodesToDaemonPods → getDaemonPods → ClaimPods (owned + matching,
    // adopted orphans; released and foreign pods are not returned), TestGetNodesToDaemonPods.
    let cases = vec![
        Case {
            name: "a pod of another controller does not make the node current",
            snapshot: one_node(daemon_set("ds"), [pod("foreign").on("node-0").owned_by_other()]),
            expected: counts([1, 0, 0, 0, 0, 0, 1]),
        },
        Case {
            name: "a matching orphan is adopted and counted",
            snapshot: one_node(daemon_set("ds"), [pod("orphan").on("node-0").orphan()]),
            expected: counts([1, 1, 0, 1, 1, 1, 0]),
        },
        Case {
            name: "an owned pod that no longer matches the selector is released, not counted",
            snapshot: one_node(daemon_set("ds"), [pod("released").on("node-0").not_matching_selector()]),
            expected: counts([1, 0, 0, 0, 0, 0, 1]),
        },
    ];
    check(cases);
}

#[test]
fn the_first_pod_in_survivor_order_alone_decides_ready_updated_and_available() {
    // Upstream: daemon_controller.go updateDaemonSetStatus sorts a node's pods with podByCreationTimestampAndPhase
    // (scheduled first, older creationTimestamp first, then name) and judges daemonPods[0] only.
    let cases = vec![
        Case {
            name: "older Ready old pod before a younger unready new pod: ready and available, not updated",
            snapshot: one_node(
                daemon_set("ds").surge(1),
                [
                    pod("old").on("node-0").old(),
                    pod("new").on("node-0").created(ago(60)).pending(),
                ],
            ),
            expected: counts([1, 1, 0, 1, 0, 1, 0]),
        },
        Case {
            name: "older Ready new pod before a younger unready old pod: ready, available and updated",
            snapshot: one_node(
                daemon_set("ds").surge(1),
                [
                    pod("new").on("node-0"),
                    pod("old").on("node-0").old().created(ago(60)).not_ready(),
                ],
            ),
            expected: counts([1, 1, 0, 1, 1, 1, 0]),
        },
        Case {
            name: "a scheduled pod comes before an older unscheduled one",
            snapshot: one_node(
                daemon_set("ds"),
                [
                    pod("a-pinned").pinned_to("node-0").created(ago(9000)),
                    pod("b-bound").on("node-0").old().created(ago(60)).not_ready(),
                ],
            ),
            expected: counts([1, 1, 0, 0, 0, 0, 1]),
        },
        Case {
            name: "equal creationTimestamps: the smaller name is judged",
            snapshot: one_node(
                daemon_set("ds"),
                [
                    pod("b-ready-old").on("node-0").old(),
                    pod("a-unready-new").on("node-0").not_ready(),
                ],
            ),
            expected: counts([1, 1, 0, 0, 1, 0, 1]),
        },
        Case {
            name: "an older Failed pod (not being deleted) is the one judged",
            snapshot: one_node(
                daemon_set("ds"),
                [
                    pod("failed").on("node-0").failed(),
                    pod("fresh").on("node-0").created(ago(60)),
                ],
            ),
            expected: counts([1, 1, 0, 0, 1, 0, 1]),
        },
    ];
    check(cases);
}

#[test]
fn terminating_pods_count_but_deleted_terminal_pods_do_not() {
    // Upstream: daemon_controller.go getNodesToDaemonPods(includeDeletedTerminal=false) drops pods that are
    // terminal AND being deleted (kubernetes PR #118716); other terminating pods stay in the map and
    // IsPodReady ignores deletionTimestamp.
    let cases = vec![
        Case {
            name: "a Ready terminating pod is current, ready, available and updated",
            snapshot: one_node(daemon_set("ds"), [pod("p0").on("node-0").terminating()]),
            expected: counts([1, 1, 0, 1, 1, 1, 0]),
        },
        Case {
            name: "an older terminating old pod is judged before its running replacement",
            snapshot: one_node(
                daemon_set("ds"),
                [
                    pod("old").on("node-0").old().terminating(),
                    pod("new").on("node-0").created(ago(60)).pending(),
                ],
            ),
            expected: counts([1, 1, 0, 1, 0, 1, 0]),
        },
        Case {
            name: "a Failed pod being deleted is not counted",
            snapshot: one_node(daemon_set("ds"), [pod("p0").on("node-0").failed().terminating()]),
            expected: counts([1, 0, 0, 0, 0, 0, 1]),
        },
        Case {
            name: "a Succeeded pod being deleted is not counted",
            snapshot: one_node(daemon_set("ds"), [pod("p0").on("node-0").succeeded().terminating()]),
            expected: counts([1, 0, 0, 0, 0, 0, 1]),
        },
        Case {
            name: "a Failed pod not being deleted is current (not ready)",
            snapshot: one_node(daemon_set("ds"), [pod("p0").on("node-0").failed()]),
            expected: counts([1, 1, 0, 0, 1, 0, 1]),
        },
        Case {
            name: "a deleted terminal pod on an ineligible node is not misscheduled",
            snapshot: cluster(daemon_set("ds"))
                .nodes([node("tainted").taint("dedicated", "user1", "NoSchedule")])
                .pods([pod("p0").on("tainted").phase(PodPhase::Succeeded).terminating()])
                .snapshot(),
            expected: counts([0; 7]),
        },
    ];
    check(cases);
}

#[test]
fn available_needs_min_ready_seconds_of_readiness_inclusive_of_the_boundary() {
    // Upstream: pkg/api/v1/pod/util.go IsPodAvailable (LTT + minReadySeconds <= now since kubernetes PR #132122;
    // zero LTT never available when minReadySeconds > 0), util_test.go TestIsPodAvailable.
    let ready =
        |min_ready: i32, p: PodBuilder| one_node(daemon_set("ds").min_ready_seconds(min_ready), [p.on("node-0")]);
    let cases = vec![
        Case {
            name: "TestIsPodAvailable 51 s ago, minReady 50",
            snapshot: ready(50, pod("p0").ready_since(ago(51))),
            expected: counts([1, 1, 0, 1, 1, 1, 0]),
        },
        Case {
            name: "TestIsPodAvailable 51 s ago, minReady 51: exactly at the boundary is available",
            snapshot: ready(51, pod("p0").ready_since(ago(51))),
            expected: counts([1, 1, 0, 1, 1, 1, 0]),
        },
        Case {
            name: "TestIsPodAvailable 51 s ago, minReady 52: ready, not available",
            snapshot: ready(52, pod("p0").ready_since(ago(51))),
            expected: counts([1, 1, 0, 1, 1, 0, 1]),
        },
        Case {
            name: "TestIsPodAvailable Ready now, minReady 1",
            snapshot: ready(1, pod("p0").ready_since(ago(0))),
            expected: counts([1, 1, 0, 1, 1, 0, 1]),
        },
        Case {
            name: "TestIsPodAvailable Ready now, minReady 0",
            snapshot: ready(0, pod("p0").ready_since(ago(0))),
            expected: counts([1, 1, 0, 1, 1, 1, 0]),
        },
        Case {
            name: "TestIsPodAvailable zero lastTransitionTime, minReady 1: never available",
            snapshot: ready(1, pod("p0").ready_without_time()),
            expected: counts([1, 1, 0, 1, 1, 0, 1]),
        },
        Case {
            name: "zero lastTransitionTime, minReady 0: available as soon as Ready",
            snapshot: ready(0, pod("p0").ready_without_time()),
            expected: counts([1, 1, 0, 1, 1, 1, 0]),
        },
        Case {
            name: "TestIsPodAvailable not Ready: neither ready nor available",
            snapshot: ready(0, pod("p0").not_ready()),
            expected: counts([1, 1, 0, 0, 1, 0, 1]),
        },
        Case {
            name: "no Ready condition at all",
            snapshot: ready(0, pod("p0").pending()),
            expected: counts([1, 1, 0, 0, 1, 0, 1]),
        },
    ];
    check(cases);
}

#[test]
fn updated_counts_pods_matching_the_hash_or_the_template_generation() {
    // Upstream: util/daemonset_util.go IsPodUpdated as used by updateDaemonSetStatus, daemonset_util_test.go
    // TestIsPodUpdated (value semantics): hash label == hash OR generation label == annotation (when it parses).
    let unparsable = {
        let mut snapshot = one_node(
            daemon_set("ds"),
            [pod("p0").on("node-0").old().label(TEMPLATE_GENERATION_LABEL, "1")],
        );
        snapshot
            .daemon_set
            .annotations
            .insert(daemonroll::snapshot::TEMPLATE_GENERATION_ANNOTATION, "x");
        snapshot
    };
    let cases = vec![
        Case {
            name: "hash and generation match",
            snapshot: one_node(daemon_set("ds"), [pod("p0").on("node-0")]),
            expected: counts([1, 1, 0, 1, 1, 1, 0]),
        },
        Case {
            name: "old hash, generation label equal to the annotation: updated",
            snapshot: one_node(
                daemon_set("ds"),
                [pod("p0").on("node-0").old().label(TEMPLATE_GENERATION_LABEL, "1")],
            ),
            expected: counts([1, 1, 0, 1, 1, 1, 0]),
        },
        Case {
            name: "current hash, stale generation label: updated",
            snapshot: one_node(
                daemon_set("ds"),
                [pod("p0").on("node-0").label(TEMPLATE_GENERATION_LABEL, "0")],
            ),
            expected: counts([1, 1, 0, 1, 1, 1, 0]),
        },
        Case {
            name: "neither matches",
            snapshot: one_node(daemon_set("ds").generation(7), [pod("p0").on("node-0").old()]),
            expected: counts([1, 1, 0, 1, 0, 1, 0]),
        },
        Case {
            name: "no revision labels at all",
            snapshot: one_node(daemon_set("ds"), [pod("p0").on("node-0").unlabelled()]),
            expected: counts([1, 1, 0, 1, 0, 1, 0]),
        },
        Case {
            name: "annotation absent: the generation label alone is not enough",
            snapshot: one_node(
                daemon_set("ds").without_template_generation(),
                [pod("p0").on("node-0").old().label(TEMPLATE_GENERATION_LABEL, "1")],
            ),
            expected: counts([1, 1, 0, 1, 0, 1, 0]),
        },
        Case {
            name: "annotation that does not parse: hash only",
            snapshot: unparsable,
            expected: counts([1, 1, 0, 1, 0, 1, 0]),
        },
    ];
    check(cases);
}

#[test]
fn every_counter_at_once_on_a_mixed_fleet() {
    // Upstream: daemon_controller.go updateDaemonSetStatus (all counters; numberUnavailable = desired - available).
    // node-0 new available; node-1 old available; node-2 new Ready 5 s (minReady 10); node-3 new not ready;
    // node-4 empty; node-5 NoSchedule-tainted with an old pod; node-6 tainted, empty; plus a pod on a missing node.
    let mut all = nodes(5);
    all.push(node("node-5").taint("dedicated", "user1", "NoSchedule"));
    all.push(node("node-6").taint("dedicated", "user1", "NoSchedule"));
    let snapshot = cluster(daemon_set("ds").min_ready_seconds(10))
        .nodes(all)
        .pods([
            pod("p0").on("node-0"),
            pod("p1").on("node-1").old(),
            pod("p2").on("node-2").ready_since(ago(5)),
            pod("p3").on("node-3").not_ready(),
            pod("p5").on("node-5").old(),
            pod("px").on("node-gone"),
        ])
        .snapshot();
    // desired 5 (node-0..4); current 4; misscheduled 1 (node-5); ready 3 (p0, p1, p2); updated 3 (p0, p2, p3);
    // available 2 (p0, p1); unavailable 5 - 2 = 3.
    assert_eq!(status_counts(&snapshot), counts([5, 4, 1, 3, 3, 2, 3]));
}

#[test]
fn status_is_computed_from_the_snapshot_before_this_syncs_writes() {
    // Upstream: daemon_controller.go updateDaemonSetStatus reads the informer cache, which does not yet hold
    // this sync's writes (D10; the fake shows them: TestSimpleDaemonSetUpdatesStatusAfterLaunchingPods).
    let creating = cluster(daemon_set("ds"))
        .nodes(nodes(3))
        .pods([pod("p0").on("node-0"), pod("p1").on("node-1")])
        .snapshot();
    let plan = planner::plan(&creating);
    assert_eq!((plan.step, outcome_of(&plan)), (Step::Manage, writes(&["node-2"], &[])));
    assert_eq!(
        plan.status.map(|s| s.status.counts),
        Some(counts([3, 2, 0, 2, 2, 2, 1]))
    );

    let rolling = cluster(daemon_set("ds"))
        .nodes(nodes(2))
        .pods([pod("p0").on("node-0").old(), pod("p1").on("node-1").old()])
        .snapshot();
    let plan = planner::plan(&rolling);
    assert_eq!(
        (plan.step, outcome_of(&plan)),
        (Step::RollingUpdate, writes(&[], &["p0"]))
    );
    assert_eq!(
        plan.status.map(|s| s.status.counts),
        Some(counts([2, 2, 0, 2, 0, 2, 0]))
    );
}

// ---------------------------------------------------------------- observedGeneration and the write-skip rule

#[test]
fn observed_generation_is_raised_and_unchanged_status_is_not_written() {
    // Upstream: daemon_controller.go storeDaemonSetStatus — skip when all seven counters equal the stored ones
    // AND status.observedGeneration >= generation; otherwise write, with observedGeneration = generation when
    // the sync passed the expectations gate (TestObservedGeneration).
    let all_good = [1, 1, 0, 1, 1, 1, 0];
    let fleet = |ds: DaemonSetBuilder| one_node(ds, [pod("p0").on("node-0")]);
    let cases = vec![
        (
            "TestObservedGeneration: generation 1, nothing observed yet",
            fleet(daemon_set("ds")),
            update(all_good, 1, true),
        ),
        (
            "counters equal and observedGeneration current: no write",
            fleet(daemon_set("ds").generation(3).status(counts(all_good), 3)),
            update(all_good, 3, false),
        ),
        (
            "counters equal but observedGeneration behind: write to raise it",
            fleet(daemon_set("ds").generation(3).status(counts(all_good), 2)),
            update(all_good, 3, true),
        ),
        (
            "one counter differs: write",
            fleet(daemon_set("ds").generation(3).status(counts([1, 1, 0, 1, 1, 0, 1]), 3)),
            update(all_good, 3, true),
        ),
        (
            "misscheduled differs: write",
            fleet(daemon_set("ds").status(counts([1, 1, 1, 1, 1, 1, 0]), 1)),
            update(all_good, 1, true),
        ),
    ];
    for (name, snapshot, expected) in cases {
        assert_eq!(status_update(&snapshot), expected, "case: {name}");
    }
    // Stored observedGeneration ahead of generation (>=) with equal counters: no write either. (What the
    // skipped update would have held is moot, so only the counters and the skip are asserted.)
    let ahead = status_update(&fleet(daemon_set("ds").generation(3).status(counts(all_good), 4)));
    assert_eq!((ahead.status.counts, ahead.changed), (counts(all_good), false));
}

#[test]
fn pending_expectations_refresh_status_without_raising_observed_generation_or_writing_pods() {
    // Upstream: daemon_controller.go syncDaemonSet — expectations not satisfied → updateDaemonSetStatus(...,
    // updateObservedGen=false) and return; storeDaemonSetStatus's skip rule is the same in both modes.
    let pending = |stored: [i32; 7], observed: i64| {
        cluster(daemon_set("ds").generation(3).status(counts(stored), observed))
            .nodes(nodes(2))
            .pods([pod("p0").on("node-0")])
            .expectations_pending()
            .snapshot()
    };
    let now_counts = [2, 1, 0, 1, 1, 1, 1];
    let cases = vec![
        (
            "counters changed: written, observedGeneration kept at 2",
            pending([0; 7], 2),
            update(now_counts, 2, true),
        ),
        (
            "counters equal, observedGeneration behind: still written, kept at 2",
            pending(now_counts, 2),
            update(now_counts, 2, true),
        ),
        (
            "counters equal, observedGeneration current: no write",
            pending(now_counts, 3),
            update(now_counts, 3, false),
        ),
    ];
    for (name, snapshot, expected) in cases {
        let plan = planner::plan(&snapshot);
        assert_eq!(plan.status, Some(expected), "case: {name}");
        // node-1 needs a pod, but nothing is written while the controller waits for its own writes.
        assert_eq!(
            (plan.step, outcome_of(&plan)),
            (Step::Idle, writes(&[], &[])),
            "case: {name}"
        );
    }
    // Once satisfied, the same state creates on node-1 and raises observedGeneration.
    let satisfied = cluster(daemon_set("ds").generation(3).status(counts([0; 7]), 2))
        .nodes(nodes(2))
        .pods([pod("p0").on("node-0")])
        .snapshot();
    let plan = planner::plan(&satisfied);
    assert_eq!(outcome_of(&plan), writes(&["node-1"], &[]));
    assert_eq!(plan.status, Some(update(now_counts, 3, true)));
}

#[test]
fn the_status_write_keeps_the_collision_count() {
    // Upstream: daemon_controller.go storeDaemonSetStatus updates a DeepCopy of the DaemonSet, so
    // status.collisionCount is carried over unchanged.
    let snapshot = one_node(daemon_set("ds").collision_count(2), [pod("p0").on("node-0")]);
    let expected = StatusUpdate {
        status: DaemonSetStatusView {
            counts: counts([1, 1, 0, 1, 1, 1, 0]),
            observed_generation: 1,
            collision_count: Some(2),
        },
        changed: true,
    };
    assert_eq!(status_update(&snapshot), expected);
}

#[test]
fn no_status_is_written_for_a_daemon_set_being_deleted() {
    // Upstream: daemon_controller.go syncDaemonSet returns before history and status when deletionTimestamp is set
    // (TestDontDoAnythingIfBeingDeleted).
    let snapshot = one_node(daemon_set("ds").deleting(), [pod("p0").on("node-0")]);
    let plan = planner::plan(&snapshot);
    assert_eq!(plan.status, None);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
}

#[test]
fn a_daemon_set_with_ready_but_unavailable_pods_is_synced_again_after_min_ready_seconds() {
    // Upstream: daemon_controller.go updateDaemonSetStatus — if minReadySeconds > 0 and numberReady !=
    // numberAvailable, enqueueDaemonSetAfter(minReadySeconds).
    let waiting = one_node(
        daemon_set("ds").min_ready_seconds(10),
        [pod("p0").on("node-0").ready_since(ago(5))],
    );
    assert_eq!(planner::plan(&waiting).requeue_after, Some(Duration::from_secs(10)));
    let settled = one_node(
        daemon_set("ds").min_ready_seconds(10),
        [pod("p0").on("node-0").ready_since(ago(60))],
    );
    assert_eq!(planner::plan(&settled).requeue_after, None);
}
