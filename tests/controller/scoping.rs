//! What daemonroll leaves alone: DaemonSets outside `--selector`, DaemonSets it cannot plan or read
//! (reported, and not stalling the rest), and a DaemonSet being deleted.

use daemonroll::sim::resources;
use serde_json::{Value, json};

use crate::support::*;

async fn pods_of(cluster: &Cluster, app: &str) -> usize {
    cluster
        .pods()
        .await
        .iter()
        .filter(|p| p["metadata"]["labels"]["app"] == app)
        .count()
}

/// Stores a DaemonSet as an older API server might have accepted it (no admission, no validation).
fn store_unvalidated(cluster: &Cluster, daemon_set: DaemonSetBuilder) {
    let name = daemon_set.name().to_string();
    let object = Value::from(daemon_set);
    let resource = resources::find("apps", "v1", "daemonsets").expect("served");
    cluster
        .sim
        .store
        .write(resource, "default", &name, "e2e-test", "create", |_, _| {
            let mut object = object.clone();
            object["metadata"]["uid"] = json!(format!("uid-{name}"));
            object["metadata"]["generation"] = json!(1);
            Ok(Some(object))
        })
        .expect("stored");
}

/// Three nodes and a controller started with `--selector shard=a`.
async fn cluster_managing_shard_a() -> (Cluster, Running) {
    let cluster = Cluster::with_nodes(3).pods_ready_after(millis(100)).start().await;
    let controller = cluster.start_controller_with(ControllerSettings {
        selector: Some("shard=a".into()),
    });
    (cluster, controller)
}

/// Creates `mine` in shard a and waits for it to roll out; then waits a second more, so that
/// whatever daemonroll would do about the other DaemonSets has been done.
async fn roll_out_mine(cluster: &Cluster) {
    cluster.create_daemon_set(daemon_set("mine").label("shard", "a")).await;
    cluster.wait_rolled_out("mine").pods(3).within(secs(15)).await;
    tokio::time::sleep(secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_set_outside_the_selector_gets_no_pods_and_no_status() {
    let (cluster, controller) = cluster_managing_shard_a().await;
    cluster
        .create_daemon_set(daemon_set("theirs").label("shard", "b"))
        .await;
    roll_out_mine(&cluster).await;
    assert_eq!(pods_of(&cluster, "theirs").await, 0, "shard b is not ours");
    assert!(
        cluster.get_daemon_set("theirs").await["status"]
            .get("observedGeneration")
            .is_none(),
        "no status written for shard b"
    );
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_set_without_a_selector_is_reported_and_does_not_stall_the_rest() {
    let (cluster, controller) = cluster_managing_shard_a().await;
    // Broken beyond planning: no selector.
    store_unvalidated(
        &cluster,
        daemon_set("noselector").label("shard", "a").without_selector(),
    );
    roll_out_mine(&cluster).await;
    assert_eq!(pods_of(&cluster, "noselector").await, 0);
    let events = cluster.events().await;
    assert!(
        events.contains(&Event {
            regarding: "noselector".into(),
            reason: "InvalidSelector".into()
        }),
        "{events:?}"
    );
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_daemon_set_is_reported_and_does_not_stall_the_rest() {
    let (cluster, controller) = cluster_managing_shard_a().await;
    // Unreadable: minReadySeconds is text.
    store_unvalidated(
        &cluster,
        daemon_set("unreadable")
            .label("shard", "a")
            .unparseable_min_ready_seconds("soon"),
    );
    roll_out_mine(&cluster).await;
    assert_eq!(pods_of(&cluster, "unreadable").await, 0);
    let events = cluster.events().await;
    assert!(
        events.contains(&Event {
            regarding: "unreadable".into(),
            reason: "InvalidDaemonSet".into()
        }),
        "{events:?}"
    );
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_set_being_deleted_is_left_to_the_garbage_collector() {
    let cluster = Cluster::with_nodes(3).pods_ready_after(millis(100)).start().await;
    let controller = cluster.start_controller();
    cluster.create_daemon_set(daemon_set("agent")).await;
    cluster.wait_rolled_out("agent").pods(3).within(secs(15)).await;
    let start = cluster.mark();
    // Foreground deletion keeps the DaemonSet (deletionTimestamp set) while its pods are collected.
    cluster.delete_daemon_set("agent", Propagation::Foreground).await;
    cluster
        .wait_until("the DaemonSet and its pods gone", secs(15), || async {
            cluster.pods().await.is_empty() && !cluster.daemon_set_exists("agent").await
        })
        .await;
    tokio::time::sleep(millis(500)).await;
    let writes = cluster.controller_writes_since(start);
    assert!(
        writes.is_empty(),
        "daemonroll wrote while the DaemonSet was being deleted: {writes:?}"
    );
    controller.stop().await;
}
