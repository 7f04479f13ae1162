//! `carbonctl backtest`: validate the experiment's settings, read the recorded series, replay
//! the policy (`backtest::model`) and print what it achieved. Reads files, writes only the
//! chart it is asked for.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::backtest::carbon_csv::{parse_carbon, CarbonFormat, CarbonSeries, Signal};
use crate::backtest::demand::{self, parse_demand, DemandSource, Scale};
use crate::backtest::floors::{replay_floors, Floors, FloorsOutcome};
use crate::backtest::forecast::Forecasting;
use crate::backtest::hpa::HpaParams;
use crate::backtest::input_file::{likely_zone, read_text, zones_in, Unreadable};
use crate::backtest::model::{self, Outcome, RegionInput, Replay};
use crate::backtest::report::{
    self, Counterfactuals, DemandReport, FloorsReport, ForecastReport, HpaReport, ModeFigures,
    Period, RegionReport, Report,
};
use crate::backtest::series::parse_time;
use crate::backtest::sweep;
use crate::backtest::trace::trace;
use crate::carbon::source::{Provider, StaticSource};
use crate::choices::ScaleTarget;
use crate::cli::{BacktestArgs, OutputFormat, PolicyArgs};
use crate::clock::to_rfc3339;
use crate::config::{self, bad, choice, region_numbers, region_values, ConfigError, Settings};
use crate::duration::{format_secs, parse_secs};
use crate::error::Error;
use crate::policy::Policy;
use crate::render;

/// Points kept for the chart: enough for a smooth line, few enough for a small SVG.
const CHART_POINTS: usize = 600;

pub fn run(
    settings: &Settings,
    policy: &PolicyArgs,
    args: &BacktestArgs,
) -> Result<ExitCode, Error> {
    if !args.sweep.is_empty() {
        return sweep(settings, policy, args);
    }
    if let Some(path) = args
        .ticks
        .as_ref()
        .filter(|_| settings.scale_target == ScaleTarget::HpaMin)
    {
        return Err(bad(
            "--ticks",
            path,
            "ticks are recorded in replicas mode only, as live ticks are replayed; drop --ticks or --scale-target hpa-min",
        )
        .into());
    }
    let prepared = prepare(settings, args)?;
    let (report, outcome) = prepared.replay(&settings.policy);
    if let Some(path) = &args.ticks {
        prepared.write_ticks(&settings.policy, path)?;
    }
    let text = match args.output {
        OutputFormat::Table => render::backtest_text(&report),
        OutputFormat::Json => render::to_json(&report),
        OutputFormat::Yaml => render::to_yaml(&report),
    };
    if let Some(path) = &args.chart {
        let names: Vec<&str> = report.regions.iter().map(|r| r.region.as_str()).collect();
        let svg = render::chart::svg(&names, &outcome.timeline, &report.signal);
        std::fs::write(path, svg)
            .map_err(|e| bad("--chart", path, format!("cannot write the chart: {e}")))?;
    }
    render::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `--sweep`: every combination of the swept settings (each checked as the flag would be)
/// replayed over the same inputs, in parallel, one row each with the Pareto front marked.
fn sweep(settings: &Settings, base: &PolicyArgs, args: &BacktestArgs) -> Result<ExitCode, Error> {
    let axes = sweep::axes(&args.sweep)?;
    if settings.scale_target == ScaleTarget::HpaMin {
        return Err(bad(
            "--scale-target",
            "hpa-min",
            "a sweep replays replicas mode only; drop --sweep, or --scale-target to sweep",
        )
        .into());
    }
    if let Some(path) = &args.chart {
        return Err(bad(
            "--chart",
            path,
            "a sweep draws no chart; drop --chart or --sweep",
        )
        .into());
    }
    if let Some(path) = &args.ticks {
        return Err(bad(
            "--ticks",
            path,
            "a sweep records no ticks; drop --ticks or --sweep",
        )
        .into());
    }
    let names: Vec<&str> = settings.regions.iter().map(|r| r.name.as_str()).collect();
    let combinations = sweep::combinations(&axes);
    let policies = combinations
        .iter()
        .map(|values| config::parse_policy(&sweep::with_values(base, values), &names))
        .collect::<Result<Vec<Policy>, _>>()?;
    let prepared = prepare(settings, args)?;
    let hours = (prepared.ticks as i64 * prepared.x.interval) as f64 / 3600.0;
    let done = AtomicUsize::new(0);
    let progress = Progress::new(policies.len());
    // Each replay runs on two threads (the policy and the carbon-blind rule).
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().div_ceil(2));
    let mut rows: Vec<Option<sweep::Row>> = vec![None; policies.len()];
    std::thread::scope(|scope| {
        let chunks = rows.chunks_mut(policies.len().div_ceil(workers).max(1));
        for (c, chunk) in chunks.enumerate() {
            let first = c * policies.len().div_ceil(workers).max(1);
            let (prepared, policies, combinations) = (&prepared, &policies, &combinations);
            let (done, progress) = (&done, &progress);
            scope.spawn(move || {
                for (i, slot) in chunk.iter_mut().enumerate() {
                    let (report, outcome) = prepared.replay(&policies[first + i]);
                    *slot = Some(sweep::Row {
                        settings: combinations[first + i].clone(),
                        // To a tenth of a gram: finer differences are not a reason to prefer one.
                        policy_kg: round(report.emissions_kg.policy, 4),
                        blind_kg: round(report.emissions_kg.blind, 4),
                        share_captured: report.share_captured,
                        actions_per_hour: round(outcome.policy_actions.total() as f64 / hours, 4),
                        under_provisioned_minutes: report.under_provisioned_minutes.policy,
                        replica_hours: report.total_replica_hours.policy,
                        pareto: false,
                    });
                    progress.show(done.fetch_add(1, Ordering::Relaxed) + 1);
                }
            });
        }
    });
    progress.finish();
    let rows = sweep::rank_rows(rows.into_iter().flatten().collect());
    let (report, _) = prepared.replay(&settings.policy);
    let result = sweep::Sweep {
        period: report.period,
        regions: report
            .regions
            .iter()
            .map(|r| format!("{}={}", r.region, r.zone))
            .collect(),
        demand: report.demand.source,
        axes: axes.iter().map(|a| a.name.clone()).collect(),
        rows,
    };
    let text = match args.output {
        OutputFormat::Table => render::sweep_table(&result),
        OutputFormat::Json => render::to_json(&result),
        OutputFormat::Yaml => render::to_yaml(&result),
    };
    render::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// "sweep: 12/27 replayed" on stderr, rewritten in place, when stderr is a terminal.
struct Progress {
    total: usize,
    shown: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress {
            total,
            shown: std::io::stderr().is_terminal() && total > 1,
        }
    }

    fn show(&self, done: usize) {
        if self.shown {
            eprint!("\rsweep: {done}/{} replayed", self.total);
        }
    }

    fn finish(&self) {
        if self.shown {
            eprintln!();
        }
    }
}

