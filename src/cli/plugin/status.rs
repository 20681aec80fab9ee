//! `kubectl daemonroll status`: `kubectl rollout status`'s lines and exit codes for a DaemonSet,
//! with daemonroll's Progressing condition, for OnDelete as well (CLI edge: polls the API server;
//! `verdict` is pure).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, anyhow};
use serde_json::Value;

use daemonroll::kube::ApiClient;
use daemonroll::kube::paths::daemon_set_path;
use daemonroll::planner::coexist::{CONDITION_PREFIX, MANAGED, OPT_IN};
use daemonroll::planner::rollout::PROGRESSING;

use super::TargetArg;
use crate::cli::duration::parse_duration;
use crate::cli::live::Connection;

/// The rollout failed (Progressing status False), or `--timeout` passed (kubectl exits 1 then too).
pub const EXIT_FAILED: u8 = 1;
/// Usage and API errors.
pub const EXIT_ERROR: u8 = 2;

const POLL: Duration = Duration::from_millis(500);

#[derive(clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: TargetArg,
    /// Wait until the rollout completes or fails, printing each change (`--watch=false`: print once;
    /// a value needs the `=`, so `-w ds/x` is the flag and the DaemonSet, as for kubectl).
    #[arg(
        short = 'w',
        long,
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set,
        value_name = "BOOL"
    )]
    watch: bool,
    /// Give up waiting after this long (0: never), e.g. 30s, 5m.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    timeout: Duration,
}

/// Where a rollout stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Still rolling (or held): the lines say why.
    Waiting(Vec<String>),
    Complete(String),
    /// daemonroll's Progressing condition is False: the rollout stopped on its own.
    Failed(String),
}

/// Whether the DaemonSet is opted in to coexist mode (`planner::coexist::opted_in` on JSON).
fn coexist(daemon_set: &Value) -> bool {
    daemon_set["metadata"]["annotations"][OPT_IN]
        .as_str()
        .is_some_and(|value| value.trim() == MANAGED)
}

/// kubectl's DaemonSetStatusViewer (rollout_status.go), plus the Progressing condition; it does
/// not refuse OnDelete, whose rollout completes as pods are deleted. In coexist mode daemonroll's
/// condition is `daemonroll.io/Progressing` (kube-controller-manager writes the counters), and
/// every verdict says "coexist mode".
pub fn verdict(daemon_set: &Value) -> Verdict {
    let name = daemon_set["metadata"]["name"].as_str().unwrap_or_default();
    let status = &daemon_set["status"];
    let count = |field: &str| status[field].as_i64().unwrap_or(0);
    let coexist = coexist(daemon_set);
    let (condition_type, mode) = if coexist {
        (format!("{CONDITION_PREFIX}{PROGRESSING}"), " (coexist mode)")
    } else {
        (PROGRESSING.to_string(), "")
    };
    let progressing = status["conditions"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["type"] == condition_type.as_str()));
    let text = |field: &str| progressing.and_then(|c| c[field].as_str()).unwrap_or_default();
    if progressing.is_some_and(|c| c["status"] == "False") {
        return Verdict::Failed(format!(
            "daemon set {name:?} rollout failed{mode}: {}: {}",
            text("reason"),
            text("message")
        ));
    }
    let generation = daemon_set["metadata"]["generation"].as_i64().unwrap_or(0);
    let (desired, updated, available) = (
        count("desiredNumberScheduled"),
        count("updatedNumberScheduled"),
        count("numberAvailable"),
    );
    let first = if generation > count("observedGeneration") {
        "Waiting for daemon set spec update to be observed...".to_string()
    } else if updated < desired {
        format!(
            "Waiting for daemon set {name:?} rollout to finish: {updated} out of {desired} new pods have been updated..."
        )
    } else if available < desired {
        format!(
            "Waiting for daemon set {name:?} rollout to finish: {available} of {desired} updated pods are available..."
        )
    } else {
        return Verdict::Complete(format!("daemon set {name:?} successfully rolled out{mode}"));
    };
    let mut lines = vec![first];
    if progressing.is_some() {
        lines.push(format!("  {condition_type}: {}: {}", text("reason"), text("message")));
    }
    if coexist {
        lines.push(
            "  (coexist mode: daemonroll deletes old pods within the budget, kube-controller-manager recreates them)"
                .to_string(),
        );
    } else if daemon_set["spec"]["updateStrategy"]["type"] == "OnDelete" && updated < desired {
        lines.push("  (OnDelete: each old pod is replaced once it is deleted)".to_string());
    }
    Verdict::Waiting(lines)
}

pub async fn run(connection: &Connection, namespace: &str, name: &str, args: &StatusArgs) -> Result<ExitCode> {
    let api = ApiClient::new(connection.client.clone());
    let path = daemon_set_path(namespace, name);
    let started = tokio::time::Instant::now();
    let mut printed: Vec<String> = Vec::new();
    loop {
        let daemon_set = api.get(&path).await.map_err(|error| match error.code() {
            Some(404) => anyhow!("daemonsets.apps {name:?} not found in namespace {namespace:?}"),
            _ => anyhow!(error).context(format!("cannot read daemonset.apps/{name} in namespace {namespace}")),
        })?;
        match verdict(&daemon_set) {
            Verdict::Complete(line) => {
                println!("{line}");
                return Ok(ExitCode::SUCCESS);
            }
            Verdict::Failed(line) => {
                eprintln!("error: {line}");
                return Ok(ExitCode::from(EXIT_FAILED));
            }
            Verdict::Waiting(lines) => {
                // Like kubectl, a line is printed when it changes, not on every poll.
                if lines != printed {
                    for line in &lines {
                        println!("{line}");
                    }
                    printed = lines;
                }
            }
        }
        if !args.watch {
            return Ok(ExitCode::SUCCESS);
        }
        if !args.timeout.is_zero() && started.elapsed() >= args.timeout {
            eprintln!("error: timed out waiting for the condition");
            return Ok(ExitCode::from(EXIT_FAILED));
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::from(EXIT_ERROR)),
        }
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
