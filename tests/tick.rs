//! `carbonctl tick` end to end: the built binary against the Kubernetes and ElectricityMaps
//! emulator, with a clean environment, asserting on the emulated cluster afterwards.

mod common;

use common::cluster::{tick_line, Cluster, NS, STATE};
use kube_emulator::{Fault, FaultKind};

#[test]
fn scales_up_the_cleanest_region_after_hold_cycles_and_records_it() {
    let c = Cluster::demo();
    c.emu.set_cpu_percent(None, 85.0);
    for n in 1..=2 {
        let line = tick_line(&c.tick());
        assert_eq!(line["decision"]["action"], "hold");
        assert_eq!(line["holdUp"], n);
        assert_eq!(c.replicas(), [2, 2, 2]);
    }
    let line = tick_line(&c.tick());
    assert_eq!(line["outcome"], "applied");
    assert_eq!(
        line["decision"]["reason"],
        "scale up france 2->3: avg CPU 85% > 70% for 3/3 ticks; cleanest region at 38 gCO2eq/kWh"
    );
    assert_eq!(c.replicas(), [2, 3, 2]);
    let state = c.state();
    assert_eq!(state["holdUp"], "0");
    assert!(state["lastScale"].contains(r#""action":"scale_up","region":"france","from":2,"to":3"#));
    let carbon: serde_json::Value = serde_json::from_str(&state["carbon"]).unwrap();
    assert_eq!(carbon["france"]["gramsPerKwh"], 38.0);
    assert_eq!(carbon["france"]["emissionFactorType"], "lifecycle");
    let events = c.emu.events(NS);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["reason"], "CarbonAwareRescale");
    assert_eq!(events[0]["involvedObject"]["name"], "nginx-france");
    assert!(events[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("scale up france 2->3"));
}

#[test]
fn scales_down_the_dirtiest_falling_back_when_it_is_at_min() {
    let mut c = Cluster::demo();
    c.set("HOLD_CYCLES", "1").set("COOLDOWN", "0s");
    c.emu.set_cpu_percent(None, 5.0);
    c.emu.set_replicas(NS, "nginx-latvia", 1);
    let line = tick_line(&c.tick());
    assert_eq!(line["decision"]["region"], "denmark", "{line}");
    assert!(line["decision"]["reason"]
        .as_str()
        .unwrap()
        .contains("latvia at its min of 1"));
    assert_eq!(c.replicas(), [1, 2, 1]);
    c.tick();
    assert_eq!(c.replicas(), [1, 1, 1]);
    let line = tick_line(&c.tick());
    assert_eq!(line["decision"]["action"], "hold");
    assert!(line["decision"]["reason"]
        .as_str()
        .unwrap()
        .contains("every region is at its min"));
}

#[test]
fn cooldown_is_respected_across_ticks() {
    let mut c = Cluster::demo();
    c.set("HOLD_CYCLES", "1").set("COOLDOWN", "10m");
    c.emu.set_cpu_percent(None, 90.0);
    c.tick();
    assert_eq!(c.replicas(), [2, 3, 2]);
    let line = tick_line(&c.tick());
    let reason = line["decision"]["reason"].as_str().unwrap();
    // 10m, or 9m59s when the second tick starts in the next second.
    assert!(
        reason.contains("but cooling down for ")
            && reason.ends_with("more after scale up france 2->3"),
        "{line}"
    );
    assert_eq!(c.replicas(), [2, 3, 2]);
    assert_eq!(c.scale_writes(), 1);
}

#[test]
fn heals_below_min_and_above_max_whatever_the_cooldown() {
    let mut c = Cluster::demo();
    c.set("COOLDOWN", "1h").set("MAX_REPLICAS", "4");
    c.emu.set_replicas(NS, "nginx-france", 0);
    c.emu.set_replicas(NS, "nginx-latvia", 6);
    let line = tick_line(&c.tick());
    assert_eq!(line["decision"]["action"], "heal");
    assert_eq!(c.replicas(), [2, 1, 6]);
    c.tick();
    c.tick();
    assert_eq!(c.replicas(), [2, 1, 4]);
    let line = tick_line(&c.tick());
    assert_eq!(line["decision"]["action"], "hold");
    let reasons: Vec<String> = c
        .emu
        .events(NS)
        .iter()
        .map(|e| e["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reasons, ["CarbonAwareHeal"; 3]);
    assert!(
        c.state()["lastScale"].is_empty(),
        "healing must not start a cooldown"
    );
}

#[test]
fn a_region_without_carbon_ranks_dirtiest() {
    let mut c = Cluster::demo();
    c.env.remove("CARBON_API_TOKEN");
    c.set("HOLD_CYCLES", "1")
        .set("DENMARK_TOKEN", "demo-dk")
        .set("LATVIA_TOKEN", "demo-lv")
        .set("FRANCE_TOKEN", "demo-dk");
    c.emu.set_cpu_percent(None, 90.0);
    let out = c.tick();
    assert!(out.stderr.contains("zone FR: HTTP 401"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("demo-dk"),
        "token leaked: {}",
        out.stderr
    );
    let line = tick_line(&out);
    assert_eq!(line["decision"]["region"], "denmark", "{line}");
    let carbon = &line["carbon"];
    assert_eq!(carbon[2]["region"], "france");
    assert_eq!(carbon[2]["gramsPerKwh"], serde_json::Value::Null);
}

#[test]
fn missing_metrics_api_holds_but_still_heals() {
    let c = Cluster::demo();
    c.emu.set_metrics_available(false);
    c.emu.set_cpu_percent(None, 95.0);
    let line = tick_line(&c.tick());
    assert_eq!(line["decision"]["action"], "hold");
    let reason = line["decision"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("metrics-server") && reason.contains("kubectl top nodes"),
        "{reason}"
    );
    c.emu.set_replicas(NS, "nginx-denmark", 0);
    let line = tick_line(&c.tick());
    assert_eq!(line["decision"]["action"], "heal");
    assert_eq!(c.replicas(), [1, 2, 2]);

    c.emu.set_metrics_available(true);
    c.emu.set_metrics_age(std::time::Duration::from_secs(600));
    let line = tick_line(&c.tick());
    assert!(
        line["decision"]["reason"]
            .as_str()
            .unwrap()
            .contains("no fresh NodeMetrics"),
        "{line}"
    );
}

#[test]
fn simulated_cpu_is_an_explicit_setting() {
    let mut c = Cluster::demo();
    c.emu.set_metrics_available(false);
    c.set("CPU_SOURCE", "simulated")
        .set("SIMULATED_CPU", "85")
        .set("HOLD_CYCLES", "1");
    c.tick();
    assert_eq!(c.replicas(), [2, 3, 2]);
    assert!(!c
        .emu
        .requests()
        .iter()
        .any(|r| r.path.contains("metrics.k8s.io")));
    let out = c.run_env(&["tick"], &[("SIMULATED_CPU", "")]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

/// Sets a cached carbon value for france fetched `age` ago and returns the state data.
fn with_cached_france(c: &Cluster, age_secs: i64) {
    let mut data = c.state();
    let fetched = carbonctl::clock::to_rfc3339(carbonctl::clock::now() - age_secs);
    data.insert(
        "carbon".into(),
        format!(r#"{{"france":{{"zone":"FR","gramsPerKwh":12.0,"fetchedAt":"{fetched}"}}}}"#),
    );
    c.emu.put_configmap(NS, STATE, data);
}

#[test]
fn carbon_api_failures_keep_the_cached_value_until_it_is_too_old() {
    let failures = [
        ("401", FaultKind::Status(401), "HTTP 401"),
        ("429", FaultKind::Status(429), "HTTP 429"),
        ("500", FaultKind::Status(500), "HTTP 500"),
        ("timeout", FaultKind::DelayMs(4000), "timed out"),
        ("malformed", FaultKind::Malformed, "malformed response"),
    ];
    for (name, kind, logged) in failures {
        let mut c = Cluster::demo();
        c.set("HOLD_CYCLES", "1")
            .set("CARBON_CACHE_TTL", "5m")
            .set("CARBON_MAX_STALENESS", "1h");
        c.emu.set_cpu_percent(None, 90.0);
        c.emu.set_carbon("FR", 500.0);
        with_cached_france(&c, 600);
        c.emu
            .inject_fault(Fault::new("/v3/carbon-intensity", kind.clone()).times(3));
        let out = c.tick();
        let line = tick_line(&out);
        // The stale-but-allowed cached 12 g wins over the live 500 g the API could not deliver.
        assert_eq!(line["decision"]["region"], "france", "{name}: {line}");
        let carbon: serde_json::Value = serde_json::from_str(&c.state()["carbon"]).unwrap();
        assert_eq!(carbon["france"]["gramsPerKwh"], 12.0, "{name}");
        assert!(
            carbon["france"]["lastError"]
                .as_str()
                .unwrap_or_default()
                .contains(logged),
            "{name}: {carbon}"
        );
        assert!(out.stderr.contains(logged), "{name}: {}", out.stderr);
        if name == "429" {
            assert!(
                carbon["france"]["retryAfter"].is_string(),
                "429 honours Retry-After: {carbon}"
            );
        }

        let mut c = Cluster::demo();
        c.set("HOLD_CYCLES", "1").set("CARBON_MAX_STALENESS", "1h");
        c.emu.set_cpu_percent(None, 90.0);
        with_cached_france(&c, 7200);
        c.emu
            .inject_fault(Fault::new("/v3/carbon-intensity", kind).times(3));
        let line = tick_line(&c.tick());
        assert_eq!(
            line["decision"]["region"], "denmark",
            "{name}: too old, france is unknown: {line}"
        );
    }
}

#[test]
fn fresh_cache_means_no_carbon_requests() {
    let c = Cluster::demo();
    c.tick();
    let carbon_calls = |c: &Cluster| {
        c.emu
            .requests()
            .iter()
            .filter(|r| r.path.starts_with("/v3/"))
            .count()
    };
    assert_eq!(carbon_calls(&c), 3);
    c.tick();
    assert_eq!(
        carbon_calls(&c),
        3,
        "second tick within CARBON_CACHE_TTL fetched again"
    );
}

#[test]
fn twenty_simultaneous_ticks_scale_once() {
    let mut c = Cluster::demo();
    c.set("HOLD_CYCLES", "1");
    c.emu.set_cpu_percent(None, 90.0);
    let children: Vec<_> = (0..20)
        .map(|_| {
            let mut cmd = common::command(
                &c.env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect::<Vec<_>>(),
            );
            cmd.args(["tick", "--kubeconfig", c.kubeconfig.to_str().unwrap()])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|ch| ch.wait_with_output().unwrap())
        .collect();
    assert!(
        outs.iter().all(|o| o.status.success()),
        "every tick exits 0"
    );
    let lost = outs
        .iter()
        .filter(|o| {
            String::from_utf8_lossy(&o.stderr).contains("another tick wrote the state first")
        })
        .count();
    assert_eq!(c.scale_writes(), 1);
    assert_eq!(c.replicas(), [2, 3, 2]);
    assert!(lost >= 1, "at least one tick must have lost the claim");
    assert_eq!(c.emu.events(NS).len(), 1);
    carbonctl::state::State::from_data(&c.state()).expect("state stays consistent");
}

#[test]
fn a_fault_on_any_kube_call_never_double_scales_and_the_next_tick_recovers() {
    let calls = [
        (
            "GET",
            "/api/v1/namespaces/default/configmaps/carbonctl-state",
        ),
        ("GET", "/api/v1/nodes"),
        ("GET", "/apis/metrics.k8s.io/v1beta1/nodes"),
        ("GET", "/apis/apps/v1/namespaces/default/deployments"),
        (
            "PUT",
            "/api/v1/namespaces/default/configmaps/carbonctl-state",
        ),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/default/deployments/nginx-france/scale",
        ),
        ("POST", "/api/v1/namespaces/default/events"),
    ];
    let kinds = [
        FaultKind::Status(500),
        FaultKind::Status(409),
        FaultKind::Status(403),
        FaultKind::DelayMs(6000),
        FaultKind::Malformed,
    ];
    for (method, path) in calls {
        for kind in &kinds {
            let mut c = Cluster::demo();
            c.set("HOLD_CYCLES", "1")
                .set("COOLDOWN", "0s")
                .set("TICK_TIMEOUT", "3s");
            c.emu.set_cpu_percent(None, 90.0);
            c.emu
                .inject_fault(Fault::new(path, kind.clone()).method(method));
            let out = c.run(&["tick"]);
            let label = format!("{kind:?} on {method} {path}");
            assert!(
                out.code == 0 || out.code == 1,
                "{label}: exit {}: {}",
                out.code,
                out.stderr
            );
            let after_fault = c.replicas();
            assert!(
                after_fault == [2, 2, 2] || after_fault == [2, 3, 2],
                "{label}: {after_fault:?}"
            );
            let state = carbonctl::state::State::from_data(&c.state())
                .unwrap_or_else(|e| panic!("{label}: damaged state: {e}"));
            if after_fault == [2, 2, 2] && state.last_failure.is_some() {
                // A refused scale leaves no cooldown; an unanswered one keeps it until the next
                // tick sees whether it took effect.
                let unanswered = state.attempt.as_ref().is_some_and(|a| a.unanswered);
                assert!(
                    state.policy.last_scale.is_none() || unanswered,
                    "{label}: an unapplied scale must not start a cooldown"
                );
            }
            c.emu.clear_faults();
            let out = c.tick();
            let expected = if after_fault == [2, 2, 2] {
                [2, 3, 2]
            } else {
                [2, 4, 2]
            };
            assert_eq!(
                c.replicas(),
                expected,
                "{label}: recovery tick: {}",
                out.stderr
            );
            assert!(c.scale_writes() <= 2, "{label}");
        }
    }
}

#[test]
fn a_damaged_state_is_refused_and_left_alone() {
    let c = Cluster::demo();
    let mut data = c.state();
    data.insert("holdUp".into(), "three".into());
    c.emu.put_configmap(NS, STATE, data.clone());
    let out = c.run(&["tick"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains(r#"state ConfigMap default/carbonctl-state is damaged at key "holdUp": "three" is not a whole number"#), "{}", out.stderr);
    assert!(out
        .stderr
        .contains("kubectl edit configmap carbonctl-state"));
    assert_eq!(c.state(), data, "a damaged state is never overwritten");
    assert_eq!(c.scale_writes(), 0);
}

#[test]
fn a_missing_state_configmap_says_how_to_create_it() {
    let c = Cluster::demo();
    let out = c.run(&["tick", "--state-configmap", "nope"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("state ConfigMap default/nope not found; create it with `kubectl apply -n default -f state-configmap.yaml`"), "{}", out.stderr);
}

#[test]
fn a_missing_deployment_skips_its_region_with_a_warning() {
    let c = Cluster::demo();
    let regions = "denmark=DK,france=FR,latvia=LV,spain=ES";
    let out = c.run(&["tick", "--regions", regions]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("region spain skipped: Deployment default/nginx-spain not found"),
        "{}",
        out.stderr
    );
}

#[test]
fn no_regional_deployment_at_all_is_a_failure() {
    let c = Cluster::demo();
    let out = c.run(&["tick", "--deployment-pattern", "web-{region}"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("none of the regional Deployments exists in namespace default (looked for web-denmark, web-france, web-latvia); check DEPLOYMENT_PATTERN (--deployment-pattern)"),
        "{}",
        out.stderr
    );
    assert_eq!(
        c.state(),
        common::cluster::initial_state(),
        "nothing written"
    );
}

#[test]
fn dry_run_prints_the_decision_and_writes_nothing() {
    let mut c = Cluster::demo();
    c.set("HOLD_CYCLES", "1");
    c.emu.set_cpu_percent(None, 90.0);
    let before = c.state();
    let out = c.run(&["tick", "--dry-run"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.starts_with("scale up france 2->3"),
        "{}",
        out.stdout
    );
    assert_eq!(c.state(), before);
    assert_eq!(c.replicas(), [2, 2, 2]);
    assert!(c
        .emu
        .requests()
        .iter()
        .all(|r| r.method == "GET" || r.path.starts_with("/v3/")));
}

#[test]
fn no_cluster_is_a_short_message_and_exit_1() {
    let out = common::carbonctl(&["tick"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no cluster reachable: no --kubeconfig, no $KUBECONFIG, no ~/.kube/config, and not running in a pod"), "{}", out.stderr);
    assert!(out.stderr.lines().count() <= 3, "{}", out.stderr);
    let out = common::carbonctl(&["status", "--kubeconfig", "/nonexistent/config"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("reading kubeconfig /nonexistent/config"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_hung_api_server_cannot_hang_the_tick() {
    let mut c = Cluster::demo();
    c.set("TICK_TIMEOUT", "2s").set("CARBON_API_TIMEOUT", "1s");
    c.emu.inject_fault(Fault::new(
        "/api/v1/namespaces/default/configmaps",
        FaultKind::DelayMs(20_000),
    ));
    let started = std::time::Instant::now();
    let out = c.run(&["tick"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("reading state ConfigMap default/carbonctl-state")
            && out.stderr.contains("timed out"),
        "{}",
        out.stderr
    );
    assert!(started.elapsed().as_secs() < 15);
}

#[test]
fn a_carbon_flip_with_steady_cpu_moves_a_replica_make_before_break() {
    let mut c = Cluster::demo();
    c.set("REBALANCE_MARGIN", "20")
        .set("COOLDOWN", "0s")
        .set("CARBON_CACHE_TTL", "0s");
    c.set("MIN_REPLICAS", "1");
    c.emu.set_auto_ready(false);
    // Steady CPU inside the band; France is the cleanest, Latvia the dirtiest.
    let line = tick_line(&c.tick());
    assert_eq!(
        line["decision"]["reason"],
        "rebalance 1/2: france 2->3, 227 g/kWh cleaner than latvia"
    );
    assert_eq!(c.replicas(), [2, 3, 2]);
    assert!(c.state()["pendingMove"]
        .contains(r#""to":"france","toReplicas":3,"from":"latvia","fromReplicas":2"#));

    // The new replica is not ready yet: latvia keeps its replicas.
    let line = tick_line(&c.tick());
    assert_eq!(line["decision"]["action"], "hold");
    assert!(line["decision"]["reason"]
        .as_str()
        .unwrap()
        .contains("rebalance waiting for france to have 3 ready replicas (2 now)"));
    assert_eq!(c.replicas(), [2, 3, 2]);
    let status = c.run(&["status"]).stdout;
    assert!(
        status.contains("pending rebalance: latvia -1 once france has 3 ready replicas"),
        "{status}"
    );

    c.emu.set_ready_replicas(NS, "nginx-france", 3);
    let line = tick_line(&c.tick());
    assert_eq!(
        line["decision"]["reason"],
        "rebalance 2/2: latvia 2->1, france's new replica is ready"
    );
    assert_eq!(c.replicas(), [2, 3, 1]);
    assert!(!c.state().contains_key("pendingMove"));
    let reasons: Vec<String> = c
        .emu
        .events(NS)
        .iter()
        .map(|e| e["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reasons, ["CarbonAwareRebalance"; 2]);

    // The grid flips: Latvia becomes the cleanest, France the dirtiest.
    c.emu.set_carbon("LV", 20.0);
    c.emu.set_carbon("FR", 400.0);
    c.emu.set_ready_replicas(NS, "nginx-latvia", 1);
    let line = tick_line(&c.tick());
    assert_eq!(
        line["decision"]["reason"],
        "rebalance 1/2: latvia 1->2, 380 g/kWh cleaner than france"
    );
    c.emu.set_ready_replicas(NS, "nginx-latvia", 2);
    c.tick();
    assert_eq!(c.replicas(), [2, 2, 2]);
}

#[test]
fn replicas_changed_between_observe_and_act_are_not_overwritten() {
    let mut c = Cluster::demo();
    c.set("HOLD_CYCLES", "1");
    c.emu.set_cpu_percent(None, 90.0);
    // The API server refuses the patch's `test` as it does when someone else scaled first.
    c.emu.inject_fault(
        Fault::new(
            "/apis/apps/v1/namespaces/default/deployments/nginx-france/scale",
            FaultKind::Status(422),
        )
        .method("PATCH"),
    );
    let out = c.tick();
    let line = tick_line(&out);
    assert_eq!(line["outcome"], "replicas_changed", "{line}");
    assert_eq!(c.replicas(), [2, 2, 2]);
    let state = c.state();
    assert!(
        state["lastFailure"].contains("scale up france 2->3")
            && state["lastFailure"].contains("not applied: replicas changed since observed"),
        "{state:?}"
    );
    assert!(
        state["lastScale"].is_empty(),
        "no cooldown for a change that did not happen"
    );
    assert!(c.emu.events(NS).is_empty());
    // The next tick re-observes and acts on what it sees.
    c.tick();
    assert_eq!(c.replicas(), [2, 3, 2]);
}

#[test]
fn no_token_reaches_the_log_even_at_trace_level() {
    let c = Cluster::demo();
    // Cluster::run_env fails the test if either the kube token or the carbon token shows up.
    let out = c.run_env(&["tick"], &[("RUST_LOG", "trace")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.lines().count() > 1,
        "trace logging produced nothing: {}",
        out.stderr
    );
    let out = c.run_env(
        &["tick"],
        &[("RUST_LOG", "ureq_proto=trace,hyper=trace,kube_client=trace")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    // ureq-proto hex-dumps whole requests, headers included, in 16-byte rows at trace level,
    // where a token split across rows would slip past a plain search: it must never log there.
    let traced: Vec<String> = out
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["level"] == "TRACE" || v["level"] == "DEBUG")
        .filter_map(|v| v["target"].as_str().map(str::to_string))
        .filter(|t| t.starts_with("ureq") || t.starts_with("hyper"))
        .collect();
    assert!(
        traced.is_empty(),
        "HTTP layers logged below info: {traced:?}"
    );
}

#[test]
fn a_broken_kubeconfig_is_reported_as_such() {
    let dir = common::temp_dir("broken");
    let path = dir.join("config");
    std::fs::write(&path, "this: is: not a kubeconfig").unwrap();
    let out = common::carbonctl_env(&["tick"], &[("KUBECONFIG", path.to_str().unwrap())]);
    assert_eq!(out.code, 1);
    let want = format!(
        "no cluster reachable: reading kubeconfig {}:",
        path.display()
    );
    assert!(out.stderr.contains(&want), "{}", out.stderr);
}

#[test]
fn an_api_server_that_does_not_answer_is_named() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = common::temp_dir("dead-server").join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\n\
contexts:\n- name: gone\n  context: {{cluster: gone, user: u, namespace: default}}\ncurrent-context: gone\n\
users:\n- name: u\n  user: {{token: not-a-real-token}}\n"
        ),
    )
    .unwrap();
    for command in ["tick", "status"] {
        let out = common::carbonctl(&["--kubeconfig", kubeconfig.to_str().unwrap(), command]);
        assert_eq!(out.code, 1, "{command}: {}", out.stderr);
        let said = format!(
            "reading state ConfigMap default/carbonctl-state: no answer from http://127.0.0.1:{port}/: "
        );
        assert!(out.stderr.contains(&said), "{command}: {}", out.stderr);
        assert!(!out.stderr.contains("ServiceError"), "{}", out.stderr);
        assert!(!out.stderr.contains("not-a-real-token"), "{}", out.stderr);
    }
}
