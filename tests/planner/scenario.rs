//! Clusters for scenarios: a DaemonSet with its nodes, pods and revisions, as a Snapshot.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use daemonroll::snapshot::{BackoffEntry, DaemonSetView, Labels, NodeView, RevisionView, Snapshot};

use crate::support::*;

// ---------------------------------------------------------------- clusters

pub struct Cluster {
    daemon_set: DaemonSetView,
    nodes: Vec<NodeView>,
    pods: Vec<PodBuilder>,
    revisions: Vec<RevisionView>,
    backoff: BTreeMap<String, BackoffEntry>,
    expectations_satisfied: bool,
    burst: Option<usize>,
    last_good_controls: Option<Labels>,
    new_pod_hash: Option<String>,
}

pub fn cluster(daemon_set: DaemonSetBuilder) -> Cluster {
    Cluster {
        daemon_set: daemon_set.build(),
        nodes: Vec::new(),
        pods: Vec::new(),
        revisions: Vec::new(),
        backoff: BTreeMap::new(),
        expectations_satisfied: true,
        burst: None,
        last_good_controls: None,
        new_pod_hash: None,
    }
}

impl Cluster {
    pub fn nodes(mut self, nodes: impl IntoIterator<Item = NodeBuilder>) -> Self {
        self.nodes.extend(nodes.into_iter().map(NodeBuilder::build));
        self
    }

    pub fn pods(mut self, pods: impl IntoIterator<Item = PodBuilder>) -> Self {
        self.pods.extend(pods);
        self
    }

    pub fn revisions(mut self, revisions: impl IntoIterator<Item = RevisionView>) -> Self {
        self.revisions.extend(revisions);
        self
    }

    /// A failed pod on `node` was deleted `seconds_ago` with the backoff then at `delay`.
    pub fn backoff(mut self, node: &str, seconds_ago: i64, delay: Duration) -> Self {
        self.backoff.insert(
            node.into(),
            BackoffEntry {
                last_update: ago(seconds_ago),
                delay,
            },
        );
        self
    }

    pub fn expectations_pending(mut self) -> Self {
        self.expectations_satisfied = false;
        self
    }

    pub fn burst(mut self, burst: usize) -> Self {
        self.burst = Some(burst);
        self
    }

    /// Pods laid out on the cluster's nodes, one layout token per node in the order the nodes were
    /// given (see `layout_pods_on`).
    pub fn layout(mut self, layout: &str) -> Self {
        let names: Vec<String> = self.nodes.iter().map(|node| node.name.to_string()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        self.pods.extend(layout_pods_on(&names, layout));
        self
    }

    /// A `daemonroll.io/` annotation value that parsed in the previous sync (the controller keeps it).
    pub fn last_good(mut self, annotation: &str, value: &str) -> Self {
        self.last_good_controls
            .get_or_insert_with(Labels::new)
            .insert(annotation, value);
        self
    }

    /// The hash label of current-revision pods (`Revision::New`, layout `N` and `n`) instead of
    /// the current template's hash: kube-controller-manager's revision in coexist mode.
    pub fn new_pod_hash(mut self, hash: &str) -> Self {
        self.new_pod_hash = Some(hash.into());
        self
    }

    pub fn daemon_set(&self) -> &DaemonSetView {
        &self.daemon_set
    }

    pub fn snapshot(self) -> Snapshot {
        let hash = self
            .new_pod_hash
            .clone()
            .unwrap_or_else(|| current_hash(&self.daemon_set));
        let pods = self
            .pods
            .into_iter()
            .map(|p| Arc::new(p.build_for(&self.daemon_set, &hash)))
            .collect();
        let mut snapshot = Snapshot::new(self.daemon_set, now());
        snapshot.nodes = Arc::from(self.nodes);
        snapshot.pods = pods;
        snapshot.revisions = self.revisions;
        snapshot.failed_pod_backoff.entries = self.backoff;
        snapshot.expectations_satisfied = self.expectations_satisfied;
        if let Some(burst) = self.burst {
            snapshot.burst_replicas = burst;
        }
        snapshot.last_good_controls = self.last_good_controls;
        snapshot
    }
}
