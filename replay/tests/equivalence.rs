//! The live tick equals the backtest: one day of the shipped extract (2022-11-01, when the
//! cleanest of DK-DK1, FR and LV changes six times) replayed through real `carbonctl tick`
//! processes against kube-emulator (`carbonctl-replay`) and through `carbonctl backtest` with
//! the same settings gives, minute by minute, the same decision (action, region, from, to) and
//! the same live-ledger grams (to 1 microgram; in practice to the last bit), having ranked on
//! the same carbon (the backtest models the tick's carbon cache). Run for the plain rule, with
//! rebalancing, and with rebalancing judged on 3-hour forecasts (the emulator's ElectricityMaps
//! forecast set from the trace, the backtest's perfect forecast). A difference fails the test
//! and prints the first minute where the two diverge, with both sides' inputs.
//!
//! Needs Debian's `faketime` (hack/setup.sh installs it) and the workspace's binaries
//! (`cargo build --workspace`, which `cargo test --workspace` does first).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const REGIONS: &str = "denmark=DK-DK1,france=FR,latvia=LV";
const FROM: &str = "2022-11-01T00:00:00Z";
const TO: &str = "2022-11-02T00:00:00Z";
/// Grams may differ by this much (summation order); they have been equal to the last bit.
const GRAMS_ROUNDING: f64 = 1e-6;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn replay_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_carbonctl-replay"))
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A command with a clean environment and the given settings.
fn command(bin: &Path, settings: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(root())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(settings.iter().copied());
    cmd
}

