//! The DaemonSets to reconcile, as the stream kube-runtime's Controller reads: immediate triggers
//! from the watch handlers, and delayed ones held in a timer queue (I/O: timers).
//!
//! Invariants: before the Controller starts (stores not synced, or a follower), triggers are
//! dropped rather than buffered without bound, and the start enqueues every cached DaemonSet once;
//! the Controller's scheduler merges repeated triggers of one DaemonSet and never runs two
//! reconciles of it at once, so a trigger here may be redundant but is never lost.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::Stream;
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::reflector::ObjectRef;
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio_util::time::DelayQueue;

use crate::snapshot::ObjectKey;
use crate::store::Triggered;

/// A DaemonSet to reconcile, now or after a delay.
type Trigger = (ObjectKey, Duration);

pub struct Triggers {
    sender: mpsc::UnboundedSender<Trigger>,
    /// Taken by the one Controller run.
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Trigger>>>,
    open: AtomicBool,
}

impl Default for Triggers {
    fn default() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        Triggers {
            sender,
            receiver: Mutex::new(Some(receiver)),
            open: AtomicBool::new(false),
        }
    }
}

impl Triggers {
    pub fn send(&self, triggered: Triggered) {
        if !self.open.load(Ordering::SeqCst) {
            return;
        }
        let now = triggered.now.into_iter().map(|key| (key, Duration::ZERO));
        for trigger in now.chain(triggered.later) {
            // Fails only once the Controller has stopped, when nothing is reconciled any more.
            let _ = self.sender.send(trigger);
        }
    }

    /// Opens the triggers and returns them as references to DaemonSets of `resource`; None when
    /// taken before. Call once, before enqueueing every cached DaemonSet.
    pub fn open(&self, resource: ApiResource) -> Option<impl Stream<Item = ObjectRef<DynamicObject>> + use<>> {
        let receiver = self.receiver.lock().take()?;
        self.open.store(true, Ordering::SeqCst);
        Some(futures::stream::unfold(
            (receiver, DelayQueue::new()),
            move |(mut receiver, mut delayed)| {
                let resource = resource.clone();
                async move {
                    let key = next_due(&mut receiver, &mut delayed).await?;
                    let reference = ObjectRef::new_with(&key.name, resource).within(&key.namespace);
                    Some((reference, (receiver, delayed)))
                }
            },
        ))
    }
}

/// The next DaemonSet due: an immediate trigger, or a delayed one whose time has come. None once
/// the sending side is gone.
async fn next_due(
    receiver: &mut mpsc::UnboundedReceiver<Trigger>,
    delayed: &mut DelayQueue<ObjectKey>,
) -> Option<ObjectKey> {
    loop {
        tokio::select! {
            // An empty queue answers None: the branch sleeps until the next loop.
            Some(expired) = poll_fn(|cx| delayed.poll_expired(cx)) => return Some(expired.into_inner()),
            trigger = receiver.recv() => match trigger? {
                (key, delay) if delay.is_zero() => return Some(key),
                (key, delay) => {
                    delayed.insert(key, delay);
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    fn resource() -> ApiResource {
        ApiResource::erase::<k8s_openapi::api::apps::v1::DaemonSet>(&())
    }

    fn triggered(now: &[&str], later: &[(&str, u64)]) -> Triggered {
        Triggered {
            now: now.iter().map(|name| ObjectKey::new("ns", *name)).collect(),
            later: later
                .iter()
                .map(|(name, seconds)| (ObjectKey::new("ns", *name), Duration::from_secs(*seconds)))
                .collect(),
        }
    }

    #[tokio::test]
    async fn triggers_before_the_start_are_dropped() {
        let triggers = Triggers::default();
        triggers.send(triggered(&["early"], &[]));
        let stream = triggers.open(resource());
        let Some(stream) = stream else {
            panic!("the first open returns the stream")
        };
        triggers.send(triggered(&["late"], &[]));
        let mut stream = std::pin::pin!(stream);
        let first = stream.next().await.map(|reference| reference.name);
        assert_eq!(first.as_deref(), Some("late"));
        assert!(
            triggers.open(resource()).is_none(),
            "one Controller run takes the triggers"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_delayed_trigger_comes_after_its_delay() {
        let triggers = Triggers::default();
        let Some(stream) = triggers.open(resource()) else {
            panic!("the first open returns the stream")
        };
        let mut stream = std::pin::pin!(stream);
        let start = tokio::time::Instant::now();
        triggers.send(triggered(&[], &[("ready", 6)]));
        triggers.send(triggered(&["now"], &[]));
        let first = stream.next().await.map(|reference| reference.name);
        assert_eq!(first.as_deref(), Some("now"));
        let second = stream.next().await;
        assert_eq!(
            second.map(|reference| (reference.name, reference.namespace)),
            Some(("ready".to_string(), Some("ns".to_string())))
        );
        assert!(
            start.elapsed() >= Duration::from_secs(6),
            "not before its delay: {:?}",
            start.elapsed()
        );
    }
}
