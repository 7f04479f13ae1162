//! `carbonctl simulate`: run the rule for a few ticks at a chosen CPU and show what it decides.
//! Writes nothing anywhere.

use std::process::ExitCode;

use crate::cli::{OutputFormat, SimulateArgs};
use crate::config::{
    bad, count, percent, region_numbers, region_values, ConfigError, Connect, Settings,
};
use crate::error::Error;
use crate::policy::{
    decide, rank, CarbonReading, CpuObservation, Observation, PolicyState, RegionObservation,
};
use crate::render::{self, SimRegion, SimTick, Simulation};
use crate::sample::sample_regions;

/// Simulated ticks are this far apart, like the CronJob's schedule.
const TICK_SECS: i64 = 60;

pub fn run(
    settings: &Settings,
    _connect: &Connect,
    args: &SimulateArgs,
) -> Result<ExitCode, Error> {
    let sim = simulate(settings, args, crate::clock::now())?;
    let text = match args.output {
        OutputFormat::Table => render::simulation_table(&sim),
        OutputFormat::Json => render::to_json(&sim),
        OutputFormat::Yaml => render::to_yaml(&sim),
    };
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// The whole simulation as data: pure given `now`.
pub fn simulate(
    settings: &Settings,
    args: &SimulateArgs,
    now: i64,
) -> Result<Simulation, ConfigError> {
    let cpu = percent("--cpu", &args.cpu)?;
    let names: Vec<&str> = settings.regions.iter().map(|r| r.name.as_str()).collect();
    let carbon = region_values(
        "--carbon",
        args.carbon.as_deref().unwrap_or(""),
        &names,
        parse_grams,
        "a non-negative number of gCO2eq/kWh",
    )?;
    let replicas = region_numbers("--replicas", args.replicas.as_deref().unwrap_or(""), &names)?;
    let policy = &settings.policy;
    let mut state = PolicyState {
        hold_up: count("--hold-up", &args.hold_up, 0)?,
        hold_down: count("--hold-down", &args.hold_down, 0)?,
        ..PolicyState::default()
    };
    if state.hold_up > 0 && state.hold_down > 0 {
        return Err(bad(
            "--hold-down",
            &args.hold_down,
            "cannot be set together with --hold-up: a tick breaches one side only",
        ));
    }
    let ticks = match &args.ticks {
        Some(text) => count("--ticks", text, 1)?,
        None => policy.hold_cycles,
    };

    let mut obs = Observation {
        cpu: CpuObservation::Known {
            average: cpu,
            max: cpu,
            nodes: names.len(),
        },
        regions: sample_regions(&settings.regions)
            .into_iter()
            .map(|(name, sample_replicas, sample_grams)| RegionObservation {
                replicas: replicas.get(&name).copied().unwrap_or(sample_replicas),
                carbon: carbon
                    .get(&name)
                    .copied()
                    .or(sample_grams)
                    .map(|grams_per_kwh| CarbonReading {
                        grams_per_kwh,
                        fetched_at: now,
                    }),
                name,
            })
            .collect(),
    };
    let ranked = rank(&obs, policy, now);
    let mut regions: Vec<SimRegion> = settings
        .regions
        .iter()
        .map(|r| {
            let bounds = policy.bounds(&r.name);
            let position = ranked
                .iter()
                .position(|x| x.name == r.name)
                .expect("every region is ranked");
            SimRegion {
                region: r.name.clone(),
                zone: r.zone.clone(),
                carbon: ranked[position].grams,
                rank: position + 1,
                replicas: obs
                    .regions
                    .iter()
                    .find(|o| o.name == r.name)
                    .map_or(0, |o| o.replicas),
                final_replicas: 0,
                min: bounds.min,
                max: bounds.max,
            }
        })
        .collect();

    let mut out = Vec::new();
    for tick in 0..ticks {
        let at = now + i64::from(tick) * TICK_SECS;
        let (decision, next) = decide(&obs, &state, policy, at);
        if let (Some(region), Some(to)) = (&decision.region, decision.to) {
            if let Some(r) = obs.regions.iter_mut().find(|r| &r.name == region) {
                r.replicas = to;
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
        r.final_replicas = obs
            .regions
            .iter()
            .find(|o| o.name == r.region)
            .map_or(0, |o| o.replicas);
    }
    Ok(Simulation {
        source: "sample".to_string(),
        source_note: "no cluster configured: using the built-in sample cluster".to_string(),
        cpu,
        trigger: policy.trigger.label().to_string(),
        hold_cycles: policy.hold_cycles,
        regions,
        ticks: out,
    })
}

fn parse_grams(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|g| g.is_finite() && *g >= 0.0)
}
