//! Coexist mode beside the real kube-controller-manager, its DaemonSet controller on: daemonroll
//! only deletes old pods of opted-in OnDelete DaemonSets, kube-controller-manager creates every
//! pod and keeps its status (README "On a managed cluster"). Who wrote what comes from
//! kube-apiserver's audit log and the DaemonSet's managedFields.

use serde_json::{Value, json};

use crate::support::*;

/// `agent` as coexist mode manages it: OnDelete keeping maxUnavailable, opted in.
fn coexist_agent(max_unavailable: i64) -> DaemonSetBuilder {
    agent("agent")
        .on_delete_keeping_budget(max_unavailable)
        .annotation("daemonroll.io/rollout", "managed")
}

/// A control plane with kube-controller-manager's DaemonSet controller on, `agent` rolled out at
/// agent:1 by it, and daemonroll in coexist mode.
async fn coexisting(nodes: usize, daemon_set: DaemonSetBuilder) -> Option<(Cluster, Daemonroll)> {
    let cluster = Cluster::with_nodes(nodes)
        .with_builtin_daemonset_controller()
        .start()
        .await?;
    cluster.create_daemon_set(daemon_set).await;
    cluster.wait_rolled_out("agent", "agent:1", nodes, secs(90)).await;
    let daemonroll = cluster.start_daemonroll(&["--mode", "coexist"]);
    Some((cluster, daemonroll))
}

fn kubectl_daemonroll(cluster: &Cluster, args: &[&str]) -> std::process::Output {
    crate::plugin::kubectl_daemonroll(&cluster.plane.kubeconfig(), &cluster.plane.dir, args)
}

fn daemonroll_writes(cluster: &Cluster, since: usize) -> Vec<AuditEntry> {
    cluster.audit()[since..]
        .iter()
        .filter(|entry| entry.by_daemonroll() && entry.resource != "events")
        .cloned()
        .collect()
}

fn count(writes: &[AuditEntry], what: &str) -> usize {
    writes.iter().filter(|entry| entry.describe() == what).count()
}

/// daemonroll's condition of `type_` (under the daemonroll.io/ prefix): (status, reason, message).
async fn condition(cluster: &Cluster, type_: &str) -> (String, String, String) {
    let ds = cluster.get_daemon_set("agent").await;
    let found = ds["status"]["conditions"]
        .as_array()
        .and_then(|list| list.iter().find(|c| c["type"] == format!("daemonroll.io/{type_}")))
        .cloned()
        .unwrap_or(Value::Null);
    let field = |key: &str| found[key].as_str().unwrap_or_default().to_string();
    (field("status"), field("reason"), field("message"))
}

async fn wait_for_reason(cluster: &Cluster, reason: &str, limit: std::time::Duration) {
    cluster
        .wait_until(&format!("daemonroll.io/Progressing reason {reason}"), limit, || async {
            condition(cluster, "Progressing").await.1 == reason
        })
        .await;
}

/// The fields of `status` each manager owns, from the DaemonSet's managedFields.
async fn status_fields_by_manager(cluster: &Cluster) -> Vec<(String, Vec<String>)> {
    let output = cluster.kubectl_ok(&["get", "ds", "agent", "-o", "json", "--show-managed-fields"]);
    let ds: Value = serde_json::from_str(&output).expect("kubectl prints JSON");
    let entries = ds["metadata"]["managedFields"].as_array().cloned().unwrap_or_default();
    entries
        .iter()
        .filter(|entry| entry["subresource"] == "status")
        .map(|entry| {
            let fields = entry["fieldsV1"]["f:status"]
                .as_object()
                .map(|fields| fields.keys().cloned().collect())
                .unwrap_or_default();
            (entry["manager"].as_str().unwrap_or_default().to_string(), fields)
        })
        .collect()
}

