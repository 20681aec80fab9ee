//! Input order never changes a plan: the sorted fast path (nodes by name, pods by target node) and the
//! indexed path give the same creates, deletes, status, ownership and node explanations.

use std::sync::Arc;

use daemonroll::planner;
use daemonroll::snapshot::Snapshot;
use daemonroll::snapshot::assemble::sort_by_target_node;

use crate::support::*;

/// A cluster exercising every kind of map entry: several pods on a node, pods on missing nodes
/// (bound and pinned), pods without a target, orphans, foreign pods, terminating and failed pods.
fn busy_cluster() -> Snapshot {
    cluster(daemon_set("ds").max_unavailable(2))
        .nodes([
            node("b"),
            node("a"),
            node("d").taint("k", "v", "NoExecute"),
            node("c"),
            node("e"),
        ])
        .pods([
            pod("p-a1").on("a").old(),
            pod("p-a2").on("a").old().created(ago(10)),
            pod("p-b").on("b").old().not_ready(),
            pod("p-c").on("c").failed(),
            pod("p-d").on("d").old(),
            pod("p-gone").on("zz-gone"),
            pod("p-ghost").pinned_to("aa-ghost").pending(),
            pod("p-ghost2").pinned_to("aa-ghost").pending().old(),
            pod("p-floating").pending(),
            pod("p-orphan").on("e").orphan(),
            pod("p-foreign").on("e").owned_by_other(),
            pod("p-term").on("e").terminating(),
        ])
        .snapshot()
}

fn fingerprint(snapshot: &Snapshot) -> String {
    let plan = planner::plan(snapshot);
    let notes: Vec<String> = plan
        .nodes
        .iter()
        .map(|n| format!("{} {:?} {}", n.node, n.action, n.reason))
        .collect();
    let adopted: Vec<&str> = plan.ownership.adopt_pods.iter().map(|p| p.name.as_str()).collect();
    format!(
        "{:?}\n{:?}\n{:?}\n{}",
        outcome_of(&plan),
        plan.status,
        adopted,
        notes.join("\n")
    )
}

#[test]
fn plans_do_not_depend_on_node_or_pod_order() {
    let original = busy_cluster();
    let mut sorted = original.clone();
    let mut nodes = sorted.nodes.to_vec();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    sorted.nodes = Arc::from(nodes);
    sort_by_target_node(&mut sorted.pods);
    let expected = fingerprint(&sorted);

    let mut reversed = sorted.clone();
    reversed.pods.reverse();
    let mut interleaved = sorted.clone();
    let (even, odd): (Vec<_>, Vec<_>) = interleaved
        .pods
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    interleaved.pods = odd.into_iter().chain(even).map(|(_, p)| p).collect();
    let mut nodes_reversed = sorted.clone();
    let mut nodes = nodes_reversed.nodes.to_vec();
    nodes.reverse();
    nodes_reversed.nodes = Arc::from(nodes);

    for (name, snapshot) in [
        ("as built", &original),
        ("pods reversed", &reversed),
        ("pods interleaved", &interleaved),
        ("nodes reversed", &nodes_reversed),
    ] {
        assert_eq!(fingerprint(snapshot), expected, "{name}");
    }
    // The scenario itself, worked by hand (daemon_controller.go podsShouldBeOnNode and manage):
    let plan = planner::plan(&sorted);
    // a: two running pods → the younger, p-a2 (created 10 s ago; p-a1 2 h ago), goes;
    // c: failed pod deleted (backoff starts); d: untolerated NoExecute → p-d deleted;
    // aa-ghost: unscheduled pods pinned to a missing node deleted; zz-gone: bound pod left to the pod GC;
    // e: the orphan is adopted and kept, the terminating pod waits. Manage wrote, so no rolling update.
    assert_eq!(
        outcome_of(&plan),
        writes(&[], &["p-a2", "p-c", "p-d", "p-ghost", "p-ghost2"])
    );
}
