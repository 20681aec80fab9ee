//! `kubectl daemonroll …` through the real kubectl: the binary installed as `kubectl-daemonroll`
//! on PATH, against the simulated cluster.

#[path = "../watch/support.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

/// kubectl with the plugin first on PATH.
struct Kubectl {
    bin: TempDir,
    kubeconfig: String,
}

impl Kubectl {
    fn new(kubeconfig: &Path) -> Self {
        let bin = TempDir::new("plugin-bin");
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_daemonroll"), bin.0.join("kubectl-daemonroll"))
            .expect("the plugin is installed");
        Kubectl {
            bin,
            kubeconfig: kubeconfig.display().to_string(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let path = format!("{}:{}", self.bin.0.display(), std::env::var("PATH").unwrap_or_default());
        let mut command = Command::new("kubectl");
        command.args(args).env("PATH", path).env_remove("KUBECONFIG");
        command
    }

    /// `kubectl ARGS --kubeconfig <the simulator's>`: kubectl passes the flag on to the plugin.
    fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .args(["--kubeconfig", &self.kubeconfig])
            .output()
            .expect("kubectl runs")
    }

    fn annotations(&self, namespace: &str, name: &str) -> Value {
        let output = self.run(&["get", "ds", name, "-n", namespace, "-o", "json"]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let object: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        object["metadata"]["annotations"].clone()
    }

    fn set_status(&self, namespace: &str, name: &str, status: Value) {
        let patch = json!({ "status": status }).to_string();
        let output = self.run(&[
            "patch",
            "ds",
            name,
            "-n",
            namespace,
            "--subresource=status",
            "--type=merge",
            "-p",
            &patch,
        ]);
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
}

fn rolling(updated: i64) -> Value {
    json!({"observedGeneration": 1, "desiredNumberScheduled": 3, "currentNumberScheduled": 3,
           "updatedNumberScheduled": updated, "numberAvailable": 3, "numberReady": 3, "numberMisscheduled": 0,
           "conditions": [{"type": "Progressing", "status": "True", "reason": "PartitionHeld",
                           "message": "1 node kept on the old revision", "lastTransitionTime": "2026-01-01T00:00:00Z"}]})
}

async fn cluster_with(kubectl_ns: &str) -> Option<(Cluster, Kubectl)> {
    if !installed("kubectl", &["version", "--client"]) {
        eprintln!("SKIPPED: kubectl is not installed");
        return None;
    }
    let cluster = Cluster::start(3).await;
    let kubectl = Kubectl::new(&cluster.kubeconfig);
    let created = kubectl.run(&["create", "namespace", kubectl_ns]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    cluster
        .create(
            &format!("/apis/apps/v1/namespaces/{kubectl_ns}/daemonsets"),
            daemon_set("x", "agent:1", json!({})),
        )
        .await;
    Some((cluster, kubectl))
}

fn assert_prints(output: &Output, code: i32, stdout: &str) {
    assert_eq!(
        (output.status.code(), text(&output.stdout).as_str()),
        (Some(code), stdout),
        "stderr: {}",
        text(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_promote_set_and_remove_the_annotations() {
    let Some((cluster, kubectl)) = cluster_with("ns").await else {
        return;
    };
    assert_prints(
        &kubectl.run(&["daemonroll", "pause", "ds/x", "-n", "ns"]),
        0,
        "daemonset.apps/x paused\n",
    );
    assert_eq!(kubectl.annotations("ns", "x")["daemonroll.io/paused"], "true");
    assert_prints(
        &kubectl.run(&["daemonroll", "pause", "daemonset/x", "-n", "ns"]),
        0,
        "daemonset.apps/x already paused\n",
    );

    assert_prints(
        &kubectl.run(&["daemonroll", "resume", "daemonsets/x", "--namespace", "ns"]),
        0,
        "daemonset.apps/x resumed\n",
    );
    assert!(kubectl.annotations("ns", "x")["daemonroll.io/paused"].is_null());

    let annotated = kubectl.run(&[
        "annotate",
        "ds",
        "x",
        "-n",
        "ns",
        "daemonroll.io/partition=2",
        "daemonroll.io/rollout-node-selector=canary=true",
        "other=kept",
    ]);
    assert!(annotated.status.success(), "{}", text(&annotated.stderr));
    assert_prints(
        &kubectl.run(&["daemonroll", "promote", "x", "-n", "ns"]),
        0,
        "daemonset.apps/x promoted\n",
    );
    let annotations = kubectl.annotations("ns", "x");
    assert!(annotations["daemonroll.io/partition"].is_null(), "{annotations}");
    assert!(
        annotations["daemonroll.io/rollout-node-selector"].is_null(),
        "{annotations}"
    );
    assert_eq!(annotations["other"], "kept", "other annotations stay");

    let missing = kubectl.run(&["daemonroll", "pause", "ds/nope", "-n", "ns"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("daemonsets.apps \"nope\" not found"),
        "{}",
        text(&missing.stderr)
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_n_the_namespace_is_the_kubeconfig_contexts_found_through_kubeconfig() {
    let Some((cluster, kubectl)) = cluster_with("team").await else {
        return;
    };
    let kubeconfig = cluster.dir.0.join("team-kubeconfig");
    let text_config = std::fs::read_to_string(&cluster.kubeconfig)
        .expect("kubeconfig")
        .replace("namespace: default", "namespace: team");
    std::fs::write(&kubeconfig, text_config).expect("kubeconfig is written");

    let output = kubectl
        .command(&["daemonroll", "pause", "ds/x"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .expect("kubectl runs");
    assert_prints(&output, 0, "daemonset.apps/x paused\n");
    assert_eq!(kubectl.annotations("team", "x")["daemonroll.io/paused"], "true");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_exits_0_when_complete_1_when_failed_and_2_on_errors() {
    let Some((cluster, kubectl)) = cluster_with("ns").await else {
        return;
    };
    let status = |args: &[&str]| {
        let mut all = vec!["daemonroll", "status", "ds/x", "-n", "ns"];
        all.extend_from_slice(args);
        kubectl.run(&all)
    };

    kubectl.set_status("ns", "x", rolling(1));
    assert_prints(
        &status(&["--watch=false"]),
        0,
        "Waiting for daemon set \"x\" rollout to finish: 1 out of 3 new pods have been updated...\n  \
         Progressing: PartitionHeld: 1 node kept on the old revision\n",
    );
    let timed_out = status(&["--timeout", "1s"]);
    assert_eq!(timed_out.status.code(), Some(1));
    assert!(
        text(&timed_out.stderr).contains("timed out"),
        "{}",
        text(&timed_out.stderr)
    );

    // By default status waits, as kubectl rollout status does, until the rollout completes.
    let mut waiting = kubectl
        .command(&[
            "daemonroll",
            "status",
            "ds/x",
            "-n",
            "ns",
            "--kubeconfig",
            &kubectl.kubeconfig,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("kubectl starts");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        waiting.try_wait().expect("waitable").is_none(),
        "still waiting while rolling"
    );
    kubectl.set_status("ns", "x", rolling(3));
    let finished = tokio::task::spawn_blocking(move || waiting.wait_with_output())
        .await
        .expect("joined")
        .expect("kubectl exits");
    assert_prints(
        &finished,
        0,
        "Waiting for daemon set \"x\" rollout to finish: 1 out of 3 new pods have been updated...\n  \
         Progressing: PartitionHeld: 1 node kept on the old revision\n\
         daemon set \"x\" successfully rolled out\n",
    );

    let mut failed = rolling(1);
    failed["conditions"][0] = json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
        "message": "updated pod x-abc on node-001 was not available within the progress deadline",
        "lastTransitionTime": "2026-01-01T00:00:00Z"});
    kubectl.set_status("ns", "x", failed);
    let output = status(&[]);
    assert_eq!(output.status.code(), Some(1), "a failed rollout exits 1");
    assert!(
        text(&output.stderr).contains("daemon set \"x\" rollout failed: ProgressDeadlineExceeded: updated pod x-abc"),
        "{}",
        text(&output.stderr)
    );

    assert_eq!(status(&["--bogus"]).status.code(), Some(2), "a usage error exits 2");
    let missing = kubectl.run(&["daemonroll", "status", "ds/nope", "-n", "ns"]);
    assert_eq!(missing.status.code(), Some(2), "an API error exits 2");
    let not_a_daemon_set = kubectl.run(&["daemonroll", "status", "deploy/x", "-n", "ns"]);
    assert_eq!(not_a_daemon_set.status.code(), Some(2));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_and_plan_show_the_one_daemon_set() {
    let Some((cluster, kubectl)) = cluster_with("ns").await else {
        return;
    };
    let watch = kubectl.run(&["daemonroll", "watch", "ds/x", "-n", "ns", "--once", "--plain"]);
    assert!(watch.status.success(), "{}", text(&watch.stderr));
    let frame = text(&watch.stdout);
    // No controller runs: the three nodes have no pod yet.
    assert!(frame.starts_with("DaemonSet ns/x  revision "), "{frame}");
    assert!(frame.contains("    x x x\n"), "{frame}");

    let missing = kubectl.run(&["daemonroll", "watch", "ds/nope", "-n", "ns", "--once"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        text(&missing.stderr),
        "error: daemonsets.apps \"nope\" not found in namespace \"ns\"\n"
    );

    let plan = kubectl.run(&["daemonroll", "plan", "ds/x", "-n", "ns"]);
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    let table = text(&plan.stdout);
    assert!(table.starts_with("DaemonSet ns/x"), "{table}");
    assert!(table.contains("3 create(s)"), "{table}");
    cluster.stop().await;
}

/// kube-controller-manager's counters (3 nodes, `updated` of them updated, all available) and
/// daemonroll's coexist-mode condition `daemonroll.io/Progressing`.
fn coexist_status(updated: i64, progressing: &str, reason: &str, message: &str) -> Value {
    json!({"observedGeneration": 1, "desiredNumberScheduled": 3, "currentNumberScheduled": 3,
           "updatedNumberScheduled": updated, "numberAvailable": 3, "numberReady": 3, "numberMisscheduled": 0,
           "conditions": [{"type": "daemonroll.io/Progressing", "status": progressing, "reason": reason,
                           "message": message, "lastTransitionTime": "2026-01-01T00:00:00Z"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_watch_follow_a_coexist_daemon_set_through_its_prefixed_condition() {
    // Issue 12: `kubectl rollout status` refuses OnDelete; `kubectl daemonroll status` follows an
    // opted-in OnDelete DaemonSet through daemonroll.io/Progressing and the counters.
    let Some((cluster, kubectl)) = cluster_with("ns").await else {
        return;
    };
    let mut managed = daemon_set("c", "agent:1", json!({"daemonroll.io/rollout": "managed"}));
    managed["spec"]["updateStrategy"] = json!({"type": "OnDelete", "rollingUpdate": {"maxUnavailable": 1}});
    cluster.create("/apis/apps/v1/namespaces/ns/daemonsets", managed).await;
    let status = |args: &[&str]| {
        let mut all = vec!["daemonroll", "status", "ds/c", "-n", "ns"];
        all.extend_from_slice(args);
        kubectl.run(&all)
    };

    kubectl.set_status(
        "ns",
        "c",
        coexist_status(
            1,
            "True",
            "NewRevisionRolling",
            "revision 2: 1 of 3 nodes updated, 3 available",
        ),
    );
    assert_prints(
        &status(&["--watch=false"]),
        0,
        "Waiting for daemon set \"c\" rollout to finish: 1 out of 3 new pods have been updated...\n  \
         daemonroll.io/Progressing: NewRevisionRolling: revision 2: 1 of 3 nodes updated, 3 available\n  \
         (coexist mode: daemonroll deletes old pods within the budget, kube-controller-manager recreates them)\n",
    );

    kubectl.set_status(
        "ns",
        "c",
        coexist_status(1, "False", "ProgressDeadlineExceeded", "updated pod c-abc on node-001"),
    );
    let failed = status(&[]);
    assert_eq!(failed.status.code(), Some(1), "a failed coexist rollout exits 1");
    assert_eq!(
        text(&failed.stderr),
        "error: daemon set \"c\" rollout failed (coexist mode): ProgressDeadlineExceeded: updated pod c-abc on node-001\n"
    );

    kubectl.set_status(
        "ns",
        "c",
        coexist_status(
            3,
            "True",
            "RolloutComplete",
            "revision 2: 3 of 3 nodes updated, 3 available",
        ),
    );
    assert_prints(
        &status(&[]),
        0,
        "daemon set \"c\" successfully rolled out (coexist mode)\n",
    );

    let watch = kubectl.run(&["daemonroll", "watch", "ds/c", "-n", "ns", "--once", "--plain"]);
    assert!(watch.status.success(), "{}", text(&watch.stderr));
    let frame = text(&watch.stdout);
    assert!(
        frame.contains("strategy  OnDelete, coexist mode: daemonroll deletes old pods"),
        "{frame}"
    );
    // No kube-controller-manager here: no revision yet, so daemonroll's stored condition is shown.
    assert!(
        frame.contains("daemonroll.io/Progressing True    RolloutComplete"),
        "{frame}"
    );
    cluster.stop().await;
}
