//! `daemonroll demo`: a simulated cluster, the controller in-process, a DaemonSet created and rolled
//! to a new image, shown live through `watch`'s view. Prints to the terminal (CLI edge).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use daemonroll::controller::{Controller, Options};
use daemonroll::kube::config::client_from_config;
use daemonroll::kube::{ApiClient, PatchKind, WriteGate};
use daemonroll::ops::lifecycle;
use daemonroll::sim::cluster::{SimConfig, Simulator};
use daemonroll::sim::fleet::FleetConfig;

use super::live::Connection;
use super::watch::{self, Redraw, Watcher, render::Style};

const NODES: usize = 20;
const NOT_READY_NODE: &str = "node-013";
const NAME: &str = "node-agent";
const DS_PATH: &str = "/apis/apps/v1/namespaces/default/daemonsets/node-agent";
const STEP_LIMIT: Duration = Duration::from_secs(40);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Progress {
    desired: i64,
    updated: i64,
    available: i64,
    unavailable: i64,
    current_generation: bool,
}

impl Progress {
    fn read(ds: &Value) -> Progress {
        let count = |field: &str| ds["status"][field].as_i64().unwrap_or(0);
        Progress {
            desired: count("desiredNumberScheduled"),
            updated: count("updatedNumberScheduled"),
            available: count("numberAvailable"),
            unavailable: count("numberUnavailable"),
            current_generation: ds["status"]["observedGeneration"].as_i64() >= ds["metadata"]["generation"].as_i64(),
        }
    }

    fn done(&self) -> bool {
        self.current_generation && self.desired > 0 && self.updated == self.desired && self.available == self.desired
    }

    fn bar(&self) -> String {
        const WIDTH: i64 = 30;
        let filled = (self.updated * WIDTH).checked_div(self.desired).unwrap_or(0);
        format!(
            "[{}{}] updated {:>2}/{} · available {:>2}/{}",
            "#".repeat(filled.clamp(0, WIDTH) as usize),
            ".".repeat((WIDTH - filled).clamp(0, WIDTH) as usize),
            self.updated,
            self.desired,
            self.available,
            self.desired
        )
    }
}

struct Screen {
    live: bool,
    last: String,
}

impl Screen {
    fn show(&mut self, line: &str) {
        if line == self.last {
            return;
        }
        let mut out = std::io::stdout().lock();
        if self.live {
            let _ = write!(out, "\r\x1b[2K  {line}");
        } else {
            let _ = writeln!(out, "  {line}");
        }
        let _ = out.flush();
        self.last = line.to_string();
    }

    fn say(&mut self, line: &str) {
        let mut out = std::io::stdout().lock();
        if self.live && !self.last.is_empty() {
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
        self.last.clear();
    }
}

/// Old-pod deletes by daemonroll, grouped into waves: a pause of more than `WAVE_GAP` starts a new wave.
const WAVE_GAP: chrono::TimeDelta = chrono::TimeDelta::milliseconds(300);

struct Waves {
    /// (first delete, pods deleted) per wave.
    waves: Vec<(chrono::DateTime<chrono::Utc>, usize)>,
    last_delete: Option<chrono::DateTime<chrono::Utc>>,
    seen_version: u64,
}

impl Waves {
    fn new(seen_version: u64) -> Self {
        Waves {
            waves: Vec::new(),
            last_delete: None,
            seen_version,
        }
    }

    /// Reads new deletes from the timeline; returns the waves that ended (a later one started).
    fn observe(&mut self, sim: &Simulator) -> Vec<String> {
        let mut ended = Vec::new();
        for record in sim.store.timeline() {
            if record.resource_version <= self.seen_version {
                continue;
            }
            self.seen_version = record.resource_version;
            if record.actor != "daemonroll" || record.kind != "Pod" || record.verb != "delete" {
                continue;
            }
            let starts_wave = self.last_delete.is_none_or(|last| record.time - last > WAVE_GAP);
            if starts_wave {
                if let Some((began, pods)) = self.waves.last() {
                    ended.push(wave_line(
                        self.waves.len(),
                        *pods,
                        (record.time - *began).as_seconds_f64(),
                    ));
                }
                self.waves.push((record.time, 0));
            }
            if let Some(wave) = self.waves.last_mut() {
                wave.1 += 1;
            }
            self.last_delete = Some(record.time);
        }
        ended
    }

