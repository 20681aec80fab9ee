//! The rollout controls a DaemonSet's `daemonroll.io/` annotations ask for, parsed once per plan (pure).
//!
//! Invariants:
//! - No annotation: every control is off and the planner is upstream's.
//! - A value that does not parse never loosens the rollout: the DaemonSet keeps the last good
//!   setting of that control (the controller remembers it between syncs), or, when none is known,
//!   the setting that replaces nothing (README "Rollout controls", "Bad values").

use std::fmt;
use std::time::Duration;

use crate::planner::selector::{Selector, is_qualified_name};
use crate::snapshot::Labels;

/// Every annotation daemonroll reads or writes starts with it.
pub const PREFIX: &str = "daemonroll.io/";
pub const PAUSED: &str = "daemonroll.io/paused";
pub const PARTITION: &str = "daemonroll.io/partition";
pub const ROLLOUT_NODE_SELECTOR: &str = "daemonroll.io/rollout-node-selector";
pub const TOPOLOGY_KEY: &str = "daemonroll.io/topology-key";
pub const MAX_UNAVAILABLE_PER_DOMAIN: &str = "daemonroll.io/max-unavailable-per-domain";
pub const WAVE_INTERVAL: &str = "daemonroll.io/wave-interval";
pub const MAX_SURGE: &str = "daemonroll.io/max-surge";
pub const PROGRESS_DEADLINE: &str = "daemonroll.io/progress-deadline";
pub const ON_FAILURE: &str = "daemonroll.io/on-failure";
pub const IGNORE_NOT_READY_NODES: &str = "daemonroll.io/ignore-not-ready-nodes";
/// Written by daemonroll with a rollback: the hash of the revision it restored.
pub const ROLLED_BACK_TO: &str = "daemonroll.io/rolled-back-to";
/// Written by daemonroll with a rollback: which revision failed and why.
pub const ROLLBACK_REASON: &str = "daemonroll.io/rollback-reason";
/// Written by daemonroll when a rollout completes and `on-failure: rollback` is set: the hash of
/// the revision that was last fully available, the one a rollback restores.
pub const LAST_COMPLETE_REVISION: &str = "daemonroll.io/last-complete-revision";

/// Every annotation a user sets, for `kubectl daemonroll` and the README.
pub const USER_ANNOTATIONS: [&str; 10] = [
    PAUSED,
    PARTITION,
    ROLLOUT_NODE_SELECTOR,
    TOPOLOGY_KEY,
    MAX_UNAVAILABLE_PER_DOMAIN,
    WAVE_INTERVAL,
    MAX_SURGE,
    PROGRESS_DEADLINE,
    ON_FAILURE,
    IGNORE_NOT_READY_NODES,
];

/// A count or a percentage of a total, as `"3"` or `"25%"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Amount {
    Count(u32),
    Percent(u32),
}

impl Amount {
    fn parse(text: &str) -> Option<Self> {
        match text.trim().strip_suffix('%') {
            Some(number) => number.parse().ok().filter(|p| *p <= 100).map(Amount::Percent),
            None => text.trim().parse().ok().map(Amount::Count),
        }
    }

    /// The amount of `total`, percentages rounded down (partition keeps at most what was asked).
    pub fn of_rounded_down(self, total: usize) -> usize {
        match self {
            Amount::Count(count) => count as usize,
            Amount::Percent(percent) => total * percent as usize / 100,
        }
    }

