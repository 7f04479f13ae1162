//! `carbonctl backtest` as a user runs it from a fresh clone: the built binary, a clean
//! environment, and only the extract shipped in `data/`.

mod common;

use common::{carbonctl, temp_dir};

const EXTRACT: &[&str] = &[
    "backtest",
    "--regions",
    "denmark=DK-DK1,france=FR,latvia=LV",
    "--carbon-dir",
    "data/carbon",
    "--demand",
    "data/demand/nasa-1995-07-03_14d_5min.csv",
];

/// The shipped extract with extra flags; an extra `--demand` replaces the NASA slice.
fn extract(extra: &[&str]) -> common::Output {
    let keep = if extra.contains(&"--demand") {
        EXTRACT.len() - 2
    } else {
        EXTRACT.len()
    };
    let mut args = EXTRACT[..keep].to_vec();
    args.extend_from_slice(extra);
    carbonctl(&args)
}

#[test]
fn table_for_the_shipped_extract() {
    let out = extract(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("backtest_shipped_extract", out.stdout);
}

#[test]
fn json_for_the_shipped_extract_holds_together() {
    let out = extract(&["--demand-peak", "12", "-o", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let j = out.json();
    assert_eq!(j["period"]["from"], "2022-10-31T00:00:00Z");
    assert_eq!(j["period"]["to"], "2022-11-14T00:00:00Z");
    assert_eq!(j["period"]["ticks"], 14 * 24 * 60);
    assert_eq!(j["signal"], "lifecycle");
    let zones: Vec<&str> = j["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["zone"].as_str().unwrap())
        .collect();
    assert_eq!(zones, ["DK-DK1", "FR", "LV"]);
    assert_eq!(j["regions"][1]["carbonFormat"], "plain");
    assert_eq!(j["demand"]["peakReplicas"], 12.0);

    let e = &j["emissionsKg"];
    let (policy, blind, bound) = (
        e["policy"].as_f64().unwrap(),
        e["blind"].as_f64().unwrap(),
        e["bound"].as_f64().unwrap(),
    );
    assert!(blind > bound && policy >= bound, "{e}");
    let share = j["shareCaptured"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&share), "share {share}");
    let avoided = j["avoidedKg"].as_f64().unwrap();
    assert!(
        (avoided - (blind - policy)).abs() < 1e-5,
        "{avoided} vs {blind} - {policy}"
    );
    // Same demand, same totals: the counterfactuals differ only in placement.
    let hours = |k: &str| -> f64 {
        j["regions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["replicaHours"][k].as_f64().unwrap())
            .sum()
    };
    assert!((hours("policy") - hours("blind")).abs() < 0.01);
    let totals = &j["totalReplicaHours"];
    assert_eq!(totals["policy"], totals["blind"], "{totals}");
    assert_eq!(totals["policy"], totals["bound"], "{totals}");
    assert!((hours("policy") - hours("bound")).abs() < 0.01);
    assert_eq!(
        j["underProvisionedMinutes"]["policy"],
        j["underProvisionedMinutes"]["blind"]
    );
    assert!(j["scalingActionsPerDay"]["policy"].as_f64().unwrap() > 0.0);

    let again = extract(&["--demand-peak", "12", "-o", "json"]);
    assert_eq!(out.stdout, again.stdout, "a backtest is reproducible");
}

#[test]
fn policy_settings_apply_and_only_the_policy_rebalances() {
    let out = extract(&[
        "--demand-peak",
        "12",
        "--rebalance-margin",
        "20",
        "-o",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let j = out.json();
    let policy = &j["actions"]["policy"];
    assert!(policy["rebalance"].as_u64().unwrap() > 0, "{policy}");
    assert_eq!(j["actions"]["blind"]["rebalance"], 0);
    let e = &j["emissionsKg"];
    assert!(
        e["policy"].as_f64().unwrap() >= e["bound"].as_f64().unwrap(),
        "{e}"
    );

    let slow = extract(&["--demand-peak", "12", "--hold-cycles", "10", "-o", "json"]);
    let fast = extract(&["--demand-peak", "12", "--hold-cycles", "1", "-o", "json"]);
    let minutes = |o: &common::Output| {
        o.json()["underProvisionedMinutes"]["policy"]
            .as_f64()
            .unwrap()
    };
    assert!(
        minutes(&slow) > minutes(&fast),
        "longer holds react later to spikes"
    );
}

#[test]
fn writes_the_chart_when_asked() {
    let path = temp_dir("chart").join("backtest.svg");
    let out = extract(&[
        "--from",
        "2022-11-01",
        "--to",
        "2022-11-03",
        "--chart",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(100)]);
    assert!(svg.contains("denmark") && svg.contains("gCO2eq/kWh"));
    assert!(
        out.stdout
            .contains("2022-11-01T00:00:00Z .. 2022-11-03T00:00:00Z"),
        "{}",
        out.stdout
    );
}

#[test]
fn writes_one_record_per_tick_whose_decisions_are_the_reports_actions() {
    let path = temp_dir("ticks").join("ticks.jsonl");
    let out = extract(&[
        "--from",
        "2022-11-01",
        "--to",
        "2022-11-02",
        "--rebalance-margin",
        "20",
        "--ticks",
        path.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 24 * 60);
    assert_eq!(records[0]["time"], "2022-11-01T00:00:00Z");
    assert_eq!(records[1]["time"], "2022-11-01T00:01:00Z");
    let count = |action: &str| {
        records
            .iter()
            .filter(|r| r["decision"]["action"] == action)
            .count() as u64
    };
    let actions = &out.json()["actions"]["policy"];
    for (key, action) in [
        ("scaleUp", "scale_up"),
        ("scaleDown", "scale_down"),
        ("heal", "heal"),
        ("rebalance", "rebalance"),
    ] {
        assert_eq!(
            actions[key].as_u64(),
            Some(count(action)),
            "{action}: {actions}"
        );
    }
    assert!(count("rebalance") > 0, "the day has rebalancing to compare");
    // Each change starts from the replicas the tick observed, and the next tick observes its result.
    for pair in records.windows(2) {
        if let Some(region) = pair[0]["decision"]["region"].as_str() {
            assert_eq!(pair[0]["replicas"][region], pair[0]["decision"]["from"]);
            assert_eq!(pair[1]["replicas"][region], pair[0]["decision"]["to"]);
        }
    }
    let last = records.last().unwrap();
    let (emitted, blind) = (
        last["emittedGrams"].as_f64().unwrap(),
        last["blindGrams"].as_f64().unwrap(),
    );
    assert!(emitted > 0.0 && blind > emitted, "{last}");
    assert!(records[0]["carbon"]["france"].as_f64().is_some());
}

#[test]
fn fallback_demand_needs_no_trace() {
    let out = carbonctl(&[
        "backtest",
        "--regions",
        "france=FR,latvia=LV",
        "--carbon-dir",
        "data/carbon",
        "--demand",
        "constant:3.5",
        "-o",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let j = out.json();
    assert_eq!(j["demand"]["meanReplicas"], 3.5);
    assert_eq!(j["demand"]["note"], "no rescaling");
}

#[test]
fn bad_settings_exit_2_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["--interval", "0s"], "invalid setting --interval = \"0s\": not a positive duration"),
        (&["--signal", "average"], "invalid setting --signal = \"average\": accepted values are lifecycle"),
        (&["--watts-per-replica=-2"], "invalid setting WATTS_PER_REPLICA (--watts-per-replica) = \"-2\": not a positive number"),
        (&["--demand-peak", "lots"], "invalid setting --demand-peak = \"lots\""),
        (&["--from", "2021-01-01"], "invalid setting --from = \"2021-01-01T00:00:00Z\": outside the period every carbon file covers (2022-10-31T00:00:00Z .. 2022-11-14T00:00:00Z)"),
        (&["--to", "31/12/2022"], "invalid setting --to = \"31/12/2022\": not a time"),
        (&["--carbon", "spain=x.csv"], "invalid setting --carbon = \"spain=x.csv\": unknown region \"spain\""),
        (&["--carbon", "france=missing.csv"], "invalid setting --carbon = \"missing.csv\": cannot read the file"),
        (&["--demand", "constant:many"], "constant:N needs N replica-equivalents"),
        (&["--demand", "constant:2", "--demand-peak", "4"], "invalid setting --demand-peak = \"4\": a constant demand is already in replica-equivalents"),
        (&["--carbon-start", "2022-01-01"], "invalid setting --carbon-start = \"2022-01-01\": every carbon file has its own timestamps"),
        (&["--demand-start", "2022-01-01"], "invalid setting --demand-start = \"2022-01-01\": only a demand trace without timestamps"),
    ];
    for (extra, want) in cases {
        let out = extract(extra);
        assert_eq!(out.code, 2, "{extra:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(want),
            "{extra:?}: {:?} lacks {want:?}",
            out.stderr
        );
        assert!(out.stdout.is_empty());
    }
    let out = carbonctl(&["backtest", "--carbon-dir", "data/carbon"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "invalid setting --carbon-dir = \"data/carbon/DK.csv\": cannot read the file"
        ),
        "the default REGIONS name zone DK, which the extract does not hold: {}",
        out.stderr
    );
    let out = carbonctl(&["backtest", "--regions", "france=FR"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("no carbon file for region france; give --carbon-dir DIR (holding FR.csv)"),
        "{}",
        out.stderr
    );
}

#[test]
fn malformed_data_names_the_file_and_line() {
    let dir = temp_dir("bad-data");
    let bad = dir.join("FR.csv");
    std::fs::write(
        &bad,
        "timestamp,value\n2022-10-31T00:00:00Z,100\n2022-10-31T01:00:00Z,lots\n",
    )
    .unwrap();
    let arg = format!("france={}", bad.display());
    let out = extract(&["--carbon", &arg]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let want = format!(
        "{}:3: carbon intensity \"lots\" is not a number",
        bad.display()
    );
    assert!(
        out.stderr.contains(&want),
        "{:?} lacks {want:?}",
        out.stderr
    );

    let wrong_zone = dir.join("portal.csv");
    std::fs::write(
        &wrong_zone,
        "Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (LCA)\n2022-10-31 00:00:00,DE,400\n",
    )
    .unwrap();
    let arg = format!("france={}", wrong_zone.display());
    let out = extract(&["--carbon", &arg]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the file is for zone DE but region france is configured with zone FR"),
        "{}",
        out.stderr
    );
}

#[test]
fn help_groups_the_backtest_flags_with_their_defaults() {
    let out = carbonctl(&["backtest", "--help"]);
    assert_eq!(out.code, 0);
    let backtest = out
        .stdout
        .split("Backtest:")
        .nth(1)
        .expect("a Backtest heading");
    for want in [
        "--carbon-dir",
        "[default: lifecycle]",
        "[default: daily]",
        "[default: 1m]",
        "--chart",
    ] {
        assert!(backtest.contains(want), "the Backtest section lacks {want}");
    }
}

/// The figures are facts about the grids and the rule, not about what the regions are called
/// or the order they are listed in: renamed and reordered, every figure is the same.
#[test]
fn renaming_or_reordering_regions_changes_no_figure() {
    let run = |regions: &str| {
        let mut args = EXTRACT.to_vec();
        args[2] = regions;
        args.extend_from_slice(&["--demand-peak", "12", "-o", "json"]);
        let out = carbonctl(&args);
        assert_eq!(out.code, 0, "{regions}: {}", out.stderr);
        out.json()
    };
    let base = run("denmark=DK-DK1,france=FR,latvia=LV");
    for regions in [
        "zulu=DK-DK1,alpha=FR,mike=LV",
        "latvia=LV,denmark=DK-DK1,france=FR",
        "b=LV,c=FR,a=DK-DK1",
    ] {
        let other = run(regions);
        for key in [
            "emissionsKg",
            "avoidedKg",
            "achievableKg",
            "shareCaptured",
            "underProvisionedMinutes",
            "actions",
            "totalReplicaHours",
        ] {
            assert_eq!(other[key], base[key], "{regions}: {key}");
        }
        let by_zone = |j: &serde_json::Value| {
            let mut rows: Vec<(String, String)> = j["regions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["zone"].as_str().unwrap().to_string(),
                        r["replicaHours"].to_string(),
                    )
                })
                .collect();
            rows.sort();
            rows
        };
        assert_eq!(by_zone(&other), by_zone(&base), "{regions}");
    }
}

#[test]
fn start_replicas_set_where_the_replay_begins() {
    let out = extract(&["--start-replicas", "latvia=4", "-o", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let default = extract(&["-o", "json"]).json();
    let j = out.json();
    let latvia =
        |j: &serde_json::Value| j["regions"][2]["replicaHours"]["policy"].as_f64().unwrap();
    assert!(
        latvia(&j) > latvia(&default),
        "{} vs {}",
        latvia(&j),
        latvia(&default)
    );
    let out = extract(&["--start-replicas", "spain=2"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("--start-replicas = \"spain=2\": unknown region \"spain\""),
        "{}",
        out.stderr
    );
}

#[test]
fn a_sweep_replays_every_combination_and_marks_the_pareto_front() {
    let out = extract(&[
        "--sweep",
        "hold-cycles=1,3,5",
        "--sweep",
        "cooldown=1m,3m,10m",
        "--sweep",
        "rebalance-margin=off,20,50",
        "-o",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let j = out.json();
    assert_eq!(
        j["axes"],
        serde_json::json!(["hold-cycles", "cooldown", "rebalance-margin"])
    );
    let rows = j["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 27);
    let key = |r: &serde_json::Value| {
        (
            r["policyKg"].as_f64().unwrap(),
            r["actionsPerHour"].as_f64().unwrap(),
            r["underProvisionedMinutes"].as_f64().unwrap(),
        )
    };
    let keys: Vec<_> = rows.iter().map(key).collect();
    assert!(
        keys.windows(2).all(|w| w[0].0 <= w[1].0),
        "sorted by carbon"
    );
    for (row, k) in rows.iter().zip(&keys) {
        let beaten = keys
            .iter()
            .any(|o| o.0 <= k.0 && o.1 <= k.1 && o.2 <= k.2 && o != k);
        assert_eq!(row["pareto"].as_bool().unwrap(), !beaten, "{row}");
    }
    // The default settings' row is the plain backtest's figure.
    let plain = extract(&["-o", "json"]).json();
    let default = rows
        .iter()
        .find(|r| {
            r["settings"]
                == serde_json::json!([
                    ["hold-cycles", "3"],
                    ["cooldown", "3m"],
                    ["rebalance-margin", "off"]
                ])
        })
        .unwrap();
    let plain_kg = plain["emissionsKg"]["policy"].as_f64().unwrap();
    assert!(
        (default["policyKg"].as_f64().unwrap() - plain_kg).abs() < 1e-4,
        "{default} vs {plain_kg}"
    );

    let out = extract(&["--sweep", "log-format=json,console"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("\"log-format\" is not a setting the replay depends on"),
        "{}",
        out.stderr
    );
    let out = extract(&["--sweep", "hold-cycles=0,1"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("HOLD_CYCLES (--hold-cycles) = \"0\": too small"),
        "{}",
        out.stderr
    );
}

/// Well-formed but absurd inputs are refused at the file, line and value, never replayed into
/// "inf kg".
#[test]
fn absurd_inputs_are_refused_where_they_are() {
    let dir = temp_dir("absurd");
    let huge = dir.join("FR.csv");
    std::fs::write(
        &huge,
        "timestamp,value\n2022-10-31T00:00:00Z,100\n2022-10-31T01:00:00Z,1e308\n",
    )
    .unwrap();
    let arg = format!("france={}", huge.display());
    let out = extract(&["--carbon", &arg]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let want = format!(
        "{}:3: carbon intensity 1e308 is above 5000 gCO2eq/kWh",
        huge.display()
    );
    assert!(out.stderr.contains(&want), "{}", out.stderr);

    let out = extract(&["--watts-per-replica", "1e308"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("invalid setting WATTS_PER_REPLICA (--watts-per-replica) = \"1e308\": more than 10000 W for one replica"), "{}", out.stderr);

    // A file without timestamps (the umassos layout): every row is the next hour.
    let umassos = |name: &str, rows: &str| {
        let path = dir.join(name);
        std::fs::write(&path, format!("slack_0,non_interrupt,interrupt\n{rows}")).unwrap();
        let arg = format!("france={}", path.display());
        let out = extract(&["--carbon", &arg, "--carbon-start", "2022-10-31"]);
        (path, out)
    };
    let day: String = (0..24).map(|h| format!("{},1,1\n", 50 + h)).collect();
    let (_, out) = umassos("whole.csv", &day.repeat(15));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let blank = day.repeat(15).replacen('\n', "\n\n", 1);
    let (path, out) = umassos("blank.csv", &blank);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains(&format!("{}:3: blank line between rows", path.display())),
        "{}",
        out.stderr
    );
    let short = day.repeat(15).replacen("60,1,1\n", "", 1);
    let (path, out) = umassos("short.csv", &short);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!(
            "{}: 359 hourly rows, not a whole number of days",
            path.display()
        )),
        "{}",
        out.stderr
    );
}