/// The experiment as validated settings.
struct Experiment {
    signal: Signal,
    interval: i64,
    /// CARBON_CACHE_TTL, which the replay models as the live tick's cache.
    carbon_cache_ttl: i64,
    watts: f64,
    demand: DemandSource,
    scale: Scale,
    carbon_start: Option<i64>,
    demand_start: Option<i64>,
    from: Option<i64>,
    to: Option<i64>,
    /// In configured region order.
    carbon_files: Vec<CarbonFile>,
    /// Replicas at the first tick where given; other regions start at their floor.
    start: BTreeMap<String, i32>,
    /// With --scale-target hpa-min: the HPA every region runs.
    hpa: Option<HpaSettings>,
    /// How forecasts are made from the carbon files, when REBALANCE_FORECAST is on.
    forecasting: Forecasting,
}

struct HpaSettings {
    params: HpaParams,
    /// maxReplicas where given; other regions' HPAs go up to the region's max.
    max: BTreeMap<String, i32>,
}

struct CarbonFile {
    region: String,
    zone: String,
    path: String,
    /// The flag that named the file, so a read error points at what the user typed.
    flag: &'static str,
}

/// The recorded inputs, read, checked and placed on the period's ticks once: any policy can
/// replay them (a sweep replays them once per combination of settings).
pub struct Prepared {
    x: Experiment,
    carbon: Vec<CarbonSeries>,
    from: i64,
    ticks: usize,
    demand: Vec<f64>,
    /// The rescaling applied to the demand, for the report.
    factor: f64,
    untimed_start: i64,
}

/// Reads the inputs, replays, and returns the report with the outcome it summarises.
pub fn backtest(settings: &Settings, args: &BacktestArgs) -> Result<(Report, Outcome), Error> {
    Ok(prepare(settings, args)?.replay(&settings.policy))
}