    /// The amount of `total`, percentages rounded up (budgets, as upstream rounds maxSurge).
    pub fn of_rounded_up(self, total: usize) -> usize {
        match self {
            Amount::Count(count) => count as usize,
            Amount::Percent(percent) => (total * percent as usize).div_ceil(100),
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Amount::Count(count) => write!(f, "{count}"),
            Amount::Percent(percent) => write!(f, "{percent}%"),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnFailure {
    #[default]
    Pause,
    Rollback,
}

/// Roll one topology domain at a time.
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    pub key: String,
    /// Caps each domain on top of the global maxUnavailable.
    pub max_unavailable_per_domain: Option<Amount>,
}

/// The canary: only matching nodes roll.
#[derive(Clone, Debug, PartialEq)]
pub struct Canary {
    pub text: String,
    /// None when the text never parsed and no last good selector is known: no node matches.
    pub selector: Option<Selector>,
}

/// The controls in force for one sync.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RolloutControls {
    pub paused: bool,
    pub partition: Option<Amount>,
    pub canary: Option<Canary>,
    pub topology: Option<Topology>,
    pub wave_interval: Option<Duration>,
    pub max_surge: Option<Amount>,
    pub progress_deadline: Option<Duration>,
    pub on_failure: OnFailure,
    pub ignore_not_ready_nodes: bool,
    /// Set when a control did not parse and had no last good setting: nothing is replaced.
    pub hold_for_invalid: bool,
}

impl RolloutControls {
    /// Whether any control changes upstream's rollout.
    pub fn any(&self) -> bool {
        *self != RolloutControls::default()
    }
}

/// An annotation whose value does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlProblem {
    pub annotation: &'static str,
    pub value: String,
    pub accepted: &'static str,
    /// What the DaemonSet does instead.
    pub fallback: &'static str,
}

impl fmt::Display for ControlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut value: String = self.value.chars().take(64).collect();
        if value.len() < self.value.len() {
            value.push('…');
        }
        write!(
            f,
            "annotation {} has an invalid value {value:?}: accepted {}; {}",
            self.annotation, self.accepted, self.fallback
        )
    }
}

/// The controls and the problems found reading them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedControls {
    pub controls: RolloutControls,
    pub problems: Vec<ControlProblem>,
    /// The annotations in force that parsed (this sync's or kept ones): the controller keeps them
    /// as the last good settings.
    pub good: Labels,
}

const KEEP_LAST_GOOD: &str = "the last good setting stays in force";
const AMOUNT: &str = "a count like \"3\" or a percentage like \"25%\"";
const DURATION: &str = "a duration like \"90s\", \"2m\" or \"1h30m\"";

/// Reads the controls from `annotations`. `last_good` holds the values that parsed in the previous
/// sync of this DaemonSet (None after a restart): a value that does not parse keeps that setting.
pub fn parse(annotations: &Labels, last_good: Option<&Labels>) -> ParsedControls {
    let mut reader = Reader {
        annotations,
        last_good,
        parsed: ParsedControls::default(),
        hold: false,
    };
    let paused = reader.pick(
        PAUSED,
        "\"true\" or \"false\"",
        parse_flag,
        (true, "read as \"true\" until it is fixed"),
    );
    let partition = reader
        .pick(PARTITION, AMOUNT, Amount::parse_some, (None, HOLDS))
        .flatten();
    let canary = reader.canary();
    let per_domain = reader
        .pick(
            MAX_UNAVAILABLE_PER_DOMAIN,
            "a count like \"1\" or a percentage like \"50%\" (not 0)",
            parse_per_domain,
            (None, HOLDS),
        )
        .flatten();
    let topology = reader
        .pick(
            TOPOLOGY_KEY,
            "a node label key like \"topology.kubernetes.io/zone\"",
            parse_label_key,
            (None, HOLDS),
        )
        .flatten()
        .map(|key| Topology {
            key,
            max_unavailable_per_domain: per_domain,
        });
    let controls = RolloutControls {
        paused: paused.unwrap_or(false),
        partition,
        canary,
        topology,
        wave_interval: reader
            .pick(WAVE_INTERVAL, DURATION, parse_some_duration, (None, HOLDS))
            .flatten(),
        // Not surging is the safe reading: the spec's maxUnavailable still applies.
        max_surge: reader
            .pick(
                MAX_SURGE,
                "a count like \"1\" or a percentage like \"10%\"",
                Amount::parse_some,
                (None, "no surge until it is fixed"),
            )
            .flatten(),
        progress_deadline: reader
            .pick(PROGRESS_DEADLINE, DURATION, parse_some_duration, (None, HOLDS))
            .flatten(),
        on_failure: reader
            .pick(
                ON_FAILURE,
                "\"pause\" or \"rollback\"",
                parse_on_failure,
                (OnFailure::Pause, "a failed rollout pauses until it is fixed"),
            )
            .unwrap_or_default(),
        ignore_not_ready_nodes: reader
            .pick(
                IGNORE_NOT_READY_NODES,
                "\"true\" or \"false\"",
                parse_flag,
                (false, "read as \"false\" until it is fixed"),
            )
            .unwrap_or(false),
        hold_for_invalid: false,
    };
    let hold_for_invalid = reader.hold;
    let mut parsed = reader.parsed;
    parsed.controls = RolloutControls {
        hold_for_invalid,
        ..controls
    };
    parsed
}

