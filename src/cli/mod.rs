//! Command-line surface. Every policy knob is a flag with an environment variable behind it
//! (flag beats env beats default); values arrive as text and are validated in `config`, so an
//! error can name the setting, the bad value and what is accepted.

pub mod defaults;
pub mod help;
pub mod invoked;
mod parsers;

use clap::{Args, Parser, Subcommand};

pub use crate::choices::{CpuSourceKind, OutputFormat, StatusFormat};
use crate::choices::{CpuTrigger, Forecasting, LogFormat, ScaleTarget, Signal};
pub use parsers::{OneOf, Text};

#[derive(Debug, Parser)]
#[command(
    name = "carbonctl",
    version,
    about = "Carbon-aware autoscaler for Kubernetes: moves excess replicas of a web tier toward the cleanest grid",
    long_about = "Carbon-aware autoscaler for Kubernetes. Each invocation is one tick: observe cluster CPU and each \
region's grid carbon intensity, decide, scale at most one regional Deployment by one replica, record state.\n\n\
Exit codes: 0 acted or held, 1 runtime failure, 2 bad settings or usage."
)]
pub struct Cli {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one tick against the cluster: observe, decide, claim the state, scale at most once.
    Tick(TickArgs),
    /// Show regions, carbon, replicas, CPU, holds, cooldown and the last action (reads only).
    Status(StatusArgs),
    /// Show what ticks at a given CPU would decide, writing nothing (live cluster read-only, else a built-in sample).
    Simulate(SimulateArgs),
    /// Replay the policy over recorded carbon and demand, and account for the grams.
    Backtest(Box<BacktestArgs>),
    /// Print a shell completion script (e.g. `source <(carbonctl completion bash)`).
    Completion(CompletionArgs),
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct TickArgs {
    /// Observe and decide, print the decision, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Fetch stale carbon values for display (never written to the state).
    #[arg(long)]
    pub refresh: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = StatusFormat::Table)]
    pub output: StatusFormat,
    /// Keep showing the status, refreshed in place every --interval, until interrupted.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Time between refreshes with --watch (e.g. 5s, 1m).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10s",
        requires = "watch"
    )]
    pub interval: String,
}

