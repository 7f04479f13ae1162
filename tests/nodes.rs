//! What a tick reads of the nodes, end to end: every node on the first tick and whenever the
//! nodes NodeMetrics name change or the snapshot is older than NODE_REFRESH, else only the
//! cordoned ones; and each kind of node change reflected within that staleness.

mod common;

use carbonctl::clock::{parse_rfc3339, to_rfc3339};
use common::cluster::{tick_line, Cluster, NS, STATE};
use kube_emulator::{NodeSeed, Seed};
use serde_json::Value;

/// How the ticks since the last `clear_requests` listed nodes: "all" or "cordoned", in order.
fn node_reads(c: &Cluster) -> Vec<&'static str> {
    c.emu
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/api/v1/nodes")
        .map(|r| {
            if r.query.contains("fieldSelector=spec.unschedulable%3Dtrue") {
                "cordoned"
            } else {
                "all"
            }
        })
        .collect()
}

/// One tick after forgetting earlier requests: its node reads and its decision line.
fn tick(c: &Cluster) -> (Vec<&'static str>, Value) {
    c.emu.clear_requests();
    let line = tick_line(&c.tick());
    (node_reads(c), line)
}

fn snapshot(c: &Cluster) -> Value {
    let nodes: Value = serde_json::from_str(&c.state()["nodes"]).unwrap();
    nodes["*"].clone()
}

/// The demo cluster after a first tick, which reads every node.
fn warmed() -> Cluster {
    let c = Cluster::demo();
    let (reads, line) = tick(&c);
    assert_eq!(reads, ["all"]);
    assert_eq!(line["cpu"]["nodes"], 3);
    c
}

