//! The correlator as a specification: events and times in, writes out.

use std::collections::BTreeMap;

use super::*;
use crate::executor::events::{daemon_set_reference, pod_reference};
use crate::snapshot::ObjectKey;

fn at(seconds: i64) -> Timestamp {
    at_millis(seconds * 1000)
}

fn at_millis(millis: i64) -> Timestamp {
    let start: Timestamp = "2026-01-01T00:00:00Z".parse().expect("a valid time");
    start + chrono::TimeDelta::milliseconds(millis)
}

fn on(daemon_set: &str) -> ObjectReference {
    daemon_set_reference(
        &ObjectKey::new("kube-system", daemon_set),
        Some(&format!("uid-{daemon_set}")),
    )
}

/// SuccessfulCreate of pod `<daemon_set>-<pod>`, as the executor records it.
fn pod_created(daemon_set: &str, pod: u32) -> DaemonSetEvent {
    pod_event(daemon_set, "SuccessfulCreate", "Created pod", pod)
}

fn pod_deleted(daemon_set: &str, pod: u32) -> DaemonSetEvent {
    pod_event(daemon_set, "SuccessfulDelete", "Deleted pod", pod)
}

fn pod_event(daemon_set: &str, reason: &str, what: &str, pod: u32) -> DaemonSetEvent {
    let name = format!("{daemon_set}-{pod}");
    DaemonSetEvent {
        warning: false,
        reason: reason.into(),
        message: format!("{what}: {name}"),
        regarding: on(daemon_set),
        related: Some(pod_reference("kube-system", &name)),
    }
}

fn warning(daemon_set: &str, reason: &str, message: &str) -> DaemonSetEvent {
    DaemonSetEvent {
        warning: true,
        reason: reason.into(),
        message: message.into(),
        regarding: on(daemon_set),
        related: None,
    }
}

/// What a reader of `kubectl get events` sees of a write: reason, message, count, create or update.
fn seen(writes: &[Publish]) -> Vec<(String, String, u32, bool)> {
    writes
        .iter()
        .map(|write| (write.reason.clone(), write.message.clone(), write.count, write.first))
        .collect()
}

fn observe_all(
    correlator: &mut Correlator,
    events: impl IntoIterator<Item = DaemonSetEvent>,
    now: Timestamp,
) -> Vec<Publish> {
    events
        .into_iter()
        .flat_map(|event| correlator.observe(event, now).publish)
        .collect()
}

/// Spends the whole burst of `agent`'s bucket at `now`: 10 creates, 10 deletes, 5 warnings.
fn spend_the_burst(correlator: &mut Correlator, now: Timestamp) {
    let writes = observe_all(correlator, (1..=10).map(|pod| pod_created("agent", pod)), now).len()
        + observe_all(correlator, (1..=10).map(|pod| pod_deleted("agent", pod)), now).len()
        + observe_all(
            correlator,
            (1..=5).map(|pod| {
                warning(
                    "agent",
                    "FailedDaemonPod",
                    &format!("Found failed daemon pod agent-{pod}"),
                )
            }),
            now,
        )
        .len();
    assert_eq!(writes as u32, BURST);
}

#[test]
fn the_first_ten_similar_events_are_each_written_at_once() {
    let mut correlator = Correlator::default();
    let writes: Vec<Publish> = (1..=10)
        .flat_map(|pod| {
            correlator
                .observe(pod_created("agent", pod), at(i64::from(pod)))
                .publish
        })
        .collect();
    let expected: Vec<_> = (1..=10)
        .map(|pod| {
            (
                "SuccessfulCreate".to_string(),
                format!("Created pod: agent-{pod}"),
                1,
                true,
            )
        })
        .collect();
    assert_eq!(seen(&writes), expected);
}

