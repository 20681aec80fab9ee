//! `daemonroll plan`: one sync previewed from a dump file or a live cluster (CLI edge: reads files,
//! the clock and the network, prints).

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use clap::ValueEnum;

use daemonroll::planner;
use daemonroll::report::{json::PlanDocument, table};
use daemonroll::snapshot::dump::Dump;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["file", "live"]))]
pub struct PlanArgs {
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

impl PlanArgs {
    /// `plan --live NAMESPACE/NAME` (for `kubectl daemonroll plan`).
    pub fn live_daemon_set(
        kubeconfig: Option<PathBuf>,
        context: Option<String>,
        daemon_set: String,
        output: OutputFormat,
        all_nodes: bool,
    ) -> Self {
        PlanArgs {
            file: None,
            live: true,
            kubeconfig,
            context,
            now: None,
            output,
            all_nodes,
            daemon_sets: vec![daemon_set],
        }
    }
}

fn parse_now(now: Option<&str>) -> Result<DateTime<Utc>> {
    match now {
        None => Ok(Utc::now()),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|time| time.with_timezone(&Utc))
            .with_context(|| format!("--now {text:?} is not an RFC 3339 time; use e.g. 2026-11-25T12:00:00Z")),
    }
}

/// The file's bytes; whether they are UTF-8 is the dump reader's check (it names the position).
fn read_input(file: &PathBuf) -> Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        return Ok(bytes);
    }
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
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
        let options = daemonroll::kube::ClientOptions {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
        };
        let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
        return runtime.block_on(async {
            let (client, url) = daemonroll::kube::config::client(&options).await?;
            // One DaemonSet named in full needs only its namespace's objects, not the cluster's.
            let dump = match args.daemon_sets.as_slice() {
                [one] => match one.split_once('/') {
                    Some((namespace, name)) => super::live::fetch_daemon_set(&client, &url, namespace, name).await?,
                    None => super::live::fetch(&client, &url).await?,
                },
                _ => super::live::fetch(&client, &url).await?,
            };
            Ok((dump, url))
        });
    }
    let file = args.file.clone().unwrap_or_default();
    let bytes = read_input(&file)?;
    let dump = Dump::parse_bytes(&bytes).with_context(|| format!("cannot read objects from {}", file.display()))?;
    Ok((dump, file.display().to_string()))
}

pub fn run(args: &PlanArgs) -> Result<()> {
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
