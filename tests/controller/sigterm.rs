//! SIGTERM: the binary stops cleanly, and a leader-elected replica hands its Lease over at once.

use crate::replicas::*;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_binary_cleanly() {
    let cluster = Cluster::with_nodes(2).pods_ready_after(millis(100)).start().await;
    let mut running = cluster.start_binary(&[]);
    cluster.create_daemon_set(daemon_set("agent")).await;
    cluster.wait_rolled_out("agent").pods(2).within(secs(15)).await;
    running.terminate();
    let status = running.wait_exit(secs(10)).await;
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_stopped_with_sigterm_releases_the_lease_to_a_waiting_replica() {
    let cluster = Cluster::with_nodes(20).pods_ready_after(millis(400)).start().await;
    let mut leader = start_replica(&cluster, "replica-a");
    wait_holder(&cluster, "replica-a", secs(10)).await;
    cluster.create_daemon_set(daemon_set("agent").max_unavailable(2)).await;
    cluster.wait_rolled_out("agent").pods(20).within(secs(30)).await;
    let follower = start_replica(&cluster, "replica-b");
    wait_ready(&cluster, &follower, secs(10)).await;

    // SIGTERM: the leader releases the lease and the follower takes over at its next try.
    send_sigterm(&leader.child);
    let handover = wait_holder(&cluster, "replica-b", secs(10)).await;
    eprintln!("handover after SIGTERM: {handover:?}");
    // Well below the 3 s a follower waits for an unreleased lease.
    assert!(handover < millis(2500), "handover took {handover:?}");
    let exit = leader.child.wait().expect("replica-a exits");
    assert!(exit.success(), "replica-a exit status: {exit:?}");

    let start = cluster.mark();
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rolled_out("agent").pods(20).within(secs(60)).await;
    let budget = Budget::rolling("agent")
        .nodes(20)
        .at_most_unavailable(2)
        .written_by(Writer::Replica("replica-b"));
    let replay = cluster.check_invariants_since(start, &budget);
    assert_eq!(replay.pod_creates, 20, "replica-b rolled agent:2: {replay:?}");
}
