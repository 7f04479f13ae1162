//! Typed, validated settings. Every error names the setting (env name and flag), the bad value
//! and what is accepted, and maps to exit code 2.

use std::collections::BTreeMap;
use std::fmt;

use clap::ValueEnum;

use crate::carbon::source::{self, Provider, StaticSource, UkciArea};
use crate::choices::ScaleTarget;
use crate::cli::{defaults, ClusterArgs, ConnectArgs, CpuSourceKind, PolicyArgs};
use crate::duration::parse_secs;
pub use crate::logging::LogFormat;
use crate::policy::{Bounds, CarbonUnit, CpuTrigger, Policy};

/// A setting that cannot be used as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// How the user names it: `ENV_NAME (--flag)`, or just `--flag` for flag-only options.
    pub setting: String,
    pub value: String,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid setting {} = {:?}: {}",
            self.setting, self.value, self.problem
        )
    }
}

impl std::error::Error for ConfigError {}

/// An error in a setting: an environment variable (shown with the flag that sets it too) or a
/// flag-only option (`--cpu`).
pub fn bad(setting: &str, value: &str, problem: impl Into<String>) -> ConfigError {
    let flag = match crate::cli::flag_for_env(setting) {
        Some(flag) => format!(" ({flag})"),
        None => String::new(),
    };
    ConfigError {
        setting: format!("{setting}{flag}"),
        value: value.to_string(),
        problem: problem.into(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub name: String,
    /// Where this region's carbon intensity comes from: the ElectricityMaps zone whose grid
    /// powers its nodes (`DK`), a UK Carbon Intensity area (`ukci:13`), or `static:` and a
    /// constant or a file's path. The cache, the metrics and `status` key on this text, so
    /// changing it starts the region's cache afresh. Only `parse_regions` makes one, so the
    /// text is always one `provider` can read.
    pub zone: String,
}

impl Region {
    pub fn provider(&self) -> Provider<'_> {
        if let Some(spec) = self.zone.strip_prefix(source::STATIC_PREFIX) {
            return Provider::Static(
                StaticSource::parse(spec).expect("REGIONS parsing checked the static source"),
            );
        }
        if let Some(spec) = self.zone.strip_prefix(source::UKCI_PREFIX) {
            return Provider::Ukci(
                UkciArea::parse(spec).expect("REGIONS parsing checked the UK area"),
            );
        }
        if let Some(spec) = self.zone.strip_prefix(source::WATTTIME_PREFIX) {
            return Provider::WattTime(spec);
        }
        Provider::ElectricityMaps
    }
}

/// Where a tick's CPU figure comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CpuSource {
    Metrics,
    /// A fixed percentage, chosen explicitly (demos, clusters without metrics-server).
    Simulated(f64),
}

/// An API token: never shown by `Debug`, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(pub String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// WattTime's account, from WATTTIME_USERNAME and WATTTIME_PASSWORD (environment only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WattTimeLogin {
    pub username: String,
    pub password: Token,
}

/// How to reach the cluster and the carbon API.
#[derive(Debug, Clone)]
pub struct Connect {
    pub kubeconfig: Option<std::path::PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub tick_timeout_secs: i64,
    pub carbon_api_url: String,
    /// The UK Carbon Intensity API's base URL, without a trailing slash.
    pub ukci_api_url: String,
    pub carbon_api_timeout_secs: i64,
    /// By region name; from `<REGION>_TOKEN`, else `CARBON_API_TOKEN`.
    pub tokens: BTreeMap<String, Token>,
    /// WattTime's base URL, without a trailing slash, and its account when both are set.
    pub watttime_api_url: String,
    pub watttime: Option<WattTimeLogin>,
    pub cpu_source: CpuSource,
    pub metrics_max_age_secs: i64,
    /// How long a node snapshot may stand for the nodes (see `node_snapshot`).
    pub node_refresh_secs: i64,
    /// One cluster per region, when REGION_CONTEXTS is set.
    pub fleet: Option<Fleet>,
    /// Where each tick pushes its metrics, without a trailing slash; None: not pushed.
    pub pushgateway_url: Option<String>,
}

/// Where each region's own cluster is: a kubeconfig context per region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    /// By region; every configured region has one, each a different context.
    pub contexts: BTreeMap<String, String>,
    /// The kubeconfig with those contexts; None: the one the state's cluster comes from.
    pub kubeconfig: Option<std::path::PathBuf>,
    /// A label selector narrowing the nodes that count in a region's cluster.
    pub node_selector: Option<String>,
}

/// An http(s) base URL without its trailing slash.
fn base_url(setting: &str, text: &str, example: &str) -> Result<String, ConfigError> {
    let url = text.trim().trim_end_matches('/');
    let parsed = url
        .parse::<http::Uri>()
        .ok()
        .filter(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.authority().is_some());
    match parsed {
        Some(_) => Ok(url.to_string()),
        None => Err(bad(
            setting,
            text,
            format!("not an http(s) URL; use e.g. {example}"),
        )),
    }
}

/// The env variable holding a region's ElectricityMaps token: `DENMARK_TOKEN` for denmark.
pub fn token_env_name(region: &str) -> String {
    format!("{}_TOKEN", region.to_uppercase().replace('-', "_"))
}

