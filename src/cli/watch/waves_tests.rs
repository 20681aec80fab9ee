//! Waves across refreshes: what starts one, what ends it, and the ETA they give.

use chrono::{DateTime, TimeDelta, Utc};

use super::super::model::{Cell, CellState, Group, Model};
use super::*;

fn at(seconds: i64) -> Timestamp {
    DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
        .map(|t| t.with_timezone(&Utc) + TimeDelta::seconds(seconds))
        .expect("valid constant")
}

use CellState::{Held, NewAvailable as New, NewStarting as Starting, Old};

/// A model of nodes n1… in these states; an old pod `old-nX` runs where the state is Old or Held.
fn fleet(states: &[CellState]) -> Model {
    let cells = states
        .iter()
        .enumerate()
        .map(|(index, state)| Cell {
            node: format!("n{}", index + 1),
            state: *state,
            old_pod: matches!(state, Old | Held).then(|| format!("old-n{}", index + 1)),
            hold: (*state == Held).then_some("partition"),
        })
        .collect();
    Model {
        daemon_set: "default/agent".into(),
        revision: "2 (abc)".into(),
        strategy: String::new(),
        controls: Vec::new(),
        conditions: Vec::new(),
        problems: Vec::new(),
        topology_key: None,
        groups: vec![Group { domain: None, cells }],
        desired: states.len(),
        blockers: Vec::new(),
        more_blockers: 0,
    }
}

fn line(number: usize, nodes: usize, seconds: u64, finished: bool) -> WaveLine {
    WaveLine {
        number,
        nodes,
        duration: Duration::from_secs(seconds),
        finished,
    }
}

#[test]
fn nodes_whose_old_pod_went_in_one_refresh_form_a_wave_that_ends_when_all_are_available() {
    let mut waves = Waves::default();
    waves.observe(at(0), &fleet(&[Old, Old, Old, Old, Old]));
    waves.observe(at(1), &fleet(&[Starting, Starting, Old, Old, Old]));
    waves.observe(at(3), &fleet(&[New, Starting, Old, Old, Old]));
    let model = fleet(&[New, New, Old, Old, Old]);
    waves.observe(at(5), &model);

    let report = waves.report(at(5), &model);
    assert_eq!(report.waves, vec![line(1, 2, 4, true)]);
    // 3 nodes left, 2 a wave: 2 more waves of 4 s.
    assert_eq!(
        report.eta,
        Eta::Estimate {
            remaining: Duration::from_secs(8),
            mean_wave: Duration::from_secs(4),
            waves_left: 2
        }
    );
}

#[test]
fn a_wave_in_flight_counts_its_time_so_far_and_shortens_the_eta_by_it() {
    let mut waves = Waves::default();
    waves.observe(at(0), &fleet(&[Old, Old, Old, Old]));
    waves.observe(at(1), &fleet(&[Starting, Old, Old, Old]));
    waves.observe(at(5), &fleet(&[New, Old, Old, Old]));
    waves.observe(at(6), &fleet(&[New, Starting, Old, Old]));
    let model = fleet(&[New, Starting, Old, Old]);
    waves.observe(at(7), &model);

    let report = waves.report(at(7), &model);
    assert_eq!(report.waves, vec![line(1, 1, 4, true), line(2, 1, 1, false)]);
    // The wave in flight needs 3 s more, then 2 waves of 4 s.
    assert_eq!(
        report.eta,
        Eta::Estimate {
            remaining: Duration::from_secs(11),
            mean_wave: Duration::from_secs(4),
            waves_left: 2
        }
    );
}

#[test]
fn there_is_no_eta_before_a_wave_ends_and_nodes_a_partition_keeps_do_not_count() {
    let mut waves = Waves::default();
    waves.observe(at(0), &fleet(&[Old, Held]));
    let starting = fleet(&[Starting, Held]);
    waves.observe(at(1), &starting);
    assert_eq!(waves.report(at(1), &starting).eta, Eta::Unknown);

    let done = fleet(&[New, Held]);
    waves.observe(at(2), &done);
    assert_eq!(waves.report(at(2), &done).eta, Eta::Done);
}

#[test]
fn a_new_update_revision_starts_the_waves_over() {
    let mut waves = Waves::default();
    waves.observe(at(0), &fleet(&[Old, Old]));
    waves.observe(at(1), &fleet(&[New, Old]));
    let mut next = fleet(&[Old, Old]);
    next.revision = "3 (def)".into();
    waves.observe(at(2), &next);
    assert_eq!(waves.report(at(2), &next).waves, vec![]);
}
