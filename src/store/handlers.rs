//! The store: the cache, one matcher per DaemonSet, failed-pod backoff records, and the DaemonSets
//! each watched change triggers (pure: fed by the watches, read by syncs).
//!
//! Upstream: daemon_controller.go addPod/updatePod/deletePod, addNode/updateNode, add/update/delete
//! DaemonSet and history handlers. Invariants:
//! - a change is applied to the cache before expectations are lowered, so a sync that finds its
//!   expectations met also finds the observed pods in the cache;
//! - a node change enqueues only the DaemonSets whose should-run or should-continue-running answer
//!   for that node changed (one compiled matcher per DaemonSet, no per-event template parsing);
//! - a pod or revision without a controller enqueues the DaemonSets of its namespace that select it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::backoff::FailedPodBackoffs;
use super::cache::Cache;
use super::expectations::Expectations;
use super::kind::Kind;
use super::matcher::Matcher;
use crate::snapshot::from_json::ObjectError;
use crate::snapshot::{BackoffEntry, ControllerRef, DaemonSetView, Labels, ObjectKey, PodView, Snapshot, Timestamp};

/// DaemonSets to sync now, and later (after a delay).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Triggered {
    pub now: Vec<ObjectKey>,
    pub later: Vec<(ObjectKey, Duration)>,
}

#[derive(Default)]
pub struct Store {
    cache: Cache,
    /// Ordered by key, so that a namespace's DaemonSets are one range.
    matchers: BTreeMap<ObjectKey, Matcher>,
    backoffs: FailedPodBackoffs,
}

fn is_ready(pod: &PodView) -> bool {
    pod.ready.is_some_and(|ready| ready.is_true)
}

impl Store {
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The Snapshot a sync of `key` decides from, with the DaemonSet's failed-pod backoff.
    pub fn snapshot(&mut self, key: &ObjectKey, now: Timestamp) -> Option<Snapshot> {
        let mut snapshot = self.cache.snapshot(key, now)?;
        snapshot.failed_pod_backoff = self.backoffs.for_sync(key, &snapshot.daemon_set);
        Some(snapshot)
    }

    /// Keeps the backoff entries a sync of `daemon_set` (as that sync read it) advanced.
    pub fn record_backoff<'n>(
        &mut self,
        key: &ObjectKey,
        daemon_set: &DaemonSetView,
        updates: impl IntoIterator<Item = (&'n str, BackoffEntry)>,
    ) {
        self.backoffs.record(key, daemon_set, updates);
    }

