//! A fleet of clusters end to end: a home cluster with the state and one cluster per region,
//! each its own kube-emulator process, reached through one merged kubeconfig as a user would.

mod common;

use std::time::{Duration, Instant};

use common::cluster::{tick_line, NS};
use common::fleet::Fleet;
use kube_emulator::{Fault, FaultKind};

fn requests(emulator: &kube_emulator::Emulator) -> Vec<String> {
    emulator
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn each_region_is_scaled_in_its_own_cluster_with_its_event_there() {
    let mut f = Fleet::start();
    f.set("HOLD_CYCLES", "1").set("COOLDOWN", "0s");
    f.set_cpu_everywhere(90.0);
    let out = f.run(&["tick"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = tick_line(&out);
    assert_eq!(
        line["decision"]["reason"],
        "scale up france 2->3: avg CPU 90% > 70% for 1/1 ticks; cleanest region at 38 gCO2eq/kWh"
    );
    assert_eq!(f.replicas(), [2, 3, 2]);
    let events = f.member("france").events(NS);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["involvedObject"]["name"], "nginx-france");
    assert!(f.member("denmark").events(NS).is_empty());
    assert!(
        f.home.events(NS).is_empty(),
        "nothing is recorded in the home cluster"
    );
    assert!(f.state()["lastScale"].contains(r#""region":"france""#));
    // The home cluster holds the state; each region's cluster answers three lists (and the
    // acting one its list of HPAs, the scale and the Event).
    assert_eq!(
        requests(&f.home)
            .iter()
            .filter(|r| !r.starts_with("GET /v3/"))
            .count(),
        2,
        "{:?}",
        requests(&f.home)
    );
    for (region, writes) in [("denmark", 0), ("france", 3), ("latvia", 0)] {
        let seen = requests(f.member(region));
        assert_eq!(seen.len(), 3 + writes, "{region}: {seen:?}");
    }

    f.set_cpu_everywhere(5.0);
    let line = tick_line(&f.run(&["tick"]));
    assert!(
        line["decision"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("scale down latvia 2->1"),
        "{line}"
    );
    assert_eq!(f.replicas(), [2, 3, 1]);
    assert_eq!(f.member("latvia").events(NS).len(), 1);

    let status = f.run(&["status"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    for want in ["cluster", "fr-prod", "lv-prod"] {
        assert!(status.stdout.contains(want), "{want}: {}", status.stdout);
    }
}

#[test]
fn a_stopped_member_is_named_and_the_others_go_on_until_it_returns() {
    let mut f = Fleet::start();
    f.set("HOLD_CYCLES", "1")
        .set("COOLDOWN", "0s")
        .set("TICK_TIMEOUT", "4s");
    f.set_cpu_everywhere(90.0);
    let latvia = f.stop("latvia");
    let out = f.run(&["tick"]);
    assert_eq!(
        out.code, 1,
        "a region left out fails the tick: {}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("region latvia skipped: its cluster (context lv-prod) did not answer"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("no answer from http://127.0.0.1:{}/", latvia.0)),
        "the member's API server is named: {}",
        out.stderr
    );
    let line = tick_line(&out);
    assert_eq!(line["decision"]["region"], "france", "{line}");
    assert_eq!(f.member("france").replicas(NS, "nginx-france"), Some(3));
    let status = f.run(&["status"]);
    assert!(status.stdout.contains("no answer"), "{}", status.stdout);
    assert!(
        status.stdout.contains("not observed: latvia"),
        "{}",
        status.stdout
    );

    f.restart("latvia", latvia);
    let out = f.run(&["tick"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        f.replicas()[2],
        2,
        "the restarted cluster is observed again"
    );
}

#[test]
fn a_member_that_refuses_is_left_out_and_the_state_remembers_its_nodes() {
    let mut f = Fleet::start();
    f.set("HOLD_CYCLES", "1").set("COOLDOWN", "0s");
    f.set_cpu_everywhere(50.0);
    assert_eq!(f.run(&["tick"]).code, 0);
    assert_eq!(
        f.state()["fleetNodes"],
        r#"{"denmark":2,"france":2,"latvia":2}"#
    );
    f.member("latvia")
        .inject_fault(Fault::new("/api/v1/nodes", FaultKind::Status(403)).times(10));
    // Hot where it answers: with latvia's two nodes counted as idle, 90% over four of six
    // nodes is 60%, inside the band, so nothing scales on half the picture.
    f.set_cpu("denmark", 90.0);
    f.set_cpu("france", 90.0);
    let out = f.run(&["tick"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("HTTP 403 Forbidden"), "{}", out.stderr);
    let line = tick_line(&out);
    assert_eq!(line["cpu"]["nodesWithoutMetrics"], 2, "{line}");
    assert_eq!(line["decision"]["action"], "hold", "{line}");
    assert_eq!(f.replicas(), [2, 2, 2]);
}

#[test]
fn a_hanging_member_delays_the_others_no_longer_than_its_own_timeout() {
    let mut f = Fleet::start();
    f.set("HOLD_CYCLES", "1")
        .set("COOLDOWN", "0s")
        .set("TICK_TIMEOUT", "8s");
    f.set_cpu_everywhere(95.0);
    for path in ["/api/v1/nodes", "/apis/"] {
        f.member("denmark")
            .inject_fault(Fault::new(path, FaultKind::DelayMs(30_000)).times(10));
    }
    let started = Instant::now();
    let out = f.run(&["tick"]);
    let took = started.elapsed();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("region denmark skipped"),
        "{}",
        out.stderr
    );
    // Each call is bounded at a quarter of TICK_TIMEOUT (2 s); the others are not held up.
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert_eq!(f.member("france").replicas(NS, "nginx-france"), Some(3));
}

#[test]
fn twenty_concurrent_ticks_across_the_fleet_make_one_scale() {
    let mut f = Fleet::start();
    f.set("HOLD_CYCLES", "1");
    f.set_cpu_everywhere(90.0);
    let env: Vec<(String, String)> = f.env.clone().into_iter().collect();
    let children: Vec<_> = (0..20)
        .map(|_| {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let mut cmd = common::command(&env);
            cmd.args(["tick", "--kubeconfig", f.kubeconfig.to_str().unwrap()])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    for child in children {
        assert!(child.wait_with_output().unwrap().status.success());
    }
    assert_eq!(f.replicas(), [2, 3, 2]);
    let scales: usize = f
        .members
        .values()
        .map(|m| {
            m.requests()
                .iter()
                .filter(|r| r.method == "PATCH" && (200..300).contains(&r.status))
                .count()
        })
        .sum();
    assert_eq!(scales, 1);
}

#[test]
fn fleet_settings_are_checked() {
    let mut f = Fleet::start();
    f.set("REGION_CONTEXTS", "denmark=dk-prod,france=fr-prod");
    let out = f.run(&["tick"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("REGION_CONTEXTS (--region-contexts) = \"denmark=dk-prod,france=fr-prod\": region latvia has no context"), "{}", out.stderr);
    f.set(
        "REGION_CONTEXTS",
        "denmark=dk-prod,france=fr-prod,latvia=nope",
    );
    let out = f.run(&["tick"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("REGION_CONTEXTS gives region latvia the context \"nope\", which kubeconfig"),
        "{}",
        out.stderr
    );
    f.set(
        "REGION_CONTEXTS",
        "denmark=dk-prod,france=dk-prod,latvia=lv-prod",
    );
    let out = f.run(&["tick"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("regions denmark and france name the same context dk-prod"),
        "{}",
        out.stderr
    );
}

#[test]
fn each_member_keeps_its_own_node_snapshot_and_a_silent_one_keeps_its_last() {
    let mut f = Fleet::start();
    f.set("TICK_TIMEOUT", "4s");
    let full_reads = |f: &Fleet, region: &str| {
        f.member(region)
            .requests()
            .iter()
            .filter(|r| r.path == "/api/v1/nodes" && !r.query.contains("fieldSelector"))
            .count()
    };
    assert_eq!(f.run(&["tick"]).code, 0);
    let nodes: serde_json::Value = serde_json::from_str(&f.state()["nodes"]).unwrap();
    let keys: Vec<&String> = nodes.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["dk-prod", "fr-prod", "lv-prod"], "by context");
    let latvia = f.stop("latvia");
    assert_eq!(f.run(&["tick"]).code, 1, "a member left out fails the tick");
    let kept: serde_json::Value = serde_json::from_str(&f.state()["nodes"]).unwrap();
    assert_eq!(
        kept["lv-prod"], nodes["lv-prod"],
        "the silent member's snapshot is kept"
    );
    f.restart("latvia", latvia);
    assert_eq!(f.run(&["tick"]).code, 0);
    for region in ["denmark", "france"] {
        assert_eq!(
            full_reads(&f, region),
            1,
            "{region}: read in full once, then cordoned only"
        );
    }
    assert_eq!(
        full_reads(&f, "latvia"),
        0,
        "its kept snapshot stands for the same nodes"
    );
}