async fn images_by_node(cluster: &Cluster) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = cluster
        .pods_of("agent")
        .await
        .iter()
        .filter(|pod| !is_terminating(pod))
        .map(|pod| (pod_node(pod), pod_image(pod).to_string()))
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn a_coexist_rollout_of_50_nodes_stays_in_budget_and_kube_controller_manager_creates_every_pod() {
    let Some((cluster, _daemonroll)) = coexisting(50, coexist_agent(5)).await else {
        return;
    };
    let mark = cluster.recorder.mark();
    let audit_mark = cluster.audit().len();
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rolled_out("agent", "agent:2", 50, secs(180)).await;
    wait_for_reason(&cluster, "RolloutComplete", secs(20)).await;

    let replay = cluster
        .recorder
        .check(mark, &Budget::rolling("agent").nodes(50).at_most_unavailable(5));
    assert_eq!((replay.pod_creates, replay.pod_deletes), (50, 50), "{replay:?}");
    let writes = daemonroll_writes(&cluster, audit_mark);
    assert_eq!(count(&writes, "delete pods"), 50, "daemonroll deleted every old pod");
    let others: Vec<String> = writes
        .iter()
        .map(AuditEntry::describe)
        .filter(|write| write != "delete pods" && write != "patch daemonsets/status")
        .collect();
    assert_eq!(others, Vec::<String>::new(), "no create, no revision, no spec write");
    let pod_creators: Vec<String> = cluster.audit()[audit_mark..]
        .iter()
        .filter(|entry| entry.describe() == "create pods")
        .map(|entry| entry.user_agent.split('/').next().unwrap_or_default().to_string())
        .collect();
    assert!(
        pod_creators.len() == 50 && pod_creators.iter().all(|agent| agent == "kube-controller-manager"),
        "{pod_creators:?}"
    );
    // kube-controller-manager's status is its own; daemonroll owns its conditions only.
    let owners = status_fields_by_manager(&cluster).await;
    let ours: Vec<&Vec<String>> = owners
        .iter()
        .filter(|(m, _)| m == "daemonroll")
        .map(|(_, f)| f)
        .collect();
    assert_eq!(ours, [&vec!["f:conditions".to_string()]], "{owners:?}");
    let ds = cluster.get_daemon_set("agent").await;
    assert_eq!(ds["status"]["updatedNumberScheduled"], 50);
    assert_eq!(ds["status"]["observedGeneration"], ds["metadata"]["generation"]);
    // `kubectl rollout status` refuses OnDelete; the plugin's status does not.
    let status = kubectl_daemonroll(&cluster, &["status", "ds/agent", "--watch=false"]);
    let out = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.status.code(), Some(0), "{out}");
    assert!(
        out.contains("successfully rolled out") && out.contains("coexist"),
        "{out}"
    );
}

#[tokio::test]
async fn a_paused_coexist_rollout_deletes_nothing_and_reports_a_joining_node_as_an_unplanned_update() {
    let Some((cluster, _daemonroll)) = coexisting(6, coexist_agent(2)).await else {
        return;
    };
    cluster.kubectl_ok(&["annotate", "ds/agent", "daemonroll.io/paused=true"]);
    let audit_mark = cluster.audit().len();
    cluster.set_image("agent", "agent:2").await;
    wait_for_reason(&cluster, "Paused", secs(20)).await;
    let joined = add_node(&cluster, 7);
    cluster
        .wait_until("the joining node runs agent:2", secs(60), || async {
            images_by_node(&cluster)
                .await
                .contains(&(joined.clone(), "agent:2".to_string()))
        })
        .await;
    cluster
        .wait_until("the unplanned update reported", secs(20), || async {
            let (_, _, message) = condition(&cluster, "Progressing").await;
            message.contains("1 unplanned updates") && message.contains(&joined)
        })
        .await;
    let writes = daemonroll_writes(&cluster, audit_mark);
    assert_eq!(count(&writes, "delete pods"), 0, "paused: {writes:?}");

    cluster.kubectl_ok(&["annotate", "ds/agent", "daemonroll.io/paused-"]);
    cluster.wait_rolled_out("agent", "agent:2", 7, secs(90)).await;
}

