//! Rollout controls (issue 11), one `daemonroll.io/` annotation at a time: pause, partition, the
//! canary selector, topology domains, waves, max-surge beside maxUnavailable, the progress deadline
//! and NotReady nodes. Each test states its rule and the outcome of ONE real sync, worked out by
//! hand from src/planner/rollout (gate.rs, mod.rs, conditions.rs) and rolling.rs. Combinations (the
//! hostPort surge guard included), bad values, rollback and the no-annotation case:
//! controls_combined.rs.

use std::time::Duration;

use daemonroll::planner::rollout::Hold;
use daemonroll::planner::{self, NodeAction, Reason, Step};

use crate::support::*;

// ---------------------------------------------------------------- helpers

// The annotation names written out rather than imported: users type these, so renaming one in
// src/ must fail here.
pub const PAUSED: &str = "daemonroll.io/paused";
pub const PARTITION: &str = "daemonroll.io/partition";
pub const ROLLOUT_NODE_SELECTOR: &str = "daemonroll.io/rollout-node-selector";
pub const TOPOLOGY_KEY: &str = "daemonroll.io/topology-key";
pub const MAX_UNAVAILABLE_PER_DOMAIN: &str = "daemonroll.io/max-unavailable-per-domain";
pub const WAVE_INTERVAL: &str = "daemonroll.io/wave-interval";
pub const MAX_SURGE: &str = "daemonroll.io/max-surge";
pub const PROGRESS_DEADLINE: &str = "daemonroll.io/progress-deadline";
pub const ON_FAILURE: &str = "daemonroll.io/on-failure";
pub const IGNORE_NOT_READY_NODES: &str = "daemonroll.io/ignore-not-ready-nodes";

/// `count` nodes `n01`, `n02`, … (zero-padded, so name order is number order).
pub fn numbered(count: usize) -> Vec<NodeBuilder> {
    (1..=count).map(|i| node(&format!("n{i:02}"))).collect()
}

/// `<kind>-n<i>` for i in `range`, as a plan lists pod names.
pub fn numbered_pods(kind: &str, range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|i| format!("{kind}-n{i:02}")).collect()
}

pub fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| name.to_string()).collect()
}

/// A fresh updated pod that has not become Ready: created `created` seconds ago, not Ready since
/// `not_ready` seconds ago.
pub fn stuck(name: &str, node: &str, created: i64, not_ready: i64) -> PodBuilder {
    pod(name).on(node).created(ago(created)).not_ready_since(ago(not_ready))
}

/// Zones for topology tests; name order (n1 … n5) differs from domain order (a, b, unlabelled).
fn zoned() -> Vec<NodeBuilder> {
    vec![
        node("n1").label("zone", "b"),
        node("n2").label("zone", "a"),
        node("n3"),
        node("n4").label("zone", "a"),
        node("n5").label("zone", "b"),
    ]
}

// ---------------------------------------------------------------- paused

#[test]
fn a_paused_rollout_deletes_no_old_pod_not_even_an_unavailable_one() {
    // paused: every node with an old pod waits; old pods that are not available are not replaced
    // either (upstream's rolling update would delete old-1 beyond the budget).
    let ds = daemon_set("agent").max_unavailable("100%").annotation(PAUSED, "true");
    let snapshot = cluster(ds).nodes(nodes(4)).layout("O o N O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    assert_eq!(plan.step, Step::Idle);
    for node in ["node-0", "node-1", "node-3"] {
        assert_eq!(held_on(&plan, node), Some(Hold::Paused), "{node}");
    }
    assert_eq!(progressing(&plan), ("Unknown", "Paused"));
    assert_eq!(event_reasons(&plan), vec![(false, "Paused")]);
}

#[test]
fn a_paused_rollout_still_creates_missing_pods_at_the_update_revision() {
    // paused holds the rolling update only: manage creates the missing pod, from the current template.
    let ds = || daemon_set("agent").annotation(PAUSED, "true");
    let hash = current_hash(&ds().build());
    let snapshot = cluster(ds()).nodes(nodes(2)).layout("O -").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&["node-1"], &[]));
    assert_eq!(plan.step, Step::Manage);
    assert_eq!(plan.update_revision, hash);
    assert_eq!(progressing(&plan), ("Unknown", "Paused"));
}

