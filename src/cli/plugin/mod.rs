//! `kubectl daemonroll`: the binary installed as `kubectl-daemonroll` (CLI edge: reads flags, the
//! kubeconfig and the cluster; pause, resume and promote write one annotation patch).
//!
//! kubectl hands a plugin its arguments verbatim and nothing else: `-n`, `--kubeconfig` and
//! `--context` are parsed here, and KUBECONFIG reaches kube's config loading through the
//! environment, as for kubectl itself.

mod annotate;
pub mod status;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use super::live;
use super::plan::OutputFormat;
use super::watch::{self, ViewArgs};

/// The file name (without `.exe`) under which kubectl finds the plugin.
pub const PLUGIN_NAME: &str = "kubectl-daemonroll";

/// Whether this process was started as the kubectl plugin (argv[0] is `kubectl-daemonroll`).
pub fn invoked_as_plugin(argv0: Option<&std::ffi::OsStr>) -> bool {
    argv0
        .and_then(|arg| Path::new(arg).file_stem())
        .is_some_and(|stem| stem == PLUGIN_NAME)
}

#[derive(Parser)]
#[command(
    name = "kubectl daemonroll",
    bin_name = "kubectl daemonroll",
    version,
    about = "Pause, resume, promote and follow daemonroll rollouts of DaemonSets"
)]
pub struct PluginCli {
    #[command(subcommand)]
    command: PluginCommand,
    /// The DaemonSet's namespace (default: the kubeconfig context's namespace, else "default").
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// The kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, then in-cluster).
    #[arg(long, global = true, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, global = true, value_name = "NAME")]
    context: Option<String>,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Stop replacing old pods (annotation daemonroll.io/paused: "true"); missing pods are still created.
    Pause(TargetArg),
    /// Remove daemonroll.io/paused: the rollout goes on.
    Resume(TargetArg),
    /// Roll the rest: remove daemonroll.io/partition and daemonroll.io/rollout-node-selector.
    Promote(TargetArg),
    /// Print rollout status like `kubectl rollout status` (also for OnDelete) and wait until the
    /// rollout completes (exit 0) or fails (exit 1); usage and API errors exit 2.
    Status(status::StatusArgs),
    /// A live view of the rollout (as `daemonroll watch`).
    Watch {
        #[command(flatten)]
        target: TargetArg,
        #[command(flatten)]
        view: ViewArgs,
    },
    /// What daemonroll's next sync of this DaemonSet would do, and why (as `daemonroll plan --live`).
    Plan {
        #[command(flatten)]
        target: TargetArg,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: OutputFormat,
        /// In the table, also list nodes whose pod stays as it is.
        #[arg(long)]
        all_nodes: bool,
    },
}

#[derive(clap::Args, Clone)]
pub struct TargetArg {
    /// The DaemonSet: ds/NAME, daemonset/NAME, daemonsets/NAME or NAME.
    #[arg(value_name = "ds/NAME")]
    target: String,
}

/// `ds/x`, `daemonset/x`, `daemonsets.apps/x` or `x` → `x`.
pub fn daemon_set_name(target: &str) -> Result<&str, String> {
    let name = match target.split_once('/') {
        None => target,
        Some((kind, name)) => {
            let kind = kind.to_ascii_lowercase();
            let kind = kind.strip_suffix(".apps").unwrap_or(&kind);
            if !matches!(kind, "ds" | "daemonset" | "daemonsets") {
                return Err(format!(
                    "{target:?} is not a DaemonSet: use ds/NAME, daemonset/NAME or NAME"
                ));
            }
            name
        }
    };
    if name.is_empty() || name.contains('/') {
        return Err(format!("{target:?} names no DaemonSet: use ds/NAME or NAME"));
    }
    Ok(name)
}

/// Runs one plugin command; the exit code follows kubectl's (1 on errors), except `status`'s.
pub fn run(cli: &PluginCli) -> ExitCode {
    let status_command = matches!(cli.command, PluginCommand::Status(_));
    match execute(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", crate::error_text(&error));
            if status_command {
                ExitCode::from(status::EXIT_ERROR)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn execute(cli: &PluginCli) -> Result<ExitCode> {
    let target = match &cli.command {
        PluginCommand::Pause(target) | PluginCommand::Resume(target) | PluginCommand::Promote(target) => target,
        PluginCommand::Status(args) => &args.target,
        PluginCommand::Watch { target, .. } | PluginCommand::Plan { target, .. } => target,
    };
    let name = daemon_set_name(&target.target).map_err(anyhow::Error::msg)?.to_string();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let connection = runtime.block_on(live::connect(cli.kubeconfig.clone(), cli.context.clone()))?;
    let namespace = cli
        .namespace
        .clone()
        .unwrap_or_else(|| connection.default_namespace.clone());
    if namespace.is_empty() {
        bail!("the namespace is empty; pass -n NAMESPACE");
    }
    let done = |result: Result<()>| result.map(|()| ExitCode::SUCCESS);
    match &cli.command {
        PluginCommand::Pause(_) => done(runtime.block_on(annotate::pause(&connection, &namespace, &name))),
        PluginCommand::Resume(_) => done(runtime.block_on(annotate::resume(&connection, &namespace, &name))),
        PluginCommand::Promote(_) => done(runtime.block_on(annotate::promote(&connection, &namespace, &name))),
        PluginCommand::Status(args) => runtime.block_on(status::run(&connection, &namespace, &name, args)),
        PluginCommand::Watch { view, .. } => {
            done(runtime.block_on(watch::follow(&connection, &namespace, &name, *view)))
        }
        PluginCommand::Plan { output, all_nodes, .. } => {
            drop(runtime);
            let args = super::plan::PlanArgs::live_daemon_set(
                cli.kubeconfig.clone(),
                cli.context.clone(),
                format!("{namespace}/{name}"),
                *output,
                *all_nodes,
            );
            done(super::plan::run(&args))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daemon_set_is_named_as_kubectl_names_it() {
        for target in [
            "ds/agent",
            "daemonset/agent",
            "daemonsets/agent",
            "daemonset.apps/agent",
            "DS/agent",
            "agent",
        ] {
            assert_eq!(daemon_set_name(target), Ok("agent"), "{target}");
        }
        for target in ["deploy/agent", "ds/", "", "ds/a/b"] {
            assert!(daemon_set_name(target).is_err(), "{target}");
        }
    }

    #[test]
    fn the_plugin_is_recognised_by_its_file_name_with_or_without_exe() {
        let yes = [
            "kubectl-daemonroll",
            "/usr/local/bin/kubectl-daemonroll",
            "kubectl-daemonroll.exe",
        ];
        for argv0 in yes {
            assert!(invoked_as_plugin(Some(std::ffi::OsStr::new(argv0))), "{argv0}");
        }
        for argv0 in ["daemonroll", "/bin/kubectl-daemonroll-old", "kubectl"] {
            assert!(!invoked_as_plugin(Some(std::ffi::OsStr::new(argv0))), "{argv0}");
        }
        assert!(!invoked_as_plugin(None));
    }
}
