//! Taking over from kube-controller-manager: its pods and its Go-encoded revision are adopted as
//! they are, with no pod deleted or created and no new revision.

use crate::support::*;

/// kube-controller-manager's revision data for the `legacy` template as the API server serves it,
/// written out by hand from update.go getPatch: keys sorted, `>` and `&` escaped as Go does; no
/// template `creationTimestamp` (1.33 and later omit the zero time, as the simulator does).
const KCM_DATA: &str = r#"{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"legacy"}},"spec":{"containers":[{"command":["sh","-c","echo a\u003eb \u0026\u0026 sleep 1d"],"image":"agent:1","imagePullPolicy":"IfNotPresent","name":"agent","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],"dnsPolicy":"ClusterFirst","restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"terminationGracePeriodSeconds":30}}}}"#;
/// kube-controller-manager's hash (its own algorithm; daemonroll must reuse it, not recompute it).
const KCM_HASH: &str = "7c9f6d8b5d";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_left_by_kube_controller_manager_is_adopted_without_a_restart() {
    let cluster = Cluster::with_nodes(3).pods_ready_after(millis(100)).start().await;
    let ds = cluster
        .create_daemon_set(daemon_set("legacy").command(&["sh", "-c", "echo a>b && sleep 1d"]))
        .await;
    let uid = ds["metadata"]["uid"]
        .as_str()
        .expect("the API server gives a uid")
        .to_string();
    // The revision as kcm wrote it: raw bytes, so that Go's escapes in KCM_DATA reach the server.
    let revision = format!(
        r#"{{"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{{"name":"legacy-{KCM_HASH}","namespace":"default","labels":{{"app":"legacy","controller-revision-hash":"{KCM_HASH}"}},"ownerReferences":{owner}}},"revision":1,"data":{KCM_DATA}}}"#,
        owner = controller_reference("legacy", &uid)
    );
    cluster
        .create_raw("/apis/apps/v1/namespaces/default/controllerrevisions", revision)
        .await;
    for node in node_names(3) {
        cluster
            .create_pod(
                pod_named_from("legacy-")
                    .spec(ds["spec"]["template"]["spec"].clone())
                    .app("legacy")
                    .revision_hash(KCM_HASH)
                    .template_generation(1)
                    .controlled_by("legacy", &uid)
                    .on(&node)
                    .pinned_to(&node),
            )
            .await;
    }
    cluster
        .wait_until("kcm's pods ready", secs(10), || async {
            cluster.pods().await.iter().filter(|p| is_ready(p)).count() == 3
        })
        .await;

    let start = cluster.mark();
    let controller = cluster.start_controller();
    let ds = cluster.wait_rolled_out("legacy").pods(3).within(secs(15)).await;
    tokio::time::sleep(secs(2)).await;
    let writes = cluster.controller_writes_since(start);
    assert_eq!(
        writes,
        vec!["status DaemonSet legacy".to_string()],
        "only the status is written: no pod or revision touched"
    );
    assert_eq!(
        ds["status"]["updatedNumberScheduled"], 3,
        "kcm's pods count as up to date"
    );
    controller.stop().await;
}
