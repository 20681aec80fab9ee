//! Watch streams: newline-delimited `{"type","object"}` events over chunked HTTP (I/O: tokio tasks).
//!
//! As kube-apiserver's watch cache does, an object that starts matching the selectors is sent as
//! ADDED and one that stops matching as DELETED; BOOKMARKs are sent when asked for; the stream
//! ends at `timeoutSeconds`, when the client goes away, or when it falls too far behind (the client
//! then resumes from its last resourceVersion, or relists after a 410).

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;

use super::resources::Resource;
use super::selectors::{FieldQuery, LabelQuery};
use super::store::{Event, EventType, Store, WatchStart};
use super::stored::StoredObject;
use super::table;
use super::views;

/// What one watch request asks for.
pub struct WatchRequest {
    pub resource: &'static Resource,
    pub namespace: Option<String>,
    pub labels: LabelQuery,
    pub fields: FieldQuery,
    pub timeout: Option<Duration>,
    pub bookmarks: bool,
    /// Each event's object is a one-row Table (kubectl get -w).
    pub table: bool,
}

impl WatchRequest {
    /// `stored` as this watch sends it, parsed only when the selectors, a Table or a view need
    /// the tree; otherwise the stored text is sent as it is.
    fn prepare<'s>(&self, stored: &'s StoredObject) -> Prepared<'s> {
        let parse =
            self.table || !self.labels.is_empty() || !self.fields.is_empty() || !views::is_own_storage(self.resource);
        Prepared {
            stored,
            object: parse.then(|| views::to_view(self.resource, stored.value())),
        }
    }

    fn matches(&self, prepared: &Prepared<'_>) -> bool {
        let in_namespace = self
            .namespace
            .as_deref()
            .is_none_or(|ns| prepared.stored.namespace() == ns);
        in_namespace
            && prepared.object.as_ref().is_none_or(|object| {
                self.labels.matches(object.pointer("/metadata/labels")) && self.fields.matches(object)
            })
    }

    /// One line of the stream: `{"type":…,"object":…}` and a newline.
    fn encode(&self, event_type: &str, prepared: &Prepared<'_>, resource_version: u64) -> Bytes {
        let stored = prepared.stored.json();
        let mut line = String::with_capacity(stored.len() + 40);
        line.push_str("{\"type\":\"");
        line.push_str(event_type);
        line.push_str("\",\"object\":");
        match &prepared.object {
            Some(object) if self.table => line.push_str(
                &table::table(self.resource, &[object], resource_version, false, chrono::Utc::now()).to_string(),
            ),
            Some(view) if !views::is_own_storage(self.resource) => line.push_str(&view.to_string()),
            _ => line.push_str(stored),
        }
        line.push_str("}\n");
        Bytes::from(line)
    }
}

/// A stored object on its way to one watch: the tree only if the watch needs it.
struct Prepared<'s> {
    stored: &'s StoredObject,
    object: Option<Value>,
}

/// The body stream of a watch response.
pub fn stream(
    store: Arc<Store>,
    request: WatchRequest,
    start: WatchStart,
) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let (sender, receiver) = mpsc::channel::<Bytes>(1024);
    tokio::spawn(run(store, request, start, sender));
    tokio_stream::StreamExt::map(ReceiverStream::new(receiver), Ok)
}

async fn run(store: Arc<Store>, request: WatchRequest, start: WatchStart, sender: mpsc::Sender<Bytes>) {
    let WatchStart {
        initial,
        backlog,
        receiver: mut events,
        resource_version,
    } = start;
    let mut matched: HashSet<String> = HashSet::new();
    if initial.is_empty() {
        // Resuming: objects that match now are taken as known, so changes to them arrive as MODIFIED.
        let (current, _) = store.list_stored(request.resource, request.namespace.as_deref());
        matched.extend(
            current
                .iter()
                .filter(|stored| request.matches(&request.prepare(stored)))
                .map(|stored| stored.uid().to_string()),
        );
    }
    for stored in &initial {
        let object = request.prepare(stored);
        if !request.matches(&object) {
            continue;
        }
        matched.insert(stored.uid().to_string());
        if sender
            .send(request.encode("ADDED", &object, resource_version))
            .await
            .is_err()
        {
            return;
        }
    }
    for event in backlog {
        if !forward(&request, &event, &mut matched, &sender).await {
            return;
        }
    }
    let deadline = request.timeout.map(|timeout| tokio::time::Instant::now() + timeout);
    let mut bookmark = tokio::time::interval(Duration::from_secs(2));
    bookmark.tick().await;
    loop {
        let timed_out = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            received = events.recv() => match received {
                Ok(event) => {
                    if std::ptr::eq(event.resource, views::storage(request.resource)) && !forward(&request, &event, &mut matched, &sender).await {
                        return;
                    }
                }
                // Too far behind or shutting down: end the stream; clients resume or relist.
                Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return,
            },
            _ = bookmark.tick(), if request.bookmarks => {
                let version = store.resource_version().to_string();
                let object = json!({"kind": request.resource.kind, "apiVersion": request.resource.api_version(),
                                    "metadata": {"resourceVersion": version}});
                let mut line = json!({"type": "BOOKMARK", "object": object}).to_string();
                line.push('\n');
                if sender.send(Bytes::from(line)).await.is_err() {
                    return;
                }
            }
            _ = timed_out => return,
            _ = sender.closed() => return,
        }
    }
}

/// Sends one event as the client should see it through its selectors; false when the client is gone.
async fn forward(
    request: &WatchRequest,
    event: &Event,
    matched: &mut HashSet<String>,
    sender: &mpsc::Sender<Bytes>,
) -> bool {
    let object = request.prepare(&event.object);
    let object_uid = event.object.uid();
    let was = matched.contains(object_uid);
    let event_type = if event.event_type == EventType::Deleted {
        if !was && !request.matches(&object) {
            return true;
        }
        matched.remove(object_uid);
        "DELETED"
    } else {
        match (was, request.matches(&object)) {
            (false, true) => {
                matched.insert(object_uid.to_string());
                "ADDED"
            }
            (true, true) => "MODIFIED",
            (true, false) => {
                matched.remove(object_uid);
                "DELETED"
            }
            (false, false) => return true,
        }
    };
    sender
        .send(request.encode(event_type, &object, event.resource_version))
        .await
        .is_ok()
}