#[test]
fn the_eleventh_similar_event_is_combined_and_written_at_the_next_due_flush() {
    let mut correlator = Correlator::default();
    observe_all(&mut correlator, (1..=10).map(|pod| pod_created("agent", pod)), at(0));
    assert_eq!(
        correlator.observe(pod_created("agent", 11), at(1)),
        Decisions {
            publish: Vec::new(),
            combined: 1
        }
    );
    assert_eq!(
        correlator.flush(at(9)).publish,
        Vec::new(),
        "due 10 s after the key's last write"
    );
    assert_eq!(
        seen(&correlator.flush(at(10)).publish),
        vec![(
            "SuccessfulCreate".to_string(),
            "(combined from similar events): Created 1 pod, latest: agent-11".to_string(),
            1,
            true
        )]
    );
}

#[test]
fn a_combined_message_names_the_count_and_the_latest_pods_newest_first() {
    let mut correlator = Correlator::default();
    observe_all(&mut correlator, (1..=23).map(|pod| pod_created("agent", pod)), at(0));
    let writes = correlator.flush(at(10)).publish;
    assert_eq!(
        writes.iter().map(|write| write.message.as_str()).collect::<Vec<_>>(),
        vec!["(combined from similar events): Created 13 pods, latest: agent-23, agent-22, agent-21"]
    );
}

#[test]
fn a_combined_event_is_written_at_most_once_per_flush_interval() {
    let mut correlator = Correlator::default();
    observe_all(&mut correlator, (1..=10).map(|pod| pod_created("agent", pod)), at(0));
    let mut written_at = Vec::new();
    // A pod created every 100 ms for a minute; a flush every second.
    for tenth in 0..600 {
        let now = at_millis(tenth * 100);
        correlator.observe(pod_created("agent", 11 + tenth as u32), now);
        if tenth % 10 == 0 {
            written_at.extend(correlator.flush(now).publish.iter().map(|_| now));
        }
    }
    assert_eq!(written_at, vec![at(10), at(20), at(30), at(40), at(50)]);
}

#[test]
fn the_token_bucket_holds_writes_back_and_keeps_their_counts() {
    let mut correlator = Correlator::default();
    spend_the_burst(&mut correlator, at(0));
    observe_all(&mut correlator, (11..=50).map(|pod| pod_created("agent", pod)), at(1));
    assert_eq!(correlator.flush(at(10)).publish, Vec::new(), "due, but no token left");
    assert_eq!(
        correlator.flush(at(59)).publish,
        Vec::new(),
        "the next token comes after a minute"
    );
    let written = correlator.flush(at(60)).publish;
    assert_eq!(
        written.iter().map(|write| (write.count, write.new)).collect::<Vec<_>>(),
        vec![(40, 40)],
        "every event held back is in the count"
    );
}

#[test]
fn a_new_warning_is_written_at_once_even_when_the_bucket_is_empty() {
    let mut correlator = Correlator::default();
    spend_the_burst(&mut correlator, at(0));
    let written = correlator.observe(warning("agent", "SurgeDisabled", "rolling without surge"), at(1));
    assert_eq!(
        seen(&written.publish),
        vec![(
            "SurgeDisabled".to_string(),
            "rolling without surge".to_string(),
            1,
            true
        )]
    );
}

#[test]
fn different_objects_types_and_reasons_are_counted_apart() {
    let mut correlator = Correlator::default();
    observe_all(&mut correlator, (1..=10).map(|pod| pod_created("agent", pod)), at(0));
    let mut failed_create = pod_created("agent", 11);
    failed_create.warning = true;
    let written = observe_all(
        &mut correlator,
        [pod_created("other", 11), pod_deleted("agent", 11), failed_create],
        at(1),
    );
    assert_eq!(
        written
            .iter()
            .map(|write| (
                write.regarding.name.clone().unwrap_or_default(),
                write.warning,
                write.first
            ))
            .collect::<Vec<_>>(),
        vec![
            ("other".to_string(), false, true),
            ("agent".to_string(), false, true),
            ("agent".to_string(), true, true)
        ],
        "each is the first of its own key, written at once"
    );
}