#[test]
fn paused_false_is_no_pause() {
    // paused: "false" parses and holds nothing: the rollout is upstream's.
    let ds = daemon_set("agent").annotation(PAUSED, "false");
    let snapshot = cluster(ds).nodes(nodes(3)).layout("O O O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-0"]));
    assert!(held_nodes(&plan).is_empty());
    assert_eq!(progressing(&plan), ("True", "NewRevisionRolling"));
}

// ---------------------------------------------------------------- partition

#[test]
fn a_partition_keeps_exactly_the_last_nodes_of_the_rollout_order() {
    // partition "3" on 12 nodes: the last 3 of the rollout order (name order here) keep their old
    // pods; every other node rolls within maxUnavailable 100%.
    let ds = daemon_set("agent").max_unavailable("100%").annotation(PARTITION, "3");
    let layout = ["O"; 12].join(" ");
    let snapshot = cluster(ds).nodes(numbered(12)).layout(&layout).snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(plan.creates, Vec::<&str>::new());
    assert_eq!(outcome_of(&plan).deletes, numbered_pods("old", 1..=9));
    assert_eq!(held_nodes(&plan), strings(&["n10", "n11", "n12"]));
    assert_eq!(held_on(&plan, "n10"), Some(Hold::Partition { kept: 3 }));
}

#[test]
fn a_partition_percentage_of_desired_nodes_rounds_down() {
    // partition "P%": P% of the nodes that should run a pod, rounded down (it keeps at most what was asked).
    for (nodes_count, partition, kept) in [
        (10, "25%", 2),
        (12, "30%", 3),
        (12, "25%", 3),
        (3, "50%", 1),
        (3, "10%", 0),
    ] {
        let ds = daemon_set("agent")
            .max_unavailable("100%")
            .annotation(PARTITION, partition);
        let layout = vec!["O"; nodes_count].join(" ");
        let snapshot = cluster(ds).nodes(numbered(nodes_count)).layout(&layout).snapshot();
        let plan = planner::plan(&snapshot);
        let case = format!("{partition} of {nodes_count}");
        assert_eq!(
            outcome_of(&plan).deletes,
            numbered_pods("old", 1..=nodes_count - kept),
            "{case}"
        );
        assert_eq!(held_nodes(&plan).len(), kept, "{case}");
    }
}

#[test]
fn once_only_partitioned_nodes_run_old_pods_the_rollout_is_partition_held() {
    // Everything outside the partition is updated and available: nothing to write, Progressing
    // True/PartitionHeld, and the report counts the three held nodes.
    let ds = daemon_set("agent").annotation(PARTITION, "3");
    let layout = format!("{} O O O", ["N"; 9].join(" "));
    let snapshot = cluster(ds).nodes(numbered(12)).layout(&layout).snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    assert_eq!(progressing(&plan), ("True", "PartitionHeld"));
    assert_eq!(plan.rollout.held.get("partition"), Some(&3));
}

#[test]
fn shrinking_the_partition_releases_the_front_of_the_kept_set() {
    // The kept nodes are the tail of the rollout order, so a smaller partition keeps a subset of
    // the nodes a larger one kept; the node it releases first is the front of that tail.
    let layout = format!("{} O O O", ["N"; 9].join(" "));
    let mut before: Option<Vec<String>> = None;
    for (partition, kept, deletes) in [
        ("3", &["n10", "n11", "n12"][..], &[][..]),
        ("2", &["n11", "n12"][..], &["old-n10"][..]),
        ("1", &["n12"][..], &["old-n10"][..]),
    ] {
        let ds = daemon_set("agent").annotation(PARTITION, partition);
        let snapshot = cluster(ds).nodes(numbered(12)).layout(&layout).snapshot();
        let plan = planner::plan(&snapshot);
        let held = held_nodes(&plan);
        assert_eq!(held, strings(kept), "partition {partition}");
        assert_eq!(outcome_of(&plan).deletes, strings(deletes), "partition {partition}");
        if let Some(before) = &before {
            assert!(
                held.iter().all(|node| before.contains(node)),
                "partition {partition}: {held:?} ⊄ {before:?}"
            );
        }
        before = Some(held);
    }
}

