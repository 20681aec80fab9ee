//! The daemonroll command line (the only place that uses anyhow, reads files and the clock).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use daemonroll::planner;

mod demo;
use daemonroll::report::{json::PlanDocument, table};
use daemonroll::snapshot::dump::Dump;

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
    Plan(PlanArgs),
    /// Serve a simulated Kubernetes cluster on 127.0.0.1 that kubectl and kube-rs clients accept.
    ///
    /// Writes a kubeconfig for it and runs until Ctrl-C. Everything is kept in memory. Served kinds:
    /// namespaces, nodes, pods, events, daemonsets, controllerrevisions, leases. A scheduler binds pods
    /// and kubelets run them; nodes, image behaviours and fault injection are controlled over HTTP
    /// under /sim/v1/ (see the README).
    Sim(SimArgs),
    /// Run the controller: watch DaemonSets, pods, nodes and revisions, and keep every DaemonSet's pods
    /// where they belong, with upstream's semantics. Runs until SIGTERM or Ctrl-C.
    Run(RunArgs),
    /// See daemonroll at work in about 10 seconds, with no cluster: a simulated 20-node cluster (one node
    /// NotReady), a DaemonSet created, then rolled to a new image, live.
    Demo,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// Manage only DaemonSets in this namespace (default: all namespaces).
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// Manage only DaemonSets whose labels match this selector, e.g. `shard=a` or `tier in (infra)`.
    #[arg(long, short = 'l', value_name = "SELECTOR")]
    selector: Option<String>,
    /// DaemonSets synced in parallel.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
    /// Most pod creates (and deletes) one sync issues, as kube-controller-manager's burst limit.
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u32).range(1..))]
    burst_replicas: u32,
    /// Least time between two status writes of one DaemonSet (the latest status is always written).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    status_interval: std::time::Duration,
    /// Elect a leader among replicas through a Lease; only the leader writes. Default: on when
    /// running in a cluster (service account, no --kubeconfig), off otherwise.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    leader_elect: Option<bool>,
    /// The Lease's name.
    #[arg(long, value_name = "NAME", default_value = "daemonroll")]
    leader_elect_lease_name: String,
    /// The Lease's namespace (default: $POD_NAMESPACE, else kube-system).
    #[arg(long, value_name = "NAMESPACE")]
    leader_elect_namespace: Option<String>,
    /// How long a leader's claim stands without renewal.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    leader_elect_lease_duration: std::time::Duration,
    /// A leader that could not renew for this long stops writing and exits with status 1.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    leader_elect_renew_deadline: std::time::Duration,
    /// Time between attempts to acquire or renew the Lease.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    leader_elect_retry_period: std::time::Duration,
    /// Address of /healthz, /readyz and /metrics; `off` disables the admin server.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8080")]
    admin_addr: String,
    /// Log line format on stderr.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Client-side limit on the controller's API requests per second (0: none), as kube-controller-manager's flag.
    #[arg(long, value_name = "QPS", default_value_t = 0.0)]
    kube_api_qps: f64,
    /// Requests allowed at once above --kube-api-qps.
    #[arg(long, value_name = "N", default_value_t = 30)]
    kube_api_burst: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
struct SimArgs {
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
}

/// `500ms`, `2s`, `1m`, `1h`: an integer and a unit.
fn parse_duration(text: &str) -> std::result::Result<std::time::Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms, 2s or 1m"))?;
    let millis = match unit {
        "ms" => value,
        "s" | "" => value * 1_000,
        "m" => value * 60_000,
        "h" => value * 3_600_000,
        _ => return Err(format!("{text:?}: unknown unit {unit:?}; use ms, s, m or h")),
    };
    Ok(std::time::Duration::from_millis(millis))
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Table,
    Json,
}

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["file", "live"]))]
struct PlanArgs {
    /// The dump to plan from; `-` reads standard input.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    file: Option<PathBuf>,
    /// Plan from the cluster the kubeconfig points at (read-only: nothing is written).
    #[arg(long)]
    live: bool,
    /// With --live: the kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// With --live: the kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// The clock for readiness and backoff decisions, RFC 3339 (e.g. 2026-11-25T12:00:00Z). Default: now.
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    output: OutputFormat,
    /// In the table, also list nodes whose pod stays as it is.
    #[arg(long)]
    all_nodes: bool,
    /// Only these DaemonSets: NAMESPACE/NAME, or NAME in any namespace.
    #[arg(value_name = "NS/NAME")]
    daemon_sets: Vec<String>,
}