#[cfg(test)]
impl Connect {
    /// The emulator `emu` as unit tests reach it: its kubeconfig in a file of its own, its
    /// ElectricityMaps API, no tokens, default bounds on time.
    pub fn for_emulator(emu: &kube_emulator::Emulator) -> Connect {
        let kubeconfig = std::env::temp_dir().join(format!(
            "carbonctl-unit-{}-{}.kubeconfig",
            std::process::id(),
            emu.port()
        ));
        emu.write_kubeconfig(&kubeconfig).unwrap();
        Connect {
            kubeconfig: Some(kubeconfig),
            context: None,
            namespace: None,
            tick_timeout_secs: 10,
            carbon_api_url: emu.carbon_base_url(),
            ukci_api_url: emu.ukci_base_url(),
            carbon_api_timeout_secs: 2,
            tokens: BTreeMap::new(),
            watttime_api_url: emu.watttime_base_url(),
            watttime: None,
            cpu_source: CpuSource::Metrics,
            metrics_max_age_secs: 180,
            node_refresh_secs: 600,
            fleet: None,
            pushgateway_url: None,
        }
    }
}

impl Connect {
    /// `env` is the process environment in production and a fixed map in tests.
    pub fn from_args(
        args: &ConnectArgs,
        regions: &[Region],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Connect, ConfigError> {
        let shared = env("CARBON_API_TOKEN").filter(|t| !t.trim().is_empty());
        let tokens = regions
            .iter()
            .filter_map(|r| {
                env(&token_env_name(&r.name))
                    .filter(|t| !t.trim().is_empty())
                    .or_else(|| shared.clone())
                    .map(|t| (r.name.clone(), Token(t.trim().to_string())))
            })
            .collect();
        let url = base_url(
            "CARBON_API_URL",
            &args.carbon_api_url,
            defaults::CARBON_API_URL,
        )?;
        let ukci_api_url = base_url("UKCI_API_URL", &args.ukci_api_url, defaults::UKCI_API_URL)?;
        let watttime_api_url = base_url(
            "WATTTIME_API_URL",
            &args.watttime_api_url,
            defaults::WATTTIME_API_URL,
        )?;
        let secret = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let watttime = match (secret("WATTTIME_USERNAME"), secret("WATTTIME_PASSWORD")) {
            (Some(username), Some(password)) => Some(WattTimeLogin {
                username: username.trim().to_string(),
                password: Token(password),
            }),
            _ => None,
        };
        let cpu_source =
            match (choice("CPU_SOURCE", &args.cpu_source)?, &args.simulated_cpu) {
                (CpuSourceKind::Metrics, _) => CpuSource::Metrics,
                (CpuSourceKind::Simulated, Some(v)) => {
                    CpuSource::Simulated(percent("SIMULATED_CPU", v)?)
                }
                (CpuSourceKind::Simulated, None) => return Err(bad(
                    "CPU_SOURCE",
                    &args.cpu_source,
                    "simulated needs SIMULATED_CPU (--simulated-cpu), a percentage from 0 to 100",
                )),
            };
        let tick_timeout_secs = duration("TICK_TIMEOUT", &args.timeout)?;
        if tick_timeout_secs < 2 {
            return Err(bad(
                "TICK_TIMEOUT",
                &args.timeout,
                "must be at least 2s: the carbon API call inside a tick takes at least 1s of it (CARBON_API_TIMEOUT)",
            ));
        }
        let carbon_api_timeout_secs = duration("CARBON_API_TIMEOUT", &args.carbon_api_timeout)?;
        if carbon_api_timeout_secs == 0 {
            return Err(bad(
                "CARBON_API_TIMEOUT",
                &args.carbon_api_timeout,
                "must be at least 1s",
            ));
        }
        if carbon_api_timeout_secs >= tick_timeout_secs {
            let subject = if args.carbon_api_timeout.trim() == defaults::CARBON_API_TIMEOUT {
                "its default"
            } else {
                "it"
            };
            return Err(bad(
                "CARBON_API_TIMEOUT",
                &args.carbon_api_timeout,
                format!(
                    "{subject} must be shorter than TICK_TIMEOUT ({}), so a slow carbon API cannot outlast \
                     the tick; lower it with --carbon-api-timeout, or raise --timeout",
                    args.timeout.trim()
                ),
            ));
        }
        Ok(Connect {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
            namespace: match &args.namespace {
                Some(ns) => Some(namespace(ns)?),
                None => None,
            },
            tick_timeout_secs,
            carbon_api_url: url,
            ukci_api_url,
            carbon_api_timeout_secs,
            tokens,
            watttime_api_url,
            watttime,
            cpu_source,
            metrics_max_age_secs: duration("METRICS_MAX_AGE", &args.metrics_max_age)?,
            node_refresh_secs: duration("NODE_REFRESH", &args.node_refresh)?,
            fleet: fleet(args, regions)?,
            pushgateway_url: pushgateway_url(args.pushgateway_url.as_deref())?,
        })
    }
}

/// PUSHGATEWAY_URL: empty or unset is off. A query or fragment is refused, since the grouping
/// key is appended as a path.
fn pushgateway_url(given: Option<&str>) -> Result<Option<String>, ConfigError> {
    let Some(text) = given.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let url = text.trim_end_matches('/');
    let ok = url.parse::<http::Uri>().ok().is_some_and(|u| {
        matches!(u.scheme_str(), Some("http" | "https"))
            && u.authority().is_some()
            && u.query().is_none()
            && !url.contains('#')
    });
    if !ok {
        return Err(bad(
            "PUSHGATEWAY_URL",
            text,
            "not an http(s) base URL; use e.g. http://pushgateway.monitoring:9091, or leave it empty to push nothing",
        ));
    }
    Ok(Some(url.to_string()))
}

/// REGION_CONTEXTS and the settings that go with it; None without it (one cluster).
fn fleet(args: &ConnectArgs, regions: &[Region]) -> Result<Option<Fleet>, ConfigError> {
    let names: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
    let Some(text) = args
        .region_contexts
        .as_deref()
        .filter(|t| !t.trim().is_empty())
    else {
        for (setting, given) in [
            ("FLEET_KUBECONFIG", &args.fleet_kubeconfig),
            ("FLEET_NODE_SELECTOR", &args.fleet_node_selector),
        ] {
            if let Some(value) = given.as_deref().filter(|v| !v.trim().is_empty()) {
                return Err(bad(
                    setting,
                    value,
                    "applies only to a fleet of clusters; set REGION_CONTEXTS too, or drop it",
                ));
            }
        }
        return Ok(None);
    };
    let contexts = region_values(
        "REGION_CONTEXTS",
        text,
        &names,
        |v| (!v.is_empty() && !v.contains(char::is_whitespace)).then(|| v.to_string()),
        "a kubeconfig context name",
    )?;
    if let Some(missing) = names.iter().find(|n| !contexts.contains_key(**n)) {
        return Err(bad(
            "REGION_CONTEXTS",
            text,
            format!("region {missing} has no context; give every region in REGIONS its cluster's context"),
        ));
    }
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (region, context) in &contexts {
        if let Some(other) = seen.insert(context.as_str(), region.as_str()) {
            return Err(bad(
                "REGION_CONTEXTS",
                text,
                format!(
                    "regions {other} and {region} name the same context {context}; regions that share a cluster are told apart by REGION_LABEL, so leave REGION_CONTEXTS unset"
                ),
            ));
        }
    }
    let node_selector = args
        .fleet_node_selector
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let ok = s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=!,()".contains(c) || c == ' ');
            if ok {
                Ok(s.to_string())
            } else {
                Err(bad(
                    "FLEET_NODE_SELECTOR",
                    s,
                    "not a label selector; write it like kubectl -l, e.g. pool=web or pool in (web,api)",
                ))
            }
        })
        .transpose()?;
    Ok(Some(Fleet {
        contexts,
        kubeconfig: args
            .fleet_kubeconfig
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(std::path::PathBuf::from),
        node_selector,
    }))
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub regions: Vec<Region>,
    pub region_label: String,
    pub deployment_pattern: String,
    pub scale_target: ScaleTarget,
    pub state_configmap: String,
    pub log_format: LogFormat,
    pub policy: Policy,
    pub carbon_cache_ttl_secs: i64,
    pub watts_per_replica: f64,
}