#[test]
fn partition_zero_rolls_every_node() {
    // partition "0" keeps no node: the rollout is upstream's.
    let ds = daemon_set("agent").max_unavailable("100%").annotation(PARTITION, "0");
    let layout = ["O"; 12].join(" ");
    let snapshot = cluster(ds).nodes(numbered(12)).layout(&layout).snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan).deletes, numbered_pods("old", 1..=12));
    assert!(held_nodes(&plan).is_empty());
    assert_eq!(progressing(&plan), ("True", "NewRevisionRolling"));
}

#[test]
fn a_partition_also_keeps_unavailable_old_pods() {
    // A kept node is held even when its old pod is not available (upstream would replace it).
    let ds = daemon_set("agent").annotation(PARTITION, "1");
    let snapshot = cluster(ds).nodes(nodes(3)).layout("N N o").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    assert_eq!(held_on(&plan, "node-2"), Some(Hold::Partition { kept: 1 }));
}

// ---------------------------------------------------------------- rollout-node-selector (canary)

/// a1: zone a, canary; a2: zone a, foo; b1: zone b; b2: zone b, canary, foo.
fn canary_nodes() -> Vec<NodeBuilder> {
    vec![
        node("a1").label("zone", "a").label("canary", "true"),
        node("a2").label("zone", "a").label("foo", "x"),
        node("b1").label("zone", "b"),
        node("b2").label("zone", "b").label("canary", "true").label("foo", "y"),
    ]
}

#[test]
fn a_rollout_node_selector_rolls_only_matching_nodes() {
    // kubectl label-selector syntax; nodes that do not match keep their old pods (Hold::Canary).
    for (selector, rolled) in [
        ("zone in (a)", &["a1", "a2"][..]),
        ("canary=true", &["a1", "b2"][..]),
        ("!foo", &["a1", "b1"][..]),
        ("zone notin (a)", &["b1", "b2"][..]),
        ("zone!=b,foo", &["a2"][..]),
        ("zone==b, !foo", &["b1"][..]),
    ] {
        let ds = daemon_set("agent")
            .max_unavailable("100%")
            .annotation(ROLLOUT_NODE_SELECTOR, selector);
        let snapshot = cluster(ds).nodes(canary_nodes()).layout("O O O O").snapshot();
        let plan = planner::plan(&snapshot);
        let deletes: Vec<String> = rolled.iter().map(|node| format!("old-{node}")).collect();
        assert_eq!(outcome_of(&plan).deletes, deletes, "{selector}");
        for node in ["a1", "a2", "b1", "b2"].iter().filter(|node| !rolled.contains(node)) {
            assert_eq!(held_on(&plan, node), Some(Hold::Canary), "{selector}: {node}");
        }
    }
}

#[test]
fn once_only_non_matching_nodes_run_old_pods_the_rollout_is_canary_held() {
    let ds = daemon_set("agent").annotation(ROLLOUT_NODE_SELECTOR, "canary=true");
    let snapshot = cluster(ds).nodes(canary_nodes()).layout("N O O N").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    assert_eq!(progressing(&plan), ("True", "CanaryHeld"));
    assert_eq!(plan.rollout.held.get("canary"), Some(&2));
}

