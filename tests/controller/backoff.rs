//! The failed-pod backoff belongs to one DaemonSet object at one observed generation, as upstream's
//! key `<uid>/<status.observedGeneration>/<node>` (daemon_controller.go failedPodsBackoffKey): a
//! fixed template, or a DaemonSet deleted and created again under the same name, starts with none.
//!
//! The backoff doubles from 1 s: a node whose pods keep failing sees deletes at about 0, 1, 3, 7 and
//! 15 s (the first may come twice: see `wait_for_a_16_s_backoff`), and after the one that ended an
//! 8 s wait the next delete waits 16 s. Each test lets it grow that far, changes
//! the DaemonSet, and gives the replacement 8 s: a liveness bound with several seconds of slack for
//! a loaded machine (the work needed is two syncs, a delete and a create: about a second), yet
//! clearly shorter than the 16 s (minus the test's own reaction, a 50 ms poll) that a backoff
//! carried over would impose.

use std::time::Instant;

use chrono::{DateTime, Utc};
use daemonroll::sim::faults::FaultRule;

use crate::support::*;

/// The image whose pods fail when started.
const BROKEN: &str = "agent:broken";

/// The replacement's liveness bound (see the module comment).
const REPLACEMENT_BOUND_SECONDS: u64 = 8;

fn gaps_in_seconds(times: &[DateTime<Utc>]) -> Vec<f64> {
    times
        .windows(2)
        .map(|w| (w[1] - w[0]).num_milliseconds() as f64 / 1000.0)
        .collect()
}

