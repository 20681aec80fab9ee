//! One `watch` frame as text: plain, or with ANSI colours for a terminal (pure).

use std::fmt::Write;
use std::time::Duration;

use super::model::{CellState, Model};
use super::waves::{Eta, SHOWN_WAVES, WaveReport};

/// Cells on one grid row before it wraps (two columns each).
pub const CELLS_PER_ROW: usize = 40;
const BAR_WIDTH: usize = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// No escape sequences: logs, pipes, `--plain`.
    Plain,
    /// Coloured with ANSI SGR sequences.
    Ansi,
}

impl Style {
    fn paint(self, sgr: &str, text: &str) -> String {
        match self {
            Style::Plain => text.to_string(),
            Style::Ansi => format!("\x1b[{sgr}m{text}\x1b[0m"),
        }
    }

    fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    fn cell(self, state: CellState) -> String {
        let sgr = match state {
            CellState::NewAvailable => "30;42",
            CellState::NewStarting => "30;46",
            CellState::Old => "30;47",
            CellState::Unavailable => "97;41",
            CellState::Held => "97;44",
            CellState::Blocked => "1;97;45",
        };
        self.paint(sgr, &state.symbol().to_string())
    }
}

/// The whole frame, lines ending in `\n`.
pub fn frame(model: &Model, waves: &WaveReport, style: Style) -> String {
    let mut out = String::new();
    header(&mut out, model, style);
    out.push('\n');
    grid(&mut out, model, style);
    out.push('\n');
    progress(&mut out, model, style);
    wave_lines(&mut out, waves);
    blockers(&mut out, model, style);
    out
}

fn header(out: &mut String, model: &Model, style: Style) {
    let _ = writeln!(
        out,
        "{}  revision {}",
        style.bold(&format!("DaemonSet {}", model.daemon_set)),
        model.revision
    );
    let _ = writeln!(out, "strategy  {}", model.strategy);
    if !model.controls.is_empty() {
        let _ = writeln!(out, "controls  {}", model.controls.join("  "));
    }
    for condition in &model.conditions {
        let status = match condition.status.as_str() {
            "True" => style.paint("32", "True"),
            "False" => style.paint("1;31", "False"),
            other => style.paint("33", other),
        };
        let _ = writeln!(
            out,
            "{:<12} {status:<padding$} {}: {}",
            condition.type_,
            style.bold(&condition.reason),
            condition.message,
            padding = 7 + status.len() - condition.status.len()
        );
    }
    for problem in &model.problems {
        let _ = writeln!(out, "{} {problem}", style.paint("1;31", "!"));
    }
}

fn grid(out: &mut String, model: &Model, style: Style) {
    match &model.topology_key {
        Some(key) => {
            let _ = writeln!(out, "nodes by {key}");
        }
        None => out.push_str("nodes\n"),
    }
    let width = model
        .groups
        .iter()
        .filter_map(|g| g.domain.as_ref().map(String::len))
        .max()
        .unwrap_or(0);
    for group in &model.groups {
        let label = group.domain.as_deref().unwrap_or_default();
        for (row, cells) in group.cells.chunks(CELLS_PER_ROW).enumerate() {
            let shown = if row == 0 { label } else { "" };
            let cells: Vec<String> = cells.iter().map(|cell| style.cell(cell.state)).collect();
            let line = format!("  {shown:<width$}  {}", cells.join(" "));
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    if model.groups.is_empty() {
        out.push_str("  (no nodes run this DaemonSet)\n");
    }
    let legend: Vec<String> = CellState::ALL
        .iter()
        .map(|state| format!("{} {} {}", style.cell(*state), state.label(), model.count(*state)))
        .collect();
    let _ = writeln!(out, "legend  {}", legend.join("   "));
}

fn progress(out: &mut String, model: &Model, style: Style) {
    let done = model.count(CellState::NewAvailable);
    let filled = (done * BAR_WIDTH)
        .checked_div(model.desired)
        .unwrap_or(0)
        .min(BAR_WIDTH);
    let percent = (done * 100).checked_div(model.desired).unwrap_or(0);
    let bar = format!(
        "{}{}",
        style.paint("32", &"#".repeat(filled)),
        ".".repeat(BAR_WIDTH - filled)
    );
    let _ = writeln!(
        out,
        "progress  [{bar}]  {done} of {} updated and available ({percent}%)",
        model.desired
    );
}

fn wave_lines(out: &mut String, report: &WaveReport) {
    if report.waves.is_empty() {
        out.push_str("waves     none seen yet\n");
    } else {
        let skipped = report.waves.len().saturating_sub(SHOWN_WAVES);
        let mut parts: Vec<String> = report.waves[skipped..]
            .iter()
            .map(|wave| {
                let nodes = if wave.nodes == 1 { "node" } else { "nodes" };
                let state = if wave.finished { "" } else { ", in flight" };
                format!(
                    "{}: {} {nodes} {}{state}",
                    wave.number,
                    wave.nodes,
                    seconds(wave.duration)
                )
            })
            .collect();
        if skipped > 0 {
            parts.insert(0, format!("({skipped} earlier)"));
        }
        let _ = writeln!(out, "waves     {}", parts.join(" · "));
    }
    let eta = match &report.eta {
        Eta::Unknown => "after the first wave is available".to_string(),
        Eta::Done => "done".to_string(),
        Eta::Stopped(why) => format!("none while {why}"),
        Eta::Estimate {
            remaining,
            mean_wave,
            waves_left,
        } => format!(
            "~{} (mean wave {} × {waves_left} wave(s) left)",
            seconds(*remaining),
            seconds(*mean_wave)
        ),
    };
    let _ = writeln!(out, "ETA       {eta}");
}

fn blockers(out: &mut String, model: &Model, style: Style) {
    if model.blockers.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", style.bold("blockers"));
    let width = model.blockers.iter().map(|b| b.node.len()).max().unwrap_or(0);
    for blocker in &model.blockers {
        let _ = writeln!(out, "  {:<width$}  {}", blocker.node, blocker.text);
    }
    if model.more_blockers > 0 {
        let _ = writeln!(out, "  … and {} more", model.more_blockers);
    }
}

/// `4.2s`, `2m05s`.
pub fn seconds(duration: Duration) -> String {
    let total = duration.as_secs_f64();
    if total < 60.0 {
        return format!("{total:.1}s");
    }
    let whole = duration.as_secs();
    format!("{}m{:02}s", whole / 60, whole % 60)
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
