//! Least privilege under the real RBAC authorizer: daemonroll with the token of `deploy/`'s
//! ServiceAccount and nothing more (as every test of the tier runs it; here the refusals are
//! counted and a rule is taken away).

use crate::support::*;

#[tokio::test]
async fn rolls_out_with_only_the_rights_deploy_grants() {
    let Some(cluster) = Cluster::with_nodes(6).start().await else {
        return;
    };
    let daemonroll = cluster.start_daemonroll(&[]);
    cluster.create_daemon_set(agent("agent").max_unavailable(2)).await;
    cluster.wait_rolled_out("agent", "agent:1", 6, secs(60)).await;

    let mark = cluster.recorder.mark();
    cluster.set_image("agent", "agent:2").await;
    cluster.wait_rolled_out("agent", "agent:2", 6, secs(90)).await;

    cluster
        .recorder
        .check(mark, &Budget::rolling("agent").nodes(6).at_most_unavailable(2));
    let forbidden: Vec<AuditEntry> = cluster
        .audit()
        .into_iter()
        .filter(|e| e.by_daemonroll() && e.code == 403)
        .collect();
    assert!(
        forbidden.is_empty(),
        "no request of daemonroll was refused: {forbidden:?}\n{}",
        daemonroll.log_tail()
    );
}

#[tokio::test]
async fn a_missing_rule_is_a_clear_log_line_not_a_crash() {
    let Some(cluster) = Cluster::with_nodes(3).start().await else {
        return;
    };
    // deploy/ applied: its ClusterRole is what the patch below takes a verb from.
    cluster.service_account_kubeconfig();
    let role: serde_json::Value =
        serde_json::from_str(&cluster.kubectl_ok(&["get", "clusterrole", "daemonroll", "-o", "json"])).expect("JSON");
    let rule = role["rules"]
        .as_array()
        .and_then(|rules| {
            rules
                .iter()
                .position(|rule| rule["resources"][0] == "controllerrevisions")
        })
        .expect("deploy/rbac.yaml grants controllerrevisions");
    // Reading revisions stays allowed: the sync gets as far as writing one.
    let without_create =
        format!(r#"[{{"op":"replace","path":"/rules/{rule}/verbs","value":["delete","list","patch","watch"]}}]"#);
    cluster.kubectl_ok(&[
        "patch",
        "clusterrole",
        "daemonroll",
        "--type=json",
        "-p",
        &without_create,
    ]);
    let mut daemonroll = cluster.start_daemonroll(&[]);
    cluster.create_daemon_set(agent("agent")).await;

    let refused = |daemonroll: &Daemonroll| {
        daemonroll.log_lines().into_iter().find(|line| {
            let fields: Vec<&str> = line["fields"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(_, v)| v.as_str())
                .collect();
            fields
                .iter()
                .any(|field| field.contains(r#"cannot create resource "controllerrevisions""#))
        })
    };
    cluster
        .wait_until("a log line naming the refused verb and resource", secs(20), || async {
            refused(&daemonroll).is_some()
        })
        .await;
    let line = refused(&daemonroll).unwrap_or_default();
    assert!(
        matches!(line["level"].as_str(), Some("WARN" | "ERROR")),
        "logged as a warning or error: {line}"
    );
    tokio::time::sleep(secs(3)).await;
    assert!(
        daemonroll.is_running(),
        "daemonroll keeps running:\n{}",
        daemonroll.log_tail()
    );
}
