//! Pod readiness, availability, "updated" and the survivor order of pods on a node (pure).

use std::cmp::Ordering;

use chrono::TimeDelta;

use crate::snapshot::{PodView, REVISION_HASH_LABEL, TEMPLATE_GENERATION_LABEL, Timestamp};

/// Upstream: pkg/api/v1/pod/util.go IsPodReady (first Ready condition has status "True").
pub fn is_ready(pod: &PodView) -> bool {
    pod.ready.is_some_and(|ready| ready.is_true)
}

/// Ready for at least `min_ready_seconds` at `now`.
/// Upstream: pkg/api/v1/pod/util.go IsPodAvailable; the boundary is inclusive since kubernetes
/// PR #132122 (v1.34). A zero lastTransitionTime is never available when minReadySeconds > 0.
pub fn is_available(pod: &PodView, min_ready_seconds: i32, now: Timestamp) -> bool {
    let Some(ready) = pod.ready.filter(|ready| ready.is_true) else {
        return false;
    };
    let min_ready = TimeDelta::seconds(i64::from(min_ready_seconds));
    min_ready_seconds == 0 || ready.last_transition_time.is_some_and(|since| since + min_ready <= now)
}

/// Whether `pod` runs the current template: its hash label equals `hash` (when `hash` is non-empty),
/// or its generation label equals the DaemonSet's template generation (`template_generation` is that
/// annotation's int64 value printed in decimal, so "02" never matches 2).
/// Upstream: util/daemonset_util.go IsPodUpdated.
pub fn is_updated(pod: &PodView, hash: &str, template_generation: Option<&str>) -> bool {
    let hash_matches = !hash.is_empty() && pod.labels.get(REVISION_HASH_LABEL).is_some_and(|h| h == hash);
    hash_matches
        || template_generation.is_some_and(|generation| {
            pod.labels
                .get(TEMPLATE_GENERATION_LABEL)
                .is_some_and(|label| label == generation)
        })
}

/// Scheduled pods first, then older creationTimestamp, then smaller name.
/// Upstream: daemon_controller.go podByCreationTimestampAndPhase (phase is not compared).
pub fn survivor_order(a: &PodView, b: &PodView) -> Ordering {
    let unscheduled = |pod: &PodView| pod.node_name.is_empty();
    unscheduled(a)
        .cmp(&unscheduled(b))
        .then_with(|| a.creation_timestamp.cmp(&b.creation_timestamp))
        .then_with(|| a.name.cmp(&b.name))
}
