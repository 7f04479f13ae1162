//! `carbonctl backtest --scale-target hpa-min`: floors mode replayed next to replicas mode by
//! the built binary, on the extract shipped in `data/`.

mod common;

use common::carbonctl;

const FLOORS: &[&str] = &[
    "backtest",
    "--regions",
    "denmark=DK-DK1,france=FR,latvia=LV",
    "--carbon-dir",
    "data/carbon",
    "--demand",
    "data/demand/nasa-1995-07-03_14d_5min.csv",
    "--demand-peak",
    "12",
    "--scale-target",
    "hpa-min",
];

fn floors(extra: &[&str]) -> common::Output {
    let mut args = FLOORS.to_vec();
    args.extend_from_slice(extra);
    carbonctl(&args)
}

fn figure(j: &serde_json::Value, mode: &str, key: &str) -> f64 {
    j["floors"][mode][key]
        .as_f64()
        .unwrap_or_else(|| panic!("floors.{mode}.{key} in {}", j["floors"]))
}

#[test]
fn floors_mode_table_next_to_replicas_mode() {
    let out = floors(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("backtest_floors_shipped_extract", out.stdout);
}

#[test]
fn floors_mode_json_holds_together() {
    let out = floors(&["-o", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let j = out.json();
    let f = &j["floors"];
    assert_eq!(f["hpa"]["targetCpu"], 60.0);
    assert_eq!(f["hpa"]["tolerance"], 0.1);
    assert_eq!(f["hpa"]["downscaleStabilization"], "5m");
    assert_eq!(
        f["hpa"]["maxReplicas"],
        serde_json::json!(["denmark=5", "france=5", "latvia=5"]),
        "each HPA goes up to its region's max by default"
    );
    // Replicas mode's column is the report's own figures.
    assert_eq!(f["replicas"]["emissionsKg"], j["emissionsKg"]["policy"]);
    assert_eq!(f["replicas"]["counterfactualKg"], j["emissionsKg"]["blind"]);
    assert_eq!(f["replicas"]["shareCaptured"], j["shareCaptured"]);
    for mode in ["replicas", "hpaMin"] {
        let (emitted, counterfactual) = (
            figure(&j, mode, "emissionsKg"),
            figure(&j, mode, "counterfactualKg"),
        );
        let avoided = figure(&j, mode, "avoidedKg");
        assert!(
            (counterfactual - emitted - avoided).abs() < 1e-5,
            "{mode}: avoided is counterfactual - emitted"
        );
        assert!(figure(&j, mode, "achievableKg") > 0.0, "{mode}");
        let share = figure(&j, mode, "shareCaptured");
        assert!(
            (share - avoided / figure(&j, mode, "achievableKg")).abs() < 1e-3,
            "{mode}: share {share}"
        );
    }
    // HPAs aiming for 60% CPU run more replicas than carbonctl's band of 30-70% does.
    assert!(
        figure(&j, "hpaMin", "counterfactualReplicaHours") > figure(&j, "replicas", "replicaHours")
    );
    assert!(f["hpaRescalesPerDay"]["blind"].as_f64().unwrap() > 0.0);
    let moves = &f["floorActions"];
    let total: u64 = ["scaleUp", "scaleDown", "heal", "rebalance"]
        .iter()
        .map(|k| moves[k].as_u64().unwrap())
        .sum();
    let per_day = figure(&j, "hpaMin", "actionsPerDay");
    assert!(
        (total as f64 / 14.0 - per_day).abs() < 0.01,
        "{total} moves, {per_day} a day"
    );

    let plain = carbonctl(&FLOORS[..FLOORS.len() - 2]).stdout;
    assert!(
        !plain.contains("hpa-min"),
        "replicas mode shows no floors table"
    );
}

#[test]
fn hpa_settings_change_the_floors_figures_only() {
    let base = floors(&["-o", "json"]).json();
    let run = |extra: &[&str]| {
        let mut args = vec!["-o", "json"];
        args.extend_from_slice(extra);
        let out = floors(&args);
        assert_eq!(out.code, 0, "{extra:?}: {}", out.stderr);
        out.json()
    };
    let hours = |j: &serde_json::Value| figure(j, "hpaMin", "counterfactualReplicaHours");
    let lazy = run(&["--hpa-target-cpu", "80"]);
    assert!(
        hours(&lazy) < hours(&base),
        "a higher target runs fewer replicas"
    );
    let capped = run(&["--hpa-max-replicas", "2"]);
    assert!(
        hours(&capped) < hours(&base),
        "a lower HPA max runs fewer replicas"
    );
    assert!(
        figure(&capped, "hpaMin", "underProvisionedMinutes")
            > figure(&base, "hpaMin", "underProvisionedMinutes")
    );
    let one = run(&["--hpa-max-replicas", "latvia=2"]);
    assert_eq!(
        one["floors"]["hpa"]["maxReplicas"],
        serde_json::json!(["denmark=5", "france=5", "latvia=2"])
    );
    let quick = run(&[
        "--hpa-downscale-stabilization",
        "0s",
        "--hpa-tolerance",
        "0",
    ]);
    assert!(
        quick["floors"]["hpaRescalesPerDay"]["blind"].as_f64()
            > base["floors"]["hpaRescalesPerDay"]["blind"].as_f64(),
        "no window and no band: the HPAs rescale more often"
    );
    for j in [&lazy, &capped, &quick] {
        assert_eq!(j["floors"]["replicas"], base["floors"]["replicas"]);
    }
}

/// Floors mode's figures are facts about the grids, the HPAs and the rule, not about what the
/// regions are called or the order they are listed in.
#[test]
fn renaming_or_reordering_regions_changes_no_floors_figure() {
    let run = |regions: &str| {
        let mut args = FLOORS.to_vec();
        args[2] = regions;
        args.extend_from_slice(&["-o", "json"]);
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
        for key in ["replicas", "hpaMin", "floorActions", "hpaRescalesPerDay"] {
            assert_eq!(
                other["floors"][key], base["floors"][key],
                "{regions}: {key}"
            );
        }
    }
}

#[test]
fn hpa_flags_are_checked_and_belong_to_floors_mode() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--hpa-target-cpu", "0"],
            "invalid setting --hpa-target-cpu = \"0\": an HPA cannot aim for 0%",
        ),
        (
            &["--hpa-target-cpu", "120"],
            "invalid setting --hpa-target-cpu = \"120\": out of range",
        ),
        (
            &["--hpa-tolerance", "1"],
            "invalid setting --hpa-tolerance = \"1\": not a fraction from 0 to below 1",
        ),
        (
            &["--hpa-downscale-stabilization", "2h"],
            "invalid setting --hpa-downscale-stabilization = \"2h\": not a duration from 0s to 1h",
        ),
        (
            &["--hpa-max-replicas", "0"],
            "invalid setting --hpa-max-replicas = \"0\": 0 is not an HPA maxReplicas",
        ),
        (
            &["--hpa-max-replicas", "spain=3"],
            "invalid setting --hpa-max-replicas = \"spain=3\": unknown region \"spain\"",
        ),
        (
            &["--sweep", "hold-cycles=1,3"],
            "invalid setting --scale-target = \"hpa-min\": a sweep replays replicas mode only",
        ),
        (
            &["--ticks", "/tmp/never-written.jsonl"],
            "invalid setting --ticks = \"/tmp/never-written.jsonl\": ticks are recorded in replicas mode only",
        ),
    ];
    for (extra, want) in cases {
        let out = floors(extra);
        assert_eq!(out.code, 2, "{extra:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(want),
            "{extra:?}: {:?} lacks {want:?}",
            out.stderr
        );
        assert!(out.stdout.is_empty());
    }
    let mut replicas = FLOORS[..FLOORS.len() - 2].to_vec();
    replicas.extend_from_slice(&["--hpa-tolerance", "0.2"]);
    let out = carbonctl(&replicas);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("invalid setting --hpa-tolerance = \"0.2\": only floors mode models HPAs; add --scale-target hpa-min"),
        "{}",
        out.stderr
    );
}
