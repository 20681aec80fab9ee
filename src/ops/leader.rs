//! Leader election on a coordination.k8s.io/v1 Lease (I/O).
//!
//! Upstream: client-go tools/leaderelection (leaderelection.go tryAcquireOrRenew, renew, release).
//! Invariants:
//! - every acquire or renew is an update carrying the Lease's resourceVersion, so two candidates
//!   can never both win: the API server accepts one and answers 409 to the other;
//! - another holder's lease counts as valid for `duration` after this process last saw its record
//!   change (local clock only, so clock skew between machines does not matter);
//! - the write gate closes the moment a renewal deadline passes, before anything else happens;
//! - releasing writes an empty holder and a 1 s duration, so a follower takes over at its next try.
//!
//! Why not the kube-lease-manager crate (0.13, built on kube 5): it judges another holder's lease
//! by that holder's `renewTime` against this machine's clock (`renewTime + leaseDurationSeconds`
//! compared with `SystemTime::now`). With the default 15 s lease renewed every 2 s, a replica whose
//! clock runs 14 s ahead finds the leader's lease expired about 1 s after each renewal and takes it
//! while the leader still writes; client-go, and this module, count from when this process saw the
//! record change, so skew does not matter. It also takes whole seconds, where the HA tests run a
//! 3 s lease, a 2 s deadline and a 500 ms retry period.

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::kube::paths::{lease_path, leases_path};
use crate::kube::{ApiClient, ApiError, WriteGate};

/// The Lease and its timings (defaults as kube-controller-manager's: 15 s, 10 s, 2 s).
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    /// How long a holder's claim stands without renewal.
    pub duration: Duration,
    /// The leader gives up (and stops writing) when it could not renew for this long.
    pub renew_deadline: Duration,
    /// Time between attempts to acquire or renew.
    pub retry_period: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("lost the lease {namespace}/{name}: not renewed within {deadline:?}")]
    Lost {
        namespace: String,
        name: String,
        deadline: Duration,
    },
}

/// The record as last observed and when (local clock).
struct Observed {
    holder: String,
    renew_time: String,
    transitions: i64,
    acquire_time: Option<String>,
    seen_at: Instant,
}

pub struct LeaderElector {
    api: ApiClient,
    config: LeaseConfig,
    gate: WriteGate,
    observed: Option<Observed>,
    /// Start of the last successful acquire or renew.
    renewed_at: Instant,
}

