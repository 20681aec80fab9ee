//! The waves of a rollout as `watch` sees them across refreshes, and the ETA they suggest (pure:
//! the caller passes each refresh's time).
//!
//! A wave is the nodes whose old pod went away within one refresh window; it lasts from the
//! refresh that saw the first delete until the refresh that sees all its nodes available. Times
//! are therefore precise to one refresh interval.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use daemonroll::snapshot::Timestamp;

use super::model::{CellState, Model};

/// The waves listed; older ones are summed up in the count.
pub const SHOWN_WAVES: usize = 6;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Wave {
    started: Timestamp,
    nodes: BTreeSet<String>,
    finished: Option<Timestamp>,
}

/// What the frame shows of the waves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WaveReport {
    /// Every wave so far, oldest first.
    pub waves: Vec<WaveLine>,
    pub eta: Eta,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WaveLine {
    pub number: usize,
    pub nodes: usize,
    pub duration: Duration,
    pub finished: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub enum Eta {
    /// No wave finished yet: nothing to estimate from.
    #[default]
    Unknown,
    /// Every node that is to roll runs the new revision.
    Done,
    /// Nothing moves until someone acts (paused, blocked).
    Stopped(&'static str),
    Estimate {
        remaining: Duration,
        mean_wave: Duration,
        waves_left: usize,
    },
}

/// The waves seen so far, for one update revision.
#[derive(Clone, Debug, Default)]
pub struct Waves {
    waves: Vec<Wave>,
    /// Each node's old pod at the previous refresh.
    old_pods: BTreeMap<String, String>,
    revision: Option<String>,
}

impl Waves {
    /// Takes in one refresh: nodes whose old pod went since the last refresh form a new wave, and
    /// a wave whose nodes are all available ends. A new update revision starts over.
    pub fn observe(&mut self, now: Timestamp, model: &Model) {
        if self.revision.as_deref() != Some(model.revision.as_str()) {
            if self.revision.is_some() {
                self.waves.clear();
            }
            self.revision = Some(model.revision.clone());
        }
        let switched: BTreeSet<String> = model
            .cells()
            .filter(|cell| {
                self.old_pods
                    .get(&cell.node)
                    .is_some_and(|old| cell.old_pod.as_deref() != Some(old.as_str()))
            })
            .map(|cell| cell.node.clone())
            .collect();
        if !switched.is_empty() {
            self.waves.push(Wave {
                started: now,
                nodes: switched,
                finished: None,
            });
        }
        let states: BTreeMap<&str, CellState> = model.cells().map(|c| (c.node.as_str(), c.state)).collect();
        for wave in self.waves.iter_mut().filter(|wave| wave.finished.is_none()) {
            // A node that left the DaemonSet (removed, no longer eligible) does not hold the wave up.
            let done = wave
                .nodes
                .iter()
                .all(|node| states.get(node.as_str()).is_none_or(|s| *s == CellState::NewAvailable));
            if done {
                wave.finished = Some(now);
            }
        }
        self.old_pods = model
            .cells()
            .filter_map(|cell| Some((cell.node.clone(), cell.old_pod.clone()?)))
            .collect();
    }

    pub fn report(&self, now: Timestamp, model: &Model) -> WaveReport {
        let elapsed = |wave: &Wave| {
            let end = wave.finished.unwrap_or(now);
            (end - wave.started).to_std().unwrap_or_default()
        };
        let waves = self
            .waves
            .iter()
            .enumerate()
            .map(|(index, wave)| WaveLine {
                number: index + 1,
                nodes: wave.nodes.len(),
                duration: elapsed(wave),
                finished: wave.finished.is_some(),
            })
            .collect();
        WaveReport {
            waves,
            eta: self.eta(now, model),
        }
    }

    fn eta(&self, now: Timestamp, model: &Model) -> Eta {
        // Nodes a partition or canary keeps roll only when someone changes the annotation.
        let waiting_for_user = |hold: Option<&str>| matches!(hold, Some("partition" | "canary"));
        let to_roll = model
            .cells()
            .filter(|c| {
                !matches!(c.state, CellState::NewAvailable | CellState::NewStarting) && !waiting_for_user(c.hold)
            })
            .count();
        let in_flight = model.count(CellState::NewStarting);
        if to_roll == 0 && in_flight == 0 {
            return Eta::Done;
        }
        if model.count(CellState::Blocked) > 0 {
            return Eta::Stopped("blocked");
        }
        if model.cells().any(|c| c.hold == Some("paused")) {
            return Eta::Stopped("paused");
        }
        let finished: Vec<Duration> = self
            .waves
            .iter()
            .filter_map(|w| (w.finished? - w.started).to_std().ok())
            .collect();
        if finished.is_empty() {
            return Eta::Unknown;
        }
        let mean_wave = finished.iter().sum::<Duration>() / finished.len() as u32;
        let mean_size = self.waves.iter().map(|w| w.nodes.len()).sum::<usize>() as f64 / self.waves.len() as f64;
        let waves_left = (to_roll as f64 / mean_size.max(1.0)).ceil() as usize;
        // The wave in flight still needs what the mean leaves of it.
        let current = self
            .waves
            .iter()
            .filter(|w| w.finished.is_none())
            .map(|w| mean_wave.saturating_sub((now - w.started).to_std().unwrap_or_default()))
            .max()
            .unwrap_or_default();
        Eta::Estimate {
            remaining: current + mean_wave * waves_left as u32,
            mean_wave,
            waves_left,
        }
    }
}

#[cfg(test)]
#[path = "waves_tests.rs"]
mod tests;
