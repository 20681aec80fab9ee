//! `daemonroll run`: flags checked once, a probed client, then the controller under the ops
//! lifecycle until SIGTERM (CLI edge).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

use daemonroll::controller::{Controller, Metrics, Mode, Options};
use daemonroll::kube::{ApiClient, ApiError, ClientOptions, WriteGate, config};
use daemonroll::ops::leader::{LeaderElector, LeaseConfig};
use daemonroll::ops::{admin, lifecycle};
use k8s_openapi::api::apps::v1::DaemonSet;
use kube::api::{Api, ListParams};

use super::duration::parse_duration;

#[derive(clap::Args)]
pub struct RunArgs {
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
    /// replace: daemonroll is the DaemonSet controller (kube-controller-manager's is off).
    /// coexist: beside kube-controller-manager's, on OnDelete DaemonSets annotated
    /// daemonroll.io/rollout=managed, daemonroll only deletes old pods (README "On a managed cluster").
    #[arg(long, value_enum, default_value = "replace")]
    mode: ModeArg,
    /// Coexist mode: how long kube-controller-manager may take to recreate a pod daemonroll
    /// deleted before the DaemonSet's condition reports WaitingForRecreate.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    recreate_wait: std::time::Duration,
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
    pub log_format: LogFormat,
    /// Client-side limit on the controller's API requests per second (0: none), as kube-controller-manager's flag.
    #[arg(long, value_name = "QPS", default_value_t = 0.0)]
    kube_api_qps: f64,
    /// Requests allowed at once above --kube-api-qps.
    #[arg(long, value_name = "N", default_value_t = 30)]
    kube_api_burst: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
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

/// What the flags decide beyond their own values, checked once before anything starts.
struct Checked {
    admin: Option<SocketAddr>,
    leader_elect: bool,
}

fn check(args: &RunArgs) -> Result<Checked> {
    if let Some(namespace) = &args.namespace
        && !is_dns_label(namespace)
    {
        bail!("--namespace {namespace:?} is not a valid namespace name (lowercase letters, digits and '-')");
    }
    if !(args.kube_api_qps >= 0.0 && args.kube_api_qps.is_finite()) {
        bail!("--kube-api-qps must be 0 (no limit) or a positive number");
    }
    let admin = match args.admin_addr.as_str() {
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
    Ok(Checked {
        admin,
        leader_elect: args.leader_elect.unwrap_or(in_cluster),
    })
}

/// A client for the cluster, after one list: an unreachable server or a selector the server
/// rejects fails here, once, with the flag to change.
async fn connect(args: &RunArgs, instance: Option<&str>) -> Result<(kube::Client, String)> {
    let options = ClientOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
    };
    let (client, url) = config::client_for_instance(&options, instance).await?;
    let mut params = ListParams::default().limit(1);
    if let Some(selector) = &args.selector {
        params = params.labels(selector);
    }
    let daemon_sets: Api<DaemonSet> = Api::all(client.clone());
    if let Err(error) = daemon_sets.list_metadata(&params).await {
        let error = ApiError {
            verb: "list",
            path: "/apis/apps/v1/daemonsets".into(),
            error,
        };
        if error.code() == Some(400)
            && let Some(selector) = &args.selector
        {
            bail!("--selector {selector:?} is not a valid label selector: {error}");
        }
        return Err(anyhow::Error::new(error).context(format!(
            "cannot list DaemonSets from the API server at {url} (check --kubeconfig and --context, and that the server is reachable)"
        )));
    }
    Ok((client, url))
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    Replace,
    Coexist,
}

fn options(args: &RunArgs, instance: Option<String>) -> Options {
    Options {
        mode: match args.mode {
            ModeArg::Replace => Mode::Replace,
            ModeArg::Coexist => Mode::Coexist,
        },
        recreate_wait: args.recreate_wait,
        namespace: args.namespace.clone(),
        selector: args.selector.clone(),
        workers: args.concurrency,
        burst_replicas: args.burst_replicas as usize,
        status_interval: args.status_interval,
        instance,
        api_rate_limit: (args.kube_api_qps > 0.0).then_some((args.kube_api_qps, args.kube_api_burst)),
    }
}

fn lease_config(args: &RunArgs, identity: String) -> LeaseConfig {
    LeaseConfig {
        namespace: args
            .leader_elect_namespace
            .clone()
            .or_else(|| std::env::var("POD_NAMESPACE").ok())
            .unwrap_or_else(|| "kube-system".into()),
        name: args.leader_elect_lease_name.clone(),
        identity,
        duration: args.leader_elect_lease_duration,
        renew_deadline: args.leader_elect_renew_deadline,
        retry_period: args.leader_elect_retry_period,
    }
}

pub fn run(args: &RunArgs) -> Result<()> {
    let checked = check(args)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let instance = std::env::var("POD_NAME").ok();
        let (client, url) = connect(args, instance.as_deref()).await?;
        let identity = format!(
            "{}_{}",
            instance
                .clone()
                .unwrap_or_else(|| hostname().unwrap_or_else(|| "daemonroll".into())),
            uuid::Uuid::new_v4()
        );
        let (gate, elector) = if checked.leader_elect {
            let gate = WriteGate::default();
            let api = ApiClient::new(client.clone());
            let elector = LeaderElector::new(api, lease_config(args, identity.clone()), gate.clone());
            (gate, Some(elector))
        } else {
            (WriteGate::open(), None)
        };
        tracing::info!(server = %url, namespace = ?args.namespace, selector = ?args.selector,
            leader_elect = checked.leader_elect, identity = %identity, "daemonroll starting");
        let metrics = Arc::new(Metrics::default());
        let controller = Controller::new(client.clone(), options(args, instance), gate, metrics);
        let _admin = match checked.admin {
            Some(address) => {
                let (bound, task) = admin::serve(address, Arc::clone(&controller))
                    .await
                    .with_context(|| format!("cannot listen on --admin-addr {address}"))?;
                tracing::info!(address = %bound, "admin server: /healthz /readyz /metrics");
                Some(task)
            }
            None => None,
        };
        lifecycle::run(controller, &client, elector, termination()).await?;
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
