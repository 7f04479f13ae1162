//! Building the kube client the way kubectl users expect: `--kubeconfig`/`--context` when given,
//! else `$KUBECONFIG` (a list of files), `~/.kube/config`, then the in-cluster service account.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::config::Connect;
use crate::error::Error;

pub(super) const HINT: &str =
    "point carbonctl at a cluster with --kubeconfig PATH (or $KUBECONFIG), \
or run it in-cluster with a service account; `kubectl cluster-info` shows what kubectl would use";

/// The kubeconfig kubectl would use, and where it came from: `--kubeconfig`, else the files
/// `$KUBECONFIG` lists that exist (merged, the first to set a value wins; missing ones skipped,
/// as kubectl does), else `~/.kube/config`; None when there is none (in-cluster).
pub(super) fn kubeconfig(connect: &Connect) -> Result<Option<(Kubeconfig, String)>, Error> {
    let read = |path: &Path| {
        Kubeconfig::read_from(path).map_err(|e| Error::NoCluster {
            tried: format!("reading kubeconfig {}: {e}", path.display()),
            hint: HINT.into(),
        })
    };
    if let Some(path) = &connect.kubeconfig {
        return Ok(Some((
            read(path)?,
            format!("kubeconfig {}", path.display()),
        )));
    }
    let listed = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty());
    if let Some(list) = listed {
        let paths: Vec<PathBuf> = std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        let mut merged: Option<Kubeconfig> = None;
        for path in paths.iter().filter(|p| p.exists()) {
            let next = read(path)?;
            merged = Some(match merged {
                None => next,
                Some(first) => first.merge(next).map_err(|e| Error::NoCluster {
                    tried: format!("merging kubeconfig {}: {e}", path.display()),
                    hint: HINT.into(),
                })?,
            });
        }
        let Some(merged) = merged else {
            let listed: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            return Err(Error::NoCluster {
                tried: format!(
                    "$KUBECONFIG lists no file that exists ({})",
                    listed.join(":")
                ),
                hint: HINT.into(),
            });
        };
        return Ok(Some((merged, "the kubeconfig from $KUBECONFIG".into())));
    }
    let home = std::env::var_os("HOME").map(|h| Path::new(&h).join(".kube").join("config"));
    match home.filter(|p| p.exists()) {
        Some(path) => Ok(Some((read(&path)?, "the kubeconfig ~/.kube/config".into()))),
        None => Ok(None),
    }
}

/// A connected client and the namespace carbonctl works in.
pub struct Cluster {
    pub client: Client,
    pub namespace: String,
    /// How long one API call may take, from sending it to its whole answer.
    per_call: Duration,
    /// The API server's URL, named when it cannot be reached.
    server: String,
}

/// An API call that did not finish in time.
#[derive(Debug)]
struct CallTimedOut(Duration);

impl std::fmt::Display for CallTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "timed out: no answer within {:.1}s",
            self.0.as_secs_f64()
        )
    }
}

impl std::error::Error for CallTimedOut {}

/// A call that got no answer from the API server (refused, reset, timed out, unreadable): the
/// transport's text alone does not say which server was tried.
#[derive(Debug)]
struct NoAnswer {
    server: String,
    what: String,
}

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no answer from {}: {}", self.server, self.what)
    }
}

impl std::error::Error for NoAnswer {}

/// The server's URL as messages name it: without user and password, should the kubeconfig's
/// `server:` carry them.
fn shown_server(url: &http::Uri) -> String {
    let host = url
        .authority()
        .map_or("", |a| a.as_str().rsplit('@').next().unwrap_or_default());
    format!(
        "{}://{host}{}",
        url.scheme_str().unwrap_or("https"),
        url.path()
    )
}

/// A plain-HTTP server (`kubectl proxy`, an emulator) is never spoken TLS to: an empty set of
/// roots spares the client loading the whole system trust store, which costs more than a
/// tick's own requests and is paid once per cluster in a fleet. HTTPS is left as configured.
fn skip_trust_store_for_plain_http(config: &mut Config) {
    if config.cluster_url.scheme_str() == Some("http") && config.root_cert.is_none() {
        config.root_cert = Some(Vec::new());
    }
}