#[tokio::test]
async fn a_partition_and_a_canary_selector_hold_daemonrolls_deletes() {
    let Some((cluster, _daemonroll)) = coexisting(8, coexist_agent(2)).await else {
        return;
    };
    cluster.node("node-002").label("canary=true");
    cluster.node("node-005").label("canary=true");
    cluster.kubectl_ok(&[
        "annotate",
        "ds/agent",
        "daemonroll.io/rollout-node-selector=canary=true",
    ]);
    cluster.set_image("agent", "agent:2").await;
    wait_for_reason(&cluster, "CanaryHeld", secs(60)).await;
    let updated: Vec<String> = images_by_node(&cluster)
        .await
        .into_iter()
        .filter(|(_, image)| image == "agent:2")
        .map(|(node, _)| node)
        .collect();
    assert_eq!(updated, ["node-002", "node-005"]);

    // Promote the canary but keep 3 nodes back.
    cluster.kubectl_ok(&[
        "annotate",
        "ds/agent",
        "daemonroll.io/rollout-node-selector-",
        "daemonroll.io/partition=3",
    ]);
    wait_for_reason(&cluster, "PartitionHeld", secs(60)).await;
    let audit_mark = cluster.audit().len();
    tokio::time::sleep(secs(4)).await;
    assert_eq!(
        count(&daemonroll_writes(&cluster, audit_mark), "delete pods"),
        0,
        "held"
    );
    let old: Vec<String> = images_by_node(&cluster)
        .await
        .into_iter()
        .filter(|(_, image)| image == "agent:1")
        .map(|(node, _)| node)
        .collect();
    assert_eq!(
        old,
        ["node-006", "node-007", "node-008"],
        "the tail of the rollout order"
    );
}

/// The agent tolerates every taint (as CNI agents do), so the NotReady node stays eligible and
/// only coexist mode's NotReady rule keeps its pod.
#[tokio::test]
async fn a_not_ready_node_is_never_emptied() {
    let Some((cluster, _daemonroll)) = coexisting(6, coexist_agent(2).tolerate_everything()).await else {
        return;
    };
    cluster.node("node-003").become_not_ready();
    cluster
        .wait_until("node-003 NotReady", secs(60), || async {
            let out = cluster.kubectl_ok(&["get", "node", "node-003", "-o", "json"]);
            let node: Value = serde_json::from_str(&out).unwrap_or_default();
            node["status"]["conditions"]
                .as_array()
                .is_some_and(|list| list.iter().any(|c| c["type"] == "Ready" && c["status"] != "True"))
        })
        .await;
    let audit_mark = cluster.audit().len();
    cluster.set_image("agent", "agent:2").await;
    cluster
        .wait_until("the five Ready nodes on agent:2", secs(90), || async {
            images_by_node(&cluster)
                .await
                .iter()
                .filter(|(_, image)| image == "agent:2")
                .count()
                == 5
        })
        .await;
    tokio::time::sleep(secs(3)).await;
    let images = images_by_node(&cluster).await;
    assert!(
        images.contains(&("node-003".to_string(), "agent:1".to_string())),
        "{images:?}"
    );
    assert_eq!(count(&daemonroll_writes(&cluster, audit_mark), "delete pods"), 5);
}

/// The template of `agent` with an image KWOK never makes Ready.
fn never_ready(image: &str) -> Value {
    json!({"spec": {"template": {
        "metadata": {"annotations": {"kwok.daemonroll.io/behaviour": "never-ready"}},
        "spec": {"containers": [{"name": "agent", "image": image}]}}}})
}