pub fn prepare(settings: &Settings, args: &BacktestArgs) -> Result<Prepared, Error> {
    let x = experiment(settings, args)?;
    let carbon = load_carbon(&x)?;
    unused_starts(args, &x, &carbon)?;
    let (from, to) = period(&x, &carbon)?;
    let ticks = ((to - from) / x.interval) as usize;

    let untimed_start = x.demand_start.unwrap_or(from);
    let mut demand = demand::per_tick(&x.demand, from, x.interval, ticks, untimed_start);
    let factor = demand::rescale(&mut demand, &x.demand, x.scale).ok_or_else(|| {
        bad(
            "--demand",
            &args.demand,
            "the demand is zero throughout the period, so it cannot be rescaled to a peak",
        )
    })?;
    Ok(Prepared {
        x,
        carbon,
        from,
        ticks,
        demand,
        factor,
        untimed_start,
    })
}

impl Prepared {
    /// Each region's carbon series and replicas at the first tick, in configured order.
    pub fn regions(&self, policy: &Policy) -> Vec<RegionInput> {
        let x = &self.x;
        x.carbon_files
            .iter()
            .zip(&self.carbon)
            .map(|(f, c)| RegionInput {
                name: f.region.clone(),
                carbon: c.series.clone(),
                start: x
                    .start
                    .get(&f.region)
                    .copied()
                    .unwrap_or(policy.bounds(&f.region).min),
            })
            .collect()
    }

    /// Unix seconds of the first tick.
    pub fn from(&self) -> i64 {
        self.from
    }

    /// Seconds between ticks.
    pub fn interval(&self) -> i64 {
        self.x.interval
    }

    /// Replica-equivalents asked of the tier, one per tick.
    pub fn demand(&self) -> &[f64] {
        &self.demand
    }

    pub fn watts_per_replica(&self) -> f64 {
        self.x.watts
    }

    fn replay_of<'a>(&'a self, inputs: &'a [RegionInput], policy: &'a Policy) -> Replay<'a> {
        Replay {
            regions: inputs,
            policy,
            from: self.from,
            interval: self.x.interval,
            carbon_cache_ttl: self.x.carbon_cache_ttl,
            demand: &self.demand,
            watts_per_replica: self.x.watts,
            timeline_points: CHART_POINTS,
            forecasting: self.x.forecasting,
        }
    }

    /// `--ticks`: one JSON line per replayed tick of the policy.
    pub fn write_ticks(&self, policy: &Policy, path: &str) -> Result<(), Error> {
        let inputs = self.regions(policy);
        let mut text = String::new();
        trace(&self.replay_of(&inputs, policy), |record| {
            text.push_str(&serde_json::to_string(&record).expect("a tick record serialises"));
            text.push('\n');
        });
        std::fs::write(path, text)
            .map_err(|e| bad("--ticks", path, format!("cannot write the ticks: {e}")).into())
    }

    /// The replay of `policy` over these inputs, and its report.
    pub fn replay(&self, policy: &Policy) -> (Report, Outcome) {
        let x = &self.x;
        let inputs = self.regions(policy);
        let replay = self.replay_of(&inputs, policy);
        let outcome = model::replay(&replay);
        let floors = x.hpa.as_ref().map(|hpa| {
            let max: Vec<i32> = inputs
                .iter()
                .map(|r| {
                    hpa.max
                        .get(&r.name)
                        .copied()
                        .unwrap_or(policy.bounds(&r.name).max)
                })
                .collect();
            let floors = replay_floors(
                &replay,
                &Floors {
                    hpa: hpa.params,
                    hpa_max: &max,
                },
            );
            (hpa.params, max, floors)
        });
        let demand = DemandReport {
            source: demand_label(&x.demand),
            note: demand_note(
                &x.demand,
                x.scale,
                self.factor,
                self.untimed_start,
                self.from,
                self.ticks as i64 * x.interval,
            ),
            mean_replicas: round(outcome.mean_demand, 3),
            peak_replicas: round(self.demand.iter().copied().fold(0.0, f64::max), 3),
        };
        let mut report = summarise(x, &self.carbon, &outcome, demand, self.from, self.ticks);
        report.floors =
            floors.map(|(params, max, floors)| floors_report(x, &report, params, &max, &floors));
        report.forecast = policy.rebalance_forecast_secs.map(|secs| ForecastReport {
            horizon: format_secs(secs),
            model: x.forecasting,
        });
        (report, outcome)
    }
}

