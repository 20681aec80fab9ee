//! Which Event writes to make, and when, for the events a controller records (no I/O: time is an
//! argument, so every decision is deterministic).
//!
//! Upstream: client-go tools/record/events_cache.go EventCorrelator (aggregator, logger, spam
//! filter), with one difference: what the rate limit holds back is kept and written later, never
//! dropped. The module doc of `events` gives the reasons for each number.
//!
//! Invariants: every observed event is counted in exactly one series, and every series' count
//! reaches a write: at the next due flush, at the end of its window, when its record is evicted, or
//! in `flush_all`. Individual events (the first `INDIVIDUAL_LIMIT` messages of a key in a window)
//! are written at once, never held back. Nothing here reads a clock.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;

use super::DaemonSetEvent;
use crate::snapshot::Timestamp;

/// Similar events within this long of the previous one share a window (client-go's
/// defaultAggregateIntervalInSeconds).
pub const SIMILAR_WINDOW: Duration = Duration::from_secs(600);
/// Distinct messages of one key written as Events of their own in a window; later ones are
/// combined (client-go's defaultAggregateMaxEvents).
pub const INDIVIDUAL_LIMIT: usize = 10;
/// The shortest time between two flushes of one key's pending counts.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(10);
/// Writes about one object that may follow each other at once (client-go's defaultSpamBurst).
pub const BURST: u32 = 25;
/// One more write about an object per this long, up to `BURST`.
pub const REFILL_EVERY: Duration = Duration::from_secs(60);
/// Similar-event records kept at most (client-go's maxLruCacheEntries); the least recently seen
/// record is written out and forgotten to make room.
pub const MAX_RECORDS: usize = 4096;
/// Pods a combined Event's message names.
const LATEST_EXAMPLES: usize = 3;
/// The longest message written (events.k8s.io's NoteLengthLimit).
const MESSAGE_LIMIT: usize = 1024;

/// The object an Event is about, as a key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ObjectId {
    kind: String,
    namespace: String,
    name: String,
    uid: String,
}

impl ObjectId {
    fn of(reference: &ObjectReference) -> Self {
        let field = |value: &Option<String>| value.clone().unwrap_or_default();
        ObjectId {
            kind: field(&reference.kind),
            namespace: field(&reference.namespace),
            name: field(&reference.name),
            uid: field(&reference.uid),
        }
    }
}

/// Similar events: same object, type and reason (client-go's EventAggregatorByReasonFunc; the
/// source is always daemonroll).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SimilarKey {
    regarding: ObjectId,
    warning: bool,
    reason: String,
}

/// One Event write: a series' first write creates its Event, later ones update its count.
#[derive(Clone, Debug, PartialEq)]
pub struct Publish {
    /// The series, unique in this correlator: the Event's name is derived from it.
    pub series: u64,
    /// Whether this is the series' first write.
    pub first: bool,
    pub warning: bool,
    pub reason: String,
    pub message: String,
    pub regarding: ObjectReference,
    pub related: Option<ObjectReference>,
    /// The events the Event stands for, earlier writes included (its `count`).
    pub count: u32,
    /// Of `count`, the events no earlier write carried.
    pub new: u32,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

/// What one call decided.
#[derive(Debug, Default, PartialEq)]
pub struct Decisions {
    /// Writes to make now, in order.
    pub publish: Vec<Publish>,
    /// Events counted into an existing series instead of an Event of their own.
    pub combined: u64,
}

/// One Event on the server and the events it stands for.
#[derive(Debug)]
struct Series {
    id: u64,
    /// Combined from different messages (the count and latest pods in the message), or one
    /// message repeated (the message as it came).
    combined: bool,
    /// The message, or for a combined series the latest one.
    message: String,
    related: Option<ObjectReference>,
    /// For a combined series: the latest related pods, newest last.
    latest: VecDeque<String>,
    count: u32,
    /// The count the last write carried; 0 before the first.
    written: u32,
    first_seen: Timestamp,
    last_seen: Timestamp,
}

impl Series {
    fn pending(&self) -> bool {
        self.count > self.written
    }

