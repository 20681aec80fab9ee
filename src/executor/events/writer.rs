//! Writes the correlator's decisions as core/v1 Events: a create for a series' first write, a
//! merge patch of count, last time and message for the later ones (I/O).
//!
//! Upstream: client-go tools/record/event.go recordEvent (create, or patch when the event was
//! seen before). Event names are `<object>.<hex of this process's start, ns>.<series>`: unique per
//! process and series, so no name needs remembering between writes.

use serde_json::{Value, json};

use super::correlator::Publish;
use crate::kube::paths::{event_path, events_path};
use crate::kube::{ApiClient, ApiError, PatchKind};
use crate::snapshot::Timestamp;

/// The component Events name as their source (`From` in `kubectl describe`).
const COMPONENT: &str = "daemonroll";

pub(super) struct EventWriter {
    api: ApiClient,
    instance: String,
    /// Tells this process's Event names from an earlier or concurrent one's.
    process: String,
}

impl EventWriter {
    pub(super) fn new(api: ApiClient, instance: Option<String>) -> Self {
        let started = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        EventWriter {
            api,
            instance: instance.unwrap_or_else(|| COMPONENT.into()),
            process: format!("{started:x}"),
        }
    }

    pub(super) async fn write(&self, publish: &Publish) -> Result<(), ApiError> {
        let namespace = publish.regarding.namespace.as_deref().unwrap_or("default");
        let object = publish.regarding.name.as_deref().unwrap_or(COMPONENT);
        let name = format!("{object}.{}.{:x}", self.process, publish.series);
        let path = event_path(namespace, &name);
        if publish.first {
            match self
                .api
                .create(&events_path(namespace), &self.event(publish, namespace, &name))
                .await
            {
                Ok(_) => Ok(()),
                // An earlier create of this series timed out yet landed.
                Err(error) if error.is_already_exists() => self.update(&path, publish).await,
                Err(error) => Err(error),
            }
        } else {
            match self.update(&path, publish).await {
                Ok(()) => Ok(()),
                // Its create failed, or the API server expired it (Events live an hour by default).
                Err(error) if error.is_not_found() => self
                    .api
                    .create(&events_path(namespace), &self.event(publish, namespace, &name))
                    .await
                    .map(drop),
                Err(error) => Err(error),
            }
        }
    }

    async fn update(&self, path: &str, publish: &Publish) -> Result<(), ApiError> {
        let patch = json!({
            "count": publish.count,
            "lastTimestamp": time(publish.last_seen),
            "message": publish.message,
        });
        self.api.patch(path, PatchKind::Merge, &patch).await.map(drop)
    }

    /// Upstream: client-go tools/record/event.go makeEvent (and generateEvent's source fields).
    fn event(&self, publish: &Publish, namespace: &str, name: &str) -> Value {
        let mut event = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": reference(&publish.regarding),
            "reason": publish.reason,
            "message": publish.message,
            "type": if publish.warning { "Warning" } else { "Normal" },
            "count": publish.count,
            "firstTimestamp": time(publish.first_seen),
            "lastTimestamp": time(publish.last_seen),
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": self.instance,
        });
        if let Some(related) = &publish.related {
            event["related"] = reference(related);
        }
        event
    }
}

fn reference(reference: &k8s_openapi::api::core::v1::ObjectReference) -> Value {
    serde_json::to_value(reference).unwrap_or(Value::Null)
}

/// metav1.Time: RFC 3339 in whole seconds.
fn time(at: Timestamp) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
