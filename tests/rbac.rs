//! RBAC coverage: the rules in rbac.yaml against the (verb, group, resource) triples carbonctl
//! really uses against the emulator across its journeys. Every triple used must be granted (or
//! the CronJob fails with 403 in a real cluster) and every triple granted must be used (or the
//! grant is wider than the code needs).

mod common;

use std::collections::BTreeSet;

use common::cluster::{Cluster, NS};

type Triple = (String, String, String);

/// The rules of every Role and ClusterRole in rbac.yaml. The file writes each rule's lists in
/// flow style (`verbs: ["get"]`); anything else is refused rather than misread.
fn granted() -> BTreeSet<Triple> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/rbac.yaml")).unwrap();
    let mut out = BTreeSet::new();
    for doc in text.split("\n---") {
        if !doc
            .lines()
            .any(|l| l == "kind: Role" || l == "kind: ClusterRole")
        {
            continue;
        }
        let rules = doc.split("\nrules:\n").nth(1).expect("a Role has rules");
        for rule in rules.split("\n  - ").filter(|r| r.contains("verbs:")) {
            let list = |key: &str| -> Vec<String> {
                let line = rule
                    .lines()
                    .map(|l| l.trim().trim_start_matches("- "))
                    .find(|l| l.starts_with(&format!("{key}:")))
                    .unwrap_or_else(|| panic!("rule without {key}: {rule}"));
                let value = line.split_once(':').unwrap().1.trim();
                assert!(
                    value.starts_with('[') && value.ends_with(']'),
                    "write {key} as a flow list: {line}"
                );
                value[1..value.len() - 1]
                    .split(',')
                    .map(|v| v.trim().trim_matches('"').to_string())
                    .collect()
            };
            for group in list("apiGroups") {
                for resource in list("resources") {
                    for verb in list("verbs") {
                        assert!(
                            verb != "*" && resource != "*" && group != "*",
                            "no wildcards in rbac.yaml"
                        );
                        out.insert((verb.clone(), group.clone(), resource.clone()));
                    }
                }
            }
        }
    }
    out
}

fn used(c: &Cluster, into: &mut BTreeSet<Triple>) {
    for r in c.emu.requests() {
        if let (Some(verb), Some(group), Some(resource)) = (r.verb, r.api_group, r.resource) {
            into.insert((verb, group, resource));
        }
    }
}

#[test]
fn rbac_grants_exactly_what_the_journeys_use() {
    let mut seen = BTreeSet::new();

    // Holding, acting (scale + Event), healing, a lost claim's neighbours, status, simulate,
    // dry run: every path through the code that talks to the API.
    let mut c = Cluster::demo();
    c.set("HOLD_CYCLES", "1").set("COOLDOWN", "0s");
    c.tick();
    c.emu.set_cpu_percent(None, 90.0);
    c.tick();
    c.emu.set_replicas(NS, "nginx-latvia", 0);
    c.tick();
    c.emu.set_replicas(NS, "nginx-denmark", 3);
    c.emu.set_cpu_percent(None, 5.0);
    assert_eq!(c.run(&["tick"]).code, 0);
    assert_eq!(c.run(&["tick", "--dry-run"]).code, 0);
    assert_eq!(c.run(&["status", "--refresh"]).code, 0);
    assert_eq!(c.run(&["simulate", "--cpu", "80"]).code, 0);
    used(&c, &mut seen);
    assert!(c.emu.events(NS).len() >= 3, "the journey must act and heal");

    let granted = granted();
    let unused: Vec<_> = granted.difference(&seen).collect();
    let missing: Vec<_> = seen.difference(&granted).collect();
    assert!(
        missing.is_empty(),
        "used but not granted by rbac.yaml (a real cluster answers 403): {missing:?}"
    );
    assert!(
        unused.is_empty(),
        "granted by rbac.yaml but never used: {unused:?}"
    );
}
