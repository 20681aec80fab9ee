//! The watch-fed stores and the triggers each change fires (no I/O).
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

use serde_json::{Value, json};

use super::cache::Cache;
use super::expectations::Expectations;
use crate::planner::eligibility::EligibilityRules;
use crate::planner::selector::Selector;
use crate::planner::template::TemplateFields;
use crate::snapshot::from_json::ObjectError;
use crate::snapshot::{ControllerRef, DaemonSetView, Labels, NodeView, PodView};

/// What a DaemonSet answers for nodes and labels, compiled once per DaemonSet version.
struct Matcher {
    uid: String,
    selector: Option<Selector>,
    rules: Option<EligibilityRules>,
    min_ready_seconds: i32,
}

impl Matcher {
    fn compile(view: &DaemonSetView) -> Self {
        let selector = view
            .selector
            .as_ref()
            .and_then(|s| Selector::compile(s).ok())
            .filter(|s| !s.is_empty());
        let rules = TemplateFields::read(&view.template)
            .ok()
            .map(|template| EligibilityRules::compile(&template));
        Matcher {
            uid: view.uid.clone(),
            selector,
            rules,
            min_ready_seconds: view.min_ready_seconds,
        }
    }

    fn selects(&self, labels: &Labels) -> bool {
        self.selector.as_ref().is_some_and(|s| s.matches(labels))
    }

    /// Upstream: nodeShouldRunDaemonPod's (shouldRun, shouldContinueRunning).
    fn answer(&self, node: &NodeView) -> (bool, bool) {
        match &self.rules {
            Some(rules) => {
                let eligibility = rules.evaluate(node);
                (eligibility.should_run(), eligibility.should_continue_running())
            }
            None => (false, false),
        }
    }
}

/// DaemonSet keys to sync now and later.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Triggered {
    pub now: Vec<String>,
    pub later: Vec<(String, Duration)>,
}

#[derive(Default)]
pub struct Stores {
    pub cache: Cache,
    /// `namespace/name` → matcher; ordered so a namespace's DaemonSets are one range.
    matchers: BTreeMap<String, Matcher>,
}

fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

fn stub(namespace: &str, name: &str) -> Value {
    json!({"metadata": {"namespace": namespace, "name": name}})
}

fn is_ready(pod: &PodView) -> bool {
    pod.ready.is_some_and(|ready| ready.is_true)
}

