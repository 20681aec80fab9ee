//! `daemonroll watch` against the simulated cluster: the real binary reading a rollout that
//! daemonroll's controller drives, in plain text (a pipe) and in a terminal (tmux).

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

const DS: &str = "/apis/apps/v1/namespaces/default/daemonsets";

fn image_of(pod: &Value) -> &str {
    pod["spec"]["containers"][0]["image"].as_str().unwrap_or_default()
}

fn live(pod: &Value) -> bool {
    pod["metadata"]["deletionTimestamp"].is_null()
}

/// Four nodes on agent:1, then agent:2, whose pods never become Ready, with a partition of 1.
/// The rollout stalls: one node runs a new pod that never becomes available (maxUnavailable 1 is
/// spent), two old nodes wait for the budget, and the partition keeps one on the old revision.
async fn stalled_rollout() -> Cluster {
    let mut cluster = Cluster::start(4).await;
    cluster.start_controller();
    cluster
        .create(
            DS,
            daemon_set("agent", "agent:1", json!({"daemonroll.io/partition": "1"})),
        )
        .await;
    let path = ds_path("default", "agent");
    cluster
        .wait_until(
            "agent:1 is available on the 4 nodes",
            Duration::from_secs(20),
            || async {
                let status = cluster.get(&path).await["status"].clone();
                status["numberAvailable"] == 4 && status["updatedNumberScheduled"] == 4
            },
        )
        .await;
    cluster.image_never_ready("agent:2");
    cluster
        .patch(
            &path,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "agent:2"}]}}}}),
        )
        .await;
    cluster
        .wait_until(
            "one node runs agent:2, three agent:1",
            Duration::from_secs(20),
            || async {
                let pods = cluster.pods("default").await;
                let count = |image: &str| pods.iter().filter(|p| live(p) && image_of(p) == image).count();
                count("agent:2") == 1 && count("agent:1") == 3 && pods.len() == 4
            },
        )
        .await;
    cluster
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_frame_shows_each_node_state_the_legend_and_what_waits() {
    let cluster = stalled_rollout().await;
    let kubeconfig = cluster.kubeconfig.to_string_lossy().to_string();
    let args = [
        "watch",
        "default/agent",
        "--once",
        "--plain",
        "--kubeconfig",
        kubeconfig.as_str(),
    ];
    let args: Vec<String> = args.iter().map(ToString::to_string).collect();
    let output = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        daemonroll(&args)
    })
    .await
    .expect("watch runs");
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));

    assert!(stdout.starts_with("DaemonSet default/agent  revision 2 ("), "{stdout}");
    assert!(stdout.contains("\ncontrols  partition=1\n"), "{stdout}");
    // Nodes in name order: node-001 rolled first and its pod never becomes available; the two
    // next wait for maxUnavailable; the partition keeps the last one (reverse rollout order).
    assert!(stdout.contains("\nnodes\n    + o o h\n"), "{stdout}");
    assert!(
        stdout.contains(
            "legend  # new available 0   + new starting 1   o old 2   x unavailable 0   h held 1   ! blocked 0\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("0 of 4 updated and available (0%)"), "{stdout}");
    assert!(stdout.contains("\nblockers\n"), "{stdout}");
    for waiting in ["node-002", "node-003", "node-004"] {
        assert!(
            stdout.contains(&format!("\n  {waiting}  ")),
            "{waiting} is listed: {stdout}"
        );
    }
    assert!(
        stdout.contains("held: one of the 1 nodes the partition keeps"),
        "{stdout}"
    );
    assert!(!stdout.contains('\x1b'), "no escape sequences in plain output");

    // Piped standard output is plain without --plain as well.
    let kubeconfig = cluster.kubeconfig.to_string_lossy().to_string();
    let piped =
        tokio::task::spawn_blocking(move || daemonroll(&["watch", "agent", "--once", "--kubeconfig", &kubeconfig]))
            .await
            .expect("watch runs");
    let piped = text(&piped.stdout);
    assert!(piped.contains("+ o o h") && !piped.contains('\x1b'), "{piped}");
    cluster.stop().await;
}

/// A tmux server on its own socket, killed when the test ends.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("tmux");
        command
            .args(["-L", &self.socket])
            .args(args)
            .env("TERM", "xterm-256color");
        command
    }

    /// The pane with its colours as escape sequences.
    fn capture(&self) -> String {
        text(
            &self
                .command(&["capture-pane", "-p", "-e", "-t", "view"])
                .output()
                .expect("tmux runs")
                .stdout,
        )
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command(&["kill-server"]).output();
    }
}

async fn pane_shows(tmux: &Tmux, what: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let pane = tmux.capture();
        if pane.contains(what) {
            return pane;
        }
        assert!(Instant::now() < deadline, "the pane never showed {what:?}:\n{pane}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_terminal_cells_are_coloured_and_the_frame_is_redrawn_in_place() {
    if !installed("tmux", &["-V"]) {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let cluster = stalled_rollout().await;
    let tmux = Tmux {
        socket: format!("daemonroll-watch-{}", uuid::Uuid::new_v4()),
    };
    let watch = format!(
        "{} watch default/agent --interval 200ms --kubeconfig {}",
        env!("CARGO_BIN_EXE_daemonroll"),
        cluster.kubeconfig.display()
    );
    let started = tmux
        .command(&["new-session", "-d", "-x", "160", "-y", "50", "-s", "view", &watch])
        .status()
        .expect("tmux runs");
    assert!(started.success());

    let pane = pane_shows(&tmux, "legend", Duration::from_secs(10)).await;
    assert!(pane.contains('\x1b'), "colours reach the terminal:\n{pane}");
    assert!(pane.contains("46m+"), "a new starting cell is cyan:\n{pane:?}");
    assert!(pane.contains("44mh"), "a held cell is blue:\n{pane:?}");

    cluster
        .patch(
            &ds_path("default", "agent"),
            json!({"metadata": {"annotations": {"daemonroll.io/paused": "true"}}}),
        )
        .await;
    let pane = pane_shows(&tmux, "paused=true", Duration::from_secs(10)).await;
    assert_eq!(
        pane.matches("DaemonSet default/agent").count(),
        1,
        "the new frame replaced the old one:\n{pane}"
    );
    assert!(pane.contains("Paused"), "the Progressing reason follows:\n{pane}");
    cluster.stop().await;
}
