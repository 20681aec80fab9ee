//! Rollout controls (issue 11) together: pause with partition, canary with topology, surge with
//! waves, hostPorts with maxSurge, the progress deadline with `on-failure: rollback`; bad values
//! that never loosen the rollout; and a DaemonSet without `daemonroll.io/` annotations, whose plan
//! stays upstream's. One real sync each, worked out by hand from src/planner/rollout.

use daemonroll::planner::rollout::{Hold, RolloutControls};
use daemonroll::planner::{self, Plan};
use daemonroll::snapshot::{RevisionView, Snapshot};
use serde_json::Value;

use crate::controls::*;
use crate::support::*;

const LAST_COMPLETE_REVISION: &str = "daemonroll.io/last-complete-revision";
const ROLLED_BACK_TO: &str = "daemonroll.io/rolled-back-to";
const ROLLBACK_REASON: &str = "daemonroll.io/rollback-reason";

// ---------------------------------------------------------------- pause + partition

#[test]
fn a_pause_holds_every_node_over_a_partition_and_lifting_it_leaves_the_partition() {
    // paused is checked before the partition: all old pods wait as Paused and the condition says
    // Paused (not PartitionHeld); once unpaused only the kept tail waits.
    let layout = format!("{} O O O", ["N"; 9].join(" "));
    let paused = daemon_set("agent")
        .annotation(PARTITION, "3")
        .annotation(PAUSED, "true");
    let snapshot = cluster(paused).nodes(numbered(12)).layout(&layout).snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    assert_eq!(held_on(&plan, "n10"), Some(Hold::Paused));
    assert_eq!(progressing(&plan), ("Unknown", "Paused"));

    let all_old = ["O"; 12].join(" ");
    let paused = daemon_set("agent")
        .max_unavailable("100%")
        .annotation(PARTITION, "3")
        .annotation(PAUSED, "true");
    let snapshot = cluster(paused).nodes(numbered(12)).layout(&all_old).snapshot();
    assert_eq!(outcome(&snapshot), writes(&[], &[]));

    let unpaused = daemon_set("agent")
        .max_unavailable("100%")
        .annotation(PARTITION, "3")
        .annotation(PAUSED, "false");
    let snapshot = cluster(unpaused).nodes(numbered(12)).layout(&all_old).snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan).deletes, numbered_pods("old", 1..=9));
    assert_eq!(held_on(&plan, "n10"), Some(Hold::Partition { kept: 3 }));
}

#[test]
fn a_partition_keeps_the_tail_of_the_topology_order_not_of_the_name_order() {
    // With topology-key the rollout order is zone a (n2, n4), zone b (n1, n5), unlabelled (n3):
    // partition "2" keeps n5 and n3, whatever their names.
    let ds = daemon_set("agent")
        .annotation(TOPOLOGY_KEY, "zone")
        .annotation(PARTITION, "2");
    let snapshot = cluster(ds)
        .nodes(vec![
            node("n1").label("zone", "b"),
            node("n2").label("zone", "a"),
            node("n3"),
            node("n4").label("zone", "a"),
            node("n5").label("zone", "b"),
        ])
        .layout("O N O N O")
        .snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-n1"]));
    assert_eq!(held_on(&plan, "n3"), Some(Hold::Partition { kept: 2 }));
    assert_eq!(held_on(&plan, "n5"), Some(Hold::Partition { kept: 2 }));
}

// ---------------------------------------------------------------- canary + topology

/// Zone a has no canary node; zones b and c have some.
fn canary_zones() -> Vec<NodeBuilder> {
    vec![
        node("a1").label("zone", "a"),
        node("a2").label("zone", "a"),
        node("b1").label("zone", "b").label("canary", "true"),
        node("b2").label("zone", "b"),
        node("c1").label("zone", "c").label("canary", "true"),
        node("c2").label("zone", "c").label("canary", "true"),
    ]
}

