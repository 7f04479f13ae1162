//! `carbonctl-replay`: a period of real grid carbon and demand replayed through real
//! `carbonctl tick` processes against kube-emulator, one per simulated minute. Each tick runs
//! under libfaketime at its minute, and the emulator's clock, each zone's carbon and every
//! region node's CPU (the period's demand over the replicas the cluster runs) are set to that
//! minute through its admin API first; the tick then reads state, lists, fetches carbon,
//! claims, scales and records as it would on a cluster. `make demo` runs it; the equivalence
//! test compares its records with `carbonctl backtest --ticks` over the same period.
//!
//! A workspace binary rather than a script: it reads the period with the backtest's own
//! parsers and rescaling (so both replay the same demand and carbon, minute for minute), reads
//! the ledger with carbonctl's state parser, and draws the backtest's chart, all of which a
//! script would have to write again.

mod emulator;
mod summary;
mod tick;

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::{anyhow, bail, Context, Result};
use carbonctl::backtest::model::{cpu_percent, TimelinePoint};
use carbonctl::backtest::trace::TickRecord;
use carbonctl::cli::Cli;
use carbonctl::clock::to_rfc3339;
use carbonctl::config::Settings;
use carbonctl::logging::console_line;
use clap::Parser;
use serde_json::Value;

use emulator::{Emulator, CARBON_TOKEN};

