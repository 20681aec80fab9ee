//! ControllerRevision history: finding the current revision, creating, renumbering, dedup, pruning.

use daemonroll::planner;
use daemonroll::planner::revisions::{CurrentRevision, NewRevision};
use daemonroll::snapshot::RevisionView;
use serde_json::json;

use crate::support::*;

/// Revision data of some other (older) template.
/// The names of planned revisions, in plan order.
fn names<'s>(revisions: &[&'s RevisionView]) -> Vec<&'s str> {
    revisions.iter().map(|revision| revision.name.as_str()).collect()
}

fn other_data(image: &str) -> serde_json::Value {
    let other = daemon_set("ds").image(image).build();
    current_data(&other)
}

// Upstream: update.go constructHistory/snapshot — no revision matches, so one is created with
// revision max(old)+1 and name <ds>-<hash>; update_test.go TestControlledHistories (no histories).
#[test]
fn a_daemon_set_without_revisions_gets_revision_one_named_after_its_hash() {
    let cluster = cluster(daemon_set("ds")).nodes([node("n1")]);
    let hash = current_hash(cluster.daemon_set());
    let snapshot = cluster.snapshot();
    let plan = planner::plan(&snapshot);
    let history = plan.history.expect("history is planned");
    let data = daemonroll::history::patch::template_patch(&snapshot.daemon_set.template);
    assert_eq!(
        history.current,
        CurrentRevision::Create(NewRevision {
            name: format!("ds-{hash}"),
            hash: hash.clone(),
            revision: 1,
            data
        })
    );
    assert_eq!(plan.update_revision, hash);
}

// Upstream: update.go Match — data bytes equal the patch; the hash comes from the revision's label
// (not recomputed), which is how kube-controller-manager's revisions are taken over.
#[test]
fn an_existing_matching_revision_is_current_and_its_label_is_the_update_hash() {
    let ds = daemon_set("ds").build();
    let revisions = [
        revision(&ds, "ds-5d8f9c7b4", Some("5d8f9c7b4"), 2, current_data(&ds)),
        revision(&ds, "ds-old", Some("oldhash"), 1, other_data("agent:v0")),
    ];
    let snapshot = cluster(daemon_set("ds"))
        .nodes([node("n1")])
        .revisions(revisions)
        .snapshot();
    let plan = planner::plan(&snapshot);
    let history = plan.history.expect("history is planned");
    assert_eq!(
        history.current,
        CurrentRevision::Existing {
            name: "ds-5d8f9c7b4",
            uid: "uid-ds-5d8f9c7b4",
            renumber_to: None
        }
    );
    assert_eq!(plan.update_revision, "5d8f9c7b4");
    assert!(history.label_with_name.is_empty() && history.duplicates.is_empty());
}

// Upstream: update.go constructHistory — on rollback the matching (older) revision is renumbered
// to max(old)+1 (rule E13).
#[test]
fn rolling_back_to_an_older_template_moves_its_revision_to_the_top() {
    let ds = daemon_set("ds").build();
    let revisions = [
        revision(&ds, "ds-a", Some("a"), 1, current_data(&ds)),
        revision(&ds, "ds-b", Some("b"), 2, other_data("agent:v2")),
        revision(&ds, "ds-c", Some("c"), 3, other_data("agent:v3")),
    ];
    let snapshot = cluster(daemon_set("ds")).revisions(revisions).snapshot();
    let history = planner::plan(&snapshot).history.expect("history is planned");
    assert_eq!(
        history.current,
        CurrentRevision::Existing {
            name: "ds-a",
            uid: "uid-ds-a",
            renumber_to: Some(4)
        }
    );
}

// Upstream: update.go constructHistory — an owned revision without the hash label gets its own
// name as hash, and that name is the update hash when it is current (rule E2).
#[test]
fn an_unlabelled_legacy_revision_is_labelled_with_its_name_and_used_as_the_hash() {
    let ds = daemon_set("ds").build();
    let snapshot = cluster(daemon_set("ds"))
        .revisions([revision(&ds, "ds-legacy", None, 1, current_data(&ds))])
        .snapshot();
    let plan = planner::plan(&snapshot);
    let history = plan.history.expect("history is planned");
    assert_eq!(names(&history.label_with_name), vec!["ds-legacy"]);
    assert_eq!(plan.update_revision, "ds-legacy");
}

