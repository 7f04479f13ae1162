//! How long a backtest takes: one year of one-minute ticks for three regions, the size of
//! the real-data backtest in docs/backtest.md, and the policy's decisions alone next to a
//! plain CPython loop of the same rule (`benches/plain_rule.py`) on the same inputs, in one
//! run. Prints figures; asserts nothing about time (GUIDE: never a timed assertion). Run with
//! `cargo bench --bench backtest`.

use std::path::Path;
use std::time::Instant;

use clap::Parser;

use carbonctl::backtest::demand::{per_tick, rescale, DemandSource, Scale};
use carbonctl::backtest::forecast::Forecasting;
use carbonctl::backtest::model::{decisions, replay, RegionInput, Replay};
use carbonctl::backtest::series::Series;
use carbonctl::cli::{Cli, Command};
use carbonctl::config::Settings;
use carbonctl::policy::Policy;

const YEAR_START: i64 = 1_640_995_200; // 2022-01-01T00:00:00Z
const HOURS: usize = 8760;
const TICKS: usize = HOURS * 60;

/// The documented defaults, read from the same place the CLI reads them.
fn policy() -> Policy {
    carbonctl::config::defaults().policy
}

/// Hourly carbon with a daily swing and a slow drift, so rankings change through the year.
fn carbon(mean: f64, swing: f64, phase: f64) -> Series {
    Series {
        start: YEAR_START,
        step: 3600,
        values: (0..HOURS)
            .map(|h| {
                let day = (h as f64 / 24.0 * std::f64::consts::TAU + phase).sin();
                let season = (h as f64 / HOURS as f64 * std::f64::consts::TAU * 5.0).cos();
                mean + swing * day + 0.5 * swing * season
            })
            .collect(),
    }
}

fn main() {
    let regions = vec![
        RegionInput {
            name: "denmark".into(),
            carbon: carbon(200.0, 120.0, 0.0),
            start: 1,
        },
        RegionInput {
            name: "france".into(),
            carbon: carbon(100.0, 40.0, 1.0),
            start: 1,
        },
        RegionInput {
            name: "latvia".into(),
            carbon: carbon(280.0, 200.0, 2.0),
            start: 1,
        },
    ];
    let policy = policy();
    let started = Instant::now();
    let mut demand = per_tick(&DemandSource::Daily, YEAR_START, 60, TICKS, YEAR_START);
    rescale(&mut demand, &DemandSource::Daily, Scale::Peak(12.0));
    let demand_time = started.elapsed();

    let r = Replay {
        regions: &regions,
        policy: &policy,
        from: YEAR_START,
        interval: 60,
        carbon_cache_ttl: 300,
        demand: &demand,
        watts_per_replica: 2.4,
        timeline_points: 600,
        forecasting: Forecasting::Perfect,
    };
    let mut best = f64::MAX;
    let mut actions = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let outcome = replay(&r);
        best = best.min(started.elapsed().as_secs_f64());
        actions = outcome.policy_actions.total();
    }
    println!("backtest replay: {TICKS} one-minute ticks x 3 regions (one year): the policy and the carbon-blind rule, the bound and the accounting");
    println!(
        "  demand per tick built in {:.3} s",
        demand_time.as_secs_f64()
    );
    println!(
        "  replay, best of 5: {best:.3} s ({:.0} ns per tick; budget 2 s)",
        best * 1e9 / TICKS as f64
    );
    println!("  policy scaling actions in the year: {actions}");
    against_python(&r);
    end_to_end();
}

