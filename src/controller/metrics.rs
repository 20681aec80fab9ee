//! The controller's Prometheus metrics (prometheus-client), rendered in the text exposition format
//! (no I/O: the admin server serves them).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::executor::events::EventMetrics;
use crate::planner::rollout::RolloutReport;
use crate::planner::rollout::hold::HOLD_KINDS;
use crate::snapshot::{ObjectKey, StatusCounts};

fn held_labels(key: &ObjectKey, hold: &'static str) -> HeldLabels {
    HeldLabels {
        namespace: key.namespace.clone(),
        name: key.name.clone(),
        hold,
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// success or error.
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// api, pod_writes, collision, panic.
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DaemonSetLabels {
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HeldLabels {
    pub namespace: String,
    pub name: String,
    /// A `Hold::kind`: paused, partition, canary, other-domain, … (README "Rollout controls").
    pub hold: &'static str,
}

impl DaemonSetLabels {
    fn of(key: &ObjectKey) -> Self {
        DaemonSetLabels {
            namespace: key.namespace.clone(),
            name: key.name.clone(),
        }
    }
}

/// Every metric daemonroll exports.
pub struct Metrics {
    registry: Registry,
    pub syncs: Family<OutcomeLabels, Counter>,
    pub sync_errors: Family<ErrorLabels, Counter>,
    pub sync_duration: Histogram,
    pub pods_created: Counter,
    pub pods_deleted: Counter,
    pub desired: Family<DaemonSetLabels, Gauge>,
    pub updated: Family<DaemonSetLabels, Gauge>,
    pub available: Family<DaemonSetLabels, Gauge>,
    pub unavailable: Family<DaemonSetLabels, Gauge>,
    pub rollout_in_progress: Family<DaemonSetLabels, Gauge>,
    pub rollout_paused: Family<DaemonSetLabels, Gauge>,
    pub rollout_held_nodes: Family<HeldLabels, Gauge>,
    pub rollouts_failed: Family<DaemonSetLabels, Counter>,
    pub rollbacks: Family<DaemonSetLabels, Counter>,
    pub leader: Gauge,
    pub expectations_pending: Gauge,
    /// Event writes, apart from the object writes above.
    pub events: EventMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("daemonroll");
        let metrics = Metrics {
            syncs: Family::default(),
            sync_errors: Family::default(),
            sync_duration: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            pods_created: Counter::default(),
            pods_deleted: Counter::default(),
            desired: Family::default(),
            updated: Family::default(),
            available: Family::default(),
            unavailable: Family::default(),
            rollout_in_progress: Family::default(),
            rollout_paused: Family::default(),
            rollout_held_nodes: Family::default(),
            rollouts_failed: Family::default(),
            rollbacks: Family::default(),
            leader: Gauge::default(),
            expectations_pending: Gauge::default(),
            events: EventMetrics::default(),
            registry: Registry::default(),
        };
        registry.register("syncs", "DaemonSet syncs, by result", metrics.syncs.clone());
        registry.register(
            "sync_errors",
            "Failed DaemonSet syncs, by kind of error",
            metrics.sync_errors.clone(),
        );
        registry.register(
            "sync_duration_seconds",
            "Time one DaemonSet sync took, planning and writes",
            metrics.sync_duration.clone(),
        );
        registry.register("pods_created", "Daemon pods created", metrics.pods_created.clone());
        registry.register("pods_deleted", "Daemon pods deleted", metrics.pods_deleted.clone());
        registry.register(
            "daemonset_desired_pods",
            "Nodes that should run the DaemonSet's pod (status.desiredNumberScheduled)",
            metrics.desired.clone(),
        );
        registry.register(
            "daemonset_updated_pods",
            "Pods of the current template (status.updatedNumberScheduled)",
            metrics.updated.clone(),
        );
        registry.register(
            "daemonset_available_pods",
            "Available daemon pods (status.numberAvailable)",
            metrics.available.clone(),
        );
        registry.register(
            "daemonset_unavailable_pods",
            "Nodes without an available daemon pod (status.numberUnavailable)",
            metrics.unavailable.clone(),
        );
        registry.register(
            "daemonset_rollout_in_progress",
            "1 while the DaemonSet's pods are not all updated and available",
            metrics.rollout_in_progress.clone(),
        );
        registry.register(
            "daemonset_rollout_paused",
            "1 while the DaemonSet's rollout is paused (daemonroll.io/paused)",
            metrics.rollout_paused.clone(),
        );
        registry.register(
            "daemonset_rollout_held_nodes",
            "Nodes on an old pod that a rollout control holds, by hold; progress-deadline, \
             updated-node-not-ready and invalid-control block the rollout",
            metrics.rollout_held_nodes.clone(),
        );
        registry.register(
            "daemonset_rollouts_failed",
            "Rollouts stopped by daemonroll.io/progress-deadline",
            metrics.rollouts_failed.clone(),
        );
        registry.register(
            "daemonset_rollbacks",
            "Templates restored by daemonroll.io/on-failure: rollback",
            metrics.rollbacks.clone(),
        );
        registry.register(
            "leader",
            "1 while this process holds the leader lease",
            metrics.leader.clone(),
        );
        registry.register(
            "expectations_pending",
            "DaemonSets waiting to observe their own creates and deletes",
            metrics.expectations_pending.clone(),
        );
        metrics.events.register(&mut registry);
        Metrics { registry, ..metrics }
    }
}

impl Metrics {
    /// Records the status a sync computed for a DaemonSet.
    pub fn record_status(&self, key: &ObjectKey, counts: &StatusCounts, current_generation: bool) {
        let labels = DaemonSetLabels::of(key);
        self.desired
            .get_or_create(&labels)
            .set(counts.desired_number_scheduled.into());
        self.updated
            .get_or_create(&labels)
            .set(counts.updated_number_scheduled.into());
        self.available
            .get_or_create(&labels)
            .set(counts.number_available.into());
        self.unavailable
            .get_or_create(&labels)
            .set(counts.number_unavailable.into());
        let done = current_generation
            && counts.updated_number_scheduled == counts.desired_number_scheduled
            && counts.number_available == counts.desired_number_scheduled;
        self.rollout_in_progress.get_or_create(&labels).set(i64::from(!done));
    }

    /// Records what the rollout controls did in a sync.
    pub fn record_rollout(&self, key: &ObjectKey, report: &RolloutReport<'_>, failed_now: bool) {
        let labels = DaemonSetLabels::of(key);
        self.rollout_paused
            .get_or_create(&labels)
            .set(i64::from(report.controls.paused));
        for hold in HOLD_KINDS {
            let held = report.held.get(hold).copied().unwrap_or(0) as i64;
            let labels = held_labels(key, hold);
            if held == 0 {
                self.rollout_held_nodes.remove(&labels);
            } else {
                self.rollout_held_nodes.get_or_create(&labels).set(held);
            }
        }
        if failed_now {
            self.rollouts_failed.get_or_create(&labels).inc();
        }
        if report.rollback.is_some() {
            self.rollbacks.get_or_create(&labels).inc();
        }
    }

    /// Drops a deleted DaemonSet's gauges.
    pub fn forget(&self, key: &ObjectKey) {
        let labels = DaemonSetLabels::of(key);
        for family in [
            &self.desired,
            &self.updated,
            &self.available,
            &self.unavailable,
            &self.rollout_in_progress,
            &self.rollout_paused,
        ] {
            family.remove(&labels);
        }
        for hold in HOLD_KINDS {
            self.rollout_held_nodes.remove(&held_labels(key, hold));
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(held: &[(&'static str, usize)], paused: bool) -> RolloutReport<'static> {
        let mut report = RolloutReport::default();
        report.controls.paused = paused;
        report.held = held.iter().copied().collect();
        report
    }

    #[test]
    fn rollout_metrics_show_held_nodes_by_hold_and_drop_holds_that_ended() {
        let metrics = Metrics::default();
        let key = ObjectKey::new("kube-system", "agent");
        metrics.record_rollout(&key, &report(&[("partition", 3), ("paused", 9)], true), true);
        let text = metrics.render();
        let labels = r#"namespace="kube-system",name="agent""#;
        assert!(
            text.contains(&format!("daemonroll_daemonset_rollout_paused{{{labels}}} 1")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                r#"daemonroll_daemonset_rollout_held_nodes{{{labels},hold="partition"}} 3"#
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("daemonroll_daemonset_rollouts_failed_total{{{labels}}} 1")),
            "{text}"
        );

        metrics.record_rollout(&key, &report(&[("partition", 1)], false), false);
        let text = metrics.render();
        assert!(!text.contains(r#"hold="paused""#), "{text}");
        assert!(text.contains(&format!(r#"{{{labels},hold="partition"}} 1"#)), "{text}");
        assert!(
            text.contains(&format!("daemonroll_daemonset_rollout_paused{{{labels}}} 0")),
            "{text}"
        );
    }
}
