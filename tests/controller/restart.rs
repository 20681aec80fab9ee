//! The real binary killed with SIGKILL mid-rollout and started again: the rollout resumes with no
//! duplicate pod and no budget breach (invariant 5).

use std::time::Duration;

use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_killed_mid_rollout_resumes_without_duplicates_or_breach() {
    let cluster = Cluster::start(30, fleet(400)).await;
    let first = cluster.start_binary(&[]);
    cluster
        .create_daemon_set(daemon_set("agent", "agent:1", rolling(json!(3), json!(0))))
        .await;
    cluster.wait_rolled_out("agent", 30, Duration::from_secs(30)).await;
    let start = now_version(&cluster);
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_updated("agent", 7, Duration::from_secs(30)).await;
    first.stop().await; // SIGKILL: no cleanup
    let second = cluster.start_binary(&[]);
    cluster.wait_rolled_out("agent", 30, Duration::from_secs(60)).await;
    let replay = check_invariants(&cluster.timeline(), &Budget::rolling("agent", 30, 3), start);
    assert_eq!(replay.pod_creates, 30, "no duplicate create: {replay:?}");
    assert_eq!(replay.pod_deletes, 30, "{replay:?}");
    second.stop().await;
}
