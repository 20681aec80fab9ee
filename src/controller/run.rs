//! `daemonroll run`: watches feed the stores, workers sync DaemonSets through the planner and the
//! executor (I/O).
//!
//! Invariants: no DaemonSet is synced before all four stores have completed their first list; a key
//! is synced by one worker at a time; a failed sync is retried with per-key backoff while the other
//! DaemonSets keep being served; on shutdown, no new sync starts and in-flight syncs finish.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;
use tokio::sync::watch;

use super::cache::object_key;
use super::expectations::Expectations;
use super::queue::WorkQueue;
use super::stores::{Stores, Triggered};
use crate::executor::api::{ApiClient, WriteGate};
use crate::executor::events::{DaemonSetEvent, EventSink};
use crate::executor::{Applied, Executor, SyncError};
use crate::ops::leader::{LeaderElector, LeaderError};
use crate::ops::metrics::{ErrorLabels, Metrics, OutcomeLabels};
use crate::planner;
use crate::snapshot::{DEFAULT_BURST_REPLICAS, FailedPodBackoff};
use k8s_openapi::api::core::v1::ObjectReference;

/// When to look again at a DaemonSet whose cached copy was found outdated.
const STALE_RETRY: Duration = Duration::from_secs(1);

/// What `daemonroll run` manages and how hard it works.
#[derive(Clone, Debug)]
pub struct Options {
    /// Only DaemonSets (and their pods and revisions) in this namespace.
    pub namespace: Option<String>,
    /// Only DaemonSets whose labels match this selector.
    pub selector: Option<String>,
    /// DaemonSets synced in parallel.
    pub workers: usize,
    /// Creates (and deletes) one sync may issue.
    pub burst_replicas: usize,
    /// Least time between two status writes of one DaemonSet; a deferred status is written when it ends.
    pub status_interval: Duration,
    /// Distinguishes this replica in Events.
    pub instance: Option<String>,
    /// Client-side limit on API requests of the executor: (queries per second, burst).
    pub api_rate_limit: Option<(f64, u32)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            namespace: None,
            selector: None,
            workers: 2,
            burst_replicas: DEFAULT_BURST_REPLICAS,
            status_interval: Duration::from_secs(1),
            instance: None,
            api_rate_limit: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    DaemonSet,
    Pod,
    Node,
    ControllerRevision,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::DaemonSet, Kind::Pod, Kind::Node, Kind::ControllerRevision];

    fn name(self) -> &'static str {
        match self {
            Kind::DaemonSet => "DaemonSet",
            Kind::Pod => "Pod",
            Kind::Node => "Node",
            Kind::ControllerRevision => "ControllerRevision",
        }
    }

    fn resource(self) -> ApiResource {
        use k8s_openapi::api::{apps::v1 as apps, core::v1 as core};
        match self {
            Kind::DaemonSet => ApiResource::erase::<apps::DaemonSet>(&()),
            Kind::Pod => ApiResource::erase::<core::Pod>(&()),
            Kind::Node => ApiResource::erase::<core::Node>(&()),
            Kind::ControllerRevision => ApiResource::erase::<apps::ControllerRevision>(&()),
        }
    }
}

