//! Watches: the events a watch from a list's resourceVersion sees for a create, a change and a
//! delete.

use serde_json::{Value, json};

use crate::backends::{Backends, PatchType};
use crate::daemon_sets::{collection, daemon_set};

pub async fn a_watch_sees_create_modify_and_delete(backends: &Backends) {
    let namespace = backends.namespace("watched").await;
    let daemon_sets = collection(&namespace);
    let one = format!("{daemon_sets}/watched");
    backends
        .compare("a watch of DaemonSets", async |api| {
            let list = api.get(&daemon_sets).await;
            let version = list.body["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let watch = format!("{daemon_sets}?watch=true&resourceVersion={version}");
            let events = api
                .watch_while(&watch, 3, async || {
                    api.create(&daemon_sets, &daemon_set("watched")).await;
                    let label = json!({"metadata": {"labels": {"tier": "node"}}});
                    api.patch(&one, PatchType::Merge, &label).await;
                    api.delete(&one).await;
                })
                .await;
            Value::Array(events)
        })
        .await;
}