impl Settings {
    pub fn from_args(cluster: &ClusterArgs, policy: &PolicyArgs) -> Result<Settings, ConfigError> {
        let regions = parse_regions(&cluster.regions)?;
        let names: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
        let mut rule = parse_policy(policy, &names)?;
        rule.carbon_unit = carbon_unit(&cluster.regions, &regions)?;
        if rule.carbon_unit == CarbonUnit::Index {
            if let Some(secs) = rule.rebalance_forecast_secs {
                return Err(bad(
                    "REBALANCE_FORECAST",
                    &crate::duration::format_secs(secs),
                    "WattTime regions are ranked on the index of now; its forecast is not read, so \
                     set REBALANCE_FORECAST=off",
                ));
            }
        }
        Ok(Settings {
            region_label: label_key("REGION_LABEL", &cluster.region_label)?,
            deployment_pattern: deployment_pattern(&cluster.deployment_pattern, &regions)?,
            scale_target: choice("SCALE_TARGET", &cluster.scale_target)?,
            state_configmap: object_name("STATE_CONFIGMAP", &cluster.state_configmap)?,
            log_format: choice("LOG_FORMAT", &cluster.log_format)?,
            policy: rule,
            carbon_cache_ttl_secs: duration("CARBON_CACHE_TTL", &policy.carbon_cache_ttl)?,
            watts_per_replica: watts(&cluster.watts_per_replica)?,
            regions,
        })
    }

    /// The zone of a configured region.
    pub fn zone(&self, region: &str) -> Option<&str> {
        let region = self.regions.iter().find(|r| r.name == region)?;
        Some(region.zone.as_str())
    }

    pub fn deployment_name(&self, region: &str) -> String {
        self.deployment_pattern.replace("{region}", region)
    }
}

