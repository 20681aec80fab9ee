//! Client configuration resolved as kubectl does: --kubeconfig, --context, KUBECONFIG, then in-cluster (I/O).

use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// Where to find the cluster; both empty means kubectl's defaults.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// `--kubeconfig` names a file that cannot be read or parsed.
    #[error("cannot read the kubeconfig {path} given with --kubeconfig")]
    Kubeconfig {
        path: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// The kubeconfig does not hold the requested or current context, or it is incomplete.
    #[error("cannot use {what} from the kubeconfig (check --context and the file's contexts)")]
    Context {
        what: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// Neither KUBECONFIG, ~/.kube/config nor an in-cluster service account is usable.
    #[error("no cluster configuration found: pass --kubeconfig, set KUBECONFIG, or run inside a cluster")]
    Infer(#[source] kube::config::InferConfigError),
    /// The configuration could not be turned into an HTTP client (TLS material, proxy).
    #[error("cannot build an API client from the configuration")]
    Build(#[source] kube::Error),
}

/// The cluster configuration the options point at, resolved once at start.
pub async fn config(options: &ClientOptions) -> Result<kube::Config, ClientError> {
    let context = KubeConfigOptions {
        context: options.context.clone(),
        ..KubeConfigOptions::default()
    };
    match &options.kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path).map_err(|source| ClientError::Kubeconfig {
                path: path.display().to_string(),
                source,
            })?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &context)
                .await
                .map_err(|source| ClientError::Context {
                    what: options
                        .context
                        .as_deref()
                        .map_or("the current context".into(), |c| format!("context {c:?}")),
                    source,
                })
        }
        None if options.context.is_some() => {
            kube::Config::from_kubeconfig(&context)
                .await
                .map_err(|source| ClientError::Context {
                    what: format!("context {:?}", options.context.as_deref().unwrap_or_default()),
                    source,
                })
        }
        None => kube::Config::infer().await.map_err(ClientError::Infer),
    }
}

pub async fn client(options: &ClientOptions) -> Result<(kube::Client, String), ClientError> {
    client_for_instance(options, None).await
}

/// As `client`, for one replica: its User-Agent names the instance (audit logs tell replicas apart).
pub async fn client_for_instance(
    options: &ClientOptions,
    instance: Option<&str>,
) -> Result<(kube::Client, String), ClientError> {
    let config = config(options).await?;
    let url = config.cluster_url.to_string();
    Ok((client_with_agent(config, instance)?, url))
}

/// A client that names itself `daemonroll/<version>` (audit logs and the simulator's timeline show it).
pub fn client_from_config(config: kube::Config) -> Result<kube::Client, ClientError> {
    client_with_agent(config, None)
}

fn client_with_agent(mut config: kube::Config, instance: Option<&str>) -> Result<kube::Client, ClientError> {
    const PLAIN: &str = concat!("daemonroll/", env!("CARGO_PKG_VERSION"));
    let agent = match instance {
        Some(instance) => format!("{PLAIN} (instance {instance})"),
        None => PLAIN.to_string(),
    };
    // A header value must be visible ASCII; an odd pod name falls back to the plain agent.
    let value = http::HeaderValue::from_str(&agent).unwrap_or_else(|_| http::HeaderValue::from_static(PLAIN));
    config.headers.push((http::header::USER_AGENT, value));
    kube::Client::try_from(config).map_err(ClientError::Build)
}