/// (live records, backtest records) for one policy.
fn both(name: &str, settings: &[(&str, &str)]) -> (Vec<Value>, Vec<Value>) {
    let dir = std::env::temp_dir().join(format!(
        "carbonctl-equivalence-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (live, backtest) = (dir.join("live.jsonl"), dir.join("backtest.jsonl"));
    let bins = replay_bin().parent().unwrap().to_path_buf();
    for bin in ["carbonctl", "kube-emulator"] {
        assert!(
            bins.join(bin).exists(),
            "{bin} is not built: run cargo build --workspace"
        );
    }
    let window = [
        "--carbon-dir",
        "data/carbon",
        "--demand",
        "data/demand/nasa-1995-07-03_14d_5min.csv",
        "--from",
        FROM,
        "--to",
        TO,
    ];
    let out = command(&replay_bin(), settings)
        .args(["--quiet", "--regions", REGIONS])
        .args(window)
        .arg("--ticks")
        .arg(&live)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: the live replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = command(&bins.join("carbonctl"), settings)
        .args(["--regions", REGIONS, "backtest"])
        .args(window)
        .arg("--ticks")
        .arg(&backtest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: the backtest failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pair = (records(&live), records(&backtest));
    let _ = std::fs::remove_dir_all(&dir);
    pair
}

/// The first minute whose decision, observed replicas or ranked carbon differ, shown with both
/// sides. (CPU is shown, not compared: both round it to 0.1 for display.)
fn first_divergence(live: &[Value], backtest: &[Value]) -> Option<String> {
    if live.len() != backtest.len() {
        return Some(format!(
            "{} live ticks, {} replayed",
            live.len(),
            backtest.len()
        ));
    }
    let key = |r: &Value| ["time", "decision", "replicas", "carbon"].map(|f| r[f].clone());
    let k = live
        .iter()
        .zip(backtest)
        .position(|(l, b)| key(l) != key(b))?;
    let show = |r: &Value| {
        format!(
            "cpu {} replicas {} carbon {} decision {}",
            r["cpu"], r["replicas"], r["carbon"], r["decision"]
        )
    };
    Some(format!(
        "first divergence at {}:\n  live tick: {}\n  backtest:  {}",
        live[k]["time"],
        show(&live[k]),
        show(&backtest[k])
    ))
}

/// How often the cleanest region changes over the records (by the carbon the rule saw).
fn cleanest_changes(records: &[Value]) -> usize {
    let cleanest: Vec<String> = records
        .iter()
        .map(|r| {
            let carbon = r["carbon"].as_object().unwrap();
            let (region, _) = carbon
                .iter()
                .min_by(|a, b| {
                    a.1.as_f64()
                        .unwrap()
                        .total_cmp(&b.1.as_f64().unwrap())
                        .then(a.0.cmp(b.0))
                })
                .unwrap();
            region.clone()
        })
        .collect();
    cleanest.windows(2).filter(|w| w[0] != w[1]).count()
}

fn count(records: &[Value], action: &str) -> usize {
    records
        .iter()
        .filter(|r| r["decision"]["action"] == action)
        .count()
}

#[test]
fn live_ticks_decide_as_the_backtest_replays_for_every_policy() {
    let faketime = Command::new("faketime").arg("--help").output();
    assert!(
        faketime.is_ok(),
        "faketime is not installed: hack/setup.sh test installs Debian's faketime (or apt-get install faketime)"
    );
    let cases: [(&str, &[(&str, &str)]); 3] = [
        ("plain", &[]),
        ("rebalancing", &[("REBALANCE_MARGIN", "20")]),
        (
            "forecasts",
            &[("REBALANCE_MARGIN", "20"), ("REBALANCE_FORECAST", "3h")],
        ),
    ];
    // The policies' replays in parallel: each is one tick process at a time.
    let results: Vec<(&str, Vec<Value>, Vec<Value>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(name, settings)| {
                scope.spawn(move || {
                    let (live, backtest) = both(name, settings);
                    (*name, live, backtest)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (name, live, backtest) in &results {
        assert_eq!(live.len(), 24 * 60, "{name}: one tick per minute");
        if let Some(why) = first_divergence(live, backtest) {
            panic!("{name}: {why}");
        }
        let (l, b) = (live.last().unwrap(), backtest.last().unwrap());
        for grams in ["emittedGrams", "blindGrams"] {
            let (l, b) = (l[grams].as_f64().unwrap(), b[grams].as_f64().unwrap());
            assert!(
                (l - b).abs() <= GRAMS_ROUNDING,
                "{name}: {grams} live {l} backtest {b}"
            );
        }
        // The day exercises what could drift: the cleanest region changing, and changes made.
        assert!(
            cleanest_changes(live) >= 5,
            "{name}: {} changes of the cleanest region",
            cleanest_changes(live)
        );
        assert!(
            count(live, "scale_up") > 0 && count(live, "scale_down") > 0,
            "{name}"
        );
    }
    let rebalancing = &results[1].1;
    assert!(
        count(rebalancing, "rebalance") > 0,
        "the margin moves replicas this day"
    );
    // This day the 3-hour forecasts hold moves the margin alone makes (both of them, at the
    // time of writing; fewer is what is asserted).
    let forecasts = &results[2].1;
    assert!(
        count(forecasts, "rebalance") < count(rebalancing, "rebalance"),
        "forecasts hold some of the day's moves: {} against {}",
        count(forecasts, "rebalance"),
        count(rebalancing, "rebalance")
    );
}

#[test]
fn a_divergence_is_reported_at_its_first_minute_with_both_sides_inputs() {
    let tick = |time: &str, cpu: f64, to: Option<i32>| {
        serde_json::json!({"time": time, "cpu": cpu, "replicas": {"france": 2},
            "carbon": {"france": 40.0},
            "decision": to.map(|to| serde_json::json!({"action": "scale_up", "region": "france", "from": 2, "to": to}))})
    };
    let live = [
        tick("t0", 71.0, None),
        tick("t1", 71.0, Some(3)),
        tick("t2", 20.0, None),
    ];
    let same = [
        tick("t0", 70.9, None),
        tick("t1", 71.0, Some(3)),
        tick("t2", 20.0, Some(1)),
    ];
    let why = first_divergence(&live, &same).expect("t2 differs");
    assert!(why.starts_with("first divergence at \"t2\""), "{why}");
    assert!(
        why.contains("live tick: cpu 20.0") && why.contains("\"to\":1"),
        "{why}"
    );
    assert_eq!(first_divergence(&live, &live), None);
    assert_eq!(
        first_divergence(&live, &live[..2]).unwrap(),
        "3 live ticks, 2 replayed"
    );
}
