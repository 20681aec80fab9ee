//! Coexist mode (issue 12), continued: the rollout controls as gates on the deletes, and leaving
//! coexist mode or waiting for kube-controller-manager. Scenario and helpers: coexist.rs.

use daemonroll::planner::coexist::{self, MANAGED, OPT_IN};
use daemonroll::planner::rollout::Hold;
use serde_json::json;
use std::collections::BTreeSet;

use crate::coexist::*;
use crate::controls::{ON_FAILURE, PARTITION, PAUSED, PROGRESS_DEADLINE, ROLLOUT_NODE_SELECTOR, stuck};
use crate::support::*;

// ---------------------------------------------------------------- rollout controls as delete gates

#[test]
fn pause_partition_and_canary_stop_deletes_even_of_unavailable_old_pods() {
    // Rule 10: the gates govern deletions; nothing goes, not even the unavailable old-1.
    for (annotation, value, hold) in [
        (PAUSED, "true", Hold::Paused),
        (PARTITION, "3", Hold::Partition { kept: 3 }),
        (ROLLOUT_NODE_SELECTOR, "canary=true", Hold::Canary),
    ] {
        let ds = opted_in(
            daemon_set("agent")
                .on_delete_budget(json!({"maxUnavailable": "100%"}))
                .annotation(annotation, value),
        );
        let snapshot = fleet(ds).nodes(nodes(3)).layout("O o O").snapshot();
        let plan = coexist::plan(&snapshot);
        assert_eq!(deleted(&plan), Vec::<String>::new(), "{annotation}");
        for node in ["node-0", "node-1", "node-2"] {
            assert_eq!(held_on(&plan, node), Some(hold), "{annotation}: {node}");
        }
    }
}

#[test]
fn a_held_node_running_the_new_revision_is_reported_as_an_unplanned_update() {
    // Rule 10: kube-controller-manager created TARGET on node-2 (a new node, an evicted pod)
    // while a control held it; the Progressing message gives the count and the node.
    for (annotation, value) in [
        (PAUSED, "true"),
        (PARTITION, "1"),
        (ROLLOUT_NODE_SELECTOR, "canary=true"),
    ] {
        let ds = managed().annotation(annotation, value);
        let fleet_nodes = vec![
            node("node-0").label("canary", "true"),
            node("node-1").label("canary", "true"),
            node("node-2"),
        ];
        let snapshot = fleet(ds).nodes(fleet_nodes).layout("O O N").snapshot();
        let plan = coexist::plan(&snapshot);
        let message = progressing_message(&plan);
        assert!(
            message.contains(
                "1 unplanned updates (kube-controller-manager created the new revision on held nodes): node-2"
            ),
            "{annotation}: {message}"
        );
    }
}

#[test]
fn a_held_node_daemonroll_itself_rolled_is_not_an_unplanned_update() {
    // Rule 10: only kube-controller-manager's own creates are unplanned. daemonroll emptied
    // node-0 for this revision before the pause (the controller remembers it): not reported;
    // node-2, which it never touched, is.
    let ds = managed().annotation(PAUSED, "true");
    let mut snapshot = fleet(ds).nodes(nodes(3)).layout("N O N").snapshot();
    snapshot.replaced_by_daemonroll = Some((TARGET.to_string(), BTreeSet::from(["node-0".to_string()])));
    let plan = coexist::plan(&snapshot);
    let message = progressing_message(&plan);
    assert!(
        message
            .contains("1 unplanned updates (kube-controller-manager created the new revision on held nodes): node-2"),
        "{message}"
    );
    // Remembered for another revision: it says nothing of this one.
    snapshot.replaced_by_daemonroll = Some(("another".to_string(), BTreeSet::from(["node-0".to_string()])));
    assert!(progressing_message(&coexist::plan(&snapshot)).contains("2 unplanned updates"));
}

#[test]
fn a_new_unplanned_update_is_written_though_the_reason_stays() {
    // Rule 10 and the acceptance: a node joining a paused rollout is reported. Progressing
    // stays Unknown/Paused, so only the message changes, and the condition is written for it; the
    // sync after that writes nothing.
    let paused = || managed().annotation(PAUSED, "true");
    let before = fleet(paused()).nodes(nodes(2)).layout("O O").snapshot();
    let stored = as_stored(&coexist::plan(&before));
    let joined = fleet(paused().conditions(stored))
        .nodes(nodes(3))
        .layout("O O N")
        .snapshot();
    let plan = coexist::plan(&joined);
    assert_eq!(progressing(&plan), ("Unknown", "Paused"));
    assert!(progressing_message(&plan).contains("node-2"));
    assert!(plan.rollout.write_conditions, "the unplanned update must be written");
    let stored = as_stored(&plan);
    let again = fleet(paused().conditions(stored))
        .nodes(nodes(3))
        .layout("O O N")
        .snapshot();
    assert!(!coexist::plan(&again).rollout.write_conditions);
}