// Upstream: update.go dedupCurHistories — the highest revision is kept (ties: the last listed),
// the other matching revisions are deleted and pods with another hash relabelled (rule E12).
#[test]
fn duplicate_current_revisions_keep_the_highest_and_relabel_pods() {
    let ds = daemon_set("ds").build();
    let cases = [
        (
            "highest revision wins",
            vec![
                revision(&ds, "ds-x", Some("x"), 4, current_data(&ds)),
                revision(&ds, "ds-y", Some("y"), 3, current_data(&ds)),
            ],
            "ds-x",
            vec!["ds-y"],
        ),
        (
            "equal revisions: the last listed wins",
            vec![
                revision(&ds, "ds-x", Some("x"), 3, current_data(&ds)),
                revision(&ds, "ds-y", Some("y"), 3, current_data(&ds)),
            ],
            "ds-y",
            vec!["ds-x"],
        ),
    ];
    for (name, revisions, keeper, duplicates) in cases {
        let snapshot = cluster(daemon_set("ds"))
            .nodes([node("n1"), node("n2")])
            .pods([
                pod("p1").on("n1").label("controller-revision-hash", "x"),
                pod("p2").on("n2").label("controller-revision-hash", "y"),
            ])
            .revisions(revisions)
            .snapshot();
        let plan = planner::plan(&snapshot);
        let history = plan.history.clone().expect("history is planned");
        let relabelled: Vec<&str> = plan.relabel_pods.iter().map(|p| p.name.as_str()).collect();
        let expected_relabel = if keeper == "ds-x" { vec!["p2"] } else { vec!["p1"] };
        let keeper_uid = format!("uid-{keeper}");
        assert_eq!(
            (history.current, names(&history.duplicates), relabelled),
            (
                CurrentRevision::Existing {
                    name: keeper,
                    uid: &keeper_uid,
                    renumber_to: None
                },
                duplicates,
                expected_relabel
            ),
            "{name}"
        );
    }
}

// Upstream: update.go cleanupHistory — toKill = #old − limit; oldest first; revisions whose hash a
// pod (including a deleted terminal one) carries are skipped without counting (rule E15).
#[test]
fn pruning_deletes_the_oldest_unused_revisions_beyond_the_limit() {
    let ds = daemon_set("ds").build();
    let revisions = [
        revision(&ds, "ds-cur", Some("cur"), 5, current_data(&ds)),
        revision(&ds, "ds-a", Some("a"), 1, other_data("agent:a")),
        revision(&ds, "ds-b", Some("b"), 2, other_data("agent:b")),
        revision(&ds, "ds-c", Some("c"), 3, other_data("agent:c")),
        revision(&ds, "ds-d", Some("d"), 4, other_data("agent:d")),
    ];
    let cases = [
        ("no live pods: the two oldest of four go", vec![], vec!["ds-a", "ds-b"]),
        (
            "a pod on revision a keeps it; b and c go",
            vec![pod("p1").on("n1").label("controller-revision-hash", "a")],
            vec!["ds-b", "ds-c"],
        ),
        (
            "a deleted failed pod still keeps its revision",
            vec![
                pod("p1")
                    .on("n1")
                    .label("controller-revision-hash", "b")
                    .failed()
                    .terminating(),
            ],
            vec!["ds-a", "ds-c"],
        ),
    ];
    for (name, pods, expected) in cases {
        let snapshot = cluster(daemon_set("ds").revision_history_limit(2))
            .nodes([node("n1")])
            .pods(pods)
            .revisions(revisions.clone())
            .snapshot();
        let plan = planner::plan(&snapshot);
        assert_eq!(names(&plan.prune_revisions), expected, "{name}");
    }
}

#[test]
fn nothing_is_pruned_within_the_limit_or_when_the_rolling_update_fails() {
    let ds = daemon_set("ds").build();
    let revisions = vec![
        revision(&ds, "ds-cur", Some("cur"), 3, current_data(&ds)),
        revision(&ds, "ds-a", Some("a"), 1, other_data("agent:a")),
        revision(&ds, "ds-b", Some("b"), 2, other_data("agent:b")),
    ];
    let within = cluster(daemon_set("ds").revision_history_limit(2))
        .revisions(revisions.clone())
        .snapshot();
    assert!(
        planner::plan(&within).prune_revisions.is_empty(),
        "2 old revisions, limit 2"
    );
    // Upstream: update.go updateDaemonSet returns before cleanupHistory when rollingUpdate errors.
    let failing = cluster(daemon_set("ds").revision_history_limit(0).max_unavailable("ten"))
        .nodes([node("n1")])
        .pods([pod("p1").on("n1")])
        .revisions(revisions)
        .snapshot();
    let plan = planner::plan(&failing);
    assert!(
        plan.prune_revisions.is_empty(),
        "pruned despite a failed rolling update: {:?}",
        plan.prune_revisions
    );
    assert!(
        plan.problems.iter().any(|p| p.contains("maxUnavailable")),
        "{:?}",
        plan.problems
    );
}

