//! Events written through one group and read through both: core/v1 and events.k8s.io/v1 are
//! two views of one store on kube-apiserver.

use serde_json::{Value, json};

use crate::backends::Backends;

fn core(namespace: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/events")
}

fn events_k8s_io(namespace: &str) -> String {
    format!("/apis/events.k8s.io/v1/namespaces/{namespace}/events")
}

fn regarding() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "namespace": "default", "name": "agent",
           "uid": "8d8f8c57-0a8c-4b39-9d0e-5b1f6a1e2c3d"})
}

pub async fn a_core_v1_event_reads_back_from_both_groups(backends: &Backends) {
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "agent.core"},
        "involvedObject": regarding(),
        "reason": "SuccessfulCreate",
        "message": "Created pod: agent-x7k2p",
        "type": "Normal",
        "source": {"component": "daemonset-controller"},
        "firstTimestamp": "2026-12-05T10:00:00Z",
        "lastTimestamp": "2026-12-05T10:00:00Z",
        "count": 1
    });
    backends
        .compare("a core/v1 Event, created and read through both groups", async |api| {
            let created = api.post(&core("default"), &event).await;
            let as_core = api.get(&format!("{}/agent.core", core("default"))).await;
            let as_events = api.get(&format!("{}/agent.core", events_k8s_io("default"))).await;
            json!({"created": created.whole(), "core": as_core.whole(), "events.k8s.io": as_events.whole()})
        })
        .await;
}

pub async fn an_events_k8s_io_event_reads_back_from_both_groups(backends: &Backends) {
    let event = json!({
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "agent.events"},
        "regarding": regarding(),
        "reason": "SuccessfulCreate",
        "note": "Created pod: agent-x7k2p",
        "type": "Normal",
        "action": "SuccessfulCreate",
        "reportingController": "daemonroll",
        "reportingInstance": "daemonroll-0",
        "eventTime": "2026-12-05T10:00:00.000000Z"
    });
    backends
        .compare(
            "an events.k8s.io/v1 Event, created and read through both groups",
            async |api| {
                let created = api.post(&events_k8s_io("default"), &event).await;
                let as_events = api.get(&format!("{}/agent.events", events_k8s_io("default"))).await;
                let as_core = api.get(&format!("{}/agent.events", core("default"))).await;
                json!({"created": created.whole(), "events.k8s.io": as_events.whole(), "core": as_core.whole()})
            },
        )
        .await;
}
