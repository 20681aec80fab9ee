//! The daemonroll command line: parses flags, sets up logging, runs one command and reports its
//! error (the only place that uses anyhow; each command lives in `cli/`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

#[derive(Parser)]
#[command(
    name = "daemonroll",
    version,
    about = "A Kubernetes DaemonSet controller with upstream semantics"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Preview what one sync would do, from a dump of cluster objects (nothing is written anywhere).
    ///
    /// FILE holds objects as kubectl prints them, e.g.
    /// `kubectl get ds,nodes,pods,controllerrevisions -A -o yaml > dump.yaml`:
    /// a `kind: List`, multi-document YAML, or JSON. Other kinds are ignored.
    Plan(cli::plan::PlanArgs),
    /// Serve a simulated Kubernetes cluster on 127.0.0.1 that kubectl and kube-rs clients accept.
    ///
    /// Writes a kubeconfig for it and runs until Ctrl-C. Everything is kept in memory. Served kinds:
    /// namespaces, nodes, pods, events, daemonsets, controllerrevisions, leases. A scheduler binds pods
    /// and kubelets run them; nodes, image behaviours and fault injection are controlled over HTTP
    /// under /sim/v1/ (see the README).
    Sim(cli::sim::SimArgs),
    /// Run the controller: watch DaemonSets, pods, nodes and revisions, and keep every DaemonSet's pods
    /// where they belong, with upstream's semantics. Runs until SIGTERM or Ctrl-C.
    Run(cli::run::RunArgs),
    /// See daemonroll at work in about 10 seconds, with no cluster: a simulated 20-node cluster (one node
    /// NotReady), a DaemonSet created, then rolled to a new image, live.
    Demo,
    /// A live view of one rollout: nodes as a grid coloured by state (grouped by the
    /// daemonroll.io/topology-key label), progress, waves with their durations, an ETA and what
    /// blocks. Redrawn in place on a terminal; plain text otherwise or with --plain. Read-only.
    Watch(cli::watch::WatchArgs),
}

/// The error and its causes, each said once: a cause whose text its parent already contains
/// (kube and std errors often repeat their source) is left out.
fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn init_logging(default_filter: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    // Installed as `kubectl-daemonroll`, the binary is the kubectl plugin.
    if cli::plugin::invoked_as_plugin(std::env::args_os().next().as_deref()) {
        let plugin = cli::plugin::PluginCli::parse();
        init_logging("warn,kube_client=off", false);
        return cli::plugin::run(&plugin);
    }
    let cli = Cli::parse();
    // The controller reports what it does; the one-shot commands only warn.
    let default_filter = match cli.command {
        Command::Run(_) => "info,kube_client=off,kube_runtime=warn",
        _ => "warn,kube_client=off",
    };
    let json = matches!(&cli.command, Command::Run(args) if args.log_format == cli::run::LogFormat::Json);
    init_logging(default_filter, json);
    let result = match &cli.command {
        Command::Plan(args) => cli::plan::run(args),
        Command::Sim(args) => cli::sim::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::Demo => cli::demo::run(),
        Command::Watch(args) => cli::watch::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", error_text(&error));
            ExitCode::FAILURE
        }
    }
}
