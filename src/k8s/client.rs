//! Building the kube client the way kubectl users expect: `--kubeconfig`/`--context` when given,
//! else `$KUBECONFIG`, `~/.kube/config`, then the in-cluster service account.

use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::config::Connect;
use crate::error::Error;

const HINT: &str = "point carbonctl at a cluster with --kubeconfig PATH (or $KUBECONFIG), \
or run it in-cluster with a service account; `kubectl cluster-info` shows what kubectl would use";

/// Whether `$KUBECONFIG` or `~/.kube/config` names something to load.
fn kubeconfig_present() -> bool {
    let from_env = std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty());
    let home = std::env::var_os("HOME")
        .map(|h| std::path::Path::new(&h).join(".kube").join("config"))
        .is_some_and(|p| p.exists());
    from_env || home
}

/// A connected client and the namespace carbonctl works in.
pub struct Cluster {
    pub client: Client,
    pub namespace: String,
}

impl Cluster {
    pub async fn connect(connect: &Connect) -> Result<Cluster, Error> {
        let options = KubeConfigOptions {
            context: connect.context.clone(),
            ..KubeConfigOptions::default()
        };
        let config = match (&connect.kubeconfig, &connect.context) {
            (Some(path), _) => {
                let kubeconfig = Kubeconfig::read_from(path).map_err(|e| Error::NoCluster {
                    tried: format!("reading kubeconfig {}: {e}", path.display()),
                    hint: HINT.into(),
                })?;
                Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|e| Error::NoCluster {
                        tried: format!("kubeconfig {}: {e}", path.display()),
                        hint: HINT.into(),
                    })?
            }
            (None, Some(context)) => {
                Config::from_kubeconfig(&options)
                    .await
                    .map_err(|e| Error::NoCluster {
                        tried: format!("context {context:?} of $KUBECONFIG or ~/.kube/config: {e}"),
                        hint: HINT.into(),
                    })?
            }
            // The same order as kubectl, but a kubeconfig that exists and fails to load is
            // reported as such, not as "no cluster".
            (None, None) if kubeconfig_present() => Config::from_kubeconfig(&options)
                .await
                .map_err(|e| Error::NoCluster {
                    tried: format!("the kubeconfig from $KUBECONFIG or ~/.kube/config: {e}"),
                    hint: HINT.into(),
                })?,
            (None, None) => Config::incluster().map_err(|_| Error::NoCluster {
                tried:
                    "no --kubeconfig, no $KUBECONFIG, no ~/.kube/config, and not running in a pod"
                        .into(),
                hint: HINT.into(),
            })?,
        };
        Self::from_config(config, connect)
    }

    fn from_config(mut config: Config, connect: &Connect) -> Result<Cluster, Error> {
        // A quarter of the tick's bound per call leaves time to record a failed write in the
        // state before the whole tick is cut off.
        let per_call =
            Duration::from_millis((connect.tick_timeout_secs as u64 * 250).clamp(500, 10_000));
        config.connect_timeout = Some(per_call.min(Duration::from_secs(5)));
        config.read_timeout = Some(per_call);
        config.write_timeout = Some(per_call);
        // The CronJob is the retry loop: a failed call ends this tick and the next one starts
        // clean, which keeps request counts predictable for the API server.
        config.default_retry = false;
        let namespace = connect
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let client = Client::try_from(config).map_err(|e| Error::NoCluster {
            tried: format!("building a client: {e}"),
            hint: HINT.into(),
        })?;
        Ok(Cluster { client, namespace })
    }
}
