//! The runtime: watches feed the store, kube-runtime's Controller schedules reconciles, and each
//! reconcile plans one DaemonSet and has the executor apply the plan (I/O).
//!
//! Invariants: no DaemonSet is reconciled before all four stores have completed their first list;
//! one DaemonSet is reconciled by one task at a time (the Controller's scheduler); a failed
//! reconcile is retried with per-DaemonSet backoff while the other DaemonSets keep being served; on
//! shutdown no new reconcile starts and in-flight ones finish.

pub mod metrics;
mod options;
pub mod raw;
mod reconcile;
mod run;
mod triggers;
mod watch;

use std::collections::HashMap;
use std::sync::Arc;

use kube::api::{ApiResource, DynamicObject};
use kube::runtime::reflector;
use parking_lot::Mutex;
use tokio::sync::watch as signal;

use crate::executor::Executor;
use crate::executor::events::EventSink;
use crate::kube::{ApiClient, WriteGate};
use crate::snapshot::ObjectKey;
use crate::store::{Expectations, Kind, Store};
pub use metrics::Metrics;
pub use options::{Mode, Options};
use triggers::Triggers;

/// What the watches feed and the reconciles read, shared by both.
pub struct Controller {
    options: Options,
    store: Mutex<Store>,
    expectations: Arc<Expectations>,
    /// The DaemonSets the Controller's scheduler may reconcile (it skips keys missing here).
    daemon_sets: reflector::Store<DynamicObject>,
    /// Fed by the DaemonSet watch; taken when the watches start.
    daemon_set_writer: Mutex<Option<reflector::store::Writer<DynamicObject>>>,
    triggers: Triggers,
    executor: Executor,
    /// When each DaemonSet's status was last written, to space status writes.
    last_status_write: Mutex<HashMap<ObjectKey, reconcile::StatusWrite>>,
    /// The DaemonSet each last plan read (the cache's shared view), to defer syncs.
    last_planned: Mutex<HashMap<ObjectKey, Arc<crate::snapshot::DaemonSetView>>>,
    /// Consecutive failed reconciles of each DaemonSet, for the retry delay.
    failures: Mutex<HashMap<ObjectKey, u32>>,
    /// Per DaemonSet (with its uid): the `daemonroll.io/` annotation values that last parsed.
    last_good_controls: Mutex<HashMap<ObjectKey, (String, crate::snapshot::Labels)>>,
    /// Coexist mode, per DaemonSet: nodes whose pod daemonroll deleted and kube-controller-manager
    /// has not recreated yet, with when (lost on restart: the budget still counts those nodes).
    awaiting_recreate: Mutex<HashMap<ObjectKey, std::collections::BTreeMap<String, chrono::DateTime<chrono::Utc>>>>,
    /// Coexist mode, per DaemonSet: the revision it rolls to and the nodes daemonroll emptied for it.
    replaced_by_daemonroll: Mutex<HashMap<ObjectKey, (String, std::collections::BTreeSet<String>)>>,
    /// How many kinds have completed their first list.
    synced_kinds: signal::Sender<usize>,
    metrics: Arc<Metrics>,
}

/// The API resource of a watched kind (group, version, plural).
pub fn api_resource(kind: Kind) -> ApiResource {
    use k8s_openapi::api::{apps::v1 as apps, core::v1 as core};
    match kind {
        Kind::DaemonSet => ApiResource::erase::<apps::DaemonSet>(&()),
        Kind::Pod => ApiResource::erase::<core::Pod>(&()),
        Kind::Node => ApiResource::erase::<core::Node>(&()),
        Kind::ControllerRevision => ApiResource::erase::<apps::ControllerRevision>(&()),
    }
}

impl Controller {
    /// A controller whose writes pass through `gate` (open it for a single replica) and whose
    /// measurements go to `metrics`.
    pub fn new(client: kube::Client, options: Options, gate: WriteGate, metrics: Arc<Metrics>) -> Arc<Self> {
        let expectations = Arc::new(Expectations::default());
        let mut api = ApiClient::new(client).with_gate(gate.clone());
        if let Some((qps, burst)) = options.api_rate_limit {
            api = api.with_rate_limit(qps, burst);
        }
        let events = EventSink::start(api.clone(), options.instance.clone(), gate, metrics.events.clone());
        let executor = Executor::new(api, events, Arc::clone(&expectations));
        let writer = reflector::store::Writer::new(api_resource(Kind::DaemonSet));
        Arc::new(Controller {
            options,
            store: Mutex::default(),
            expectations,
            daemon_sets: writer.as_reader(),
            daemon_set_writer: Mutex::new(Some(writer)),
            triggers: Triggers::default(),
            executor,
            last_status_write: Mutex::default(),
            last_planned: Mutex::default(),
            failures: Mutex::default(),
            last_good_controls: Mutex::default(),
            awaiting_recreate: Mutex::default(),
            replaced_by_daemonroll: Mutex::default(),
            synced_kinds: signal::Sender::new(0),
            metrics,
        })
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Whether every store has completed its first list.
    pub fn is_synced(&self) -> bool {
        *self.synced_kinds.borrow() == Kind::ALL.len()
    }

    /// Resolves once every store has completed its first list.
    pub async fn synced(&self) {
        let mut synced = self.synced_kinds.subscribe();
        // Fails only when the sender is gone, which lives as long as `self`.
        let _ = synced.wait_for(|count| *count == Kind::ALL.len()).await;
    }

    /// Writes the Event counts still pending, waiting at most `limit` (best effort); for a clean
    /// shutdown, while writes are still allowed.
    pub async fn flush_events(&self, limit: std::time::Duration) {
        self.executor.events().flush_pending(limit).await;
    }

    /// Forgets the runtime's bookkeeping of a deleted DaemonSet (the store forgets its own).
    fn forget(&self, key: &ObjectKey) {
        self.last_status_write.lock().remove(key);
        let _ = self.executor.status_writes().take(key);
        self.last_planned.lock().remove(key);
        self.failures.lock().remove(key);
        self.last_good_controls.lock().remove(key);
        self.awaiting_recreate.lock().remove(key);
        self.replaced_by_daemonroll.lock().remove(key);
        self.metrics.forget(key);
    }
}
