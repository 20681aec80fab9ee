//! `daemonroll plan --live` against the simulated cluster: the real binary, a kubeconfig, HTTP.

use std::process::Command;

use daemonroll::sim::cluster::{SimConfig, Simulator, create};
use daemonroll::sim::resources;
use serde_json::{Value, json};

fn daemonroll(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_daemonroll"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn plan_live_reads_the_cluster_the_kubeconfig_points_at() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let simulator = runtime
        .block_on(Simulator::start(SimConfig {
            nodes: 3,
            ..SimConfig::default()
        }))
        .expect("starts");
    let dir = std::env::temp_dir().join(format!("daemonroll-live-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let kubeconfig = dir.join("kubeconfig");
    simulator.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let daemon_sets = resources::find("apps", "v1", "daemonsets").expect("served");
    let ds = json!({"metadata": {"name": "agent"}, "spec": {
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {"metadata": {"labels": {"app": "agent"}},
                     "spec": {"containers": [{"name": "agent", "image": "agent:1"}], "nodeSelector": {"kubernetes.io/os": "linux"}}}}});
    create(&simulator.store, daemon_sets, "default", ds, "test").expect("DaemonSet is created");

    let path = kubeconfig.to_string_lossy().to_string();
    let output = daemonroll(&["plan", "--live", "--kubeconfig", &path, "-o", "json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let plan: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let ds = &plan["daemonSets"][0];
    assert_eq!(
        (ds["namespace"].as_str(), ds["name"].as_str()),
        (Some("default"), Some("agent"))
    );
    // A new DaemonSet on three Linux nodes with no pods yet: one sync creates a pod on each.
    assert_eq!(ds["createOnNodes"], json!(["node-001", "node-002", "node-003"]));
    assert_eq!(ds["status"]["desiredNumberScheduled"], 3);
    assert!(
        simulator.store.timeline().iter().all(|w| w.actor != "daemonroll"),
        "plan --live writes nothing"
    );

    let wrong_context = daemonroll(&["plan", "--live", "--kubeconfig", &path, "--context", "nope"]);
    let stderr = String::from_utf8_lossy(&wrong_context.stderr);
    assert!(
        !wrong_context.status.success() && stderr.contains("context \"nope\""),
        "{stderr}"
    );

    drop(simulator);
    let unreachable = daemonroll(&["plan", "--live", "--kubeconfig", &path]);
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert!(
        !unreachable.status.success()
            && stderr.contains("cannot list daemonsets from the API server at http://127.0.0.1:"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);

    let both = daemonroll(&["plan", "--live", "-f", "x.yaml"]);
    assert!(
        String::from_utf8_lossy(&both.stderr).contains("cannot be used with"),
        "{}",
        String::from_utf8_lossy(&both.stderr)
    );
    let neither = daemonroll(&["plan"]);
    assert!(!neither.status.success());
    let stray = daemonroll(&["plan", "-f", "x.yaml", "--context", "c"]);
    assert!(
        String::from_utf8_lossy(&stray.stderr).contains("--live"),
        "--context needs --live"
    );
}