#[test]
fn an_invalid_rollout_node_selector_without_a_last_good_one_holds_every_node() {
    // Bad values never loosen: no node matches until it is fixed; the condition and a Warning say why.
    let ds = daemon_set("agent")
        .max_unavailable("100%")
        .annotation(ROLLOUT_NODE_SELECTOR, "zone in (a");
    let snapshot = cluster(ds).nodes(canary_nodes()).layout("O O O O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    assert_eq!(held_nodes(&plan), strings(&["a1", "a2", "b1", "b2"]));
    assert_eq!(held_on(&plan, "a1"), Some(Hold::InvalidControl));
    assert_eq!(progressing(&plan), ("Unknown", "InvalidAnnotation"));
    assert!(progressing_message(&plan).contains(ROLLOUT_NODE_SELECTOR));
    assert_eq!(event_reasons(&plan), vec![(true, "InvalidAnnotation")]);
    assert_eq!(plan.rollout.problems.len(), 1);
    assert!(plan.rollout.good_annotations.get(ROLLOUT_NODE_SELECTOR).is_none());
}

#[test]
fn an_invalid_rollout_node_selector_keeps_the_last_good_one() {
    // The controller passes the last value that parsed; a bad edit keeps rolling zone a only.
    let ds = daemon_set("agent")
        .max_unavailable("100%")
        .annotation(ROLLOUT_NODE_SELECTOR, "zone in (a");
    let snapshot = cluster(ds)
        .nodes(canary_nodes())
        .layout("O O O O")
        .last_good(ROLLOUT_NODE_SELECTOR, "zone in (a)")
        .snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-a1", "old-a2"]));
    assert_eq!(progressing(&plan).1, "InvalidAnnotation");
    assert!(progressing_message(&plan).contains("the last good setting stays in force"));
    assert_eq!(
        plan.rollout.good_annotations.get(ROLLOUT_NODE_SELECTOR),
        Some("zone in (a)")
    );
}

// ---------------------------------------------------------------- topology-key

#[test]
fn topology_domains_roll_in_label_value_order_with_unlabelled_nodes_last() {
    // zone a (n2, n4), then zone b (n1, n5), then the node without the label (n3); only the
    // current domain rolls, whatever maxUnavailable allows.
    for (layout, deletes, current) in [
        ("O O O O O", &["old-n2", "old-n4"][..], "a"),
        ("O N O N O", &["old-n1", "old-n5"][..], "b"),
        ("N N O N N", &["old-n3"][..], "(no label)"),
    ] {
        let ds = daemon_set("agent")
            .max_unavailable("100%")
            .annotation(TOPOLOGY_KEY, "zone");
        let snapshot = cluster(ds).nodes(zoned()).layout(layout).snapshot();
        let plan = planner::plan(&snapshot);
        assert_eq!(outcome_of(&plan), writes(&[], deletes), "{layout}");
        let others: Vec<String> = plan
            .nodes
            .iter()
            .filter(|note| matches!(note.reason, Reason::Held(Hold::OtherDomain { current: c }) if c == current))
            .map(|note| note.node.to_string())
            .collect();
        let expected_others = match current {
            "a" => strings(&["n1", "n3", "n5"]),
            "b" => strings(&["n3"]),
            _ => Vec::new(),
        };
        assert_eq!(others, expected_others, "{layout}");
        assert!(
            progressing_message(&plan).contains(&format!("rolling domain {current}")),
            "{layout}"
        );
    }
}

#[test]
fn a_second_domain_never_starts_while_the_first_has_unavailable_replaced_pods() {
    // Zone a is updated but n4's new pod is not available yet: zone b and the unlabelled node wait,
    // though maxUnavailable 100% would let them go.
    let ds = daemon_set("agent")
        .max_unavailable("100%")
        .annotation(TOPOLOGY_KEY, "zone");
    let snapshot = cluster(ds).nodes(zoned()).layout("O N O n O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    for node in ["n1", "n3", "n5"] {
        assert_eq!(held_on(&plan, node), Some(Hold::OtherDomain { current: "a" }), "{node}");
    }
}

#[test]
fn max_unavailable_per_domain_caps_the_domain_on_top_of_the_global_budget() {
    // Zone a (a1…a4) rolls first; per-domain and global maxUnavailable both bound it, unavailable
    // nodes of the domain count against the per-domain cap. Percentages round up.
    let fleet = || {
        vec![
            node("a1").label("zone", "a"),
            node("a2").label("zone", "a"),
            node("a3").label("zone", "a"),
            node("a4").label("zone", "a"),
            node("b1").label("zone", "b"),
            node("b2").label("zone", "b"),
        ]
    };
    for (global, per_domain, layout, deletes) in [
        (3, "1", "O O O O O O", &["old-a1"][..]),
        (3, "50%", "O O O O O O", &["old-a1", "old-a2"][..]),
        (3, "30%", "O O O O O O", &["old-a1", "old-a2"][..]),
        (1, "2", "O O O O O O", &["old-a1"][..]),
        (3, "2", "n O O O O O", &["old-a2"][..]),
    ] {
        let ds = daemon_set("agent")
            .max_unavailable(global)
            .annotation(TOPOLOGY_KEY, "zone")
            .annotation(MAX_UNAVAILABLE_PER_DOMAIN, per_domain);
        let snapshot = cluster(ds).nodes(fleet()).layout(layout).snapshot();
        let plan = planner::plan(&snapshot);
        let case = format!("global {global}, per domain {per_domain}, {layout}");
        assert_eq!(outcome_of(&plan), writes(&[], deletes), "{case}");
        assert_eq!(held_on(&plan, "b1"), Some(Hold::OtherDomain { current: "a" }), "{case}");
    }
    // Within the global budget, the nodes the domain cap stops say so.
    let ds = daemon_set("agent")
        .max_unavailable(3)
        .annotation(TOPOLOGY_KEY, "zone")
        .annotation(MAX_UNAVAILABLE_PER_DOMAIN, "1");
    let snapshot = cluster(ds).nodes(fleet()).layout("O O O O O O").snapshot();
    let plan = planner::plan(&snapshot);
    let spent = Hold::DomainBudgetSpent { domain: "a", max: 1 };
    assert_eq!(held_on(&plan, "a2"), Some(spent));
    assert_eq!(held_on(&plan, "a3"), Some(spent));
    assert!(matches!(
        plan.nodes.iter().find(|note| note.node == "a4").map(|note| note.reason),
        Some(Reason::UnavailableBudgetSpent { .. })
    ));
}

// ---------------------------------------------------------------- wave-interval

#[test]
fn a_wave_in_flight_holds_new_deletes() {
    // node-0's new pod is not available: with wave-interval no available old pod goes, though
    // maxUnavailable 2 has room for one more.
    let ds = daemon_set("agent").max_unavailable(2).annotation(WAVE_INTERVAL, "5m");
    let snapshot = cluster(ds).nodes(nodes(4)).layout("n O O O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    assert_eq!(held_on(&plan, "node-1"), Some(Hold::WaveInFlight));
}

#[test]
fn a_wave_in_flight_still_replaces_its_unavailable_old_pods() {
    // The wave hold stops disruptions only: an old pod that is not available is replaced as upstream does.
    let ds = daemon_set("agent").max_unavailable(2).annotation(WAVE_INTERVAL, "5m");
    let snapshot = cluster(ds).nodes(nodes(3)).layout("n o O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-1"]));
    assert_eq!(held_on(&plan, "node-2"), Some(Hold::WaveInFlight));
}

