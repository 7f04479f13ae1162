//! `carbonctl status` and a live `simulate` against the emulator: read-only views.

mod common;

use common::cluster::{Cluster, NS};

#[test]
fn status_shows_the_scale_that_ticks_made() {
    let c = Cluster::demo();
    c.emu.set_cpu_percent(None, 85.0);
    for _ in 0..3 {
        c.tick();
    }
    let before = c.emu.requests().len();
    let out = c.run(&["status"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Ages and clock times vary from run to run; everything else in the table must not.
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[time]");
    settings.add_filter(r"\b\d+s ago", "[age] ago");
    settings.add_filter(r"cooldown: .* left", "cooldown: [left]");
    settings.add_filter(
        r"carbon ledger: .*",
        "carbon ledger: [grams since the first tick]",
    );
    // An age of 9s or 10s changes column widths: compare the content, not the padding.
    settings.add_filter(r"[─═]+", "─");
    settings.add_filter(r" {2,}", " ");
    settings.bind(|| insta::assert_snapshot!("status_after_scale_up", out.stdout));
    let requests = c.emu.requests();
    assert!(
        requests[before..].iter().all(|r| r.method == "GET"),
        "status only reads"
    );

    let json = c.run(&["status", "-o", "json"]).json();
    assert_eq!(json["regions"][1]["region"], "france");
    assert_eq!(json["regions"][1]["replicas"], 3);
    assert_eq!(json["regions"][1]["rank"], 1);
    assert_eq!(json["lastScale"]["region"], "france");
    assert!(json["cooldownRemainingSecs"].as_i64().unwrap() > 0);
    assert_eq!(json["cpu"]["average"], 85.0);

    let yaml = c.run(&["status", "-o", "yaml"]).stdout;
    assert!(
        yaml.contains("lastScale:\n  action: \"scale_up\""),
        "{yaml}"
    );
    assert!(yaml.contains("regions:\n  - carbonAgeSecs:"), "{yaml}");
}

#[test]
fn status_says_why_cpu_is_missing_and_shows_flags_in_console_mode() {
    let c = Cluster::demo();
    c.tick();
    c.emu.set_metrics_available(false);
    let out = c.run_env(&["status"], &[("LOG_FORMAT", "console")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("cluster CPU: unknown: metrics API metrics.k8s.io is not available"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("kubectl top nodes"));
    assert!(out.stdout.contains("🇫🇷 france"));
}

#[test]
fn simulate_starts_from_the_live_cluster_and_writes_nothing() {
    let c = Cluster::demo();
    c.emu.set_replicas(NS, "nginx-france", 4);
    c.tick();
    let state = c.state();
    let before = c.emu.requests().len();
    let out = c.run(&["simulate", "--cpu", "90", "-o", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sim = out.json();
    assert_eq!(sim["source"], "cluster");
    assert_eq!(sim["regions"][1]["replicas"], 4);
    assert_eq!(
        sim["ticks"][2]["decision"]["reason"],
        "scale up france 4->5: avg CPU 90% > 70% for 3/3 ticks; cleanest region at 38 gCO2eq/kWh"
    );
    assert_eq!(c.state(), state);
    assert_eq!(c.replicas(), [2, 4, 2]);
    assert!(c.emu.requests()[before..].iter().all(|r| r.method == "GET"));

    let before = c.emu.requests().len();
    let sim = c
        .run(&["simulate", "--sample", "--cpu", "90", "-o", "json"])
        .json();
    assert_eq!(sim["source"], "sample");
    assert_eq!(sim["regions"][1]["replicas"], 2);
    assert_eq!(
        c.emu.requests().len(),
        before,
        "--sample reads nothing from the cluster"
    );
}

#[test]
fn the_ledger_counts_grams_emitted_and_avoided_across_ticks() {
    let c = Cluster::demo();
    c.emu.set_replicas(NS, "nginx-france", 4);
    c.tick();
    // Pretend the first tick ran a minute ago, so the next one accrues 60 s.
    let mut data = c.state();
    let ledger: serde_json::Value = serde_json::from_str(&data["ledger"]).unwrap();
    let earlier = carbonctl::clock::to_rfc3339(carbonctl::clock::now() - 60);
    let mut ledger = ledger;
    ledger["since"] = earlier.clone().into();
    ledger["last"] = earlier.into();
    data.insert("ledger".into(), ledger.to_string());
    c.emu.put_configmap(NS, common::cluster::STATE, data);
    c.tick();
    let json = c.run(&["status", "-o", "json"]).json();
    let ledger = &json["ledger"];
    // 60 s of 2 x 142 g + 4 x 38 g + 2 x 265 g at 2.4 W, against 8 replicas kept even.
    let emitted = 60.0 * (2.0 * 142.0 + 4.0 * 38.0 + 2.0 * 265.0) * 2.4 / 3.6e6;
    let even = 60.0 * 8.0 * ((142.0 + 38.0 + 265.0) / 3.0) * 2.4 / 3.6e6;
    let within = |a: &serde_json::Value, b: f64| (a.as_f64().unwrap() - b).abs() < 0.05 * b;
    assert!(within(&ledger["emittedGrams"], emitted), "{ledger}");
    assert!(within(&ledger["avoidedGrams"], even - emitted), "{ledger}");
    assert_eq!(ledger["signals"], serde_json::json!(["lifecycle"]));
    let table = c.run(&["status"]).stdout;
    assert!(
        table.contains("carbon ledger: since ")
            && table.contains("lifecycle intensity, 2.4 W per replica"),
        "{table}"
    );
}

#[test]
fn status_watch_refreshes_until_stopped() {
    use std::io::{BufRead, BufReader};
    let c = Cluster::demo();
    let kubeconfig = c.kubeconfig.to_str().unwrap();
    let env: Vec<(&str, &str)> = c
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut child = common::command(&env)
        .args([
            "status",
            "--watch",
            "--interval",
            "1s",
            "--kubeconfig",
            kubeconfig,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut frames: Vec<String> = Vec::new();
    for line in lines {
        let line = line.unwrap();
        if line.starts_with("Every 1s: carbonctl status    ") {
            if frames.len() == 1 {
                // Seen by the next refresh, not by the one already shown.
                c.emu.set_replicas(NS, "nginx-latvia", 4);
            }
            if frames.len() == 3 {
                break;
            }
            frames.push(String::new());
        } else if let Some(frame) = frames.last_mut() {
            frame.push_str(&line);
            frame.push('\n');
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let latvia = |frame: &str| {
        frame
            .lines()
            .find(|l| l.contains(" latvia "))
            .unwrap_or_else(|| panic!("no latvia row in {frame}"))
            .to_string()
    };
    assert!(latvia(&frames[0]).contains("2/2"), "{}", frames[0]);
    assert!(latvia(&frames[2]).contains("/4"), "{}", frames[2]);
    assert!(
        !frames.concat().contains('\x1b'),
        "piped output is not cleared in place"
    );

    let out = c.run(&["status", "--watch", "--interval", "soon"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("invalid setting --interval = \"soon\""),
        "{}",
        out.stderr
    );
}