#[test]
fn a_canary_with_topology_rolls_matching_nodes_one_domain_at_a_time() {
    // The first domain is the first one with a matching node to roll (b; zone a has none), then c;
    // non-matching nodes stay held as canary, never as another domain's turn.
    let ds = || {
        daemon_set("agent")
            .max_unavailable("100%")
            .annotation(ROLLOUT_NODE_SELECTOR, "canary=true")
            .annotation(TOPOLOGY_KEY, "zone")
    };
    let snapshot = cluster(ds()).nodes(canary_zones()).layout("O O O O O O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-b1"]));
    assert_eq!(held_on(&plan, "a1"), Some(Hold::Canary));
    assert_eq!(held_on(&plan, "b2"), Some(Hold::Canary));
    assert_eq!(held_on(&plan, "c1"), Some(Hold::OtherDomain { current: "b" }));

    let snapshot = cluster(ds()).nodes(canary_zones()).layout("O O N O O O").snapshot();
    assert_eq!(outcome(&snapshot), writes(&[], &["old-c1", "old-c2"]));

    let snapshot = cluster(ds()).nodes(canary_zones()).layout("O O N O N N").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    assert_eq!(progressing(&plan), ("True", "CanaryHeld"));
}

// ---------------------------------------------------------------- surge + waves

#[test]
fn a_surge_pod_not_yet_available_is_a_wave_in_flight() {
    // node-0 surges (old-0 still serves, new-0 not Ready): the wave is in flight, so the spare
    // maxUnavailable 1 that max-surge runs beside deletes no other old pod until it is available.
    let ds = daemon_set("agent")
        .max_unavailable(1)
        .annotation(MAX_SURGE, "1")
        .annotation(WAVE_INTERVAL, "5m");
    let snapshot = cluster(ds).nodes(nodes(3)).layout("On O O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    assert_eq!(held_on(&plan, "node-1"), Some(Hold::WaveInFlight));
}

// ---------------------------------------------------------------- hostPort guard

#[test]
fn host_ports_under_max_surge_roll_without_surging() {
    // A surge pod could never bind the hostPort beside the old pod: maxSurge 1 becomes
    // maxUnavailable 1, old-0 is deleted and nothing is created; the condition says why.
    let ds = daemon_set("agent").surge(1).host_port(8080);
    let snapshot = cluster(ds).nodes(nodes(3)).layout("O O O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-0"]));
    assert!(progressing_message(&plan).contains("hostPorts"));
    assert_eq!(event_reasons(&plan), vec![(true, "SurgeDisabled")]);
}

#[test]
fn the_host_port_warning_is_recorded_once_not_on_every_sync() {
    // The Warning marks the transition: a later sync that finds the condition already stored
    // records no second Event, also after the rollout made progress.
    let ds = || daemon_set("agent").surge(1).host_port(8080);
    let first = cluster(ds()).nodes(nodes(3)).layout("O O O").snapshot();
    let first = planner::plan(&first);
    assert_eq!(first.events.len(), 1);
    let stored: Vec<_> = first
        .rollout
        .conditions
        .as_ref()
        .expect("conditions")
        .iter()
        .map(|c| c.to_view())
        .collect();
    for layout in ["O O O", "n O O", "N O O"] {
        let again = cluster(ds().conditions(stored.clone()))
            .nodes(nodes(3))
            .layout(layout)
            .snapshot();
        let again = planner::plan(&again);
        assert_eq!(event_reasons(&again), vec![], "{layout}");
    }
}

// ---------------------------------------------------------------- progress deadline + rollback

/// An older template of "agent", as revision data.
fn template_data(image: &str) -> Value {
    current_data(&daemon_set("agent").image(image).build())
}

fn old_revision(name: &str, hash: &str, number: i64, image: &str) -> RevisionView {
    revision(
        &daemon_set("agent").build(),
        name,
        Some(hash),
        number,
        template_data(image),
    )
}