/// Waits until daemonroll has deleted a failed pod of `agent` 8 s after the one before (the backoff
/// is then 16 s); returns the delete times, the last one ending that 8 s wait.
///
/// Counting deletes would not do: the first failed pod is deleted at once, and so may be the
/// second, when the sync that deleted the first read the status from before daemonroll's first
/// status write (observedGeneration 0, so another key than the next sync's).
async fn wait_for_a_16_s_backoff(cluster: &Cluster) -> Vec<DateTime<Utc>> {
    // A delete never comes before its backoff has passed: a gap of 7 s is the 8 s backoff, less the
    // distance between the controller's clock reading and the simulator's write.
    let grown_to_8_s = |deletes: &[DateTime<Utc>]| gaps_in_seconds(deletes).iter().any(|gap| *gap >= 7.0);
    // Liveness: nominally 15 s; 40 s for a loaded machine.
    cluster
        .wait_until("a failed pod deleted 8 s after the one before", secs(40), || async {
            grown_to_8_s(&cluster.pod_delete_times())
        })
        .await;
    let deletes = cluster.pod_delete_times();
    assert!(
        gaps_in_seconds(&deletes).last().is_some_and(|gap| *gap >= 7.0),
        "no delete since the one that ended the 8 s backoff (the next waits 16 s): gaps {:?}",
        gaps_in_seconds(&deletes)
    );
    deletes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_template_replaces_the_failed_pod_without_the_old_generations_backoff() {
    let cluster = Cluster::with_nodes(1).pods_ready_after(millis(100)).start().await;
    cluster.image_fails(BROKEN);
    let controller = cluster.start_controller();
    cluster
        .create_daemon_set(daemon_set("agent").on_delete().image(BROKEN))
        .await;
    let deletes = wait_for_a_16_s_backoff(&cluster).await;

    // The fix. With OnDelete only the failed-pod path replaces the pod; upstream's first sync of
    // generation 2 still reads generation 1's key (status.observedGeneration is 1 when it starts),
    // writes observedGeneration 2, and the sync its own status write triggers finds no backoff.
    cluster.set_image("agent", "agent:2").await;
    let fixed = Instant::now();
    let fixed_at = Utc::now();
    let since_last_delete = (fixed_at - deletes[deletes.len() - 1]).num_milliseconds() as f64 / 1000.0;
    let limit = secs(REPLACEMENT_BOUND_SECONDS);
    loop {
        let pods = cluster.pods().await;
        let replaced = pods
            .iter()
            .any(|p| pod_image(p) == "agent:2" && pod_phase(p) == "Running" && !is_terminating(p));
        if replaced {
            break;
        }
        assert!(
            fixed.elapsed() < limit,
            "no running agent:2 pod {limit:?} after the template was fixed; a backoff carried over from \
             the broken template holds the failed pod until 16 s after the last delete, which was \
             {since_last_delete:.1} s before the fix. Failed-pod deletes {:?} s apart; pods now: {:?}; \
             daemonroll's pod writes:\n{}",
            gaps_in_seconds(&deletes),
            pods.iter()
                .map(|p| format!(
                    "{} {} {}",
                    pod_image(p),
                    pod_phase(p),
                    if is_terminating(p) { "terminating" } else { "" }
                ))
                .collect::<Vec<_>>(),
            cluster.pod_writes_since(Mark::BEGINNING)
        );
        tokio::time::sleep(millis(50)).await;
    }
    eprintln!(
        "replaced {:?} after the fix ({since_last_delete:.1} s after the last failed-pod delete)",
        fixed.elapsed()
    );
    // No timeline replay here: its invariant 1 counts a deleted failed pod until it is gone, while
    // daemonroll, as upstream since kubernetes PR #118716, creates the replacement at once.
    controller.stop().await;
}

/// How many status patches daemonroll has sent so far (counted when the request arrives, before
/// any injected latency).
fn status_patches(cluster: &Cluster) -> u64 {
    cluster
        .sim
        .access
        .entries()
        .iter()
        .filter(|(access, _)| {
            access.actor == CONTROLLER && access.verb == "patch" && access.resource == "daemonsets/status"
        })
        .map(|(_, count)| count)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_set_recreated_under_the_same_name_starts_with_no_backoff() {
    let cluster = Cluster::with_nodes(1).pods_ready_after(millis(100)).start().await;
    cluster.image_fails(BROKEN);
    let controller = cluster.start_controller();
    let first = cluster.create_daemon_set(daemon_set("agent").image(BROKEN)).await;
    wait_for_a_16_s_backoff(&cluster).await;

    // Delete and re-create while a sync of `agent` is in flight, so that daemonroll sees the
    // DaemonSet replaced rather than gone (a sync that finds it gone may drop its bookkeeping, which
    // would hide a backoff kept by name): status patches hang 3 s, a new node makes the DaemonSet
    // write its status, and the key stays in progress until that patch is answered. Events for the
    // key meanwhile only mark it dirty; the next sync sees the new object.
    let before = status_patches(&cluster);
    cluster.sim.faults.set_rules(vec![FaultRule {
        verbs: vec!["patch".into()],
        resources: vec!["daemonsets".into()],
        latency_ms: 3000,
        ..FaultRule::default()
    }]);
    cluster.add_node(2);
    cluster
        .wait_until("a status patch in flight", secs(10), || async {
            status_patches(&cluster) > before
        })
        .await;
    // Background deletion collects the pods and revisions before the DELETE returns.
    cluster.delete_daemon_set("agent", Propagation::Background).await;
    let recreated = cluster.create_daemon_set(daemon_set("agent").image(BROKEN)).await;
    let recreated_at = Instant::now();
    cluster.sim.faults.set_rules(Vec::new());
    let new_uid = recreated["metadata"]["uid"]
        .as_str()
        .expect("the API server gives a uid");
    assert_ne!(first["metadata"]["uid"], recreated["metadata"]["uid"], "a new object");

    // The recreated DaemonSet's first pod on node-001 fails at once; with no backoff it is deleted
    // at once, after the hanging patch (3 s) has been answered. A backoff kept by name would hold
    // it until 16 s after the old DaemonSet's last delete there.
    let limit = secs(REPLACEMENT_BOUND_SECONDS);
    loop {
        let deleted_on_node_001 = cluster.timeline().iter().any(|r| {
            r.kind == "Pod"
                && r.verb == "delete"
                && r.actor == CONTROLLER
                && controller_uid(&r.object.value()) == Some(new_uid)
                && pod_node(&r.object.value()) == "node-001"
        });
        if deleted_on_node_001 {
            break;
        }
        assert!(
            recreated_at.elapsed() < limit,
            "the recreated DaemonSet's failed pod on node-001 not deleted {limit:?} after it was \
             created; a backoff kept by name holds it until 16 s after the old DaemonSet's last \
             delete there. daemonroll's pod writes:\n{}",
            cluster.pod_writes_since(Mark::BEGINNING)
        );
        tokio::time::sleep(millis(50)).await;
    }
    eprintln!("deleted {:?} after the DaemonSet was recreated", recreated_at.elapsed());
    controller.stop().await;
}
