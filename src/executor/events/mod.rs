//! Events on DaemonSets: correlated, then written in the background as core/v1 Events (I/O).
//!
//! A rollout records an event per pod created or deleted; written one by one that is an API write
//! per pod (10,000 for a 5,000-node image change). `correlator.rs` brings that to the order of
//! client-go's EventCorrelator (tools/record/events_cache.go), which kube-controller-manager's
//! DaemonSet controller uses:
//! - Similar events (same object, type and reason) are counted per 10-minute window. The first 10
//!   distinct messages of a window are written at once as Events of their own, so rare events
//!   (rollout transitions, annotation problems, coexist warnings, the first pods of a rollout)
//!   appear as they happen. An identical message raises its Event's count instead.
//! - Later messages are combined into one Event per key, "(combined from similar events): Created
//!   240 pods, latest: …", whose count and message are updated at most once per 10 s. Ten seconds
//!   keeps a rolling DaemonSet's two busy keys (creates, deletes) at 12 writes a minute at most,
//!   while `kubectl describe ds` is never more than a few refreshes behind.
//! - A token bucket per object (burst 25, as upstream) limits the writes. Upstream refills one
//!   token per 5 minutes and drops what finds the bucket empty; daemonroll refills one a minute
//!   and keeps what it holds back in the pending count, written when a token comes (or without one
//!   when the window ends, the record is evicted, or the controller stops). One a minute bounds a
//!   DaemonSet rolling for an hour to about 25 + 60 writes, and the count on the server is at most
//!   a minute or two behind. Individual events take a token when one is left but never wait.
//! - Only the number of keys is capped (4096 records, as upstream's LRU): to make room the least
//!   recently seen record is written out and forgotten. Counts are lost only when a write fails,
//!   the queue overflows, or this process stops leading (`daemonroll_events_dropped_total`).
//!
//! Events are written through core/v1, as client-go's recorder does, not events.k8s.io/v1 (and
//! not kube-runtime's Recorder): events.k8s.io/v1 makes `note` immutable after the create, and a
//! combined Event's message must follow its count. Both API groups serve the same objects.
//!
//! Invariant: recording never blocks or fails a sync. Events queue in a bounded channel; only the
//! leader records and writes them (the write gate).

mod correlator;
mod metrics;
mod writer;

use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::core::v1::ObjectReference;
use tokio::sync::{mpsc, oneshot};

use crate::kube::{ApiClient, WriteGate};
use crate::snapshot::{ObjectKey, Timestamp};
use correlator::{Correlator, Decisions};
pub use metrics::EventMetrics;
use writer::EventWriter;

const QUEUE_DEPTH: usize = 4096;
/// How often the publishing task looks for pending counts that are due.
const FLUSH_TICK: Duration = Duration::from_secs(1);
/// The longest a shutdown waits for the pending counts to be written.
pub const SHUTDOWN_FLUSH_LIMIT: Duration = Duration::from_secs(5);

/// One Event about a DaemonSet, with an upstream reason.
#[derive(Clone, Debug)]
pub struct DaemonSetEvent {
    pub warning: bool,
    pub reason: String,
    pub message: String,
    pub regarding: ObjectReference,
    /// A second object the event is about (the pod), kept on Events written on their own.
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

enum Message {
    Event(Box<DaemonSetEvent>, Timestamp),
    /// Write every pending count now, then answer.
    Flush(oneshot::Sender<()>),
}

/// The sending side; cheap to clone.
#[derive(Clone)]
pub struct EventSink {
    sender: mpsc::Sender<Message>,
    /// Events are writes: only the leader sends them.
    gate: WriteGate,
    metrics: EventMetrics,
}

impl EventSink {
    /// Starts the publishing task, writing through `api` (which should carry the write gate).
    /// `instance` distinguishes replicas (the pod name in a cluster).
    pub fn start(api: ApiClient, instance: Option<String>, gate: WriteGate, metrics: EventMetrics) -> Self {
        let (sender, receiver) = mpsc::channel::<Message>(QUEUE_DEPTH);
        let publisher = Publisher {
            writer: EventWriter::new(api, instance),
            gate: gate.clone(),
            metrics: metrics.clone(),
        };
        tokio::spawn(publisher.run(receiver));
        EventSink { sender, gate, metrics }
    }

    pub fn send(&self, event: DaemonSetEvent) {
        if !self.gate.is_open() {
            self.metrics.dropped(metrics::NOT_LEADER, 1);
            return;
        }
        if let Err(error) = self.sender.try_send(Message::Event(Box::new(event), Utc::now())) {
            tracing::warn!(%error, "event queue full: dropping an event");
            self.metrics.dropped(metrics::QUEUE_FULL, 1);
        }
    }

    /// Writes every pending count now, regardless of the flush interval and the token buckets;
    /// returns once they are written, or after `limit` (best effort, for shutdown).
    pub async fn flush_pending(&self, limit: Duration) {
        let (ack, acked) = oneshot::channel();
        let flushed = async {
            if self.sender.send(Message::Flush(ack)).await.is_ok() {
                let _ = acked.await;
            }
        };
        if tokio::time::timeout(limit, flushed).await.is_err() {
            tracing::warn!("pending events not all written before shutdown");
        }
    }
}

/// The publishing task: the correlator, and the writes it decides.
struct Publisher {
    writer: EventWriter,
    gate: WriteGate,
    metrics: EventMetrics,
}

impl Publisher {
    async fn run(self, mut receiver: mpsc::Receiver<Message>) {
        let mut correlator = Correlator::default();
        let mut ticks = tokio::time::interval(FLUSH_TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = receiver.recv() => match message {
                    Some(Message::Event(event, at)) => self.write(correlator.observe(*event, at)).await,
                    Some(Message::Flush(ack)) => {
                        self.write(correlator.flush_all(Utc::now())).await;
                        let _ = ack.send(());
                    }
                    None => break,
                },
                _ = ticks.tick() => self.write(correlator.flush(Utc::now())).await,
            }
        }
        // Every sink is gone (the controller was dropped): what is pending is written if it can be.
        self.write(correlator.flush_all(Utc::now())).await;
    }

    async fn write(&self, decisions: Decisions) {
        self.metrics.combined.inc_by(decisions.combined);
        for publish in decisions.publish {
            let new = u64::from(publish.new);
            if !self.gate.is_open() {
                self.metrics.dropped(metrics::NOT_LEADER, new);
                continue;
            }
            match self.writer.write(&publish).await {
                Ok(()) => self.metrics.published(publish.warning),
                Err(error) => {
                    tracing::debug!(reason = %publish.reason, count = publish.count, %error, "cannot write event");
                    self.metrics.dropped(metrics::WRITE_FAILED, new);
                }
            }
        }
    }
}
