//! WattTime regions end to end: one login per refresh with the account from the environment,
//! each region's 0-100 signal index ranked as an index (never as grams: no ledger, no gram
//! metric, sentences and tables that say "index"), a refused or missing login handled as any
//! failed fetch, and a ranking that would mix an index with grams refused before anything runs.

mod common;

use std::time::Duration;

use common::cluster::{tick_line, Cluster};
use kube_emulator::WATTTIME_CREDENTIALS;

fn carbon(c: &Cluster) -> serde_json::Value {
    serde_json::from_str(&c.state()["carbon"]).unwrap()
}

/// The demo cluster with every region on WattTime: latvia the dirtiest, france the cleanest.
fn watttime_cluster() -> Cluster {
    let mut c = Cluster::demo();
    c.set(
        "REGIONS",
        "denmark=watttime:DK_EAST,france=watttime:FR_GRID,latvia=watttime:LV_GRID",
    );
    c.set("WATTTIME_API_URL", &c.emu.watttime_base_url());
    c.set("WATTTIME_USERNAME", WATTTIME_CREDENTIALS.0);
    c.set("WATTTIME_PASSWORD", WATTTIME_CREDENTIALS.1);
    c.set("CARBON_API_TOKEN", "");
    c.set("HOLD_CYCLES", "1");
    c.set("CARBON_CACHE_TTL", "1s");
    c.emu.set_watttime("DK_EAST", 70.0);
    c.emu.set_watttime("FR_GRID", 12.0);
    c.emu.set_watttime("LV_GRID", 90.0);
    c
}

/// Logins WattTime has answered so far.
fn logins(c: &Cluster) -> usize {
    c.emu
        .requests()
        .iter()
        .filter(|r| r.path == "/watttime/login")
        .count()
}

fn no_password_in(out: &common::Output) {
    let password = WATTTIME_CREDENTIALS.1;
    assert!(
        !out.stdout.contains(password) && !out.stderr.contains(password),
        "the WattTime password leaked: {}{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn regions_rank_on_the_index_and_nothing_calls_it_grams() {
    let c = watttime_cluster();
    c.emu.set_cpu_percent(None, 85.0);
    let out = c.tick();
    no_password_in(&out);
    let line = tick_line(&out);
    assert_eq!(
        c.replicas(),
        [2, 3, 2],
        "the lowest index is the cleanest: {line}"
    );
    let reason = line["decision"]["reason"].as_str().unwrap();
    assert!(reason.ends_with("cleanest region at index 12"), "{reason}");
    let ranked = &line["carbon"][0];
    assert_eq!(ranked["index"], 12.0, "{line}");
    assert!(ranked.get("gramsPerKwh").is_none(), "{line}");
    assert_eq!(ranked["signal"], "marginal index");

    let state = c.state();
    assert!(
        !state.contains_key("ledger"),
        "no grams, no ledger: {state:?}"
    );
    let seen = carbon(&c);
    assert_eq!(seen["latvia"]["emissionFactorType"], "marginal index");
    let indexes = c
        .emu
        .requests()
        .iter()
        .filter(|r| r.path == "/watttime/v3/signal-index")
        .count();
    assert_eq!(
        (logins(&c), indexes),
        (1, 3),
        "one login for the three regions"
    );

    let table = c.run(&["status"]);
    no_password_in(&table);
    assert!(
        table.stdout.contains("carbon index 0-100"),
        "{}",
        table.stdout
    );
    assert!(
        table
            .stdout
            .contains("carbon ledger: not kept: WattTime's index is relative, not grams"),
        "{}",
        table.stdout
    );
    let json = c.run(&["status", "-o", "json"]).json();
    assert_eq!(json["carbonUnit"], "index");
    assert_eq!(json["ledger"], serde_json::Value::Null);

    // Inside the band with a 30-point margin: latvia (90) gives way to france (12).
    let mut c = c;
    c.set("REBALANCE_MARGIN", "30");
    c.set("COOLDOWN", "0s");
    c.emu.set_cpu_percent(None, 50.0);
    std::thread::sleep(Duration::from_millis(1100));
    let line = tick_line(&c.tick());
    assert_eq!(
        line["decision"]["reason"],
        "rebalance 1/2: france 3->4, 78 index points cleaner than latvia",
        "{line}"
    );
    assert_eq!(logins(&c), 2, "a refresh logs in again: no token is kept");
}

#[test]
fn a_refused_or_missing_login_keeps_the_last_index_and_says_why() {
    let mut c = watttime_cluster();
    c.emu.set_cpu_percent(None, 50.0);
    c.tick();
    assert_eq!(carbon(&c)["france"]["gramsPerKwh"], 12.0);

    c.set("WATTTIME_PASSWORD", "wrong");
    std::thread::sleep(Duration::from_millis(1100));
    let out = c.tick();
    no_password_in(&out);
    let seen = carbon(&c);
    assert_eq!(seen["france"]["gramsPerKwh"], 12.0, "kept: {seen}");
    assert_eq!(
        seen["france"]["lastError"],
        "zone watttime:FR_GRID: WattTime refused the login (HTTP 401); check WATTTIME_USERNAME \
         and WATTTIME_PASSWORD"
    );
    assert!(
        seen["france"]["retryAfter"].is_string(),
        "backing off: {seen}"
    );
    assert!(
        out.stderr
            .contains("carbon intensity for latvia not refreshed"),
        "{}",
        out.stderr
    );
    std::thread::sleep(Duration::from_millis(1100));
    c.tick();
    assert_eq!(logins(&c), 2, "a refused login is not tried again at once");

    let mut fresh = watttime_cluster();
    fresh.set("WATTTIME_PASSWORD", "");
    fresh.tick();
    assert_eq!(
        carbon(&fresh)["denmark"]["lastError"],
        "zone watttime:DK_EAST: no WattTime login (set WATTTIME_USERNAME and WATTTIME_PASSWORD)"
    );
    assert_eq!(logins(&fresh), 0, "without an account nothing is asked");
}

#[test]
fn an_index_mixed_with_grams_is_refused_before_anything_runs() {
    let mut c = watttime_cluster();
    c.set(
        "REGIONS",
        "denmark=watttime:DK_EAST,france=FR,latvia=static:120",
    );
    let out = c.run(&["tick"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "mixes WattTime's relative 0-100 index (denmark) with gCO2eq/kWh values (france, \
             latvia), which cannot be ranked together"
        ),
        "{}",
        out.stderr
    );
    assert!(c.emu.requests().is_empty(), "nothing was asked of any API");

    let out = common::carbonctl(&[
        "backtest",
        "--regions",
        "west=watttime:CAISO_NORTH,east=watttime:PJM_DC",
        "--carbon-dir",
        "data/carbon",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "region west reads WattTime's index, which is relative, not grams, and the backtest \
             accounts grams"
        ),
        "{}",
        out.stderr
    );
}
