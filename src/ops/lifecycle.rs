//! A controller process from start to stop: watches, then (once every store has synced and, with
//! leader election, the lease is held) reconciles, until shutdown or a lost lease (I/O).
//!
//! Invariants: followers keep watching, so their caches are warm when they take over; the write
//! gate closes before in-flight reconciles drain, so nothing is written once renewals stop; the
//! lease is released only after a clean shutdown, never after it was lost; pending Event counts
//! are flushed on a clean shutdown only while writes are allowed (before the gate closes, within
//! the renew deadline).

use std::sync::Arc;

use futures::FutureExt;
use tokio::sync::oneshot;

use super::leader::{LeaderElector, LeaderError};
use crate::controller::Controller;
use crate::executor::events::SHUTDOWN_FLUSH_LIMIT;

/// Runs `controller` against `client` until `shutdown` resolves (Ok) or the lease is lost (Err).
pub async fn run(
    controller: Arc<Controller>,
    client: &kube::Client,
    mut elector: Option<LeaderElector>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), LeaderError> {
    let watches = controller.start_watches(client);
    let shutdown = shutdown.fuse();
    tokio::pin!(shutdown);
    let mut started = tokio::select! {
        _ = controller.synced() => true,
        _ = &mut shutdown => false,
    };
    if started && let Some(elector) = &mut elector {
        tracing::info!("stores synced; waiting for the leader lease");
        started = elector.acquire(&mut shutdown).await;
    }
    let mut outcome = Ok(());
    if started {
        controller.metrics().leader.set(1);
        let (stop, stopped) = oneshot::channel::<()>();
        let reconciles = tokio::spawn(Arc::clone(&controller).run_reconciles(stopped.map(|_| ())));
        outcome = match &mut elector {
            Some(elector) => elector.hold(&mut shutdown).await,
            None => {
                (&mut shutdown).await;
                Ok(())
            }
        };
        if let Some(elector) = &elector {
            if outcome.is_ok() {
                // The last writes while the lease is surely held: pending Event counts.
                controller
                    .flush_events(SHUTDOWN_FLUSH_LIMIT.min(elector.writable_for()))
                    .await;
            }
            // Renewals have stopped: nothing may be written from here on (in-flight writes are refused).
            elector.stop_writing();
        }
        match &outcome {
            Ok(()) => tracing::info!("shutting down: finishing in-flight syncs"),
            Err(error) => tracing::error!(%error, "stopping: writes are stopped"),
        }
        let _ = stop.send(());
        if let Err(error) = reconciles.await {
            tracing::error!(%error, "the reconcile loop ended abnormally");
        }
        if elector.is_none() {
            // Without a lease the gate stays open: the syncs' last Events are flushed too.
            controller.flush_events(SHUTDOWN_FLUSH_LIMIT).await;
        }
        controller.metrics().leader.set(0);
    }
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

/// `run` in a task of its own, without leader election, until the returned sender is used or
/// dropped: the controller inside another program (`demo`, the end-to-end tests). Errors end
/// the task; there is no lease to lose.
pub fn spawn(controller: Arc<Controller>, client: kube::Client) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let stop = async move {
            let _ = stopped.await;
        };
        let _ = run(controller, &client, None, stop).await;
    });
    (stop, task)
}
