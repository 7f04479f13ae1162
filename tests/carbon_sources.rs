//! A carbon source per region (`REGIONS`), end to end: ElectricityMaps, the UK Carbon
//! Intensity API and static sources (a constant, an hourly file) side by side, no token needed
//! but ElectricityMaps', the rule acting on their values, and each source failing in turn
//! handled as any failed fetch: the last value kept, the reason shown.

mod common;

use common::cluster::{tick_line, Cluster};
use common::hourly_carbon_file;
use kube_emulator::{Fault, FaultKind};

fn carbon(c: &Cluster) -> serde_json::Value {
    serde_json::from_str(&c.state()["carbon"]).unwrap()
}

#[test]
fn static_regions_need_no_token_and_rank_by_their_own_values() {
    let mut c = Cluster::demo();
    let file = hourly_carbon_file(&[500.0, 500.0, 12.0, 500.0, 500.0]);
    c.set(
        "REGIONS",
        &format!("denmark=static:{file},france=FR,latvia=static:265"),
    );
    c.set("CARBON_API_TOKEN", "");
    c.set("HOLD_CYCLES", "1");
    c.emu.set_cpu_percent(None, 85.0);

    let line = tick_line(&c.tick());
    assert_eq!(line["outcome"], "applied", "{line}");
    assert_eq!(
        c.replicas(),
        [3, 2, 2],
        "the file's current hour (12 g) is the cleanest"
    );

    let seen = carbon(&c);
    assert_eq!(seen["denmark"]["gramsPerKwh"], 12.0, "{seen}");
    assert_eq!(seen["denmark"]["zone"], format!("static:{file}"));
    assert_eq!(seen["denmark"]["emissionFactorType"], "lifecycle");
    assert_eq!(seen["latvia"]["gramsPerKwh"], 265.0, "{seen}");
    assert_eq!(
        seen["france"]["lastError"],
        "zone FR: no token (set FRANCE_TOKEN or CARBON_API_TOKEN)"
    );
    let carbon_calls = c
        .emu
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v3/"))
        .count();
    assert_eq!(
        carbon_calls, 0,
        "static regions ask no API, and france had no token"
    );

    let status = c.run(&["status", "-o", "json"]).json();
    let latvia = &status["regions"][2];
    assert_eq!(latvia["zone"], "static:265", "{status}");
    assert_eq!(latvia["gramsPerKwh"], 265.0, "{status}");
}

