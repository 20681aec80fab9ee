//! Scoping flags, bad DaemonSets next to good ones, and a clean stop on SIGTERM.

use std::time::Duration;

use daemonroll::controller::Options;
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
fn store_unvalidated(cluster: &Cluster, object: Value) {
    let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_selected_daemon_sets_are_managed_and_bad_ones_do_not_stall_the_rest() {
    let cluster = Cluster::start(3, fleet(100)).await;
    let controller = cluster.start_controller(Options {
        selector: Some("shard=a".into()),
        ..Options::default()
    });
    // Broken beyond planning: no selector; unreadable: minReadySeconds is text.
    let mut no_selector = daemon_set("noselector", "agent:1", rolling(json!(1), json!(0)));
    no_selector["metadata"]["labels"] = json!({"shard": "a"});
    no_selector["spec"].as_object_mut().expect("spec").remove("selector");
    store_unvalidated(&cluster, no_selector);
    let mut unreadable = daemon_set("unreadable", "agent:1", rolling(json!(1), json!(0)));
    unreadable["metadata"]["labels"] = json!({"shard": "a"});
    unreadable["spec"]["minReadySeconds"] = json!("soon");
    store_unvalidated(&cluster, unreadable);

    let mut mine = daemon_set("mine", "agent:1", rolling(json!(1), json!(0)));
    mine["metadata"]["labels"] = json!({"shard": "a"});
    cluster.create_daemon_set(mine).await;
    let mut theirs = daemon_set("theirs", "agent:1", rolling(json!(1), json!(0)));
    theirs["metadata"]["labels"] = json!({"shard": "b"});
    cluster.create_daemon_set(theirs).await;

    cluster.wait_rolled_out("mine", 3, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(pods_of(&cluster, "theirs").await, 0, "shard b is not ours");
    assert!(
        cluster.daemon_set("theirs").await["status"]
            .get("observedGeneration")
            .is_none(),
        "no status written for shard b"
    );
    assert_eq!(pods_of(&cluster, "noselector").await, 0);
    assert_eq!(pods_of(&cluster, "unreadable").await, 0);

    let events = cluster
        .api
        .get("/apis/events.k8s.io/v1/namespaces/default/events")
        .await
        .expect("events");
    let reasons: Vec<(String, String)> = events["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e["regarding"]["name"].as_str().unwrap_or_default().to_string(),
                e["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        reasons.contains(&("noselector".into(), "InvalidSelector".into())),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&("unreadable".into(), "InvalidDaemonSet".into())),
        "{reasons:?}"
    );
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_binary_cleanly() {
    let cluster = Cluster::start(2, fleet(100)).await;
    let running = cluster.start_binary(&[]);
    cluster
        .create_daemon_set(daemon_set("agent", "agent:1", rolling(json!(1), json!(0))))
        .await;
    cluster.wait_rolled_out("agent", 2, Duration::from_secs(15)).await;
    let mut running = running;
    let Running::Binary(child) = &mut running else {
        panic!("a binary was started");
    };
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "still running 10 s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

#[test]
fn the_demo_finishes_and_shows_the_rollout() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_daemonroll"))
        .arg("demo")
        .output()
        .expect("demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("node-013 is NotReady"), "{stdout}");
    assert!(stdout.contains("updated 19/19 · available 19/19"), "{stdout}");
    assert!(stdout.contains("wave 1: 4 pod(s) replaced"), "{stdout}");
    assert!(
        stdout.contains("wave 5: 3 pod(s) replaced"),
        "20% of 19 rounds up to 4: 4+4+4+4+3\n{stdout}"
    );
    assert!(stdout.contains("38 pod creates, 19 pod deletes"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_set_being_deleted_is_left_to_the_garbage_collector() {
    let cluster = Cluster::start(3, fleet(100)).await;
    let controller = cluster.start_controller(Options::default());
    cluster
        .create_daemon_set(daemon_set("agent", "agent:1", rolling(json!(1), json!(0))))
        .await;
    cluster.wait_rolled_out("agent", 3, Duration::from_secs(15)).await;
    // Foreground deletion keeps the DaemonSet (deletionTimestamp set) while its pods are collected.
    let body = json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"});
    let start = now_version(&cluster);
    let request = http::Request::delete(ds_path("agent"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.to_string().into_bytes())
        .expect("request");
    let _: Value = cluster
        .api
        .kube_client()
        .request(request)
        .await
        .expect("foreground delete");
    cluster
        .wait_until("the DaemonSet and its pods gone", Duration::from_secs(15), || async {
            cluster.pods().await.is_empty() && cluster.api.get(&ds_path("agent")).await.is_err()
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let writes = controller_writes_since(&cluster, start);
    assert!(
        writes.is_empty(),
        "daemonroll wrote while the DaemonSet was being deleted: {writes:?}"
    );
    controller.stop().await;
}