#[test]
fn the_next_wave_waits_out_the_interval_after_the_last_pod_became_available() {
    // new-0 turned Ready 100 s ago and is available 30 s later (minReadySeconds): with a 5 min
    // interval the next wave starts in 300 - 70 = 230 s, plus the second by which the recorded
    // whole-second time may precede the real one; the plan asks to sync again then.
    let ds = daemon_set("agent")
        .min_ready_seconds(30)
        .annotation(WAVE_INTERVAL, "5m");
    let snapshot = cluster(ds)
        .nodes(nodes(3))
        .pods([pod("new-0").on("node-0").created(ago(200)).ready_since(ago(100))])
        .layout("- O O")
        .snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    let remaining = Duration::from_secs(231);
    assert_eq!(held_on(&plan, "node-1"), Some(Hold::Soaking { remaining }));
    assert_eq!(plan.requeue_after, Some(remaining));
    assert_eq!(progressing(&plan), ("True", "Soaking"));
}

#[test]
fn once_the_interval_has_elapsed_the_next_wave_starts() {
    // As above with new-0 Ready for 400 s: 370 s available > 300 s, the next node rolls.
    let ds = daemon_set("agent")
        .min_ready_seconds(30)
        .annotation(WAVE_INTERVAL, "5m");
    let snapshot = cluster(ds)
        .nodes(nodes(3))
        .pods([pod("new-0").on("node-0").created(ago(500)).ready_since(ago(400))])
        .layout("- O O")
        .snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-1"]));
    assert_eq!(plan.requeue_after, None);
    assert!(held_nodes(&plan).is_empty());
}