/// A start time given for data that carries its own times would be silently ignored: refuse it,
/// so the user learns their series was not placed where they thought.
fn unused_starts(
    args: &BacktestArgs,
    x: &Experiment,
    carbon: &[CarbonSeries],
) -> Result<(), Error> {
    if let Some(text) = &args.carbon_start {
        if carbon.iter().all(|c| c.format != CarbonFormat::Umassos) {
            return Err(bad(
                "--carbon-start",
                text,
                "every carbon file has its own timestamps; drop this flag",
            )
            .into());
        }
    }
    if let Some(text) = &args.demand_start {
        if !matches!(&x.demand, DemandSource::Trace { trace, .. } if !trace.timestamped) {
            return Err(bad(
                "--demand-start",
                text,
                "only a demand trace without timestamps (workload.txt) needs a start; drop this flag",
            )
            .into());
        }
    }
    Ok(())
}

/// Each region's file, read as the chosen signal, refused when it names another zone.
fn load_carbon(x: &Experiment) -> Result<Vec<CarbonSeries>, Error> {
    let mut carbon = Vec::with_capacity(x.carbon_files.len());
    for file in &x.carbon_files {
        let CarbonFile {
            region,
            zone,
            path,
            flag,
        } = file;
        let text = match read_text(Path::new(path)) {
            Ok(text) => text,
            Err(Unreadable::Missing) if *flag == "--carbon-dir" => {
                return Err(missing_zone_file(&x.carbon_files, file).into())
            }
            Err(e) => return Err(bad(flag, path, e.to_string()).into()),
        };
        let series = parse_carbon(path, &text, x.signal, x.carbon_start)?;
        // A static source's file is the region's own by definition, whatever zone it names.
        if let Some(found) = series
            .zone
            .as_deref()
            .filter(|z| !z.eq_ignore_ascii_case(zone) && *flag != "REGIONS")
        {
            return Err(bad(
                flag,
                path,
                format!(
                    "the file is for zone {found} but region {region} is configured with zone \
                     {zone}; give {region} its own zone's file or set --regions {region}={found}"
                ),
            )
            .into());
        }
        carbon.push(series);
    }
    Ok(carbon)
}

/// The outcome in the units people read (kg, hours, per day), rounded once, here.
fn summarise(
    x: &Experiment,
    carbon: &[CarbonSeries],
    outcome: &Outcome,
    demand: DemandReport,
    from: i64,
    ticks: usize,
) -> Report {
    let days = (ticks as i64 * x.interval) as f64 / 86_400.0;
    let grams = outcome.grams;
    let kg = |g: f64| round(g / 1000.0, 6);
    let per_day = |n: u64| round(n as f64 / days.max(1e-9), 2);
    let total = outcome
        .regions
        .iter()
        .fold(model::Triple::default(), |acc, o| model::Triple {
            policy: acc.policy + o.replica_hours.policy,
            blind: acc.blind + o.replica_hours.blind,
            bound: acc.bound + o.replica_hours.bound,
        });
    Report {
        period: Period {
            from: to_rfc3339(from),
            to: to_rfc3339(from + ticks as i64 * x.interval),
            days: round(days, 3),
            interval: format_secs(x.interval),
            ticks,
        },
        signal: x.signal.label().to_string(),
        signal_note: signal_note(x.signal, carbon),
        regions: x
            .carbon_files
            .iter()
            .zip(carbon)
            .zip(&outcome.regions)
            .map(|((f, c), o)| RegionReport {
                region: f.region.clone(),
                zone: f.zone.clone(),
                carbon_file: f.path.clone(),
                carbon_format: c.format,
                mean_carbon: round(o.mean_carbon, 2),
                replica_hours: triple(o.replica_hours, 3),
            })
            .collect(),
        total_replica_hours: triple(total, 3),
        demand,
        watts_per_replica: x.watts,
        emissions_kg: model::Triple {
            policy: kg(grams.policy),
            blind: kg(grams.blind),
            bound: kg(grams.bound),
        },
        avoided_kg: kg(grams.blind - grams.policy),
        achievable_kg: kg(grams.blind - grams.bound),
        share_captured: report::share_captured(grams).map(|s| round(s, 4)),
        under_provisioned_minutes: triple(outcome.under_provisioned_minutes, 1),
        scaling_actions_per_day: report::PerDay {
            policy: per_day(outcome.policy_actions.total()),
            blind: per_day(outcome.blind_actions.total()),
        },
        actions: report::Actions {
            policy: outcome.policy_actions,
            blind: outcome.blind_actions,
        },
        counterfactuals: Counterfactuals::standard(),
        floors: None,
        forecast: None,
    }
}

