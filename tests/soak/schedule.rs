//! The chaos schedule: one per seed, with what 45 s should hold, every node action applying to a
//! node in the right state, and writes failing at the rate asked.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::chaos::*;
use crate::support::node_name;

fn settings(seed: u64) -> ChaosSettings {
    ChaosSettings {
        seed,
        nodes: 200,
        duration: Duration::from_secs(45),
        kill_every: Duration::from_secs(20),
        template_every: Duration::from_secs(15),
        node_event_every: Duration::from_millis(1_500),
    }
}

#[test]
fn a_seed_gives_one_schedule() {
    assert_eq!(schedule(&settings(7)), schedule(&settings(7)));
    assert_ne!(schedule(&settings(7)), schedule(&settings(8)));
}

#[test]
fn forty_five_seconds_hold_two_kills_three_templates_and_node_churn() {
    let steps = schedule(&settings(1));
    let count = |kind: &str| steps.iter().filter(|s| s.action.kind() == kind).count();
    assert_eq!((count("controller killed"), count("controller started")), (2, 2));
    assert_eq!(count("template changed"), 3);
    assert!(count("node NotReady") >= 3, "{steps:#?}");
    assert!(count("node added") + count("node removed") >= 5, "{steps:#?}");
    assert!(steps.iter().all(|s| s.at <= Duration::from_secs(45)));
}

#[test]
fn every_node_action_applies_to_a_node_in_the_right_state() {
    for seed in 0..20 {
        let mut present: BTreeMap<String, bool> = (1..=200).map(|n| (node_name(n), false)).collect();
        for step in schedule(&settings(seed)) {
            match step.action {
                Action::NodeNotReady(name) => {
                    assert_eq!(present.insert(name, true), Some(false), "seed {seed}")
                }
                Action::NodeReady(name) => {
                    assert_eq!(present.insert(name, false), Some(true), "seed {seed}")
                }
                Action::AddNode { name, .. } => assert_eq!(present.insert(name, false), None, "seed {seed}"),
                Action::RemoveNode(name) => assert!(present.remove(&name).is_some(), "seed {seed}"),
                _ => {}
            }
        }
        assert!((190..=210).contains(&present.len()), "seed {seed}: {}", present.len());
    }
}

#[test]
fn writes_fail_five_percent_of_the_time_across_three_codes() {
    let rules = write_faults();
    let survive: f64 = rules.iter().map(|r| 1.0 - r.error_rate).product();
    assert!((1.0 - survive - WRITE_FAILURE_RATE).abs() < 1e-9);
    let codes: Vec<u16> = rules
        .iter()
        .filter(|r| r.error_rate > 0.0)
        .map(|r| r.error_code)
        .collect();
    assert_eq!(codes, [409, 429, 500]);
}
