//! Revision history: kubectl rollout history and undo over the revisions daemonroll writes, and pruning.

use std::time::Duration;

use daemonroll::controller::Options;
use serde_json::{Value, json};

use crate::support::*;

async fn revisions(cluster: &Cluster) -> Vec<(String, i64, String)> {
    let list = cluster
        .api
        .get("/apis/apps/v1/namespaces/default/controllerrevisions")
        .await
        .expect("revisions");
    let mut out: Vec<(String, i64, String)> = list["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["metadata"]["name"].as_str().unwrap_or_default().to_string(),
                r["revision"].as_i64().unwrap_or_default(),
                r["metadata"]["labels"]["controller-revision-hash"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    out.sort_by_key(|r| r.1);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_history_undo_and_pruning_use_daemonrolls_revisions() {
    if !kubectl_installed() {
        eprintln!("kubectl is not installed: skipping");
        return;
    }
    let cluster = Cluster::start(3, fleet(100)).await;
    let controller = cluster.start_controller(Options::default());
    let mut object = daemon_set("agent", "agent:1", rolling(json!(1), json!(0)));
    object["spec"]["revisionHistoryLimit"] = json!(2);
    cluster.create_daemon_set(object).await;
    cluster.wait_rolled_out("agent", 3, Duration::from_secs(15)).await;
    for image in ["agent:2", "agent:3", "agent:4"] {
        cluster.set_image("agent", image).await;
        cluster.wait_rolled_out("agent", 3, Duration::from_secs(15)).await;
    }
    cluster
        .wait_until("pruning to 2 old revisions", Duration::from_secs(5), || async {
            revisions(&cluster).await.len() == 3
        })
        .await;
    let kept = revisions(&cluster).await;
    assert_eq!(
        kept.iter().map(|r| r.1).collect::<Vec<_>>(),
        vec![2, 3, 4],
        "revisionHistoryLimit 2 keeps the current and 2 old: {kept:?}"
    );
    let history = cluster.kubectl_ok(&["rollout", "history", "ds/agent"]);
    let listed: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(listed, vec!["2", "3", "4"], "{history}");

    let before = now_version(&cluster);
    cluster.kubectl_ok(&["rollout", "undo", "ds/agent"]);
    cluster.wait_rolled_out("agent", 3, Duration::from_secs(15)).await;
    let pods = cluster.pods().await;
    assert!(
        pods.iter().all(|p| p["spec"]["containers"][0]["image"] == "agent:3"),
        "undo goes back to agent:3"
    );
    let after = revisions(&cluster).await;
    let revision_three = kept.iter().find(|r| r.1 == 3).expect("revision 3 kept");
    let renumbered = after
        .iter()
        .find(|r| r.0 == revision_three.0)
        .expect("same revision object");
    assert_eq!(
        renumbered.1, 5,
        "undo reuses revision 3 and renumbers it to 5: {after:?}"
    );
    assert!(
        pods.iter()
            .all(|p| p["metadata"]["labels"]["controller-revision-hash"] == json!(revision_three.2)),
        "pods carry the reused revision's hash"
    );
    let created: Vec<Value> = cluster
        .timeline()
        .iter()
        .filter(|r| r.resource_version > before && r.kind == "ControllerRevision" && r.verb == "create")
        .map(|r| (*r.object).clone())
        .collect();
    assert!(created.is_empty(), "no new revision for an undo: {created:?}");
    controller.stop().await;
}
