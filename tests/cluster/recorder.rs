//! The test's own record of the pods: a watch it runs itself, every change stamped with the time
//! it arrived, and the invariants checked at every change. Nothing here trusts what a controller
//! reports about itself.
#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher;
use kube::{Api, Client};
use parking_lot::Mutex;
use serde_json::Value;

use crate::fixtures::node_names;
use crate::pod_fields::*;

#[derive(Clone, Debug)]
pub enum Change {
    /// Created or changed: the pod as the watch delivered it.
    Seen(Arc<Value>),
    /// Gone from the API server.
    Gone(String),
}

#[derive(Clone, Debug)]
pub struct Observation {
    pub at: DateTime<Utc>,
    pub change: Change,
}

/// A position in the record.
#[derive(Clone, Copy, Debug)]
pub struct Mark(usize);

pub struct PodRecorder {
    observations: Arc<Mutex<Vec<Observation>>>,
    task: tokio::task::JoinHandle<()>,
}

impl PodRecorder {
    /// Watches the pods of `namespace`; returns once the first list is in.
    pub async fn start(client: Client, namespace: &str) -> PodRecorder {
        let observations = Arc::new(Mutex::new(Vec::new()));
        let (listed, ready) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(record(
            Api::namespaced(client, namespace),
            Arc::clone(&observations),
            listed,
        ));
        let _ = ready.await;
        PodRecorder { observations, task }
    }

    pub fn mark(&self) -> Mark {
        Mark(self.observations.lock().len())
    }

    /// Replays the record and checks `budget`'s invariants at every change after `since`.
    pub fn check(&self, since: Mark, budget: &Budget) -> Replay {
        check_invariants(&self.observations.lock(), since.0, budget)
    }
}

impl Drop for PodRecorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(pods: Api<Pod>, observations: Arc<Mutex<Vec<Observation>>>, listed: tokio::sync::oneshot::Sender<()>) {
    let mut listed = Some(listed);
    let mut present: BTreeSet<String> = BTreeSet::new();
    let mut relisted: BTreeSet<String> = BTreeSet::new();
    let config = watcher::Config::default();
    let mut stream = watcher(pods, config).boxed();
    while let Some(event) = stream.next().await {
        let Ok(event) = event else { continue };
        let mut log = observations.lock();
        let mut seen = |pod: Pod, present: &mut BTreeSet<String>| {
            let value = serde_json::to_value(&pod).unwrap_or_default();
            present.insert(text(&value, "/metadata/uid").to_string());
            log.push(Observation {
                at: Utc::now(),
                change: Change::Seen(Arc::new(value)),
            });
        };
        match event {
            watcher::Event::Init => relisted.clear(),
            watcher::Event::InitApply(pod) => {
                let value = serde_json::to_value(&pod).unwrap_or_default();
                relisted.insert(text(&value, "/metadata/uid").to_string());
                seen(pod, &mut present);
            }
            watcher::Event::InitDone => {
                // A watch that had to list again: whatever is missing from the list is gone.
                for uid in present.difference(&relisted).cloned().collect::<Vec<_>>() {
                    present.remove(&uid);
                    log.push(Observation {
                        at: Utc::now(),
                        change: Change::Gone(uid),
                    });
                }
                if let Some(listed) = listed.take() {
                    let _ = listed.send(());
                }
            }
            watcher::Event::Apply(pod) => seen(pod, &mut present),
            watcher::Event::Delete(pod) => {
                let uid = pod.metadata.uid.clone().unwrap_or_default();
                present.remove(&uid);
                log.push(Observation {
                    at: Utc::now(),
                    change: Change::Gone(uid),
                });
            }
        }
    }
}

/// What the invariants allow for one DaemonSet: `Budget::rolling("agent").nodes(12).at_most_unavailable(2)`.
#[derive(Clone, Debug)]
pub struct Budget {
    daemon_set: String,
    nodes: Vec<String>,
    max_unavailable: usize,
    surge: bool,
    min_ready: chrono::Duration,
}

