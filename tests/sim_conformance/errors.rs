//! Refusals: the `metav1.Status` bodies, with their reasons, details and causes.

use serde_json::json;

use crate::backends::{Backends, PatchType};
use crate::daemon_sets::{collection, daemon_set, path};

pub async fn a_daemon_set_without_a_selector_is_invalid(backends: &Backends) {
    let mut invalid = daemon_set("unselected");
    invalid["spec"].as_object_mut().expect("a spec").remove("selector");
    backends
        .compare("POST a DaemonSet without a selector", async |api| {
            api.post(&collection("default"), &invalid).await.whole()
        })
        .await;
}

pub async fn a_missing_object_is_a_not_found_status(backends: &Backends) {
    backends
        .compare("GET of a missing DaemonSet", async |api| {
            api.get(&path("missing")).await.whole()
        })
        .await;
}

pub async fn an_update_with_a_stale_resource_version_conflicts(backends: &Backends) {
    backends
        .compare("PUT with a stale resourceVersion", async |api| {
            let mut stale = api.create(&collection("default"), &daemon_set("stale")).await;
            let label = json!({"metadata": {"labels": {"changed": "yes"}}});
            let patched = api.patch(&path("stale"), PatchType::Merge, &label).await;
            assert_eq!(patched.code, 200, "{}: {}", api.name, patched.body);
            stale["spec"]["minReadySeconds"] = json!(10);
            api.put(&path("stale"), &stale).await.whole()
        })
        .await;
}

pub async fn creating_an_existing_name_is_already_exists(backends: &Backends) {
    backends
        .compare("POST of a name that is taken", async |api| {
            api.create(&collection("default"), &daemon_set("taken")).await;
            api.post(&collection("default"), &daemon_set("taken")).await.whole()
        })
        .await;
}
