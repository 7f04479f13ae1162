//! REBALANCE_FORECAST end to end: each provider's forecast fetched with its value
//! (ElectricityMaps' forecast endpoint, the UK API's fw24h, a static file's hours ahead), a move
//! the latest values call for held while the forecasts disagree and made once they agree, and a
//! forecast that fails leaving its region to be judged on the latest value, said in the log and
//! in `status -o wide`.

mod common;

use std::time::Duration;

use common::cluster::{tick_line, Cluster};
use common::hourly_carbon_file;
use kube_emulator::{Fault, FaultKind};

fn carbon(c: &Cluster) -> serde_json::Value {
    serde_json::from_str(&c.state()["carbon"]).unwrap()
}

/// Demo regions with rebalancing on, CPU inside the band, france's carbon from `france` at 40 g
/// now, and latvia's from a file: 300 g now, 100 g next hour.
fn looking_ahead(france: &str) -> Cluster {
    let mut c = Cluster::demo();
    let latvia = hourly_carbon_file(&[300.0, 300.0, 300.0, 100.0, 100.0]);
    c.set(
        "REGIONS",
        &format!("denmark=DK,france={france},latvia=static:{latvia}"),
    );
    c.set("REBALANCE_MARGIN", "20");
    c.set("REBALANCE_FORECAST", "2h");
    c.set("CARBON_CACHE_TTL", "1s");
    c.emu.set_carbon("FR", 40.0);
    c.emu.set_cpu_percent(None, 50.0);
    c
}

#[test]
fn a_move_waits_while_the_forecast_disagrees_and_goes_when_it_agrees() {
    let c = looking_ahead("FR");
    // france: 40 now, 400 next hour: 220 on average, dirtier than latvia's 200.
    c.emu.set_forecast("FR", &[40.0, 400.0]);
    let line = tick_line(&c.tick());
    assert_eq!(c.replicas(), [2, 2, 2], "held: {line}");
    assert_eq!(
        line["decision"]["reason"],
        "hold: avg CPU 50% within 30%..70%; rebalance held: france is 260 g/kWh cleaner than \
         latvia now, -20 g/kWh on average over the next 2h",
        "{line}"
    );
    let seen = carbon(&c);
    for (region, mean) in [("denmark", 142.0), ("france", 220.0), ("latvia", 200.0)] {
        assert_eq!(
            seen[region]["forecastGramsPerKwh"], mean,
            "{region}: {seen}"
        );
        assert_eq!(seen[region]["forecastHours"], 2, "{region}: {seen}");
    }
    let ranked = &line["carbon"][0];
    assert_eq!(
        (&ranked["region"], &ranked["forecastGramsPerKwh"]),
        (&serde_json::json!("france"), &serde_json::json!(220.0)),
        "the log line carries each forecast: {line}"
    );

    // The forecast now agrees: france stays at 40 g.
    c.emu.set_forecast("FR", &[40.0]);
    std::thread::sleep(Duration::from_millis(1100));
    let line = tick_line(&c.tick());
    assert_eq!(c.replicas(), [2, 3, 2], "{line}");
    assert_eq!(
        line["decision"]["reason"],
        "rebalance 1/2: france 2->3, 260 g/kWh cleaner than latvia (160 g/kWh on average over \
         the next 2h)",
        "{line}"
    );
    let asked: Vec<String> = c
        .emu
        .requests()
        .iter()
        .filter(|r| r.path == "/v3/carbon-intensity/forecast")
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(
        asked.iter().filter(|q| q.starts_with("zone=FR&")).count(),
        2,
        "one forecast per fetch of the value: {asked:?}"
    );
    assert!(
        asked.iter().all(|q| q.ends_with("&horizonHours=6")),
        "{asked:?}"
    );
}

