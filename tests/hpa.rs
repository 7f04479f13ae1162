//! Living alongside HorizontalPodAutoscalers and KEDA, end to end with the built binary against
//! the emulator's HPAs, KEDA ScaledObjects and HPA controller pass: in `replicas` mode a
//! Deployment an autoscaler owns is never written; in `hpa-min` mode the floors move instead,
//! conditionally, with their Events on the HPA or ScaledObject.

mod common;

use common::cluster::{tick_line, Cluster, NS};
use kube_emulator::{Fault, FaultKind, Seed};
use serde_json::Value;

const HPAS: &str = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";

fn requests(c: &Cluster) -> Vec<String> {
    c.emu
        .requests()
        .iter()
        .filter(|r| !r.path.starts_with("/v3/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn hpa_min(c: &Cluster, name: &str) -> i64 {
    c.emu.hpa(NS, name).expect("HPA exists")["spec"]["minReplicas"]
        .as_i64()
        .unwrap()
}

fn decision(out: &common::Output) -> String {
    tick_line(out)["decision"]["reason"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The demo with an HPA on `regions` only.
fn hpas_on(regions: &[&str]) -> Cluster {
    let mut seed = Seed::demo().with_hpas();
    seed.hpas
        .retain(|h| regions.iter().any(|r| h.target == format!("nginx-{r}")));
    Cluster::from_seed(seed)
}

#[test]
fn an_hpa_managed_deployment_is_left_alone_and_the_next_region_is_scaled() {
    let mut c = hpas_on(&["france"]);
    c.set("HOLD_CYCLES", "1").set("COOLDOWN", "0s");
    c.emu.set_cpu_percent(None, 90.0);
    c.emu.clear_requests();
    let out = c.tick();
    assert!(
        out.stderr
            .contains("region france left alone: its replicas belong to HPA nginx-france"),
        "{}",
        out.stderr
    );
    assert!(
        decision(&out).starts_with("scale up denmark 2->3"),
        "{}",
        decision(&out)
    );
    assert_eq!(c.replicas(), [3, 2, 2]);
    // One list of HPAs more than an acting tick without them: 8 requests.
    let seen = requests(&c);
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert_eq!(
        seen.iter()
            .filter(|r| r.ends_with("horizontalpodautoscalers"))
            .count(),
        1
    );

    // A holding tick does not look for HPAs.
    c.emu.set_cpu_percent(None, 50.0);
    c.emu.clear_requests();
    c.tick();
    let seen = requests(&c);
    assert_eq!(seen.len(), 5, "{seen:?}");

    // status names the HPA whatever the tick does.
    let status = c.run(&["status"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout.contains("HPA nginx-france: floor 2, max 6"),
        "{}",
        status.stdout
    );
    assert!(
        status
            .stdout
            .contains("left alone: france: its replicas belong to HPA nginx-france"),
        "{}",
        status.stdout
    );
}

#[test]
fn with_every_region_autoscaled_no_replicas_are_written_and_keda_is_named() {
    let mut c = Cluster::from_seed(Seed::demo().with_hpas().with_keda("latvia"));
    c.set("HOLD_CYCLES", "1").set("COOLDOWN", "0s");
    c.emu.set_cpu_percent(None, 90.0);
    let out = c.tick();
    assert_eq!(c.replicas(), [2, 2, 2]);
    assert!(
        out.stderr.contains(
            "region latvia left alone: its replicas belong to KEDA ScaledObject nginx-latvia (HPA keda-hpa-nginx-latvia)"
        ),
        "{}",
        out.stderr
    );
    assert!(
        !requests(&c).iter().any(|r| r.starts_with("PATCH")),
        "{:?}",
        requests(&c)
    );
    assert!(c.emu.events(NS).is_empty());
}

#[test]
fn hpas_that_cannot_be_listed_stop_a_tick_that_would_act() {
    let mut c = hpas_on(&[]);
    c.set("HOLD_CYCLES", "1").set("COOLDOWN", "0s");
    c.emu.set_cpu_percent(None, 90.0);
    let before = c.state();
    c.emu.inject_fault(Fault::new(HPAS, FaultKind::Status(403)));
    let out = c.run(&["tick"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("listing HorizontalPodAutoscalers in namespace default"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("403"), "{}", out.stderr);
    assert_eq!(c.replicas(), [2, 2, 2]);
    assert_eq!(c.state(), before, "nothing was claimed");
}

fn floors() -> Cluster {
    let mut c = Cluster::from_seed(Seed::demo().with_hpas());
    c.set("SCALE_TARGET", "hpa-min")
        .set("HOLD_CYCLES", "1")
        .set("COOLDOWN", "0s");
    c
}

#[test]
fn floors_mode_raises_the_cleanest_floor_and_lowers_the_dirtiest() {
    let c = floors();
    c.emu.set_cpu_percent(None, 90.0);
    c.emu.clear_requests();
    let out = c.tick();
    assert!(
        decision(&out).starts_with("scale up france 2->3"),
        "{}",
        decision(&out)
    );
    assert_eq!(hpa_min(&c, "nginx-france"), 3);
    assert_eq!(c.replicas(), [2, 2, 2], "carbonctl writes no replicas");
    let seen = requests(&c);
    assert!(
        seen.contains(&format!("PATCH {HPAS}/nginx-france")),
        "{seen:?}"
    );
    assert!(!seen.iter().any(|r| r.contains("/scale")), "{seen:?}");
    let events = c.emu.events(NS);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0]["involvedObject"]["kind"],
        "HorizontalPodAutoscaler"
    );
    assert_eq!(events[0]["involvedObject"]["name"], "nginx-france");
    assert_eq!(events[0]["reason"], "CarbonAwareRescale");

    // The HPA now keeps france at its floor or above.
    c.emu.sync_hpas();
    assert!(c.replicas()[1] >= 3, "{:?}", c.replicas());

    c.emu.set_cpu_percent(None, 5.0);
    let out = c.tick();
    assert!(
        decision(&out).starts_with("scale down latvia 2->1"),
        "{}",
        decision(&out)
    );
    assert_eq!(hpa_min(&c, "nginx-latvia"), 1);

    // A holding tick lists HPAs with its other lists: six requests.
    c.emu.set_cpu_percent(None, 50.0);
    c.emu.clear_requests();
    c.tick();
    let seen = requests(&c);
    assert_eq!(seen.len(), 6, "{seen:?}");
}

#[test]
fn a_floor_is_never_raised_above_the_hpa_max_nor_lowered_below_one() {
    let mut seed = Seed::demo().with_hpas();
    for hpa in &mut seed.hpas {
        hpa.max_replicas = 2;
    }
    let mut c = Cluster::from_seed(seed);
    c.set("SCALE_TARGET", "hpa-min")
        .set("HOLD_CYCLES", "1")
        .set("COOLDOWN", "0s")
        .set("MIN_REPLICAS", "0");
    c.emu.set_cpu_percent(None, 90.0);
    let out = c.tick();
    assert!(decision(&out).starts_with("hold"), "{}", decision(&out));
    assert_eq!(hpa_min(&c, "nginx-france"), 2);

    // MIN_REPLICAS=0, but an HPA's floor cannot be 0: each region goes down to 1, then holds.
    c.emu.set_cpu_percent(None, 5.0);
    for _ in 0..4 {
        c.tick();
    }
    for region in ["denmark", "france", "latvia"] {
        assert_eq!(hpa_min(&c, &format!("nginx-{region}")), 1, "{region}");
    }
}

#[test]
fn a_floor_changed_since_observed_is_not_overwritten() {
    let c = floors();
    c.emu.set_cpu_percent(None, 90.0);
    // The tick sees france's floor at 2; someone has set it to 4 in between.
    let listed: Value = {
        let mut hpas: Vec<Value> = ["denmark", "france", "latvia"]
            .iter()
            .map(|r| c.emu.hpa(NS, &format!("nginx-{r}")).unwrap())
            .collect();
        c.emu.set_hpa_min(NS, "nginx-france", 4);
        for hpa in &mut hpas {
            hpa["apiVersion"] = "autoscaling/v2".into();
            hpa["kind"] = "HorizontalPodAutoscaler".into();
        }
        serde_json::json!({
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscalerList",
            "metadata": {"resourceVersion": "1"},
            "items": hpas,
        })
    };
    c.emu
        .inject_fault(Fault::new(HPAS, FaultKind::Body(listed)).method("GET"));
    let out = c.run(&["tick"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("not applied: HPA nginx-france (minReplicas) changed since observed"),
        "{}",
        out.stderr
    );
    assert_eq!(
        hpa_min(&c, "nginx-france"),
        4,
        "the other writer's floor stands"
    );
    assert!(c.state()["lastFailure"].contains("changed since observed"));
    assert!(
        c.state()["lastScale"].is_empty(),
        "a refused change starts no cooldown"
    );
}

#[test]
fn a_keda_region_is_steered_through_its_scaled_object() {
    let mut c = Cluster::from_seed(Seed::demo().with_hpas().with_keda("france"));
    c.set("SCALE_TARGET", "hpa-min")
        .set("HOLD_CYCLES", "1")
        .set("COOLDOWN", "0s");
    c.emu.set_cpu_percent(None, 90.0);
    c.emu.clear_requests();
    let out = c.tick();
    assert!(
        decision(&out).starts_with("scale up france 2->3"),
        "{}",
        decision(&out)
    );
    let so = c.emu.scaled_object(NS, "nginx-france").unwrap();
    assert_eq!(so["spec"]["minReplicaCount"], 3);
    assert_eq!(
        hpa_min(&c, "keda-hpa-nginx-france"),
        3,
        "KEDA's HPA follows its ScaledObject"
    );
    let seen = requests(&c);
    assert!(
        seen.iter()
            .any(|r| r
                == "PATCH /apis/keda.sh/v1alpha1/namespaces/default/scaledobjects/nginx-france"),
        "{seen:?}"
    );
    assert!(
        !seen
            .iter()
            .any(|r| r.starts_with("PATCH") && r.contains("horizontalpodautoscalers")),
        "KEDA's HPA is never written: {seen:?}"
    );
    let events = c.emu.events(NS);
    assert_eq!(events[0]["involvedObject"]["kind"], "ScaledObject");

    // A holding tick reads the ScaledObjects' floors too: seven requests.
    c.emu.set_cpu_percent(None, 50.0);
    c.emu.clear_requests();
    c.tick();
    let seen = requests(&c);
    assert_eq!(seen.len(), 7, "{seen:?}");

    // status: the floor, the HPA max and conditions after the HPA's pass.
    c.emu.sync_hpas();
    let status = c.run(&["status"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    for want in [
        "steering HPA floors (SCALE_TARGET=hpa-min)",
        "KEDA ScaledObject nginx-france (HPA keda-hpa-nginx-france): floor 3, max 6",
        "HPA nginx-denmark: floor 2, max 6",
        "AbleToScale=True",
        "ScalingActive=True",
    ] {
        assert!(status.stdout.contains(want), "{want}: {}", status.stdout);
    }
}

#[test]
fn floors_mode_leaves_a_region_without_an_hpa_alone() {
    let mut seed = Seed::demo().with_hpas();
    seed.hpas.retain(|h| h.target != "nginx-france");
    let mut c = Cluster::from_seed(seed);
    c.set("SCALE_TARGET", "hpa-min")
        .set("HOLD_CYCLES", "1")
        .set("COOLDOWN", "0s");
    c.emu.set_cpu_percent(None, 90.0);
    let out = c.tick();
    assert!(
        out.stderr
            .contains("region france left alone: no HPA targets Deployment nginx-france"),
        "{}",
        out.stderr
    );
    assert!(
        decision(&out).starts_with("scale up denmark 2->3"),
        "{}",
        decision(&out)
    );
    assert_eq!(hpa_min(&c, "nginx-denmark"), 3);
    assert_eq!(c.replicas(), [2, 2, 2]);
}