/// The controller's shared state: stores, expectations, queue and per-DaemonSet bookkeeping.
pub struct Controller {
    options: Options,
    stores: Mutex<Stores>,
    expectations: Arc<Expectations>,
    queue: Arc<WorkQueue>,
    executor: Executor,
    backoff: Mutex<HashMap<String, FailedPodBackoff>>,
    last_status_write: Mutex<HashMap<String, Instant>>,
    synced_kinds: watch::Sender<usize>,
    metrics: Arc<Metrics>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Controller {
    /// A controller whose writes pass through `gate` (open it for a single replica) and whose
    /// measurements go to `metrics`.
    pub fn new(client: kube::Client, options: Options, gate: WriteGate, metrics: Arc<Metrics>) -> Arc<Self> {
        let expectations = Arc::new(Expectations::default());
        let events = EventSink::start(client.clone(), options.instance.clone(), gate.clone());
        let mut api = ApiClient::new(client).with_gate(gate);
        if let Some((qps, burst)) = options.api_rate_limit {
            api = api.with_rate_limit(qps, burst);
        }
        let executor = Executor::new(api, events, Arc::clone(&expectations));
        Arc::new(Controller {
            options,
            stores: Mutex::default(),
            expectations,
            queue: Arc::new(WorkQueue::default()),
            executor,
            backoff: Mutex::default(),
            last_status_write: Mutex::default(),
            synced_kinds: watch::Sender::new(0),
            metrics,
        })
    }

    /// Whether every store has completed its first list.
    pub fn is_synced(&self) -> bool {
        *self.synced_kinds.borrow() == Kind::ALL.len()
    }

    fn enqueue(&self, triggered: Triggered) {
        for key in triggered.now {
            self.queue.add(&key);
        }
        for (key, delay) in triggered.later {
            self.queue.add_after(&key, delay);
        }
    }

    fn on_applied(&self, kind: Kind, object: &Value) {
        let result = lock(&self.stores).applied(kind.name(), object, &self.expectations);
        match result {
            Ok(triggered) => self.enqueue(triggered),
            Err(error) => {
                let (namespace, name) = object_key(object);
                tracing::warn!(kind = kind.name(), namespace, name, %error, "ignoring a malformed object");
                if kind == Kind::DaemonSet {
                    let uid = object.pointer("/metadata/uid").and_then(Value::as_str);
                    self.executor.events().send(DaemonSetEvent {
                        warning: true,
                        reason: "InvalidDaemonSet".into(),
                        message: format!("daemonroll cannot read this DaemonSet and leaves it alone: {error}"),
                        regarding: ObjectReference {
                            api_version: Some("apps/v1".into()),
                            kind: Some("DaemonSet".into()),
                            namespace: Some(namespace),
                            name: Some(name),
                            uid: uid.map(str::to_string),
                            ..ObjectReference::default()
                        },
                        related: None,
                    });
                }
            }
        }
    }

    fn on_deleted(&self, kind: Kind, namespace: &str, name: &str) {
        let namespace = if namespace.is_empty() && kind != Kind::Node {
            "default"
        } else {
            namespace
        };
        let triggered = lock(&self.stores).deleted(kind.name(), namespace, name, &self.expectations);
        self.enqueue(triggered);
    }

    async fn watch(self: Arc<Self>, client: kube::Client, kind: Kind) {
        let resource = kind.resource();
        let api: Api<DynamicObject> = match (&self.options.namespace, kind) {
            (Some(namespace), Kind::DaemonSet | Kind::Pod | Kind::ControllerRevision) => {
                Api::namespaced_with(client, namespace, &resource)
            }
            _ => Api::all_with(client, &resource),
        };
        let mut config = watcher::Config::default();
        if kind == Kind::DaemonSet {
            config.label_selector = self.options.selector.clone();
        }
        let mut stream = watcher(api, config).default_backoff().boxed();
        let mut listed: Option<HashSet<(String, String)>> = None;
        let mut synced = false;
        while let Some(event) = stream.next().await {
            let event = match event {
                Ok(event) => event,
                Err(error) => {
                    tracing::warn!(kind = kind.name(), %error, "watch failed; retrying with backoff");
                    continue;
                }
            };
            let to_value = |object: &DynamicObject| serde_json::to_value(object).unwrap_or(Value::Null);
            match event {
                watcher::Event::Init => listed = Some(HashSet::new()),
                watcher::Event::InitApply(object) => {
                    let value = to_value(&object);
                    if let Some(listed) = &mut listed {
                        listed.insert(object_key(&value));
                    }
                    self.on_applied(kind, &value);
                }
                watcher::Event::InitDone => {
                    // Objects missing from a re-list were deleted while the watch was down.
                    let listed = listed.take().unwrap_or_default();
                    let cached = lock(&self.stores).cache.keys(kind.name());
                    for (namespace, name) in cached {
                        let listed_namespace = if kind == Kind::Node {
                            String::new()
                        } else {
                            namespace.clone()
                        };
                        if !listed.contains(&(listed_namespace, name.clone())) {
                            self.on_deleted(kind, &namespace, &name);
                        }
                    }
                    if !synced {
                        synced = true;
                        self.synced_kinds.send_modify(|count| *count += 1);
                        tracing::info!(kind = kind.name(), "store synced");
                    }
                }
                watcher::Event::Apply(object) => self.on_applied(kind, &to_value(&object)),
                watcher::Event::Delete(object) => {
                    let (namespace, name) = object_key(&to_value(&object));
                    self.on_deleted(kind, &namespace, &name);
                }
            }
        }
    }

    /// One sync of `key`; returns when to sync again regardless of events.
    async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let Some((namespace, name)) = key.split_once('/') else {
            return Ok(None);
        };
        let started = Instant::now();
        // Expectations before the cache: observations are applied to the cache before they lower expectations.
        let satisfied = self.expectations.satisfied(key, started);
        let snapshot = lock(&self.stores).cache.snapshot(namespace, name, chrono::Utc::now());
        let Some(mut snapshot) = snapshot else {
            tracing::debug!(ds = key, "DaemonSet gone; forgetting its bookkeeping");
            self.expectations.forget(key);
            lock(&self.backoff).remove(key);
            lock(&self.last_status_write).remove(key);
            self.metrics.forget(namespace, name);
            return Ok(None);
        };
        snapshot.expectations_satisfied = satisfied;
        snapshot.burst_replicas = self.options.burst_replicas;
        snapshot.failed_pod_backoff = lock(&self.backoff).get(key).cloned().unwrap_or_default();

        let plan = planner::plan(&snapshot);
        if let Some(update) = &plan.status {
            let status = &update.status;
            let current = status.observed_generation >= snapshot.daemon_set.generation;
            self.metrics.record_status(namespace, name, &status.counts, current);
        }
        for problem in &plan.problems {
            tracing::debug!(ds = key, problem, "sync problem");
        }
        for event in plan.events.iter().filter(|e| e.warning) {
            tracing::warn!(ds = key, reason = event.reason, "{}", event.message);
        }
        let mut requeue = plan.requeue_after;
        let mut write_status = true;
        if plan.status.is_some_and(|status| status.changed)
            && let Some(last) = lock(&self.last_status_write).get(key)
        {
            let since = started.saturating_duration_since(*last);
            if since < self.options.status_interval {
                write_status = false;
                let wait = self.options.status_interval - since;
                requeue = Some(requeue.map_or(wait, |r| r.min(wait)));
            }
        }
        let result = self.executor.apply(key, &plan, write_status).await;
        // Upstream advances a node's failed-pod backoff when manage picks the pod, whatever the delete
        // returns; a sync that wrote nothing (stale cache) picked nothing.
        let stale = matches!(result, Ok(Applied { stale: true, .. }));
        if !plan.backoff_updates.is_empty() && !stale {
            let mut backoff = lock(&self.backoff);
            let entries = &mut backoff.entry(key.to_string()).or_default().entries;
            for (node, entry) in &plan.backoff_updates {
                entries.insert(node.to_string(), *entry);
            }
        }
        if let Ok(applied) = &result {
            self.metrics.pods_created.inc_by(applied.created as u64);
            self.metrics.pods_deleted.inc_by(applied.deleted as u64);
        }
        match result {
            Ok(Applied {
                status_written: true, ..
            }) => {
                lock(&self.last_status_write).insert(key.to_string(), Instant::now());
            }
            // The watch brings the newer DaemonSet and a sync with it; this requeue is a safety net.
            Ok(Applied { stale: true, .. }) => requeue = Some(STALE_RETRY),
            _ => {}
        }
        tracing::debug!(ds = key, elapsed_ms = started.elapsed().as_millis() as u64, "synced");
        result.map(|_| requeue)
    }