impl Budget {
    pub fn rolling(daemon_set: &str) -> Budget {
        Budget {
            daemon_set: daemon_set.into(),
            nodes: Vec::new(),
            max_unavailable: 0,
            surge: false,
            min_ready: chrono::Duration::zero(),
        }
    }

    /// Availability is counted over node-001 … node-<count>.
    pub fn nodes(mut self, count: usize) -> Self {
        self.nodes = node_names(count);
        self
    }

    pub fn at_most_unavailable(mut self, count: usize) -> Self {
        self.max_unavailable = count;
        self
    }

    /// maxSurge > 0: a node may run an old and a new pod side by side.
    pub fn surge(mut self) -> Self {
        self.surge = true;
        self
    }

    pub fn min_ready_seconds(mut self, seconds: i64) -> Self {
        self.min_ready = chrono::Duration::seconds(seconds);
        self
    }
}

/// What a replay found.
#[derive(Debug, Default)]
pub struct Replay {
    pub max_pods_on_a_node: usize,
    pub max_unavailable_seen: usize,
    /// Pods of the DaemonSet first seen after the mark.
    pub pod_creates: usize,
    /// Pods of the DaemonSet marked for deletion, or gone, after the mark.
    pub pod_deletes: usize,
}

fn check_invariants(observations: &[Observation], from: usize, budget: &Budget) -> Replay {
    let mut pods: HashMap<String, Arc<Value>> = HashMap::new();
    let mut deleting: BTreeSet<String> = BTreeSet::new();
    let mut replay = Replay::default();
    for (index, observation) in observations.iter().enumerate() {
        let counted = index >= from;
        match &observation.change {
            Change::Seen(pod) => {
                if controller_name(pod).as_deref() != Some(budget.daemon_set.as_str()) {
                    continue;
                }
                let uid = text(pod, "/metadata/uid").to_string();
                let new = pods.insert(uid.clone(), Arc::clone(pod)).is_none();
                if counted && new {
                    replay.pod_creates += 1;
                }
                if counted && is_terminating(pod) && deleting.insert(uid) {
                    replay.pod_deletes += 1;
                }
            }
            Change::Gone(uid) => {
                if pods.remove(uid).is_some() && counted && deleting.insert(uid.clone()) {
                    replay.pod_deletes += 1;
                }
            }
        }
        if counted {
            check_instant(&pods, observation.at, budget, &mut replay);
        }
    }
    replay
}

/// Invariants 1 (pods per node) and 2 (the budget) at one instant.
fn check_instant(pods: &HashMap<String, Arc<Value>>, at: DateTime<Utc>, budget: &Budget, replay: &mut Replay) {
    let mut per_node: HashMap<String, Vec<&Value>> = HashMap::new();
    for pod in pods.values() {
        per_node.entry(pod_node(pod)).or_default().push(pod);
    }
    let most = per_node.values().map(Vec::len).max().unwrap_or(0);
    replay.max_pods_on_a_node = replay.max_pods_on_a_node.max(most);
    let allowed = if budget.surge { 2 } else { 1 };
    assert!(
        most <= allowed,
        "{most} pods of {} on one node at {at}",
        budget.daemon_set
    );
    let unavailable: Vec<&String> = budget
        .nodes
        .iter()
        .filter(|node| {
            !per_node.get(*node).is_some_and(|pods| {
                pods.iter().any(|pod| {
                    !is_terminating(pod) && ready_since(pod).is_some_and(|since| since + budget.min_ready <= at)
                })
            })
        })
        .collect();
    replay.max_unavailable_seen = replay.max_unavailable_seen.max(unavailable.len());
    assert!(
        unavailable.len() <= budget.max_unavailable,
        "{} nodes without an available pod of {} at {at} (budget {}): {unavailable:?}",
        unavailable.len(),
        budget.daemon_set,
        budget.max_unavailable
    );
}