/// How to reach the cluster and the carbon API, and how long to wait for them.
#[derive(Debug, Args)]
#[command(next_help_heading = "Cluster connection")]
pub struct ConnectArgs {
    /// Path to a kubeconfig file [default: $KUBECONFIG, ~/.kube/config, or in-cluster].
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context to use [default: its current context].
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace of the regional Deployments and the state ConfigMap [default: the context's, or the pod's].
    #[arg(short = 'n', long, global = true, value_name = "NAME")]
    pub namespace: Option<String>,
    /// Upper bound on a whole tick, so a hung API server cannot hang the CronJob.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "TICK_TIMEOUT",
        default_value = defaults::TICK_TIMEOUT,
        value_name = "DURATION"
    )]
    pub timeout: String,
    /// ElectricityMaps API base URL (tokens come from <REGION>_TOKEN or CARBON_API_TOKEN;
    /// https trusts the system's CA roots, or those in SSL_CERT_FILE).
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "CARBON_API_URL",
        help_heading = "Carbon API",
        default_value = defaults::CARBON_API_URL,
        value_name = "URL"
    )]
    pub carbon_api_url: String,
    /// UK Carbon Intensity API base URL, for regions written ukci:AREA in REGIONS (no token).
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "UKCI_API_URL",
        help_heading = "Carbon API",
        default_value = defaults::UKCI_API_URL,
        value_name = "URL"
    )]
    pub ukci_api_url: String,
    /// WattTime API base URL, for regions written watttime:REGION in REGIONS (the account comes
    /// from WATTTIME_USERNAME and WATTTIME_PASSWORD in the environment).
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "WATTTIME_API_URL",
        help_heading = "Carbon API",
        default_value = defaults::WATTTIME_API_URL,
        value_name = "URL"
    )]
    pub watttime_api_url: String,
    /// Time allowed for one carbon API call.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "CARBON_API_TIMEOUT",
        help_heading = "Carbon API",
        default_value = defaults::CARBON_API_TIMEOUT,
        value_name = "DURATION"
    )]
    pub carbon_api_timeout: String,
    /// Where CPU comes from: metrics (metrics.k8s.io) or simulated (SIMULATED_CPU, for demos).
    #[arg(
        value_parser = OneOf::<CpuSourceKind>::new(),
        long,
        global = true,
        env = "CPU_SOURCE",
        default_value = defaults::CPU_SOURCE,
        value_name = "SOURCE"
    )]
    pub cpu_source: String,
    /// The CPU percentage every tick observes when CPU_SOURCE=simulated.
    #[arg(value_parser = Text, long, global = true, env = "SIMULATED_CPU", value_name = "PERCENT")]
    pub simulated_cpu: Option<String>,
    /// Node metrics older than this count as missing.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "METRICS_MAX_AGE",
        default_value = defaults::METRICS_MAX_AGE,
        value_name = "DURATION"
    )]
    pub metrics_max_age: String,
    /// Read every node again at least this often; in between, a tick reads NodeMetrics and the
    /// cordoned nodes, and every node only when the nodes NodeMetrics name change.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "NODE_REFRESH",
        default_value = defaults::NODE_REFRESH,
        value_name = "DURATION"
    )]
    pub node_refresh: String,
    /// One cluster per region: each region's kubeconfig context, e.g. denmark=dk-prod,france=fr-prod
    /// [default: one cluster, regions told apart by REGION_LABEL].
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "REGION_CONTEXTS",
        value_name = "REGION=CONTEXT,..."
    )]
    pub region_contexts: Option<String>,
    /// The kubeconfig holding the regions' contexts [default: the one the state's cluster comes from].
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "FLEET_KUBECONFIG",
        value_name = "PATH"
    )]
    pub fleet_kubeconfig: Option<String>,
    /// In a region's own cluster, the nodes that count (a label selector, e.g. pool=web)
    /// [default: every worker node].
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "FLEET_NODE_SELECTOR",
        value_name = "SELECTOR"
    )]
    pub fleet_node_selector: Option<String>,
    /// Prometheus Pushgateway base URL: each tick's metrics are PUT to
    /// <URL>/metrics/job/carbonctl/namespace/<namespace> when it ends [default: off].
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "PUSHGATEWAY_URL",
        help_heading = "Monitoring",
        value_name = "URL"
    )]
    pub pushgateway_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// CPU percentage the simulated ticks observe (the trigger signal: avg or max).
    #[arg(long, value_name = "PERCENT")]
    pub cpu: String,
    /// Carbon intensity per region, overriding the sample, e.g. denmark=120,france=40.
    #[arg(long, value_name = "REGION=GRAMS,...")]
    pub carbon: Option<String>,
    /// Replicas per region, overriding the sample, e.g. latvia=1.
    #[arg(long, value_name = "REGION=N,...")]
    pub replicas: Option<String>,
    /// Consecutive ticks already seen above the up-threshold [default: the state's, or 0].
    #[arg(long, value_name = "N")]
    pub hold_up: Option<String>,
    /// Consecutive ticks already seen below the down-threshold [default: the state's, or 0].
    #[arg(long, value_name = "N")]
    pub hold_down: Option<String>,
    /// Ticks to run at that CPU, one minute apart [default: HOLD_CYCLES, so the action shows].
    #[arg(long, value_name = "N")]
    pub ticks: Option<String>,
    /// Use the built-in sample cluster even when a cluster is configured.
    #[arg(long)]
    pub sample: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Backtest inputs and model settings. Flags only: they describe one experiment, not a
