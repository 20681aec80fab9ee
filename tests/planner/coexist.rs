//! Coexist mode (issue 12): `planner::coexist::plan` beside kube-controller-manager on opted-in
//! OnDelete DaemonSets. Each test states the rule it checks (ARCHITECTURE.md "Coexist mode",
//! numbered there) and the outcome of ONE sync, worked out by
//! hand from src/planner/coexist.rs, rolling.rs and src/planner/rollout.
//!
//! Scenario: kube-controller-manager minted revision 1 (OLD_HASH, the old pods) and revision 2
//! (TARGET, the new pods) with data unlike the current template, so that nothing here can pass by
//! recomputing a hash; layouts read as in support.rs, with `N`/`n` pods labelled TARGET.

use daemonroll::planner::coexist::{self, CONDITION_PREFIX, MANAGED, OPT_IN};
use daemonroll::planner::rollout::Hold;
use daemonroll::planner::{OwnershipChanges, Plan, Step};
use daemonroll::snapshot::{ConditionView, REVISION_HASH_LABEL, RevisionView, TEMPLATE_GENERATION_LABEL};
use serde_json::{Value, json};

use crate::controls::strings;
use crate::support::*;

// ---------------------------------------------------------------- helpers

/// The hash of kube-controller-manager's newest revision of "agent".
pub(crate) const TARGET: &str = "target-hash";
pub(crate) const MISCONFIGURED: &str = "CoexistMisconfigured";

/// `ds` opted in, with kube-controller-manager having observed generation 1.
pub(crate) fn opted_in(ds: DaemonSetBuilder) -> DaemonSetBuilder {
    ds.annotation(OPT_IN, MANAGED).observed_generation(1)
}

/// "agent", opted in, OnDelete keeping `rollingUpdate: {maxUnavailable: 1}`.
pub(crate) fn managed() -> DaemonSetBuilder {
    opted_in(daemon_set("agent").on_delete_budget(json!({"maxUnavailable": 1})))
}

/// Revision data unlike any template of these tests: kube-controller-manager made it.
pub(crate) fn minted(image: &str) -> Value {
    json!({"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": image}]}}}})
}

/// A revision of `owner` numbered `number`, labelled `hash`, named `agent-<number>`.
pub(crate) fn owned(owner: &daemonroll::snapshot::DaemonSetView, hash: &str, number: i64) -> RevisionView {
    revision(owner, &format!("agent-{number}"), Some(hash), number, minted(hash))
}

/// `ds` with kube-controller-manager's revisions 1 (OLD_HASH) and 2 (TARGET).
pub(crate) fn fleet(ds: DaemonSetBuilder) -> Cluster {
    let cluster = cluster(ds);
    let owner = cluster.daemon_set().clone();
    cluster
        .revisions([owned(&owner, OLD_HASH, 1), owned(&owner, TARGET, 2)])
        .new_pod_hash(TARGET)
}

pub(crate) fn deleted(plan: &Plan<'_>) -> Vec<String> {
    outcome_of(plan).deletes
}

/// The plan's conditions as the executor stores them (prefixed), for the next sync.
pub(crate) fn as_stored(plan: &Plan<'_>) -> Vec<ConditionView> {
    plan.rollout
        .conditions
        .iter()
        .flatten()
        .map(|condition| {
            let mut view = condition.to_view();
            view.type_ = format!("{CONDITION_PREFIX}{}", view.type_);
            view
        })
        .collect()
}

// ---------------------------------------------------------------- opt-in and refusal

#[test]
fn a_daemon_set_that_is_not_opted_in_gets_an_empty_plan() {
    // Rule 1: no annotation (or another value than "managed") → nothing at all, not even conditions.
    for ds in [
        daemon_set("agent").on_delete_budget(json!({"maxUnavailable": 1})),
        daemon_set("agent").on_delete().annotation(OPT_IN, "true"),
        daemon_set("agent").annotation(OPT_IN, "unmanaged"),
    ] {
        let snapshot = fleet(ds.observed_generation(1))
            .nodes(nodes(3))
            .layout("O o -")
            .snapshot();
        let plan = coexist::plan(&snapshot);
        let mut empty = Plan::new(&snapshot.daemon_set);
        empty.coexist = true;
        assert_eq!(plan, empty);
    }
}