    async fn work(self: Arc<Self>) {
        while let Some(key) = self.queue.next().await {
            let started = Instant::now();
            // A panic in one sync must not take the worker, or leave the key marked in progress.
            let sync = {
                let this = Arc::clone(&self);
                let key = key.clone();
                tokio::spawn(async move { this.sync(&key).await })
            };
            let result = match sync.await {
                Ok(result) => result,
                Err(error) => {
                    tracing::error!(ds = %key, %error, "sync panicked");
                    Err(SyncError::Panicked)
                }
            };
            self.metrics.sync_duration.observe(started.elapsed().as_secs_f64());
            let outcome = if result.is_ok() { "success" } else { "error" };
            self.metrics
                .syncs
                .get_or_create(&OutcomeLabels { result: outcome })
                .inc();
            if let Err(error) = &result {
                let kind = match error {
                    SyncError::Api(_) => "api",
                    SyncError::PodWrites { .. } => "pod_writes",
                    SyncError::Collision(_) => "collision",
                    SyncError::Panicked => "panic",
                };
                self.metrics
                    .sync_errors
                    .get_or_create(&ErrorLabels { kind: kind.into() })
                    .inc();
            }
            let pending = self.expectations.pending_count(Instant::now());
            self.metrics.expectations_pending.set(pending as i64);
            match result {
                Ok(requeue) => {
                    self.queue.forget(&key);
                    if let Some(delay) = requeue {
                        self.queue.add_after(&key, delay);
                    }
                }
                Err(error) => {
                    let delay = self.queue.add_rate_limited(&key);
                    tracing::warn!(ds = %key, %error, retry_in_ms = delay.as_millis() as u64, "sync failed");
                }
            }
            self.queue.done(&key);
        }
    }