    fn in_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = (&'a ObjectKey, &'a Matcher)> + 'a {
        self.matchers
            .range(ObjectKey::new(namespace, "")..)
            .take_while(move |(key, _)| key.namespace == namespace)
    }

    /// The DaemonSet a controller reference names, if it is a DaemonSet we know with that uid.
    /// Upstream: resolveControllerRef.
    fn owner(&self, namespace: &str, controller: Option<&ControllerRef>) -> Option<ObjectKey> {
        let controller = controller.filter(|c| c.kind == "DaemonSet")?;
        let owner = ObjectKey::new(namespace, controller.name.as_str());
        self.matchers
            .get(&owner)
            .filter(|m| m.uid == controller.uid.as_str())
            .map(|_| owner)
    }

    fn selecting(&self, namespace: &str, labels: &Labels) -> Vec<ObjectKey> {
        self.in_namespace(namespace)
            .filter(|(_, m)| m.selects(labels))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Applies an added or modified object and returns what it triggers.
    pub fn applied(
        &mut self,
        kind: Kind,
        object: &Value,
        expectations: &Expectations,
    ) -> Result<Triggered, ObjectError> {
        match kind {
            Kind::DaemonSet => self.daemon_set_applied(object, expectations),
            Kind::Pod => {
                let key = kind.key(object);
                let old = self.cache.pod(&key);
                self.cache.apply(kind, object)?;
                Ok(match self.cache.pod(&key) {
                    Some(new) => self.pod_changed(&key.namespace, old.as_deref(), &new, expectations),
                    None => Triggered::default(),
                })
            }
            Kind::Node => self.node_applied(object),
            Kind::ControllerRevision => {
                let key = self.cache.apply(kind, object)?;
                let mut triggered = Triggered::default();
                if let Some(revision) = self.cache.revision(&key) {
                    match self.owner(&key.namespace, revision.controller.as_ref()) {
                        Some(owner) => triggered.now.push(owner),
                        None if revision.controller.is_none() => {
                            triggered.now = self.selecting(&key.namespace, &revision.labels);
                        }
                        None => {}
                    }
                }
                Ok(triggered)
            }
        }
    }

    fn daemon_set_applied(&mut self, object: &Value, expectations: &Expectations) -> Result<Triggered, ObjectError> {
        let key = self.cache.apply(Kind::DaemonSet, object)?;
        if let Some(view) = self.cache.daemon_set(&key) {
            // Upstream: updateDaemonset handles a changed uid as a delete of the old object.
            if self.matchers.get(&key).is_some_and(|old| old.uid != view.uid) {
                expectations.forget(&key);
            }
            self.matchers.insert(key.clone(), Matcher::compile(&view));
        }
        Ok(Triggered {
            now: vec![key],
            later: Vec::new(),
        })
    }

    fn node_applied(&mut self, object: &Value) -> Result<Triggered, ObjectError> {
        let name = Kind::Node.key(object).name;
        let old = self.cache.node(&name).cloned();
        self.cache.apply(Kind::Node, object)?;
        let mut triggered = Triggered::default();
        let Some(new) = self.cache.node(&name) else {
            return Ok(triggered);
        };
        for (ds, matcher) in &self.matchers {
            let fire = match &old {
                // Upstream: addNode enqueues the DaemonSets that should run there.
                None => matcher.answer(new).0,
                Some(old) if old == new => false,
                Some(old) => matcher.answer(old) != matcher.answer(new),
            };
            if fire {
                triggered.now.push(ds.clone());
            }
        }
        Ok(triggered)
    }

    fn pod_changed(
        &self,
        namespace: &str,
        old: Option<&PodView>,
        new: &PodView,
        expectations: &Expectations,
    ) -> Triggered {
        let mut triggered = Triggered::default();
        if old == Some(new) {
            return triggered;
        }
        let owner = self.owner(namespace, new.controller.as_ref());
        if new.is_terminating() {
            // Upstream: updatePod treats a pod marked for deletion as deleted.
            if let Some(owner) = owner {
                expectations.deletion_observed(&owner, &new.uid);
                triggered.now.push(owner);
            }
            return triggered;
        }
        match old {
            None => {
                if let Some(owner) = owner {
                    expectations.creation_observed(&owner);
                    triggered.now.push(owner);
                } else if new.controller.is_none() {
                    triggered.now = self.selecting(namespace, &new.labels);
                }
            }
            Some(old) => {
                let old_owner = self.owner(namespace, old.controller.as_ref());
                if old_owner != owner
                    && let Some(old_owner) = old_owner
                {
                    triggered.now.push(old_owner);
                }
                if let Some(owner) = owner {
                    // Upstream: updatePod requeues after minReadySeconds (+1 s) when a pod turns ready.
                    let min_ready = self.matchers.get(&owner).map_or(0, |m| m.min_ready_seconds);
                    if !is_ready(old) && is_ready(new) && min_ready > 0 {
                        let delay = Duration::from_secs(u64::from(min_ready.unsigned_abs()) + 1);
                        triggered.later.push((owner.clone(), delay));
                    }
                    triggered.now.push(owner);
                } else if new.controller.is_none() && (old.labels != new.labels || old.controller.is_some()) {
                    triggered.now = self.selecting(namespace, &new.labels);
                }
            }
        }
        triggered
    }

    /// Removes a deleted object and returns what that triggers.
    pub fn deleted(&mut self, kind: Kind, key: &ObjectKey, expectations: &Expectations) -> Triggered {
        let mut triggered = Triggered::default();
        match kind {
            Kind::DaemonSet => {
                self.matchers.remove(key);
                self.backoffs.forget(key);
                expectations.forget(key);
                triggered.now.push(key.clone());
            }
            Kind::Pod => {
                if let Some(old) = self.cache.pod(key)
                    && let Some(owner) = self.owner(&key.namespace, old.controller.as_ref())
                {
                    // Upstream: deletePod (orphans trigger nothing).
                    expectations.deletion_observed(&owner, &old.uid);
                    triggered.now.push(owner);
                }
            }
            Kind::Node => {
                if let Some(old) = self.cache.node(&key.name) {
                    triggered.now = self
                        .matchers
                        .iter()
                        .filter(|(_, m)| {
                            let (run, keep) = m.answer(old);
                            run || keep
                        })
                        .map(|(k, _)| k.clone())
                        .collect();
                }
            }
            Kind::ControllerRevision => {
                if let Some(revision) = self.cache.revision(key) {
                    triggered
                        .now
                        .extend(self.owner(&key.namespace, revision.controller.as_ref()));
                }
            }
        }
        self.cache.delete(kind, key);
        triggered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ds(name: &str, uid: &str, node_selector: Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "ns", "uid": uid},
               "spec": {"selector": {"matchLabels": {"app": name}}, "minReadySeconds": 5,
                        "template": {"metadata": {"labels": {"app": name}},
                                     "spec": {"nodeSelector": node_selector, "containers": [{"name": "c", "image": "i"}]}}}})
    }

    fn pod(name: &str, app: &str, owner: Option<(&str, &str)>, ready: bool) -> Value {
        let mut pod = json!({"metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "labels": {"app": app}},
                             "spec": {"nodeName": "n1"},
                             "status": {"conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}});
        if let Some((owner, uid)) = owner {
            pod["metadata"]["ownerReferences"] =
                json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": owner, "uid": uid, "controller": true}]);
        }
        pod
    }

    fn ns(name: &str) -> ObjectKey {
        ObjectKey::new("ns", name)
    }

    fn node(name: &str, labels: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels}})
    }

    fn stores() -> Store {
        let mut stores = Store::default();
        let expectations = Expectations::default();
        for object in [ds("linux", "u1", json!({"os": "linux"})), ds("any", "u2", json!({}))] {
            stores.applied(Kind::DaemonSet, &object, &expectations).expect("valid");
        }
        stores
    }

    #[test]
    fn node_changes_fire_only_the_daemon_sets_whose_answer_changed() {
        let mut stores = stores();
        let expectations = Expectations::default();
        let added = stores
            .applied(Kind::Node, &node("n1", json!({"os": "windows"})), &expectations)
            .expect("valid");
        assert_eq!(added.now, vec![ns("any")], "linux does not run on a windows node");
        let same = stores
            .applied(Kind::Node, &node("n1", json!({"os": "windows"})), &expectations)
            .expect("valid");
        assert!(same.now.is_empty(), "an unchanged node (a heartbeat) fires nothing");
        let relabelled = stores
            .applied(Kind::Node, &node("n1", json!({"os": "linux"})), &expectations)
            .expect("valid");
        assert_eq!(relabelled.now, vec![ns("linux")]);
        let deleted = stores.deleted(Kind::Node, &ObjectKey::new("", "n1"), &expectations);
        assert_eq!(deleted.now, vec![ns("any"), ns("linux")]);
    }

    #[test]
    fn pod_events_fire_their_owner_and_move_its_expectations() {
        let mut stores = stores();
        let expectations = Expectations::default();
        let start = std::time::Instant::now();
        expectations.set(&ns("linux"), 1, ["uid-p1"], start);
        let created = stores
            .applied(
                Kind::Pod,
                &pod("p1", "linux", Some(("linux", "u1")), false),
                &expectations,
            )
            .expect("valid");
        assert_eq!(created.now, vec![ns("linux")]);
        assert_eq!(expectations.pending(&ns("linux")), Some((0, 1)), "creation observed");
        let ready = stores
            .applied(
                Kind::Pod,
                &pod("p1", "linux", Some(("linux", "u1")), true),
                &expectations,
            )
            .expect("valid");
        assert_eq!(
            ready.later,
            vec![(ns("linux"), Duration::from_secs(6))],
            "minReadySeconds + 1 s"
        );
        let mut terminating = pod("p1", "linux", Some(("linux", "u1")), true);
        terminating["metadata"]["deletionTimestamp"] = json!("2026-11-25T12:00:00Z");
        stores.applied(Kind::Pod, &terminating, &expectations).expect("valid");
        assert!(
            expectations.satisfied(&ns("linux"), start),
            "deletion observed at the deletion mark"
        );

        let forged = stores
            .applied(
                Kind::Pod,
                &pod("p2", "linux", Some(("linux", "other-uid")), false),
                &expectations,
            )
            .expect("valid");
        assert!(
            forged.now.is_empty(),
            "a controller reference with another uid is not ours"
        );
        let orphan = stores
            .applied(Kind::Pod, &pod("p3", "any", None, false), &expectations)
            .expect("valid");
        assert_eq!(
            orphan.now,
            vec![ns("any")],
            "an orphan fires the DaemonSets selecting it"
        );
        assert!(stores.deleted(Kind::Pod, &ns("p3"), &expectations).now.is_empty());
        assert_eq!(
            stores.deleted(Kind::Pod, &ns("p1"), &expectations).now,
            vec![ns("linux")]
        );
    }
}
