//! `kubectl daemonroll pause|resume|promote`: one merge patch of the DaemonSet's `daemonroll.io/`
//! annotations, reported as kubectl reports its own changes (CLI edge: network I/O).

use anyhow::{Result, anyhow};
use serde_json::{Map, Value, json};

use daemonroll::kube::paths::daemon_set_path;
use daemonroll::kube::{ApiClient, PatchKind};
use daemonroll::planner::rollout::controls::{PARTITION, PAUSED, ROLLOUT_NODE_SELECTOR};

use crate::cli::live::Connection;

/// `daemonroll.io/paused: "true"`.
pub async fn pause(connection: &Connection, namespace: &str, name: &str) -> Result<()> {
    let current = annotations(connection, namespace, name).await?;
    if current.get(PAUSED).and_then(Value::as_str) == Some("true") {
        println!("daemonset.apps/{name} already paused");
        return Ok(());
    }
    patch(connection, namespace, name, json!({ PAUSED: "true" })).await?;
    println!("daemonset.apps/{name} paused");
    Ok(())
}

/// Removes `daemonroll.io/paused`.
pub async fn resume(connection: &Connection, namespace: &str, name: &str) -> Result<()> {
    let current = annotations(connection, namespace, name).await?;
    if !current.contains_key(PAUSED) {
        println!("daemonset.apps/{name} is not paused");
        return Ok(());
    }
    patch(connection, namespace, name, json!({ PAUSED: null })).await?;
    println!("daemonset.apps/{name} resumed");
    Ok(())
}

/// Removes `daemonroll.io/partition` and `daemonroll.io/rollout-node-selector`: every node rolls.
pub async fn promote(connection: &Connection, namespace: &str, name: &str) -> Result<()> {
    let current = annotations(connection, namespace, name).await?;
    if !current.contains_key(PARTITION) && !current.contains_key(ROLLOUT_NODE_SELECTOR) {
        println!("daemonset.apps/{name} has no partition or canary selector (nothing to promote)");
        return Ok(());
    }
    patch(
        connection,
        namespace,
        name,
        json!({ PARTITION: null, ROLLOUT_NODE_SELECTOR: null }),
    )
    .await?;
    println!("daemonset.apps/{name} promoted");
    Ok(())
}

/// The DaemonSet's annotations (empty when it has none); a missing DaemonSet is an error that
/// names it as kubectl does.
async fn annotations(connection: &Connection, namespace: &str, name: &str) -> Result<Map<String, Value>> {
    let api = ApiClient::new(connection.client.clone());
    let daemon_set = api
        .get(&daemon_set_path(namespace, name))
        .await
        .map_err(|error| match error.code() {
            Some(404) => anyhow!("daemonsets.apps {name:?} not found in namespace {namespace:?}"),
            _ => anyhow!(error).context(format!("cannot read daemonset.apps/{name} in namespace {namespace}")),
        })?;
    Ok(daemon_set["metadata"]["annotations"]
        .as_object()
        .cloned()
        .unwrap_or_default())
}

async fn patch(connection: &Connection, namespace: &str, name: &str, annotations: Value) -> Result<()> {
    let api = ApiClient::new(connection.client.clone());
    let body = json!({"metadata": {"annotations": annotations}});
    api.patch(&daemon_set_path(namespace, name), PatchKind::Merge, &body)
        .await
        .map_err(|error| {
            anyhow!(error).context(format!("cannot patch daemonset.apps/{name} in namespace {namespace}"))
        })?;
    Ok(())
}