/// Two earlier revisions (1: hash-1, 2: OLD_HASH); new-0 has not been Ready for 400 s of a 5 min
/// deadline; old-1 and old-2 still run revision 2.
fn failed_rollout(ds: DaemonSetBuilder, revisions: Vec<RevisionView>) -> Snapshot {
    cluster(
        ds.max_unavailable(2)
            .annotation(PROGRESS_DEADLINE, "5m")
            .annotation(ON_FAILURE, "rollback"),
    )
    .nodes(nodes(3))
    .pods([stuck("new-0", "node-0", 600, 400)])
    .layout("- O O")
    .revisions(revisions)
    .snapshot()
}

fn two_revisions() -> Vec<RevisionView> {
    vec![
        old_revision("agent-1", "hash-1", 1, "agent:v0"),
        old_revision("agent-2", OLD_HASH, 2, "agent:v0.9"),
    ]
}

fn rollback_target<'s>(plan: &Plan<'s>) -> Option<(&'s str, &'s str)> {
    plan.rollout
        .rollback
        .as_ref()
        .map(|rollback| (rollback.to.name.as_str(), rollback.to_hash))
}

#[test]
fn a_failed_rollout_rolls_back_to_the_last_complete_revision() {
    // on-failure rollback: the target is the revision recorded as last complete, even when a
    // newer old revision exists; nothing more is deleted meanwhile.
    let ds = daemon_set("agent").annotation(LAST_COMPLETE_REVISION, "hash-1");
    let snapshot = failed_rollout(ds, two_revisions());
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    assert_eq!(rollback_target(&plan), Some(("agent-1", "hash-1")));
    let rollback = plan.rollout.rollback.as_ref().expect("rollback");
    assert_eq!(rollback.from_hash, plan.update_revision);
    assert!(rollback.reason.contains("restored revision 1"), "{}", rollback.reason);
    assert_eq!(progressing(&plan), ("False", "ProgressDeadlineExceeded"));
}

#[test]
fn without_a_last_complete_revision_a_rollback_restores_the_newest_old_revision() {
    // As `kubectl rollout undo` picks; a last-complete hash no revision has falls back the same way.
    for ds in [
        daemon_set("agent"),
        daemon_set("agent").annotation(LAST_COMPLETE_REVISION, "pruned-hash"),
    ] {
        let snapshot = failed_rollout(ds, two_revisions());
        let plan = planner::plan(&snapshot);
        assert_eq!(rollback_target(&plan), Some(("agent-2", OLD_HASH)));
    }
}

#[test]
fn a_rolled_back_revision_that_fails_again_is_not_rolled_back_twice() {
    // rolled-back-to names the current hash: the condition is RolledBack (with the recorded
    // reason) and no second rollback is planned; the rollout stays stopped.
    let hash = current_hash(&daemon_set("agent").build());
    let ds = daemon_set("agent")
        .annotation(ROLLED_BACK_TO, &hash)
        .annotation(ROLLBACK_REASON, "revision 3 failed");
    let snapshot = failed_rollout(ds, two_revisions());
    let plan = planner::plan(&snapshot);
    assert_eq!(plan.update_revision, hash);
    assert_eq!(plan.rollout.rollback, None);
    assert_eq!(progressing(&plan), ("False", "RolledBack"));
    assert!(progressing_message(&plan).contains("rolled back: revision 3 failed"));
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
}

#[test]
fn a_failed_rollout_without_an_earlier_revision_cannot_roll_back() {
    let snapshot = failed_rollout(daemon_set("agent"), Vec::new());
    let plan = planner::plan(&snapshot);
    assert_eq!(plan.rollout.rollback, None);
    assert_eq!(progressing(&plan), ("False", "RollbackFailed"));
    assert_eq!(event_reasons(&plan), vec![(true, "RollbackFailed")]);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
}

#[test]
fn on_failure_pause_stops_the_rollout_without_a_rollback() {
    let snapshot = cluster(
        daemon_set("agent")
            .max_unavailable(2)
            .annotation(PROGRESS_DEADLINE, "5m")
            .annotation(ON_FAILURE, "pause"),
    )
    .nodes(nodes(3))
    .pods([stuck("new-0", "node-0", 600, 400)])
    .layout("- O O")
    .revisions(two_revisions())
    .snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(plan.rollout.rollback, None);
    assert!(plan.rollout.failed);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
}