const HOLDS: &str = "no old pod is replaced until it is fixed";

impl Amount {
    fn parse_some(text: &str) -> Option<Option<Amount>> {
        Amount::parse(text).map(Some)
    }
}

fn parse_flag(text: &str) -> Option<bool> {
    match text.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn parse_on_failure(text: &str) -> Option<OnFailure> {
    match text.trim() {
        "pause" => Some(OnFailure::Pause),
        "rollback" => Some(OnFailure::Rollback),
        _ => None,
    }
}

fn parse_per_domain(text: &str) -> Option<Option<Amount>> {
    Amount::parse(text)
        .filter(|amount| !matches!(amount, Amount::Count(0) | Amount::Percent(0)))
        .map(Some)
}

fn parse_label_key(text: &str) -> Option<Option<String>> {
    is_qualified_name(text.trim()).then(|| Some(text.trim().to_string()))
}

fn parse_some_duration(text: &str) -> Option<Option<Duration>> {
    parse_duration(text).map(Some)
}

struct Reader<'a> {
    annotations: &'a Labels,
    last_good: Option<&'a Labels>,
    parsed: ParsedControls,
    /// A control fell back to holding the rollout.
    hold: bool,
}

impl Reader<'_> {
    fn problem(&mut self, annotation: &'static str, value: &str, accepted: &'static str, fallback: &'static str) {
        self.parsed.problems.push(ControlProblem {
            annotation,
            value: value.to_string(),
            accepted,
            fallback,
        });
    }

    /// The annotation's value: None when unset; a value that does not parse keeps the last good
    /// one, else reads as `unknown.0` (with `unknown.1` saying so). A fallback of `HOLDS` holds
    /// the rollout.
    fn pick<T>(
        &mut self,
        annotation: &'static str,
        accepted: &'static str,
        parse: impl Fn(&str) -> Option<T>,
        unknown: (T, &'static str),
    ) -> Option<T> {
        let text = self.annotations.get(annotation)?;
        if let Some(value) = parse(text) {
            self.parsed.good.insert(annotation, text);
            return Some(value);
        }
        let kept = self
            .last_good
            .and_then(|good| good.get(annotation))
            .and_then(|good| parse(good).map(|value| (good.to_string(), value)));
        match kept {
            Some((good, value)) => {
                self.problem(annotation, text, accepted, KEEP_LAST_GOOD);
                self.parsed.good.insert(annotation, good);
                Some(value)
            }
            None => {
                let (value, fallback) = unknown;
                self.problem(annotation, text, accepted, fallback);
                self.hold |= fallback == HOLDS;
                Some(value)
            }
        }
    }

    fn canary(&mut self) -> Option<Canary> {
        let accepted = "a label selector like \"zone=a\" or \"tier in (canary,edge)\"";
        let fallback = "no node matches until it is fixed";
        let parse = |text: &str| {
            Selector::parse(text).ok().map(|selector| Canary {
                text: text.to_string(),
                selector: Some(selector),
            })
        };
        let text = self.annotations.get(ROLLOUT_NODE_SELECTOR)?.to_string();
        let unknown = Canary { text, selector: None };
        self.pick(ROLLOUT_NODE_SELECTOR, accepted, parse, (unknown, fallback))
    }
}

/// The longest duration a control accepts: longer ones are typos, and would overflow time arithmetic.
const LONGEST: Duration = Duration::from_secs(366 * 24 * 3600);

/// Go-style durations made of integer parts: `90s`, `2m`, `1h30m`, `500ms`. Zero and more than a
/// year are refused.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    let mut total = Duration::ZERO;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let value: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let part = match &rest[..unit_end] {
            "ms" => Duration::from_millis(value),
            "s" => Duration::from_secs(value),
            "m" => Duration::from_secs(value.checked_mul(60)?),
            "h" => Duration::from_secs(value.checked_mul(3600)?),
            _ => return None,
        };
        total = total.checked_add(part)?;
        rest = &rest[unit_end..];
    }
    (total > Duration::ZERO && total <= LONGEST).then_some(total)
}
