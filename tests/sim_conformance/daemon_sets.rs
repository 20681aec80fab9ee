//! DaemonSets through every verb: the answers kube-apiserver gives, field by field.

use serde_json::{Value, json};

use crate::backends::{Backends, Endpoint, PatchType};

pub fn daemon_set(name: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}
            }
        }
    })
}

pub fn collection(namespace: &str) -> String {
    format!("/apis/apps/v1/namespaces/{namespace}/daemonsets")
}

pub fn path(name: &str) -> String {
    format!("{}/{name}", collection("default"))
}

async fn created(api: &Endpoint, name: &str) -> Value {
    api.create(&collection("default"), &daemon_set(name)).await
}

pub async fn a_created_daemon_set_is_defaulted_as_kube_apiserver_defaults_it(backends: &Backends) {
    backends
        .compare("POST a DaemonSet", async |api| {
            api.post(&collection("default"), &daemon_set("defaulted")).await.whole()
        })
        .await;
}

pub async fn a_daemon_set_reads_back_as_it_was_created(backends: &Backends) {
    backends
        .compare("GET a DaemonSet", async |api| {
            created(api, "read-back").await;
            api.get(&path("read-back")).await.whole()
        })
        .await;
}

pub async fn a_list_of_daemon_sets_is_a_daemon_set_list(backends: &Backends) {
    let namespace = backends.namespace("listed").await;
    backends
        .compare("LIST DaemonSets", async |api| {
            for name in ["first", "second"] {
                api.create(&collection(&namespace), &daemon_set(name)).await;
            }
            api.get(&collection(&namespace)).await.whole()
        })
        .await;
}

pub async fn a_merge_patch_bumps_the_generation_of_a_spec_change(backends: &Backends) {
    let patch = json!({"metadata": {"labels": {"tier": "node"}}, "spec": {"minReadySeconds": 5}});
    backends
        .compare("merge PATCH of a DaemonSet", async |api| {
            created(api, "merged").await;
            api.patch(&path("merged"), PatchType::Merge, &patch).await.whole()
        })
        .await;
}

pub async fn a_strategic_merge_patch_merges_containers_by_name(backends: &Backends) {
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "agent", "image": "agent:2"},
        {"name": "sidecar", "image": "sidecar:1"}
    ]}}}});
    backends
        .compare("strategic merge PATCH of a DaemonSet", async |api| {
            created(api, "strategic").await;
            api.patch(&path("strategic"), PatchType::Strategic, &patch)
                .await
                .whole()
        })
        .await;
}

pub async fn a_json_patch_applies_its_operations_in_order(backends: &Backends) {
    let patch = json!([
        {"op": "test", "path": "/spec/template/spec/containers/0/image", "value": "agent:1"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "agent:2"},
        {"op": "add", "path": "/metadata/labels/tier", "value": "node"}
    ]);
    backends
        .compare("JSON PATCH of a DaemonSet", async |api| {
            created(api, "json-patched").await;
            api.patch(&path("json-patched"), PatchType::Json, &patch).await.whole()
        })
        .await;
}

pub async fn server_side_apply_creates_and_then_updates(backends: &Backends) {
    let applied = |image: &str| {
        let mut applied = daemon_set("applied");
        applied["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
        applied
    };
    let (first, second) = (applied("agent:1"), applied("agent:2"));
    let apply = format!("{}?fieldManager=conformance", path("applied"));
    backends
        .compare("apply PATCH creating, then updating, a DaemonSet", async |api| {
            let created = api.patch(&apply, PatchType::Apply, &first).await;
            let updated = api.patch(&apply, PatchType::Apply, &second).await;
            json!({"created": created.whole(), "updated": updated.whole()})
        })
        .await;
}

pub async fn a_status_update_changes_only_the_status(backends: &Backends) {
    backends
        .compare("PUT of a DaemonSet's status", async |api| {
            let mut object = created(api, "status-written").await;
            object["spec"]["minReadySeconds"] = json!(30);
            object["status"] = json!({
                "currentNumberScheduled": 2, "numberMisscheduled": 0, "desiredNumberScheduled": 2,
                "numberReady": 1, "observedGeneration": 1, "updatedNumberScheduled": 2,
                "numberAvailable": 1, "numberUnavailable": 1
            });
            api.put(&format!("{}/status", path("status-written")), &object)
                .await
                .whole()
        })
        .await;
}

pub async fn a_delete_answers_with_the_object_being_deleted(backends: &Backends) {
    backends
        .compare("DELETE of a DaemonSet", async |api| {
            created(api, "deleted").await;
            let deleted = api.delete(&path("deleted")).await;
            let after = api.get(&path("deleted")).await;
            json!({"deleted": deleted.whole(), "after": after.code})
        })
        .await;
}
