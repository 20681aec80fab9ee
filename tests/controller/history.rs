//! Revision history: pruning to revisionHistoryLimit, and kubectl rollout history and undo over the
//! revisions daemonroll writes.

use serde_json::json;

use crate::support::*;

/// A ControllerRevision as far as these tests look at it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Revision {
    name: String,
    number: i64,
    hash: String,
}

/// The DaemonSets' revisions, oldest first.
async fn revisions(cluster: &Cluster) -> Vec<Revision> {
    let mut out: Vec<Revision> = cluster
        .controller_revisions()
        .await
        .iter()
        .map(|r| Revision {
            name: r["metadata"]["name"].as_str().unwrap_or_default().to_string(),
            number: r["revision"].as_i64().unwrap_or_default(),
            hash: r["metadata"]["labels"]["controller-revision-hash"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        })
        .collect();
    out.sort_by_key(|r| r.number);
    out
}

/// Three nodes; `agent` with revisionHistoryLimit 2 rolled from agent:1 through agent:4, and its
/// revisions pruned to the current one and two old ones.
async fn cluster_with_agent_rolled_four_times() -> (Cluster, Running) {
    let cluster = Cluster::with_nodes(3).pods_ready_after(millis(100)).start().await;
    let controller = cluster.start_controller();
    cluster
        .create_daemon_set(daemon_set("agent").revision_history_limit(2))
        .await;
    cluster.wait_rolled_out("agent").pods(3).within(secs(15)).await;
    for image in ["agent:2", "agent:3", "agent:4"] {
        cluster.set_image("agent", image).await;
        cluster.wait_rolled_out("agent").pods(3).within(secs(15)).await;
    }
    cluster
        .wait_until("pruning to 2 old revisions", secs(5), || async {
            revisions(&cluster).await.len() == 3
        })
        .await;
    (cluster, controller)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revision_history_limit_two_keeps_the_current_revision_and_two_old_ones() {
    let (cluster, controller) = cluster_with_agent_rolled_four_times().await;
    let kept = revisions(&cluster).await;
    assert_eq!(
        kept.iter().map(|r| r.number).collect::<Vec<_>>(),
        vec![2, 3, 4],
        "revisionHistoryLimit 2 keeps the current and 2 old: {kept:?}"
    );
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rollout_history_lists_daemonrolls_revisions() {
    if !kubectl_installed() {
        eprintln!("kubectl is not installed: skipping");
        return;
    }
    let (cluster, controller) = cluster_with_agent_rolled_four_times().await;
    let history = cluster.kubectl_ok(&["rollout", "history", "ds/agent"]);
    let listed: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(listed, vec!["2", "3", "4"], "{history}");
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rollout_undo_reuses_the_previous_revision_renumbered() {
    if !kubectl_installed() {
        eprintln!("kubectl is not installed: skipping");
        return;
    }
    let (cluster, controller) = cluster_with_agent_rolled_four_times().await;
    let kept = revisions(&cluster).await;
    let before = cluster.mark();
    cluster.kubectl_ok(&["rollout", "undo", "ds/agent"]);
    cluster.wait_rolled_out("agent").pods(3).within(secs(15)).await;
    let pods = cluster.pods().await;
    assert!(
        pods.iter().all(|p| pod_image(p) == "agent:3"),
        "undo goes back to agent:3"
    );
    let after = revisions(&cluster).await;
    let revision_three = kept.iter().find(|r| r.number == 3).expect("revision 3 kept");
    let renumbered = after
        .iter()
        .find(|r| r.name == revision_three.name)
        .expect("same revision object");
    assert_eq!(
        renumbered.number, 5,
        "undo reuses revision 3 and renumbers it to 5: {after:?}"
    );
    assert!(
        pods.iter()
            .all(|p| p["metadata"]["labels"]["controller-revision-hash"] == json!(revision_three.hash)),
        "pods carry the reused revision's hash"
    );
    let created: Vec<String> = cluster
        .timeline()
        .iter()
        .filter(|r| r.resource_version > before.version() && r.kind == "ControllerRevision" && r.verb == "create")
        .map(|r| r.object.json().to_string())
        .collect();
    assert!(created.is_empty(), "no new revision for an undo: {created:?}");
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_and_renumbering_name_each_revision_by_uid() {
    let (cluster, controller) = cluster_with_agent_rolled_four_times().await;
    // Revision 1 was pruned (a delete); back to agent:3's template, its revision is renumbered to
    // the top (a patch).
    cluster.set_image("agent", "agent:3").await;
    cluster.wait_rolled_out("agent").pods(3).within(secs(15)).await;
    let journal = cluster.requests();
    let revision_changes: Vec<(&str, Option<&str>)> = journal
        .iter()
        .filter(|w| w.actor == CONTROLLER && w.resource == "controllerrevisions" && w.verb != "create")
        .map(|w| (w.verb, w.uid.as_deref()))
        .collect();
    assert!(
        revision_changes.iter().any(|(verb, _)| *verb == "patch")
            && revision_changes.iter().any(|(verb, _)| *verb == "delete"),
        "a renumbering and a pruning happened: {revision_changes:?}"
    );
    assert_eq!(
        unconditional_changes(&journal, Writer::Controller),
        Vec::<String>::new(),
        "invariant 7"
    );
    controller.stop().await;
}
