//! Inputs that are well-formed but absurd, settings that cannot work, and a cluster or API that
//! misbehaves in ways a plain error code does not show: carbonctl refuses them with a message
//! naming the setting, key or zone, and never writes a state it could not read back.

mod common;

use std::collections::BTreeMap;

use common::cluster::{tick_line, Cluster, NS, STATE};
use kube_emulator::{Fault, FaultKind};

fn state(c: &Cluster) -> carbonctl::state::State {
    carbonctl::state::State::from_data(&c.state()).expect("the state stays readable")
}

fn carbon_calls(c: &Cluster, zone: &str) -> usize {
    c.emu
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v3/") && r.query.contains(&format!("zone={zone}")))
        .count()
}

#[test]
fn an_absurd_carbon_value_is_refused_and_the_state_stays_readable() {
    let mut c = Cluster::demo();
    c.set("CARBON_CACHE_TTL", "0s");
    c.emu.set_carbon("FR", 1e308);
    for _ in 0..2 {
        let out = c.tick();
        assert!(
            out.stderr.contains("zone FR: malformed response (carbonIntensity 1e308 is outside the plausible 0 to 5000 gCO2eq/kWh)"),
            "{}",
            out.stderr
        );
        let line = tick_line(&out);
        assert_eq!(line["carbon"][2]["region"], "france", "{line}");
        assert_eq!(line["carbon"][2]["gramsPerKwh"], serde_json::Value::Null);
    }
    let s = state(&c);
    assert!(s.ledger.is_some());
    let status = c.run(&["status"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    // The API recovers: the next tick takes the value again.
    c.emu.set_carbon("FR", 38.0);
    let line = tick_line(&c.tick());
    assert_eq!(line["carbon"][0]["region"], "france", "{line}");
}

#[test]
fn carbon_answers_for_another_zone_or_with_oversized_fields_are_refused() {
    let cases = [
        (
            serde_json::json!({"zone": "PL", "carbonIntensity": 5.0}),
            "zone FR: malformed response (the answer is for zone \"PL\")",
        ),
        (
            serde_json::json!({"zone": "FR", "carbonIntensity": 5.0, "datetime": "9".repeat(1_000)}),
            "zone FR: malformed response (datetime is 1000 characters long; at most 64 are kept)",
        ),
        (
            serde_json::json!({"zone": "FR", "carbonIntensity": 5.0, "datetime": "9".repeat(400_000)}),
            "zone FR: malformed response (the answer is larger than 65536 bytes)",
        ),
    ];
    for (body, want) in cases {
        let mut c = Cluster::demo();
        c.set("HOLD_CYCLES", "1").set("LOG_FORMAT", "console");
        // One region, so the one faulty answer is the answer for FR.
        c.set("REGIONS", "france=FR");
        c.emu.set_cpu_percent(None, 90.0);
        c.emu
            .inject_fault(Fault::new("/v3/carbon-intensity", FaultKind::Body(body)).method("GET"));
        let out = c.tick();
        assert!(out.stderr.contains(want), "{want}: {}", out.stderr);
        let s = state(&c);
        let bytes: usize = c.state().values().map(String::len).sum();
        assert!(bytes < 8_000, "{want}: the state is {bytes} bytes");
        // Whichever zone got the bad answer is unknown; nothing else changed.
        let unknown: Vec<_> = s
            .carbon
            .values()
            .filter(|e| e.grams_per_kwh.is_none())
            .collect();
        assert_eq!(unknown.len(), 1, "{want}: {:?}", s.carbon);
    }
}

#[test]
fn the_reset_advice_for_a_damaged_state_is_a_command_that_works() {
    let c = Cluster::demo();
    let mut data = c.state();
    data.insert(
        "ledger".into(),
        r#"{"since":"2026-11-30T09:00:00Z","last":null}"#.into(),
    );
    c.emu.put_configmap(NS, STATE, data);
    let out = c.run(&["tick"]);
    assert_eq!(out.code, 1);
    let advice = out
        .stderr
        .split("reset the state with `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no reset advice: {}", out.stderr))
        .to_string();
    assert_eq!(advice, "kubectl replace -n default -f state-configmap.yaml");
    // Run it as the user would, from the repository, with the real kubectl.
    c.emu.set_allow_anonymous(true);
    let args: Vec<&str> = advice.split_whitespace().skip(1).collect();
    let kubectl = std::process::Command::new("kubectl")
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("KUBECONFIG", &c.kubeconfig)
        .output()
        .unwrap();
    assert!(
        kubectl.status.success(),
        "{}",
        String::from_utf8_lossy(&kubectl.stderr)
    );
    c.emu.set_allow_anonymous(false);
    assert_eq!(c.run(&["tick"]).code, 0);
}

#[test]
fn times_ahead_of_the_clock_are_brought_back_with_a_warning() {
    let mut c = Cluster::demo();
    c.set("HOLD_CYCLES", "1").set("CARBON_CACHE_TTL", "0s");
    c.emu.set_cpu_percent(None, 90.0);
    let future = "2099-01-01T00:00:00Z";
    let tomorrow = carbonctl::clock::to_rfc3339(carbonctl::clock::now() + 2 * 86_400);
    let mut data = c.state();
    data.insert(
        "lastScale".into(),
        format!(r#"{{"time":"{future}","action":"scale_up","region":"france","from":2,"to":3}}"#),
    );
    data.insert(
        "carbon".into(),
        format!(
            r#"{{"france":{{"zone":"FR","gramsPerKwh":12.0,"fetchedAt":"{future}"}},"latvia":{{"zone":"LV","gramsPerKwh":265.0,"fetchedAt":"{future}","retryAfter":"{tomorrow}"}}}}"#
        ),
    );
    data.insert(
        "ledger".into(),
        format!(r#"{{"since":"{future}","last":"{future}","regions":{{}},"blindIntensityReplicaSeconds":0.0,"unknownReplicaSeconds":0.0}}"#),
    );
    c.emu.put_configmap(NS, STATE, data);

    let out = c.tick();
    for key in [
        "lastScale.time",
        "carbon.france.fetchedAt",
        "carbon.latvia.retryAfter",
        "ledger.last",
    ] {
        assert!(
            out.stderr.contains(&format!("state key {key} is ")),
            "{key}: {}",
            out.stderr
        );
    }
    // The cooldown counts from now, not from 2099; the future cached value was fetched again.
    let line = tick_line(&out);
    let reason = line["decision"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("cooling down for 3m more")
            || reason.contains("cooling down for 2m59s more"),
        "{reason}"
    );
    assert_eq!(carbon_calls(&c, "FR"), 1);
    let s = state(&c);
    let day = carbonctl::clock::now() + 86_400 + 60;
    assert!(s.carbon["latvia"].retry_after.unwrap() <= day);
    assert!(s.ledger.unwrap().last <= carbonctl::clock::now());
}

#[test]
fn a_slow_carbon_api_does_not_cut_off_the_next_api_call() {
    let mut c = Cluster::demo();
    c.set("TICK_TIMEOUT", "20s").set("CARBON_API_TIMEOUT", "5s");
    c.emu
        .inject_fault(Fault::new("/v3/", FaultKind::DelayMs(4_800)).times(3));
    c.emu.inject_fault(
        Fault::new(
            "/api/v1/namespaces/default/configmaps",
            FaultKind::DelayMs(600),
        )
        .method("PUT"),
    );
    let out = c.run(&["tick"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(state(&c).ledger.is_some(), "the state was written");
}

#[test]
fn settings_that_cannot_work_are_refused_naming_the_setting() {
    let c = Cluster::demo();
    // (flags, environment, the message)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (&[], &[("CARBON_API_URL", "http://127.0.0.1:1/v 3")], "invalid setting CARBON_API_URL (--carbon-api-url) = \"http://127.0.0.1:1/v 3\": not an http(s) URL"),
        (&["--deployment-pattern", "..{region}"], &[], "invalid setting DEPLOYMENT_PATTERN (--deployment-pattern) = \"..{region}\": gives region denmark the Deployment name \"..denmark\""),
        (&["-n", "Web_Prod"], &[], "invalid setting --namespace = \"Web_Prod\": not a namespace name"),
        (&[], &[("TICK_TIMEOUT", "1s")], "invalid setting TICK_TIMEOUT (--timeout) = \"1s\": must be at least 2s"),
    ];
    for (args, env, want) in cases {
        let mut argv = vec!["tick"];
        argv.extend_from_slice(args);
        let out = c.run_env(&argv, env);
        assert_eq!(out.code, 2, "{want}: {}", out.stderr);
        assert!(out.stderr.contains(want), "{want}: {}", out.stderr);
    }
    // Text that is not UTF-8 names the setting too.
    use std::os::unix::ffi::OsStringExt;
    let out = common::command(&[])
        .args(["simulate", "--sample", "--cpu", "50"])
        .env("HOLD_CYCLES", std::ffi::OsString::from_vec(vec![0xff]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "invalid setting HOLD_CYCLES (--hold-cycles) = \"\u{fffd}\": not valid UTF-8"
        ),
        "{stderr}"
    );
}

#[test]
fn kubeconfig_lists_skip_missing_files_as_kubectl_does() {
    let c = Cluster::demo();
    let list = format!("/nonexistent/config:{}", c.kubeconfig.display());
    let env: BTreeMap<&str, &str> = c
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([("KUBECONFIG", list.as_str())])
        .collect();
    let env: Vec<(&str, &str)> = env.into_iter().collect();
    let out = common::carbonctl_env(&["tick"], &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = common::carbonctl_env(
        &["tick"],
        &[("KUBECONFIG", "/nonexistent/a:/nonexistent/b")],
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("$KUBECONFIG lists no file that exists (/nonexistent/a:/nonexistent/b)"),
        "{}",
        out.stderr
    );
}

#[test]
fn replicas_are_not_sent_where_they_cannot_run() {
    let mut c = Cluster::demo();
    // The NotReady node has no metrics and counts as idle, so the threshold is lower.
    c.set("HOLD_CYCLES", "1")
        .set("COOLDOWN", "0s")
        .set("SCALE_UP_THRESHOLD", "50");
    c.emu.set_cpu_percent(None, 90.0);
    c.emu.set_node_ready("worker-france", false);
    for want in [[3, 2, 2], [4, 2, 2], [5, 2, 2]] {
        let line = tick_line(&c.tick());
        let reason = line["decision"]["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("scale up denmark")
                && reason.contains("france has no ready node (1 not ready or cordoned); next cleanest region at 142"),
            "{reason}"
        );
        assert_eq!(c.replicas(), want);
    }
    let status = c.run(&["status"]).stdout;
    assert!(
        status.contains("not given replicas now: france has no ready node"),
        "{status}"
    );
    // A replica that cannot start holds its region back the same way.
    c.emu.set_node_ready("worker-france", true);
    c.emu.set_auto_ready(false);
    c.emu.set_replicas(NS, "nginx-denmark", 4);
    c.emu.set_replicas(NS, "nginx-latvia", 3);
    let line = tick_line(&c.tick());
    assert_eq!(line["decision"]["region"], "france", "{line}");
    let line = tick_line(&c.tick());
    let reason = line["decision"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("france has 1 of 3 replicas unavailable"),
        "{reason}"
    );
}
