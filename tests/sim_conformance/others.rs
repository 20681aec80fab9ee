//! ControllerRevisions and Namespaces.

use serde_json::json;

use crate::backends::Backends;

pub async fn a_controller_revision_round_trips(backends: &Backends) {
    let revision = json!({
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {"name": "agent-5d8f7c9b4", "labels": {"app": "agent", "controller-revision-hash": "5d8f7c9b4"}},
        "revision": 1,
        "data": {"spec": {"template": {"$patch": "replace", "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}}}}
    });
    let collection = "/apis/apps/v1/namespaces/default/controllerrevisions";
    backends
        .compare("POST, then GET, a ControllerRevision", async |api| {
            let created = api.post(collection, &revision).await;
            let read = api.get(&format!("{collection}/agent-5d8f7c9b4")).await;
            json!({"created": created.whole(), "read": read.whole()})
        })
        .await;
}

pub async fn a_namespace_is_created_active_with_its_name_label(backends: &Backends) {
    backends
        .compare("POST a Namespace", async |api| {
            api.post("/api/v1/namespaces", &json!({"metadata": {"name": "created"}}))
                .await
                .whole()
        })
        .await;
}

pub async fn a_deleted_namespace_answers_terminating(backends: &Backends) {
    backends
        .compare("DELETE of a Namespace", async |api| {
            api.create("/api/v1/namespaces", &json!({"metadata": {"name": "doomed"}}))
                .await;
            api.delete("/api/v1/namespaces/doomed").await.whole()
        })
        .await;
}