impl Stores {
    fn in_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = (&'a String, &'a Matcher)> + 'a {
        let prefix = format!("{namespace}/");
        self.matchers
            .range(prefix.clone()..)
            .take_while(move |(key, _)| key.starts_with(&prefix))
    }

    /// The DaemonSet a controller reference names, if it is a DaemonSet we know with that uid.
    /// Upstream: resolveControllerRef.
    fn owner(&self, namespace: &str, controller: Option<&ControllerRef>) -> Option<String> {
        let controller = controller.filter(|c| c.kind == "DaemonSet")?;
        let owner = key(namespace, &controller.name);
        self.matchers
            .get(&owner)
            .filter(|m| m.uid == controller.uid.as_str())
            .map(|_| owner)
    }

    fn selecting(&self, namespace: &str, labels: &Labels) -> Vec<String> {
        self.in_namespace(namespace)
            .filter(|(_, m)| m.selects(labels))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Applies an added or modified object and returns what it triggers.
    pub fn applied(
        &mut self,
        kind: &str,
        object: &Value,
        expectations: &Expectations,
    ) -> Result<Triggered, ObjectError> {
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or("default")
            .to_string();
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut triggered = Triggered::default();
        match kind {
            "DaemonSet" => {
                self.cache.apply(kind, object)?;
                let ds = key(&namespace, &name);
                if let Some(view) = self.cache.daemon_set(&namespace, &name) {
                    // Upstream: updateDaemonset handles a changed uid as a delete of the old object.
                    if self.matchers.get(&ds).is_some_and(|old| old.uid != view.uid) {
                        expectations.forget(&ds);
                    }
                    self.matchers.insert(ds.clone(), Matcher::compile(&view));
                }
                triggered.now.push(ds);
            }
            "Pod" => {
                let old = self.cache.pod(&namespace, &name);
                self.cache.apply(kind, object)?;
                let Some(new) = self.cache.pod(&namespace, &name) else {
                    return Ok(triggered);
                };
                self.pod_changed(&namespace, old.as_deref(), &new, expectations, &mut triggered);
            }
            "Node" => {
                let old = self.cache.node(&name).cloned();
                self.cache.apply(kind, object)?;
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
            }
            "ControllerRevision" => {
                self.cache.apply(kind, object)?;
                if let Some(revision) = self.cache.revision(&namespace, &name) {
                    match self.owner(&namespace, revision.controller.as_ref()) {
                        Some(owner) => triggered.now.push(owner),
                        None if revision.controller.is_none() => {
                            triggered.now = self.selecting(&namespace, &revision.labels);
                        }
                        None => {}
                    }
                }
            }
            _ => {}
        }
        Ok(triggered)
    }

    fn pod_changed(
        &self,
        namespace: &str,
        old: Option<&PodView>,
        new: &PodView,
        expectations: &Expectations,
        triggered: &mut Triggered,
    ) {
        if old == Some(new) {
            return;
        }
        let owner = self.owner(namespace, new.controller.as_ref());
        if new.is_terminating() {
            // Upstream: updatePod treats a pod marked for deletion as deleted.
            if let Some(owner) = owner {
                expectations.deletion_observed(&owner, &new.uid);
                triggered.now.push(owner);
            }
            return;
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
    }

    /// Removes a deleted object and returns what that triggers.
    pub fn deleted(&mut self, kind: &str, namespace: &str, name: &str, expectations: &Expectations) -> Triggered {
        let mut triggered = Triggered::default();
        match kind {
            "DaemonSet" => {
                let ds = key(namespace, name);
                self.matchers.remove(&ds);
                expectations.forget(&ds);
                triggered.now.push(ds);
            }
            "Pod" => {
                if let Some(old) = self.cache.pod(namespace, name)
                    && let Some(owner) = self.owner(namespace, old.controller.as_ref())
                {
                    // Upstream: deletePod (orphans trigger nothing).
                    expectations.deletion_observed(&owner, &old.uid);
                    triggered.now.push(owner);
                }
            }
            "Node" => {
                if let Some(old) = self.cache.node(name) {
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
            "ControllerRevision" => {
                if let Some(revision) = self.cache.revision(namespace, name) {
                    triggered
                        .now
                        .extend(self.owner(namespace, revision.controller.as_ref()));
                }
            }
            _ => {}
        }
        self.cache.delete(kind, &stub(namespace, name));
        triggered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn node(name: &str, labels: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels}})
    }

    fn stores() -> Stores {
        let mut stores = Stores::default();
        let expectations = Expectations::default();
        for object in [ds("linux", "u1", json!({"os": "linux"})), ds("any", "u2", json!({}))] {
            stores.applied("DaemonSet", &object, &expectations).expect("valid");
        }
        stores
    }

    #[test]
    fn node_changes_fire_only_the_daemon_sets_whose_answer_changed() {
        let mut stores = stores();
        let expectations = Expectations::default();
        let added = stores
            .applied("Node", &node("n1", json!({"os": "windows"})), &expectations)
            .expect("valid");
        assert_eq!(added.now, vec!["ns/any"], "linux does not run on a windows node");
        let same = stores
            .applied("Node", &node("n1", json!({"os": "windows"})), &expectations)
            .expect("valid");
        assert!(same.now.is_empty(), "an unchanged node (a heartbeat) fires nothing");
        let relabelled = stores
            .applied("Node", &node("n1", json!({"os": "linux"})), &expectations)
            .expect("valid");
        assert_eq!(relabelled.now, vec!["ns/linux"]);
        let deleted = stores.deleted("Node", "", "n1", &expectations);
        assert_eq!(deleted.now, vec!["ns/any", "ns/linux"]);
    }

    #[test]
    fn pod_events_fire_their_owner_and_move_its_expectations() {
        let mut stores = stores();
        let expectations = Expectations::default();
        let start = std::time::Instant::now();
        expectations.set("ns/linux", 1, ["uid-p1"], start);
        let created = stores
            .applied("Pod", &pod("p1", "linux", Some(("linux", "u1")), false), &expectations)
            .expect("valid");
        assert_eq!(created.now, vec!["ns/linux"]);
        assert_eq!(expectations.pending("ns/linux"), Some((0, 1)), "creation observed");
        let ready = stores
            .applied("Pod", &pod("p1", "linux", Some(("linux", "u1")), true), &expectations)
            .expect("valid");
        assert_eq!(
            ready.later,
            vec![("ns/linux".to_string(), Duration::from_secs(6))],
            "minReadySeconds + 1 s"
        );
        let mut terminating = pod("p1", "linux", Some(("linux", "u1")), true);
        terminating["metadata"]["deletionTimestamp"] = json!("2026-11-25T12:00:00Z");
        stores.applied("Pod", &terminating, &expectations).expect("valid");
        assert!(
            expectations.satisfied("ns/linux", start),
            "deletion observed at the deletion mark"
        );

        let forged = stores
            .applied(
                "Pod",
                &pod("p2", "linux", Some(("linux", "other-uid")), false),
                &expectations,
            )
            .expect("valid");
        assert!(
            forged.now.is_empty(),
            "a controller reference with another uid is not ours"
        );
        let orphan = stores
            .applied("Pod", &pod("p3", "any", None, false), &expectations)
            .expect("valid");
        assert_eq!(
            orphan.now,
            vec!["ns/any"],
            "an orphan fires the DaemonSets selecting it"
        );
        assert!(stores.deleted("Pod", "ns", "p3", &expectations).now.is_empty());
        assert_eq!(stores.deleted("Pod", "ns", "p1", &expectations).now, vec!["ns/linux"]);
    }
}