/// Floors mode's figures next to replicas mode's, each against its own counterfactual.
fn floors_report(
    x: &Experiment,
    replicas: &Report,
    params: HpaParams,
    max: &[i32],
    floors: &FloorsOutcome,
) -> FloorsReport {
    let days = replicas.period.days.max(1e-9);
    let per_day = |n: u64| round(n as f64 / days, 2);
    let kg = |g: f64| round(g / 1000.0, 6);
    let (g, u, h) = (
        floors.grams,
        floors.under_provisioned_minutes,
        floors.replica_hours,
    );
    FloorsReport {
        hpa: HpaReport {
            target_cpu: params.target_cpu,
            tolerance: params.tolerance,
            downscale_stabilization: format_secs(params.downscale_stabilization_secs),
            max_replicas: x
                .carbon_files
                .iter()
                .zip(max)
                .map(|(f, m)| format!("{}={m}", f.region))
                .collect(),
        },
        model: FloorsReport::MODEL.to_string(),
        counterfactual: FloorsReport::COUNTERFACTUAL.to_string(),
        bound: FloorsReport::BOUND.to_string(),
        replicas: ModeFigures {
            emissions_kg: replicas.emissions_kg.policy,
            counterfactual_kg: replicas.emissions_kg.blind,
            avoided_kg: replicas.avoided_kg,
            achievable_kg: replicas.achievable_kg,
            share_captured: replicas.share_captured,
            under_provisioned_minutes: replicas.under_provisioned_minutes.policy,
            counterfactual_under_provisioned_minutes: replicas.under_provisioned_minutes.blind,
            replica_hours: replicas.total_replica_hours.policy,
            counterfactual_replica_hours: replicas.total_replica_hours.blind,
            actions_per_day: replicas.scaling_actions_per_day.policy,
        },
        hpa_min: ModeFigures {
            emissions_kg: kg(g.policy),
            counterfactual_kg: kg(g.blind),
            avoided_kg: kg(g.blind - g.policy),
            achievable_kg: kg(g.blind - g.bound),
            share_captured: report::share_captured(g).map(|s| round(s, 4)),
            under_provisioned_minutes: round(u.policy, 1),
            counterfactual_under_provisioned_minutes: round(u.blind, 1),
            replica_hours: round(h.policy, 3),
            counterfactual_replica_hours: round(h.blind, 3),
            actions_per_day: per_day(floors.policy_actions.total()),
        },
        floor_actions: floors.policy_actions,
        hpa_rescales_per_day: report::PerDay {
            policy: per_day(floors.rescales.policy),
            blind: per_day(floors.rescales.blind),
        },
    }
}

