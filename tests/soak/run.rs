//! One soak run: a simulated fleet with the DaemonSet rolled out, the chaos of a seed played
//! against the real daemonroll binary, the faults stopped, the wait for convergence, and the
//! invariants replayed over the whole timeline and the journal of write requests.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use daemonroll::sim::faults::Injected;
use daemonroll::sim::resources;
use daemonroll::sim::store::WriteRecord;
use serde_json::Value;

use crate::chaos::{Action, ChaosSettings, schedule, watch_faults, write_faults};
use crate::report::{Convergence, SoakReport, requests_by_verb};
use crate::support::*;

/// The DaemonSet the soak rolls.
pub const DAEMON_SET: &str = "agent";

/// A soak run's settings.
#[derive(Clone, Debug)]
pub struct SoakSettings {
    pub chaos: ChaosSettings,
    /// The DaemonSet's maxUnavailable.
    pub max_unavailable: usize,
    /// How long a started pod takes to become Ready.
    pub ready_after: Duration,
    /// The fleet converges this soon after the faults stop (issue 13: 10 s).
    pub converge_within: Duration,
    /// How long to keep waiting past `converge_within`, to report how late a late fleet was.
    pub converge_at_most: Duration,
    /// How long a node change takes to reach the controller through a streaming watch
    /// (invariant 6: a create this soon after its node became unfit is a race, not a breach).
    pub watch_delivery: Duration,
}

impl SoakSettings {
    /// 200 nodes, maxUnavailable 20, pods Ready 300 ms after start; the controller killed every
    /// 20 s, a new template every 15 s, a node event every 1.5 s on average.
    pub fn new(seed: u64, duration: Duration) -> SoakSettings {
        SoakSettings {
            chaos: ChaosSettings {
                seed,
                nodes: 200,
                duration,
                kill_every: secs(20),
                template_every: secs(15),
                node_event_every: millis(1_500),
            },
            max_unavailable: 20,
            ready_after: millis(300),
            converge_within: secs(10),
            converge_at_most: secs(60),
            watch_delivery: secs(3),
        }
    }
}

/// Runs the soak of `settings` and reports what happened; panics only if the setup fails.
pub async fn soak(settings: &SoakSettings) -> SoakReport {
    let chaos = &settings.chaos;
    let cluster = Cluster::with_nodes(chaos.nodes)
        .pods_ready_after(settings.ready_after)
        .seed(chaos.seed)
        .start()
        .await;
    let watch_rule = watch_faults(chaos.seed);
    cluster.sim.faults.set_rules(vec![watch_rule.clone()]);
    let mut driver = Driver {
        cluster: &cluster,
        controller: Some(cluster.start_binary(&[])),
        not_ready: BTreeSet::new(),
        image: FIRST_IMAGE.to_string(),
        actions: BTreeMap::new(),
        template_retries: 0,
    };
    let created = cluster
        .create_daemon_set(daemon_set(DAEMON_SET).max_unavailable(settings.max_unavailable as i64))
        .await;
    let uid = text(&created, "/metadata/uid").to_string();
    cluster
        .wait_rolled_out(DAEMON_SET)
        .pods(chaos.nodes as i64)
        .within(secs(120))
        .await;

    let chaos_start = cluster.mark();
    cluster
        .sim
        .faults
        .set_rules([write_faults(), vec![watch_rule]].concat());
    let started = tokio::time::Instant::now();
    for step in schedule(chaos) {
        tokio::time::sleep_until(started + step.at).await;
        driver.apply(&step.action).await;
    }
    tokio::time::sleep_until(started + chaos.duration).await;

    // The faults stop: no more injected errors or dropped watches, every node Ready, the
    // controller running. (What was injected during the setup, dropped watches and expired
    // resumes, is counted too.)
    cluster.sim.faults.set_rules(Vec::new());
    let injected = cluster.sim.faults.injected();
    driver.stop_faults();
    let convergence = wait_converged(&cluster, &uid, &driver.image, settings).await;
    if let Some(controller) = driver.controller.take() {
        controller.stop().await;
    }

    let observed = Observed {
        injected,
        actions: driver.actions,
        template_retries: driver.template_retries,
        convergence,
    };
    judge(&cluster, settings, chaos_start, observed)
}

/// What the run saw besides the cluster's own records.
struct Observed {
    injected: Injected,
    actions: BTreeMap<&'static str, usize>,
    template_retries: usize,
    convergence: Convergence,
}

