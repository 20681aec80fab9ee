//! The simulated fleet's controllers, driven by store events (I/O: tokio task, clock).
//!
//! A scheduler, kubelets, the node lifecycle controller, the taint manager and the pod garbage
//! collector. What an operator or a test does to nodes and images is in `operations`.
//!
//! Invariants: every change is written through the store with a check of the object's current state,
//! so these components never fight each other or the controller under test; decisions are taken
//! from the stored objects alone, so a restart of the fleet task resumes where it was.

mod operations;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::errors::ApiError;
use super::resources::{self, Resource};
use super::scheduling::{evicted_by, misfit};
use super::store::{Event, EventType, Store, now_rfc3339};

/// What pods of a given image do once started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageBehaviour {
    /// The pod's containers exit with an error: phase Failed.
    Fail,
    /// Running but restarting: never Ready, restartCount climbs.
    CrashLoop,
    /// Running but the readiness probe never passes.
    NeverReady,
}

#[derive(Clone, Debug)]
pub struct FleetConfig {
    /// Delay from a pod's start to Ready.
    pub ready_after: Duration,
    /// How long a deleted pod stays terminating (capped by its grace period).
    pub terminate_after: Duration,
    pub images: HashMap<String, ImageBehaviour>,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            ready_after: Duration::from_secs(1),
            terminate_after: Duration::from_millis(200),
            images: HashMap::new(),
        }
    }
}

const ACTOR: &str = "sim-fleet";

fn pods() -> &'static Resource {
    resources::builtin("", "pods")
}

fn nodes() -> &'static Resource {
    resources::builtin("", "nodes")
}

fn text<'v>(object: &'v Value, pointer: &str) -> &'v str {
    object.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// Whether a node's or pod's `Ready` condition is True.
pub fn ready_condition_true(object: &Value) -> bool {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| text(c, "/type") == "Ready"))
        .is_some_and(|c| text(c, "/status") == "True")
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    Ready {
        namespace: String,
        name: String,
        uid: String,
    },
    Terminate {
        namespace: String,
        name: String,
        uid: String,
    },
}

/// A handle on the running fleet: node operations and image behaviours, for tests and the CLI.
#[derive(Clone)]
pub struct Fleet {
    store: Arc<Store>,
    config: Arc<Mutex<FleetConfig>>,
}

impl Fleet {
    /// Starts the fleet's task; it runs until the store's event channel closes or the task is aborted.
    pub fn spawn(store: Arc<Store>, config: FleetConfig) -> (Fleet, JoinHandle<()>) {
        let fleet = Fleet {
            store,
            config: Arc::new(Mutex::new(config)),
        };
        let task = tokio::spawn(run(fleet.clone()));
        (fleet, task)
    }

    fn config(&self) -> FleetConfig {
        self.config.lock().clone()
    }
}

struct Runner {
    fleet: Fleet,
    timers: BinaryHeap<Reverse<(Instant, Due)>>,
    /// Pods with a Ready or Terminate timer pending (by uid).
    pending: HashSet<String>,
    /// Pods reported unschedulable, by uid (namespace, name): retried whenever a node changes,
    /// as kube-scheduler moves them back to its active queue; the condition is written once.
    unschedulable: HashMap<String, (String, String)>,
}