impl Cluster {
    pub async fn connect(connect: &Connect) -> Result<Cluster, Error> {
        let options = KubeConfigOptions {
            context: connect.context.clone(),
            ..KubeConfigOptions::default()
        };
        let config = match kubeconfig(connect)? {
            Some((kubeconfig, source)) => Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| Error::NoCluster {
                    tried: match &connect.context {
                        Some(context) => format!("context {context:?} of {source}: {e}"),
                        None => format!("{source}: {e}"),
                    },
                    hint: HINT.into(),
                })?,
            None => Config::incluster().map_err(|_| Error::NoCluster {
                tried:
                    "no --kubeconfig, no $KUBECONFIG, no ~/.kube/config, and not running in a pod"
                        .into(),
                hint: HINT.into(),
            })?,
        };
        Self::from_config(config, connect)
    }

    /// A region's own cluster, through `context` of `kubeconfig` (a fleet member). The
    /// namespace is `-n` when given, else the context's.
    pub async fn connect_context(
        kubeconfig: Kubeconfig,
        context: &str,
        connect: &Connect,
    ) -> Result<Cluster, Error> {
        let options = KubeConfigOptions {
            context: Some(context.to_string()),
            ..KubeConfigOptions::default()
        };
        let config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| Error::NoCluster {
                tried: format!("context {context:?}: {e}"),
                hint: HINT.into(),
            })?;
        Self::from_config(config, connect)
    }

    fn from_config(mut config: Config, connect: &Connect) -> Result<Cluster, Error> {
        // A quarter of the tick's bound per call leaves time to record a failed write in the
        // state before the whole tick is cut off. Each call is bounded as a whole (`call`):
        // the client's own read timeout would also count the time a pooled connection sat
        // idle, and cut off a call sent after a slow carbon fetch almost at once.
        let per_call =
            Duration::from_millis((connect.tick_timeout_secs as u64 * 250).clamp(500, 10_000));
        config.connect_timeout = Some(per_call.min(Duration::from_secs(5)));
        config.read_timeout = None;
        config.write_timeout = None;
        // The CronJob is the retry loop: a failed call ends this tick and the next one starts
        // clean, which keeps request counts predictable for the API server.
        config.default_retry = false;
        skip_trust_store_for_plain_http(&mut config);
        let server = shown_server(&config.cluster_url);
        let namespace = connect
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let client = Client::try_from(config).map_err(|e| Error::NoCluster {
            tried: format!("building a client: {e}"),
            hint: HINT.into(),
        })?;
        Ok(Cluster {
            client,
            namespace,
            per_call,
            server,
        })
    }

    /// One API call, bounded as a whole by the per-call time. An answer from the server (an
    /// HTTP status) passes as it is; anything else names the server that did not answer.
    pub(super) async fn call<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, kube::Error> {
        let what = match tokio::time::timeout(self.per_call, call).await {
            Ok(Err(kube::Error::Api(status))) => return Err(kube::Error::Api(status)),
            // Credentials that could not be had (an exec plugin, a token file) are not the
            // server's silence.
            Ok(Err(e @ kube::Error::Auth(_))) => return Err(e),
            Ok(Err(e)) => crate::error::describe(&e),
            Ok(answer) => return answer,
            Err(_) => CallTimedOut(self.per_call).to_string(),
        };
        Err(kube::Error::Service(Box::new(NoAnswer {
            server: self.server.clone(),
            what,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str, root_cert: Option<Vec<Vec<u8>>>) -> Config {
        let mut config = Config::new(url.parse().unwrap());
        config.root_cert = root_cert;
        config
    }

    #[test]
    fn a_server_is_named_without_its_credentials() {
        for (url, shown) in [
            ("https://api.example:6443", "https://api.example:6443/"),
            (
                "http://127.0.0.1:8001/prefix",
                "http://127.0.0.1:8001/prefix",
            ),
            (
                "https://admin:s3cret@api.example:6443/",
                "https://api.example:6443/",
            ),
        ] {
            assert_eq!(shown_server(&url.parse().unwrap()), shown, "{url}");
        }
    }

    #[test]
    fn only_a_plain_http_server_without_roots_skips_the_trust_store() {
        let ca = Some(vec![b"ca".to_vec()]);
        for (url, given, expected) in [
            ("http://127.0.0.1:8001", None, Some(vec![])),
            ("http://127.0.0.1:8001", ca.clone(), ca.clone()),
            ("https://api.example:6443", None, None),
            ("https://api.example:6443", ca.clone(), ca.clone()),
        ] {
            let mut config = config(url, given);
            skip_trust_store_for_plain_http(&mut config);
            assert_eq!(config.root_cert, expected, "{url}");
        }
    }
}
