//! `status` reads a DaemonSet as `kubectl rollout status` does, and daemonroll's condition on top.

use serde_json::{Value, json};

use super::*;

fn daemon_set(strategy: &str, generation: i64, status: Value) -> Value {
    json!({
        "metadata": {"name": "agent", "generation": generation},
        "spec": {"updateStrategy": {"type": strategy}},
        "status": status
    })
}

#[test]
fn a_rollout_waits_for_updated_pods_then_available_pods_then_is_complete() {
    let updating = daemon_set(
        "RollingUpdate",
        2,
        json!({"observedGeneration": 2,
        "desiredNumberScheduled": 10, "updatedNumberScheduled": 3, "numberAvailable": 9}),
    );
    assert_eq!(
        verdict(&updating),
        Verdict::Waiting(vec![
            "Waiting for daemon set \"agent\" rollout to finish: 3 out of 10 new pods have been updated...".into()
        ])
    );
    let starting = daemon_set(
        "RollingUpdate",
        2,
        json!({"observedGeneration": 2,
        "desiredNumberScheduled": 10, "updatedNumberScheduled": 10, "numberAvailable": 8}),
    );
    assert_eq!(
        verdict(&starting),
        Verdict::Waiting(vec![
            "Waiting for daemon set \"agent\" rollout to finish: 8 of 10 updated pods are available...".into()
        ])
    );
    let done = daemon_set(
        "RollingUpdate",
        2,
        json!({"observedGeneration": 2,
        "desiredNumberScheduled": 10, "updatedNumberScheduled": 10, "numberAvailable": 10}),
    );
    assert_eq!(
        verdict(&done),
        Verdict::Complete("daemon set \"agent\" successfully rolled out".into())
    );
}

#[test]
fn an_unobserved_spec_waits_whatever_the_counts() {
    let stale = daemon_set(
        "RollingUpdate",
        3,
        json!({"observedGeneration": 2,
        "desiredNumberScheduled": 1, "updatedNumberScheduled": 1, "numberAvailable": 1}),
    );
    assert_eq!(
        verdict(&stale),
        Verdict::Waiting(vec!["Waiting for daemon set spec update to be observed...".into()])
    );
}