    fn publish(&mut self, key: &SimilarKey, regarding: &ObjectReference) -> Publish {
        let publish = Publish {
            series: self.id,
            first: self.written == 0,
            warning: key.warning,
            reason: key.reason.clone(),
            message: if self.combined {
                combined_message(&key.reason, self.count, &self.latest, &self.message)
            } else {
                self.message.clone()
            },
            regarding: regarding.clone(),
            related: self.related.clone(),
            count: self.count,
            new: self.count - self.written,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
        };
        self.written = self.count;
        publish
    }
}

/// Where `Similar::count` put an event.
enum Counted {
    /// A new series of its own, the last of `individual`: to be written at once.
    Individual,
    /// A repeat's or the combined series' count.
    IntoExisting,
}

/// The similar events of one key in the current window.
#[derive(Debug)]
struct Similar {
    regarding: ObjectReference,
    last_seen: Timestamp,
    last_write: Option<Timestamp>,
    /// One series per distinct message, at most `INDIVIDUAL_LIMIT`.
    individual: Vec<Series>,
    /// The messages after the first `INDIVIDUAL_LIMIT`.
    combined: Option<Series>,
}

impl Similar {
    /// Upstream: events_cache.go EventAggregate (a record older than the interval starts afresh).
    fn expired(&self, now: Timestamp) -> bool {
        elapsed(self.last_seen, now) > SIMILAR_WINDOW
    }

    fn due(&self, now: Timestamp) -> bool {
        self.last_write
            .is_none_or(|written| elapsed(written, now) >= FLUSH_INTERVAL)
    }

    fn series_mut(&mut self) -> impl Iterator<Item = &mut Series> {
        self.individual.iter_mut().chain(self.combined.iter_mut())
    }

    fn pending(&self) -> bool {
        self.individual.iter().chain(self.combined.iter()).any(Series::pending)
    }

    /// Counts `event` into this window: a repeat's series, a new series, or the combined one.
    fn count(&mut self, event: DaemonSetEvent, now: Timestamp, next_series: &mut u64) -> Counted {
        self.last_seen = now;
        let mut new_series = |combined: bool, message: String, related: Option<ObjectReference>| {
            *next_series += 1;
            Series {
                id: *next_series,
                combined,
                message,
                related,
                latest: VecDeque::new(),
                count: 1,
                written: 0,
                first_seen: now,
                last_seen: now,
            }
        };
        // Upstream: events_cache.go eventObserve (an identical event raises the count).
        if let Some(repeated) = self
            .individual
            .iter_mut()
            .find(|series| series.message == event.message)
        {
            repeated.count = repeated.count.saturating_add(1);
            repeated.last_seen = now;
            return Counted::IntoExisting;
        }
        if self.individual.len() < INDIVIDUAL_LIMIT {
            self.individual.push(new_series(false, event.message, event.related));
            return Counted::Individual;
        }
        let pod = event.related.and_then(|related| related.name);
        match &mut self.combined {
            Some(combined) => {
                combined.count = combined.count.saturating_add(1);
                combined.last_seen = now;
                combined.message = event.message;
            }
            None => self.combined = Some(new_series(true, event.message, None)),
        }
        if let (Some(combined), Some(pod)) = (&mut self.combined, pod) {
            if combined.latest.len() == LATEST_EXAMPLES {
                combined.latest.pop_front();
            }
            combined.latest.push_back(pod);
        }
        Counted::IntoExisting
    }

