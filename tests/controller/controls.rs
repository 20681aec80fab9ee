//! The rollout controls end to end, driven only by `kubectl annotate` the way an operator would,
//! with the ARCHITECTURE.md invariants replayed over every write (README "Rollout controls").

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::*;

const NODES: usize = 12;

/// A cluster of 12 nodes running `agent` at agent:1, rolled out, with the controller running.
async fn rolled_out_agent(daemon_set: DaemonSetBuilder) -> Option<(Cluster, Running)> {
    if !kubectl_installed() {
        eprintln!("kubectl is not installed: skipping");
        return None;
    }
    let cluster = Cluster::with_nodes(NODES).pods_ready_after(millis(200)).start().await;
    let controller = cluster.start_controller();
    cluster.create_daemon_set(daemon_set.image("agent:1")).await;
    cluster
        .wait_rolled_out("agent")
        .pods(NODES as i64)
        .within(secs(30))
        .await;
    Some((cluster, controller))
}

fn annotate(cluster: &Cluster, annotation: &str) {
    cluster.kubectl_ok(&["annotate", "--overwrite", "ds/agent", annotation]);
}

/// The nodes whose live pod runs `image`, sorted.
async fn nodes_running(cluster: &Cluster, image: &str) -> Vec<String> {
    let mut nodes: Vec<String> = cluster
        .pods()
        .await
        .iter()
        .filter(|pod| !is_terminating(pod) && pod_image(pod) == image)
        .map(pod_node)
        .collect();
    nodes.sort();
    nodes
}

async fn progressing_reason(cluster: &Cluster) -> String {
    let ds = cluster.get_daemon_set("agent").await;
    let conditions = ds["status"]["conditions"].as_array().cloned().unwrap_or_default();
    conditions
        .iter()
        .find(|condition| condition["type"] == "Progressing")
        .and_then(|condition| condition["reason"].as_str())
        .unwrap_or_default()
        .to_string()
}

async fn wait_for_reason(cluster: &Cluster, reason: &str, limit: std::time::Duration) {
    cluster
        .wait_until(&format!("Progressing reason {reason}"), limit, || async {
            progressing_reason(cluster).await == reason
        })
        .await;
}

fn kubectl_daemonroll(cluster: &Cluster, args: &[&str]) -> std::process::Output {
    crate::plugin::kubectl_daemonroll(&cluster.kubeconfig, &cluster.dir.0, args)
}

/// Changes the image and waits until all nodes run it, available.
async fn roll_to(cluster: &Cluster, image: &str, limit: std::time::Duration) {
    cluster.set_image("agent", image).await;
    cluster.wait_rolled_out("agent").pods(NODES as i64).within(limit).await;
}

fn budget(unavailable: usize) -> Budget {
    Budget::rolling("agent").nodes(NODES).at_most_unavailable(unavailable)
}

