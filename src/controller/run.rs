//! Running reconciles on kube-runtime's Controller until told to stop (I/O).
//!
//! The Controller's scheduler gives what upstream's work queue gives: one reconcile of a DaemonSet
//! at a time (a trigger during a reconcile runs it again afterwards), repeated triggers merged,
//! delayed requeues keeping the earliest, and the error policy's retry delays. Every trigger, the
//! DaemonSet's own changes included, comes from the store through `reconcile_on`: the store
//! decides whom a change concerns (upstream's event handlers), so the Controller's own trigger
//! stream is empty.

use std::sync::Arc;

use futures::StreamExt;
use kube::api::DynamicObject;
use kube::runtime::Controller as Scheduler;
use kube::runtime::controller::{Config, Error};

use super::{Controller, api_resource};
use crate::store::{Kind, Triggered};

impl Controller {
    /// Reconciles DaemonSets until `stop` resolves, then lets in-flight reconciles finish. Call once,
    /// after `synced`: a second call returns at once.
    pub async fn run_reconciles(self: Arc<Self>, stop: impl Future<Output = ()> + Send + Sync + 'static) {
        let Some(triggers) = self.triggers.open(api_resource(Kind::DaemonSet)) else {
            tracing::error!("the reconciles were started twice; the second start does nothing");
            return;
        };
        let every_daemon_set = Triggered {
            now: self.store.lock().cache().daemon_set_keys().cloned().collect(),
            later: Vec::new(),
        };
        self.triggers.send(every_daemon_set);
        tracing::info!(workers = self.options.workers, "starting reconciles");
        let config = Config::default().concurrency(self.options.workers.max(1));
        let no_own_triggers = futures::stream::empty::<Result<DynamicObject, kube::runtime::watcher::Error>>();
        Scheduler::for_stream_with(no_own_triggers, self.daemon_sets.clone(), api_resource(Kind::DaemonSet))
            .reconcile_on(triggers)
            .with_config(config)
            .graceful_shutdown_on(stop)
            .run(
                Controller::reconcile,
                Controller::retry_after_failure,
                Arc::clone(&self),
            )
            .for_each(|outcome| async move {
                match outcome {
                    Ok(_) => {}
                    // The error policy has logged it and scheduled the retry.
                    Err(Error::ReconcilerFailed(..)) => {}
                    // A trigger for a DaemonSet deleted since: nothing to do.
                    Err(Error::ObjectNotFound(reference)) => tracing::debug!(ds = %reference, "not found"),
                    Err(error) => tracing::warn!(%error, "reconcile scheduling failed"),
                }
            })
            .await;
    }
}
