//! kube-apiserver SIGKILLed and started again in the middle of a rollout.

use crate::support::*;

#[tokio::test]
async fn a_rollout_resumes_after_kube_apiserver_restarts() {
    let Some(cluster) = Cluster::with_nodes(12).start().await else {
        return;
    };
    let mut daemonroll = cluster.start_daemonroll(&[]);
    let slow = agent("agent")
        .max_unavailable(2)
        .template_annotation("kwok.daemonroll.io/ready-after", "2s");
    cluster.create_daemon_set(slow).await;
    cluster.wait_rolled_out("agent", "agent:1", 12, secs(60)).await;

    let mark = cluster.recorder.mark();
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rollout_under_way("agent", "agent:2").await;
    cluster.plane.kill(Component::KubeApiserver);
    tokio::time::sleep(secs(3)).await;
    cluster.plane.start(Component::KubeApiserver, DaemonSetController::Off);
    cluster.wait_rolled_out("agent", "agent:2", 12, secs(120)).await;

    assert!(
        daemonroll.is_running(),
        "daemonroll rode out the outage:\n{}",
        daemonroll.log_tail()
    );
    let replay = cluster
        .recorder
        .check(mark, &Budget::rolling("agent").nodes(12).at_most_unavailable(2));
    assert_eq!(replay.max_pods_on_a_node, 1, "no duplicate pod: {replay:?}");
}