/// deployment, so nothing here should leak in from a CronJob's environment.
#[derive(Debug, Args)]
#[command(next_help_heading = "Backtest")]
pub struct BacktestArgs {
    /// Folder holding one carbon file per region, named after its zone: `ZONE.csv` (e.g. DK-DK1.csv).
    #[arg(long, value_name = "DIR")]
    pub carbon_dir: Option<String>,
    /// Carbon file per region, overriding --carbon-dir, e.g. france=FR_2022_hourly.csv.
    #[arg(long, value_name = "REGION=PATH,...")]
    pub carbon: Option<String>,
    /// Which intensity to read from ElectricityMaps exports: life-cycle or direct (operational).
    #[arg(long, value_parser = OneOf::<Signal>::new(), value_name = "SIGNAL", default_value = "lifecycle")]
    pub signal: String,
    /// When row 0 of a carbon file without timestamps (umassos layout) starts, e.g. 2022-01-01.
    #[arg(long, value_name = "TIME")]
    pub carbon_start: Option<String>,
    /// Demand: a `timestamp,value` CSV, a `workload.txt` (one number per second), `constant:N`
    /// (N replica-equivalents) or `daily` (synthetic: 20% of the peak at 02:00 UTC, 100% at 14:00).
    #[arg(long, value_name = "PATH|constant:N|daily", default_value = "daily")]
    pub demand: String,
    /// When row 0 of a demand trace without timestamps starts [default: the first tick].
    #[arg(long, value_name = "TIME")]
    pub demand_start: Option<String>,
    /// Rescale demand so its busiest tick needs this many replicas at 100% CPU
    /// [default: half the regions' total max replicas].
    #[arg(long, value_name = "REPLICAS", conflicts_with = "replica_capacity")]
    pub demand_peak: Option<String>,
    /// Rescale demand by what one replica serves at 100% CPU, in the trace's units (e.g. req/s).
    #[arg(long, value_name = "RATE")]
    pub replica_capacity: Option<String>,
    /// Replicas per region at the first tick, e.g. france=3 [default: each region's floor].
    #[arg(long, value_name = "REGION=N,...")]
    pub start_replicas: Option<String>,
    /// First tick [default: the first hour every carbon file covers].
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the period, exclusive [default: the end of the shortest carbon file].
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Time between replayed ticks, like the CronJob's schedule.
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    pub interval: String,
    /// With --scale-target hpa-min: the CPU utilisation each region's HPA aims for, in percent
    /// of what a replica serves at 100% [default: 60].
    #[arg(long, value_name = "PERCENT")]
    pub hpa_target_cpu: Option<String>,
    /// With --scale-target hpa-min: no HPA rescale while CPU is within this fraction of the
    /// target [default: 0.1, Kubernetes' default].
    #[arg(long, value_name = "FRACTION")]
    pub hpa_tolerance: Option<String>,
    /// With --scale-target hpa-min: an HPA scales down no lower than its highest recommendation
    /// over this window [default: 5m, Kubernetes' default].
    #[arg(long, value_name = "DURATION")]
    pub hpa_downscale_stabilization: Option<String>,
    /// With --scale-target hpa-min: each region's HPA maxReplicas, N for all or REGION=N,...
    /// [default: the region's max replicas].
    #[arg(long, value_name = "N|REGION=N,...")]
    pub hpa_max_replicas: Option<String>,
    /// With REBALANCE_FORECAST on: how the forecasts shown to the rule are made from the
    /// carbon files [default: perfect].
    #[arg(long, value_parser = OneOf::<Forecasting>::new(), value_name = "MODEL")]
    pub forecast: Option<String>,
    /// Replay once per combination of values for policy settings, e.g. hold-cycles=1,3,5 (repeat
    /// for more settings), and show what each costs and saves, the Pareto-optimal ones marked.
    #[arg(long, value_name = "SETTING=V1,V2,...")]
    pub sweep: Vec<String>,
    /// Also write an SVG chart of replicas and carbon per region over the period.
    #[arg(long, value_name = "PATH")]
    pub chart: Option<String>,
    /// Also write one JSON line per replayed tick: the CPU, replicas and carbon the rule saw,
    /// its decision and the live ledger's grams, as `carbonctl-replay --ticks` records real ticks.
    #[arg(long, value_name = "PATH")]
    pub ticks: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Where the cluster is and how its objects are named.
#[derive(Debug, Args)]
#[command(next_help_heading = "Regions and objects")]
pub struct ClusterArgs {
    /// Regions and their ElectricityMaps zones, or ukci:AREA (UK Carbon Intensity API),
    /// watttime:REGION (WattTime's index), or static:GRAMS or static:PATH for a region whose
    /// carbon intensity comes from no API.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "REGIONS",
        value_name = "REGION=ZONE,...",
        default_value = defaults::REGIONS
    )]
    pub regions: String,
    /// Node label whose value names a node's region.
    #[arg(value_parser = Text, long, global = true, env = "REGION_LABEL", default_value = defaults::REGION_LABEL)]
    pub region_label: String,
    /// Name of each region's Deployment; `{region}` is replaced by the region name.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "DEPLOYMENT_PATTERN",
        default_value = defaults::DEPLOYMENT_PATTERN
    )]
    pub deployment_pattern: String,
    /// What a change moves: each region's replicas, or the floor of its HPA (or KEDA
    /// ScaledObject), living alongside the autoscaler.
    #[arg(
        value_parser = OneOf::<ScaleTarget>::new(),
        long,
        global = true,
        env = "SCALE_TARGET",
        default_value = defaults::SCALE_TARGET,
        value_name = "TARGET"
    )]
    pub scale_target: String,
    /// Name of the ConfigMap that holds carbonctl's state.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "STATE_CONFIGMAP",
        default_value = defaults::STATE_CONFIGMAP
    )]
    pub state_configmap: String,
    /// Power drawn by one replica, turning the ledger's replica-time into energy and grams
    /// (default: one vCPU at 50% load with Cloud Carbon Footprint's AWS coefficients and PUE).
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "WATTS_PER_REPLICA",
        default_value = defaults::WATTS_PER_REPLICA,
        value_name = "WATTS"
    )]
    pub watts_per_replica: String,
    /// Log format: one JSON object per line, or a friendly console view.
    #[arg(
        value_parser = OneOf::<LogFormat>::new(),
        long,
        global = true,
        env = "LOG_FORMAT",
        help_heading = "Logging",
        default_value = defaults::LOG_FORMAT,
        value_name = "FORMAT"
    )]
    pub log_format: String,
}

