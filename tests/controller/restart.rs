//! The real binary killed with SIGKILL mid-rollout and started again: the rollout resumes with no
//! duplicate pod and no budget breach (invariant 5).

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_killed_mid_rollout_resumes_without_duplicates_or_breach() {
    let cluster = Cluster::with_nodes(30).pods_ready_after(millis(400)).start().await;
    let first = cluster.start_binary(&[]);
    cluster.create_daemon_set(daemon_set("agent").max_unavailable(3)).await;
    cluster.wait_rolled_out("agent").pods(30).within(secs(30)).await;
    let start = cluster.mark();
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_updated("agent").pods(7).within(secs(30)).await;
    first.stop().await; // SIGKILL: no cleanup
    let second = cluster.start_binary(&[]);
    cluster.wait_rolled_out("agent").pods(30).within(secs(60)).await;
    let budget = Budget::rolling("agent").nodes(30).at_most_unavailable(3);
    let replay = cluster.check_invariants_since(start, &budget);
    assert_eq!(replay.pod_creates, 30, "no duplicate create: {replay:?}");
    assert_eq!(replay.pod_deletes, 30, "{replay:?}");
    second.stop().await;
}