/// The rule's parameters from their flags, for the configured `regions`.
pub fn parse_policy(args: &PolicyArgs, regions: &[&str]) -> Result<Policy, ConfigError> {
    let up = percent("SCALE_UP_THRESHOLD", &args.scale_up_threshold)?;
    let down = percent("SCALE_DOWN_THRESHOLD", &args.scale_down_threshold)?;
    if up <= down {
        return Err(bad(
            "SCALE_UP_THRESHOLD",
            &args.scale_up_threshold,
            format!(
                "must be above SCALE_DOWN_THRESHOLD ({}) so that a band between them exists",
                args.scale_down_threshold
            ),
        ));
    }
    let hold_cycles = count("HOLD_CYCLES", &args.hold_cycles, 1)?;
    let default_bounds = Bounds {
        min: count("MIN_REPLICAS", &args.min_replicas, 0)? as i32,
        max: count("MAX_REPLICAS", &args.max_replicas, 1)? as i32,
    };
    if default_bounds.min > default_bounds.max {
        return Err(bad(
            "MIN_REPLICAS",
            &args.min_replicas,
            format!("must not exceed MAX_REPLICAS ({})", default_bounds.max),
        ));
    }
    let (min_text, max_text) = (
        args.region_min_replicas.as_deref().unwrap_or_default(),
        args.region_max_replicas.as_deref().unwrap_or_default(),
    );
    let mins = region_numbers("REGION_MIN_REPLICAS", min_text, regions)?;
    let maxs = region_numbers("REGION_MAX_REPLICAS", max_text, regions)?;
    let mut region_bounds = BTreeMap::new();
    for region in regions {
        let (min, max) = (mins.get(*region), maxs.get(*region));
        if min.is_none() && max.is_none() {
            continue;
        }
        let b = Bounds {
            min: min.copied().unwrap_or(default_bounds.min),
            max: max.copied().unwrap_or(default_bounds.max),
        };
        if b.min > b.max {
            let (setting, text) = if min.is_some() {
                ("REGION_MIN_REPLICAS", min_text)
            } else {
                ("REGION_MAX_REPLICAS", max_text)
            };
            return Err(bad(
                setting,
                text,
                format!(
                    "gives {region} a min of {} above its max of {}; keep min <= max",
                    b.min, b.max
                ),
            ));
        }
        region_bounds.insert(region.to_string(), b);
    }
    Ok(Policy {
        scale_up_threshold: up,
        scale_down_threshold: down,
        hold_cycles,
        cooldown_secs: duration("COOLDOWN", &args.cooldown)?,
        trigger: choice::<CpuTrigger>("CPU_TRIGGER", &args.cpu_trigger)?,
        default_bounds,
        region_bounds,
        carbon_max_staleness_secs: duration("CARBON_MAX_STALENESS", &args.carbon_max_staleness)?,
        rebalance_margin: match args.rebalance_margin.trim() {
            "" | "off" => None,
            text => Some(
                text.parse::<f64>()
                    .ok()
                    .filter(|g| g.is_finite() && *g >= 0.0)
                    .ok_or_else(|| {
                        bad(
                            "REBALANCE_MARGIN",
                            &args.rebalance_margin,
                            "not a number of gCO2eq/kWh; use e.g. 20, or off to disable rebalancing",
                        )
                    })?,
            ),
        },
        rebalance_ready_timeout_secs: duration("REBALANCE_READY_TIMEOUT", &args.rebalance_ready_timeout)?,
        rebalance_forecast_secs: forecast_horizon(&args.rebalance_forecast, &args.rebalance_margin)?,
        // Set from the regions by `Settings::from_args`.
        carbon_unit: CarbonUnit::GramsPerKwh,
    })
}

/// The longest horizon a provider forecasts (ElectricityMaps' 72 hours).
pub const MAX_FORECAST_SECS: i64 = 72 * 3600;

/// REBALANCE_FORECAST: off, or a horizon of whole hours from 2h to 72h (forecasts are hourly
/// or half-hourly, from the current hour, so 1h would be the current hour's value, the latest
/// one; ElectricityMaps' reach 72 hours). It only changes how rebalancing judges a move, so it
/// needs REBALANCE_MARGIN.
fn forecast_horizon(text: &str, margin: &str) -> Result<Option<i64>, ConfigError> {
    const SETTING: &str = "REBALANCE_FORECAST";
    if matches!(text.trim(), "" | "off") {
        return Ok(None);
    }
    let secs = duration(SETTING, text)?;
    if !(2 * 3600..=MAX_FORECAST_SECS).contains(&secs) || secs % 3600 != 0 {
        return Err(bad(
            SETTING,
            text,
            "not a whole number of hours from 2h to 72h (1h would be the current hour, the \
             latest value); use e.g. 3h, or off",
        ));
    }
    if matches!(margin.trim(), "" | "off") {
        return Err(bad(
            SETTING,
            text,
            "judges rebalancing moves, which are off; set REBALANCE_MARGIN (e.g. 20) too, or \
             REBALANCE_FORECAST=off",
        ));
    }
    Ok(Some(secs))
}

/// One of a closed set of values (a clap `ValueEnum`); the error lists them with their help.
pub fn choice<T: ValueEnum>(setting: &str, text: &str) -> Result<T, ConfigError> {
    T::from_str(text.trim(), false).map_err(|_| {
        let accepted: Vec<String> = T::value_variants()
            .iter()
            .filter_map(ValueEnum::to_possible_value)
            .map(|v| match v.get_help() {
                Some(help) => format!("{} ({help})", v.get_name()),
                None => v.get_name().to_string(),
            })
            .collect();
        let listed = match accepted.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => accepted.join(""),
        };
        bad(setting, text, format!("accepted values are {listed}"))
    })
}

/// The most power one replica is taken to draw: a whole eight-GPU server draws about this, so
/// a larger figure is a slip of the unit (W, not mW or kW).
pub const MAX_WATTS_PER_REPLICA: f64 = 10_000.0;