/// Settings first, then the demand file (its lines are data errors, not setting errors).
fn experiment(settings: &Settings, args: &BacktestArgs) -> Result<Experiment, Error> {
    let signal: Signal = choice("--signal", &args.signal)?;
    let forecasting = match args.forecast.as_deref() {
        None => Forecasting::Perfect,
        Some(text) => {
            let model = choice("--forecast", text)?;
            if settings.policy.rebalance_forecast_secs.is_none() {
                return Err(bad(
                    "--forecast",
                    text,
                    "shapes the forecasts of REBALANCE_FORECAST, which is off; set it too (e.g. \
                     --rebalance-forecast 2h), or leave --forecast out",
                )
                .into());
            }
            model
        }
    };
    let interval = parse_secs(&args.interval)
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            bad(
                "--interval",
                &args.interval,
                "not a positive duration; write it like 1m, 30s or 5m",
            )
        })?;
    // The same power per replica as the live ledger (WATTS_PER_REPLICA), so both agree.
    let watts = settings.watts_per_replica;
    let demand = match args.demand.trim() {
        "daily" => DemandSource::Daily,
        text if text.starts_with("constant:") => DemandSource::Constant(
            text["constant:".len()..]
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    bad(
                        "--demand",
                        &args.demand,
                        "constant:N needs N replica-equivalents, a number like constant:4",
                    )
                })?,
        ),
        path => DemandSource::Trace {
            file: path.to_string(),
            trace: parse_demand(path, &read("--demand", path)?)?,
        },
    };
    let max_total: i32 = settings
        .regions
        .iter()
        .map(|r| settings.policy.bounds(&r.name).max)
        .sum();
    let scale = match (&args.demand_peak, &args.replica_capacity) {
        (Some(text), _) => Scale::Peak(positive("--demand-peak", text, "e.g. 8")?),
        (None, Some(text)) => Scale::PerReplica(positive("--replica-capacity", text, "e.g. 50")?),
        (None, None) => Scale::Peak(f64::from(max_total) / 2.0),
    };
    if let (DemandSource::Constant(_), Some(text)) = (
        &demand,
        args.demand_peak.as_ref().or(args.replica_capacity.as_ref()),
    ) {
        let flag = if args.demand_peak.is_some() {
            "--demand-peak"
        } else {
            "--replica-capacity"
        };
        return Err(bad(
            flag,
            text,
            "a constant demand is already in replica-equivalents; drop this flag",
        )
        .into());
    }
    if let (DemandSource::Daily, Some(text)) = (&demand, &args.replica_capacity) {
        return Err(bad(
            "--replica-capacity",
            text,
            "the daily pattern has no units; size it with --demand-peak instead",
        )
        .into());
    }
    let names: Vec<&str> = settings.regions.iter().map(|r| r.name.as_str()).collect();
    let explicit = region_values(
        "--carbon",
        args.carbon.as_deref().unwrap_or(""),
        &names,
        |p| (!p.is_empty()).then(|| p.to_string()),
        "a file path",
    )?;
    let mut carbon_files = Vec::new();
    for r in &settings.regions {
        let (path, flag) = match (explicit.get(&r.name), r.provider(), &args.carbon_dir) {
            // An index of 0-100 is not grams, and the backtest accounts grams.
            (_, Provider::WattTime(_), _) => {
                return Err(bad(
                    "REGIONS",
                    &r.zone,
                    format!(
                        "region {} reads WattTime's index, which is relative, not grams, and the \
                         backtest accounts grams: replay it on its grid's gCO2eq/kWh instead (an \
                         ElectricityMaps zone, or a static:PATH file)",
                        r.name
                    ),
                )
                .into())
            }
            (Some(path), _, _) => (path.clone(), "--carbon"),
            (None, Provider::Static(StaticSource::File(path)), _) => (path.to_string(), "REGIONS"),
            (None, Provider::Static(StaticSource::Grams(_)), _) => {
                return Err(no_recorded_hours(args, r, "has a constant carbon intensity").into())
            }
            (None, Provider::Ukci(_), _) => {
                return Err(no_recorded_hours(args, r, "reads the UK Carbon Intensity API").into())
            }

            (None, Provider::ElectricityMaps, Some(dir)) => (
                Path::new(dir)
                    .join(format!("{}.csv", r.zone))
                    .to_string_lossy()
                    .into_owned(),
                "--carbon-dir",
            ),
            (None, Provider::ElectricityMaps, None) => {
                return Err(bad(
                    "--carbon",
                    args.carbon.as_deref().unwrap_or(""),
                    format!(
                        "no carbon file for region {}; give --carbon-dir DIR (holding {}.csv) \
                         or --carbon {}=PATH",
                        r.name, r.zone, r.name
                    ),
                )
                .into())
            }
        };
        carbon_files.push(CarbonFile {
            region: r.name.clone(),
            zone: r.zone.clone(),
            path,
            flag,
        });
    }
    let start = region_numbers(
        "--start-replicas",
        args.start_replicas.as_deref().unwrap_or(""),
        &names,
    )?;
    let hpa = hpa_settings(settings.scale_target, args, &names)?;
    Ok(Experiment {
        forecasting,
        hpa,
        start,
        signal,
        interval,
        carbon_cache_ttl: settings.carbon_cache_ttl_secs,
        watts,
        demand,
        scale,
        carbon_start: time("--carbon-start", args.carbon_start.as_deref())?,
        demand_start: time("--demand-start", args.demand_start.as_deref())?,
        from: time("--from", args.from.as_deref())?,
        to: time("--to", args.to.as_deref())?,
        carbon_files,
    })
}