    /// Every pending count, without waiting for a token: the record is about to be forgotten.
    fn write_out(mut self, key: &SimilarKey, decisions: &mut Decisions) {
        let regarding = self.regarding.clone();
        for series in self.series_mut().filter(|series| series.pending()) {
            decisions.publish.push(series.publish(key, &regarding));
        }
    }
}

/// Upstream: events_cache.go EventSourceObjectSpamFilter, a token bucket per object (refilled
/// lazily from the time passed in).
#[derive(Clone, Copy, Debug)]
struct TokenBucket {
    tokens: u32,
    refilled_at: Timestamp,
}

impl TokenBucket {
    fn full(now: Timestamp) -> Self {
        TokenBucket {
            tokens: BURST,
            refilled_at: now,
        }
    }

    fn refill(&mut self, now: Timestamp) {
        if self.tokens >= BURST {
            self.refilled_at = now;
            return;
        }
        let periods = elapsed(self.refilled_at, now).as_nanos() / REFILL_EVERY.as_nanos();
        let periods = u32::try_from(periods).unwrap_or(u32::MAX);
        self.tokens = self.tokens.saturating_add(periods).min(BURST);
        if self.tokens == BURST {
            self.refilled_at = now;
        } else {
            // Fewer than BURST periods: no overflow.
            self.refilled_at += chrono::TimeDelta::from_std(REFILL_EVERY * periods).unwrap_or_default();
        }
    }

    fn try_take(&mut self, now: Timestamp) -> bool {
        self.refill(now);
        let taken = self.tokens > 0;
        self.tokens = self.tokens.saturating_sub(1);
        taken
    }

    fn is_full(&mut self, now: Timestamp) -> bool {
        self.refill(now);
        self.tokens >= BURST
    }
}

/// The correlator of one controller process.
#[derive(Debug, Default)]
pub struct Correlator {
    records: BTreeMap<SimilarKey, Similar>,
    /// Objects without a bucket have a full one.
    buckets: BTreeMap<ObjectId, TokenBucket>,
    next_series: u64,
}

impl Correlator {
    /// Counts `event`, seen at `now`: written at once when it is one of the first
    /// `INDIVIDUAL_LIMIT` messages of its key in the window, else added to a pending series.
    pub fn observe(&mut self, event: DaemonSetEvent, now: Timestamp) -> Decisions {
        let mut decisions = Decisions::default();
        let key = SimilarKey {
            regarding: ObjectId::of(&event.regarding),
            warning: event.warning,
            reason: event.reason.clone(),
        };
        if self.records.get(&key).is_some_and(|record| record.expired(now))
            && let Some(expired) = self.records.remove(&key)
        {
            expired.write_out(&key, &mut decisions);
        }
        if !self.records.contains_key(&key) {
            self.make_room(now, &mut decisions);
        }
        let record = self.records.entry(key.clone()).or_insert_with(|| Similar {
            regarding: event.regarding.clone(),
            last_seen: now,
            last_write: None,
            individual: Vec::new(),
            combined: None,
        });
        match record.count(event, now, &mut self.next_series) {
            Counted::Individual => {
                // Written whether or not a token is left; the token only slows the pending counts.
                self.buckets
                    .entry(key.regarding.clone())
                    .or_insert_with(|| TokenBucket::full(now))
                    .try_take(now);
                let regarding = record.regarding.clone();
                if let Some(series) = record.individual.last_mut() {
                    decisions.publish.push(series.publish(&key, &regarding));
                }
                record.last_write = Some(now);
            }
            Counted::IntoExisting => decisions.combined += 1,
        }
        decisions
    }

