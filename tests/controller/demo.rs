//! `daemonroll demo`: the self-contained rollout on a built-in simulator finishes and tells its story.

#[test]
fn the_demo_finishes_and_shows_the_rollout() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_daemonroll"))
        .arg("demo")
        .output()
        .expect("demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("node-013 is NotReady"), "{stdout}");
    assert!(stdout.contains("updated 19/19 · available 19/19"), "{stdout}");
    assert!(stdout.contains("wave 1: 4 pod(s) replaced"), "{stdout}");
    assert!(
        stdout.contains("wave 5: 3 pod(s) replaced"),
        "20% of 19 rounds up to 4: 4+4+4+4+3\n{stdout}"
    );
    assert!(stdout.contains("38 pod creates, 19 pod deletes"), "{stdout}");
}