/// The HPA model's flags: read in floors mode, refused in replicas mode (where no HPA is
/// modelled, so they would be silently ignored).
fn hpa_settings(
    target: ScaleTarget,
    args: &BacktestArgs,
    names: &[&str],
) -> Result<Option<HpaSettings>, ConfigError> {
    let given = [
        ("--hpa-target-cpu", &args.hpa_target_cpu),
        ("--hpa-tolerance", &args.hpa_tolerance),
        (
            "--hpa-downscale-stabilization",
            &args.hpa_downscale_stabilization,
        ),
        ("--hpa-max-replicas", &args.hpa_max_replicas),
    ];
    if target == ScaleTarget::Replicas {
        if let Some((flag, Some(text))) = given.iter().find(|(_, v)| v.is_some()) {
            return Err(bad(
                flag,
                text,
                "only floors mode models HPAs; add --scale-target hpa-min or drop this flag",
            ));
        }
        return Ok(None);
    }
    let mut params = HpaParams::DEFAULTS;
    if let Some(text) = &args.hpa_target_cpu {
        params.target_cpu = config::percent("--hpa-target-cpu", text)?;
        if params.target_cpu <= 0.0 {
            return Err(bad(
                "--hpa-target-cpu",
                text,
                "an HPA cannot aim for 0%; use a percentage above 0, e.g. 60",
            ));
        }
    }
    if let Some(text) = &args.hpa_tolerance {
        params.tolerance = text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| (0.0..1.0).contains(v))
            .ok_or_else(|| {
                bad(
                    "--hpa-tolerance",
                    text,
                    "not a fraction from 0 to below 1; Kubernetes' default is 0.1",
                )
            })?;
    }
    if let Some(text) = &args.hpa_downscale_stabilization {
        params.downscale_stabilization_secs = parse_secs(text)
            .filter(|s| (0..=3600).contains(s))
            .ok_or_else(|| {
            bad(
                "--hpa-downscale-stabilization",
                text,
                "not a duration from 0s to 1h (Kubernetes' limit); write it like 5m",
            )
        })?;
    }
    let text = args.hpa_max_replicas.as_deref().unwrap_or("");
    let max = match text.trim().parse::<i32>() {
        Ok(n) => names.iter().map(|r| (r.to_string(), n)).collect(),
        Err(_) => region_numbers("--hpa-max-replicas", text, names)?,
    };
    if let Some(n) = max
        .values()
        .find(|n| **n < 1 || **n > config::MAX_COUNT as i32)
    {
        return Err(bad(
            "--hpa-max-replicas",
            text,
            format!(
                "{n} is not an HPA maxReplicas; use 1 to {}",
                config::MAX_COUNT
            ),
        ));
    }
    Ok(Some(HpaSettings { params, max }))
}

/// The ticks every carbon series covers, narrowed by --from/--to.
fn period(x: &Experiment, carbon: &[CarbonSeries]) -> Result<(i64, i64), ConfigError> {
    let start = carbon.iter().map(|c| c.series.start).max().unwrap_or(0);
    let end = carbon.iter().map(|c| c.series.end()).min().unwrap_or(0);
    let covered = format!("{} .. {}", to_rfc3339(start), to_rfc3339(end));
    let from = x.from.unwrap_or(start);
    let to = x.to.unwrap_or(end);
    if from < start || from >= end {
        return Err(bad(
            "--from",
            &to_rfc3339(from),
            format!("outside the period every carbon file covers ({covered})"),
        ));
    }
    if to > end || to <= from {
        return Err(bad(
            "--to",
            &to_rfc3339(to),
            format!(
                "must be after --from and within the period every carbon file covers ({covered})"
            ),
        ));
    }
    if to - from < x.interval {
        return Err(bad(
            "--interval",
            &format_secs(x.interval),
            format!("longer than the whole period ({covered}); use a shorter interval"),
        ));
    }
    Ok((from, to))
}

fn read(flag: &str, path: &str) -> Result<String, ConfigError> {
    read_text(Path::new(path)).map_err(|e| bad(flag, path, e.to_string()))
}

/// A region whose source is not a recorded series: the backtest needs a file for it.
fn no_recorded_hours(args: &BacktestArgs, r: &config::Region, what: &str) -> ConfigError {
    bad(
        "--carbon",
        args.carbon.as_deref().unwrap_or(""),
        format!(
            "region {} {what} ({}); the backtest replays recorded hours: give --carbon {}=PATH",
            r.name, r.zone, r.name
        ),
    )
}