#[test]
fn a_holding_tick_reads_the_cordoned_nodes_only_and_stays_at_five_requests() {
    let c = warmed();
    assert_eq!(
        snapshot(&c)["groups"][0],
        serde_json::json!({"region": "denmark", "cpu": "4", "nodes": "worker-denmark"})
    );
    let (reads, line) = tick(&c);
    assert_eq!(reads, ["cordoned"]);
    assert_eq!(line["cpu"]["nodes"], 3);
    let kube: Vec<String> = c
        .emu
        .requests()
        .iter()
        .filter(|r| !r.path.starts_with("/v3/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        kube.len(),
        5,
        "GET state, NodeMetrics, cordoned nodes, Deployments, PUT state: {kube:?}"
    );
    // NodeMetrics come first: what the node list asks for depends on them.
    let metrics = kube.iter().position(|r| r.contains("metrics.k8s.io"));
    let nodes = kube.iter().position(|r| r.ends_with("/api/v1/nodes"));
    assert!(metrics < nodes, "{kube:?}");
}

#[test]
fn a_node_that_joins_counts_the_first_tick_it_has_metrics() {
    let c = warmed();
    let mut node = NodeSeed::new("worker-denmark-2");
    node.labels.insert("region".into(), "denmark".into());
    node.cpu_percent = Some(85.0);
    c.emu.add_node(&node);
    let (reads, line) = tick(&c);
    assert_eq!(reads, ["all"]);
    assert_eq!(line["cpu"]["nodes"], 4);
    assert_eq!(line["cpu"]["average"], 55.0, "(45 * 3 + 85) / 4");
    let (reads, _) = tick(&c);
    assert_eq!(reads, ["cordoned"], "the snapshot now holds it");
}

#[test]
fn a_node_that_leaves_stops_counting_at_once() {
    let c = warmed();
    c.emu.set_cpu_percent(Some("worker-latvia"), 90.0);
    c.emu.remove_node("worker-latvia");
    let (reads, line) = tick(&c);
    assert_eq!(reads, ["all"]);
    assert_eq!(line["cpu"]["nodes"], 2);
    assert_eq!(line["cpu"]["average"], 45.0);
    assert!(!c.state()["nodes"].contains("worker-latvia"));
}

#[test]
fn a_cordoned_node_stops_counting_the_next_tick_without_reading_every_node() {
    let c = warmed();
    c.emu.set_cpu_percent(Some("worker-france"), 95.0);
    let (_, line) = tick(&c);
    assert_eq!(line["cpu"]["max"], 95.0);
    c.emu.set_node_unschedulable("worker-france", true);
    let (reads, line) = tick(&c);
    assert_eq!(reads, ["cordoned"]);
    assert_eq!(line["cpu"]["nodes"], 2);
    assert_eq!(line["cpu"]["max"], 45.0);
    c.emu.set_node_unschedulable("worker-france", false);
    let (reads, line) = tick(&c);
    assert_eq!(reads, ["cordoned"]);
    assert_eq!(line["cpu"]["nodes"], 3);
}

#[test]
fn a_not_ready_node_stops_counting_at_once_and_is_read_again_when_it_is_back() {
    let c = warmed();
    c.emu.set_node_ready("worker-latvia", false);
    let (reads, line) = tick(&c);
    assert_eq!(reads, ["all"], "its NodeMetrics are gone");
    assert_eq!(line["cpu"]["nodes"], 2);
    assert_eq!(
        line["cpu"]["nodesWithoutMetrics"], 0,
        "NotReady: not counted at all"
    );
    assert_eq!(snapshot(&c)["notReady"], "worker-latvia");
    let (reads, _) = tick(&c);
    assert_eq!(
        reads,
        ["cordoned"],
        "a known NotReady node costs nothing more"
    );
    c.emu.set_node_ready("worker-latvia", true);
    let (reads, line) = tick(&c);
    assert_eq!(reads, ["all"]);
    assert_eq!(line["cpu"]["nodes"], 3);
    assert!(snapshot(&c).get("notReady").is_none());
}

#[test]
fn a_new_allocatable_cpu_counts_once_the_snapshot_is_older_than_node_refresh() {
    let c = warmed();
    // Twice the CPU at the same usage: 45% becomes 22.5%.
    c.emu.set_node_allocatable_cpu("worker-denmark", "8");
    let (reads, line) = tick(&c);
    assert_eq!(reads, ["cordoned"]);
    assert_eq!(
        line["cpu"]["average"], 45.0,
        "within NODE_REFRESH: the snapshot's 4 cores"
    );
    // Eleven minutes later, as far as the snapshot knows.
    let mut state = c.state();
    let mut nodes: Value = serde_json::from_str(&state["nodes"]).unwrap();
    let read_at = parse_rfc3339(nodes["*"]["readAt"].as_str().unwrap()).unwrap();
    nodes["*"]["readAt"] = to_rfc3339(read_at - 11 * 60).into();
    state.insert("nodes".into(), nodes.to_string());
    c.emu.put_configmap(NS, STATE, state);
    let (reads, line) = tick(&c);
    assert_eq!(reads, ["all"]);
    assert_eq!(line["cpu"]["average"], 37.5, "(22.5 + 45 + 45) / 3");
    assert_eq!(snapshot(&c)["groups"][0]["cpu"], "8");
}

#[test]
fn node_refresh_zero_reads_every_node_every_tick() {
    let mut c = Cluster::demo();
    c.set("NODE_REFRESH", "0s");
    for _ in 0..2 {
        let (reads, _) = tick(&c);
        assert_eq!(reads, ["all"]);
    }
}

#[test]
fn a_damaged_snapshot_is_refused_with_its_key_and_an_empty_one_is_read_again() {
    let c = warmed();
    let mut state = c.state();
    state.insert("nodes".into(), r#"{"*": {"readAt": "yesterday"}}"#.into());
    c.emu.put_configmap(NS, STATE, state.clone());
    let out = c.run(&["tick"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains(r#"key "nodes""#), "{}", out.stderr);
    assert!(out.stderr.contains("empty value"), "{}", out.stderr);
    state.insert("nodes".into(), String::new());
    c.emu.put_configmap(NS, STATE, state);
    let (reads, _) = tick(&c);
    assert_eq!(reads, ["all"]);
}

#[test]
fn a_snapshot_written_with_names_in_arrays_still_stands() {
    let c = warmed();
    let mut state = c.state();
    let joined = state["nodes"].clone();
    let mut nodes: Value = serde_json::from_str(&joined).unwrap();
    for group in nodes["*"]["groups"].as_array_mut().unwrap() {
        let names: Vec<&str> = group["nodes"].as_str().unwrap().split(',').collect();
        group["nodes"] = serde_json::json!(names);
    }
    let arrays = nodes.to_string();
    assert!(arrays.contains(r#""nodes":["worker-denmark"]"#), "{arrays}");
    state.insert("nodes".into(), arrays.clone());
    c.emu.put_configmap(NS, STATE, state);
    let (reads, line) = tick(&c);
    assert_eq!(reads, ["cordoned"], "the snapshot stands");
    assert_eq!(line["cpu"]["nodes"], 3);
    assert_eq!(
        c.state()["nodes"],
        arrays,
        "and is written back as it was read"
    );
}

#[test]
fn five_thousand_nodes_are_read_once_then_the_ticks_read_none() {
    let (seed, regions) = Seed::large(100, 50);
    let mut c = Cluster::from_seed(seed);
    c.set("REGIONS", &regions);
    let (reads, line) = tick(&c);
    assert_eq!(reads, ["all"]);
    assert_eq!(line["cpu"]["nodes"], 5000);
    let state = c.state();
    let size: usize = state.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert!(
        size < 256 * 1024,
        "the state stays far from the 1 MiB ConfigMap limit: {size} bytes"
    );
    c.emu.set_node_unschedulable("worker-r042-07", true);
    let (reads, line) = tick(&c);
    assert_eq!(reads, ["cordoned"]);
    assert_eq!(line["cpu"]["nodes"], 4999);
    let kube = c
        .emu
        .requests()
        .iter()
        .filter(|r| !r.path.starts_with("/v3/"))
        .count();
    assert_eq!(kube, 5);
}