// ---------------------------------------------------------------- max-surge beside maxUnavailable

#[test]
fn max_surge_with_max_unavailable_surges_and_deletes_within_both_budgets() {
    // spec maxUnavailable 2 + max-surge "2": two nodes surge (node-0, node-1), the next two are
    // replaced without surging (old-2, old-3), the rest wait.
    let ds = daemon_set("agent").max_unavailable(2).annotation(MAX_SURGE, "2");
    let snapshot = cluster(ds).nodes(nodes(6)).layout("O O O O O O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&["node-0", "node-1"], &["old-2", "old-3"]));
    assert_eq!(action_on(&plan, "node-4"), Some(NodeAction::Wait));
}

#[test]
fn max_surge_counts_unavailable_nodes_against_max_unavailable() {
    // node-0's old pod is not available: it gets its new pod beside it (beyond the budgets) and
    // uses one of maxUnavailable 2, leaving one delete; max-surge "1" surges node-1.
    let ds = daemon_set("agent").max_unavailable(2).annotation(MAX_SURGE, "1");
    let snapshot = cluster(ds).nodes(nodes(5)).layout("o O O O O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&["node-0", "node-1"], &["old-2"]));
}

#[test]
fn max_surge_zero_over_a_surging_spec_rolls_one_node_at_a_time_without_surging() {
    // max-surge "0" replaces the spec's maxSurge 1; with the spec's maxUnavailable 0 both budgets
    // are zero, which upstream reads as maxUnavailable 1 (updatedDesiredNodeCounts), not as a stall.
    let ds = daemon_set("agent").surge(1).annotation(MAX_SURGE, "0");
    let snapshot = cluster(ds).nodes(nodes(3)).layout("O O O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-0"]));
}

#[test]
fn manage_keeps_the_surge_pod_beside_the_old_one() {
    // With max-surge a node running an old and a new pod is a surge in flight, not a duplicate:
    // manage prunes nothing and the surge budget is spent (without the annotation manage would
    // delete one of node-0's pods).
    let ds = daemon_set("agent").max_unavailable(1).annotation(MAX_SURGE, "1");
    let snapshot = cluster(ds).nodes(nodes(3)).layout("On O O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(plan.step, Step::RollingUpdate);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-1"]));
    assert!(matches!(
        plan.nodes
            .iter()
            .find(|note| note.node == "node-0")
            .map(|note| note.reason),
        Some(Reason::SurgeWaitingForNewPod { .. })
    ));
}

// ---------------------------------------------------------------- progress-deadline

#[test]
fn an_updated_pod_unavailable_past_the_progress_deadline_stops_the_rollout() {
    // new-0 has not been Ready for 400 s > 5 min: no more deletes (maxUnavailable 2 had room),
    // Progressing False/ProgressDeadlineExceeded, a Warning.
    let ds = daemon_set("agent")
        .max_unavailable(2)
        .annotation(PROGRESS_DEADLINE, "5m");
    let snapshot = cluster(ds)
        .nodes(nodes(4))
        .pods([stuck("new-0", "node-0", 600, 400)])
        .layout("- O O O")
        .snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    assert!(plan.rollout.failed);
    let hold = Hold::ProgressDeadlineExceeded {
        pod: "new-0",
        node: "node-0",
    };
    assert_eq!(held_on(&plan, "node-1"), Some(hold));
    assert_eq!(progressing(&plan), ("False", "ProgressDeadlineExceeded"));
    assert_eq!(event_reasons(&plan), vec![(true, "ProgressDeadlineExceeded")]);
}