#[test]
fn the_annotation_on_a_rolling_update_daemon_set_deletes_nothing_and_says_what_to_change() {
    // Rule 1: kube-controller-manager rolls a RollingUpdate DaemonSet itself; daemonroll refuses,
    // with Progressing False/CoexistMisconfigured naming the fix and one Warning.
    let snapshot = fleet(opted_in(daemon_set("agent").max_unavailable(3)))
        .nodes(nodes(3))
        .layout("O O O")
        .snapshot();
    let plan = coexist::plan(&snapshot);
    assert_eq!(deleted(&plan), Vec::<String>::new());
    assert_eq!(progressing(&plan), ("False", MISCONFIGURED));
    assert!(progressing_message(&plan).contains("set the type to OnDelete"));
    assert_eq!(event_reasons(&plan), vec![(true, MISCONFIGURED)]);
    assert!(plan.rollout.write_conditions);
    assert!(plan.rollout.misconfigured.is_some());
}

#[test]
fn the_misconfiguration_is_warned_once_while_the_stored_condition_says_it() {
    // Rule 12: write on transitions. The next sync reads the prefixed condition it wrote: no second
    // Warning, no second write.
    let first = fleet(opted_in(daemon_set("agent")))
        .nodes(nodes(2))
        .layout("O O")
        .snapshot();
    let stored = as_stored(&coexist::plan(&first));
    let snapshot = fleet(opted_in(daemon_set("agent")).conditions(stored))
        .nodes(nodes(2))
        .layout("O O")
        .snapshot();
    let plan = coexist::plan(&snapshot);
    assert_eq!(progressing(&plan), ("False", MISCONFIGURED));
    assert_eq!(event_reasons(&plan), Vec::new());
    assert!(!plan.rollout.write_conditions);
    assert_eq!(deleted(&plan), Vec::<String>::new());
}

#[test]
fn another_orchestrators_marker_is_refused() {
    // Rule 18: a Kruise Rollouts annotation means shared ownership: no delete, and the condition
    // names the annotation.
    let ds = managed().annotation("rollouts.kruise.io/rolling-style", "partition");
    let snapshot = fleet(ds).nodes(nodes(3)).layout("O O O").snapshot();
    let plan = coexist::plan(&snapshot);
    assert_eq!(deleted(&plan), Vec::<String>::new());
    assert_eq!(progressing(&plan), ("False", MISCONFIGURED));
    assert!(progressing_message(&plan).contains("rollouts.kruise.io/rolling-style"));
    assert_eq!(event_reasons(&plan), vec![(true, MISCONFIGURED)]);
}

// ---------------------------------------------------------------- delete only

#[test]
fn coexist_never_creates_writes_status_counters_or_touches_history() {
    // Rule 2: a node without a pod, an orphan pod and two revisions are kube-controller-manager's
    // business: no create, no status (counters, observedGeneration), no revision, no adoption.
    let orphan = pod("stray").on("node-2").old().orphan();
    let snapshot = fleet(managed())
        .nodes(nodes(4))
        .layout("O O - O")
        .pods([orphan])
        .snapshot();
    let plan = coexist::plan(&snapshot);
    assert!(plan.coexist);
    assert_eq!(outcome_of(&plan), writes(&[], &["old-0"]));
    assert_eq!(plan.step, Step::RollingUpdate);
    assert_eq!(plan.status, None);
    assert_eq!(plan.history, None);
    assert!(plan.prune_revisions.is_empty());
    assert!(plan.relabel_pods.is_empty());
    assert_eq!(plan.ownership, OwnershipChanges::default());
    // The conditions the executor prefixes are computed under daemonroll's unprefixed types.
    let types: Vec<&str> = plan.rollout.conditions.iter().flatten().map(|c| c.type_).collect();
    assert_eq!(types, vec!["Progressing", "Available"]);
}

// ---------------------------------------------------------------- target revision and "updated"

