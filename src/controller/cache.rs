//! The controller's cache: slim views of watched objects, indexed as syncs need them (no I/O; fed by watches).
//!
//! Invariants:
//! - pods are indexed by their controller's uid, in (target node, name) order, which is the order
//!   the planner's fast path walks; orphans are indexed by namespace;
//! - nodes are kept sorted by name and shared by every Snapshot until a node changes;
//! - a Snapshot holds only the DaemonSet's candidate pods (controlled by its uid, or orphans of its
//!   namespace) and its namespace's revisions, as `Snapshot` documents.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use crate::snapshot::from_json::{
    ObjectError, daemon_set_from_json, node_from_json, pod_from_json, revision_from_json,
};
use crate::snapshot::{DaemonSetView, NodeView, PodView, RevisionView, Snapshot, Timestamp};

type PodKey = (Option<String>, String);

#[derive(Default)]
pub struct Cache {
    daemon_sets: BTreeMap<(String, String), Arc<DaemonSetView>>,
    nodes: BTreeMap<String, NodeView>,
    /// Rebuilt on the first Snapshot after a node change.
    node_list: Option<Arc<[NodeView]>>,
    /// namespace/name → (owner uid or "", index key), to find a pod's entry on update and delete.
    pod_places: HashMap<(String, String), (String, PodKey)>,
    /// Controller uid → pods, in (target node, name) order.
    owned: HashMap<String, BTreeMap<PodKey, Arc<PodView>>>,
    /// Namespace → pods without a controller.
    orphans: HashMap<String, BTreeMap<PodKey, Arc<PodView>>>,
    revisions: HashMap<String, BTreeMap<String, RevisionView>>,
}

