//! The work queue of DaemonSet keys (`namespace/name`).
//!
//! Upstream: client-go workqueue (rate-limited, delaying). Invariants: a key is queued at most once;
//! a key is never synced by two workers at once (a key added while it is being synced is queued again
//! when that sync is done); delayed adds keep the earliest deadline; failures back off exponentially
//! per key (5 ms doubling to 1000 s, upstream's DefaultControllerRateLimiter item limiter).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

const BASE_DELAY: Duration = Duration::from_millis(5);
const MAX_DELAY: Duration = Duration::from_secs(1000);

#[derive(Default)]
struct State {
    queue: VecDeque<String>,
    queued: HashSet<String>,
    processing: HashSet<String>,
    /// Added while processing: queued again by `done`.
    dirty: HashSet<String>,
    /// Key → earliest pending delayed add.
    waiting: HashMap<String, Instant>,
    failures: HashMap<String, u32>,
    shut_down: bool,
}

#[derive(Default)]
pub struct WorkQueue {
    state: Mutex<State>,
    ready: Notify,
}

impl WorkQueue {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut state)
    }

    pub fn add(&self, key: &str) {
        let wake = self.with(|state| {
            if state.shut_down {
                return false;
            }
            if state.processing.contains(key) {
                state.dirty.insert(key.to_string());
                return false;
            }
            if state.queued.insert(key.to_string()) {
                state.queue.push_back(key.to_string());
                return true;
            }
            false
        });
        if wake {
            self.ready.notify_one();
        }
    }

    /// Adds `key` after `delay`, unless an add at the same time or earlier is already pending.
    pub fn add_after(self: &Arc<Self>, key: &str, delay: Duration) {
        if delay.is_zero() {
            self.add(key);
            return;
        }
        let deadline = Instant::now() + delay;
        let schedule = self.with(|state| {
            if state.shut_down {
                return false;
            }
            match state.waiting.get(key) {
                Some(pending) if *pending <= deadline => false,
                _ => {
                    state.waiting.insert(key.to_string(), deadline);
                    true
                }
            }
        });
        if schedule {
            let queue = Arc::clone(self);
            let key = key.to_string();
            tokio::spawn(async move {
                tokio::time::sleep_until(deadline).await;
                let due = queue.with(|state| {
                    if state.waiting.get(&key) == Some(&deadline) {
                        state.waiting.remove(&key);
                        true
                    } else {
                        false
                    }
                });
                if due {
                    queue.add(&key);
                }
            });
        }
    }

    /// Requeues a key whose sync failed, with its per-key exponential delay.
    pub fn add_rate_limited(self: &Arc<Self>, key: &str) -> Duration {
        let delay = self.with(|state| {
            let failures = state.failures.entry(key.to_string()).or_default();
            let delay = BASE_DELAY
                .checked_mul(1u32.checked_shl(*failures).unwrap_or(u32::MAX))
                .unwrap_or(MAX_DELAY)
                .min(MAX_DELAY);
            *failures = failures.saturating_add(1);
            delay
        });
        self.add_after(key, delay);
        delay
    }

    /// Clears the key's failure count (its sync succeeded).
    pub fn forget(&self, key: &str) {
        self.with(|state| state.failures.remove(key));
    }

    /// The next key to sync; None once the queue is shut down.
    pub async fn next(&self) -> Option<String> {
        loop {
            let notified = self.ready.notified();
            let next = self.with(|state| {
                if state.shut_down {
                    return Err(());
                }
                let key = state.queue.pop_front();
                if let Some(key) = &key {
                    state.queued.remove(key);
                    state.processing.insert(key.clone());
                }
                Ok(key)
            });
            match next {
                Err(()) => return None,
                Ok(Some(key)) => {
                    // Another key may be waiting for another worker.
                    if !self.is_empty() {
                        self.ready.notify_one();
                    }
                    return Some(key);
                }
                Ok(None) => notified.await,
            }
        }
    }

    /// Marks the key's sync finished; requeues it if it was added meanwhile.
    pub fn done(&self, key: &str) {
        let again = self.with(|state| {
            state.processing.remove(key);
            state.dirty.remove(key)
        });
        if again {
            self.add(key);
        }
    }

    pub fn len(&self) -> usize {
        self.with(|state| state.queue.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops handing out keys; workers return from `next` with None.
    pub fn shut_down(&self) {
        self.with(|state| state.shut_down = true);
        self.ready.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_is_queued_once_and_never_handed_to_two_workers() {
        let queue = Arc::new(WorkQueue::default());
        queue.add("ns/a");
        queue.add("ns/a");
        queue.add("ns/b");
        assert_eq!(queue.len(), 2);
        let first = queue.next().await;
        assert_eq!(first.as_deref(), Some("ns/a"));
        queue.add("ns/a");
        assert_eq!(queue.len(), 1, "ns/a is being synced: marked dirty, not queued");
        assert_eq!(queue.next().await.as_deref(), Some("ns/b"));
        queue.done("ns/a");
        assert_eq!(queue.next().await.as_deref(), Some("ns/a"), "requeued by done");
        queue.shut_down();
        assert_eq!(queue.next().await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_adds_keep_the_earliest_deadline_and_failures_back_off() {
        let queue = Arc::new(WorkQueue::default());
        queue.add_after("ns/a", Duration::from_secs(10));
        queue.add_after("ns/a", Duration::from_secs(2));
        queue.add_after("ns/a", Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(queue.len(), 1, "due after 2 s");
        assert_eq!(queue.next().await.as_deref(), Some("ns/a"));
        queue.done("ns/a");
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(queue.len(), 0, "the later deadlines were superseded");

        let delays: Vec<Duration> = (0..4).map(|_| queue.add_rate_limited("ns/b")).collect();
        assert_eq!(
            delays,
            [5, 10, 20, 40].map(Duration::from_millis).to_vec(),
            "5 ms doubling"
        );
        queue.forget("ns/b");
        assert_eq!(queue.add_rate_limited("ns/b"), Duration::from_millis(5));
    }
}
