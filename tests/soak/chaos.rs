//! The soak's chaos, decided in advance from a seed: what happens to the controller, the nodes
//! and the DaemonSet's template, and when (pure: the same seed gives the same schedule).
//!
//! The API faults (failing writes, dropped watches, expired resumes) are the simulator's rules,
//! drawn by its own seeded generator as requests come (`write_faults`, `watch_faults`).

use std::collections::BTreeMap;
use std::time::Duration;

use daemonroll::sim::faults::FaultRule;

use crate::support::node_name;

/// What the chaos may do, and for how long.
#[derive(Clone, Debug)]
pub struct ChaosSettings {
    pub seed: u64,
    /// Nodes at the start: node-001 … node-<nodes>.
    pub nodes: usize,
    /// How long the chaos lasts; everything is scheduled within it.
    pub duration: Duration,
    /// The controller is SIGKILLed this often, and started again after a short pause.
    pub kill_every: Duration,
    /// A new template this often, the first at the start.
    pub template_every: Duration,
    /// Mean time between node events (NotReady, joining, leaving).
    pub node_event_every: Duration,
}

/// One thing the chaos does.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// SIGKILL: no cleanup, no lease release.
    KillController,
    StartController,
    /// A new image for the DaemonSet's container: a new template, so a rollout.
    ChangeTemplate {
        image: String,
    },
    /// The node stops reporting: Ready Unknown and the unreachable taints.
    NodeNotReady(String),
    NodeReady(String),
    /// A node joins: a new name, or one that left earlier (a machine replaced).
    AddNode {
        name: String,
        number: usize,
    },
    /// The node object is deleted; the pod garbage collector deletes its pods.
    RemoveNode(String),
}

impl Action {
    /// The kind of action, for counts.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::KillController => "controller killed",
            Action::StartController => "controller started",
            Action::ChangeTemplate { .. } => "template changed",
            Action::NodeNotReady(_) => "node NotReady",
            Action::NodeReady(_) => "node Ready again",
            Action::AddNode { .. } => "node added",
            Action::RemoveNode(_) => "node removed",
        }
    }
}

/// An action and when it happens, from the start of the chaos.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Step {
    pub at: Duration,
    pub action: Action,
}

/// How far the fleet may drift from its starting size.
const FLEET_DRIFT: usize = 10;

/// The share of write requests (create, update, patch, delete) that fail, split evenly over
/// 409, 429 and 500.
pub const WRITE_FAILURE_RATE: f64 = 0.05;

/// The share of watch resumes answered with 410 Expired.
pub const EXPIRED_RESUME_RATE: f64 = 0.1;

/// Write requests (create, update, patch, delete) fail with 409, 429 or 500: one rule per code,
/// each drawn in turn, so that together they fail `WRITE_FAILURE_RATE` of them.
pub fn write_faults() -> Vec<FaultRule> {
    let codes = [409, 429, 500];
    let per_code = 1.0 - (1.0 - WRITE_FAILURE_RATE).powf(1.0 / codes.len() as f64);
    let writes = ["create", "update", "patch", "delete"].map(String::from).to_vec();
    codes
        .into_iter()
        .map(|code| FaultRule {
            verbs: writes.clone(),
            error_rate: per_code,
            error_code: code,
            ..FaultRule::default()
        })
        .collect()
}

/// Every watch is dropped after a few seconds (2–5 s, from the seed), and resumes are expired at
/// `EXPIRED_RESUME_RATE`. A rule applies to watches as they start: set it before the controller
/// starts, or its first watches last until it is killed.
pub fn watch_faults(seed: u64) -> FaultRule {
    let mut random = fastrand::Rng::with_seed(seed);
    FaultRule {
        verbs: vec!["watch".into()],
        drop_watch_after_ms: Some(random.u64(2_000..5_000)),
        expire_watch_resume_rate: EXPIRED_RESUME_RATE,
        ..FaultRule::default()
    }
}

/// The schedule of `settings`, in time order.
pub fn schedule(settings: &ChaosSettings) -> Vec<Step> {
    let mut random = fastrand::Rng::with_seed(settings.seed);
    let mut steps = Vec::new();
    controller_kills(settings, &mut random, &mut steps);
    template_changes(settings, &mut steps);
    NodeChurn::new(settings.nodes).run(settings, &mut random, &mut steps);
    steps.sort();
    steps
}

