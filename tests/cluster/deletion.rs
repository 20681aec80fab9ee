//! Deleting a DaemonSet: the real garbage collector removes its pods and revisions; daemonroll
//! creates nothing on the way.

use kube::api::PropagationPolicy;

use crate::support::*;

async fn deleted_with(propagation: PropagationPolicy) {
    let Some(cluster) = Cluster::with_nodes(4).start().await else {
        return;
    };
    let _daemonroll = cluster.start_daemonroll(&[]);
    cluster.create_daemon_set(agent("agent")).await;
    cluster.wait_rolled_out("agent", "agent:1", 4, secs(60)).await;
    let mark = cluster.recorder.mark();

    cluster.delete_daemon_set("agent", propagation).await;
    cluster
        .wait_until("the DaemonSet, its pods and its revisions gone", secs(60), || async {
            cluster.daemon_sets().get_opt("agent").await.ok().flatten().is_none()
                && cluster.pods_of("agent").await.is_empty()
                && cluster.revisions().await.is_empty()
        })
        .await;

    let replay = cluster
        .recorder
        .check(mark, &Budget::rolling("agent").nodes(4).at_most_unavailable(4));
    assert_eq!(
        replay.pod_creates, 0,
        "no pod recreated while the DaemonSet went: {replay:?}"
    );
    assert_eq!(replay.pod_deletes, 4, "{replay:?}");
}

#[tokio::test]
async fn foreground_deletion_is_carried_out_by_the_garbage_collector() {
    deleted_with(PropagationPolicy::Foreground).await;
}

#[tokio::test]
async fn background_deletion_is_carried_out_by_the_garbage_collector() {
    deleted_with(PropagationPolicy::Background).await;
}