#[test]
fn the_target_is_the_highest_numbered_owned_revision_not_the_template_hash() {
    // Rule 3: never recompute a hash; revisions in any list order; a revision being deleted, an
    // orphan and another DaemonSet's revision do not count, however high their numbers.
    let ds = managed();
    let owner = ds.build();
    let mut deleting = owned(&owner, "deleting-hash", 7);
    deleting.deletion_timestamp = Some(ago(5));
    let mut orphan = owned(&owner, "orphan-hash", 8);
    orphan.controller = None;
    let mut foreign = owned(&owner, "foreign-hash", 9);
    if let Some(controller) = foreign.controller.as_mut() {
        controller.uid = "uid-other".into();
    }
    let snapshot = cluster(managed())
        .revisions([
            owned(&owner, "hash-1", 1),
            owned(&owner, "hash-3", 3),
            owned(&owner, "hash-2", 2),
            deleting,
            orphan,
            foreign,
        ])
        .nodes(nodes(1))
        .layout("O")
        .snapshot();
    let plan = coexist::plan(&snapshot);
    assert_eq!(plan.update_revision, "hash-3");
    assert_ne!(plan.update_revision, current_hash(&owner));
    assert!(
        progressing_message(&plan).starts_with("revision 3:"),
        "{}",
        progressing_message(&plan)
    );
}

#[test]
fn a_revision_without_the_hash_label_is_targeted_by_its_name_suffix() {
    // Rule 3: the name is `<daemonset>-<hash>`; only the suffix is the hash pods carry.
    let owner = managed().build();
    let unlabelled = revision(&owner, "agent-5d8f9c", None, 4, minted("v4"));
    let snapshot = cluster(managed())
        .revisions([owned(&owner, OLD_HASH, 3), unlabelled])
        .new_pod_hash("5d8f9c")
        .nodes(nodes(2))
        .layout("N O")
        .snapshot();
    let plan = coexist::plan(&snapshot);
    assert_eq!(plan.update_revision, "5d8f9c");
    assert!(progressing_message(&plan).contains("1 of 2 nodes updated"));
}

#[test]
fn a_pod_is_updated_by_its_hash_or_by_its_template_generation_label() {
    // Rule 4, upstream IsPodUpdated: hash TARGET (older generation label) or generation label 2
    // (a stale hash) is updated; only the pod with neither is old, and it is the one deleted.
    let labelled = |name: &str, node: &str, hash: &str, generation: &str| {
        pod(name)
            .on(node)
            .label(REVISION_HASH_LABEL, hash)
            .label(TEMPLATE_GENERATION_LABEL, generation)
    };
    let ds = managed().generation(2).observed_generation(2);
    let snapshot = fleet(ds)
        .nodes(nodes(3))
        .pods([
            labelled("by-hash", "node-0", TARGET, "1"),
            labelled("by-generation", "node-1", "stale-hash", "2"),
            labelled("neither", "node-2", OLD_HASH, "1"),
        ])
        .snapshot();
    let plan = coexist::plan(&snapshot);
    assert_eq!(deleted(&plan), strings(&["neither"]));
    assert!(progressing_message(&plan).contains("2 of 3 nodes updated"));
}

// ---------------------------------------------------------------- budget

#[test]
fn the_budget_is_the_kept_max_unavailable_as_an_int_or_a_percentage_rounded_up() {
    // Rule 5: upstream's resolution against the 5 nodes that should run a pod; both zero → 1.
    for (rolling_update, count) in [
        (json!({"maxUnavailable": 2}), 2),
        (json!({"maxUnavailable": "30%"}), 2),
        (json!({"maxUnavailable": "50%"}), 3),
        (json!({"maxUnavailable": "10%"}), 1),
        (json!({"maxUnavailable": 0, "maxSurge": 0}), 1),
        (json!({"maxUnavailable": "100%", "maxSurge": null}), 5),
    ] {
        let ds = opted_in(daemon_set("agent").on_delete_budget(rolling_update.clone()));
        let snapshot = fleet(ds).nodes(nodes(5)).layout("O O O O O").snapshot();
        let plan = coexist::plan(&snapshot);
        let expected: Vec<String> = (0..count).map(|i| format!("old-{i}")).collect();
        assert_eq!(deleted(&plan), expected, "{rolling_update}");
        assert_eq!(plan.creates, Vec::<&str>::new(), "{rolling_update}");
    }
}

