//! The controller's path from what the API server sends to a plan, without the network: watch
//! events as JSON (`{"type": "ADDED", "object": {...}}`, one after another, as a watch streams them)
//! applied to a Store, then every cached DaemonSet planned in both modes, as the watches and
//! reconciles do. The fuzz target `json_snapshot` and its corpus replay (`tests/fuzz_corpus.rs`)
//! call it (pure).

use serde_json::Value;

use super::{Expectations, Kind, Store};
use crate::planner::{self, new_pod::daemon_pod};
use crate::snapshot::Timestamp;

/// What a replay did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Replay {
    /// Events whose object the store took.
    pub applied: usize,
    /// Objects the store refused, with why (the watches log these and carry on).
    pub refused: Vec<String>,
    /// DaemonSets planned at the end.
    pub planned: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The bytes do not continue with a JSON value (a watch stream that broke off).
    #[error("event {event} is not valid JSON")]
    Json {
        /// 1-based.
        event: usize,
        #[source]
        source: serde_json::Error,
    },
    /// A JSON value that is not a watch event.
    #[error("event {event} is not a watch event: {problem}")]
    NotAnEvent { event: usize, problem: &'static str },
}

/// Applies the watch events in `bytes` to an empty Store, then plans every DaemonSet it holds at
/// `now`, building the pod of every planned create.
pub fn replay_watch_events(bytes: &[u8], now: Timestamp) -> Result<Replay, ReplayError> {
    let mut store = Store::default();
    let expectations = Expectations::default();
    let mut replay = Replay::default();
    let events = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
    for (index, event) in events.enumerate() {
        let event_number = index + 1;
        let event = event.map_err(|source| ReplayError::Json {
            event: event_number,
            source,
        })?;
        let not_an_event = |problem| ReplayError::NotAnEvent {
            event: event_number,
            problem,
        };
        let event_type = event
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| not_an_event("it has no type"))?;
        let object = event.get("object").ok_or_else(|| not_an_event("it has no object"))?;
        let kind = match object.get("kind").and_then(Value::as_str) {
            Some("DaemonSet") => Kind::DaemonSet,
            Some("Pod") => Kind::Pod,
            Some("Node") => Kind::Node,
            Some("ControllerRevision") => Kind::ControllerRevision,
            _ => continue,
        };
        match event_type {
            "ADDED" | "MODIFIED" => match store.applied(kind, object, &expectations) {
                Ok(_) => replay.applied += 1,
                Err(error) => replay.refused.push(error.to_string()),
            },
            "DELETED" => {
                store.deleted(kind, &kind.key(object), &expectations);
                replay.applied += 1;
            }
            "BOOKMARK" | "ERROR" => {}
            _ => {
                return Err(not_an_event(
                    "its type is not ADDED, MODIFIED, DELETED, BOOKMARK or ERROR",
                ));
            }
        }
    }
    let keys: Vec<_> = store.cache().daemon_set_keys().cloned().collect();
    for key in keys {
        let Some(snapshot) = store.snapshot(&key, now) else {
            continue;
        };
        let plan = planner::plan(&snapshot);
        for node in &plan.creates {
            daemon_pod(plan.daemon_set, &plan.update_revision, node);
        }
        store.record_backoff(&key, &snapshot.daemon_set, plan.backoff_updates.iter().cloned());
        planner::coexist::plan(&snapshot);
        replay.planned += 1;
    }
    Ok(replay)
}
