//! `kubectl rollout` (1.37, built from the same module as the API server) on DaemonSets
//! daemonroll manages: what users type, and what it does to the pods and revisions.

use crate::support::*;

async fn rolled_out(nodes: usize) -> Option<(Cluster, Daemonroll)> {
    let cluster = Cluster::with_nodes(nodes).start().await?;
    let daemonroll = cluster.start_daemonroll(&[]);
    cluster.create_daemon_set(agent("agent").max_unavailable(2)).await;
    cluster.wait_rolled_out("agent", "agent:1", nodes, secs(60)).await;
    Some((cluster, daemonroll))
}

#[tokio::test]
async fn rollout_status_returns_when_every_pod_is_updated_and_available() {
    let Some((cluster, _daemonroll)) = rolled_out(6).await else {
        return;
    };
    cluster.kubectl_ok(&["set", "image", "ds/agent", "agent=agent:2"]);
    let output = cluster.kubectl_ok(&["rollout", "status", "ds/agent", "--timeout=60s"]);
    assert!(
        output.contains("daemon set \"agent\" successfully rolled out"),
        "{output}"
    );
    let pods = cluster.pods_of("agent").await;
    let updated = pods
        .iter()
        .filter(|pod| pod_image(pod) == "agent:2" && is_ready(pod))
        .count();
    assert_eq!(updated, 6, "when kubectl says so, every pod runs agent:2");
}

#[tokio::test]
async fn rollout_history_lists_every_revision() {
    let Some((cluster, _daemonroll)) = rolled_out(3).await else {
        return;
    };
    for image in ["agent=agent:2", "agent=agent:3"] {
        cluster.kubectl_ok(&["set", "image", "ds/agent", image]);
        cluster.kubectl_ok(&["rollout", "status", "ds/agent", "--timeout=60s"]);
    }
    let history = cluster.kubectl_ok(&["rollout", "history", "ds/agent"]);
    let revisions: Vec<&str> = history
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|first| first.parse::<u32>().is_ok())
        .collect();
    assert_eq!(revisions, ["1", "2", "3"], "{history}");
    let third = cluster.kubectl_ok(&["rollout", "history", "ds/agent", "--revision=3"]);
    assert!(third.contains("agent:3"), "{third}");
}

#[tokio::test]
async fn rollout_undo_rolls_back_to_the_previous_revision_without_a_new_one() {
    let Some((cluster, _daemonroll)) = rolled_out(4).await else {
        return;
    };
    cluster.kubectl_ok(&["set", "image", "ds/agent", "agent=agent:2"]);
    cluster.kubectl_ok(&["rollout", "status", "ds/agent", "--timeout=60s"]);

    let mark = cluster.recorder.mark();
    cluster.kubectl_ok(&["rollout", "undo", "ds/agent"]);
    cluster.wait_rolled_out("agent", "agent:1", 4, secs(60)).await;

    cluster
        .recorder
        .check(mark, &Budget::rolling("agent").nodes(4).at_most_unavailable(2));
    let revisions = cluster.revisions().await;
    assert_eq!(
        revisions.len(),
        2,
        "the first revision is reused, as upstream's history does"
    );
    let first = revisions
        .iter()
        .find(|revision| revision.to_string().contains("agent:1"))
        .expect("the revision of agent:1");
    assert_eq!(first["revision"], 3, "the reused revision gets the next number");
}

#[tokio::test]
async fn rollout_restart_replaces_every_pod_within_the_budget() {
    let Some((cluster, _daemonroll)) = rolled_out(6).await else {
        return;
    };
    let mark = cluster.recorder.mark();
    cluster.kubectl_ok(&["rollout", "restart", "ds/agent"]);
    cluster.kubectl_ok(&["rollout", "status", "ds/agent", "--timeout=60s"]);
    cluster.wait_rolled_out("agent", "agent:1", 6, secs(30)).await;

    let replay = cluster
        .recorder
        .check(mark, &Budget::rolling("agent").nodes(6).at_most_unavailable(2));
    assert_eq!((replay.pod_creates, replay.pod_deletes), (6, 6), "{replay:?}");
    let restarted = cluster
        .pods_of("agent")
        .await
        .iter()
        .filter(|pod| !text(pod, "/metadata/annotations/kubectl.kubernetes.io~1restartedAt").is_empty())
        .count();
    assert_eq!(restarted, 6);
}
