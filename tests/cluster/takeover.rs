//! Taking over from the real kube-controller-manager, and handing back: no pod restarted, no
//! revision written, in either direction. Who wrote what comes from kube-apiserver's audit log.

use crate::support::*;

/// How long each side is watched after a handover for writes it should not make.
const QUIET: std::time::Duration = std::time::Duration::from_secs(8);

fn writes_since(cluster: &Cluster, start: usize, by: fn(&AuditEntry) -> bool) -> Vec<String> {
    cluster.audit()[start..]
        .iter()
        .filter(|entry| by(entry) && entry.resource != "events" && entry.resource != "leases")
        .map(AuditEntry::describe)
        .collect()
}

fn revision_names(revisions: &[serde_json::Value]) -> Vec<String> {
    let mut names: Vec<String> = revisions
        .iter()
        .map(|r| text(r, "/metadata/name").to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn takes_over_from_kube_controller_manager_without_a_restart() {
    let Some(cluster) = Cluster::with_nodes(8).with_builtin_daemonset_controller().start().await else {
        return;
    };
    cluster.create_daemon_set(agent("agent").max_unavailable(2)).await;
    cluster.wait_rolled_out("agent", "agent:1", 8, secs(60)).await;
    for image in ["agent:2", "agent:3"] {
        cluster.set_image("agent", image).await;
        cluster.wait_rolled_out("agent", image, 8, secs(90)).await;
    }
    cluster.plane.restart_controller_manager(DaemonSetController::Off);
    let revisions = revision_names(&cluster.revisions().await);
    let mark = cluster.recorder.mark();
    let audit_mark = cluster.audit().len();

    let _daemonroll = cluster.start_daemonroll(&[]);
    tokio::time::sleep(QUIET).await;

    let replay = cluster.recorder.check(mark, &Budget::rolling("agent").nodes(8));
    assert_eq!(
        (replay.pod_creates, replay.pod_deletes),
        (0, 0),
        "no pod restarted: {replay:?}"
    );
    assert_eq!(
        revision_names(&cluster.revisions().await),
        revisions,
        "no revision written"
    );
    let writes = writes_since(&cluster, audit_mark, AuditEntry::by_daemonroll);
    assert!(
        writes.iter().all(|write| write.ends_with("daemonsets/status")),
        "only status writes: {writes:?}"
    );

    let mark = cluster.recorder.mark();
    cluster.set_image("agent", "agent:4").await;
    cluster.wait_rolled_out("agent", "agent:4", 8, secs(90)).await;
    let replay = cluster
        .recorder
        .check(mark, &Budget::rolling("agent").nodes(8).at_most_unavailable(2));
    assert_eq!(
        replay.pod_creates, 8,
        "the third change rolls out under daemonroll: {replay:?}"
    );
    let creates = writes_since(&cluster, audit_mark, AuditEntry::by_daemonroll)
        .iter()
        .filter(|write| *write == "create pods")
        .count();
    assert_eq!(creates, 8, "daemonroll created the new pods");
}

#[tokio::test]
async fn hands_back_to_kube_controller_manager_without_a_restart() {
    let Some(cluster) = Cluster::with_nodes(8).start().await else {
        return;
    };
    let daemonroll = cluster.start_daemonroll(&[]);
    cluster.create_daemon_set(agent("agent").max_unavailable(2)).await;
    cluster.wait_rolled_out("agent", "agent:1", 8, secs(60)).await;
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rolled_out("agent", "agent:2", 8, secs(90)).await;
    daemonroll.stop(secs(10)).await;
    let revisions = revision_names(&cluster.revisions().await);
    let mark = cluster.recorder.mark();
    let audit_mark = cluster.audit().len();

    cluster.plane.restart_controller_manager(DaemonSetController::On);
    tokio::time::sleep(QUIET).await;

    let replay = cluster.recorder.check(mark, &Budget::rolling("agent").nodes(8));
    assert_eq!(
        (replay.pod_creates, replay.pod_deletes),
        (0, 0),
        "no pod restarted: {replay:?}"
    );
    assert_eq!(
        revision_names(&cluster.revisions().await),
        revisions,
        "kube-controller-manager recognises daemonroll's revisions"
    );
    let writes = writes_since(&cluster, audit_mark, AuditEntry::by_controller_manager);
    let daemon_set_writes: Vec<&String> = writes.iter().filter(|write| write.contains("daemonset")).collect();
    assert!(
        daemon_set_writes
            .iter()
            .all(|write| write.ends_with("daemonsets/status")),
        "only status writes: {daemon_set_writes:?}"
    );
}