fn parse_now(now: Option<&str>) -> Result<DateTime<Utc>> {
    match now {
        None => Ok(Utc::now()),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|time| time.with_timezone(&Utc))
            .with_context(|| format!("--now {text:?} is not an RFC 3339 time; use e.g. 2026-11-25T12:00:00Z")),
    }
}

fn read_input(file: &PathBuf) -> Result<String> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

fn wanted(filters: &[String], namespace: &str, name: &str) -> bool {
    filters.is_empty()
        || filters.iter().any(|filter| match filter.split_once('/') {
            Some((ns, n)) => ns == namespace && n == name,
            None => filter == name,
        })
}

fn read_dump(args: &PlanArgs) -> Result<(Dump, String)> {
    if !args.live && (args.kubeconfig.is_some() || args.context.is_some()) {
        bail!("--kubeconfig and --context choose the cluster for --live; add --live, or drop them to plan from -f");
    }
    if args.live {
        let options = daemonroll::controller::client::ClientOptions {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
        };
        let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
        return runtime.block_on(async {
            let (client, url) = daemonroll::controller::client::client(&options).await?;
            let dump = daemonroll::controller::live::fetch(&client, &url).await?;
            Ok((dump, url))
        });
    }
    let file = args.file.clone().unwrap_or_default();
    let text = read_input(&file)?;
    let dump = Dump::parse(&text).with_context(|| format!("cannot read objects from {}", file.display()))?;
    Ok((dump, file.display().to_string()))
}

