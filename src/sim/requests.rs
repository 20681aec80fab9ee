//! Every resource request the simulated API server answered, in arrival order: who, what, when,
//! the preconditions a write carried, and the answer's code (no I/O; the server records).
//!
//! The timeline shows what changed; this shows what each client asked for and was told: whether a
//! change to an existing object named the object it meant (its uid or resourceVersion, which the
//! server checks against the stored object), and when a client's watch was answered 410 Expired,
//! so that its view of the cluster froze until it listed again.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Deserialize;

/// One request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// When it arrived.
    pub time: DateTime<Utc>,
    /// The caller, as the timeline names it.
    pub actor: String,
    /// get, list, watch, create, update, patch or delete.
    pub verb: &'static str,
    /// The plural resource name, with `/status` for the status subresource.
    pub resource: String,
    pub namespace: String,
    /// Empty for collections and creates (the name is in the body, or generated).
    pub name: String,
    /// `metadata.uid` of an update or patch body, `preconditions.uid` of a delete's options.
    pub uid: Option<String>,
    /// `metadata.resourceVersion` of an update or patch body, `preconditions.resourceVersion` of a
    /// delete's options.
    pub resource_version: Option<String>,
    /// The HTTP status of the answer (injected faults included); 410 for a watch whose resume was
    /// expired (kube-apiserver answers it with 200 and one ERROR event carrying 410). 0 until answered.
    pub code: u16,
}

impl RequestRecord {
    /// A request about to be served; a write's `body` is read for its preconditions only (JSON;
    /// anything else, such as a JSON patch's list of operations or a protobuf body, carries none here).
    pub fn new(
        actor: &str,
        verb: &'static str,
        resource: String,
        namespace: &str,
        name: &str,
        body: &[u8],
    ) -> RequestRecord {
        let (uid, resource_version) = if is_write(verb) {
            preconditions(verb, body)
        } else {
            (None, None)
        };
        RequestRecord {
            time: Utc::now(),
            actor: actor.to_string(),
            verb,
            resource,
            namespace: namespace.to_string(),
            name: name.to_string(),
            uid,
            resource_version,
            code: 0,
        }
    }

    /// create, update, patch or delete.
    pub fn is_write(&self) -> bool {
        is_write(self.verb)
    }

    /// Whether the request names the object it changes by uid or resourceVersion.
    pub fn is_conditional(&self) -> bool {
        self.uid.is_some() || self.resource_version.is_some()
    }

    /// Whether the server carried it out (2xx).
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

fn is_write(verb: &str) -> bool {
    matches!(verb, "create" | "update" | "patch" | "delete")
}

#[derive(Default, Deserialize)]
struct Identity {
    uid: Option<String>,
    #[serde(rename = "resourceVersion")]
    resource_version: Option<String>,
}

#[derive(Default, Deserialize)]
struct Conditions {
    metadata: Option<Identity>,
    preconditions: Option<Identity>,
}

/// (uid, resourceVersion) as the request states them; empty values state nothing.
fn preconditions(verb: &str, body: &[u8]) -> (Option<String>, Option<String>) {
    let conditions: Conditions = serde_json::from_slice(body).unwrap_or_default();
    let stated = if verb == "delete" {
        conditions.preconditions
    } else {
        conditions.metadata
    };
    let Some(identity) = stated else {
        return (None, None);
    };
    let non_empty = |value: Option<String>| value.filter(|v| !v.is_empty());
    (non_empty(identity.uid), non_empty(identity.resource_version))
}

/// The journal, in arrival order.
#[derive(Debug, Default)]
pub struct RequestJournal {
    entries: Mutex<VecDeque<RequestRecord>>,
    /// Requests kept, the oldest dropped first; None keeps every request.
    capacity: Option<usize>,
}

impl RequestJournal {
    /// A journal of the newest `capacity` requests (None: all of them).
    pub fn bounded(capacity: Option<usize>) -> RequestJournal {
        RequestJournal {
            entries: Mutex::default(),
            capacity,
        }
    }

    pub fn record(&self, request: RequestRecord) {
        let mut entries = self.entries.lock();
        entries.push_back(request);
        if self.capacity.is_some_and(|capacity| entries.len() > capacity) {
            entries.pop_front();
        }
    }

    pub fn entries(&self) -> Vec<RequestRecord> {
        self.entries.lock().iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(verb: &'static str, body: &str) -> RequestRecord {
        RequestRecord::new("daemonroll", verb, "pods".into(), "default", "p", body.as_bytes())
    }

    #[test]
    fn a_delete_names_its_object_in_the_options_and_a_patch_in_the_metadata() {
        let delete = request("delete", r#"{"kind":"DeleteOptions","preconditions":{"uid":"u-1"}}"#);
        assert_eq!(delete.uid.as_deref(), Some("u-1"));
        assert!(delete.is_conditional());
        let patch = request("patch", r#"{"metadata":{"uid":"u-2"},"status":{"numberReady":3}}"#);
        assert_eq!(patch.uid.as_deref(), Some("u-2"));
        let update = request(
            "update",
            r#"{"metadata":{"name":"p","resourceVersion":"1042"},"spec":{}}"#,
        );
        assert_eq!((update.uid, update.resource_version.as_deref()), (None, Some("1042")));
    }

    #[test]
    fn a_bounded_journal_keeps_the_newest_requests() {
        let journal = RequestJournal::bounded(Some(2));
        for verb in ["get", "list", "watch"] {
            journal.record(request(verb, ""));
        }
        let verbs: Vec<&str> = journal.entries().iter().map(|record| record.verb).collect();
        assert_eq!(verbs, ["list", "watch"]);
    }

    #[test]
    fn a_write_without_a_stated_identity_is_unconditional() {
        for (verb, body) in [
            ("delete", ""),
            ("delete", r#"{"kind":"DeleteOptions","propagationPolicy":"Background"}"#),
            ("patch", r#"{"metadata":{"labels":{"a":"b"}}}"#),
            ("patch", r#"[{"op":"replace","path":"/metadata/uid","value":"u-1"}]"#),
            ("patch", r#"{"metadata":{"uid":""}}"#),
            ("delete", r#"{"metadata":{"uid":"u-1"}}"#),
            ("get", r#"{"metadata":{"uid":"u-1"}}"#),
        ] {
            assert!(!request(verb, body).is_conditional(), "{verb} {body}");
        }
    }
}