#[test]
fn a_static_file_that_goes_missing_keeps_the_last_value_and_says_why() {
    let mut c = Cluster::demo();
    let file = hourly_carbon_file(&[90.0; 5]);
    c.set(
        "REGIONS",
        &format!("denmark=static:{file},france=FR,latvia=LV"),
    );
    c.set("CARBON_CACHE_TTL", "1s");
    c.tick();
    assert_eq!(carbon(&c)["denmark"]["gramsPerKwh"], 90.0);

    std::fs::remove_file(&file).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = c.tick();
    let seen = carbon(&c);
    assert_eq!(seen["denmark"]["gramsPerKwh"], 90.0, "kept: {seen}");
    let error = seen["denmark"]["lastError"].as_str().unwrap();
    assert_eq!(
        error,
        format!("static file {file}: cannot read the file: no such file")
    );
    assert!(
        out.stderr
            .contains("carbon intensity for denmark not refreshed"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_static_constant_cannot_be_backtested_without_a_recorded_file() {
    let out = common::carbonctl(&[
        "backtest",
        "--regions",
        "denmark=static:120,france=FR,latvia=LV",
        "--carbon-dir",
        "/nonexistent",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "region denmark has a constant carbon intensity (static:120); the backtest replays \
             recorded hours: give --carbon denmark=PATH"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_static_file_region_backtests_on_its_own_file() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data");
    let run = |denmark: &str| {
        let regions = format!("denmark={denmark},france=FR,latvia=LV");
        let out = common::carbonctl(&[
            "backtest",
            "--regions",
            &regions,
            "--carbon-dir",
            &format!("{dir}/carbon"),
            "--demand",
            &format!("{dir}/demand/nasa-1995-07-03_14d_5min.csv"),
            "-o",
            "json",
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let mut json = out.json();
        json["regions"][0]["zone"] = serde_json::Value::Null;
        json
    };
    let by_zone = run("DK-DK1");
    let by_file = run(&format!("static:{dir}/carbon/DK-DK1.csv"));
    assert_eq!(by_zone, by_file, "only the zone's name differs");
}

#[test]
fn a_ukci_region_asks_the_uk_api_without_a_token_and_each_source_fails_alone() {
    let mut c = Cluster::demo();
    let file = hourly_carbon_file(&[70.0; 5]);
    c.set(
        "REGIONS",
        &format!("denmark=ukci:16,france=FR,latvia=static:{file}"),
    );
    c.set("CARBON_CACHE_TTL", "1s");
    c.set("HOLD_CYCLES", "1");
    c.emu.set_ukci("16", 24.0);
    c.emu.set_cpu_percent(None, 85.0);

    let line = tick_line(&c.tick());
    assert_eq!(
        c.replicas(),
        [3, 2, 2],
        "Scotland's 24 g is the cleanest: {line}"
    );
    let logged = &line["carbon"][0];
    assert_eq!(
        (&logged["zone"], &logged["signal"]),
        (&serde_json::json!("ukci:16"), &serde_json::json!("direct")),
        "the log names each value's source and signal: {line}"
    );
    let seen = carbon(&c);
    assert_eq!(seen["denmark"]["zone"], "ukci:16");
    assert_eq!(seen["denmark"]["gramsPerKwh"], 24.0, "{seen}");
    assert_eq!(seen["denmark"]["emissionFactorType"], "direct");
    assert_eq!(
        seen["denmark"]["isEstimated"], true,
        "regional values are forecasts"
    );
    assert_eq!(seen["france"]["gramsPerKwh"], 38.0);
    assert_eq!(seen["latvia"]["gramsPerKwh"], 70.0);
    let asked: Vec<String> = c
        .emu
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/ukci/"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(asked, ["/ukci/regional/regionid/16"]);

    // Each source fails in turn; the others refresh, the failed one keeps its value.
    c.emu.set_ukci("16", 30.0);
    c.emu.set_carbon("FR", 40.0);
    c.emu
        .inject_fault(Fault::new("/ukci/", FaultKind::Status(500)).times(1));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    c.tick();
    let seen = carbon(&c);
    assert_eq!(seen["denmark"]["gramsPerKwh"], 24.0, "kept: {seen}");
    assert_eq!(seen["denmark"]["lastError"], "zone ukci:16: HTTP 500");
    assert_eq!(seen["france"]["gramsPerKwh"], 40.0, "{seen}");

    c.emu
        .inject_fault(Fault::new("/v3/carbon-intensity", FaultKind::Status(429)).times(1));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    c.tick();
    let seen = carbon(&c);
    assert_eq!(seen["denmark"]["gramsPerKwh"], 30.0, "refreshed: {seen}");
    assert!(seen["denmark"].get("lastError").is_none(), "{seen}");
    assert_eq!(seen["france"]["gramsPerKwh"], 40.0, "kept: {seen}");
    assert!(
        seen["france"]["lastError"]
            .as_str()
            .unwrap()
            .starts_with("zone FR: HTTP 429 (rate limited"),
        "{seen}"
    );

    let table = c.run(&["status", "-o", "wide"]).stdout;
    let row = table
        .lines()
        .find(|l| l.contains("ukci:16"))
        .unwrap_or_default();
    assert!(row.contains("direct"), "{table}");
    assert!(
        table.contains("(direct+lifecycle intensity, 2.4 W per replica)"),
        "the ledger names both signals its grams rest on: {table}"
    );
}