/// The policy's decisions over the year alone, best of 5, next to the plain CPython loop of
/// the same rule on the same inputs, best of 3, alternating; both must make the same actions.
fn against_python(r: &Replay) {
    let input = std::env::temp_dir().join(format!(
        "carbonctl-bench-plain-rule-{}.json",
        std::process::id()
    ));
    let p = r.policy;
    let json = serde_json::json!({
        "regions": r.regions.iter().map(|x| x.name.clone()).collect::<Vec<_>>(),
        "carbon": r.regions.iter().map(|x| x.carbon.values.clone()).collect::<Vec<_>>(),
        "demand": r.demand,
        "from": r.from,
        "interval": r.interval,
        "scaleUpThreshold": p.scale_up_threshold,
        "scaleDownThreshold": p.scale_down_threshold,
        "holdCycles": p.hold_cycles,
        "cooldownSecs": p.cooldown_secs,
        "min": p.default_bounds.min,
        "max": p.default_bounds.max,
    });
    std::fs::write(&input, json.to_string()).expect("the bench writes its input");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/plain_rule.py");
    let (mut rust, mut python) = (f64::MAX, f64::MAX);
    let (mut rust_actions, mut python_actions) = (0, 0);
    for round in 0..5 {
        let started = Instant::now();
        rust_actions = decisions(r).total();
        rust = rust.min(started.elapsed().as_secs_f64());
        if round >= 3 {
            continue;
        }
        let out = std::process::Command::new("python3")
            .arg(&script)
            .arg(&input)
            .output();
        let Some(out) = out.ok().filter(|o| o.status.success()) else {
            println!(
                "  plain CPython loop: skipped (python3 did not run {})",
                script.display()
            );
            let _ = std::fs::remove_file(&input);
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let mut fields = text.split_whitespace();
        python = python.min(
            fields
                .next()
                .and_then(|t| t.parse().ok())
                .unwrap_or(f64::MAX),
        );
        python_actions = fields.next().and_then(|t| t.parse().ok()).unwrap_or(0);
    }
    let _ = std::fs::remove_file(&input);
    println!(
        "  the policy's decisions alone, one year: best of 5 {rust:.4} s ({:.1} ns per tick), {rust_actions} actions",
        rust * 1e9 / TICKS as f64
    );
    println!(
        "  the same rule as a plain CPython loop (benches/plain_rule.py): best of 3 {python:.4} s, {python_actions} actions",
    );
    let agree = if rust_actions == python_actions {
        "the same actions"
    } else {
        "DIFFERENT actions"
    };
    println!(
        "  ratio CPython / Rust: {:.1}x ({agree}; target at least 20x)",
        python / rust
    );
}

/// The real-data run of docs/backtest.md, reading and parsing included, when ../shared is beside this
/// checkout (the NASA trace is unpacked with the system's tar).
fn end_to_end() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    let carbon = shared.join("carbon/umassos-decarbonization-potential_2022_LCA");
    let archive = shared.join("demand/nasa/workload.tbz2");
    if !carbon.is_dir() || !archive.is_file() {
        println!("end to end: skipped ({} not found)", shared.display());
        return;
    }
    let workload = std::env::temp_dir().join("carbonctl-bench-nasa-workload.txt");
    let unpacked = std::process::Command::new("tar")
        .arg("-xjOf")
        .arg(&archive)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| std::fs::write(&workload, o.stdout).is_ok());
    if unpacked != Some(true) {
        println!(
            "end to end: skipped (could not unpack {})",
            archive.display()
        );
        return;
    }
    let args = [
        "carbonctl",
        "backtest",
        "--regions",
        "denmark=DK-DK1,france=FR,latvia=LV",
        "--carbon-dir",
        carbon.to_str().unwrap(),
        "--carbon-start",
        "2022-01-01",
        "--demand",
        workload.to_str().unwrap(),
        "--demand-peak",
        "12",
    ];
    let cli = Cli::try_parse_from(args).expect("bench arguments parse");
    let Command::Backtest(bt) = &cli.command else {
        unreachable!("the arguments name the backtest command")
    };
    let settings =
        Settings::from_args(&cli.cluster, &cli.policy).expect("bench settings are valid");
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let (report, _) =
            carbonctl::cmd::backtest::backtest(&settings, bt).expect("the real-data backtest runs");
        best = best.min(started.elapsed().as_secs_f64());
        assert_eq!(
            report.period.ticks, TICKS,
            "a whole year of one-minute ticks"
        );
    }
    println!("end to end on 2022 DK-DK1/FR/LV lifecycle + NASA trace (read, parse, replay, report): best of 3 {best:.3} s");
    let _ = std::fs::remove_file(workload);
}