/// The scaling rule's parameters.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Policy")]
pub struct PolicyArgs {
    /// CPU percentage above which a tick counts toward scaling up.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "SCALE_UP_THRESHOLD",
        default_value = defaults::SCALE_UP_THRESHOLD,
        value_name = "PERCENT"
    )]
    pub scale_up_threshold: String,
    /// CPU percentage below which a tick counts toward scaling down.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "SCALE_DOWN_THRESHOLD",
        default_value = defaults::SCALE_DOWN_THRESHOLD,
        value_name = "PERCENT"
    )]
    pub scale_down_threshold: String,
    /// Consecutive breaching ticks needed before acting.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "HOLD_CYCLES",
        default_value = defaults::HOLD_CYCLES,
        value_name = "N"
    )]
    pub hold_cycles: String,
    /// Quiet time after a scale before the next CPU-driven scale (e.g. 90s, 3m, 1h).
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "COOLDOWN",
        default_value = defaults::COOLDOWN,
        value_name = "DURATION"
    )]
    pub cooldown: String,
    /// Replica floor of every region's Deployment.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "MIN_REPLICAS",
        default_value = defaults::MIN_REPLICAS,
        value_name = "N"
    )]
    pub min_replicas: String,
    /// Replica ceiling of every region's Deployment.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "MAX_REPLICAS",
        default_value = defaults::MAX_REPLICAS,
        value_name = "N"
    )]
    pub max_replicas: String,
    /// Per-region floors overriding MIN_REPLICAS, e.g. france=2.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "REGION_MIN_REPLICAS",
        value_name = "REGION=N,..."
    )]
    pub region_min_replicas: Option<String>,
    /// Per-region ceilings overriding MAX_REPLICAS, e.g. latvia=3.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "REGION_MAX_REPLICAS",
        value_name = "REGION=N,..."
    )]
    pub region_max_replicas: Option<String>,
    /// Trigger signal: average CPU over the ready region nodes, or the busiest node's CPU.
    #[arg(
        value_parser = OneOf::<CpuTrigger>::new(),
        long,
        global = true,
        env = "CPU_TRIGGER",
        default_value = defaults::CPU_TRIGGER,
        value_name = "TRIGGER"
    )]
    pub cpu_trigger: String,
    /// How long a fetched carbon value is reused before it is fetched again.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "CARBON_CACHE_TTL",
        default_value = defaults::CARBON_CACHE_TTL,
        value_name = "DURATION"
    )]
    pub carbon_cache_ttl: String,
    /// Move a replica from the dirtiest to the cleanest region (make-before-break) when CPU is
    /// inside the band and they differ by more than this many gCO2eq/kWh; off disables.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "REBALANCE_MARGIN",
        default_value = defaults::REBALANCE_MARGIN,
        value_name = "GRAMS|off"
    )]
    pub rebalance_margin: String,
    /// A rebalancing move whose new replica is not ready by then is reverted.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "REBALANCE_READY_TIMEOUT",
        default_value = defaults::REBALANCE_READY_TIMEOUT,
        value_name = "DURATION"
    )]
    pub rebalance_ready_timeout: String,
    /// Judge a rebalancing move also on each region's mean forecast over this horizon (2h to
    /// 72h), where its provider gives one; off judges on the latest values alone.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "REBALANCE_FORECAST",
        default_value = defaults::REBALANCE_FORECAST,
        value_name = "DURATION|off"
    )]
    pub rebalance_forecast: String,
    /// How long a cached carbon value may stand in when fetching fails; older ranks as unknown.
    #[arg(
        value_parser = Text,
        long,
        global = true,
        env = "CARBON_MAX_STALENESS",
        default_value = defaults::CARBON_MAX_STALENESS,
        value_name = "DURATION"
    )]
    pub carbon_max_staleness: String,
}

