//! Events: a rollout's pod events are combined into a bounded number of writes, and what
//! `kubectl describe ds` shows still counts every pod created and deleted.

use std::collections::BTreeMap;

use crate::support::*;

/// Event creates and updates daemonroll made, from the simulator's timeline.
fn event_writes(cluster: &Cluster) -> usize {
    cluster
        .timeline()
        .iter()
        .filter(|record| record.kind == "Event" && record.actor == CONTROLLER)
        .count()
}

/// Per reason, the events the stored Events stand for (their `count`), as core/v1 serves them.
async fn counted_by_reason(cluster: &Cluster) -> BTreeMap<String, i64> {
    let mut counted = BTreeMap::new();
    for event in cluster.list("/api/v1/namespaces/default/events").await {
        *counted.entry(text(&event, "/reason").to_string()).or_default() += event["count"].as_i64().unwrap_or(1);
    }
    counted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_writes_few_events_and_they_still_count_every_pod() {
    let cluster = Cluster::with_nodes(60).pods_ready_after(millis(200)).start().await;
    let controller = cluster.start_controller();
    cluster.create_daemon_set(daemon_set("agent").max_unavailable(60)).await;
    cluster.wait_rolled_out("agent").pods(60).within(secs(30)).await;
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rolled_out("agent").pods(60).within(secs(30)).await;
    // A clean stop writes the counts still pending.
    controller.stop().await;

    let writes = event_writes(&cluster);
    assert!(writes <= 40, "{writes} Event writes for 180 pod events");
    let counted = counted_by_reason(&cluster).await;
    assert_eq!(
        (counted.get("SuccessfulCreate"), counted.get("SuccessfulDelete")),
        (Some(&120), Some(&60)),
        "{counted:?}"
    );
    if kubectl_installed() {
        let described = cluster.kubectl_ok(&["describe", "ds", "agent"]);
        for combined in [
            "(combined from similar events): Created 110 pods, latest:",
            "(combined from similar events): Deleted 50 pods, latest:",
        ] {
            assert!(described.contains(combined), "{combined} in:\n{described}");
        }
    }
}