fn watts(text: &str) -> Result<f64, ConfigError> {
    let watts = text
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|w| w.is_finite() && *w > 0.0)
        .ok_or_else(|| {
            bad(
                "WATTS_PER_REPLICA",
                text,
                "not a positive number of watts, e.g. 2.4",
            )
        })?;
    if watts > MAX_WATTS_PER_REPLICA {
        return Err(bad(
            "WATTS_PER_REPLICA",
            text,
            format!("more than {MAX_WATTS_PER_REPLICA} W for one replica; give the watts of one replica, e.g. 2.4"),
        ));
    }
    Ok(watts)
}

pub fn percent(setting: &str, text: &str) -> Result<f64, ConfigError> {
    let value: f64 = text.trim().parse().map_err(|_| {
        bad(
            setting,
            text,
            "not a number; use a percentage from 0 to 100, e.g. 70",
        )
    })?;
    if !(0.0..=100.0).contains(&value) {
        return Err(bad(
            setting,
            text,
            "out of range; use a percentage from 0 to 100",
        ));
    }
    Ok(value)
}

/// The largest count any setting takes (replicas, ticks, hold cycles): far above any real
/// use, far below where arithmetic on it could overflow.
pub const MAX_COUNT: u32 = 100_000;

/// The longest duration any setting takes: 30 days.
pub const MAX_DURATION_SECS: i64 = 30 * 24 * 3600;

pub fn count(setting: &str, text: &str, least: u32) -> Result<u32, ConfigError> {
    let value: u32 = text.trim().parse().map_err(|_| {
        bad(
            setting,
            text,
            format!("not a whole number; use {least} or more"),
        )
    })?;
    if value < least {
        return Err(bad(
            setting,
            text,
            format!("too small; use {least} or more"),
        ));
    }
    if value > MAX_COUNT {
        return Err(bad(
            setting,
            text,
            format!("too large; use at most {MAX_COUNT}"),
        ));
    }
    Ok(value)
}

pub fn duration(setting: &str, text: &str) -> Result<i64, ConfigError> {
    let secs = parse_secs(text).ok_or_else(|| {
        bad(
            setting,
            text,
            "not a duration; write it like 90s, 5m, 1h or 1h30m (bare numbers are seconds)",
        )
    })?;
    if secs > MAX_DURATION_SECS {
        return Err(bad(setting, text, "too long; use at most 30 days (720h)"));
    }
    Ok(secs)
}

/// Region names become part of Deployment names and env names, so they stay DNS-label-like.
fn region_name(setting: &str, text: &str, name: &str) -> Result<String, ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(name.to_string())
    } else {
        Err(bad(
            setting,
            text,
            format!("region name {name:?} must be lower-case letters, digits and '-', e.g. france"),
        ))
    }
}

pub fn parse_regions(text: &str) -> Result<Vec<Region>, ConfigError> {
    const S: &str = "REGIONS";
    let mut regions: Vec<Region> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, zone) = part.split_once('=').ok_or_else(|| {
            bad(
                S,
                text,
                format!("{part:?} has no zone; write REGION=ZONE pairs, e.g. denmark=DK,france=FR"),
            )
        })?;
        let name = region_name(S, text, name.trim())?;
        let zone = region_source(text, &name, zone.trim())?;
        if regions.iter().any(|r| r.name == name) {
            return Err(bad(
                S,
                text,
                format!("region {name} is listed twice; list each once"),
            ));
        }
        regions.push(Region { name, zone });
    }
    if regions.is_empty() {
        return Err(bad(
            S,
            text,
            "no regions; write REGION=ZONE pairs, e.g. denmark=DK,france=FR",
        ));
    }
    Ok(regions)
}

/// A region's carbon source as written after `=`: `ZONE` or `electricitymaps:ZONE` (kept as
/// `ZONE`, so states written before providers existed still match), `ukci:national|1..17`,
/// `watttime:REGION`, or `static:GRAMS|PATH`.
fn region_source(text: &str, name: &str, written: &str) -> Result<String, ConfigError> {
    const S: &str = "REGIONS";
    let (provider, spec) = written
        .split_once(':')
        .unwrap_or(("electricitymaps", written));
    match provider {
        "electricitymaps" => {
            if spec.is_empty() || !spec.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(bad(
                    S,
                    text,
                    format!(
                        "zone {spec:?} of {name} is not an ElectricityMaps zone like DK, FR or DK-DK1"
                    ),
                ));
            }
            Ok(spec.to_string())
        }
        "ukci" => {
            UkciArea::parse(spec).map_err(|problem| bad(S, text, format!("{name}: {problem}")))?;
            Ok(written.to_string())
        }
        "static" => {
            StaticSource::parse(spec)
                .map_err(|problem| bad(S, text, format!("{name}: {problem}")))?;
            Ok(written.to_string())
        }
        "watttime" => {
            source::watttime_region(spec)
                .map_err(|problem| bad(S, text, format!("{name}: {problem}")))?;
            Ok(written.to_string())
        }
        other => Err(bad(
            S,
            text,
            format!(
                "{name} names provider {other:?}; use electricitymaps:ZONE (or just ZONE), \
                 ukci:AREA, watttime:REGION, static:GRAMS or static:PATH"
            ),
        )),
    }
}