// Upstream: update.go snapshot — AlreadyExists with other data bumps status.collisionCount and the
// sync stops (no pod writes); the next sync hashes with the new count (rule E11).
#[test]
fn a_hash_collision_bumps_collision_count_and_stops_the_sync() {
    let cluster = cluster(daemon_set("ds")).nodes([node("n1"), node("n2")]);
    let hash = current_hash(cluster.daemon_set());
    let ds = cluster.daemon_set().clone();
    let squatter = revision(&ds, &format!("ds-{hash}"), Some(&hash), 1, other_data("agent:squatter"));
    let snapshot = cluster.revisions([squatter]).snapshot();
    let plan = planner::plan(&snapshot);
    let status = plan.status.expect("collision count is written");
    assert_eq!(
        (outcome_of(&plan), status.status.collision_count),
        (writes(&[], &[]), Some(1))
    );
    assert!(matches!(
        plan.history.map(|h| h.current),
        Some(CurrentRevision::Collision {
            next_collision_count: 1,
            ..
        })
    ));

    let bumped = crate::support::cluster(daemon_set("ds").collision_count(1))
        .nodes([node("n1"), node("n2")])
        .revisions([revision(
            &ds,
            &format!("ds-{hash}"),
            Some(&hash),
            1,
            other_data("agent:squatter"),
        )])
        .snapshot();
    let plan = planner::plan(&bumped);
    assert_ne!(plan.update_revision, hash, "the collision count changes the hash");
    assert_eq!(outcome_of(&plan), writes(&["n1", "n2"], &[]));
}

// Upstream: controller_ref_manager.go ClaimControllerRevisions via update.go controlledHistories —
// orphans matching the selector are adopted; owned revisions no longer matching are released.
#[test]
fn orphan_revisions_are_adopted_and_unmatched_owned_ones_released() {
    let ds = daemon_set("ds").build();
    let mut orphan = revision(&ds, "ds-orphan", Some("orph"), 7, current_data(&ds));
    orphan.controller = None;
    let mut stray = revision(&ds, "ds-stray", Some("stray"), 2, other_data("agent:x"));
    stray.labels.insert("app", "something-else");
    let snapshot = cluster(daemon_set("ds")).revisions([orphan, stray]).snapshot();
    let plan = planner::plan(&snapshot);
    assert_eq!(
        (
            plan.ownership
                .adopt_revisions
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            plan.ownership
                .release_revisions
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            plan.update_revision.clone()
        ),
        (vec!["ds-orphan"], vec!["ds-stray"], "orph".to_string())
    );
}

// Templates are carried as served JSON: a field unknown to this build survives into the patch, so a
// revision written by a newer kube-controller-manager still matches.
#[test]
fn a_template_field_unknown_to_this_build_still_matches_its_revision() {
    let mut ds = daemon_set("ds").build();
    ds.template["spec"]["futureField"] = json!({"enabled": true, "level": 3});
    let data = current_data(&ds);
    assert_eq!(data["spec"]["template"]["spec"]["futureField"]["level"], json!(3));
    let mut builder = daemon_set("ds");
    builder = builder.tolerations(json!([]));
    let mut snapshot = cluster(builder)
        .revisions([revision(&ds, "ds-new", Some("newhash"), 1, data)])
        .snapshot();
    snapshot.daemon_set.template = ds.template.clone();
    assert_eq!(planner::plan(&snapshot).update_revision, "newhash");
}

// Upstream: controller_ref_manager.go ClaimObject compares only the controller reference's uid for
// revisions, so a revision whose reference carries an old name (or kind) is still this DaemonSet's.
#[test]
fn a_revision_is_claimed_by_its_controller_uid_alone() {
    let ds = daemon_set("ds").build();
    let mut renamed = revision(&ds, "ds-abc", Some("abc"), 1, current_data(&ds));
    if let Some(controller) = renamed.controller.as_mut() {
        controller.name = "ds-before-rename".into();
    }
    let snapshot = cluster(daemon_set("ds")).revisions([renamed]).snapshot();
    assert_eq!(planner::plan(&snapshot).update_revision, "abc");
}
