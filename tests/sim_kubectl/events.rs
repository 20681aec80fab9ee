//! Events through kubectl: one store served as core/v1 (what `kubectl describe` and
//! `kubectl get events` read) and as events.k8s.io/v1 (what kube-runtime's recorder, and so
//! daemonroll, writes).

use daemonroll::sim::cluster::Simulator;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use serde_json::Value;

use crate::harness::{Kubectl, manifest, start, stored};

/// Publishes a SuccessfulCreate Event about DaemonSet default/agent the way daemonroll does:
/// kube-runtime's recorder, events.k8s.io/v1.
fn record_successful_create(runtime: &tokio::runtime::Runtime, simulator: &Simulator) {
    let ds = stored(&simulator.store, "daemonsets", "apps", "agent").expect("the DaemonSet exists");
    let regarding = ObjectReference {
        api_version: Some("apps/v1".into()),
        kind: Some("DaemonSet".into()),
        namespace: Some("default".into()),
        name: Some("agent".into()),
        uid: ds["metadata"]["uid"].as_str().map(String::from),
        ..ObjectReference::default()
    };
    let event = Event {
        type_: EventType::Normal,
        reason: "SuccessfulCreate".into(),
        note: Some("Created pod: agent-x7k2p".into()),
        action: "SuccessfulCreate".into(),
        secondary: None,
    };
    runtime.block_on(async {
        let config = kube::Config::new(simulator.url().parse().expect("URL"));
        let client = kube::Client::try_from(config).expect("client");
        let reporter = Reporter {
            controller: "daemonroll".into(),
            instance: Some("daemonroll-0".into()),
        };
        Recorder::new(client, reporter)
            .publish(&event, &regarding)
            .await
            .expect("the event is published");
    });
}

fn create_agent(kubectl: &Kubectl) {
    kubectl.apply_stdin(&["create", "-f", "-"], &manifest("agent:1"));
}

#[test]
fn kubectl_describe_shows_events_written_through_events_k8s_io() {
    let Some((runtime, simulator, kubectl)) = start() else {
        return;
    };
    create_agent(&kubectl);
    let before = kubectl.ok(&["describe", "ds", "agent"]);
    assert!(
        before
            .lines()
            .any(|line| line.starts_with("Events:") && line.ends_with("<none>")),
        "{before}"
    );
    record_successful_create(&runtime, &simulator);
    let described = kubectl.ok(&["describe", "ds", "agent"]);
    let row = described
        .lines()
        .skip_while(|line| !line.starts_with("Events:"))
        .find(|line| line.contains("SuccessfulCreate"))
        .unwrap_or_else(|| panic!("no event under Events:\n{described}"));
    let columns: Vec<&str> = row.split_whitespace().collect();
    // Type, Reason, Age, From (the reporting controller: the event has no source), Message.
    assert_eq!(columns[..2], ["Normal", "SuccessfulCreate"], "{described}");
    assert_eq!(
        columns[3..],
        ["daemonroll", "Created", "pod:", "agent-x7k2p"],
        "{described}"
    );
}

#[test]
fn kubectl_get_events_lists_events_written_through_events_k8s_io() {
    let Some((runtime, simulator, kubectl)) = start() else {
        return;
    };
    create_agent(&kubectl);
    record_successful_create(&runtime, &simulator);
    let listing = kubectl.ok(&["get", "events"]);
    let mut lines = listing.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(
        header,
        ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        "{listing}"
    );
    let row: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(
        row[1..],
        [
            "Normal",
            "SuccessfulCreate",
            "daemonset/agent",
            "Created",
            "pod:",
            "agent-x7k2p"
        ],
        "{listing}"
    );
    let wide = kubectl.ok(&["get", "events", "-o", "wide"]);
    assert!(wide.contains("daemonroll, daemonroll-0"), "SOURCE: {wide}");
}

#[test]
fn a_core_v1_event_written_by_a_client_reads_under_events_k8s_io() {
    let Some((_runtime, _simulator, kubectl)) = start() else {
        return;
    };
    let core_event = "apiVersion: v1\nkind: Event\nmetadata: {name: agent.1, namespace: default}\n\
        involvedObject: {apiVersion: apps/v1, kind: DaemonSet, name: agent, namespace: default}\n\
        reason: SuccessfulDelete\nmessage: 'Deleted pod: agent-old'\ntype: Normal\n\
        source: {component: daemonset-controller}\ncount: 3\n\
        firstTimestamp: '2026-12-05T10:00:00Z'\nlastTimestamp: '2026-12-05T10:05:00Z'\n";
    kubectl.apply_stdin(&["create", "-f", "-"], core_event);
    let read: Value =
        serde_json::from_str(&kubectl.ok(&["get", "events.v1.events.k8s.io", "agent.1", "-o", "json"])).expect("JSON");
    let fields: Vec<Value> = [
        "apiVersion",
        "note",
        "regarding",
        "deprecatedSource",
        "deprecatedCount",
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
        "message",
        "involvedObject",
    ]
    .iter()
    .map(|field| read.get(field).cloned().unwrap_or(Value::Null))
    .collect();
    assert_eq!(
        fields,
        [
            "events.k8s.io/v1".into(),
            "Deleted pod: agent-old".into(),
            serde_json::json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "namespace": "default"}),
            serde_json::json!({"component": "daemonset-controller"}),
            3.into(),
            "2026-12-05T10:00:00Z".into(),
            "2026-12-05T10:05:00Z".into(),
            Value::Null,
            Value::Null,
        ]
    );
}