    /// The pending counts that are due at `now`: a key's at most once per `FLUSH_INTERVAL`, each
    /// write taking a token of its object; a record whose window ended is written out without
    /// one, and forgotten.
    pub fn flush(&mut self, now: Timestamp) -> Decisions {
        let mut decisions = Decisions::default();
        // Longest waiting first, so that scarce tokens go round the keys of an object.
        let mut candidates: Vec<(Option<Timestamp>, SimilarKey)> = self
            .records
            .iter()
            .filter(|(_, record)| record.expired(now) || (record.pending() && record.due(now)))
            .map(|(key, record)| (record.last_write, key.clone()))
            .collect();
        candidates.sort();
        for (_, key) in candidates {
            let Some(record) = self.records.get_mut(&key) else {
                continue;
            };
            if record.expired(now) {
                if let Some(expired) = self.records.remove(&key) {
                    expired.write_out(&key, &mut decisions);
                }
                continue;
            }
            let bucket = self
                .buckets
                .entry(key.regarding.clone())
                .or_insert_with(|| TokenBucket::full(now));
            let regarding = record.regarding.clone();
            let mut wrote = false;
            for series in record.series_mut().filter(|series| series.pending()) {
                if !bucket.try_take(now) {
                    break;
                }
                decisions.publish.push(series.publish(&key, &regarding));
                wrote = true;
            }
            if wrote {
                record.last_write = Some(now);
            }
        }
        self.buckets.retain(|_, bucket| !bucket.is_full(now));
        decisions
    }

    /// Every pending count, now, regardless of the flush interval and the token buckets (for
    /// shutdown: the last chance to write them).
    pub fn flush_all(&mut self, now: Timestamp) -> Decisions {
        let mut decisions = Decisions::default();
        for (key, record) in &mut self.records {
            let regarding = record.regarding.clone();
            let mut wrote = false;
            for series in record.series_mut().filter(|series| series.pending()) {
                decisions.publish.push(series.publish(key, &regarding));
                wrote = true;
            }
            if wrote {
                record.last_write = Some(now);
            }
        }
        decisions
    }

    /// Below `MAX_RECORDS`: forgets records whose window ended, else the least recently seen one;
    /// their pending counts are written out first.
    fn make_room(&mut self, now: Timestamp, decisions: &mut Decisions) {
        if self.records.len() < MAX_RECORDS {
            return;
        }
        let expired: Vec<SimilarKey> = self
            .records
            .iter()
            .filter(|(_, record)| record.expired(now))
            .map(|(key, _)| key.clone())
            .collect();
        let evicted = if expired.is_empty() {
            self.records
                .iter()
                .min_by_key(|(key, record)| (record.last_seen, (*key).clone()))
                .map(|(key, _)| vec![key.clone()])
                .unwrap_or_default()
        } else {
            expired
        };
        for key in evicted {
            if let Some(record) = self.records.remove(&key) {
                record.write_out(&key, decisions);
            }
        }
    }
}

/// The message of a combined Event: upstream's prefix (events_cache.go
/// EventAggregatorByReasonMessageFunc), then how many and which pods, newest first.
pub fn combined_message(reason: &str, count: u32, latest: &VecDeque<String>, last_message: &str) -> String {
    let pods = |count: u32| {
        if count == 1 {
            "1 pod".to_string()
        } else {
            format!("{count} pods")
        }
    };
    let what = match reason {
        "SuccessfulCreate" => format!("Created {}", pods(count)),
        "SuccessfulDelete" => format!("Deleted {}", pods(count)),
        "FailedCreate" => format!("Failed to create {}", pods(count)),
        "FailedDelete" => format!("Failed to delete {}", pods(count)),
        "FailedDaemonPod" => format!("Found {} failed", pods(count)),
        "SucceededDaemonPod" => format!("Found {} succeeded", pods(count)),
        _ => format!("{count} similar events"),
    };
    let latest = if latest.is_empty() {
        last_message.to_string()
    } else {
        latest.iter().rev().cloned().collect::<Vec<_>>().join(", ")
    };
    truncate(format!("(combined from similar events): {what}, latest: {latest}"))
}

fn truncate(mut message: String) -> String {
    if message.len() > MESSAGE_LIMIT {
        let mut end = MESSAGE_LIMIT;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message
}

/// Time from `since` to `now`; zero when the wall clock went back.
fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    (now - since).to_std().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests;