/// Replays the timeline and the request journal against the invariants, and reports.
fn judge(cluster: &Cluster, settings: &SoakSettings, chaos_start: Mark, observed: Observed) -> SoakReport {
    let chaos = &settings.chaos;
    let journal = cluster.requests();
    let delivery = chrono::Duration::from_std(settings.watch_delivery).unwrap_or_default();
    let view_of = |resource| WatchView::from_requests(&journal, Writer::Controller, resource, delivery);
    let budget = Budget::rolling(DAEMON_SET)
        .at_most_unavailable(settings.max_unavailable)
        .charged_to_the_controller()
        .creates_fit_their_node(view_of("nodes"))
        .status_seen_through(view_of("daemonsets"), chrono::Duration::seconds(1));
    let timeline = cluster.timeline();
    let replay = replay_invariants(&timeline, &budget, Mark::BEGINNING.version());
    let mut breaches = replay.breaches.clone();
    breaches.extend(unconditional_changes(&journal, Writer::Controller));
    SoakReport {
        seed: chaos.seed,
        duration: chaos.duration,
        nodes: chaos.nodes,
        max_unavailable: settings.max_unavailable,
        converge_within: settings.converge_within,
        injected: observed.injected,
        watches: journal
            .iter()
            .filter(|r| r.actor == CONTROLLER && r.verb == "watch")
            .count(),
        actions: observed.actions,
        template_retries: observed.template_retries,
        convergence: observed.convergence,
        rollouts: rollout_times(&timeline, chaos_start),
        replay,
        requests: requests_by_verb(&journal),
        breaches,
    }
}

/// Plays the chaos: the controller process, the nodes, the template.
struct Driver<'c> {
    cluster: &'c Cluster,
    controller: Option<Running>,
    not_ready: BTreeSet<String>,
    /// The image of the latest template.
    image: String,
    actions: BTreeMap<&'static str, usize>,
    /// Template changes that failed (injected faults) and were sent again.
    template_retries: usize,
}

impl Driver<'_> {
    async fn apply(&mut self, action: &Action) {
        *self.actions.entry(action.kind()).or_default() += 1;
        let fleet = &self.cluster.sim.fleet;
        match action {
            Action::KillController => {
                if let Some(controller) = self.controller.take() {
                    controller.stop().await;
                }
            }
            Action::StartController => {
                if self.controller.is_none() {
                    self.controller = Some(self.cluster.start_binary(&[]));
                }
            }
            Action::ChangeTemplate { image } => self.change_template(image).await,
            Action::NodeNotReady(name) => {
                fleet.set_node_ready(name, false).expect("the schedule's node exists");
                self.not_ready.insert(name.clone());
            }
            Action::NodeReady(name) => {
                fleet.set_node_ready(name, true).expect("the schedule's node exists");
                self.not_ready.remove(name);
            }
            Action::AddNode { name, number } => fleet.add_node(name, *number).expect("a new node name"),
            Action::RemoveNode(name) => {
                fleet.remove_node(name).expect("the schedule's node exists");
                self.not_ready.remove(name);
            }
        }
    }

    /// Sends the new template as a user would, again after an injected failure.
    async fn change_template(&mut self, image: &str) {
        let patch = Cluster::image_patch(image);
        while let Err(error) = self.cluster.try_patch_daemon_set(DAEMON_SET, patch.clone()).await {
            assert!(
                self.template_retries < 100,
                "the template change keeps failing: {error}"
            );
            self.template_retries += 1;
            tokio::time::sleep(millis(50)).await;
        }
        self.image = image.to_string();
    }

    fn stop_faults(&mut self) {
        for name in std::mem::take(&mut self.not_ready) {
            self.cluster
                .sim
                .fleet
                .set_node_ready(&name, true)
                .expect("a NotReady node exists");
        }
        if self.controller.is_none() {
            self.controller = Some(self.cluster.start_binary(&[]));
        }
    }
}

/// Polls the simulator's store every 50 ms until the fleet has converged or `converge_at_most`
/// has passed.
async fn wait_converged(cluster: &Cluster, uid: &str, image: &str, settings: &SoakSettings) -> Convergence {
    let stopped = Instant::now();
    loop {
        let state = converged(cluster, uid, image);
        let elapsed = stopped.elapsed();
        match state {
            Ok(()) => return Convergence::After(elapsed),
            Err(why) if elapsed >= settings.converge_at_most => return Convergence::Not { after: elapsed, why },
            Err(_) => tokio::time::sleep(millis(50)).await,
        }
    }
}

