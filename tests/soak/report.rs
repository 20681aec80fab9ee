//! What a soak run counted, and its printout: faults, restarts, writes, breaches, convergence.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use daemonroll::sim::faults::Injected;
use daemonroll::sim::requests::RequestRecord;

use crate::chaos::watch_faults;
use crate::support::{CONTROLLER, Replay};

/// How the fleet ended after the faults stopped.
#[derive(Clone, Debug)]
pub enum Convergence {
    After(Duration),
    /// Still not converged when the wait gave up, and why.
    Not {
        after: Duration,
        why: String,
    },
}

/// Attempts and failures of one verb on one resource.
#[derive(Clone, Copy, Debug, Default)]
pub struct Attempts {
    pub sent: usize,
    pub failed: usize,
}

#[derive(Debug)]
pub struct SoakReport {
    pub seed: u64,
    pub duration: Duration,
    pub nodes: usize,
    pub max_unavailable: usize,
    pub converge_within: Duration,
    pub injected: Injected,
    /// Watch requests daemonroll made (each a resume from a resourceVersion, or a first watch).
    pub watches: usize,
    /// What the chaos did, by kind.
    pub actions: BTreeMap<&'static str, usize>,
    pub template_retries: usize,
    pub convergence: Convergence,
    /// Each template change's rollout time under the chaos; None when a later one overtook it.
    pub rollouts: Vec<Option<Duration>>,
    pub replay: Replay,
    /// The controller's write requests by (verb, resource).
    pub requests: BTreeMap<(&'static str, String), Attempts>,
    /// Every breach: the timeline's (invariants 1–4, 6) and the journal's (7).
    pub breaches: Vec<String>,
}

/// The controller's write requests by (verb, resource), with how many failed.
pub fn requests_by_verb(journal: &[RequestRecord]) -> BTreeMap<(&'static str, String), Attempts> {
    let mut requests: BTreeMap<(&'static str, String), Attempts> = BTreeMap::new();
    for request in journal.iter().filter(|w| w.actor == CONTROLLER && w.is_write()) {
        let attempts = requests.entry((request.verb, request.resource.clone())).or_default();
        attempts.sent += 1;
        attempts.failed += usize::from(!request.succeeded());
    }
    requests
}

impl SoakReport {
    /// Whether the fleet converged within the bound after the faults stopped.
    pub fn converged_in_time(&self) -> bool {
        matches!(self.convergence, Convergence::After(after) if after <= self.converge_within)
    }
}

impl fmt::Display for SoakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = |kind: &str| self.actions.get(kind).copied().unwrap_or(0);
        writeln!(
            f,
            "soak seed {}: {} s of faults on {} nodes, maxUnavailable {}",
            self.seed,
            self.duration.as_secs(),
            self.nodes,
            self.max_unavailable
        )?;
        let codes: Vec<String> = self
            .injected
            .errors_by_code
            .iter()
            .map(|(code, count)| format!("{count}×{code}"))
            .collect();
        writeln!(
            f,
            "  faults injected: {} failed writes ({}), {} watches dropped (after {} ms), {} of {} watch requests expired (410)",
            self.injected.errors,
            codes.join(" "),
            self.injected.dropped_watches,
            watch_faults(self.seed).drop_watch_after_ms.unwrap_or_default(),
            self.injected.expired_resumes,
            self.watches
        )?;
        writeln!(
            f,
            "  chaos: {} controller restarts (SIGKILL), {} template changes ({} resent), nodes: {} NotReady, {} back, {} added, {} removed",
            action("controller killed"),
            action("template changed"),
            self.template_retries,
            action("node NotReady"),
            action("node Ready again"),
            action("node added"),
            action("node removed")
        )?;
        let mut finished: Vec<Duration> = self.rollouts.iter().flatten().copied().collect();
        finished.sort();
        let seconds = |d: Option<&Duration>| d.map_or("-".into(), |d| format!("{:.1} s", d.as_secs_f64()));
        writeln!(
            f,
            "  rollouts under the chaos: {} of {} completed before the next template (median {}, longest {})",
            finished.len(),
            self.rollouts.len(),
            seconds(finished.get(finished.len() / 2)),
            seconds(finished.last())
        )?;
        let applied: Vec<String> = self
            .replay
            .writes_by_verb
            .iter()
            .map(|((kind, verb), count)| format!("{verb} {kind} {count}"))
            .collect();
        writeln!(f, "  writes by daemonroll, applied: {}", applied.join(", "))?;
        let sent: Vec<String> = self
            .requests
            .iter()
            .map(|((verb, resource), a)| format!("{verb} {resource} {} ({} failed)", a.sent, a.failed))
            .collect();
        writeln!(f, "  write requests by daemonroll: {}", sent.join(", "))?;
        writeln!(
            f,
            "  most nodes emptied by daemonroll at once: {} (budget {}); most pods on a node: {}; creates racing a node change: {} ({} while the node watch was expired; longest {} ms)",
            self.replay.max_unavailable_seen,
            self.max_unavailable,
            self.replay.max_pods_on_a_node,
            self.replay.creates_racing_node_changes,
            self.replay.creates_while_node_watch_expired,
            self.replay.longest_node_race.num_milliseconds()
        )?;
        match &self.convergence {
            Convergence::After(after) => writeln!(
                f,
                "  converged {:.2} s after the faults stopped (bound {:.1} s)",
                after.as_secs_f64(),
                self.converge_within.as_secs_f64()
            )?,
            Convergence::Not { after, why } => writeln!(
                f,
                "  NOT converged {:.1} s after the faults stopped: {why}",
                after.as_secs_f64()
            )?,
        }
        writeln!(
            f,
            "  status written again unchanged, spaced, before daemonroll's DaemonSet watch could show its last write: {}",
            self.replay.status_rewrites_unseen
        )?;
        // "invariant N: …": by invariant, with the first few of each.
        let mut by_invariant: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
        for breach in &self.breaches {
            let invariant = breach.split(':').next().unwrap_or_default();
            by_invariant.entry(invariant).or_default().push(breach);
        }
        let counts: Vec<String> = by_invariant
            .iter()
            .map(|(invariant, breaches)| format!("{invariant}: {}", breaches.len()))
            .collect();
        writeln!(
            f,
            "  breaches: {}",
            [self.breaches.len().to_string(), counts.join(", ")]
                .join(" ")
                .trim_end()
        )?;
        for breach in by_invariant.values().flat_map(|breaches| breaches.iter().take(3)) {
            writeln!(f, "    {breach}")?;
        }
        Ok(())
    }
}
