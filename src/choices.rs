//! The closed sets of values settings and flags take, as clap `ValueEnum`s: `--help` lists
//! them, `config` parses them and names the accepted values when a value is not one of them.
//! They depend on nothing else in the crate, so every layer can use them.

use clap::ValueEnum;
use serde::Serialize;

/// Which CPU figure the thresholds are compared with (`CPU_TRIGGER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CpuTrigger {
    /// Average over the ready region nodes: the default rule.
    #[value(
        name = "avg",
        alias = "average",
        help = "average over ready region nodes"
    )]
    Average,
    /// The busiest ready region node: reacts before one hot region saturates.
    #[value(help = "busiest node")]
    Max,
}

/// Which ElectricityMaps intensity the grams rest on (GUIDE: every gram says its signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Signal {
    /// Life-cycle (LCA) factors: what ElectricityMaps shows by default.
    #[value(alias = "lca", help = "life-cycle/LCA intensity")]
    Lifecycle,
    /// Operational (direct) emissions only.
    #[value(help = "operational")]
    Direct,
}

impl Signal {
    pub fn label(self) -> &'static str {
        match self {
            Signal::Lifecycle => "lifecycle",
            Signal::Direct => "direct",
        }
    }
}

/// How log lines look (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    // One JSON object per line, for log pipelines.
    Json,
    // Icons, flags and colours, for people.
    Console,
}

/// Where a tick's CPU figure comes from (`CPU_SOURCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CpuSourceKind {
    /// NodeMetrics from metrics-server.
    #[value(help = "metrics.k8s.io")]
    Metrics,
    /// A fixed percentage, for demos and clusters without metrics-server.
    #[value(help = "with SIMULATED_CPU")]
    Simulated,
}

/// What carbonctl changes in a region (`SCALE_TARGET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScaleTarget {
    /// The Deployment's replicas, through the scale subresource; a Deployment an HPA manages
    /// is left alone.
    #[value(help = "the Deployment's replicas")]
    Replicas,
    /// The floor of the region's HPA (`spec.minReplicas`), or of its KEDA ScaledObject
    /// (`spec.minReplicaCount`): the autoscaler keeps scaling above it on local load.
    #[value(
        name = "hpa-min",
        help = "the floor of the region's HPA or KEDA ScaledObject"
    )]
    HpaMin,
}

/// What a command prints (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Yaml,
}

/// What `status` prints (`-o`): `wide` is the table with more columns, as in kubectl.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Table,
    #[value(
        help = "the table with the Deployment, the carbon data's hour and signal, and why a region cannot grow"
    )]
    Wide,
    Json,
    Yaml,
}

/// How the replay's forecasts are made (`backtest --forecast`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Forecasting {
    /// The trace's own mean over the horizon: the most any forecast could give.
    #[value(help = "the trace's own future: perfect foresight")]
    Perfect,
    /// Each hour ahead off by +5% and a uniform error of up to 20% either way.
    #[value(help = "each hour +5% biased and up to 20% off either way")]
    Degraded,
}
