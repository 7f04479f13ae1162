//! One error type for the commands, with a stable short label per kind (for the JSON log) and a
//! message that says what to do. `anyhow` is only used at the binary's edge.

use std::fmt;

use crate::config::ConfigError;
use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),

    #[error("no cluster reachable: {tried}; {hint}")]
    NoCluster { tried: String, hint: String },

    #[error("state ConfigMap {namespace}/{name} not found; create it with `kubectl apply -n {namespace} -f state-configmap.yaml`")]
    StateMissing { namespace: String, name: String },

    #[error("state ConfigMap {namespace}/{name} is damaged at {source}; fix that key with `kubectl edit configmap {name} -n {namespace}`, or reset the state with `kubectl replace -n {namespace} -f state-configmap.yaml` (this forgets hold counters, last actions, cached carbon and the ledger); carbonctl did not change it")]
    StateDamaged {
        namespace: String,
        name: String,
        source: StateError,
    },

    #[error("the next state of ConfigMap {namespace}/{name} was not written: {source}; nothing was changed (please report this)")]
    StateUnwritable {
        namespace: String,
        name: String,
        source: StateError,
    },

    #[error("none of the regional Deployments exists in namespace {namespace} (looked for {names}); check DEPLOYMENT_PATTERN (--deployment-pattern) and the namespace (-n/--namespace)")]
    NoDeployments { namespace: String, names: String },

    #[error("no region's cluster answered ({regions}); check the contexts in REGION_CONTEXTS with `kubectl --context NAME get nodes`")]
    FleetSilent { regions: String },

    #[error("{what}: {}", describe(source))]
    Kube {
        what: String,
        #[source]
        source: kube::Error,
    },

    #[error("scaling {target} {from}->{to} failed: {}; {}", describe(source), if *unknown {
        "it may still have been applied: the next tick checks which and never repeats it"
    } else {
        "the state records the failure and the next tick decides afresh"
    })]
    ScaleFailed {
        /// The Deployment, or the autoscaler floor ("HPA web (minReplicas)").
        target: String,
        from: i32,
        to: i32,
        /// The write may have been applied (no readable answer, or a server-side error).
        unknown: bool,
        #[source]
        source: kube::Error,
    },

    /// A backtest input file with a line that cannot be used; names the file and line.
    #[error(transparent)]
    Data(#[from] DataError),

    #[error("cannot write the output: {0}")]
    Output(std::io::Error),

    #[error("the tick did not finish within {limit} (TICK_TIMEOUT); the API server may be slow or unreachable")]
    Timeout { limit: String },
}

impl Error {
    pub fn label(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::NoCluster { .. } => "no_cluster",
            Error::StateMissing { .. } => "state_missing",
            Error::StateDamaged { .. } => "state_damaged",
            Error::StateUnwritable { .. } => "state_unwritable",
            Error::NoDeployments { .. } => "no_deployments",
            Error::FleetSilent { .. } => "fleet_silent",
            Error::Kube { .. } => "kube_api",
            Error::ScaleFailed { .. } => "scale_failed",
            Error::Timeout { .. } => "timeout",
            Error::Output(_) => "output",
            Error::Data(_) => "data_file",
        }
    }

    pub fn kube(what: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
        let what = what.into();
        move |source| Error::Kube { what, source }
    }
}

/// A Kubernetes API error as people read it: the answer's code, reason and message for an API
/// error (kube's own text for it is a debug dump), else the error and its causes.
pub fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() {
                String::new()
            } else {
                format!(" {}", status.reason)
            };
            format!("HTTP {}{reason}: {}", status.code, status.message)
        }
        // kube's "ServiceError" prefix says nothing to a reader; what it wraps does.
        kube::Error::Service(inner) => chain(inner.as_ref()),
        other => chain(other),
    }
}

/// An error and its causes on one line, without repeats: kube wraps transport errors in
/// layers whose outer text alone ("client error (SendRequest)") does not say what happened.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

/// A line of an input file that cannot be used; shown like a compiler error (`file:line: ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    pub file: String,
    /// 1-based; 0 when the problem is the file as a whole.
    pub line: usize,
    pub problem: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.problem)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.problem)
        }
    }
}

impl std::error::Error for DataError {}

pub fn data_error(file: &str, line: usize, problem: impl Into<String>) -> DataError {
    DataError {
        file: file.to_string(),
        line,
        problem: problem.into(),
    }
}
