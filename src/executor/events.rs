//! Events on DaemonSets, published in the background through kube-runtime's recorder (I/O).
//!
//! Invariant: publishing never blocks or fails a sync. Events queue in a bounded channel; when it
//! is full the event is dropped with a log line (the API server is already struggling then).

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use tokio::sync::mpsc;

use crate::kube::WriteGate;
use crate::snapshot::ObjectKey;

const QUEUE_DEPTH: usize = 4096;

/// One Event about a DaemonSet, with an upstream reason.
#[derive(Clone, Debug)]
pub struct DaemonSetEvent {
    pub warning: bool,
    pub reason: String,
    pub message: String,
    pub regarding: ObjectReference,
    /// A second object the event is about (a pod), so each pod's event is its own series.
    pub related: Option<ObjectReference>,
}

/// The DaemonSet an Event is about; `uid` when known (an unreadable object may have none).
pub fn daemon_set_reference(key: &ObjectKey, uid: Option<&str>) -> ObjectReference {
    ObjectReference {
        api_version: Some("apps/v1".into()),
        kind: Some("DaemonSet".into()),
        namespace: Some(key.namespace.clone()),
        name: Some(key.name.clone()),
        uid: uid.map(str::to_string),
        ..ObjectReference::default()
    }
}

pub fn pod_reference(namespace: &str, name: &str) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        ..ObjectReference::default()
    }
}

/// The sending side; cheap to clone.
#[derive(Clone)]
pub struct EventSink {
    sender: mpsc::Sender<DaemonSetEvent>,
    /// Events are writes: only the leader sends them.
    gate: WriteGate,
}

impl EventSink {
    /// Starts the publishing task. `instance` distinguishes replicas (the pod name in a cluster).
    pub fn start(client: kube::Client, instance: Option<String>, gate: WriteGate) -> Self {
        let (sender, mut receiver) = mpsc::channel::<DaemonSetEvent>(QUEUE_DEPTH);
        let recorder = Recorder::new(
            client,
            Reporter {
                controller: "daemonroll".into(),
                instance,
            },
        );
        tokio::spawn(async move {
            while let Some(event) = receiver.recv().await {
                let published = Event {
                    type_: if event.warning {
                        EventType::Warning
                    } else {
                        EventType::Normal
                    },
                    reason: event.reason.clone(),
                    note: Some(event.message.clone()),
                    action: event.reason.clone(),
                    secondary: event.related.clone(),
                };
                if let Err(error) = recorder.publish(&published, &event.regarding).await {
                    tracing::debug!(reason = %event.reason, %error, "cannot publish event");
                }
            }
        });
        EventSink { sender, gate }
    }

    pub fn send(&self, event: DaemonSetEvent) {
        if !self.gate.is_open() {
            return;
        }
        if let Err(error) = self.sender.try_send(event) {
            tracing::warn!(%error, "event queue full: dropping an event");
        }
    }
}