#[test]
fn a_repeated_message_raises_its_event_count_instead_of_a_new_event() {
    let mut correlator = Correlator::default();
    let selecting_all = || warning("agent", "SelectingAll", "This daemon set is selecting all pods");
    let first = correlator.observe(selecting_all(), at(0)).publish;
    correlator.observe(selecting_all(), at(1));
    correlator.observe(selecting_all(), at(2));
    let update = correlator.flush(at(10)).publish;
    assert_eq!(
        seen(&update),
        vec![(
            "SelectingAll".to_string(),
            "This daemon set is selecting all pods".to_string(),
            3,
            false
        )]
    );
    assert_eq!(update[0].series, first[0].series, "the same Event, updated");
}

#[test]
fn a_similar_event_after_ten_quiet_minutes_is_written_on_its_own_again() {
    let mut correlator = Correlator::default();
    observe_all(&mut correlator, (1..=11).map(|pod| pod_created("agent", pod)), at(0));
    let combined = correlator.flush(at(10)).publish;
    assert_eq!(combined.len(), 1);
    assert_eq!(
        correlator.observe(pod_created("agent", 12), at(600)).combined,
        1,
        "ten minutes after the last similar event: still combined"
    );
    let written = correlator.observe(pod_created("agent", 13), at(1201)).publish;
    assert_eq!(
        seen(&written),
        vec![
            (
                "SuccessfulCreate".to_string(),
                "(combined from similar events): Created 2 pods, latest: agent-12, agent-11".to_string(),
                2,
                false
            ),
            (
                "SuccessfulCreate".to_string(),
                "Created pod: agent-13".to_string(),
                1,
                true
            )
        ],
        "the old window's pending count is written out, then the event starts a new window"
    );
}

#[test]
fn flush_all_writes_every_pending_count_regardless_of_interval_and_tokens() {
    let mut correlator = Correlator::default();
    spend_the_burst(&mut correlator, at(0));
    observe_all(&mut correlator, (11..=15).map(|pod| pod_created("agent", pod)), at(1));
    observe_all(&mut correlator, (11..=12).map(|pod| pod_deleted("agent", pod)), at(1));
    let written = correlator.flush_all(at(2)).publish;
    assert_eq!(
        written
            .iter()
            .map(|write| (write.reason.as_str(), write.count))
            .collect::<Vec<_>>(),
        vec![("SuccessfulCreate", 5), ("SuccessfulDelete", 2)]
    );
    assert_eq!(
        correlator.flush_all(at(3)).publish,
        Vec::new(),
        "nothing is written twice"
    );
}

/// A 5,000-node image change: a delete and a create per node, 10,000 events in 130 s, then
/// quiet; the publishing task flushes every second.
#[test]
fn ten_thousand_pod_events_of_a_rollout_take_at_most_a_hundred_writes() {
    let mut correlator = Correlator::default();
    let mut writes = Vec::new();
    let mut flushed_until = 0;
    for node in 0..5000_u32 {
        let millis = i64::from(node) * 26;
        writes.extend(
            correlator
                .observe(pod_deleted("agent", node), at_millis(millis))
                .publish,
        );
        writes.extend(
            correlator
                .observe(pod_created("agent", 5000 + node), at_millis(millis))
                .publish,
        );
        while flushed_until * 1000 <= millis {
            writes.extend(correlator.flush(at(flushed_until)).publish);
            flushed_until += 1;
        }
    }
    for second in flushed_until..flushed_until + 900 {
        writes.extend(correlator.flush(at(second)).publish);
    }
    let mut last_count: BTreeMap<u64, (String, u32)> = BTreeMap::new();
    for write in &writes {
        last_count.insert(write.series, (write.reason.clone(), write.count));
    }
    let mut counted: BTreeMap<String, u32> = BTreeMap::new();
    for (reason, count) in last_count.into_values() {
        *counted.entry(reason).or_default() += count;
    }
    assert!(writes.len() <= 100, "{} writes", writes.len());
    assert_eq!(
        counted,
        BTreeMap::from([
            ("SuccessfulCreate".to_string(), 5000),
            ("SuccessfulDelete".to_string(), 5000)
        ]),
        "every event is counted on the server"
    );
}