/// A region's zone file missing from --carbon-dir: what the folder holds, and the REGIONS
/// that would use a sub-zone file it has for the zone.
fn missing_zone_file(files: &[CarbonFile], missing: &CarbonFile) -> ConfigError {
    let dir = Path::new(&missing.path).parent().unwrap_or(Path::new("."));
    let held = zones_in(dir);
    let mut problem = format!(
        "cannot read the file: no such file; region {}'s zone is {} ",
        missing.region, missing.zone
    );
    if held.is_empty() {
        problem.push_str("and the folder holds no .csv files");
        return bad("--carbon-dir", &missing.path, problem);
    }
    problem.push_str(&format!("and the folder holds {}", held.join(", ")));
    if let Some(zone) = likely_zone(&missing.zone, &held) {
        let regions: Vec<String> = files
            .iter()
            .map(|f| {
                let zone = if f.region == missing.region {
                    zone
                } else {
                    &f.zone
                };
                format!("{}={zone}", f.region)
            })
            .collect();
        problem.push_str(&format!(
            "; to use {zone}.csv, set REGIONS (--regions) to {}",
            regions.join(",")
        ));
    }
    bad("--carbon-dir", &missing.path, problem)
}

fn positive(flag: &str, text: &str, example: &str) -> Result<f64, ConfigError> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| bad(flag, text, format!("not a positive number; {example}")))
}

fn time(flag: &str, text: Option<&str>) -> Result<Option<i64>, ConfigError> {
    text.map(|t| {
        parse_time(t).ok_or_else(|| {
            bad(
                flag,
                t,
                "not a time; write 2022-01-01, 2022-01-01T06:00:00Z or with an offset like +01:00",
            )
        })
    })
    .transpose()
}

/// What the grams rest on. A plain `timestamp,value` file does not say which signal it holds,
/// so the note says it was taken on trust.
fn signal_note(signal: Signal, carbon: &[CarbonSeries]) -> String {
    let which = match signal {
        Signal::Lifecycle => {
            "life-cycle intensity (LCA: includes building plants and supplying fuel)"
        }
        Signal::Direct => "direct intensity (operational: combustion at the plant only)",
    };
    let trust = if carbon.iter().any(|c| !c.signal_known) {
        "; plain timestamp,value files are taken to hold this signal"
    } else {
        ""
    };
    format!("ElectricityMaps {which}, each value held until the next (hourly in ElectricityMaps data){trust}")
}

fn demand_label(source: &DemandSource) -> String {
    match source {
        DemandSource::Trace { file, .. } => file.clone(),
        DemandSource::Constant(v) => format!("constant {v} replica-equivalents"),
        DemandSource::Daily => {
            "synthetic daily pattern (20% of peak at 02:00 UTC, 100% at 14:00)".to_string()
        }
    }
}

fn demand_note(
    source: &DemandSource,
    scale: Scale,
    factor: f64,
    untimed_start: i64,
    from: i64,
    span: i64,
) -> String {
    let scaled = match (source, scale) {
        (DemandSource::Constant(_), _) => "no rescaling".to_string(),
        (_, Scale::Peak(p)) => {
            format!("rescaled so the busiest tick needs {p} replicas (x{factor:.4})")
        }
        (_, Scale::PerReplica(c)) => format!("one replica serves {c} units at 100% CPU"),
    };
    let DemandSource::Trace { trace, .. } = source else {
        return scaled;
    };
    let s = &trace.series;
    let (start, end) = (
        trace.start(untimed_start),
        trace.start(untimed_start) + s.end() - s.start,
    );
    let covers = start <= from && end >= from + span;
    let placed = if trace.timestamped {
        "aligned by timestamp".to_string()
    } else {
        format!(
            "{} values one per {} from {}",
            s.values.len(),
            format_secs(s.step),
            to_rfc3339(start)
        )
    };
    let repeated = if covers {
        String::new()
    } else {
        format!(
            ", repeated to cover the period ({:.1} x its {:.1} days)",
            span as f64 / (end - start) as f64,
            (end - start) as f64 / 86_400.0
        )
    };
    format!("{placed}{repeated}; {scaled}")
}

fn round(v: f64, places: i32) -> f64 {
    let p = 10f64.powi(places);
    (v * p).round() / p
}

fn triple(t: model::Triple, places: i32) -> model::Triple {
    model::Triple {
        policy: round(t.policy, places),
        blind: round(t.blind, places),
        bound: round(t.bound, places),
    }
}
