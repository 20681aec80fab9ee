//! Two replicas electing a leader on the real Lease API; the leader SIGKILLed mid-rollout.

use std::time::Instant;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

use crate::support::*;

const LEASE: [&str; 6] = [
    "--leader-elect-lease-duration",
    "6s",
    "--leader-elect-renew-deadline",
    "4s",
    "--leader-elect-retry-period",
    "1s",
];

async fn holder(cluster: &Cluster) -> String {
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), LEASE_NAMESPACE);
    let lease = leases.get_opt("daemonroll").await.ok().flatten();
    lease.and_then(|lease| lease.spec?.holder_identity).unwrap_or_default()
}

#[tokio::test]
async fn a_killed_leader_is_replaced_within_the_lease_and_the_rollout_keeps_its_budget() {
    let Some(cluster) = Cluster::with_nodes(12).start().await else {
        return;
    };
    let first = cluster.start_replica("replica-a", &LEASE);
    cluster
        .wait_until("replica-a leads", secs(20), || async {
            holder(&cluster).await.starts_with("replica-a_")
        })
        .await;
    let _second = cluster.start_replica("replica-b", &LEASE);
    cluster.create_daemon_set(agent("agent").max_unavailable(2)).await;
    cluster.wait_rolled_out("agent", "agent:1", 12, secs(60)).await;

    let mark = cluster.recorder.mark();
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rollout_under_way("agent", "agent:2").await;
    first.kill();
    let killed = Instant::now();
    cluster
        .wait_until("replica-b leads", secs(20), || async {
            holder(&cluster).await.starts_with("replica-b_")
        })
        .await;
    let handover = killed.elapsed();
    cluster.wait_rolled_out("agent", "agent:2", 12, secs(90)).await;

    // The Lease lasts 6 s from the last renewal replica-b saw, which is up to one retry period
    // (1 s) behind the kill; replica-b then tries once a period.
    eprintln!("handover after {handover:?}");
    assert!(handover <= secs(8), "handover took {handover:?}");
    let replay = cluster
        .recorder
        .check(mark, &Budget::rolling("agent").nodes(12).at_most_unavailable(2));
    assert_eq!(replay.pod_creates, 12, "{replay:?}");
}