/// Converged: the DaemonSet created at the start still exists (not lost, not replaced); every node
/// (all Ready and untainted once the faults stop, so all eligible) runs exactly one pod of it, of
/// the latest template, Ready and not terminating; no other pod of it exists; and its status says
/// so for the current generation. Otherwise, why not.
fn converged(cluster: &Cluster, uid: &str, image: &str) -> Result<(), String> {
    let store = &cluster.sim.store;
    let ds = store
        .get(resources::builtin("apps", "daemonsets"), "default", DAEMON_SET)
        .ok_or("the DaemonSet is lost")?;
    if text(&ds, "/metadata/uid") != uid {
        return Err(format!(
            "the DaemonSet was replaced: uid {}",
            text(&ds, "/metadata/uid")
        ));
    }
    let (nodes, _) = store.list(resources::builtin("", "nodes"), None);
    let nodes: BTreeSet<&str> = nodes.iter().map(|n| text(n, "/metadata/name")).collect();
    let (pods, _) = store.list(resources::builtin("", "pods"), Some("default"));
    let mut per_node: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for pod in pods.iter().filter(|p| controller_uid(p) == Some(uid)) {
        per_node.entry(pod_node(pod)).or_default().push(pod);
    }
    for node in &nodes {
        match per_node.get(*node).map(Vec::as_slice) {
            Some([pod]) if pod_image(pod) == image && is_ready(pod) && !is_terminating(pod) => {}
            Some([pod]) => {
                return Err(format!(
                    "{node}: pod {} image {} ready {} terminating {}",
                    text(pod, "/metadata/name"),
                    pod_image(pod),
                    is_ready(pod),
                    is_terminating(pod)
                ));
            }
            other => return Err(format!("{node}: {} pods", other.map_or(0, <[_]>::len))),
        }
    }
    if let Some(stray) = per_node.keys().find(|node| !nodes.contains(node.as_str())) {
        return Err(format!("a pod for {stray}, which is not a node"));
    }
    let status = &ds["status"];
    let count = |field: &str| status[field].as_u64().unwrap_or(0) as usize;
    let fleet = nodes.len();
    let current = status["observedGeneration"].as_i64() >= ds["metadata"]["generation"].as_i64();
    let counted = [
        "desiredNumberScheduled",
        "currentNumberScheduled",
        "updatedNumberScheduled",
        "numberReady",
        "numberAvailable",
    ]
    .iter()
    .all(|field| count(field) == fleet);
    if !current || !counted || count("numberMisscheduled") != 0 {
        return Err(format!("status {status} for {fleet} nodes"));
    }
    Ok(())
}

/// How long each template change of the chaos took to roll out: from the change to daemonroll's
/// first status of that generation with every desired node updated and available. None for a
/// rollout a later template overtook.
fn rollout_times(timeline: &[WriteRecord], chaos_start: Mark) -> Vec<Option<Duration>> {
    let generation = |object: &Value, pointer: &str| object.pointer(pointer).and_then(Value::as_i64);
    let mut changes: Vec<(i64, chrono::DateTime<chrono::Utc>)> = Vec::new();
    let mut done: BTreeMap<i64, Duration> = BTreeMap::new();
    let mut last_generation = None;
    for record in timeline
        .iter()
        .filter(|r| r.kind == "DaemonSet" && r.name == DAEMON_SET)
    {
        let object = &record.object.value();
        let current = generation(object, "/metadata/generation");
        if record.resource_version > chaos_start.version() && current > last_generation && last_generation.is_some() {
            changes.extend(current.map(|g| (g, record.time)));
        }
        last_generation = current;
        let status = &object["status"];
        let count = |field: &str| status[field].as_i64().unwrap_or(-1);
        let complete = count("desiredNumberScheduled") > 0
            && count("updatedNumberScheduled") == count("desiredNumberScheduled")
            && count("numberAvailable") == count("desiredNumberScheduled");
        if let (true, Some(observed)) = (complete, generation(object, "/status/observedGeneration"))
            && let Some((_, changed)) = changes.iter().find(|(g, _)| *g == observed)
        {
            let took = (record.time - *changed).to_std().unwrap_or_default();
            done.entry(observed).or_insert(took);
        }
    }
    changes.iter().map(|(g, _)| done.get(g).copied()).collect()
}
