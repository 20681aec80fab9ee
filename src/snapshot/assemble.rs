//! The one rule for what a Snapshot holds, for snapshots from the controller's store and from dump
//! files alike (pure).
//!
//! Invariants of an assembled Snapshot: `nodes` sorted by name, each name once (the caller's list
//! is: a sorted map in the store, sorted and checked for duplicates in a dump); `pods` are the
//! DaemonSet's candidates (controlled by its uid, or without a controller) sorted by (target node,
//! name), so the planner joins nodes and pods without hashing; `revisions` are every revision of
//! the namespace (names matter for collisions).

use std::sync::Arc;

use super::{DaemonSetView, NodeView, PodView, RevisionView, Snapshot, Timestamp};

/// Whether `pod` is one the DaemonSet may own or adopt: its controller is this DaemonSet (by uid),
/// or it has none. Pods controlled by anything else are never the DaemonSet's business.
pub fn is_candidate(pod: &PodView, daemon_set: &DaemonSetView) -> bool {
    pod.controller
        .as_ref()
        .is_none_or(|controller| controller.uid == daemon_set.uid)
}

/// Orders pods by target node, then name: the order the planner's join walks in.
pub fn sort_by_target_node(pods: &mut [Arc<PodView>]) {
    pods.sort_by(|a, b| (a.target_node.as_deref(), a.name.as_str()).cmp(&(b.target_node.as_deref(), b.name.as_str())));
}

impl Snapshot {
    /// The Snapshot of `daemon_set` from pods of its namespace (any subset that includes its
    /// candidates; others are left out). `nodes` must be sorted by name, each name once (two nodes
    /// of one name would each seem to need a pod). Sorting the pods costs a linear pass when they
    /// come already ordered, as the store's per-owner index yields them.
    pub fn assemble<'p>(
        daemon_set: DaemonSetView,
        nodes: Arc<Vec<NodeView>>,
        namespace_pods: impl IntoIterator<Item = &'p Arc<PodView>>,
        revisions: Vec<RevisionView>,
        now: Timestamp,
    ) -> Snapshot {
        debug_assert!(
            nodes.is_sorted_by(|a, b| a.name < b.name),
            "nodes must be sorted by name, each name once"
        );
        let mut pods: Vec<Arc<PodView>> = namespace_pods
            .into_iter()
            .filter(|pod| is_candidate(pod, &daemon_set))
            .cloned()
            .collect();
        sort_by_target_node(&mut pods);
        let mut snapshot = Snapshot::new(daemon_set, now);
        snapshot.nodes = nodes;
        snapshot.pods = pods;
        snapshot.revisions = revisions;
        snapshot
    }
}