/// Replays a period through real carbonctl ticks against kube-emulator, one per minute.
///
/// Every other carbonctl setting (HOLD_CYCLES, COOLDOWN, REBALANCE_MARGIN, ...) is read from
/// the environment, by the ticks and by the replay's inputs alike, as `carbonctl backtest`
/// reads it.
#[derive(Debug, Parser)]
#[command(name = "carbonctl-replay", version)]
struct Args {
    /// The regions and their zones; the emulated cluster has denmark, france and latvia.
    #[arg(long, default_value = "denmark=DK-DK1,france=FR,latvia=LV")]
    regions: String,
    /// One carbon file per zone, DIR/ZONE.csv (as `carbonctl backtest --carbon-dir`).
    #[arg(long, value_name = "DIR", default_value = "data/carbon")]
    carbon_dir: String,
    /// The demand trace (as `carbonctl backtest --demand`).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "data/demand/nasa-1995-07-03_14d_5min.csv"
    )]
    demand: String,
    /// Rescale demand so its busiest minute needs this many replicas [default: half the
    /// regions' total max replicas].
    #[arg(long, value_name = "REPLICAS")]
    demand_peak: Option<String>,
    /// The first minute replayed.
    #[arg(long, value_name = "TIME", default_value = "2022-11-01T15:00:00Z")]
    from: String,
    /// The end of the period (exclusive).
    #[arg(long, value_name = "TIME", default_value = "2022-11-01T21:00:00Z")]
    to: String,
    /// Also write one JSON line per tick, as `carbonctl backtest --ticks` does.
    #[arg(long, value_name = "PATH")]
    ticks: Option<PathBuf>,
    /// Also write an SVG chart of replicas and carbon per region.
    #[arg(long, value_name = "PATH")]
    chart: Option<PathBuf>,
    /// Where carbonctl and kube-emulator are [default: next to this binary].
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,
    /// Print only the summary, not every tick's line.
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("carbonctl-replay: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The settings as carbonctl reads them, and the backtest's command line for this period.
fn settings_and_inputs(args: &Args) -> Result<(Settings, Cli)> {
    let mut line = vec![
        "carbonctl",
        "--regions",
        &args.regions,
        "backtest",
        "--carbon-dir",
        &args.carbon_dir,
        "--demand",
        &args.demand,
        "--from",
        &args.from,
        "--to",
        &args.to,
    ];
    if let Some(peak) = &args.demand_peak {
        line.extend(["--demand-peak", peak]);
    }
    let cli = Cli::try_parse_from(line).map_err(|e| anyhow!("{e}"))?;
    let settings = Settings::from_args(&cli.cluster, &cli.policy)?;
    for region in &settings.regions {
        if !emulator::REGIONS.contains(&region.name.as_str()) {
            bail!(
                "--regions: the emulated cluster has regions {}, not {:?}; name yours so (the zones are free, e.g. denmark=DK-DK1,france=LT,latvia=LV)",
                emulator::REGIONS.join(", "),
                region.name
            );
        }
    }
    Ok((settings, cli))
}

/// The environment of every tick: the caller's settings, minus what could point it elsewhere
/// or change its output, plus the emulator's address and token.
fn tick_env(emu: &Emulator, regions: &str) -> Vec<(String, String)> {
    let dropped = |k: &str| {
        k.starts_with("KUBERNETES_")
            || k.ends_with("_TOKEN")
            || k.to_ascii_lowercase().ends_with("_proxy")
            || matches!(
                k,
                "KUBECONFIG" | "CARBON_API_URL" | "PUSHGATEWAY_URL" | "RUST_BACKTRACE" | "RUST_LOG"
            )
    };
    let mut env: Vec<(String, String)> = std::env::vars().filter(|(k, _)| !dropped(k)).collect();
    env.extend([
        ("KUBECONFIG".into(), emu.kubeconfig.display().to_string()),
        ("CARBON_API_URL".into(), format!("{}/v3", emu.url)),
        ("CARBON_API_TOKEN".into(), CARBON_TOKEN.into()),
        ("REGIONS".into(), regions.into()),
    ]);
    env
}

fn bin_dir(args: &Args) -> Result<PathBuf> {
    if let Some(dir) = &args.bin_dir {
        return Ok(dir.clone());
    }
    let exe = std::env::current_exe().context("where this binary is")?;
    Ok(exe.parent().map(Path::to_path_buf).unwrap_or_default())
}

fn run(args: &Args) -> Result<()> {
    let (settings, cli) = settings_and_inputs(args)?;
    let carbonctl::cli::Command::Backtest(backtest) = &cli.command else {
        unreachable!("the command line above is a backtest");
    };
    let prepared = carbonctl::cmd::backtest::prepare(&settings, backtest)?;
    let policy = &settings.policy;
    let inputs = prepared.regions(policy);
    let names: Vec<&str> = inputs.iter().map(|r| r.name.as_str()).collect();
    let watts = prepared.watts_per_replica();

    let bins = bin_dir(args)?;
    let carbonctl_bin = bins.join("carbonctl");
    for bin in [&carbonctl_bin, &bins.join("kube-emulator")] {
        if !bin.exists() {
            bail!(
                "{} is missing: build it with `cargo build --workspace`",
                bin.display()
            );
        }
    }
    let work = std::env::temp_dir().join(format!("carbonctl-replay-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let emu = Emulator::start(&bins.join("kube-emulator"), &work)?;
    let env = tick_env(&emu, &args.regions);
    emu.set_clock(prepared.from())?;
    for r in &inputs {
        emu.scale(&settings.deployment_name(&r.name), r.start)?;
    }
    emu.create_state(&settings.state_configmap)?;
    let mut ticks_file = match &args.ticks {
        Some(path) => {
            Some(File::create(path).with_context(|| format!("--ticks {}", path.display()))?)
        }
        None => None,
    };
    let colour = std::io::stdout().is_terminal();
    let started = std::time::Instant::now();
    let mut records: Vec<TickRecord> = Vec::new();
    let mut timeline: Vec<TimelinePoint> = Vec::new();
    let mut set_carbon: Vec<Option<(f64, i64)>> = vec![None; inputs.len()];
    // With REBALANCE_FORECAST, each zone's forecast is the trace's own hours from the current
    // one, as the backtest's perfect forecast (the period must end a horizon before the data).
    let forecast_hours = policy.rebalance_forecast_secs.map(|secs| secs / 3600);
    let mut signals: Vec<String> = Vec::new();
    for (k, &demand) in prepared.demand().iter().enumerate() {
        let now = prepared.from() + k as i64 * prepared.interval();
        emu.set_clock(now)?;
        let mut carbon = Vec::with_capacity(inputs.len());
        for ((r, set), region) in inputs.iter().zip(&mut set_carbon).zip(&settings.regions) {
            let value = r
                .carbon
                .at(now)
                .expect("the period lies within every carbon series");
            let hour = now - now.rem_euclid(3600);
            if *set != Some((value, hour)) {
                let forecast: Option<Vec<f64>> = forecast_hours.map(|hours| {
                    (0..hours)
                        .map_while(|k| r.carbon.at(hour + k * 3600))
                        .collect()
                });
                emu.set_carbon(&region.zone, value, forecast.as_deref())?;
                *set = Some((value, hour));
            }
            carbon.push(value);
        }
        let mut replicas = std::collections::BTreeMap::new();
        for name in &names {
            replicas.insert(
                name.to_string(),
                emu.replicas(&settings.deployment_name(name))?,
            );
        }
        emu.set_cpu(cpu_percent(demand, replicas.values().sum()))?;
        let ticked = tick::run(&carbonctl_bin, &env, now)?;
        let clock = to_rfc3339(now);
        if !args.quiet {
            for line in &ticked.lines {
                println!("{} {}", &clock[11..16], console(line, colour));
            }
        }
        if !ticked.success {
            bail!("the tick at {clock} failed (lines above)");
        }
        let ledger = emu
            .state(&settings.state_configmap)?
            .ledger
            .ok_or_else(|| anyhow!("the tick at {clock} left no ledger in the state"))?;
        signals.clone_from(&ledger.signals);
        let record = TickRecord {
            time: clock,
            cpu: ticked.cpu(),
            replicas,
            carbon: ticked.carbon(),
            decision: ticked.change()?,
            emitted_grams: ledger.emitted_grams(watts),
            blind_grams: ledger.blind_grams(watts),
        };
        if let Some(file) = &mut ticks_file {
            writeln!(file, "{}", serde_json::to_string(&record)?)?;
        }
        timeline.push(TimelinePoint {
            time: now,
            replicas: names
                .iter()
                .map(|n| f64::from(summary::after(&record, n)))
                .collect(),
            carbon,
            demand,
        });
        records.push(record);
    }
    let took = started.elapsed();
    print!("{}", summary::text(&records, &names, watts, &signals));
    println!(
        "{} tick processes in {:.1} s ({:.0} ms each, with the emulator calls around them)",
        records.len(),
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / records.len().max(1) as f64
    );
    if let Some(path) = &args.chart {
        let signal = backtest.signal.as_str();
        std::fs::write(
            path,
            carbonctl::render::chart::svg(&names, &timeline, signal),
        )
        .with_context(|| format!("--chart {}", path.display()))?;
        println!("chart: {}", path.display());
    }
    drop(emu);
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// A tick's JSON log line as carbonctl's console view shows it.
fn console(line: &Value, colour: bool) -> String {
    let level = line["level"]
        .as_str()
        .and_then(|l| log::Level::from_str(l).ok())
        .unwrap_or(log::Level::Info);
    let is_event = line.get("decision").is_some();
    let text = line["message"].as_str().unwrap_or_default();
    console_line(level, is_event.then_some(line), text, colour)
}