#[tokio::test]
async fn an_image_that_never_becomes_ready_stops_the_coexist_rollout_at_the_progress_deadline() {
    let daemon_set = coexist_agent(1).annotation("daemonroll.io/progress-deadline", "5s");
    let Some((cluster, _daemonroll)) = coexisting(6, daemon_set).await else {
        return;
    };
    cluster.patch_daemon_set("agent", never_ready("agent:broken")).await;
    // What a pipeline runs: wait for the failure, on daemonroll's prefixed condition.
    cluster.kubectl_ok(&[
        "wait",
        "ds/agent",
        "--for=condition=daemonroll.io/Progressing=False",
        "--timeout=60s",
    ]);
    assert_eq!(condition(&cluster, "Progressing").await.1, "ProgressDeadlineExceeded");
    let status = kubectl_daemonroll(&cluster, &["status", "ds/agent", "--watch=false"]);
    assert_eq!(
        status.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let audit_mark = cluster.audit().len();
    tokio::time::sleep(secs(4)).await;
    assert_eq!(
        count(&daemonroll_writes(&cluster, audit_mark), "delete pods"),
        0,
        "stopped"
    );
    let broken = images_by_node(&cluster)
        .await
        .into_iter()
        .filter(|(_, i)| i == "agent:broken")
        .count();
    assert_eq!(
        broken, 1,
        "one node at a time: only the first node got the broken image"
    );
}

#[tokio::test]
async fn on_failure_rollback_restores_the_previous_template_and_the_fleet_converges_to_it() {
    let daemon_set = coexist_agent(1)
        .annotation("daemonroll.io/progress-deadline", "5s")
        .annotation("daemonroll.io/on-failure", "rollback");
    let Some((cluster, _daemonroll)) = coexisting(6, daemon_set).await else {
        return;
    };
    cluster.patch_daemon_set("agent", never_ready("agent:broken")).await;
    wait_for_reason(&cluster, "RolledBack", secs(90)).await;
    cluster.wait_rolled_out("agent", "agent:1", 6, secs(90)).await;
    let ds = cluster.get_daemon_set("agent").await;
    assert_eq!(ds["spec"]["template"]["spec"]["containers"][0]["image"], "agent:1");
    let reason = text(&ds, "/metadata/annotations/daemonroll.io~1rollback-reason");
    assert!(reason.contains("progress deadline"), "{reason}");
}

#[tokio::test]
async fn a_replacement_kube_controller_manager_does_not_create_is_reported_after_the_recreate_wait() {
    let Some(cluster) = Cluster::with_nodes(4).with_builtin_daemonset_controller().start().await else {
        return;
    };
    cluster.create_daemon_set(coexist_agent(1)).await;
    cluster.wait_rolled_out("agent", "agent:1", 4, secs(90)).await;
    let _daemonroll = cluster.start_daemonroll(&["--mode", "coexist", "--recreate-wait", "3s"]);
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rollout_under_way("agent", "agent:2").await;
    cluster.plane.stop(Component::KubeControllerManager);
    cluster
        .wait_until("WaitingForRecreate reported", secs(60), || async {
            condition(&cluster, "Progressing")
                .await
                .2
                .contains("WaitingForRecreate")
        })
        .await;
    let audit_mark = cluster.audit().len();
    tokio::time::sleep(secs(3)).await;
    // The emptied node spends the budget of 1: no further delete while it waits.
    assert_eq!(count(&daemonroll_writes(&cluster, audit_mark), "delete pods"), 0);
}

#[tokio::test]
async fn the_opt_in_on_a_rolling_update_daemon_set_is_reported_and_nothing_is_deleted() {
    let daemon_set = agent("agent").annotation("daemonroll.io/rollout", "managed");
    let Some((cluster, _daemonroll)) = coexisting(4, daemon_set).await else {
        return;
    };
    wait_for_reason(&cluster, "CoexistMisconfigured", secs(30)).await;
    let (status, _, message) = condition(&cluster, "Progressing").await;
    assert_eq!(status, "False");
    assert!(message.contains("OnDelete"), "{message}");
    let audit_mark = cluster.audit().len();
    // kube-controller-manager rolls it itself (RollingUpdate); daemonroll stays out of the way.
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rolled_out("agent", "agent:2", 4, secs(90)).await;
    assert_eq!(count(&daemonroll_writes(&cluster, audit_mark), "delete pods"), 0);
    let events = cluster.kubectl_ok(&[
        "get",
        "events",
        "--field-selector",
        "reason=CoexistMisconfigured",
        "-o",
        "name",
    ]);
    assert!(!events.trim().is_empty(), "a Warning Event");
}