/// `metadata.namespace` and `metadata.name` as served (namespace empty for cluster-scoped objects).
pub fn object_key(object: &Value) -> (String, String) {
    let field = |key: &str| {
        object
            .pointer(&format!("/metadata/{key}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (field("namespace"), field("name"))
}

/// As `object_key`, with an empty namespace read as `default` (how the API server defaults it).
fn namespace_and_name(object: &Value) -> (String, String) {
    let (namespace, name) = object_key(object);
    let namespace = if namespace.is_empty() {
        "default".to_string()
    } else {
        namespace
    };
    (namespace, name)
}

impl Cache {
    /// Adds or replaces an object of a watched kind; other kinds are ignored.
    pub fn apply(&mut self, kind: &str, object: &Value) -> Result<(), ObjectError> {
        let (namespace, name) = namespace_and_name(object);
        match kind {
            "DaemonSet" => {
                let view = daemon_set_from_json(object)?;
                self.daemon_sets.insert((namespace, name), Arc::new(view));
            }
            "Node" => {
                let view = node_from_json(object)?;
                self.nodes.insert(view.name.to_string(), view);
                self.node_list = None;
            }
            "Pod" => {
                let view = pod_from_json(object)?;
                self.remove_pod(&namespace, &name);
                let owner = view.controller.as_ref().map(|c| c.uid.to_string()).unwrap_or_default();
                let key: PodKey = (view.target_node.as_ref().map(|t| t.to_string()), name.clone());
                let index = if owner.is_empty() {
                    self.orphans.entry(namespace.clone()).or_default()
                } else {
                    self.owned.entry(owner.clone()).or_default()
                };
                index.insert(key.clone(), Arc::new(view));
                self.pod_places.insert((namespace, name), (owner, key));
            }
            "ControllerRevision" => {
                let view = revision_from_json(object)?;
                self.revisions.entry(namespace).or_default().insert(name, view);
            }
            _ => {}
        }
        Ok(())
    }

    /// Removes an object of a watched kind (a watch DELETED event).
    pub fn delete(&mut self, kind: &str, object: &Value) {
        let (namespace, name) = namespace_and_name(object);
        match kind {
            "DaemonSet" => {
                self.daemon_sets.remove(&(namespace, name));
            }
            "Node" if self.nodes.remove(&name).is_some() => self.node_list = None,
            "Pod" => self.remove_pod(&namespace, &name),
            "ControllerRevision" => {
                if let Some(revisions) = self.revisions.get_mut(&namespace) {
                    revisions.remove(&name);
                }
            }
            _ => {}
        }
    }

    fn remove_pod(&mut self, namespace: &str, name: &str) {
        let Some((owner, key)) = self.pod_places.remove(&(namespace.to_string(), name.to_string())) else {
            return;
        };
        let index = if owner.is_empty() {
            self.orphans.get_mut(namespace)
        } else {
            self.owned.get_mut(&owner)
        };
        if let Some(index) = index {
            index.remove(&key);
            if index.is_empty() {
                if owner.is_empty() {
                    self.orphans.remove(namespace);
                } else {
                    self.owned.remove(&owner);
                }
            }
        }
    }

    pub fn pod(&self, namespace: &str, name: &str) -> Option<Arc<PodView>> {
        let (owner, key) = self.pod_places.get(&(namespace.to_string(), name.to_string()))?;
        let index = if owner.is_empty() {
            self.orphans.get(namespace)
        } else {
            self.owned.get(owner)
        };
        index?.get(key).cloned()
    }

    pub fn node(&self, name: &str) -> Option<&NodeView> {
        self.nodes.get(name)
    }

    pub fn revision(&self, namespace: &str, name: &str) -> Option<&RevisionView> {
        self.revisions.get(namespace)?.get(name)
    }

    /// (namespace, name) of every cached object of `kind` (namespace empty for nodes), to find
    /// what a re-list no longer holds.
    pub fn keys(&self, kind: &str) -> Vec<(String, String)> {
        match kind {
            "DaemonSet" => self.daemon_sets.keys().cloned().collect(),
            "Node" => self.nodes.keys().map(|name| (String::new(), name.clone())).collect(),
            "Pod" => self.pod_places.keys().cloned().collect(),
            "ControllerRevision" => self
                .revisions
                .iter()
                .flat_map(|(namespace, names)| names.keys().map(|name| (namespace.clone(), name.clone())))
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn daemon_set(&self, namespace: &str, name: &str) -> Option<Arc<DaemonSetView>> {
        self.daemon_sets
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    pub fn daemon_sets(&self) -> impl Iterator<Item = &Arc<DaemonSetView>> {
        self.daemon_sets.values()
    }

    /// The Snapshot one sync of `namespace/name` decides from, or None if the DaemonSet is not cached.
    pub fn snapshot(&mut self, namespace: &str, name: &str, now: Timestamp) -> Option<Snapshot> {
        let daemon_set = self.daemon_set(namespace, name)?;
        let nodes = match &self.node_list {
            Some(list) => Arc::clone(list),
            None => {
                let list: Arc<[NodeView]> = self.nodes.values().cloned().collect::<Vec<_>>().into();
                self.node_list = Some(Arc::clone(&list));
                list
            }
        };
        let owned = self.owned.get(daemon_set.uid.as_str());
        let orphans = self.orphans.get(namespace);
        let mut pods: Vec<Arc<PodView>> = owned.into_iter().flat_map(|index| index.values().cloned()).collect();
        if let Some(orphans) = orphans.filter(|o| !o.is_empty()) {
            pods.extend(orphans.values().cloned());
            crate::snapshot::dump::sort_by_target_node(&mut pods);
        }
        let mut snapshot = Snapshot::new((*daemon_set).clone(), now);
        snapshot.nodes = nodes;
        snapshot.pods = pods;
        snapshot.revisions = self
            .revisions
            .get(namespace)
            .map(|r| r.values().cloned().collect())
            .unwrap_or_default();
        Some(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, node: &str, owner: Option<&str>) -> Value {
        let mut pod =
            json!({"metadata": {"name": name, "namespace": "ns", "labels": {"app": "a"}}, "spec": {"nodeName": node}});
        if let Some(uid) = owner {
            pod["metadata"]["ownerReferences"] =
                json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "a", "uid": uid, "controller": true}]);
        }
        pod
    }

    fn now() -> Timestamp {
        chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn snapshots_hold_the_daemon_sets_pods_in_target_order_and_follow_every_event() {
        let mut cache = Cache::default();
        let ds = json!({"metadata": {"name": "a", "namespace": "ns", "uid": "u1"},
                        "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": {"app": "a"}}}}});
        cache.apply("DaemonSet", &ds).expect("valid");
        for node in ["n2", "n1", "n3"] {
            cache
                .apply("Node", &json!({"metadata": {"name": node}}))
                .expect("valid");
        }
        cache.apply("Pod", &pod("p-b", "n2", Some("u1"))).expect("valid");
        cache.apply("Pod", &pod("p-a", "n3", Some("u1"))).expect("valid");
        cache.apply("Pod", &pod("p-c", "n1", Some("u1"))).expect("valid");
        cache.apply("Pod", &pod("other", "n1", Some("u2"))).expect("valid");
        let names = |s: &Snapshot| s.pods.iter().map(|p| p.name.to_string()).collect::<Vec<_>>();
        let snapshot = cache.snapshot("ns", "a", now()).expect("cached");
        assert_eq!(
            snapshot.nodes.iter().map(|n| n.name.to_string()).collect::<Vec<_>>(),
            vec!["n1", "n2", "n3"]
        );
        assert_eq!(
            names(&snapshot),
            vec!["p-c", "p-b", "p-a"],
            "ordered by target node; the other DaemonSet's pod left out"
        );

        // A pod moving to another node, an orphan, a deletion.
        cache.apply("Pod", &pod("p-a", "n0", Some("u1"))).expect("valid");
        cache.apply("Pod", &pod("stray", "n2", None)).expect("valid");
        cache.delete("Pod", &pod("p-b", "n2", Some("u1")));
        let snapshot = cache.snapshot("ns", "a", now()).expect("cached");
        assert_eq!(names(&snapshot), vec!["p-a", "p-c", "stray"]);
        let shared = Arc::as_ptr(&snapshot.nodes);
        assert_eq!(
            Arc::as_ptr(&cache.snapshot("ns", "a", now()).expect("cached").nodes),
            shared,
            "nodes are shared until one changes"
        );
        cache.delete("Node", &json!({"metadata": {"name": "n3"}}));
        assert_eq!(cache.snapshot("ns", "a", now()).expect("cached").nodes.len(), 2);
        cache.delete("DaemonSet", &ds);
        assert!(cache.snapshot("ns", "a", now()).is_none());
    }

    #[test]
    fn a_malformed_object_is_refused_and_leaves_the_cache_as_it_was() {
        let mut cache = Cache::default();
        cache.apply("Pod", &pod("p", "n1", None)).expect("valid");
        let broken = json!({"metadata": {"name": "p", "namespace": "ns", "creationTimestamp": "yesterday"}});
        assert!(cache.apply("Pod", &broken).is_err());
        assert_eq!(
            cache.orphans.get("ns").map(BTreeMap::len),
            Some(1),
            "the earlier version stays"
        );
    }
}
