//! Taking over from kube-controller-manager: its pods and its Go-encoded revision are adopted as
//! they are, with no pod deleted or created and no new revision.

use std::time::Duration;

use daemonroll::controller::Options;
use serde_json::json;

use crate::support::*;

/// kube-controller-manager's revision data for the `legacy` template as the API server serves it,
/// written out by hand from update.go getPatch: keys sorted, `>` and `&` escaped as Go does.
const KCM_DATA: &str = r#"{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"legacy"}},"spec":{"containers":[{"command":["sh","-c","echo a\u003eb \u0026\u0026 sleep 1d"],"image":"agent:1","imagePullPolicy":"IfNotPresent","name":"agent","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],"dnsPolicy":"ClusterFirst","restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"terminationGracePeriodSeconds":30}}}}"#;
/// kube-controller-manager's hash (its own algorithm; daemonroll must reuse it, not recompute it).
const KCM_HASH: &str = "7c9f6d8b5d";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_left_by_kube_controller_manager_is_adopted_without_a_restart() {
    let cluster = Cluster::start(3, fleet(100)).await;
    let mut object = daemon_set("legacy", "agent:1", rolling(json!(1), json!(0)));
    object["spec"]["template"]["spec"]["containers"][0]["command"] = json!(["sh", "-c", "echo a>b && sleep 1d"]);
    let ds = cluster.create_daemon_set(object).await;
    let uid = ds["metadata"]["uid"].as_str().expect("uid").to_string();
    let owner = json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "legacy", "uid": uid,
                        "controller": true, "blockOwnerDeletion": true}]);
    let mut revision = format!(
        r#"{{"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{{"name":"legacy-{KCM_HASH}","namespace":"default","labels":{{"app":"legacy","controller-revision-hash":"{KCM_HASH}"}},"ownerReferences":{owner}}},"revision":1,"data":"#
    );
    revision.push_str(KCM_DATA);
    revision.push('}');
    cluster
        .api
        .create_raw(
            "/apis/apps/v1/namespaces/default/controllerrevisions",
            revision.into_bytes(),
        )
        .await
        .expect("kcm's revision");
    let template = ds["spec"]["template"].clone();
    for node in node_names(3) {
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"generateName": "legacy-", "namespace": "default",
                         "labels": {"app": "legacy", "controller-revision-hash": KCM_HASH, "pod-template-generation": "1"},
                         "ownerReferences": owner.clone()},
            "spec": template["spec"].clone()});
        pod["spec"]["nodeName"] = json!(node);
        pod["spec"]["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}});
        cluster
            .api
            .create("/api/v1/namespaces/default/pods", &pod)
            .await
            .expect("kcm's pod");
    }
    cluster
        .wait_until("kcm's pods ready", Duration::from_secs(10), || async {
            cluster
                .pods()
                .await
                .iter()
                .filter(|p| {
                    p["status"]["conditions"]
                        .to_string()
                        .contains("\"Ready\",\"status\":\"True\"")
                        || p["status"]["conditions"]
                            .as_array()
                            .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
                })
                .count()
                == 3
        })
        .await;

    let start = now_version(&cluster);
    let controller = cluster.start_controller(Options::default());
    let ds = cluster.wait_rolled_out("legacy", 3, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let writes = controller_writes_since(&cluster, start);
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