#[test]
fn a_completed_rollout_with_rollback_configured_is_recorded_as_last_complete() {
    // Every node runs an available pod of the current revision: the report asks to record its hash
    // as the revision a later rollback restores, once.
    let ds = || daemon_set("agent").annotation(ON_FAILURE, "rollback");
    let hash = current_hash(&ds().build());
    let snapshot = cluster(ds()).nodes(nodes(2)).layout("N N").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(progressing(&plan), ("True", "RolloutComplete"));
    assert_eq!(plan.rollout.mark_complete, Some(hash.clone()));

    let recorded = ds().annotation(LAST_COMPLETE_REVISION, &hash);
    let snapshot = cluster(recorded).nodes(nodes(2)).layout("N N").snapshot();
    assert_eq!(planner::plan(&snapshot).rollout.mark_complete, None);
}

// ---------------------------------------------------------------- bad values never loosen

#[test]
fn an_invalid_partition_without_a_last_good_one_holds_every_node() {
    // A partition that does not parse would keep an unknown number of nodes: nothing rolls.
    let ds = daemon_set("agent")
        .max_unavailable("100%")
        .annotation(PARTITION, "three");
    let snapshot = cluster(ds).nodes(nodes(3)).layout("O o O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    assert_eq!(held_on(&plan, "node-1"), Some(Hold::InvalidControl));
    assert_eq!(progressing(&plan), ("Unknown", "InvalidAnnotation"));
    assert_eq!(event_reasons(&plan), vec![(true, "InvalidAnnotation")]);
}

#[test]
fn an_invalid_partition_keeps_the_last_good_one() {
    let ds = daemon_set("agent")
        .max_unavailable("100%")
        .annotation(PARTITION, "three");
    let snapshot = cluster(ds)
        .nodes(nodes(3))
        .layout("O O O")
        .last_good(PARTITION, "1")
        .snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-0", "old-1"]));
    assert_eq!(held_on(&plan, "node-2"), Some(Hold::Partition { kept: 1 }));
    assert_eq!(progressing(&plan), ("True", "InvalidAnnotation"));
}

#[test]
fn an_invalid_max_surge_means_no_surge() {
    // Not surging is the safe reading: the spec's maxUnavailable 1 still rolls one node.
    let ds = daemon_set("agent").annotation(MAX_SURGE, "lots");
    let snapshot = cluster(ds).nodes(nodes(3)).layout("O O O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-0"]));
    assert_eq!(plan.rollout.problems.len(), 1);
}

#[test]
fn an_invalid_paused_value_reads_as_paused() {
    let ds = daemon_set("agent").annotation(PAUSED, "yes");
    let snapshot = cluster(ds).nodes(nodes(2)).layout("O O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    assert_eq!(held_on(&plan, "node-0"), Some(Hold::Paused));
}

#[test]
fn a_new_invalid_value_is_a_new_warning_but_progress_alone_is_not() {
    // The Warning is repeated when the problem changes, not when only the progress part of the
    // condition's message does.
    let first = cluster(daemon_set("agent").annotation(PARTITION, "three"))
        .nodes(nodes(2))
        .layout("O O")
        .snapshot();
    let first = planner::plan(&first);
    let stored: Vec<_> = first
        .rollout
        .conditions
        .as_ref()
        .expect("conditions")
        .iter()
        .map(|condition| condition.to_view())
        .collect();
    for (value, layout, events) in [("three", "O O", 0), ("three", "N O", 0), ("four", "O O", 1)] {
        let again = cluster(
            daemon_set("agent")
                .annotation(PARTITION, value)
                .conditions(stored.clone()),
        )
        .nodes(nodes(2))
        .layout(layout)
        .snapshot();
        assert_eq!(planner::plan(&again).events.len(), events, "{value}, {layout}");
    }
}

// ---------------------------------------------------------------- no annotation

#[test]
fn a_daemon_set_without_annotations_gets_no_rollout_events_or_holds() {
    // No control: the rollout is upstream's (the other planner tests pin its writes); the report
    // holds nothing, finds no problem and records no Event.
    let snapshot = cluster(daemon_set("agent")).nodes(nodes(3)).layout("O n O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &[]));
    assert!(plan.events.is_empty());
    assert!(plan.rollout.held.is_empty());
    assert!(held_nodes(&plan).is_empty());
    assert_eq!(plan.rollout.controls, RolloutControls::default());
    assert!(plan.rollout.problems.is_empty());
    assert_eq!(plan.rollout.rollback, None);
    assert_eq!(plan.rollout.mark_complete, None);
    assert_eq!(plan.requeue_after, None);

    let snapshot = cluster(daemon_set("agent")).nodes(nodes(3)).layout("O O O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-0"]));
    assert!(plan.events.is_empty());
}