    /// Runs until `shutdown` completes: watches at once (followers keep warm caches), workers once
    /// every store has synced and, with an elector, this process holds the lease. Losing the lease
    /// closes the write gate at once and ends the run with the error.
    pub async fn run(
        self: Arc<Self>,
        client: kube::Client,
        elector: Option<LeaderElector>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), LeaderError> {
        let watches: Vec<_> = Kind::ALL
            .into_iter()
            .map(|kind| tokio::spawn(Arc::clone(&self).watch(client.clone(), kind)))
            .collect();
        let mut synced = self.synced_kinds.subscribe();
        let shutdown = shutdown.fuse();
        tokio::pin!(shutdown);
        let all_synced = synced.wait_for(|count| *count == Kind::ALL.len());
        let mut started = tokio::select! {
            _ = all_synced => true,
            _ = &mut shutdown => false,
        };
        let mut elector = elector;
        if started && let Some(elector) = &mut elector {
            tracing::info!("stores synced; waiting for the leader lease");
            started = elector.acquire(&mut shutdown).await;
        }
        let mut outcome = Ok(());
        let mut workers = Vec::new();
        if started {
            self.metrics.leader.set(1);
            tracing::info!(workers = self.options.workers, "starting workers");
            workers = (0..self.options.workers.max(1))
                .map(|_| tokio::spawn(Arc::clone(&self).work()))
                .collect();
            outcome = match &mut elector {
                Some(elector) => elector.hold(&mut shutdown).await,
                None => {
                    (&mut shutdown).await;
                    Ok(())
                }
            };
        }
        if let Some(elector) = &elector {
            // Renewals have stopped: nothing may be written from here on (in-flight writes are refused).
            elector.stop_writing();
        }
        match &outcome {
            Ok(()) => tracing::info!("shutting down: finishing in-flight syncs"),
            Err(error) => tracing::error!(%error, "stopping: writes are stopped"),
        }
        self.queue.shut_down();
        for worker in workers {
            let _ = worker.await;
        }
        self.metrics.leader.set(0);
        if outcome.is_ok()
            && let Some(elector) = &mut elector
        {
            elector.release().await;
        }
        for watch in watches {
            watch.abort();
        }
        outcome
    }
}

impl crate::ops::admin::Readiness for Controller {
    fn is_ready(&self) -> bool {
        self.is_synced()
    }
}
