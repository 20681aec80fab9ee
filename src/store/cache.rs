//! The controller's cache: slim views of watched objects, indexed as syncs need them (pure: fed by
//! the watches, read by syncs).
//!
//! Invariants:
//! - pods are indexed by their controller's uid, in (target node, name) order, which is the order
//!   the planner's join walks; pods without a controller are indexed by namespace;
//! - nodes are kept sorted by name and shared by every Snapshot until a node changes;
//! - a malformed object is refused and leaves the cache as it was.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::kind::Kind;
use crate::snapshot::from_json::{
    ObjectError, daemon_set_from_json, node_from_json, pod_from_json, revision_from_json,
};
use crate::snapshot::{DaemonSetView, NodeView, ObjectKey, PodView, RevisionView, Snapshot, Timestamp};

/// Which index holds a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PodIndex {
    /// The pods of the controller with this uid.
    Controlled(String),
    /// The pods without a controller in the pod's namespace.
    Orphan,
}

/// A pod's place in its index: (target node, name).
type PodOrder = (Option<String>, String);

type PodsInOrder = BTreeMap<PodOrder, Arc<PodView>>;

#[derive(Default)]
pub struct Cache {
    daemon_sets: BTreeMap<ObjectKey, Arc<DaemonSetView>>,
    /// Sorted by name, each name once, as a Snapshot takes them: shared with the Snapshots of
    /// syncs in flight (a change while one runs copies the list once), never kept twice.
    nodes: Arc<Vec<NodeView>>,
    /// Where each pod is indexed, to find its entry on update and delete.
    pod_places: HashMap<ObjectKey, (PodIndex, PodOrder)>,
    /// Controller uid → its pods.
    controlled: HashMap<String, PodsInOrder>,
    /// Namespace → its pods without a controller.
    orphans: HashMap<String, PodsInOrder>,
    /// Namespace → its revisions by name.
    revisions: HashMap<String, BTreeMap<String, RevisionView>>,
}

impl Cache {
    /// Adds or replaces an object; returns its key.
    pub fn apply(&mut self, kind: Kind, object: &Value) -> Result<ObjectKey, ObjectError> {
        let key = kind.key(object);
        match kind {
            Kind::DaemonSet => {
                let view = daemon_set_from_json(object)?;
                self.daemon_sets.insert(key.clone(), Arc::new(view));
            }
            Kind::Node => {
                let view = node_from_json(object)?;
                let nodes = Arc::make_mut(&mut self.nodes);
                match nodes.binary_search_by(|node| node.name.as_str().cmp(&view.name)) {
                    Ok(index) => nodes[index] = view,
                    Err(index) => nodes.insert(index, view),
                }
            }
            Kind::Pod => {
                let view = pod_from_json(object)?;
                self.remove_pod(&key);
                let index = match &view.controller {
                    Some(controller) => PodIndex::Controlled(controller.uid.to_string()),
                    None => PodIndex::Orphan,
                };
                let order: PodOrder = (view.target_node.as_ref().map(|t| t.to_string()), key.name.clone());
                self.index_mut(&key.namespace, &index)
                    .insert(order.clone(), Arc::new(view));
                self.pod_places.insert(key.clone(), (index, order));
            }
            Kind::ControllerRevision => {
                let view = revision_from_json(object)?;
                self.revisions
                    .entry(key.namespace.clone())
                    .or_default()
                    .insert(key.name.clone(), view);
            }
        }
        Ok(key)
    }

    /// Removes an object (a watch DELETED event, or missing from a re-list).
    pub fn delete(&mut self, kind: Kind, key: &ObjectKey) {
        match kind {
            Kind::DaemonSet => {
                self.daemon_sets.remove(key);
            }
            Kind::Node => {
                if let Some(index) = self.node_index(&key.name) {
                    Arc::make_mut(&mut self.nodes).remove(index);
                }
            }
            Kind::Pod => self.remove_pod(key),
            Kind::ControllerRevision => {
                if let Some(revisions) = self.revisions.get_mut(&key.namespace) {
                    revisions.remove(&key.name);
                }
            }
        }
    }