#[test]
fn the_progressing_condition_explains_a_wait_and_false_means_failed() {
    let held = daemon_set(
        "RollingUpdate",
        2,
        json!({"observedGeneration": 2,
        "desiredNumberScheduled": 4, "updatedNumberScheduled": 3, "numberAvailable": 4,
        "conditions": [{"type": "Progressing", "status": "True", "reason": "PartitionHeld", "message": "1 node kept"}]}),
    );
    assert_eq!(
        verdict(&held),
        Verdict::Waiting(vec![
            "Waiting for daemon set \"agent\" rollout to finish: 3 out of 4 new pods have been updated...".into(),
            "  Progressing: PartitionHeld: 1 node kept".into(),
        ])
    );
    let failed = daemon_set(
        "RollingUpdate",
        2,
        json!({"observedGeneration": 2,
        "desiredNumberScheduled": 4, "updatedNumberScheduled": 1, "numberAvailable": 3,
        "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "pod x on n1"}]}),
    );
    assert_eq!(
        verdict(&failed),
        Verdict::Failed("daemon set \"agent\" rollout failed: ProgressDeadlineExceeded: pod x on n1".into())
    );
}

#[test]
fn on_delete_is_followed_too_and_says_how_it_progresses() {
    let on_delete = daemon_set(
        "OnDelete",
        2,
        json!({"observedGeneration": 2,
        "desiredNumberScheduled": 2, "updatedNumberScheduled": 1, "numberAvailable": 2}),
    );
    let Verdict::Waiting(lines) = verdict(&on_delete) else {
        panic!("an OnDelete rollout with an old pod is not done");
    };
    assert_eq!(lines[1], "  (OnDelete: each old pod is replaced once it is deleted)");
}

fn parsed_watch(args: &[&str]) -> Result<bool, clap::Error> {
    use clap::Parser;
    let cli = super::super::PluginCli::try_parse_from(args)?;
    match cli.command {
        super::super::PluginCommand::Status(status) => Ok(status.watch),
        _ => panic!("{args:?} is a status command"),
    }
}

#[test]
fn status_waits_unless_watch_is_set_false_with_an_equals_sign() {
    assert_eq!(parsed_watch(&["kubectl-daemonroll", "status", "ds/x"]).ok(), Some(true));
    assert_eq!(
        parsed_watch(&["kubectl-daemonroll", "status", "-w", "ds/x"]).ok(),
        Some(true)
    );
    assert_eq!(
        parsed_watch(&["kubectl-daemonroll", "status", "ds/x", "--watch=false"]).ok(),
        Some(false)
    );
    assert_eq!(
        parsed_watch(&["kubectl-daemonroll", "status", "ds/x", "-w=false"]).ok(),
        Some(false)
    );
    assert!(parsed_watch(&["kubectl-daemonroll", "status", "ds/x", "--watch", "false"]).is_err());
}

/// An opted-in OnDelete DaemonSet: kube-controller-manager's counters, daemonroll's prefixed
/// condition (and an unprefixed one that is not daemonroll's in coexist mode).
fn coexist_daemon_set(counts: (i64, i64, i64), conditions: Value) -> Value {
    let (desired, updated, available) = counts;
    json!({
        "metadata": {"name": "agent", "generation": 2, "annotations": {"daemonroll.io/rollout": "managed"}},
        "spec": {"updateStrategy": {"type": "OnDelete", "rollingUpdate": {"maxUnavailable": 1}}},
        "status": {"observedGeneration": 2, "desiredNumberScheduled": desired,
            "updatedNumberScheduled": updated, "numberAvailable": available, "conditions": conditions}
    })
}

#[test]
fn a_coexist_rollout_reads_daemonrolls_prefixed_condition_and_says_coexist_mode() {
    let rolling = coexist_daemon_set(
        (4, 1, 3),
        json!([
            {"type": "Progressing", "status": "False", "reason": "SomeoneElse", "message": "not daemonroll's"},
            {"type": "daemonroll.io/Progressing", "status": "True", "reason": "NewRevisionRolling", "message": "revision 2: 1 of 4 nodes updated"}
        ]),
    );
    assert_eq!(
        verdict(&rolling),
        Verdict::Waiting(vec![
            "Waiting for daemon set \"agent\" rollout to finish: 1 out of 4 new pods have been updated...".into(),
            "  daemonroll.io/Progressing: NewRevisionRolling: revision 2: 1 of 4 nodes updated".into(),
            "  (coexist mode: daemonroll deletes old pods within the budget, kube-controller-manager recreates them)"
                .into(),
        ])
    );
    let failed = coexist_daemon_set(
        (4, 1, 3),
        json!([{"type": "daemonroll.io/Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                "message": "pod x on n1"}]),
    );
    assert_eq!(
        verdict(&failed),
        Verdict::Failed(
            "daemon set \"agent\" rollout failed (coexist mode): ProgressDeadlineExceeded: pod x on n1".into()
        )
    );
    let misconfigured = coexist_daemon_set(
        (4, 4, 4),
        json!([{"type": "daemonroll.io/Progressing", "status": "False", "reason": "CoexistMisconfigured",
                "message": "set the type to OnDelete"}]),
    );
    assert!(matches!(verdict(&misconfigured), Verdict::Failed(line) if line.contains("CoexistMisconfigured")));
}

#[test]
fn a_coexist_rollout_is_complete_when_kube_controller_managers_counters_say_so() {
    // updatedNumberScheduled == desiredNumberScheduled == numberAvailable.
    let done = coexist_daemon_set(
        (3, 3, 3),
        json!([{"type": "daemonroll.io/Progressing", "status": "True", "reason": "RolloutComplete", "message": ""}]),
    );
    assert_eq!(
        verdict(&done),
        Verdict::Complete("daemon set \"agent\" successfully rolled out (coexist mode)".into())
    );
    let starting = coexist_daemon_set((3, 3, 2), json!([]));
    let Verdict::Waiting(lines) = verdict(&starting) else {
        panic!("an unavailable updated pod is not done");
    };
    assert_eq!(
        lines[0],
        "Waiting for daemon set \"agent\" rollout to finish: 2 of 3 updated pods are available..."
    );
}