#[test]
fn before_the_progress_deadline_the_rollout_goes_on_and_syncs_again_when_it_ends() {
    // new-0 has not been Ready for 100 s of 300: the rollout goes on, and the plan asks for a sync
    // when the deadline ends, 200 s from now.
    let ds = daemon_set("agent")
        .max_unavailable(2)
        .annotation(PROGRESS_DEADLINE, "5m");
    let snapshot = cluster(ds)
        .nodes(nodes(4))
        .pods([stuck("new-0", "node-0", 100, 100)])
        .layout("- O O O")
        .snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-1"]));
    assert!(!plan.rollout.failed);
    assert_eq!(plan.requeue_after, Some(Duration::from_secs(200)));
    assert_eq!(progressing(&plan), ("True", "NewRevisionRolling"));
}

#[test]
fn a_pod_crashing_after_the_rollout_completed_is_not_a_rollout_failure() {
    // The stored Progressing condition says RolloutComplete and no old pod is left: a pod that
    // stops being Ready now is an incident, not a failed rollout. Without that record it is one.
    for (completed, failed) in [(true, false), (false, true)] {
        let mut ds = daemon_set("agent").annotation(PROGRESS_DEADLINE, "5m");
        if completed {
            ds = ds.condition("Progressing", "True", "RolloutComplete");
        }
        let snapshot = cluster(ds)
            .nodes(nodes(3))
            .pods([stuck("new-1", "node-1", 7200, 900)])
            .layout("N - N")
            .snapshot();
        let plan = planner::plan(&snapshot);
        assert_eq!(plan.rollout.failed, failed, "completed before: {completed}");
        assert_eq!(
            progressing(&plan).1 == "ProgressDeadlineExceeded",
            failed,
            "completed before: {completed}"
        );
    }
}

// ---------------------------------------------------------------- ignore-not-ready-nodes

#[test]
fn not_ready_nodes_not_yet_reached_neither_roll_nor_spend_max_unavailable() {
    // Three NotReady nodes, more than maxUnavailable 1: they are skipped (their old pods stay) and
    // not counted, so the Ready nodes still roll one at a time.
    let ds = daemon_set("agent").annotation(IGNORE_NOT_READY_NODES, "true");
    let fleet = vec![
        node("node-0"),
        node("node-1"),
        node("node-2").not_ready(),
        node("node-3").not_ready(),
        node("node-4").not_ready(),
    ];
    let snapshot = cluster(ds).nodes(fleet).layout("O O o o o").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-0"]));
    for node in ["node-2", "node-3", "node-4"] {
        assert_eq!(held_on(&plan, node), Some(Hold::NodeNotReady), "{node}");
    }
}

#[test]
fn a_not_ready_node_already_on_the_new_revision_blocks_the_rollout() {
    // node-0 got the new revision and went NotReady: the rollout stops (its pod still reads as
    // available, so maxUnavailable alone would let old-1 go).
    let ds = daemon_set("agent").annotation(IGNORE_NOT_READY_NODES, "true");
    let fleet = vec![node("node-0").not_ready(), node("node-1"), node("node-2")];
    let snapshot = cluster(ds).nodes(fleet).layout("N O O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    assert_eq!(
        held_on(&plan, "node-1"),
        Some(Hold::UpdatedNodeNotReady { node: "node-0" })
    );
    assert_eq!(progressing(&plan), ("False", "UpdatedNodeNotReady"));
    assert_eq!(event_reasons(&plan), vec![(true, "UpdatedNodeNotReady")]);
}