/// Paused and resumed through the kubectl plugin (which sets and removes `daemonroll.io/paused`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_rollout_deletes_no_pod_for_10s_and_resumes_when_unpaused() {
    let Some((cluster, controller)) = rolled_out_agent(daemon_set("agent")).await else {
        return;
    };
    let start = cluster.mark();
    let paused = kubectl_daemonroll(&cluster, &["pause", "ds/agent"]);
    assert!(paused.status.success(), "{}", String::from_utf8_lossy(&paused.stderr));
    cluster.set_image("agent", "agent:2").await;
    wait_for_reason(&cluster, "Paused", secs(10)).await;
    let paused = cluster.mark();
    tokio::time::sleep(secs(10)).await;
    let while_paused = cluster.check_invariants_since(paused, &budget(1));
    assert_eq!(while_paused.pod_deletes, 0, "{}", cluster.pod_writes_since(paused));
    assert_eq!(nodes_running(&cluster, "agent:2").await, Vec::<String>::new());

    annotate(&cluster, "daemonroll.io/paused-");
    cluster
        .wait_rolled_out("agent")
        .pods(NODES as i64)
        .within(secs(30))
        .await;
    assert_eq!(nodes_running(&cluster, "agent:2").await, node_names(NODES));
    let replay = cluster.check_invariants_since(start, &budget(1));
    assert_eq!(replay.pod_deletes, NODES);
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_of_3_on_12_nodes_keeps_exactly_3_old_pods_then_none_at_partition_0() {
    let Some((cluster, controller)) = rolled_out_agent(daemon_set("agent").max_unavailable(2)).await else {
        return;
    };
    let start = cluster.mark();
    annotate(&cluster, "daemonroll.io/partition=3");
    cluster.set_image("agent", "agent:2").await;
    wait_for_reason(&cluster, "PartitionHeld", secs(30)).await;
    tokio::time::sleep(secs(2)).await;
    // The kept nodes are the tail of the rollout order (node names here).
    assert_eq!(
        nodes_running(&cluster, "agent:1").await,
        ["node-010", "node-011", "node-012"]
    );
    annotate(&cluster, "daemonroll.io/partition=0");
    cluster
        .wait_rolled_out("agent")
        .pods(NODES as i64)
        .within(secs(30))
        .await;
    assert_eq!(nodes_running(&cluster, "agent:1").await, Vec::<String>::new());
    cluster.check_invariants_since(start, &budget(2));
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_selector_rolls_exactly_the_matching_nodes() {
    let Some((cluster, controller)) = rolled_out_agent(daemon_set("agent")).await else {
        return;
    };
    for node in ["node-003", "node-007"] {
        cluster.node(node).label("canary", "true");
    }
    let start = cluster.mark();
    annotate(&cluster, "daemonroll.io/rollout-node-selector=canary=true");
    cluster.set_image("agent", "agent:2").await;
    wait_for_reason(&cluster, "CanaryHeld", secs(30)).await;
    tokio::time::sleep(secs(2)).await;
    assert_eq!(nodes_running(&cluster, "agent:2").await, ["node-003", "node-007"]);
    let replay = cluster.check_invariants_since(start, &budget(1));
    assert_eq!(replay.pod_deletes, 2, "{}", cluster.pod_writes_since(start));
    controller.stop().await;
}

/// After each pod write: the zones with a node in flight (no live pod, or a new pod not yet
/// Ready), and the most nodes in flight in one zone.
fn zones_in_flight_at_each_write(
    cluster: &Cluster,
    since: Mark,
    zones: &BTreeMap<String, String>,
) -> Vec<(usize, usize)> {
    let mut pods: BTreeMap<String, Value> = BTreeMap::new();
    let mut counts = Vec::new();
    for record in cluster.timeline() {
        if record.kind != "Pod" {
            continue;
        }
        let gone = record.verb == "delete" && record.event == daemonroll::sim::store::EventType::Deleted;
        if gone {
            pods.remove(&record.name);
        } else {
            pods.insert(record.name.clone(), record.object.value());
        }
        if record.resource_version <= since.0 {
            continue;
        }
        let mut in_flight: BTreeMap<&str, usize> = BTreeMap::new();
        for (node, zone) in zones {
            let live: Vec<&Value> = pods
                .values()
                .filter(|pod| pod_node(pod) == *node && !is_terminating(pod))
                .collect();
            if live.is_empty() || live.iter().any(|pod| pod_image(pod) == "agent:2" && !is_ready(pod)) {
                *in_flight.entry(zone.as_str()).or_default() += 1;
            }
        }
        counts.push((in_flight.len(), in_flight.values().copied().max().unwrap_or(0)));
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_by_zone_never_has_two_zones_with_replaced_pods_in_flight_nor_more_than_the_domain_cap() {
    let Some((cluster, controller)) = rolled_out_agent(daemon_set("agent").max_unavailable(3)).await else {
        return;
    };
    let zones: BTreeMap<String, String> = cluster
        .list("/api/v1/nodes")
        .await
        .iter()
        .map(|node| {
            let name = text(node, "/metadata/name").to_string();
            let zone = text(node, "/metadata/labels/topology.kubernetes.io~1zone").to_string();
            (name, zone)
        })
        .collect();
    assert_eq!(
        zones.values().collect::<BTreeSet<_>>().len(),
        3,
        "three zones: {zones:?}"
    );
    let start = cluster.mark();
    annotate(&cluster, "daemonroll.io/topology-key=topology.kubernetes.io/zone");
    annotate(&cluster, "daemonroll.io/max-unavailable-per-domain=2");
    roll_to(&cluster, "agent:2", secs(40)).await;
    let in_flight = zones_in_flight_at_each_write(&cluster, start, &zones);
    assert!(!in_flight.is_empty());
    let zones_at_once = in_flight.iter().map(|(zones, _)| *zones).max();
    let nodes_in_a_zone = in_flight.iter().map(|(_, nodes)| *nodes).max();
    let seen = format!("(zones, most nodes in one zone) in flight per write: {in_flight:?}");
    assert_eq!(zones_at_once, Some(1), "{seen}");
    // maxUnavailable 3 overall, 2 per domain.
    assert_eq!(nodes_in_a_zone, Some(2), "{seen}");
    cluster.check_invariants_since(start, &budget(3));
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_never_becomes_ready_is_rolled_back_to_the_previous_revision() {
    let Some((cluster, controller)) = rolled_out_agent(daemon_set("agent")).await else {
        return;
    };
    cluster.image_crash_loops("agent:broken");
    annotate(&cluster, "daemonroll.io/progress-deadline=3s");
    annotate(&cluster, "daemonroll.io/on-failure=rollback");
    let start = cluster.mark();
    cluster.set_image("agent", "agent:broken").await;
    wait_for_reason(&cluster, "RolledBack", secs(30)).await;
    cluster
        .wait_rolled_out("agent")
        .pods(NODES as i64)
        .within(secs(30))
        .await;
    assert_eq!(nodes_running(&cluster, "agent:1").await, node_names(NODES));
    let ds = cluster.get_daemon_set("agent").await;
    assert_eq!(ds["spec"]["template"]["spec"]["containers"][0]["image"], "agent:1");
    let reason = text(&ds, "/metadata/annotations/daemonroll.io~1rollback-reason");
    assert!(
        reason.contains("not available within the progress deadline"),
        "{reason}"
    );
    assert_eq!(progressing_reason(&cluster).await, "RolledBack");
    assert!(cluster.event_reasons().await.iter().any(|r| r == "RollingBack"));
    // One node at a time (maxUnavailable 1): only one broken pod was ever started.
    let replay = cluster.check_invariants_since(start, &budget(1));
    assert_eq!(replay.pod_deletes, 2, "{}", cluster.pod_writes_since(start));
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_with_host_ports_under_max_surge_rolls_without_surging() {
    let builder = daemon_set("agent").max_unavailable(0).max_surge(1).host_port(9100);
    let Some((cluster, controller)) = rolled_out_agent(builder).await else {
        return;
    };
    let start = cluster.mark();
    // kubectl's strategic merge keeps the container's ports (a merge patch would drop them).
    cluster.kubectl_ok(&["set", "image", "ds/agent", "agent=agent:2"]);
    cluster
        .wait_rolled_out("agent")
        .pods(NODES as i64)
        .within(secs(30))
        .await;
    // Not `.surge()`: one pod per node at every write.
    let replay = cluster.check_invariants_since(start, &budget(1));
    assert_eq!(replay.max_pods_on_a_node, 1);
    assert!(cluster.event_reasons().await.iter().any(|r| r == "SurgeDisabled"));
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_wave_soaks_for_the_wave_interval_before_the_next_starts() {
    let Some((cluster, controller)) = rolled_out_agent(daemon_set("agent").max_unavailable(4)).await else {
        return;
    };
    let start = cluster.mark();
    annotate(&cluster, "daemonroll.io/wave-interval=3s");
    roll_to(&cluster, "agent:2", secs(40)).await;
    let deletes = cluster.pod_delete_times();
    assert_eq!(deletes.len(), NODES, "{}", cluster.pod_writes_since(start));
    // Deletes of one wave come from one sync; waves are apart by the ready time plus at least
    // the soak time.
    let gaps: Vec<i64> = deletes
        .windows(2)
        .map(|pair| (pair[1] - pair[0]).num_milliseconds())
        .collect();
    let boundaries: Vec<i64> = gaps.iter().copied().filter(|gap| *gap > 1_000).collect();
    assert_eq!(boundaries.len(), 2, "three waves of 4: gaps {gaps:?}");
    assert!(boundaries.iter().all(|gap| *gap >= 3_000), "soaked 3 s: gaps {gaps:?}");
    cluster.check_invariants_since(start, &budget(4));
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_surge_beside_max_unavailable_rolls_within_both_budgets() {
    let Some((cluster, controller)) = rolled_out_agent(daemon_set("agent").max_unavailable(2)).await else {
        return;
    };
    let start = cluster.mark();
    annotate(&cluster, "daemonroll.io/max-surge=2");
    roll_to(&cluster, "agent:2", secs(30)).await;
    let replay = cluster.check_invariants_since(start, &budget(2).surge());
    assert_eq!(replay.max_pods_on_a_node, 2, "some nodes surged");
    assert_eq!(replay.pod_deletes, NODES);
    assert_eq!(nodes_running(&cluster, "agent:2").await, node_names(NODES));
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_never_becomes_ready_stops_the_rollout_at_the_progress_deadline() {
    let Some((cluster, controller)) = rolled_out_agent(daemon_set("agent")).await else {
        return;
    };
    cluster.image_crash_loops("agent:broken");
    annotate(&cluster, "daemonroll.io/progress-deadline=3s");
    let start = cluster.mark();
    cluster.set_image("agent", "agent:broken").await;
    // What a pipeline would run: wait for the rollout to fail.
    cluster.kubectl_ok(&["wait", "ds/agent", "--for=condition=Progressing=False", "--timeout=30s"]);
    assert_eq!(progressing_reason(&cluster).await, "ProgressDeadlineExceeded");
    let failed = cluster.mark();
    tokio::time::sleep(secs(3)).await;
    let after = cluster.check_invariants_since(failed, &budget(1));
    assert_eq!(after.pod_deletes, 0, "{}", cluster.pod_writes_since(failed));
    assert_eq!(nodes_running(&cluster, "agent:broken").await, ["node-001"]);
    assert!(
        cluster
            .event_reasons()
            .await
            .iter()
            .any(|r| r == "ProgressDeadlineExceeded")
    );
    cluster.check_invariants_since(start, &budget(1));
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ignore_not_ready_nodes_more_not_ready_nodes_than_the_budget_do_not_stall_the_rollout() {
    let Some((cluster, controller)) = rolled_out_agent(daemon_set("agent")).await else {
        return;
    };
    let down = ["node-005", "node-009"];
    for node in down {
        cluster.node(node).become_not_ready();
    }
    annotate(&cluster, "daemonroll.io/ignore-not-ready-nodes=true");
    let start = cluster.mark();
    cluster.set_image("agent", "agent:2").await;
    let ready: Vec<String> = node_names(NODES)
        .into_iter()
        .filter(|node| !down.contains(&node.as_str()))
        .collect();
    cluster
        .wait_until("the 10 Ready nodes on agent:2", secs(30), || async {
            nodes_running(&cluster, "agent:2").await == ready
        })
        .await;
    assert_eq!(nodes_running(&cluster, "agent:1").await, down);
    cluster.check_invariants_since(start, &budget(1).only_nodes(&ready));
    controller.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_annotation_is_reported_and_other_daemon_sets_keep_rolling() {
    let Some((cluster, controller)) = rolled_out_agent(daemon_set("agent")).await else {
        return;
    };
    cluster.create_daemon_set(daemon_set("other").image("other:1")).await;
    cluster
        .wait_rolled_out("other")
        .pods(NODES as i64)
        .within(secs(30))
        .await;
    let start = cluster.mark();
    annotate(&cluster, "daemonroll.io/partition=most");
    cluster.set_image("agent", "agent:2").await;
    cluster.set_image("other", "other:2").await;
    cluster
        .wait_rolled_out("other")
        .pods(NODES as i64)
        .within(secs(30))
        .await;
    wait_for_reason(&cluster, "InvalidAnnotation", secs(10)).await;
    let ds = cluster.get_daemon_set("agent").await;
    let message = ds["status"]["conditions"]
        .as_array()
        .and_then(|list| list.iter().find(|c| c["type"] == "Progressing"))
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("daemonroll.io/partition") && message.contains("\"most\""),
        "{message}"
    );
    assert!(cluster.event_reasons().await.iter().any(|r| r == "InvalidAnnotation"));
    assert_eq!(
        nodes_running(&cluster, "agent:2").await,
        Vec::<String>::new(),
        "nothing rolled"
    );
    let writes = cluster.pod_writes_since(start);
    assert!(!writes.contains(" agent-"), "no pod of agent written: {writes}");
    controller.stop().await;
}
