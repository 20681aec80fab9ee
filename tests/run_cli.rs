//! `daemonroll run` refuses bad flags at start, naming the flag, before touching anything.

use std::process::Command;

use daemonroll::sim::cluster::{SimConfig, Simulator};

fn run(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_daemonroll"))
        .arg("run")
        .args(args)
        .output()
        .expect("daemonroll runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_flags_and_unreachable_servers_fail_at_start_with_the_flag_named() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let simulator = runtime
        .block_on(Simulator::start(SimConfig::default()))
        .expect("simulator");
    let dir = std::env::temp_dir().join(format!("daemonroll-run-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let kubeconfig = dir.join("kubeconfig");
    simulator.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let kubeconfig = kubeconfig.to_string_lossy().into_owned();

    let (ok, stderr) = run(&["--kubeconfig", &kubeconfig, "--selector", "tier in ("]);
    assert!(!ok);
    assert!(
        stderr.contains("--selector \"tier in (\" is not a valid label selector"),
        "{stderr}"
    );
    let (ok, stderr) = run(&["--kubeconfig", &kubeconfig, "--namespace", "Kube_System"]);
    assert!(!ok);
    assert!(
        stderr.contains("--namespace \"Kube_System\" is not a valid namespace name"),
        "{stderr}"
    );
    let (ok, stderr) = run(&["--kubeconfig", "/nonexistent/kubeconfig"]);
    assert!(!ok);
    assert!(stderr.contains("given with --kubeconfig"), "{stderr}");
    let (ok, stderr) = run(&["--kubeconfig", &kubeconfig, "--context", "nope"]);
    assert!(!ok);
    assert!(stderr.contains("context \"nope\""), "{stderr}");

    runtime.block_on(simulator.stop());
    let (ok, stderr) = run(&["--kubeconfig", &kubeconfig]);
    assert!(!ok);
    assert!(
        stderr.contains("cannot list DaemonSets from the API server") && stderr.contains("Connection refused"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("Connection refused").count(), 1, "said once: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