/// What the regions' values measure: WattTime's 0-100 index, or gCO2eq/kWh for every other
/// source. One ranking cannot mix them: an index says how clean a grid is against its own
/// recent past, so 40 there and 40 g elsewhere mean unrelated things.
fn carbon_unit(text: &str, regions: &[Region]) -> Result<CarbonUnit, ConfigError> {
    let (index, grams): (Vec<&Region>, Vec<&Region>) = regions
        .iter()
        .partition(|r| matches!(r.provider(), Provider::WattTime(_)));
    let names = |rs: &[&Region]| {
        rs.iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (index.is_empty(), grams.is_empty()) {
        (true, _) => Ok(CarbonUnit::GramsPerKwh),
        (false, true) => Ok(CarbonUnit::Index),
        (false, false) => Err(bad(
            "REGIONS",
            text,
            format!(
                "mixes WattTime's relative 0-100 index ({}) with gCO2eq/kWh values ({}), which \
                 cannot be ranked together; give every region a WattTime region, or none",
                names(&index),
                names(&grams)
            ),
        )),
    }
}

/// `region=N,...` where every region must be one of the configured ones.
pub fn region_numbers(
    setting: &str,
    text: &str,
    regions: &[&str],
) -> Result<BTreeMap<String, i32>, ConfigError> {
    region_values(
        setting,
        text,
        regions,
        |v| {
            v.parse::<u32>()
                .ok()
                .filter(|n| *n <= MAX_COUNT)
                .map(|n| n as i32)
        },
        "a whole number",
    )
}

/// `region=VALUE,...` pairs for configured regions, each value checked by `parse`.
pub fn region_values<T>(
    setting: &str,
    text: &str,
    regions: &[&str],
    parse: impl Fn(&str) -> Option<T>,
    what: &str,
) -> Result<BTreeMap<String, T>, ConfigError> {
    let mut out = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').ok_or_else(|| {
            bad(
                setting,
                text,
                format!("{part:?} is not REGION=VALUE, e.g. france=2"),
            )
        })?;
        let name = name.trim();
        if !regions.contains(&name) {
            return Err(bad(
                setting,
                text,
                format!(
                    "unknown region {name:?}; configured regions are {}",
                    regions.join(", ")
                ),
            ));
        }
        let parsed = parse(value.trim()).ok_or_else(|| {
            bad(
                setting,
                text,
                format!("value {value:?} for {name} is not {what}"),
            )
        })?;
        if out.insert(name.to_string(), parsed).is_some() {
            return Err(bad(
                setting,
                text,
                format!("region {name} is listed twice; list each once"),
            ));
        }
    }
    Ok(out)
}

fn label_key(setting: &str, text: &str) -> Result<String, ConfigError> {
    let ok = !text.is_empty()
        && text.len() <= 253
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(text.to_string())
    } else {
        Err(bad(
            setting,
            text,
            "not a Kubernetes label key, e.g. region or topology.kubernetes.io/region",
        ))
    }
}

/// A DNS-1123 subdomain, as Kubernetes requires of ConfigMap and Deployment names: at most
/// 253 characters, dot-separated labels of lower-case letters, digits and '-', each starting
/// and ending with a letter or digit.
fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(dns_label_chars)
}

/// A DNS-1123 label, as Kubernetes requires of namespace names: at most 63 characters.
fn is_dns_label(label: &str) -> bool {
    label.len() <= 63 && dns_label_chars(label)
}

fn dns_label_chars(label: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !label.is_empty()
        && label.chars().all(|c| alnum(c) || c == '-')
        && label.starts_with(alnum)
        && label.ends_with(alnum)
}

fn object_name(setting: &str, text: &str) -> Result<String, ConfigError> {
    if is_dns_subdomain(text) {
        Ok(text.to_string())
    } else {
        Err(bad(
            setting,
            text,
            "not a Kubernetes object name: at most 253 characters, lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
        ))
    }
}

fn namespace(text: &str) -> Result<String, ConfigError> {
    if is_dns_label(text) {
        Ok(text.to_string())
    } else {
        Err(bad(
            "--namespace",
            text,
            "not a namespace name: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
        ))
    }
}

/// The pattern, checked by the name it gives every configured region.
fn deployment_pattern(text: &str, regions: &[Region]) -> Result<String, ConfigError> {
    if !text.contains("{region}") {
        return Err(bad(
            "DEPLOYMENT_PATTERN",
            text,
            "must contain {region}, e.g. nginx-{region}",
        ));
    }
    for region in regions {
        let name = text.replace("{region}", &region.name);
        if !is_dns_subdomain(&name) {
            return Err(bad(
                "DEPLOYMENT_PATTERN",
                text,
                format!(
                    "gives region {} the Deployment name {:?}, which is not a Kubernetes object name (at most 253 characters, lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)",
                    region.name,
                    name.chars().take(80).collect::<String>()
                ),
            ));
        }
    }
    Ok(text.to_string())
}

