//! `carbonctl simulate`: run the rule for a few ticks at a chosen CPU and show what it decides.
//! It starts from the live cluster and state when one is reachable (read-only), else from the
//! built-in sample, and says which. Writes nothing anywhere.

use std::process::ExitCode;

use crate::cli::{OutputFormat, SimulateArgs};
use crate::config::{
    bad, count, percent, region_numbers, region_values, ConfigError, Connect, Settings,
};
use crate::error::Error;
use crate::k8s::Fleet;
use crate::pipeline;
use crate::policy::{
    decide, rank, CarbonReading, CpuObservation, Observation, PolicyState, RegionObservation,
};
use crate::render::{self, SimRegion, SimTick, Simulation};
use crate::sample::sample_regions;

/// Simulated ticks are this far apart, like the CronJob's schedule.
const TICK_SECS: i64 = 60;

/// Where a simulation starts: regions with replicas and carbon, and the rule's state.
pub struct Start {
    pub source: &'static str,
    pub note: String,
    pub regions: Vec<RegionObservation>,
    pub state: PolicyState,
}

pub fn run(settings: &Settings, connect: &Connect, args: &SimulateArgs) -> Result<ExitCode, Error> {
    // Flags are checked before touching the network, so a typo fails fast with exit 2.
    let params = Params::parse(settings, args)?;
    let now = crate::clock::now();
    let live = if args.sample {
        Err(None)
    } else {
        super::block_on_bounded(connect, live_start(settings, connect, now)).map_err(Some)
    };
    let start = match live {
        Ok(start) => start,
        Err(None) => sample_start(
            settings,
            "--sample: using the built-in sample cluster".into(),
            now,
        ),
        Err(Some(e)) => {
            let why = match e {
                Error::NoCluster { .. } => "no cluster configured".to_string(),
                other => format!("cluster not readable ({other})"),
            };
            sample_start(
                settings,
                format!("{why}: using the built-in sample cluster"),
                now,
            )
        }
    };
    let sim = simulate(settings, &params, start, now);
    let text = match args.output {
        OutputFormat::Table => render::simulation_table(&sim),
        OutputFormat::Json => render::to_json(&sim),
        OutputFormat::Yaml => render::to_yaml(&sim),
    };
    render::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

pub fn sample_start(settings: &Settings, note: String, now: i64) -> Start {
    Start {
        source: "sample",
        note,
        regions: sample_regions(&settings.regions)
            .into_iter()
            .map(|(name, replicas, grams)| RegionObservation {
                deployment: settings.deployment_name(&name),
                name,
                replicas,
                ready: replicas,
                available: replicas,
                nodes: None,
                carbon: grams.map(|grams_per_kwh| CarbonReading {
                    grams_per_kwh,
                    fetched_at: now,
                    forecast_grams: None,
                }),
            })
            .collect(),
        state: PolicyState::default(),
    }
}

/// The live cluster's regions and the state's counters, read the way a tick reads them.
async fn live_start(settings: &Settings, connect: &Connect, now: i64) -> Result<Start, Error> {
    let fleet = Fleet::connect(connect).await?;
    let (loaded, observed) =
        pipeline::load_and_observe(&fleet, settings, connect, now, true).await?;
    let clusters = if fleet.members.is_empty() {
        "the cluster".to_string()
    } else {
        format!("the fleet of {} clusters", fleet.members.len())
    };
    Ok(Start {
        source: "cluster",
        note: format!(
            "read-only from {clusters}: Deployments and state in namespace {}, CPU replaced by --cpu",
            fleet.home.namespace
        ),
        regions: observed.observation.regions,
        state: loaded.state.policy,
    })
}

/// The simulation's flags, validated.
pub struct Params {
    pub cpu: f64,
    pub carbon: std::collections::BTreeMap<String, f64>,
    pub replicas: std::collections::BTreeMap<String, i32>,
    pub hold_up: Option<u32>,
    pub hold_down: Option<u32>,
    pub ticks: u32,
}

impl Params {
    pub fn parse(settings: &Settings, args: &SimulateArgs) -> Result<Params, ConfigError> {
        let names: Vec<&str> = settings.regions.iter().map(|r| r.name.as_str()).collect();
        let hold = |flag: &str, text: &Option<String>| {
            text.as_ref().map(|t| count(flag, t, 0)).transpose()
        };
        let params = Params {
            cpu: percent("--cpu", &args.cpu)?,
            carbon: region_values(
                "--carbon",
                args.carbon.as_deref().unwrap_or(""),
                &names,
                parse_grams,
                "a non-negative number of gCO2eq/kWh",
            )?,
            replicas: region_numbers("--replicas", args.replicas.as_deref().unwrap_or(""), &names)?,
            hold_up: hold("--hold-up", &args.hold_up)?,
            hold_down: hold("--hold-down", &args.hold_down)?,
            ticks: match &args.ticks {
                Some(text) => count("--ticks", text, 1)?,
                None => settings.policy.hold_cycles,
            },
        };
        if params.hold_up.unwrap_or(0) > 0 && params.hold_down.unwrap_or(0) > 0 {
            return Err(bad(
                "--hold-down",
                args.hold_down.as_deref().unwrap_or_default(),
                "cannot be combined with --hold-up: a tick breaches one side only",
            ));
        }
        Ok(params)
    }
}

/// The whole simulation as data: pure given its start and `now`.
pub fn simulate(settings: &Settings, params: &Params, start: Start, now: i64) -> Simulation {
    let names: Vec<&str> = settings.regions.iter().map(|r| r.name.as_str()).collect();
    let (cpu, policy) = (params.cpu, &settings.policy);
    let mut state = start.state;
    // Flags win over the live state's counters; setting one side clears the other.
    if let Some(n) = params.hold_up {
        state.hold_up = n;
        state.hold_down = 0;
    }
    if let Some(n) = params.hold_down {
        state.hold_down = n;
        if n > 0 {
            state.hold_up = 0;
        }
    }

    let mut obs = Observation {
        cpu: CpuObservation::Known {
            average: cpu,
            max: cpu,
            nodes: names.len(),
            missing: 0,
        },
        regions: start
            .regions
            .into_iter()
            .map(|mut r| {
                if let Some(n) = params.replicas.get(&r.name) {
                    r.replicas = *n;
                    r.ready = *n;
                    r.available = *n;
                }
                if let Some(g) = params.carbon.get(&r.name) {
                    r.carbon = Some(CarbonReading {
                        grams_per_kwh: *g,
                        fetched_at: now,
                        forecast_grams: None,
                    });
                }
                r
            })
            .collect(),
    };
    let ranked = rank(&obs, policy, now);
    let mut regions: Vec<SimRegion> = ranked
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let bounds = policy.bounds(r.name);
            SimRegion {
                region: r.name.to_string(),
                zone: settings
                    .regions
                    .iter()
                    .find(|x| x.name == r.name)
                    .map(|x| x.zone.clone())
                    .unwrap_or_default(),
                carbon: r.grams,
                rank: i + 1,
                replicas: r.replicas,
                final_replicas: r.replicas,
                min: bounds.min,
                max: bounds.max,
            }
        })
        .collect();
    regions.sort_by_key(|r| names.iter().position(|n| *n == r.region));

    let mut out = Vec::new();
    for tick in 0..params.ticks {
        let at = now + i64::from(tick) * TICK_SECS;
        let (decision, next) = decide(&obs, &state, policy, at);
        if let Some(change) = decision.change() {
            // Simulated Deployments become ready by the next tick.
            if let Some(r) = obs.regions.iter_mut().find(|r| r.name == change.region) {
                r.replicas = change.to;
                r.ready = change.to;
                r.available = change.to;
            }
        }
        state = next;
        out.push(SimTick {
            tick: tick + 1,
            hold_up: state.hold_up,
            hold_down: state.hold_down,
            decision,
        });
    }
    for r in &mut regions {
        if let Some(o) = obs.regions.iter().find(|o| o.name == r.region) {
            r.final_replicas = o.replicas;
        }
    }
    Simulation {
        source: start.source.to_string(),
        source_note: start.note,
        cpu,
        trigger: render::trigger_label(policy.trigger).to_string(),
        hold_cycles: policy.hold_cycles,
        carbon_unit: render::unit_label(policy.carbon_unit).into(),
        regions,
        ticks: out,
    }
}

fn parse_grams(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|g| g.is_finite() && *g >= 0.0)
}
