//! The Event metrics, kept apart from the object writes they would otherwise be counted with (no
//! I/O: `controller::Metrics` registers and serves them).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// The bounded queue was full.
pub(super) const QUEUE_FULL: &str = "queue_full";
/// This process does not lead (any more): only the leader writes.
pub(super) const NOT_LEADER: &str = "not_leader";
/// The API server refused the write (a later write of the same series still carries its count).
pub(super) const WRITE_FAILED: &str = "write_failed";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventTypeLabels {
    /// Normal or Warning.
    pub r#type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DropLabels {
    /// queue_full, not_leader, write_failed.
    pub cause: &'static str,
}

/// Clones share the counters.
#[derive(Clone, Debug, Default)]
pub struct EventMetrics {
    /// Event writes (creates and patches) the API server accepted.
    pub published: Family<EventTypeLabels, Counter>,
    /// Events counted into an existing Event instead of a write of their own.
    pub combined: Counter,
    /// Events whose count reached no write.
    pub dropped: Family<DropLabels, Counter>,
}

impl EventMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "events_published",
            "Event writes (creates and updates) the API server accepted, by type",
            self.published.clone(),
        );
        registry.register(
            "events_combined",
            "Events counted into an existing Event (a repeat, or combined from similar events) instead of a write of their own",
            self.combined.clone(),
        );
        registry.register(
            "events_dropped",
            "Events whose count was never written, by cause (queue_full, not_leader, write_failed)",
            self.dropped.clone(),
        );
    }

    pub(super) fn published(&self, warning: bool) {
        let r#type = if warning { "Warning" } else { "Normal" };
        self.published.get_or_create(&EventTypeLabels { r#type }).inc();
    }

    pub(super) fn dropped(&self, cause: &'static str, events: u64) {
        self.dropped.get_or_create(&DropLabels { cause }).inc_by(events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_metrics_are_exposed_under_their_own_names_and_labels() {
        let metrics = EventMetrics::default();
        let mut registry = Registry::with_prefix("daemonroll");
        metrics.register(&mut registry);
        metrics.published(true);
        metrics.combined.inc_by(3);
        metrics.dropped(WRITE_FAILED, 2);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encodes");
        for line in [
            r#"daemonroll_events_published_total{type="Warning"} 1"#,
            "daemonroll_events_combined_total 3",
            r#"daemonroll_events_dropped_total{cause="write_failed"} 2"#,
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
    }
}