async fn run(fleet: Fleet) {
    let mut events = fleet.store.subscribe();
    let mut runner = Runner {
        fleet,
        timers: BinaryHeap::new(),
        pending: HashSet::new(),
        unschedulable: HashMap::new(),
    };
    runner.sweep();
    loop {
        let next = runner.timers.peek().map(|Reverse((at, _))| *at);
        let sleep = async {
            match next {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            received = events.recv() => match received {
                Ok(event) => runner.on_event(&event),
                // Missed events: look at everything again.
                Err(broadcast::error::RecvError::Lagged(_)) => runner.sweep(),
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = sleep => runner.fire_due(),
        }
    }
}

impl Runner {
    fn store(&self) -> &Store {
        &self.fleet.store
    }

    fn sweep(&mut self) {
        let (all_pods, _) = self.store().list(pods(), None);
        for pod in all_pods {
            self.on_pod(&pod);
        }
        let (all_nodes, _) = self.store().list(nodes(), None);
        for node in all_nodes {
            self.on_node(&node);
        }
    }

    fn on_event(&mut self, event: &Event) {
        let object = &event.object;
        match (event.resource.kind, event.event_type) {
            ("Pod", EventType::Deleted) => {
                self.pending.remove(object.uid());
                self.unschedulable.remove(object.uid());
            }
            ("Pod", _) => self.on_pod(&object.value()),
            ("Node", EventType::Deleted) => self.collect_pods_of(object.name()),
            ("Node", _) => self.on_node(&object.value()),
            _ => {}
        }
    }

    fn schedule(&mut self, delay: Duration, due: Due, uid: &str) {
        if self.pending.insert(uid.to_string()) {
            self.timers.push(Reverse((Instant::now() + delay, due)));
        }
    }

    fn on_pod(&mut self, pod: &Value) {
        let namespace = text(pod, "/metadata/namespace").to_string();
        let name = text(pod, "/metadata/name").to_string();
        let uid = text(pod, "/metadata/uid").to_string();
        let node_name = text(pod, "/spec/nodeName").to_string();
        if pod.pointer("/metadata/deletionTimestamp").is_some() {
            if !node_name.is_empty() {
                let grace = pod
                    .pointer("/metadata/deletionGracePeriodSeconds")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let delay = self.fleet.config().terminate_after.min(Duration::from_secs(grace));
                self.pending.remove(&uid);
                self.schedule(
                    delay,
                    Due::Terminate {
                        namespace,
                        name,
                        uid: uid.clone(),
                    },
                    &uid,
                );
            }
            return;
        }
        if node_name.is_empty() {
            self.bind(pod, &namespace, &name, &uid);
            return;
        }
        let Some(node) = self.store().get(nodes(), "", &node_name) else {
            // Bound to a node that is gone: the pod garbage collector deletes it.
            let _ = self
                .store()
                .write(pods(), &namespace, &name, "sim-pod-gc", "delete", |current, _| {
                    Ok(current.and(None))
                });
            return;
        };
        match text(pod, "/status/phase") {
            "Pending" | "" => self.start(&namespace, &name, &uid, pod, ready_condition_true(&node)),
            "Running" => {
                let ready = pod
                    .pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .and_then(|c| c.iter().find(|c| text(c, "/type") == "Ready"))
                    .is_some_and(|c| text(c, "/status") == "True");
                if !ready && ready_condition_true(&node) && self.behaviour(pod).is_none() {
                    let delay = self.fleet.config().ready_after;
                    self.schedule(
                        delay,
                        Due::Ready {
                            namespace,
                            name,
                            uid: uid.clone(),
                        },
                        &uid,
                    );
                }
            }
            _ => {}
        }
    }

    fn behaviour(&self, pod: &Value) -> Option<ImageBehaviour> {
        let image = text(pod, "/spec/containers/0/image");
        self.fleet.config().images.get(image).copied()
    }

    fn bind(&mut self, pod: &Value, namespace: &str, name: &str, uid: &str) {
        // Daemon pods name their node in a `metadata.name In [node]` term: look that node up directly
        // instead of filtering every node (the filters still decide).
        let pinned = pod
            .pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
            .and_then(Value::as_array)
            .filter(|terms| terms.len() == 1)
            .and_then(|terms| terms[0].get("matchFields").and_then(Value::as_array))
            .and_then(|fields| {
                fields
                    .iter()
                    .find(|f| text(f, "/key") == "metadata.name" && text(f, "/operator") == "In")
            })
            .and_then(|field| field.get("values").and_then(Value::as_array))
            .filter(|values| values.len() == 1)
            .and_then(|values| values[0].as_str());
        let candidates: Vec<Arc<Value>> = match pinned {
            Some(node) => self.store().get(nodes(), "", node).into_iter().collect(),
            None => self.store().list(nodes(), None).0,
        };
        let fit = candidates.iter().find(|node| misfit(pod, node).is_none());
        match fit {
            Some(node) => {
                let node_name = text(node, "/metadata/name").to_string();
                let _ = self
                    .store()
                    .write(pods(), namespace, name, "sim-scheduler", "bind", |current, _| {
                        let Some(current) = current.filter(|c| text(c, "/spec/nodeName").is_empty()) else {
                            return Err(ApiError::status(409, "already bound"));
                        };
                        let mut bound = current.clone();
                        bound["spec"]["nodeName"] = json!(node_name);
                        Ok(Some(bound))
                    });
                self.unschedulable.remove(uid);
            }
            None if self
                .unschedulable
                .insert(uid.to_string(), (namespace.to_string(), name.to_string()))
                .is_none() =>
            {
                let why = candidates
                    .iter()
                    .filter_map(|node| misfit(pod, node))
                    .next()
                    .unwrap_or_else(|| "the node the pod is pinned to does not exist".into());
                let total = self.store().count(nodes(), None);
                let message = format!("0/{total} nodes are available: {why}.");
                let _ = self.store().write(pods(), namespace, name, "sim-scheduler", "status", |current, _| {
                    let mut pending = current.cloned().ok_or_else(|| ApiError::not_found(pods(), name))?;
                    pending["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                                             "message": message, "lastTransitionTime": now_rfc3339()}]);
                    Ok(Some(pending))
                });
            }
            None => {}
        }
    }

    fn start(&mut self, namespace: &str, name: &str, uid: &str, pod: &Value, node_is_ready: bool) {
        let behaviour = self.behaviour(pod);
        let ready_now = behaviour.is_none() && node_is_ready && self.fleet.config().ready_after.is_zero();
        let _ = self.store().write(pods(), namespace, name, "sim-kubelet", "status", |current, _| {
            let mut started = current.cloned().ok_or_else(|| ApiError::not_found(pods(), name))?;
            if !matches!(text(&started, "/status/phase"), "Pending" | "") || started.pointer("/metadata/deletionTimestamp").is_some() {
                return Err(ApiError::status(409, "already started"));
            }
            let now = now_rfc3339();
            let failed = behaviour == Some(ImageBehaviour::Fail);
            let containers = started.pointer("/spec/containers").and_then(Value::as_array).cloned().unwrap_or_default();
            let statuses: Vec<Value> = containers
                .iter()
                .map(|c| {
                    let state = if failed {
                        json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now, "finishedAt": now}})
                    } else if behaviour == Some(ImageBehaviour::CrashLoop) {
                        json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container"}})
                    } else {
                        json!({"running": {"startedAt": now}})
                    };
                    json!({"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": ready_now,
                           "started": !failed, "restartCount": if behaviour == Some(ImageBehaviour::CrashLoop) { 3 } else { 0 }, "state": state})
                })
                .collect();
            let ready = if ready_now { "True" } else { "False" };
            started["status"] = json!({
                "phase": if failed { "Failed" } else { "Running" },
                "hostIP": "10.0.0.1",
                "podIP": format!("10.244.0.{}", uid.len() % 250 + 2),
                "startTime": now,
                "containerStatuses": statuses,
                "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                    {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                    {"type": "ContainersReady", "status": ready, "lastTransitionTime": now},
                    {"type": "Ready", "status": ready, "lastTransitionTime": now},
                ],
            });
            Ok(Some(started))
        });
    }

    fn on_node(&mut self, node: &Value) {
        let waiting: Vec<(String, String)> = self.unschedulable.values().cloned().collect();
        for (namespace, name) in waiting {
            if let Some(pod) = self.store().get(pods(), &namespace, &name) {
                self.on_pod(&pod);
            }
        }
        let node_name = text(node, "/metadata/name");
        let ready = ready_condition_true(node);
        for pod in self.pods_on(node_name) {
            let pod = &pod;
            let namespace = text(pod, "/metadata/namespace").to_string();
            let name = text(pod, "/metadata/name").to_string();
            if pod.pointer("/metadata/deletionTimestamp").is_some() {
                continue;
            }
            // The taint manager evicts pods that do not tolerate a NoExecute taint.
            if let Some(taint) = evicted_by(pod, node) {
                tracing::debug!(pod = %name, node = %node_name, %taint, "evicting pod");
                let _ = self.store().write(
                    pods(),
                    &namespace,
                    &name,
                    "sim-taint-manager",
                    "delete",
                    |current, _| Ok(current.and(None)),
                );
                continue;
            }
            if !ready {
                // The node lifecycle controller marks pods of an unresponsive node not ready.
                let _ = self.store().write(
                    pods(),
                    &namespace,
                    &name,
                    "sim-node-lifecycle",
                    "status",
                    |current, _| {
                        let mut pod = current.cloned().ok_or_else(|| ApiError::not_found(pods(), &name))?;
                        let mut changed = false;
                        if let Some(conditions) = pod.pointer_mut("/status/conditions").and_then(Value::as_array_mut) {
                            for condition in conditions
                                .iter_mut()
                                .filter(|c| text(c, "/type") == "Ready" && text(c, "/status") == "True")
                            {
                                condition["status"] = json!("False");
                                condition["lastTransitionTime"] = json!(now_rfc3339());
                                changed = true;
                            }
                        }
                        if changed {
                            Ok(Some(pod))
                        } else {
                            Err(ApiError::status(409, "unchanged"))
                        }
                    },
                );
            } else {
                self.on_pod(pod);
            }
        }
    }

    /// The pods bound to `node_name`, parsed; the others are skipped unparsed.
    fn pods_on(&self, node_name: &str) -> Vec<Value> {
        let (all_pods, _) = self.store().list_stored(pods(), None);
        all_pods
            .iter()
            .filter(|pod| pod.node_name() == node_name)
            .map(|pod| pod.value())
            .collect()
    }

    fn collect_pods_of(&mut self, node_name: &str) {
        for pod in self.pods_on(node_name) {
            let namespace = text(&pod, "/metadata/namespace").to_string();
            let name = text(&pod, "/metadata/name").to_string();
            let _ = self
                .store()
                .write(pods(), &namespace, &name, "sim-pod-gc", "delete", |current, _| {
                    Ok(current.and(None))
                });
        }
    }

    fn fire_due(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, due))) = self.timers.pop() else {
                break;
            };
            match due {
                Due::Ready { namespace, name, uid } => {
                    self.pending.remove(&uid);
                    let _ = self
                        .store()
                        .write(pods(), &namespace, &name, "sim-kubelet", "status", |current, _| {
                            let mut pod = current
                                .filter(|p| text(p, "/metadata/uid") == uid)
                                .cloned()
                                .ok_or_else(|| ApiError::not_found(pods(), &name))?;
                            if pod.pointer("/metadata/deletionTimestamp").is_some()
                                || text(&pod, "/status/phase") != "Running"
                            {
                                return Err(ApiError::status(409, "not running"));
                            }
                            let now = now_rfc3339();
                            if let Some(conditions) =
                                pod.pointer_mut("/status/conditions").and_then(Value::as_array_mut)
                            {
                                for condition in conditions
                                    .iter_mut()
                                    .filter(|c| matches!(text(c, "/type"), "Ready" | "ContainersReady"))
                                {
                                    condition["status"] = json!("True");
                                    condition["lastTransitionTime"] = json!(now);
                                }
                            }
                            if let Some(statuses) = pod
                                .pointer_mut("/status/containerStatuses")
                                .and_then(Value::as_array_mut)
                            {
                                for status in statuses {
                                    status["ready"] = json!(true);
                                }
                            }
                            Ok(Some(pod))
                        });
                }
                Due::Terminate { namespace, name, uid } => {
                    self.pending.remove(&uid);
                    let _ = self
                        .store()
                        .write(
                            pods(),
                            &namespace,
                            &name,
                            "sim-kubelet",
                            "delete",
                            |current, _| match current.filter(|p| text(p, "/metadata/uid") == uid) {
                                Some(_) => Ok(None),
                                None => Err(ApiError::not_found(pods(), &name)),
                            },
                        );
                }
            }
        }
    }
}
