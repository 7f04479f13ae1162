//! Metrics end to end: ticks of the built binary against the emulator push to a real
//! Pushgateway, a real Prometheus scrapes it, and the series and values are read back through
//! Prometheus's HTTP API; the pushed text passes `promtool check metrics`; a gateway that is
//! down or hangs neither fails the tick nor keeps it past its budget.

mod common;

use std::time::{Duration, Instant};

use common::cluster::{tick_line, Cluster, CARBON_TOKEN, NS};
use common::prometheus::{promtool_check, Prometheus, Pushgateway, StandIn};

/// The demo cluster at 85% CPU with HOLD_CYCLES=1: the first tick scales france 2->3, the
/// second holds in the cooldown.
fn acting_cluster(pushgateway: &str) -> Cluster {
    let mut c = Cluster::demo();
    c.set("HOLD_CYCLES", "1")
        .set("COOLDOWN", "10m")
        .set("PUSHGATEWAY_URL", pushgateway);
    c.emu.set_cpu_percent(None, 85.0);
    c
}

fn one(result: &[(serde_json::Value, f64)]) -> f64 {
    assert_eq!(result.len(), 1, "{result:?}");
    result[0].1
}

#[test]
fn ticks_are_visible_in_prometheus_through_the_pushgateway() {
    let gateway = Pushgateway::start();
    let prometheus = Prometheus::start(&gateway);
    let c = acting_cluster(&gateway.url());
    assert_eq!(tick_line(&c.tick())["outcome"], "applied");
    let line = tick_line(&c.tick());
    assert_eq!(line["outcome"], "held");
    assert_eq!(c.replicas(), [2, 3, 2]);

    let held = r#"carbonctl_ticks_total{job="carbonctl",namespace="default",outcome="held"}"#;
    prometheus.wait_for(held, |r| r.len() == 1 && r[0].1 == 1.0);
    let applied = prometheus.query(r#"carbonctl_ticks_total{outcome="applied"}"#);
    assert_eq!(one(&applied), 1.0);
    let failed =
        prometheus.query(r#"sum(carbonctl_ticks_total{outcome=~"replicas_changed|scale_.*"})"#);
    assert_eq!(one(&failed), 0.0);

    let replicas = prometheus.query("carbonctl_region_replicas");
    let mut by_region: Vec<(String, f64)> = replicas
        .iter()
        .map(|(m, v)| (m["region"].as_str().unwrap().to_string(), *v))
        .collect();
    by_region.sort_by(|a, b| a.0.cmp(&b.0));
    let want = [("denmark", 2.0), ("france", 3.0), ("latvia", 2.0)];
    assert_eq!(by_region, want.map(|(r, v)| (r.to_string(), v)));
    for (labels, _) in &replicas {
        assert_eq!(
            labels["job"], "carbonctl",
            "honor_labels keeps the grouping key"
        );
        assert_eq!(labels["namespace"], NS);
    }
    assert_eq!(
        one(&prometheus.query(r#"carbonctl_region_max_replicas{region="france"}"#)),
        5.0
    );
    assert_eq!(
        one(&prometheus.query(r#"carbonctl_region_min_replicas{region="latvia"}"#)),
        1.0
    );
    let france =
        r#"carbonctl_region_carbon_intensity_grams_per_kilowatt_hour{region="france",zone="FR"}"#;
    assert_eq!(one(&prometheus.query(france)), 38.0);
    let latvia = r#"carbonctl_region_carbon_intensity_grams_per_kilowatt_hour{zone="LV"}"#;
    assert_eq!(one(&prometheus.query(latvia)), 265.0);
    let age = one(&prometheus.query(r#"carbonctl_region_carbon_age_seconds{region="denmark"}"#));
    assert!(
        (0.0..60.0).contains(&age),
        "fetched by the first tick: {age}"
    );
    let estimated = prometheus.query("carbonctl_region_carbon_estimated");
    assert_eq!(estimated.len(), 3, "{estimated:?}");
    let cooldown = one(&prometheus.query("carbonctl_cooldown_remaining_seconds"));
    assert!(cooldown > 500.0 && cooldown <= 600.0, "{cooldown}");
    let holds = prometheus.query(r#"carbonctl_hold_ticks{direction="up"}"#);
    assert_eq!(one(&holds), 1.0, "the held tick breached once more");
    assert_eq!(one(&prometheus.query("carbonctl_hold_cycles")), 1.0);
    assert_eq!(one(&prometheus.query("carbonctl_rebalance_pending")), 0.0);
    assert!(prometheus
        .query("carbonctl_rebalance_pending_started_timestamp_seconds")
        .is_empty());
    let emitted = prometheus.query("carbonctl_ledger_emitted_grams_total");
    assert_eq!(emitted[0].0["signal"], "lifecycle", "{emitted:?}");
    assert!(emitted[0].1 >= 0.0);
    let last = one(&prometheus.query("carbonctl_last_tick_timestamp_seconds"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - last).abs() < 60.0, "{last} vs {now}");
    let took = one(&prometheus.query("carbonctl_last_tick_duration_seconds"));
    assert!(took > 0.0 && took < 10.0, "{took}");

    // The state carries the running totals the next push continues from.
    assert_eq!(
        c.state()["tickTotals"],
        r#"{"held":1,"applied":1,"replicasChanged":0,"scaleFailed":0,"scaleUnanswered":0,"lostClaim":0}"#
    );
    let scraped = gateway.scrape();
    assert!(!scraped.contains(CARBON_TOKEN) && !scraped.contains(&c.emu.token()));
}

#[test]
fn the_pushed_text_passes_promtool_and_carries_no_token() {
    let stand_in = StandIn::start(false);
    let c = acting_cluster(&format!("{}/", stand_in.url()));
    c.tick();
    let requests = stand_in.requests();
    assert_eq!(requests.len(), 1, "one push per tick: {requests:?}");
    let (head, body) = requests[0].split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("PUT /metrics/job/carbonctl/namespace/default HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(head
        .to_ascii_lowercase()
        .contains("content-type: text/plain; version=0.0.4"));
    let (code, printed) = promtool_check(body);
    assert_eq!((code, printed.as_str()), (0, ""), "promtool on:\n{body}");
    assert!(
        !body.contains("http") && !body.contains("127.0.0.1"),
        "no URL pushed: {body}"
    );
    for secret in [CARBON_TOKEN.to_string(), c.emu.token(), "demo-fr".into()] {
        assert!(!requests[0].contains(&secret), "{secret} pushed");
    }
    assert!(
        body.contains("carbonctl_ticks_total{outcome=\"applied\"} 1\n"),
        "{body}"
    );
}

#[test]
fn a_pushgateway_down_or_hanging_neither_fails_the_tick_nor_keeps_it_past_its_budget() {
    // Down: nothing listens on the port.
    let closed = format!("http://127.0.0.1:{}", common::prometheus::free_port());
    let c = acting_cluster(&closed);
    let out = c.tick();
    assert_eq!(tick_line(&out)["outcome"], "applied");
    assert!(
        out.stderr
            .contains("metrics not pushed to the Pushgateway: connection failed"),
        "{}",
        out.stderr
    );
    assert_eq!(c.replicas(), [2, 3, 2]);
    assert!(c.state()["tickTotals"].contains(r#""applied":1"#));

    // Hanging: the connection is accepted and never answered.
    let hanging = StandIn::start(true);
    let mut c = acting_cluster(&hanging.url());
    c.set("TICK_TIMEOUT", "3s");
    let out = c.tick();
    assert_eq!(tick_line(&out)["outcome"], "applied");
    // The push waited only for what the tick had left of its 3 s, and said so.
    let said = "metrics not pushed to the Pushgateway: no answer within the ";
    let at = out
        .stderr
        .find(said)
        .unwrap_or_else(|| panic!("{}", out.stderr));
    let left: u64 = out.stderr[at + said.len()..]
        .split("ms")
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert!(
        left <= 3000,
        "the push may wait {left}ms, more than the tick's budget"
    );
    assert_eq!(c.replicas(), [2, 3, 2]);
}

#[test]
fn without_a_pushgateway_nothing_is_pushed_and_the_totals_still_count() {
    let stand_in = StandIn::start(false);
    let mut c = acting_cluster(&stand_in.url());
    c.env.remove("PUSHGATEWAY_URL");
    c.tick();
    c.tick();
    assert!(stand_in.requests().is_empty());
    assert!(c.state()["tickTotals"].contains(r#""held":1,"applied":1"#));
}

/// Every panel's queries in grafana/carbonctl-dashboard.json, with the dashboard's variables
/// as a user picks them: the namespace, and Grafana's rate interval.
fn dashboard_queries() -> Vec<(String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/grafana/carbonctl-dashboard.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        let title = panel["title"].as_str().unwrap().to_string();
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{title}");
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title} has no query");
        for target in targets {
            let expr = target["expr"].as_str().unwrap();
            let expr = expr
                .replace("$namespace", NS)
                .replace("$__rate_interval", "1m");
            assert!(!expr.contains('$'), "{title}: a variable left in {expr}");
            queries.push((title.clone(), expr));
        }
    }
    queries
}

#[test]
fn every_dashboard_query_returns_data_in_prometheus() {
    let queries = dashboard_queries();
    let titles: Vec<&str> = queries.iter().map(|(t, _)| t.as_str()).collect();
    for subject in [
        "Replicas per region over carbon intensity",
        "CO2eq avoided",
        "Ticks by outcome",
        "Holds",
        "Data age",
    ] {
        assert!(
            titles.contains(&subject),
            "no panel {subject:?}: {titles:?}"
        );
    }
    let gateway = Pushgateway::start();
    let prometheus = Prometheus::start(&gateway);
    let c = acting_cluster(&gateway.url());
    c.tick();
    c.tick();
    for (title, expr) in &queries {
        let result = prometheus.wait_for(expr, |r| !r.is_empty());
        assert!(
            result.iter().all(|(_, v)| v.is_finite()),
            "{title}: {expr}: {result:?}"
        );
    }
    let replicas = prometheus.query(&queries[0].1);
    assert_eq!(replicas.len(), 3, "one series per region: {replicas:?}");
}

#[test]
fn damaged_totals_stop_the_tick_are_named_and_left_alone() {
    let stand_in = StandIn::start(false);
    let c = acting_cluster(&stand_in.url());
    let mut data = c.state();
    data.insert("tickTotals".into(), r#"{"held":"many"}"#.into());
    c.emu
        .put_configmap(NS, common::cluster::STATE, data.clone());
    let out = c.run(&["tick"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(r#"is damaged at key "tickTotals": not a JSON object of outcome -> whole number of ticks"#),
        "{}",
        out.stderr
    );
    assert_eq!(
        c.state(),
        data,
        "damaged totals are never overwritten, nor reset"
    );
    assert_eq!(c.replicas(), [2, 2, 2]);
    assert!(
        stand_in.requests().is_empty(),
        "a tick that claimed nothing pushes nothing"
    );
}

/// A tick whose observation is slowed while `winner` is written as the state, as if another
/// tick had claimed it meanwhile; returns the slow tick's output.
fn lose_the_claim_to(c: &Cluster, winner: &std::collections::BTreeMap<String, String>) -> String {
    use kube_emulator::{Fault, FaultKind};
    c.emu.clear_requests();
    c.emu
        .inject_fault(Fault::new("/api/v1/nodes", FaultKind::DelayMs(2000)).method("GET"));
    let kubeconfig = c.kubeconfig.to_str().unwrap();
    let env: Vec<(&str, &str)> = c
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let child = common::command(&env)
        .args(["tick", "--kubeconfig", kubeconfig])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the slow tick has read the state (its node list is held back for 2 s), the winner
    // writes it.
    let read_state = || {
        c.emu.requests().iter().any(|r| {
            r.method == "GET"
                && r.path
                    .ends_with(&format!("/configmaps/{}", common::cluster::STATE))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !read_state() {
        assert!(Instant::now() < deadline, "the tick never read the state");
        std::thread::sleep(Duration::from_millis(20));
    }
    c.emu
        .put_configmap(NS, common::cluster::STATE, winner.clone());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_lost_claim_is_counted_in_the_winners_state_unless_its_change_is_in_flight() {
    let stand_in = StandIn::start(false);
    let c = acting_cluster(&stand_in.url());
    let held: std::collections::BTreeMap<String, String> = [
        ("formatVersion", "1"),
        ("holdUp", "1"),
        ("tickTotals", r#"{"held":5,"applied":0,"replicasChanged":0,"scaleFailed":0,"scaleUnanswered":0,"lostClaim":2}"#),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let stderr = lose_the_claim_to(&c, &held);
    assert!(
        stderr.contains("another tick wrote the state first"),
        "{stderr}"
    );
    let state = c.state();
    assert_eq!(
        state["tickTotals"],
        r#"{"held":5,"applied":0,"replicasChanged":0,"scaleFailed":0,"scaleUnanswered":0,"lostClaim":3}"#
    );
    assert_eq!(state["holdUp"], "1", "only the totals change");
    assert_eq!(c.replicas(), [2, 2, 2]);
    assert!(stand_in.requests().is_empty(), "the loser pushes nothing");
    // The next tick claims, acts and pushes the count.
    c.tick();
    assert!(stand_in.requests()[0].contains("carbonctl_ticks_total{outcome=\"lost_claim\"} 3\n"));

    // A winner changing replicas may write again: its state is left as it wrote it.
    let mut changing = c.state();
    assert!(changing.contains_key("attempt"), "{changing:?}");
    changing.insert("note".into(), "written by the winner".into());
    let stderr = lose_the_claim_to(&c, &changing);
    assert!(
        stderr.contains("the lost claim was not counted: the winning tick's change is in flight"),
        "{stderr}"
    );
    assert_eq!(c.state(), changing);
}