#[test]
fn a_failed_forecast_leaves_its_region_on_the_latest_value_and_says_so() {
    let c = looking_ahead("ukci:13");
    c.emu.set_ukci("13", 40.0);
    c.emu.inject_fault(Fault::new(
        "/ukci/regional/intensity/",
        FaultKind::Status(500),
    ));
    let out = c.tick();
    let line = tick_line(&out);
    assert_eq!(
        c.replicas(),
        [2, 3, 2],
        "without its forecast, france is judged on the latest: {line}"
    );
    assert!(
        out.stderr.contains(
            "no 2h carbon forecast for france; its moves are judged on the latest value: zone \
             ukci:13: HTTP 500"
        ),
        "{}",
        out.stderr
    );
    let seen = carbon(&c);
    assert_eq!(seen["france"]["gramsPerKwh"], 40.0, "{seen}");
    assert_eq!(seen["france"]["forecastError"], "zone ukci:13: HTTP 500");
    assert!(
        seen["france"].get("forecastGramsPerKwh").is_none(),
        "{seen}"
    );
    let table = c.run(&["status", "-o", "wide"]).stdout;
    let row = table
        .lines()
        .find(|l| l.contains("ukci:13"))
        .unwrap_or_default();
    assert!(row.contains("none for 2h"), "{table}");
    assert!(row.contains("forecast: zone ukci:13: HTTP 500"), "{table}");
    let json = c.run(&["status", "-o", "json"]).json();
    assert_eq!(json["regions"][2]["forecastGramsPerKwh"], 200.0, "{json}");
}

#[test]
fn turning_forecasts_on_fetches_them_at_once_and_off_drops_them() {
    let mut c = looking_ahead("FR");
    c.set("CARBON_CACHE_TTL", "1h");
    c.set("REBALANCE_FORECAST", "off");
    c.tick();
    assert!(carbon(&c)["france"].get("forecastHours").is_none());
    c.set("REBALANCE_FORECAST", "3h");
    c.tick();
    let seen = carbon(&c);
    assert_eq!(seen["france"]["forecastHours"], 3, "within the TTL: {seen}");
    c.set("REBALANCE_FORECAST", "off");
    c.tick();
    let seen = carbon(&c);
    assert!(seen["france"].get("forecastHours").is_none(), "{seen}");
    assert!(
        seen["france"].get("forecastGramsPerKwh").is_none(),
        "{seen}"
    );
}

/// The backtest on the shipped extract, rebalancing at 20 g, with `extra` flags.
fn backtest(regions: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "backtest",
        "--regions",
        regions,
        "--carbon-dir",
        "data/carbon",
        "--demand",
        "data/demand/nasa-1995-07-03_14d_5min.csv",
        "--demand-peak",
        "12",
        "--rebalance-margin",
        "20",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = common::carbonctl(&args);
    assert_eq!(out.code, 0, "{extra:?}: {}", out.stderr);
    out.json()
}

#[test]
fn the_backtest_replays_perfect_and_degraded_forecasts_the_same_under_any_names() {
    const REGIONS: &str = "denmark=DK-DK1,france=FR,latvia=LV";
    let steps = |j: &serde_json::Value| j["actions"]["policy"]["rebalance"].as_u64().unwrap();
    let latest = backtest(REGIONS, &[]);
    assert!(latest.get("forecast").is_none(), "{latest}");
    let perfect = backtest(REGIONS, &["--rebalance-forecast", "4h"]);
    assert_eq!(
        perfect["forecast"],
        serde_json::json!({"horizon": "4h", "model": "perfect"})
    );
    assert!(
        steps(&perfect) < steps(&latest),
        "moves the next hours undo are held: {} against {}",
        steps(&perfect),
        steps(&latest)
    );
    let degraded = ["--rebalance-forecast", "4h", "--forecast", "degraded"];
    let base = backtest(REGIONS, &degraded);
    assert_eq!(base["forecast"]["model"], "degraded");
    assert_ne!(
        base["actions"], perfect["actions"],
        "the noise changes decisions"
    );
    for regions in ["zulu=LV,alpha=DK-DK1,mike=FR", "b=FR,a=LV,c=DK-DK1"] {
        let other = backtest(regions, &degraded);
        for key in [
            "emissionsKg",
            "shareCaptured",
            "actions",
            "underProvisionedMinutes",
        ] {
            assert_eq!(other[key], base[key], "{regions}: {key}");
        }
    }
}

#[test]
fn a_forecast_model_without_a_horizon_is_refused() {
    let out = common::carbonctl(&[
        "backtest",
        "--regions",
        "denmark=DK-DK1,france=FR,latvia=LV",
        "--carbon-dir",
        "data/carbon",
        "--rebalance-margin",
        "20",
        "--forecast",
        "degraded",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "--forecast = \"degraded\": shapes the forecasts of REBALANCE_FORECAST, which is off"
        ),
        "{}",
        out.stderr
    );
    let out = common::carbonctl(&["backtest", "--forecast", "psychic"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("perfect"), "{}", out.stderr);
}