fn micro_time() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl LeaderElector {
    pub fn new(api: ApiClient, config: LeaseConfig, gate: WriteGate) -> Self {
        LeaderElector {
            api,
            config,
            gate,
            observed: None,
            renewed_at: Instant::now(),
        }
    }

    pub fn gate(&self) -> WriteGate {
        self.gate.clone()
    }

    fn spec(&self, acquire_time: &str, transitions: i64) -> Value {
        let now = micro_time();
        json!({
            "holderIdentity": self.config.identity,
            "leaseDurationSeconds": self.config.duration.as_secs().max(1),
            "acquireTime": acquire_time,
            "renewTime": now,
            "leaseTransitions": transitions,
        })
    }

    /// One attempt. Upstream: tryAcquireOrRenew. Ok(true) when this process holds the lease.
    async fn try_acquire_or_renew(&mut self) -> Result<bool, ApiError> {
        let path = lease_path(&self.config.namespace, &self.config.name);
        let current = match self.api.get(&path).await {
            Ok(current) => current,
            Err(error) if error.is_not_found() => {
                let now = micro_time();
                let lease = json!({
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.config.name, "namespace": self.config.namespace},
                    "spec": self.spec(&now, 0),
                });
                return match self.api.create(&leases_path(&self.config.namespace), &lease).await {
                    Ok(_) => Ok(true),
                    Err(error) if error.is_already_exists() => Ok(false),
                    Err(error) => Err(error),
                };
            }
            Err(error) => return Err(error),
        };
        let spec = &current["spec"];
        let text = |field: &str| spec[field].as_str().unwrap_or_default().to_string();
        let holder = text("holderIdentity");
        let renew_time = text("renewTime");
        let transitions = spec["leaseTransitions"].as_i64().unwrap_or(0);
        let changed = self
            .observed
            .as_ref()
            .is_none_or(|o| o.holder != holder || o.renew_time != renew_time || o.transitions != transitions);
        if changed {
            self.observed = Some(Observed {
                holder: holder.clone(),
                renew_time,
                transitions,
                acquire_time: spec["acquireTime"].as_str().map(str::to_string),
                seen_at: Instant::now(),
            });
        }
        let observed = self.observed.as_ref();
        let held_by_other = !holder.is_empty() && holder != self.config.identity;
        let valid = observed.is_some_and(|o| o.seen_at.elapsed() < self.held_for(spec));
        if held_by_other && valid {
            return Ok(false);
        }
        let (acquire_time, transitions) = if holder == self.config.identity {
            (
                observed.and_then(|o| o.acquire_time.clone()).unwrap_or_else(micro_time),
                transitions,
            )
        } else {
            (micro_time(), transitions + 1)
        };
        let mut lease = current.clone();
        lease["spec"] = self.spec(&acquire_time, transitions);
        match self.api.replace(&path, &lease).await {
            Ok(_) => Ok(true),
            Err(error) if error.is_conflict() => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// The other holder's stated duration (upstream uses the record's leaseDurationSeconds).
    fn held_for(&self, spec: &Value) -> Duration {
        spec["leaseDurationSeconds"]
            .as_u64()
            .map_or(self.config.duration, Duration::from_secs)
    }

    /// Waits until this process holds the lease (or `stop` resolves: Ok(false)).
    pub async fn acquire(&mut self, stop: &mut (impl Future<Output = ()> + Unpin)) -> bool {
        loop {
            let started = Instant::now();
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    self.renewed_at = started;
                    self.gate.set(true);
                    tracing::info!(lease = %self.config.name, identity = %self.config.identity, "became the leader");
                    return true;
                }
                Ok(false) => {}
                Err(error) => tracing::warn!(lease = %self.config.name, %error, "cannot acquire the lease"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.retry_period) => {}
                _ = &mut *stop => return false,
            }
        }
    }

    /// Renews every retry period until `stop` resolves (Ok) or the renew deadline passes (Err).
    /// Upstream: renew. The deadline counts from the start of the last successful renewal (the write
    /// may have landed any time after it), and an attempt never runs past the deadline: the gate
    /// closes when the deadline passes, not when a hung request returns.
    pub async fn hold(&mut self, stop: &mut (impl Future<Output = ()> + Unpin)) -> Result<(), LeaderError> {
        loop {
            let deadline = self.renewed_at + self.config.renew_deadline;
            tokio::select! {
                _ = tokio::time::sleep(self.config.retry_period) => {}
                _ = &mut *stop => return Ok(()),
            }
            let started = Instant::now();
            let remaining = deadline.saturating_duration_since(started);
            let attempt = tokio::time::timeout(remaining, self.try_acquire_or_renew()).await;
            match attempt {
                Ok(Ok(true)) => self.renewed_at = started,
                // Someone else holds it now.
                Ok(Ok(false)) => return Err(self.lost()),
                Ok(Err(error)) => tracing::warn!(lease = %self.config.name, %error, "cannot renew the lease"),
                Err(_) => tracing::warn!(lease = %self.config.name, "lease renewal timed out"),
            }
            if Instant::now() >= self.renewed_at + self.config.renew_deadline {
                return Err(self.lost());
            }
        }
    }

    /// How long this replica may still write without another renewal: until the renew deadline.
    pub fn writable_for(&self) -> Duration {
        (self.renewed_at + self.config.renew_deadline).saturating_duration_since(Instant::now())
    }

    /// Closes the write gate: called when shutting down, before in-flight syncs drain, so that
    /// nothing is written once renewals stop.
    pub fn stop_writing(&self) {
        self.gate.set(false);
    }

    /// Closes the gate and names the loss.
    fn lost(&self) -> LeaderError {
        self.gate.set(false);
        LeaderError::Lost {
            namespace: self.config.namespace.clone(),
            name: self.config.name.clone(),
            deadline: self.config.renew_deadline,
        }
    }

    /// Gives the lease up so that a follower takes over at its next attempt. Upstream: release.
    pub async fn release(&mut self) {
        self.gate.set(false);
        let path = lease_path(&self.config.namespace, &self.config.name);
        let Ok(mut lease) = self.api.get(&path).await else {
            return;
        };
        if lease["spec"]["holderIdentity"].as_str() != Some(self.config.identity.as_str()) {
            return;
        }
        let now = micro_time();
        lease["spec"]["holderIdentity"] = json!("");
        lease["spec"]["leaseDurationSeconds"] = json!(1);
        lease["spec"]["renewTime"] = json!(now);
        match self.api.replace(&path, &lease).await {
            Ok(_) => tracing::info!(lease = %self.config.name, "released the lease"),
            Err(error) => tracing::warn!(lease = %self.config.name, %error, "cannot release the lease"),
        }
    }
}