fn controller_kills(settings: &ChaosSettings, random: &mut fastrand::Rng, steps: &mut Vec<Step>) {
    let mut at = settings.kill_every;
    while at < settings.duration {
        steps.push(Step {
            at,
            action: Action::KillController,
        });
        let down_for = Duration::from_millis(random.u64(100..1_500));
        steps.push(Step {
            at: (at + down_for).min(settings.duration),
            action: Action::StartController,
        });
        at += settings.kill_every;
    }
}

fn template_changes(settings: &ChaosSettings, steps: &mut Vec<Step>) {
    let mut at = Duration::ZERO;
    let mut image = 2;
    while at < settings.duration {
        steps.push(Step {
            at,
            action: Action::ChangeTemplate {
                image: format!("agent:{image}"),
            },
        });
        image += 1;
        at += settings.template_every;
    }
}

/// The nodes as the schedule leaves them, so that every action applies to a node in the right state.
struct NodeChurn {
    /// Present nodes: whether each is NotReady.
    present: BTreeMap<String, bool>,
    /// Names that left and may join again.
    departed: Vec<String>,
    next_number: usize,
    start_size: usize,
    /// When each NotReady node comes back.
    returns: BTreeMap<String, Duration>,
}

impl NodeChurn {
    fn new(nodes: usize) -> Self {
        NodeChurn {
            present: (1..=nodes).map(|n| (node_name(n), false)).collect(),
            departed: Vec::new(),
            next_number: nodes + 1,
            start_size: nodes,
            returns: BTreeMap::new(),
        }
    }

    fn run(mut self, settings: &ChaosSettings, random: &mut fastrand::Rng, steps: &mut Vec<Step>) {
        let mean = settings.node_event_every.as_millis() as u64;
        let mut at = Duration::ZERO;
        loop {
            at += Duration::from_millis(random.u64(mean / 2..=mean * 3 / 2));
            // Those still NotReady at the end come back when the faults stop.
            self.bring_back_until(at.min(settings.duration), steps);
            if at >= settings.duration {
                return;
            }
            let action = self.next_action(at, random);
            steps.push(Step { at, action });
        }
    }

    /// NotReady nodes whose time has come are Ready again.
    fn bring_back_until(&mut self, now: Duration, steps: &mut Vec<Step>) {
        let due: Vec<(String, Duration)> = self
            .returns
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(name, at)| (name.clone(), *at))
            .collect();
        for (name, at) in due {
            self.returns.remove(&name);
            self.present.insert(name.clone(), false);
            steps.push(Step {
                at,
                action: Action::NodeReady(name),
            });
        }
    }

    fn next_action(&mut self, at: Duration, random: &mut fastrand::Rng) -> Action {
        let size = self.present.len();
        let roll = random.u8(0..100);
        if size + FLEET_DRIFT <= self.start_size || (roll < 25 && size < self.start_size + FLEET_DRIFT) {
            return self.add(random);
        }
        if size >= self.start_size + FLEET_DRIFT || roll < 50 {
            return self.remove(random);
        }
        self.not_ready(at, random)
    }

    fn add(&mut self, random: &mut fastrand::Rng) -> Action {
        let number = self.next_number;
        self.next_number += 1;
        let name = if !self.departed.is_empty() && random.bool() {
            self.departed.swap_remove(random.usize(..self.departed.len()))
        } else {
            node_name(number)
        };
        self.present.insert(name.clone(), false);
        Action::AddNode { name, number }
    }

    fn remove(&mut self, random: &mut fastrand::Rng) -> Action {
        let name = self.pick(random, |_| true);
        self.present.remove(&name);
        self.returns.remove(&name);
        self.departed.push(name.clone());
        Action::RemoveNode(name)
    }

    fn not_ready(&mut self, at: Duration, random: &mut fastrand::Rng) -> Action {
        let name = self.pick(random, |not_ready| !not_ready);
        self.present.insert(name.clone(), true);
        self.returns
            .insert(name.clone(), at + Duration::from_millis(random.u64(2_000..20_000)));
        Action::NodeNotReady(name)
    }

    /// A random present node whose NotReady flag passes `filter`.
    fn pick(&self, random: &mut fastrand::Rng, filter: impl Fn(bool) -> bool) -> String {
        let candidates: Vec<&String> = self
            .present
            .iter()
            .filter(|(_, not_ready)| filter(**not_ready))
            .map(|(name, _)| name)
            .collect();
        candidates[random.usize(..candidates.len())].clone()
    }
}
