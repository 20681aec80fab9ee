//! Frames as people read them: the plain frame whole, and what colour adds.

use super::super::model::{Blocker, Cell, ConditionLine, Group, Model};
use super::super::waves::WaveLine;
use super::*;

fn cell(node: &str, state: CellState) -> Cell {
    Cell {
        node: node.into(),
        state,
        old_pod: None,
        hold: None,
    }
}

fn zoned_rollout() -> Model {
    use CellState::*;
    Model {
        daemon_set: "default/agent".into(),
        revision: "2 (5f7c9d)".into(),
        strategy: "RollingUpdate maxUnavailable 1 maxSurge 0 (now: 1 unavailable, 0 surge of 6)".into(),
        controls: vec!["topology-key=zone".into(), "partition=1".into()],
        conditions: vec![
            ConditionLine {
                type_: "Progressing".into(),
                status: "True".into(),
                reason: "NewRevisionRolling".into(),
                message: "revision 2: 3 of 6 nodes updated".into(),
            },
            ConditionLine {
                type_: "Available".into(),
                status: "False".into(),
                reason: "PodsUnavailable".into(),
                message: "1 pod unavailable".into(),
            },
        ],
        problems: Vec::new(),
        topology_key: Some("zone".into()),
        groups: vec![
            Group {
                domain: Some("zone-a".into()),
                cells: vec![
                    cell("n1", NewAvailable),
                    cell("n2", NewAvailable),
                    cell("n3", NewStarting),
                ],
            },
            Group {
                domain: Some("zone-bb".into()),
                cells: vec![cell("n4", Old), cell("n5", Held)],
            },
            Group {
                domain: Some("(no label)".into()),
                cells: vec![cell("n6", Unavailable)],
            },
        ],
        desired: 6,
        blockers: vec![Blocker {
            node: "n4".into(),
            text: "held: domain \"zone-a\" rolls first".into(),
        }],
        more_blockers: 2,
    }
}

fn two_waves() -> WaveReport {
    WaveReport {
        waves: vec![
            WaveLine {
                number: 1,
                nodes: 2,
                duration: Duration::from_millis(4200),
                finished: true,
            },
            WaveLine {
                number: 2,
                nodes: 1,
                duration: Duration::from_secs(1),
                finished: false,
            },
        ],
        eta: Eta::Estimate {
            remaining: Duration::from_secs(75),
            mean_wave: Duration::from_millis(4200),
            waves_left: 3,
        },
    }
}

#[test]
fn a_plain_frame_has_the_header_the_grid_by_domain_the_legend_progress_waves_eta_and_blockers() {
    let frame = frame(&zoned_rollout(), &two_waves(), Style::Plain);
    let expected = "\
DaemonSet default/agent  revision 2 (5f7c9d)
strategy  RollingUpdate maxUnavailable 1 maxSurge 0 (now: 1 unavailable, 0 surge of 6)
controls  topology-key=zone  partition=1
Progressing  True    NewRevisionRolling: revision 2: 3 of 6 nodes updated
Available    False   PodsUnavailable: 1 pod unavailable

nodes by zone
  zone-a      # # +
  zone-bb     o h
  (no label)  x
legend  # new available 2   + new starting 1   o old 1   x unavailable 1   h held 1   ! blocked 0

progress  [##########....................]  2 of 6 updated and available (33%)
waves     1: 2 nodes 4.2s · 2: 1 node 1.0s, in flight
ETA       ~1m15s (mean wave 4.2s × 3 wave(s) left)
blockers
  n4  held: domain \"zone-a\" rolls first
  … and 2 more
";
    assert_eq!(frame, expected);
}

#[test]
fn long_domains_wrap_after_a_row_of_cells() {
    let mut model = zoned_rollout();
    model.groups = vec![Group {
        domain: None,
        cells: (0..CELLS_PER_ROW + 2)
            .map(|i| cell(&format!("n{i}"), CellState::Old))
            .collect(),
    }];
    model.topology_key = None;
    let frame = frame(&model, &WaveReport::default(), Style::Plain);
    let rows: Vec<&str> = frame.lines().filter(|line| line.starts_with("    o")).collect();
    assert_eq!(rows.len(), 2, "{frame}");
    assert_eq!(rows[1], "    o o");
    assert!(frame.contains("waves     none seen yet\nETA       after the first wave is available\n"));
}

#[test]
fn colour_paints_each_cell_and_plain_output_has_no_escape_sequences() {
    let coloured = frame(&zoned_rollout(), &two_waves(), Style::Ansi);
    assert!(
        coloured.contains("\x1b[30;42m#\x1b[0m"),
        "new available cells are green"
    );
    assert!(coloured.contains("\x1b[97;44mh\x1b[0m"), "held cells are blue");
    assert!(coloured.contains("\x1b[1;31mFalse\x1b[0m"), "a False condition is red");
    let plain = frame(&zoned_rollout(), &two_waves(), Style::Plain);
    assert!(!plain.contains('\x1b'));
    let stripped = strip_ansi(&coloured);
    assert_eq!(stripped, plain, "colour changes nothing but colour");
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for next in chars.by_ref() {
                if next == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn durations_read_in_seconds_then_minutes() {
    assert_eq!(seconds(Duration::from_millis(4250)), "4.2s");
    assert_eq!(seconds(Duration::from_secs(125)), "2m05s");
}