    fn finish(&self) -> Option<String> {
        let (began, pods) = self.waves.last()?;
        Some(wave_line(
            self.waves.len(),
            *pods,
            (chrono::Utc::now() - *began).as_seconds_f64(),
        ))
    }
}

fn wave_line(number: usize, pods: usize, seconds: f64) -> String {
    format!("  wave {number}: {pods} pod(s) replaced in {seconds:.1}s")
}

/// Follows the DaemonSet until its rollout completes, with a progress bar.
async fn follow(api: &ApiClient, screen: &mut Screen) -> Result<()> {
    let started = Instant::now();
    loop {
        let ds = api.get(DS_PATH).await.context("cannot read the DaemonSet")?;
        let progress = Progress::read(&ds);
        if progress.desired > 0 {
            screen.show(&progress.bar());
        }
        if progress.done() {
            screen.say("");
            return Ok(());
        }
        if started.elapsed() > STEP_LIMIT {
            bail!("the rollout did not finish within {STEP_LIMIT:?}: {}", ds["status"]);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Follows the rolling update with `daemonroll watch`'s view: redrawn in place on a terminal; as
/// plain text, one frame as each wave ends and the last one. Then the waves as the simulator's
/// timeline recorded them (exact times, where the view is precise to a refresh).
async fn follow_with_view(api: &ApiClient, sim: &Simulator, screen: &mut Screen, mut waves: Waves) -> Result<()> {
    let connection = Connection {
        client: api.kube_client().clone(),
        url: sim.url(),
        default_namespace: "default".to_string(),
    };
    let style = if screen.live { Style::Ansi } else { Style::Plain };
    let mut view = Watcher::new(&connection, "default", NAME, watch::Screen::new(style, Redraw::InPlace));
    let mut wave_lines = Vec::new();
    let started = Instant::now();
    loop {
        let ds = api.get(DS_PATH).await.context("cannot read the DaemonSet")?;
        let done = Progress::read(&ds).done();
        let ended = waves.observe(sim);
        let (_, frame, key) = view.update().await?;
        if screen.live || !ended.is_empty() || done {
            view.screen.show(&frame, &key);
        }
        wave_lines.extend(ended);
        if done {
            screen.say("");
            wave_lines.extend(waves.finish());
            for line in &wave_lines {
                screen.say(line);
            }
            return Ok(());
        }
        if started.elapsed() > STEP_LIMIT {
            bail!("the rollout did not finish within {STEP_LIMIT:?}: {}", ds["status"]);
        }
        tokio::time::sleep(Duration::from_millis(if screen.live { 200 } else { 100 })).await;
    }
}

pub fn run() -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(demo())
}

async fn demo() -> Result<()> {
    let began = Instant::now();
    let mut screen = Screen {
        live: std::io::stdout().is_terminal(),
        last: String::new(),
    };
    let sim = start_cluster(&mut screen).await?;
    let config = kube::Config::new(sim.url().parse().context("simulator URL")?);
    let client = client_from_config(config)?;
    let (stop, running) = start_controller(client.clone());
    let api = ApiClient::new(client);

    screen.say("\n1. Creating DaemonSet node-agent (image node-agent:1.0, maxUnavailable 20%)");
    let step = Instant::now();
    api.create("/apis/apps/v1/namespaces/default/daemonsets", &daemon_set())
        .await
        .context("cannot create the DaemonSet")?;
    follow(&api, &mut screen).await?;
    screen.say(&format!(
        "   available on every eligible node in {:.1}s; {NOT_READY_NODE} gets no pod while NotReady",
        step.elapsed().as_secs_f64()
    ));

    screen.say("\n2. Changing the image to node-agent:1.1: a rolling update, at most 20% unavailable");
    let step = Instant::now();
    let seen = sim.store.timeline().last().map_or(0, |r| r.resource_version);
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "example.org/node-agent:1.1"}]}}}});
    api.patch(DS_PATH, PatchKind::Merge, &patch)
        .await
        .context("cannot change the image")?;
    follow_with_view(&api, &sim, &mut screen, Waves::new(seen)).await?;
    screen.say(&format!("   rolled out in {:.1}s", step.elapsed().as_secs_f64()));

    screen.say(&summary(&sim, began));
    screen.say("Next: `daemonroll sim --nodes 50` serves a cluster for kubectl and `daemonroll run` (see the README).");

    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), running).await;
    sim.stop().await;
    Ok(())
}

/// The simulated cluster, one node NotReady.
async fn start_cluster(screen: &mut Screen) -> Result<Simulator> {
    let fleet = FleetConfig {
        ready_after: Duration::from_millis(1200),
        ..FleetConfig::default()
    };
    let sim = Simulator::start(SimConfig {
        nodes: NODES,
        fleet,
        ..SimConfig::default()
    })
    .await
    .context("cannot start the simulated cluster")?;
    sim.fleet
        .set_node_ready(NOT_READY_NODE, false)
        .map_err(|error| anyhow::anyhow!("cannot mark {NOT_READY_NODE} NotReady: {error:?}"))?;
    screen.say(&format!(
        "daemonroll demo: a simulated cluster of {NODES} nodes at {} ({NOT_READY_NODE} is NotReady)",
        sim.url()
    ));
    Ok(sim)
}

/// The controller in this process, stopped by the returned sender.
fn start_controller(client: kube::Client) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let controller = Controller::new(
        client.clone(),
        Options::default(),
        WriteGate::open(),
        Default::default(),
    );
    lifecycle::spawn(controller, client)
}

fn daemon_set() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": NAME, "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": NAME}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "20%"}},
            "template": {
                "metadata": {"labels": {"app": NAME}},
                "spec": {"containers": [{"name": "agent", "image": "example.org/node-agent:1.0"}]}
            }
        }
    })
}

/// What daemonroll wrote, from the simulator's timeline.
fn summary(sim: &Simulator, began: Instant) -> String {
    let timeline = sim.store.timeline();
    let count = |kind: &str, verb: &str| {
        timeline
            .iter()
            .filter(|r| r.actor == "daemonroll" && r.kind == kind && r.verb == verb)
            .count()
    };
    format!(
        "\ndaemonroll wrote {} pod creates, {} pod deletes, {} status updates and {} revisions in {:.1}s.",
        count("Pod", "create"),
        count("Pod", "delete"),
        count("DaemonSet", "status"),
        count("ControllerRevision", "create"),
        began.elapsed().as_secs_f64()
    )
}