/// The settings with every default (for replays and benchmarks that want the documented
/// defaults without restating them).
pub fn defaults() -> Settings {
    Settings::from_args(&ClusterArgs::default(), &PolicyArgs::default())
        .expect("the defaults are valid")
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn settings(args: &[&str]) -> Result<Settings, ConfigError> {
        let mut argv = vec!["carbonctl"];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["simulate", "--cpu", "50"]);
        let cli = Cli::try_parse_from(argv).expect("arguments parse");
        Settings::from_args(&cli.cluster, &cli.policy)
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        assert_eq!(defaults().policy, settings(&[]).unwrap().policy);
        let s = settings(&[]).unwrap();
        let names: Vec<_> = s
            .regions
            .iter()
            .map(|r| format!("{}={}", r.name, r.zone))
            .collect();
        assert_eq!(names, ["denmark=DK", "france=FR", "latvia=LV"]);
        assert_eq!(s.policy.scale_up_threshold, 70.0);
        assert_eq!(s.policy.scale_down_threshold, 30.0);
        assert_eq!(s.policy.hold_cycles, 3);
        assert_eq!(s.policy.cooldown_secs, 180);
        assert_eq!(s.policy.default_bounds, Bounds { min: 1, max: 5 });
        assert_eq!(s.policy.carbon_max_staleness_secs, 3600);
        assert_eq!(s.carbon_cache_ttl_secs, 300);
        assert_eq!(s.deployment_name("france"), "nginx-france");
        assert_eq!(s.state_configmap, "carbonctl-state");
        assert_eq!(s.log_format, LogFormat::Json);
    }

    #[test]
    fn overrides_resolve_per_region() {
        let s = settings(&[
            "--region-min-replicas",
            "france=2",
            "--region-max-replicas",
            "latvia=3,france=8",
        ])
        .unwrap();
        assert_eq!(s.policy.bounds("france"), Bounds { min: 2, max: 8 });
        assert_eq!(s.policy.bounds("latvia"), Bounds { min: 1, max: 3 });
        assert_eq!(s.policy.bounds("denmark"), Bounds { min: 1, max: 5 });
    }

    #[test]
    fn bad_settings_name_the_setting_the_value_and_the_fix() {
        let cases: &[(&[&str], &str)] = &[
            (&["--scale-up-threshold", "abc"], "SCALE_UP_THRESHOLD (--scale-up-threshold) = \"abc\": not a number"),
            (&["--scale-up-threshold", "101"], "SCALE_UP_THRESHOLD (--scale-up-threshold) = \"101\": out of range"),
            (&["--scale-down-threshold=-1"], "SCALE_DOWN_THRESHOLD (--scale-down-threshold) = \"-1\": out of range"),
            (&["--scale-up-threshold", "30", "--scale-down-threshold", "30"], "must be above SCALE_DOWN_THRESHOLD (30)"),
            (&["--hold-cycles", "0"], "HOLD_CYCLES (--hold-cycles) = \"0\": too small; use 1 or more"),
            (&["--hold-cycles", "two"], "HOLD_CYCLES (--hold-cycles) = \"two\": not a whole number"),
            (&["--cooldown", "5 minutes"], "COOLDOWN (--cooldown) = \"5 minutes\": not a duration; write it like 90s"),
            (&["--carbon-cache-ttl", "5q"], "CARBON_CACHE_TTL"),
            (&["--min-replicas", "4", "--max-replicas", "3"], "MIN_REPLICAS (--min-replicas) = \"4\": must not exceed MAX_REPLICAS (3)"),
            (&["--max-replicas", "0"], "MAX_REPLICAS (--max-replicas) = \"0\": too small"),
            (&["--regions", "denmark=DK,denmark=DK-DK1"], "region denmark is listed twice"),
            (&["--regions", "denmark"], "\"denmark\" has no zone"),
            (&["--regions", "Denmark=DK"], "must be lower-case"),
            (&["--regions", "denmark=D K"], "is not an ElectricityMaps zone"),
            (&["--regions", "denmark=electricitymaps:"], "zone \"\" of denmark is not an ElectricityMaps zone"),
            (&["--regions", "denmark=wattime:CAISO"], "denmark names provider \"wattime\"; use electricitymaps:ZONE (or just ZONE), ukci:AREA, watttime:REGION, static:GRAMS or static:PATH"),
            (&["--regions", "west=watttime:caiso"], "west: watttime:caiso is not a WattTime region"),
            (&["--regions", "west=watttime:CAISO_NORTH,denmark=DK,france=static:40"], "mixes WattTime's relative 0-100 index (west) with gCO2eq/kWh values (denmark, france), which cannot be ranked together"),
            (&["--regions", "west=watttime:CAISO_NORTH", "--rebalance-margin", "10", "--rebalance-forecast", "2h"], "REBALANCE_FORECAST (--rebalance-forecast) = \"2h\": WattTime regions are ranked on the index of now"),
            (&["--regions", "london=ukci:18"], "london: ukci:18 is not a UK Carbon Intensity area"),
            (&["--regions", "denmark=static:"], "denmark: static: needs a value in gCO2eq/kWh or a file's path"),
            (&["--regions", "denmark=static:9000"], "denmark: static:9000 is outside the plausible 0 to 5000 gCO2eq/kWh"),
            (&["--regions", ""], "no regions"),
            (&["--region-min-replicas", "spain=2"], "REGION_MIN_REPLICAS (--region-min-replicas) = \"spain=2\": unknown region \"spain\"; configured regions are denmark, france, latvia"),
            (&["--region-max-replicas", "france=x"], "value \"x\" for france is not a whole number"),
            (&["--region-min-replicas", "france=9"], "gives france a min of 9 above its max of 5"),
            (&["--cpu-trigger", "p95"], "CPU_TRIGGER (--cpu-trigger) = \"p95\": accepted values are avg"),
            (&["--log-format", "xml"], "LOG_FORMAT (--log-format) = \"xml\": accepted values are json and console"),
            (&["--deployment-pattern", "nginx"], "must contain {region}"),
            (&["--deployment-pattern", "Nginx-{region}"], "DEPLOYMENT_PATTERN"),
            (&["--deployment-pattern", "..{region}"], "gives region denmark the Deployment name \"..denmark\", which is not a Kubernetes object name"),
            (&["--deployment-pattern", "{region}-"], "\"denmark-\""),
            (&["--state-configmap", "State"], "STATE_CONFIGMAP"),
            (&["--region-label", "bad label"], "REGION_LABEL"),
            (&["--rebalance-forecast", "2h"], "REBALANCE_FORECAST (--rebalance-forecast) = \"2h\": judges rebalancing moves, which are off; set REBALANCE_MARGIN (e.g. 20) too"),
            (&["--rebalance-margin", "20", "--rebalance-forecast", "30m"], "not a whole number of hours from 2h to 72h"),
            (&["--rebalance-margin", "20", "--rebalance-forecast", "90m"], "not a whole number of hours"),
            (&["--rebalance-margin", "20", "--rebalance-forecast", "73h"], "\"73h\": not a whole number of hours from 2h to 72h"),
            (&["--rebalance-margin", "20", "--rebalance-forecast", "1h"], "\"1h\": not a whole number of hours from 2h to 72h (1h would be the current hour"),
            (&["--rebalance-margin", "20", "--rebalance-forecast", "soon"], "\"soon\": not a duration"),
        ];
        for (args, want) in cases {
            let err = settings(args)
                .expect_err(&format!("{args:?} should be refused"))
                .to_string();
            assert!(err.starts_with("invalid setting "), "{err}");
            assert!(err.contains(want), "{args:?}: {err:?} lacks {want:?}");
        }
    }

    #[test]
    fn a_forecast_horizon_is_whole_hours_and_off_by_default() {
        assert_eq!(settings(&[]).unwrap().policy.rebalance_forecast_secs, None);
        let on = settings(&["--rebalance-margin", "20", "--rebalance-forecast", "72h"]).unwrap();
        assert_eq!(on.policy.rebalance_forecast_secs, Some(72 * 3600));
        let two = settings(&["--rebalance-margin", "20", "--rebalance-forecast", "2h"]).unwrap();
        assert_eq!(two.policy.rebalance_forecast_secs, Some(2 * 3600));
        let off = settings(&["--rebalance-forecast", "off"]).unwrap();
        assert_eq!(off.policy.rebalance_forecast_secs, None);
    }

    #[test]
    fn names_longer_than_kubernetes_allows_are_refused() {
        let pattern = format!("{}-{{region}}", "a".repeat(250));
        let err = settings(&["--deployment-pattern", &pattern]).unwrap_err();
        assert!(err.to_string().contains("at most 253 characters"), "{err}");
        assert!(settings(&[
            "--deployment-pattern",
            &format!("{}-{{region}}", "a".repeat(200))
        ])
        .is_ok());
    }

    fn connect(args: &[&str]) -> Result<Connect, ConfigError> {
        let mut argv = vec!["carbonctl"];
        argv.extend_from_slice(args);
        argv.push("status");
        let cli = Cli::try_parse_from(argv).expect("arguments parse");
        Connect::from_args(&cli.connect, &defaults().regions, |_| None)
    }

    #[test]
    fn the_pushgateway_is_off_unless_named_and_must_be_an_http_base_url() {
        assert_eq!(connect(&[]).unwrap().pushgateway_url, None);
        let off = connect(&["--pushgateway-url", " "]).unwrap();
        assert_eq!(
            off.pushgateway_url, None,
            "empty, as in the settings ConfigMap, is off"
        );
        let on = connect(&["--pushgateway-url", "http://pushgateway.monitoring:9091/"]).unwrap();
        assert_eq!(
            on.pushgateway_url.as_deref(),
            Some("http://pushgateway.monitoring:9091")
        );
        for bad in [
            "pushgateway:9091",
            "ftp://gw:21",
            "http://gw:9091/?job=x",
            "http://gw:9091/#top",
        ] {
            let err = connect(&["--pushgateway-url", bad])
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!(
                    "invalid setting PUSHGATEWAY_URL (--pushgateway-url) = {bad:?}: not an http(s) base URL"
                )),
                "{err}"
            );
        }
    }

    #[test]
    fn a_region_names_its_provider_or_is_an_electricitymaps_zone() {
        let s = settings(&[
            "--regions",
            "a=DK,b=electricitymaps:DK-DK1,c=static:120,d=static:/etc/carbon/fr.csv,e=static:./x,\
             f=ukci:13,g=ukci:national",
        ])
        .unwrap();
        let seen: Vec<(&str, Provider)> = s
            .regions
            .iter()
            .map(|r| (r.zone.as_str(), r.provider()))
            .collect();
        assert_eq!(
            seen,
            [
                ("DK", Provider::ElectricityMaps),
                ("DK-DK1", Provider::ElectricityMaps),
                ("static:120", Provider::Static(StaticSource::Grams(120.0))),
                (
                    "static:/etc/carbon/fr.csv",
                    Provider::Static(StaticSource::File("/etc/carbon/fr.csv"))
                ),
                ("static:./x", Provider::Static(StaticSource::File("./x"))),
                ("ukci:13", Provider::Ukci(UkciArea::Region(13))),
                ("ukci:national", Provider::Ukci(UkciArea::National)),
            ]
        );
    }

    #[test]
    fn zones_may_be_sub_zones() {
        let s = settings(&["--regions", "east=DK-DK2, west=DK-DK1"]).unwrap();
        assert_eq!(
            s.regions[0],
            Region {
                name: "east".into(),
                zone: "DK-DK2".into()
            }
        );
        assert_eq!(s.regions[1].zone, "DK-DK1");
    }
}