    fn index_mut(&mut self, namespace: &str, index: &PodIndex) -> &mut PodsInOrder {
        match index {
            PodIndex::Controlled(uid) => self.controlled.entry(uid.clone()).or_default(),
            PodIndex::Orphan => self.orphans.entry(namespace.to_string()).or_default(),
        }
    }

    fn index(&self, namespace: &str, index: &PodIndex) -> Option<&PodsInOrder> {
        match index {
            PodIndex::Controlled(uid) => self.controlled.get(uid),
            PodIndex::Orphan => self.orphans.get(namespace),
        }
    }

    fn remove_pod(&mut self, key: &ObjectKey) {
        let Some((index, order)) = self.pod_places.remove(key) else {
            return;
        };
        let pods = self.index_mut(&key.namespace, &index);
        pods.remove(&order);
        if pods.is_empty() {
            match index {
                PodIndex::Controlled(uid) => self.controlled.remove(&uid),
                PodIndex::Orphan => self.orphans.remove(&key.namespace),
            };
        }
    }

    pub fn pod(&self, key: &ObjectKey) -> Option<Arc<PodView>> {
        let (index, order) = self.pod_places.get(key)?;
        self.index(&key.namespace, index)?.get(order).cloned()
    }

    pub fn node(&self, name: &str) -> Option<&NodeView> {
        self.node_index(name).map(|index| &self.nodes[index])
    }

    fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.binary_search_by(|node| node.name.as_str().cmp(name)).ok()
    }

    pub fn revision(&self, key: &ObjectKey) -> Option<&RevisionView> {
        self.revisions.get(&key.namespace)?.get(&key.name)
    }

    /// The key of every cached object of `kind`, to find what a re-list no longer holds.
    pub fn keys(&self, kind: Kind) -> Vec<ObjectKey> {
        match kind {
            Kind::DaemonSet => self.daemon_sets.keys().cloned().collect(),
            Kind::Node => self
                .nodes
                .iter()
                .map(|node| ObjectKey::new("", node.name.as_str()))
                .collect(),
            Kind::Pod => self.pod_places.keys().cloned().collect(),
            Kind::ControllerRevision => self
                .revisions
                .iter()
                .flat_map(|(namespace, names)| names.keys().map(move |name| ObjectKey::new(namespace, name)))
                .collect(),
        }
    }

    pub fn daemon_set(&self, key: &ObjectKey) -> Option<Arc<DaemonSetView>> {
        self.daemon_sets.get(key).cloned()
    }

    pub fn daemon_set_keys(&self) -> impl Iterator<Item = &ObjectKey> {
        self.daemon_sets.keys()
    }

    /// The Snapshot one sync of the DaemonSet `key` decides from, or None if it is not cached.
    pub fn snapshot(&self, key: &ObjectKey, now: Timestamp) -> Option<Snapshot> {
        let daemon_set = self.daemon_set(key)?;
        let nodes = Arc::clone(&self.nodes);
        let controlled = self.controlled.get(daemon_set.uid.as_str());
        let orphans = self.orphans.get(&key.namespace);
        let candidates = controlled.into_iter().chain(orphans).flat_map(BTreeMap::values);
        let revisions = self
            .revisions
            .get(&key.namespace)
            .map(|r| r.values().cloned().collect())
            .unwrap_or_default();
        Some(Snapshot::assemble(
            (*daemon_set).clone(),
            nodes,
            candidates,
            revisions,
            now,
        ))
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

    fn key(namespace: &str, name: &str) -> ObjectKey {
        ObjectKey::new(namespace, name)
    }

    /// A cache holding DaemonSet ns/a (uid u1, selecting app=a).
    fn cache_with_daemon_set_a() -> Cache {
        let mut cache = Cache::default();
        let ds = json!({"metadata": {"name": "a", "namespace": "ns", "uid": "u1"},
                        "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": {"app": "a"}}}}});
        cache.apply(Kind::DaemonSet, &ds).expect("valid");
        cache
    }

    fn now() -> Timestamp {
        chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn snapshots_hold_the_daemon_sets_pods_in_target_order_and_follow_every_event() {
        let mut cache = cache_with_daemon_set_a();
        for node in ["n2", "n1", "n3"] {
            cache
                .apply(Kind::Node, &json!({"metadata": {"name": node}}))
                .expect("valid");
        }
        cache.apply(Kind::Pod, &pod("p-b", "n2", Some("u1"))).expect("valid");
        cache.apply(Kind::Pod, &pod("p-a", "n3", Some("u1"))).expect("valid");
        cache.apply(Kind::Pod, &pod("p-c", "n1", Some("u1"))).expect("valid");
        cache.apply(Kind::Pod, &pod("other", "n1", Some("u2"))).expect("valid");
        let names = |s: &Snapshot| s.pods.iter().map(|p| p.name.to_string()).collect::<Vec<_>>();
        let snapshot = cache.snapshot(&key("ns", "a"), now()).expect("cached");
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
        cache.apply(Kind::Pod, &pod("p-a", "n0", Some("u1"))).expect("valid");
        cache.apply(Kind::Pod, &pod("stray", "n2", None)).expect("valid");
        cache.delete(Kind::Pod, &key("ns", "p-b"));
        let snapshot = cache.snapshot(&key("ns", "a"), now()).expect("cached");
        assert_eq!(names(&snapshot), vec!["p-a", "p-c", "stray"]);
        let shared = Arc::as_ptr(&snapshot.nodes);
        assert_eq!(
            Arc::as_ptr(&cache.snapshot(&key("ns", "a"), now()).expect("cached").nodes),
            shared,
            "nodes are shared until one changes"
        );
        cache.delete(Kind::Node, &key("", "n3"));
        assert_eq!(cache.snapshot(&key("ns", "a"), now()).expect("cached").nodes.len(), 2);
        cache.delete(Kind::DaemonSet, &key("ns", "a"));
        assert!(cache.snapshot(&key("ns", "a"), now()).is_none());
    }

    #[test]
    fn nodes_stay_sorted_once_each_and_a_snapshot_in_flight_keeps_the_nodes_it_was_taken_with() {
        let mut cache = cache_with_daemon_set_a();
        let node = |name: &str, zone: &str| json!({"metadata": {"name": name, "labels": {"zone": zone}}});
        for name in ["n3", "n1", "n2"] {
            cache.apply(Kind::Node, &node(name, "a")).expect("valid");
        }
        let before = cache.snapshot(&key("ns", "a"), now()).expect("cached");
        cache.apply(Kind::Node, &node("n2", "b")).expect("valid");
        cache.delete(Kind::Node, &key("", "n1"));
        cache.apply(Kind::Node, &node("n0", "a")).expect("valid");
        let after = cache.snapshot(&key("ns", "a"), now()).expect("cached");
        let listed = |snapshot: &Snapshot| {
            snapshot
                .nodes
                .iter()
                .map(|node| format!("{}:{}", node.name, node.labels.get("zone").unwrap_or_default()))
                .collect::<Vec<_>>()
        };
        assert_eq!(listed(&before), ["n1:a", "n2:a", "n3:a"]);
        assert_eq!(listed(&after), ["n0:a", "n2:b", "n3:a"]);
        assert_eq!(cache.node("n2").map(|node| node.labels.get("zone")), Some(Some("b")));
        assert!(cache.node("n1").is_none());
    }

    #[test]
    fn a_malformed_object_is_refused_and_leaves_the_cache_as_it_was() {
        let mut cache = Cache::default();
        cache.apply(Kind::Pod, &pod("p", "n1", None)).expect("valid");
        let broken = json!({"metadata": {"name": "p", "namespace": "ns", "creationTimestamp": "yesterday"}});
        assert!(cache.apply(Kind::Pod, &broken).is_err());
        assert_eq!(
            cache.orphans.get("ns").map(BTreeMap::len),
            Some(1),
            "the earlier version stays"
        );
    }
}