/// The flag that sets the setting whose environment variable is `env` (`TICK_TIMEOUT` ->
/// `--timeout`), read from the command line's own definition.
pub fn flag_for_env(env: &str) -> Option<String> {
    use clap::CommandFactory;
    Cli::command()
        .get_arguments()
        .find(|a| a.get_env().is_some_and(|e| e == env))
        .and_then(|a| a.get_long())
        .map(|long| format!("--{long}"))
}

impl Default for ClusterArgs {
    fn default() -> Self {
        ClusterArgs {
            regions: defaults::REGIONS.into(),
            region_label: defaults::REGION_LABEL.into(),
            deployment_pattern: defaults::DEPLOYMENT_PATTERN.into(),
            scale_target: defaults::SCALE_TARGET.into(),
            state_configmap: defaults::STATE_CONFIGMAP.into(),
            watts_per_replica: defaults::WATTS_PER_REPLICA.into(),
            log_format: defaults::LOG_FORMAT.into(),
        }
    }
}

impl Default for PolicyArgs {
    fn default() -> Self {
        PolicyArgs {
            scale_up_threshold: defaults::SCALE_UP_THRESHOLD.into(),
            scale_down_threshold: defaults::SCALE_DOWN_THRESHOLD.into(),
            hold_cycles: defaults::HOLD_CYCLES.into(),
            cooldown: defaults::COOLDOWN.into(),
            min_replicas: defaults::MIN_REPLICAS.into(),
            max_replicas: defaults::MAX_REPLICAS.into(),
            region_min_replicas: None,
            region_max_replicas: None,
            cpu_trigger: defaults::CPU_TRIGGER.into(),
            carbon_cache_ttl: defaults::CARBON_CACHE_TTL.into(),
            rebalance_margin: defaults::REBALANCE_MARGIN.into(),
            rebalance_ready_timeout: defaults::REBALANCE_READY_TIMEOUT.into(),
            rebalance_forecast: defaults::REBALANCE_FORECAST.into(),
            carbon_max_staleness: defaults::CARBON_MAX_STALENESS.into(),
        }
    }
}
