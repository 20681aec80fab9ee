//! `daemonroll watch NS/NAME`: a live view of one rollout for people — each refresh reads the
//! DaemonSet, the nodes and its namespace's pods and revisions, plans, and draws a frame (CLI
//! edge: network reads, the clock, the terminal; nothing is written to the cluster).

pub mod model;
pub mod render;
pub mod waves;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::Utc;

use super::duration::parse_duration;
use super::live::{self, Connection};
use model::Model;
use render::Style;
use waves::Waves;

#[derive(clap::Args)]
pub struct WatchArgs {
    /// The DaemonSet: NAMESPACE/NAME, or NAME in the kubeconfig context's namespace.
    #[arg(value_name = "NS/NAME")]
    target: String,
    /// The kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    #[command(flatten)]
    view: ViewArgs,
}

/// How the view refreshes and draws (shared with `kubectl daemonroll watch`).
#[derive(clap::Args, Clone, Copy)]
pub struct ViewArgs {
    /// Time between refreshes, e.g. 500ms, 2s.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Print one frame and exit.
    #[arg(long)]
    pub once: bool,
    /// Plain text even on a terminal: no colours, no redrawing; a frame is printed when it changes.
    #[arg(long)]
    pub plain: bool,
}

impl ViewArgs {
    /// ANSI on a terminal unless `--plain`.
    pub fn style(&self) -> Style {
        if self.plain || !std::io::stdout().is_terminal() {
            Style::Plain
        } else {
            Style::Ansi
        }
    }
}

pub fn run(args: &WatchArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let connection = live::connect(args.kubeconfig.clone(), args.context.clone()).await?;
        let (namespace, name) = match args.target.split_once('/') {
            Some((namespace, name)) => (namespace.to_string(), name.to_string()),
            None => (connection.default_namespace.clone(), args.target.clone()),
        };
        if namespace.is_empty() || name.is_empty() {
            bail!("{:?} names no DaemonSet; use NAMESPACE/NAME or NAME", args.target);
        }
        follow(&connection, &namespace, &name, args.view).await
    })
}

/// Refreshes until Ctrl-C (or once). A failed first read ends the view; later ones are shown
/// and retried, so a blip of the API server does not close it.
pub async fn follow(connection: &Connection, namespace: &str, name: &str, view: ViewArgs) -> Result<()> {
    let mut watcher = Watcher::new(
        connection,
        namespace,
        name,
        Screen::new(view.style(), if view.once { Redraw::Print } else { Redraw::Home }),
    );
    let mut first = true;
    loop {
        match watcher.refresh().await {
            Ok(_) => {}
            Err(error) if first || view.once => return Err(error),
            Err(error) => watcher.screen.note(&format!("cannot refresh: {error:#}")),
        }
        first = false;
        if view.once || watcher.screen.is_closed() {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(view.interval) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// One DaemonSet's view: reads, plans, tracks the waves and draws.
pub struct Watcher<'c> {
    connection: &'c Connection,
    namespace: String,
    name: String,
    waves: Waves,
    pub screen: Screen,
}

impl<'c> Watcher<'c> {
    pub fn new(connection: &'c Connection, namespace: &str, name: &str, screen: Screen) -> Self {
        Watcher {
            connection,
            namespace: namespace.to_string(),
            name: name.to_string(),
            waves: Waves::default(),
            screen,
        }
    }

    /// One refresh, drawn; returns the model.
    pub async fn refresh(&mut self) -> Result<Model> {
        let (model, frame, key) = self.update().await?;
        self.screen.show(&frame, &key);
        Ok(model)
    }

    /// One refresh, not drawn: the model, the frame and its change key (for `Screen::show`).
    pub async fn update(&mut self) -> Result<(Model, String, String)> {
        let dump = live::fetch_daemon_set(
            &self.connection.client,
            &self.connection.url,
            &self.namespace,
            &self.name,
        )
        .await?;
        let now = Utc::now();
        let snapshots = dump.snapshots(now);
        let Some(snapshot) = snapshots
            .iter()
            .find(|s| s.daemon_set.namespace == self.namespace && s.daemon_set.name == self.name)
        else {
            bail!("the API server returned no DaemonSet {}/{}", self.namespace, self.name);
        };
        let plan = model::plan(snapshot);
        let model = Model::from_plan(snapshot, &plan);
        self.waves.observe(now, &model);
        let report = self.waves.report(now, &model);
        let frame = render::frame(&model, &report, self.screen.style);
        // Plain output repeats a frame only when something other than the clock changed.
        let finished = report.waves.iter().filter(|w| w.finished).count();
        let key = format!("{model:?}|{}|{finished}", report.waves.len());
        Ok((model, frame, key))
    }
}

/// How a coloured frame replaces the previous one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redraw {
    /// Printed once, nothing replaced (`--once`).
    Print,
    /// From the top of the screen (`watch` owns the terminal).
    Home,
    /// Over the previous frame only, so that text above it stays (`demo`).
    InPlace,
}

/// Standard output as a screen: coloured frames replace each other, plain frames are appended
/// when they change.
pub struct Screen {
    style: Style,
    redraw: Redraw,
    drawn: bool,
    /// Lines of the last frame drawn (what `Redraw::InPlace` moves up over).
    drawn_lines: usize,
    last_key: String,
    closed: bool,
}

impl Screen {
    pub fn new(style: Style, redraw: Redraw) -> Self {
        Screen {
            style,
            redraw,
            drawn: false,
            drawn_lines: 0,
            last_key: String::new(),
            closed: false,
        }
    }

    /// Shows `frame`; a plain frame whose `key` equals the last one's is not repeated.
    pub fn show(&mut self, frame: &str, key: &str) {
        let text = match (self.style, self.redraw) {
            (Style::Plain, _) if key == self.last_key => return,
            (Style::Plain, _) if self.drawn => format!("\n{frame}"),
            (Style::Plain, _) | (Style::Ansi, Redraw::Print) => frame.to_string(),
            (Style::Ansi, redraw) => {
                // Back to the frame's first line, each line cleared to its end, then everything
                // below cleared: no flicker, and a shorter frame leaves nothing of a longer one.
                let mut text = match redraw {
                    Redraw::Home if self.drawn => "\x1b[H".to_string(),
                    Redraw::Home => "\x1b[H\x1b[2J".to_string(),
                    _ if self.drawn_lines > 0 => format!("\x1b[{}F", self.drawn_lines),
                    _ => String::new(),
                };
                for line in frame.lines() {
                    text.push_str(line);
                    text.push_str("\x1b[K\n");
                }
                text.push_str("\x1b[J");
                text
            }
        };
        self.drawn = true;
        self.drawn_lines = frame.lines().count();
        self.last_key = key.to_string();
        self.closed |= !write_out(&text);
    }

    /// A line below the last frame (a refresh that failed); the next frame is drawn below it.
    pub fn note(&mut self, line: &str) {
        self.last_key.clear();
        self.drawn_lines = 0;
        self.closed |= !write_out(&format!("{line}\n"));
    }

    /// Standard output stopped taking text (a closed pipe, `| head`): nobody is watching.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

fn write_out(text: &str) -> bool {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).is_ok()
}
