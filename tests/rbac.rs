//! RBAC coverage: the rules in rbac.yaml against the (verb, group, resource) triples carbonctl
//! really uses against the emulator across its journeys. Every triple used must be granted (or
//! the CronJob fails with 403 in a real cluster) and every triple granted must be used (or the
//! grant is wider than the code needs).

mod common;

use std::collections::BTreeSet;

use common::cluster::{Cluster, NS};
use common::fleet::Fleet;

type Triple = (String, String, String);

/// The rules of every Role and ClusterRole in an RBAC file of the repository. The files write
/// each rule's lists in flow style (`verbs: ["get"]`); anything else is refused rather than
/// misread.
fn granted(file: &str) -> BTreeSet<Triple> {
    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
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

fn used(emulator: &kube_emulator::Emulator, into: &mut BTreeSet<Triple>) {
    for r in emulator.requests() {
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
    used(&c.emu, &mut seen);
    assert!(c.emu.events(NS).len() >= 3, "the journey must act and heal");

    let granted = granted("rbac.yaml");
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

/// A fleet: the home cluster is asked only for the state (rbac.yaml grants it), each region's
/// cluster for exactly what rbac-member.yaml grants.
#[test]
fn rbac_member_grants_exactly_what_a_region_s_cluster_is_asked() {
    let mut f = Fleet::start();
    f.set("HOLD_CYCLES", "1").set("COOLDOWN", "0s");
    f.set_cpu_everywhere(90.0);
    for args in [
        &["tick"][..],
        &["tick"],
        &["status"],
        &["tick", "--dry-run"],
        &["simulate", "--cpu", "80"],
    ] {
        assert_eq!(f.run(args).code, 0, "{args:?}");
    }
    let mut home = BTreeSet::new();
    used(&f.home, &mut home);
    let mut members = BTreeSet::new();
    for member in f.members.values() {
        used(member, &mut members);
    }
    assert!(
        !f.member("france").events(NS).is_empty(),
        "the journey must act"
    );
    let home_granted = granted("rbac.yaml");
    let not_granted: Vec<_> = home.difference(&home_granted).collect();
    assert!(
        not_granted.is_empty(),
        "home cluster, not in rbac.yaml: {not_granted:?}"
    );
    let member = granted("rbac-member.yaml");
    let missing: Vec<_> = members.difference(&member).collect();
    let unused: Vec<_> = member.difference(&members).collect();
    assert!(
        missing.is_empty(),
        "used but not granted by rbac-member.yaml: {missing:?}"
    );
    assert!(
        unused.is_empty(),
        "granted by rbac-member.yaml but never used: {unused:?}"
    );
}

/// SCALE_TARGET=hpa-min: everything a floors journey asks (with a KEDA-managed region) is in
/// rbac.yaml plus rbac-hpa-floors.yaml, and every rule of rbac-hpa-floors.yaml is used.
#[test]
fn rbac_hpa_floors_grants_exactly_what_steering_floors_adds() {
    let mut c = Cluster::from_seed(kube_emulator::Seed::demo().with_hpas().with_keda("france"));
    c.set("SCALE_TARGET", "hpa-min")
        .set("HOLD_CYCLES", "1")
        .set("COOLDOWN", "0s");
    c.emu.set_cpu_percent(None, 90.0);
    c.tick();
    c.emu.set_cpu_percent(None, 5.0);
    c.tick();
    assert_eq!(c.run(&["status"]).code, 0);
    assert_eq!(c.run(&["tick", "--dry-run"]).code, 0);
    let mut seen = BTreeSet::new();
    used(&c.emu, &mut seen);
    assert!(c.emu.events(NS).len() >= 2, "the journey must move floors");

    let base = granted("rbac.yaml");
    let floors = granted("rbac-hpa-floors.yaml");
    let all: BTreeSet<Triple> = base.union(&floors).cloned().collect();
    let missing: Vec<_> = seen.difference(&all).collect();
    let unused: Vec<_> = floors.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "used but granted by neither rbac.yaml nor rbac-hpa-floors.yaml: {missing:?}"
    );
    assert!(
        unused.is_empty(),
        "granted by rbac-hpa-floors.yaml but never used: {unused:?}"
    );
}