#[test]
fn a_missing_budget_means_max_unavailable_one_and_the_condition_says_so() {
    // Rule 5 and the issue: no rollingUpdate (absent or null) is upstream's default, said in words.
    for ds in [
        daemon_set("agent").on_delete(),
        daemon_set("agent").on_delete_budget(Value::Null),
    ] {
        let snapshot = fleet(opted_in(ds)).nodes(nodes(3)).layout("O O O").snapshot();
        let plan = coexist::plan(&snapshot);
        assert_eq!(deleted(&plan), strings(&["old-0"]));
        assert!(
            progressing_message(&plan).starts_with("no rollingUpdate in the spec: maxUnavailable 1"),
            "{}",
            progressing_message(&plan)
        );
    }
}

#[test]
fn max_surge_falls_back_to_one_at_a_time_and_the_condition_says_so() {
    // Rule 5: kube-controller-manager keeps the oldest pod on a node, so a surge cannot happen;
    // one node at a time whatever maxUnavailable says, and never a create.
    for (rolling_update, surge) in [
        (json!({"maxSurge": 2, "maxUnavailable": 3}), "maxSurge 2"),
        (json!({"maxSurge": "25%", "maxUnavailable": 0}), "maxSurge 1"),
    ] {
        let ds = opted_in(daemon_set("agent").on_delete_budget(rolling_update.clone()));
        let snapshot = fleet(ds).nodes(nodes(4)).layout("O O O O").snapshot();
        let plan = coexist::plan(&snapshot);
        assert_eq!(outcome_of(&plan), writes(&[], &["old-0"]), "{rolling_update}");
        let message = progressing_message(&plan);
        assert!(
            message.contains(&format!("{surge} cannot be honoured under OnDelete")),
            "{rolling_update}: {message}"
        );
    }
}

#[test]
fn a_budget_that_cannot_be_read_is_a_misconfiguration() {
    // Issue 12: the API server validates nothing under OnDelete; a budget that is not a count or a
    // percentage (or is negative) stops daemonroll, with the field named and one Warning.
    for (rolling_update, field) in [
        (json!({"maxUnavailable": "ten"}), "maxUnavailable"),
        (json!({"maxUnavailable": "x%"}), "maxUnavailable"),
        (json!({"maxUnavailable": 1.5}), "maxUnavailable"),
        (json!({"maxUnavailable": true}), "maxUnavailable"),
        (json!({"maxUnavailable": 1, "maxSurge": "lots"}), "maxSurge"),
        (json!({"maxUnavailable": -1}), "maxUnavailable"),
        (json!({"maxUnavailable": "-20%"}), "maxUnavailable"),
    ] {
        let ds = opted_in(daemon_set("agent").on_delete_budget(rolling_update.clone()));
        let snapshot = fleet(ds).nodes(nodes(3)).layout("O o O").snapshot();
        let plan = coexist::plan(&snapshot);
        assert_eq!(deleted(&plan), Vec::<String>::new(), "{rolling_update}");
        assert_eq!(progressing(&plan), ("False", MISCONFIGURED), "{rolling_update}");
        assert!(
            progressing_message(&plan).contains(&format!("rollingUpdate.{field}")),
            "{rolling_update}: {}",
            progressing_message(&plan)
        );
        assert_eq!(event_reasons(&plan), vec![(true, MISCONFIGURED)], "{rolling_update}");
    }
}