fn run_plan(args: &PlanArgs) -> Result<()> {
    let now = parse_now(args.now.as_deref())?;
    let (dump, source) = read_dump(args)?;
    let mut snapshots = dump.snapshots(now);
    snapshots.retain(|s| wanted(&args.daemon_sets, &s.daemon_set.namespace, &s.daemon_set.name));
    for filter in &args.daemon_sets {
        let found = snapshots.iter().any(|s| {
            wanted(
                std::slice::from_ref(filter),
                &s.daemon_set.namespace,
                &s.daemon_set.name,
            )
        });
        if !found {
            bail!("no DaemonSet {filter} in {source}");
        }
    }
    let plans: Vec<_> = snapshots.iter().map(planner::plan).collect();
    if matches!(args.output, OutputFormat::Json) {
        // The JSON document has no field for DaemonSet-wide problems; people still need to see them.
        for plan in &plans {
            for problem in &plan.problems {
                eprintln!("warning: DaemonSet {}: {problem}", plan.daemon_set.key());
            }
        }
    }
    let rendered = match args.output {
        OutputFormat::Json => {
            let mut text =
                serde_json::to_string_pretty(&PlanDocument::from_plans(&plans)).context("cannot render JSON")?;
            text.push('\n');
            text
        }
        OutputFormat::Table => table::render(&plans, args.all_nodes),
    };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(rendered.as_bytes()) {
        // A closed pipe (`| head`) is not an error worth reporting.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

fn run_sim(args: &SimArgs) -> Result<()> {
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

/// Resolves when SIGTERM or SIGINT arrives.
async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

fn run_controller(args: &RunArgs) -> Result<()> {
    if let Some(namespace) = &args.namespace
        && !is_dns_label(namespace)
    {
        bail!("--namespace {namespace:?} is not a valid namespace name (lowercase letters, digits and '-')");
    }
    if !(args.kube_api_qps >= 0.0 && args.kube_api_qps.is_finite()) {
        bail!("--kube-api-qps must be 0 (no limit) or a positive number");
    }
    let admin: Option<std::net::SocketAddr> = match args.admin_addr.as_str() {
        "off" => None,
        text => Some(
            text.parse()
                .with_context(|| format!("--admin-addr {text:?} is not an address like 0.0.0.0:8080 (or `off`)"))?,
        ),
    };
    // Upstream (client-go leaderelection NewLeaderElector): duration > renew deadline > retry period.
    if args.leader_elect_lease_duration <= args.leader_elect_renew_deadline
        || args.leader_elect_renew_deadline <= args.leader_elect_retry_period
    {
        bail!(
            "--leader-elect-lease-duration must exceed --leader-elect-renew-deadline, which must exceed --leader-elect-retry-period"
        );
    }
    let in_cluster = args.kubeconfig.is_none()
        && std::env::var_os("KUBECONFIG").is_none()
        && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    let leader_elect = args.leader_elect.unwrap_or(in_cluster);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let options = daemonroll::controller::client::ClientOptions {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
        };
        let instance = std::env::var("POD_NAME").ok();
        let (client, url) =
            daemonroll::controller::client::client_for_instance(&options, instance.as_deref()).await?;
        // One list up front: an unreachable server or a selector the server rejects fails here, once.
        let mut probe = "/apis/apps/v1/daemonsets?limit=1".to_string();
        if let Some(selector) = &args.selector {
            probe.push_str("&labelSelector=");
            probe.push_str(&url_encode(selector));
        }
        let api = daemonroll::executor::api::ApiClient::new(client.clone());
        if let Err(error) = api.get(&probe).await {
            if error.code() == Some(400) && args.selector.is_some() {
                bail!("--selector {:?} is not a valid label selector: {error}", args.selector.as_deref().unwrap_or_default());
            }
            return Err(anyhow::Error::new(error)
                .context(format!("cannot list DaemonSets from the API server at {url} (check --kubeconfig and --context, and that the server is reachable)")));
        }
        let identity = format!(
            "{}_{}",
            instance.clone().unwrap_or_else(|| hostname().unwrap_or_else(|| "daemonroll".into())),
            uuid::Uuid::new_v4()
        );
        let run_options = daemonroll::controller::run::Options {
            namespace: args.namespace.clone(),
            selector: args.selector.clone(),
            workers: usize::from(args.concurrency),
            burst_replicas: args.burst_replicas as usize,
            status_interval: args.status_interval,
            instance,
            api_rate_limit: (args.kube_api_qps > 0.0).then_some((args.kube_api_qps, args.kube_api_burst)),
        };
        let metrics = std::sync::Arc::new(daemonroll::ops::metrics::Metrics::default());
        let (gate, elector) = if leader_elect {
            let config = daemonroll::ops::leader::LeaseConfig {
                namespace: args
                    .leader_elect_namespace
                    .clone()
                    .or_else(|| std::env::var("POD_NAMESPACE").ok())
                    .unwrap_or_else(|| "kube-system".into()),
                name: args.leader_elect_lease_name.clone(),
                identity: identity.clone(),
                duration: args.leader_elect_lease_duration,
                renew_deadline: args.leader_elect_renew_deadline,
                retry_period: args.leader_elect_retry_period,
            };
            let gate = daemonroll::ops::leader::WriteGate::default();
            let elector = daemonroll::ops::leader::LeaderElector::new(api.clone(), config, gate.clone());
            (gate, Some(elector))
        } else {
            (daemonroll::ops::leader::WriteGate::open(), None)
        };
        tracing::info!(server = %url, namespace = ?args.namespace, selector = ?args.selector, leader_elect,
            identity = %identity, "daemonroll starting");
        let controller =
            daemonroll::controller::run::Controller::new(client.clone(), run_options, gate, std::sync::Arc::clone(&metrics));
        let _admin = match admin {
            Some(address) => {
                let (bound, task) = daemonroll::ops::admin::serve(
                    address,
                    std::sync::Arc::clone(&controller) as std::sync::Arc<dyn daemonroll::ops::admin::Readiness>,
                    metrics,
                )
                .await
                .with_context(|| format!("cannot listen on --admin-addr {address}"))?;
                tracing::info!(address = %bound, "admin server: /healthz /readyz /metrics");
                Some(task)
            }
            None => None,
        };
        controller.run(client, elector, termination()).await?;
        tracing::info!("daemonroll stopped");
        Ok(())
    })
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
}

/// Percent-encodes a query value.
fn url_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The controller reports what it does; the one-shot commands only warn.
    let default_filter = match cli.command {
        Command::Run(_) => "info,kube_client=off,kube_runtime=warn",
        _ => "warn,kube_client=off",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match &cli.command {
        Command::Run(args) if args.log_format == LogFormat::Json => builder.json().init(),
        _ => builder.init(),
    }
    let result = match &cli.command {
        Command::Plan(args) => run_plan(args),
        Command::Sim(args) => run_sim(args),
        Command::Run(args) => run_controller(args),
        Command::Demo => demo::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", error_text(&error));
            ExitCode::FAILURE
        }
    }
}
