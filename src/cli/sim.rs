//! `daemonroll sim`: a simulated cluster served on 127.0.0.1 until Ctrl-C (CLI edge).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::duration::parse_duration;

#[derive(clap::Args)]
pub struct SimArgs {
    /// Nodes to create at start (node-001, node-002, …).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write the kubeconfig for this cluster.
    #[arg(long, value_name = "PATH", default_value = "daemonroll-sim.kubeconfig")]
    kubeconfig_out: PathBuf,
    /// Seed for the simulator's random choices, so that runs repeat.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How long a started pod takes to become Ready, e.g. 500ms, 2s, 1m.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    ready_after: std::time::Duration,
    /// How many writes the timeline (/sim/v1/timeline) keeps, and how many requests the request
    /// journal keeps; the oldest go first, so a long run stays within bounded memory. 0 keeps
    /// everything. Watches resume across the last 200,000 writes whatever this is.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    history: usize,
}

pub fn run(args: &SimArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let fleet = daemonroll::sim::fleet::FleetConfig {
            ready_after: args.ready_after,
            ..Default::default()
        };
        let config = daemonroll::sim::cluster::SimConfig {
            nodes: args.nodes,
            port: args.port,
            seed: args.seed,
            fleet,
            history: (args.history > 0).then_some(args.history),
        };
        let simulator = daemonroll::sim::cluster::Simulator::start(config)
            .await
            .context("cannot start the simulator")?;
        simulator.write_kubeconfig(&args.kubeconfig_out)?;
        let kubeconfig = std::fs::canonicalize(&args.kubeconfig_out).unwrap_or_else(|_| args.kubeconfig_out.clone());
        println!(
            "daemonroll sim: a simulated cluster of {} node(s) is serving on {}",
            args.nodes,
            simulator.url()
        );
        println!("kubeconfig: {}", kubeconfig.display());
        println!();
        println!("  export KUBECONFIG={}", kubeconfig.display());
        println!("  kubectl get nodes");
        println!();
        println!(
            "Simulated fleet controls (nodes, images, faults, timeline): {}/sim/v1/ (see the README)",
            simulator.url()
        );
        println!("Press Ctrl-C to stop.");
        std::io::stdout().flush().ok();
        tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        simulator.stop().await;
        Ok(())
    })
}