// ---------------------------------------------------------------- review fixes

#[test]
fn a_ready_pod_inside_min_ready_seconds_is_not_late_however_old() {
    // progress-deadline counts from when a pod last turned unavailable: new-0 was created an hour
    // ago and turned Ready 5 s ago (minReadySeconds 30): on its way, not a failed rollout.
    let ds = daemon_set("agent")
        .min_ready_seconds(30)
        .annotation(PROGRESS_DEADLINE, "10m");
    let snapshot = cluster(ds)
        .nodes(nodes(3))
        .pods([pod("new-0").on("node-0").created(ago(3600)).ready_since(ago(5))])
        .layout("- O O")
        .snapshot();
    let plan = planner::plan(&snapshot);
    assert!(!plan.rollout.failed);
    assert_eq!(progressing(&plan).1, "NewRevisionRolling");
}

#[test]
fn a_node_joining_at_the_new_revision_takes_no_partition_slot() {
    // partition keeps N nodes on the OLD revision: node-3 joined and runs the new one, so the
    // kept node is node-2, the last node still on the old revision, and node-0 and node-1 roll.
    let ds = daemon_set("agent").max_unavailable("100%").annotation(PARTITION, "1");
    let snapshot = cluster(ds).nodes(nodes(4)).layout("O O O N").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-0", "old-1"]));
    assert_eq!(held_on(&plan, "node-2"), Some(Hold::Partition { kept: 1 }));
}

#[test]
fn a_failed_rollout_outranks_an_invalid_annotation_in_the_condition() {
    // kubectl wait --for=condition=Progressing=False must see the failure; the bad value's words
    // stay in the message.
    let ds = daemon_set("agent")
        .max_unavailable(2)
        .annotation(PROGRESS_DEADLINE, "5m")
        .annotation(WAVE_INTERVAL, "soon");
    let snapshot = cluster(ds)
        .nodes(nodes(4))
        .pods([stuck("new-0", "node-0", 600, 400)])
        .layout("- O O O")
        .last_good(WAVE_INTERVAL, "1m")
        .snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(progressing(&plan), ("False", "ProgressDeadlineExceeded"));
    assert!(progressing_message(&plan).contains(WAVE_INTERVAL));
}

#[test]
fn the_marks_daemonroll_writes_itself_are_not_controls() {
    // After a user removed every control, last-complete-revision alone adds no Events and no
    // condition-only status writes: the DaemonSet is upstream's again.
    let ds = daemon_set("agent").annotation("daemonroll.io/last-complete-revision", "abc");
    let snapshot = cluster(ds).nodes(nodes(2)).layout("O O").snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(event_reasons(&plan), vec![]);
}

#[test]
fn an_absurdly_long_duration_is_a_bad_value_not_a_crash() {
    let ds = daemon_set("agent").annotation(PROGRESS_DEADLINE, "3000000000h");
    let snapshot = cluster(ds)
        .nodes(nodes(2))
        .pods([stuck("new-0", "node-0", 600, 400)])
        .layout("- O")
        .snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(plan.rollout.problems.len(), 1, "{:?}", plan.rollout.problems);
}