#[test]
fn the_progress_deadline_stops_deletes() {
    // Rule 11: new-0 (TARGET) has not been Ready for 400 s of 5 min: no delete though
    // maxUnavailable 2 has room, Progressing False/ProgressDeadlineExceeded and a Warning.
    let ds = opted_in(
        daemon_set("agent")
            .on_delete_budget(json!({"maxUnavailable": 2}))
            .annotation(PROGRESS_DEADLINE, "5m"),
    );
    let snapshot = fleet(ds)
        .nodes(nodes(4))
        .pods([stuck("new-0", "node-0", 600, 400)])
        .layout("- O O O")
        .snapshot();
    let plan = coexist::plan(&snapshot);
    assert_eq!(deleted(&plan), Vec::<String>::new());
    assert!(plan.rollout.failed);
    assert_eq!(progressing(&plan), ("False", "ProgressDeadlineExceeded"));
    assert_eq!(event_reasons(&plan), vec![(true, "ProgressDeadlineExceeded")]);
    assert_eq!(plan.rollout.rollback, None);
}

#[test]
fn on_failure_rollback_plans_a_rollback_to_the_previous_revision() {
    // Rules 2 and 14: with `on-failure: rollback` the failed TARGET is rolled back to revision 1,
    // the newest older revision of kube-controller-manager's history.
    let ds = opted_in(
        daemon_set("agent")
            .on_delete_budget(json!({"maxUnavailable": 2}))
            .annotation(PROGRESS_DEADLINE, "5m")
            .annotation(ON_FAILURE, "rollback"),
    );
    let snapshot = fleet(ds)
        .nodes(nodes(3))
        .pods([stuck("new-0", "node-0", 600, 400)])
        .layout("- O O")
        .snapshot();
    let plan = coexist::plan(&snapshot);
    assert_eq!(deleted(&plan), Vec::<String>::new());
    let rollback = plan.rollout.rollback.as_ref().expect("a rollback is planned");
    assert_eq!(
        (rollback.to.name.as_str(), rollback.to_hash, rollback.from_hash.as_str()),
        ("agent-1", OLD_HASH, TARGET)
    );
}

#[test]
fn daemonrolls_record_is_its_prefixed_condition_only() {
    // Rule 12: a stored `daemonroll.io/Progressing` RolloutComplete means the rollout completed, so
    // a pod failing now is an incident, not a failed rollout; an unprefixed Progressing is
    // someone else's and proves nothing.
    for (type_, failed) in [("daemonroll.io/Progressing", false), ("Progressing", true)] {
        let ds = managed()
            .annotation(PROGRESS_DEADLINE, "5m")
            .condition(type_, "True", "RolloutComplete");
        let snapshot = fleet(ds)
            .nodes(nodes(3))
            .pods([stuck("new-1", "node-1", 7200, 900)])
            .layout("N - N")
            .snapshot();
        let plan = coexist::plan(&snapshot);
        assert_eq!(plan.rollout.failed, failed, "{type_}");
    }
}

// ---------------------------------------------------------------- leaving, waiting

#[test]
fn leaving_coexist_mode_clears_daemonrolls_conditions() {
    // Rule 16: the annotation removed (or the DaemonSet being deleted) → nothing deleted and
    // daemonroll's prefixed conditions go; with none stored there is nothing to clear.
    let stored = || {
        daemon_set("agent")
            .on_delete_budget(json!({"maxUnavailable": 1}))
            .observed_generation(1)
            .condition("daemonroll.io/Progressing", "True", "NewRevisionRolling")
    };
    for (ds, clear) in [
        (stored(), true),
        (stored().annotation(OPT_IN, MANAGED).deleting(), true),
        (
            daemon_set("agent")
                .on_delete()
                .condition("Progressing", "True", "NewRevisionRolling"),
            false,
        ),
    ] {
        let snapshot = fleet(ds).nodes(nodes(2)).layout("O O").snapshot();
        let plan = coexist::plan(&snapshot);
        assert_eq!(plan.rollout.clear_conditions, clear);
        assert_eq!(plan.rollout.conditions, None);
        assert_eq!(deleted(&plan), Vec::<String>::new());
    }
}

#[test]
fn no_pod_is_deleted_while_expectations_are_unsatisfied() {
    // STYLE: never plan writes on a cache that has not seen the last ones; nor a rollback.
    let ds = opted_in(
        daemon_set("agent")
            .on_delete_budget(json!({"maxUnavailable": "100%"}))
            .annotation(PROGRESS_DEADLINE, "5m")
            .annotation(ON_FAILURE, "rollback"),
    );
    let snapshot = fleet(ds)
        .nodes(nodes(3))
        .pods([stuck("new-0", "node-0", 600, 400)])
        .layout("- o O")
        .expectations_pending()
        .snapshot();
    let plan = coexist::plan(&snapshot);
    assert_eq!(deleted(&plan), Vec::<String>::new());
    assert_eq!(plan.rollout.rollback, None);
}

#[test]
fn nothing_is_deleted_before_kube_controller_manager_has_a_revision_for_the_generation() {
    // Rules 1 and 3: observedGeneration behind, or no owned revision yet → wait, said as a problem.
    let behind = fleet(managed().generation(2)).nodes(nodes(2)).layout("O O").snapshot();
    let none = cluster(managed()).nodes(nodes(2)).layout("O O").snapshot();
    for (snapshot, problem) in [(behind, "has not observed"), (none, "no ControllerRevision")] {
        let plan = coexist::plan(&snapshot);
        assert_eq!(deleted(&plan), Vec::<String>::new(), "{problem}");
        assert!(plan.problems.iter().any(|p| p.contains(problem)), "{:?}", plan.problems);
    }
}
