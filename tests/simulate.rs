//! `carbonctl simulate` as a newcomer runs it: the built binary, a clean environment, no
//! cluster and no token.

mod common;

use common::carbonctl;

#[test]
fn scales_up_the_cleanest_region_after_hold_cycles() {
    let out = carbonctl(&[
        "simulate",
        "--cpu",
        "80",
        "--carbon",
        "denmark=120,france=40,latvia=300",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("simulate_cpu_80", out.stdout);
}

#[test]
fn scales_down_the_dirtiest_and_falls_back_when_it_is_at_min() {
    let out = carbonctl(&[
        "simulate",
        "--cpu",
        "5",
        "--carbon",
        "denmark=120,france=40,latvia=300",
        "-o",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let last = out.json()["ticks"].as_array().unwrap().last().unwrap()["decision"].clone();
    assert_eq!(
        (
            last["action"].as_str(),
            last["region"].as_str(),
            last["from"].as_i64(),
            last["to"].as_i64()
        ),
        (Some("scale_down"), Some("latvia"), Some(2), Some(1))
    );

    let out = carbonctl(&[
        "simulate",
        "--cpu",
        "5",
        "--carbon",
        "denmark=120,france=40,latvia=300",
        "--replicas",
        "latvia=1",
        "-o",
        "json",
    ]);
    insta::assert_snapshot!("simulate_cpu_5_latvia_at_min_json", out.stdout);
    let last = &out.json()["ticks"][2]["decision"];
    assert_eq!(
        (last["action"].as_str(), last["region"].as_str()),
        (Some("scale_down"), Some("denmark"))
    );
    assert!(last["reason"]
        .as_str()
        .unwrap()
        .contains("latvia at its min of 1"));
}

#[test]
fn acts_only_on_the_hold_cycles_th_tick() {
    let out = carbonctl(&[
        "simulate",
        "--cpu",
        "90",
        "--hold-cycles",
        "3",
        "--ticks",
        "3",
        "-o",
        "json",
    ]);
    let actions: Vec<String> = out.json()["ticks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["decision"]["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["hold", "hold", "scale_up"]);

    let out = carbonctl(&[
        "simulate",
        "--cpu",
        "90",
        "--hold-up",
        "2",
        "--ticks",
        "1",
        "-o",
        "json",
    ]);
    assert_eq!(out.json()["ticks"][0]["decision"]["action"], "scale_up");
}

#[test]
fn cooldown_shows_across_ticks() {
    let out = carbonctl(&[
        "simulate",
        "--cpu",
        "90",
        "--hold-cycles",
        "1",
        "--cooldown",
        "2m",
        "--ticks",
        "4",
        "-o",
        "json",
    ]);
    let actions: Vec<String> = out.json()["ticks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["decision"]["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        actions,
        ["scale_up", "hold", "scale_up", "hold"],
        "{}",
        out.stdout
    );
    assert!(out.json()["ticks"][1]["decision"]["reason"]
        .as_str()
        .unwrap()
        .contains("cooling down for 1m more"));
}

#[test]
fn settings_come_from_env_and_flags_beat_env() {
    let env = [("HOLD_CYCLES", "1")];
    let out = common::carbonctl_env(
        &["simulate", "--cpu", "90", "--ticks", "1", "-o", "json"],
        &env,
    );
    assert_eq!(out.json()["ticks"][0]["decision"]["action"], "scale_up");
    let out = common::carbonctl_env(
        &[
            "simulate",
            "--cpu",
            "90",
            "--ticks",
            "1",
            "--hold-cycles",
            "2",
            "-o",
            "json",
        ],
        &env,
    );
    assert_eq!(out.json()["ticks"][0]["decision"]["action"], "hold");
}

#[test]
fn bad_settings_exit_2_naming_the_setting() {
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            &["simulate", "--cpu", "80"],
            &[("SCALE_UP_THRESHOLD", "high")],
            "invalid setting SCALE_UP_THRESHOLD (--scale-up-threshold) = \"high\": not a number",
        ),
        (
            &["simulate", "--cpu", "80"],
            &[("COOLDOWN", "soon")],
            "invalid setting COOLDOWN (--cooldown) = \"soon\"",
        ),
        (
            &["simulate", "--cpu", "80", "--min-replicas", "6"],
            &[],
            "MIN_REPLICAS (--min-replicas) = \"6\": must not exceed MAX_REPLICAS (5)",
        ),
        (
            &["simulate", "--cpu", "eighty"],
            &[],
            "invalid setting --cpu = \"eighty\": not a number",
        ),
        (
            &["simulate", "--cpu", "80", "--carbon", "spain=3"],
            &[],
            "invalid setting --carbon = \"spain=3\": unknown region \"spain\"",
        ),
        (
            &["simulate", "--cpu", "80", "--ticks", "0"],
            &[],
            "invalid setting --ticks = \"0\": too small",
        ),
    ];
    for (args, env, want) in cases {
        let out = common::carbonctl_env(args, env);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(want),
            "{args:?}: {:?} lacks {want:?}",
            out.stderr
        );
        assert!(!out.stderr.contains("Stack backtrace"), "{}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    let out = carbonctl(&["simulate"]);
    assert_eq!(out.code, 2, "usage error: {}", out.stderr);
}

#[test]
fn help_shows_defaults_and_env_names() {
    let out = carbonctl(&["simulate", "--help"]);
    for want in [
        "[env: SCALE_UP_THRESHOLD=]",
        "[default: 70]",
        "[env: COOLDOWN=]",
        "[default: 3m]",
        "[env: REGIONS=]",
        "[default: denmark=DK,france=FR,latvia=LV]",
    ] {
        assert!(out.stdout.contains(want), "help lacks {want}");
    }
}

#[test]
fn a_reader_that_stops_early_is_not_a_crash() {
    let mut child = common::command(&[])
        .args(["simulate", "--cpu", "80", "--ticks", "50"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn simulate_shows_rebalancing_steps_like_any_other_decision() {
    let out = carbonctl(&[
        "simulate",
        "--cpu",
        "50",
        "--rebalance-margin",
        "20",
        "--cooldown",
        "0s",
        "--ticks",
        "2",
        "-o",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ticks = out.json()["ticks"].clone();
    assert_eq!(ticks[0]["decision"]["action"], "rebalance");
    assert_eq!(
        ticks[0]["decision"]["reason"],
        "rebalance 1/2: france 2->3, 227 g/kWh cleaner than latvia"
    );
    assert_eq!(
        ticks[1]["decision"]["reason"],
        "rebalance 2/2: latvia 2->1, france's new replica is ready"
    );
    let out = carbonctl(&["simulate", "--cpu", "50", "--rebalance-margin", "lots"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("invalid setting REBALANCE_MARGIN (--rebalance-margin) = \"lots\""),
        "{}",
        out.stderr
    );
}

#[test]
fn limits_that_could_overflow_or_outlast_the_tick_are_refused() {
    let cases: &[(&[&str], &str)] = &[
        (&["--cooldown", "9999999999h"], "COOLDOWN (--cooldown) = \"9999999999h\": too long"),
        (&["--cooldown", "99999999999999999999h"], "not a duration"),
        (&["--cooldown", "31d"], "not a duration"),
        (&["--cooldown", "800h"], "too long; use at most 30 days"),
        (&["--max-replicas", "3000000000"], "MAX_REPLICAS (--max-replicas) = \"3000000000\": too large"),
        (&["--max-replicas", "200000"], "too large; use at most 100000"),
        (&["--region-max-replicas", "france=200000"], "is not a whole number"),
        (&["--timeout", "5s", "--carbon-api-timeout", "5s"], "CARBON_API_TIMEOUT (--carbon-api-timeout) = \"5s\": its default must be shorter than TICK_TIMEOUT (5s), so a slow carbon API cannot outlast the tick; lower it with --carbon-api-timeout, or raise --timeout"),
        (&["--timeout", "10s", "--carbon-api-timeout", "12s"], "CARBON_API_TIMEOUT (--carbon-api-timeout) = \"12s\": it must be shorter than TICK_TIMEOUT (10s)"),
        (&["--carbon-api-timeout", "0s"], "CARBON_API_TIMEOUT (--carbon-api-timeout) = \"0s\": must be at least 1s"),
        (&["--timeout", "1s"], "TICK_TIMEOUT (--timeout) = \"1s\": must be at least 2s"),
    ];
    for (args, want) in cases {
        let mut argv = vec!["simulate", "--cpu", "50"];
        argv.extend_from_slice(args);
        let out = carbonctl(&argv);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(want),
            "{args:?}: {:?} lacks {want:?}",
            out.stderr
        );
    }
}