#[test]
fn unavailable_old_pods_are_replaced_without_spending_the_budget() {
    // Rule 5 (C11): replacing a pod that serves nothing does not make things worse. With two
    // unavailable of maxUnavailable 1 both go and no available one; with 3, one available one too.
    for (rolling_update, deletes) in [
        (json!({"maxUnavailable": 1}), &["old-0", "old-1"][..]),
        (json!({"maxUnavailable": 3}), &["old-0", "old-1", "old-2"][..]),
    ] {
        let ds = opted_in(daemon_set("agent").on_delete_budget(rolling_update.clone()));
        let snapshot = fleet(ds).nodes(nodes(4)).layout("o o O O").snapshot();
        let plan = coexist::plan(&snapshot);
        assert_eq!(deleted(&plan), strings(deletes), "{rolling_update}");
    }
}

#[test]
fn a_node_awaiting_kube_controller_managers_recreate_counts_as_unavailable() {
    // Rules 5 and 7: node-0 was emptied and has no pod yet: it spends maxUnavailable 1 (no more
    // deletes); a new pod that is not available yet does the same; with 2 one more node goes.
    for (layout, max_unavailable, deletes) in [
        ("- O O", 1, &[][..]),
        ("n O O", 1, &[][..]),
        ("- O O", 2, &["old-1"][..]),
        ("N O O", 1, &["old-1"][..]),
    ] {
        let ds = opted_in(daemon_set("agent").on_delete_budget(json!({"maxUnavailable": max_unavailable})));
        let snapshot = fleet(ds).nodes(nodes(3)).layout(layout).snapshot();
        let plan = coexist::plan(&snapshot);
        assert_eq!(deleted(&plan), strings(deletes), "{layout} with {max_unavailable}");
    }
}

// ---------------------------------------------------------------- nodes never emptied

#[test]
fn no_pod_is_deleted_on_a_not_ready_node() {
    // Rule 8: a pod deleted on a NotReady node stays Terminating and is never recreated; whether
    // its pod is available or not, the node is skipped (and still counts as upstream counts it).
    for layout in ["O O O", "o O O"] {
        let ds = opted_in(daemon_set("agent").on_delete_budget(json!({"maxUnavailable": "100%"})));
        let fleet_nodes = vec![node("node-0").not_ready(), node("node-1"), node("node-2")];
        let snapshot = fleet(ds).nodes(fleet_nodes).layout(layout).snapshot();
        let plan = coexist::plan(&snapshot);
        assert_eq!(deleted(&plan), strings(&["old-1", "old-2"]), "{layout}");
        assert_eq!(held_on(&plan, "node-0"), Some(Hold::NotReadyNode), "{layout}");
    }
}

#[test]
fn a_not_ready_node_stuck_terminating_does_not_hold_the_next_wave() {
    // Rules 8 and 9: node-0 went NotReady with its pod terminating; it can never finish its wave,
    // so with a wave interval the next wave does not wait on it (the soak of node-1's new pod,
    // Ready for 20 min, is long over).
    let ds = opted_in(
        daemon_set("agent")
            .on_delete_budget(json!({"maxUnavailable": 2}))
            .annotation("daemonroll.io/wave-interval", "1m"),
    );
    let fleet_nodes = vec![node("node-0").not_ready(), node("node-1"), node("node-2")];
    let snapshot = fleet(ds).nodes(fleet_nodes).layout("T N O").snapshot();
    let plan = coexist::plan(&snapshot);
    assert_eq!(deleted(&plan), strings(&["old-2"]));
}

#[test]
fn no_pod_is_deleted_on_a_node_that_should_not_run_it() {
    // Rule 2: kube-controller-manager removes pods from nodes that no longer match; daemonroll
    // leaving them alone keeps the two from racing.
    let ds = opted_in(
        daemon_set("agent")
            .node_selector("role", "agent")
            .on_delete_budget(json!({"maxUnavailable": "100%"})),
    );
    let fleet_nodes = vec![
        node("node-0").label("role", "agent"),
        node("node-1"),
        node("node-2").label("role", "agent"),
    ];
    let snapshot = fleet(ds).nodes(fleet_nodes).layout("O O O").snapshot();
    let plan = coexist::plan(&snapshot);
    assert_eq!(deleted(&plan), strings(&["old-0", "old-2"]));
    assert_eq!(held_on(&plan, "node-1"), Some(Hold::NotEligible));
}
