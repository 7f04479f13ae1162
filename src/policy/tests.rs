//! Named cases on both sides of every boundary, in the manner of the HPA's replica calculator
//! tests, plus properties for the invariants the rule promises.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

const NOW: i64 = 1_800_000_000;

fn policy() -> Policy {
    Policy {
        scale_up_threshold: 70.0,
        scale_down_threshold: 30.0,
        hold_cycles: 3,
        cooldown_secs: 180,
        trigger: CpuTrigger::Average,
        default_bounds: Bounds { min: 1, max: 5 },
        region_bounds: BTreeMap::new(),
        carbon_max_staleness_secs: 3600,
        rebalance_margin: None,
        rebalance_ready_timeout_secs: 600,
        rebalance_forecast_secs: None,
        carbon_unit: CarbonUnit::GramsPerKwh,
    }
}

/// Regions as (name, replicas, grams); grams < 0 means unknown.
fn obs(cpu: Option<f64>, regions: &[(&str, i32, f64)]) -> Observation {
    Observation {
        cpu: match cpu {
            Some(c) => CpuObservation::Known {
                average: c,
                max: c,
                nodes: 3,
                missing: 0,
            },
            None => CpuObservation::Missing {
                reason: "metrics API not available".into(),
            },
        },
        regions: regions
            .iter()
            .map(|&(name, replicas, grams)| RegionObservation {
                name: name.into(),
                deployment: format!("web-{name}"),
                replicas,
                ready: replicas,
                available: replicas,
                nodes: None,
                carbon: (grams >= 0.0).then_some(CarbonReading {
                    grams_per_kwh: grams,
                    fetched_at: NOW - 60,
                    forecast_grams: None,
                }),
            })
            .collect(),
    }
}

/// The seed's regions with a CPU figure from `nodes` reporting nodes and `missing` silent ones.
fn reporting(average: f64, max: f64, nodes: usize, missing: usize) -> Observation {
    let mut o = obs(Some(0.0), SEED);
    o.cpu = CpuObservation::Known {
        average,
        max,
        nodes,
        missing,
    };
    o
}

fn max_trigger() -> Policy {
    Policy {
        trigger: CpuTrigger::Max,
        ..policy()
    }
}

fn held(up: u32, down: u32) -> PolicyState {
    PolicyState {
        hold_up: up,
        hold_down: down,
        ..PolicyState::default()
    }
}

fn scaled_ago(secs: i64) -> PolicyState {
    PolicyState {
        hold_up: 2,
        last_scale: Some(ActionRecord {
            time: NOW - secs,
            action: Action::ScaleUp,
            region: "france".into(),
            from: 2,
            to: 3,
        }),
        ..PolicyState::default()
    }
}

const SEED: &[(&str, i32, f64)] = &[
    ("denmark", 2, 120.0),
    ("france", 2, 40.0),
    ("latvia", 2, 300.0),
];

struct Case {
    name: &'static str,
    obs: Observation,
    prev: PolicyState,
    policy: Policy,
    want: (Option<Action>, Option<&'static str>, Option<i32>),
    want_holds: (u32, u32),
    reason_has: &'static str,
}

fn case(
    name: &'static str,
    obs: Observation,
    prev: PolicyState,
    want: (Option<Action>, Option<&'static str>, Option<i32>),
    want_holds: (u32, u32),
    reason_has: &'static str,
) -> Case {
    Case {
        name,
        obs,
        prev,
        policy: policy(),
        want,
        want_holds,
        reason_has,
    }
}

#[test]
fn decide_table() {
    let mut per_region = policy();
    per_region
        .region_bounds
        .insert("latvia".into(), Bounds { min: 2, max: 5 });
    let mut max_trigger = policy();
    max_trigger.trigger = CpuTrigger::Max;
    let mut max_obs = obs(Some(50.0), SEED);
    max_obs.cpu = CpuObservation::Known {
        average: 50.0,
        max: 90.0,
        nodes: 3,
        missing: 0,
    };
    let mut stale = obs(Some(90.0), SEED);
    stale.regions[1].carbon.as_mut().unwrap().fetched_at = NOW - 3601;
    let mut just_fresh = obs(Some(90.0), SEED);
    just_fresh.regions[1].carbon.as_mut().unwrap().fetched_at = NOW - 3600;

    let cases = vec![
        case("inside band resets holds", obs(Some(50.0), SEED), held(2, 0), (None, None, None), (0, 0), "within 30%..70%"),
        case("exactly at up-threshold is inside", obs(Some(70.0), SEED), held(2, 0), (None, None, None), (0, 0), "within"),
        case("exactly at down-threshold is inside", obs(Some(30.0), SEED), held(0, 2), (None, None, None), (0, 0), "within"),
        case("first breach counts 1/3", obs(Some(70.1), SEED), held(0, 0), (None, None, None), (1, 0), "avg CPU 70.1% > 70% for 1/3 ticks"),
        case("second breach counts 2/3", obs(Some(82.0), SEED), held(1, 0), (None, None, None), (2, 0), "2/3"),
        case("third breach scales up cleanest", obs(Some(82.0), SEED), held(2, 0), (Some(Action::ScaleUp), Some("france"), Some(3)), (0, 0), "scale up france 2->3: avg CPU 82% > 70% for 3/3 ticks; cleanest region at 40 gCO2eq/kWh"),
        case("breach flips side: down count restarts", obs(Some(10.0), SEED), held(2, 0), (None, None, None), (0, 1), "1/3"),
        case("third low tick scales down dirtiest", obs(Some(5.0), SEED), held(0, 2), (Some(Action::ScaleDown), Some("latvia"), Some(1)), (0, 0), "scale down latvia 2->1: avg CPU 5% < 30% for 3/3 ticks; dirtiest region at 300 gCO2eq/kWh"),
        case("cleanest at max falls back to next cleanest", obs(Some(90.0), &[("denmark", 2, 120.0), ("france", 5, 40.0), ("latvia", 2, 300.0)]), held(2, 0), (Some(Action::ScaleUp), Some("denmark"), Some(3)), (0, 0), "france at its max of 5; next cleanest region at 120"),
        case("cleanest one below max still chosen", obs(Some(90.0), &[("denmark", 2, 120.0), ("france", 4, 40.0), ("latvia", 2, 300.0)]), held(2, 0), (Some(Action::ScaleUp), Some("france"), Some(5)), (0, 0), "cleanest region"),
        case("dirtiest at min falls back to next dirtiest", obs(Some(5.0), &[("denmark", 2, 120.0), ("france", 2, 40.0), ("latvia", 1, 300.0)]), held(0, 2), (Some(Action::ScaleDown), Some("denmark"), Some(1)), (0, 0), "latvia at its min of 1; next dirtiest"),
        case("all at max holds", obs(Some(90.0), &[("denmark", 5, 120.0), ("france", 5, 40.0), ("latvia", 5, 300.0)]), held(2, 0), (None, None, None), (3, 0), "every region is at its max"),
        case("all at min holds", obs(Some(5.0), &[("denmark", 1, 120.0), ("france", 1, 40.0), ("latvia", 1, 300.0)]), held(0, 2), (None, None, None), (0, 3), "every region is at its min"),
        case("holds are capped at hold cycles", obs(Some(90.0), &[("denmark", 5, 120.0), ("france", 5, 40.0), ("latvia", 5, 300.0)]), held(3, 0), (None, None, None), (3, 0), "3/3"),
        case("cooldown blocks one second before its end", obs(Some(90.0), SEED), scaled_ago(179), (None, None, None), (3, 0), "cooling down for 1s more after scale up france 2->3"),
        case("cooldown over exactly at its end", obs(Some(90.0), SEED), scaled_ago(180), (Some(Action::ScaleUp), Some("france"), Some(3)), (0, 0), "scale up france"),
        case("unknown carbon ranks dirtiest for scale-down", obs(Some(5.0), &[("denmark", 2, -1.0), ("france", 2, 40.0), ("latvia", 2, 300.0)]), held(0, 2), (Some(Action::ScaleDown), Some("denmark"), Some(1)), (0, 0), "unknown carbon"),
        case("unknown carbon never preferred for scale-up", obs(Some(90.0), &[("denmark", 2, -1.0), ("france", 2, 400.0), ("latvia", 2, 300.0)]), held(2, 0), (Some(Action::ScaleUp), Some("latvia"), Some(3)), (0, 0), "cleanest region at 300"),
        case("all unknown: ties by name", obs(Some(90.0), &[("denmark", 2, -1.0), ("france", 2, -1.0), ("latvia", 2, -1.0)]), held(2, 0), (Some(Action::ScaleUp), Some("denmark"), Some(3)), (0, 0), "unknown carbon"),
        case("equal carbon: ties by name", obs(Some(90.0), &[("latvia", 2, 50.0), ("france", 2, 50.0)]), held(2, 0), (Some(Action::ScaleUp), Some("france"), Some(3)), (0, 0), "france"),
        case("missing CPU holds and resets", obs(None, SEED), held(2, 0), (None, None, None), (0, 0), "no CPU data (metrics API not available)"),
        case("heal below min even without CPU", obs(None, &[("denmark", 0, 120.0), ("france", 2, 40.0), ("latvia", 2, 300.0)]), held(0, 0), (Some(Action::Heal), Some("denmark"), Some(1)), (0, 0), "heal denmark 0->1: below its min of 1"),
        case("heal above max during cooldown", obs(Some(50.0), &[("denmark", 7, 120.0), ("france", 2, 40.0), ("latvia", 2, 300.0)]), scaled_ago(10), (Some(Action::Heal), Some("denmark"), Some(6)), (0, 0), "above its max of 5 (2 steps to go)"),
        case("heal below min wins over scale-up", obs(Some(90.0), &[("denmark", 2, 120.0), ("france", 2, 40.0), ("latvia", 0, 300.0)]), held(2, 0), (Some(Action::Heal), Some("latvia"), Some(1)), (3, 0), "below its min"),
        case("per-region min respected on scale-down", obs(Some(5.0), &[("denmark", 1, 120.0), ("france", 2, 40.0), ("latvia", 2, 300.0)]), held(0, 2), (Some(Action::ScaleDown), Some("france"), Some(1)), (0, 0), "latvia at its min of 2, denmark at its min of 1"),
        case("stale carbon counts as unknown", stale, held(2, 0), (Some(Action::ScaleUp), Some("denmark"), Some(3)), (0, 0), "cleanest region at 120"),
        case("carbon exactly at max staleness still used", just_fresh, held(2, 0), (Some(Action::ScaleUp), Some("france"), Some(3)), (0, 0), "cleanest region at 40"),
        case("max trigger uses busiest node", max_obs, held(2, 0), (Some(Action::ScaleUp), Some("france"), Some(3)), (0, 0), "max CPU 90% > 70%"),
    ];
    let names: Vec<_> = cases.iter().map(|c| c.name).collect();
    for mut c in cases {
        if c.name == "per-region min respected on scale-down" {
            c.policy = per_region.clone();
        }
        if c.name == "max trigger uses busiest node" {
            c.policy = max_trigger.clone();
        }
        let (d, next) = decide(&c.obs, &c.prev, &c.policy, NOW);
        let reason = d.to_string();
        assert_eq!(
            (d.action(), d.region(), d.to()),
            c.want,
            "{}: {reason}",
            c.name,
        );
        assert_eq!(
            (next.hold_up, next.hold_down),
            c.want_holds,
            "{}: holds",
            c.name
        );
        assert!(
            reason.contains(c.reason_has),
            "{}: reason {reason:?} lacks {:?}",
            c.name,
            c.reason_has
        );
        if d.action().is_some_and(Action::is_cpu_driven) {
            assert_eq!(
                next.last_scale.as_ref().map(|r| r.time),
                Some(NOW),
                "{}",
                c.name
            );
        }
    }
    assert_eq!(names.len(), 28);
}

#[test]
fn nodes_without_metrics_never_argue_for_an_action() {
    // The nodes that did not report count as idle for scaling up and as busy for scaling down.
    let partial = reporting;
    let max_trigger = max_trigger();
    let cases = [
        (
            "hot reporters, not hot enough with idle others",
            partial(90.0, 95.0, 2, 2),
            policy(),
            None,
            "avg CPU 90% (2 of 4 nodes reporting",
        ),
        (
            "hot enough even with an idle other",
            partial(100.0, 100.0, 3, 1),
            policy(),
            Some(Action::ScaleUp),
            "avg CPU 75% (3 of 4 nodes reporting",
        ),
        (
            "cold reporters kept in the band by busy others",
            partial(5.0, 5.0, 2, 2),
            policy(),
            None,
            "within 30%..70%",
        ),
        (
            "cold enough even with a busy other",
            partial(0.0, 0.0, 4, 1),
            policy(),
            Some(Action::ScaleDown),
            "avg CPU 20% (4 of 5 nodes reporting",
        ),
        (
            "max trigger never scales down on partial data",
            partial(1.0, 1.0, 2, 2),
            max_trigger,
            None,
            "max CPU 1% (2 of 4",
        ),
    ];
    for (name, o, mut p, want, reason) in cases {
        p.hold_cycles = 1;
        let (d, _) = decide(&o, &PolicyState::default(), &p, NOW);
        assert_eq!(d.action(), want, "{name}: {d}");
        assert!(d.to_string().contains(reason), "{name}: {d}");
    }
}

#[test]
fn healing_does_not_start_or_extend_a_cooldown() {
    let (d, next) = decide(
        &obs(Some(50.0), &[("denmark", 0, 120.0)]),
        &scaled_ago(170),
        &policy(),
        NOW,
    );
    assert_eq!(d.action(), Some(Action::Heal));
    assert_eq!(next.last_scale, scaled_ago(170).last_scale);
    assert_eq!(
        next.last_heal.map(|h| (h.region, h.from, h.to)),
        Some(("denmark".to_string(), 0, 1))
    );
}

fn arb_case() -> impl Strategy<Value = (Observation, PolicyState, i64)> {
    let region = (0i32..9, prop::option::of(0.0f64..600.0), 0i64..7200);
    (
        prop::option::of(0.0f64..100.0),
        prop::collection::vec(region, 1..5),
        0u32..4,
        0u32..4,
        prop::option::of(0i64..400),
    )
        .prop_map(|(cpu, regions, up, down, ago)| {
            let names = ["alpha", "bravo", "charlie", "delta"];
            let obs = Observation {
                cpu: match cpu {
                    Some(c) => CpuObservation::Known {
                        average: c,
                        max: c,
                        nodes: 2,
                        missing: 0,
                    },
                    None => CpuObservation::Missing {
                        reason: "no metrics".into(),
                    },
                },
                regions: regions
                    .iter()
                    .enumerate()
                    .map(|(i, (replicas, grams, age))| RegionObservation {
                        name: names[i].into(),
                        deployment: format!("web-{}", names[i]),
                        replicas: *replicas,
                        ready: *replicas,
                        available: *replicas,
                        nodes: None,
                        carbon: grams.map(|g| CarbonReading {
                            grams_per_kwh: g,
                            fetched_at: NOW - age,
                            forecast_grams: None,
                        }),
                    })
                    .collect(),
            };
            let (up, down) = if up > 0 { (up, 0) } else { (0, down) };
            let prev = PolicyState {
                hold_up: up,
                hold_down: down,
                last_scale: ago.map(|a| ActionRecord {
                    time: NOW - a,
                    action: Action::ScaleUp,
                    region: "alpha".into(),
                    from: 1,
                    to: 2,
                }),
                ..PolicyState::default()
            };
            (obs, prev, NOW)
        })
}

proptest! {
    /// The early answers (for ticks that need no ranking, and for ticks that hold quietly) are
    /// the answers the whole rule gives.
    #[test]
    fn the_quiet_path_decides_as_the_whole_rule((o, prev, now) in arb_case(), rebalance in any::<bool>()) {
        let p = if rebalance { rebalancing() } else { policy() };
        let whole = decide_ranked(&o, &rank(&o, &p, now), &prev, &p, now);
        prop_assert_eq!(decide(&o, &prev, &p, now), whole.clone());
        // A tick that holds quietly is exactly a hold inside the band that restarts the holds.
        if holds_quietly(&o, &prev, &p) {
            let mut quiet = prev.clone();
            quiet.hold_quietly();
            prop_assert_eq!(&whole.1, &quiet);
            let held_in_band = matches!(&whole.0, Decision::Hold(Hold { why: HoldWhy::InBand { .. }, cancelled: None }));
            prop_assert!(held_in_band, "{}", whole.0);
        }
    }

    #[test]
    fn at_most_one_replica_moves_and_only_as_declared((o, prev, now) in arb_case()) {
        let p = policy();
        let (d, _) = decide(&o, &prev, &p, now);
        if let Some(c) = d.change() {
            let r = o.regions.iter().find(|r| r.name == c.region).unwrap();
            prop_assert_eq!(c.from, r.replicas);
            prop_assert_eq!(&c.deployment, &r.deployment);
            prop_assert_eq!((c.to - r.replicas).abs(), 1);
        }
    }

    #[test]
    fn cpu_driven_scale_stays_within_bounds((o, prev, now) in arb_case()) {
        let p = policy();
        let (d, _) = decide(&o, &prev, &p, now);
        if d.action().is_some_and(Action::is_cpu_driven) {
            let to = d.to().unwrap();
            prop_assert!(to >= p.default_bounds.min && to <= p.default_bounds.max, "{}", d);
        }
    }

    #[test]
    fn never_scales_during_cooldown_or_before_hold((o, prev, now) in arb_case()) {
        let p = policy();
        let (d, _) = decide(&o, &prev, &p, now);
        if d.action().is_some_and(Action::is_cpu_driven) {
            prop_assert!(prev.cooldown_left(&p, now).is_none());
            let before = if d.action() == Some(Action::ScaleUp) { prev.hold_up } else { prev.hold_down };
            prop_assert!(before + 1 >= p.hold_cycles, "acted after {} breaches", before + 1);
            let missing = matches!(o.cpu, CpuObservation::Missing { .. });
            prop_assert!(!missing, "acted without CPU data");
        }
    }

    /// The order the cluster lists regions in never matters (ties go by name), and
    /// per-region bounds are honoured like the default ones.
    #[test]
    fn independent_of_listing_order_and_honours_region_bounds((o, prev, now) in arb_case(), rotate in 0usize..4, tie in any::<bool>()) {
        let mut p = policy();
        p.region_bounds.insert("bravo".into(), Bounds { min: 2, max: 3 });
        let mut o = o;
        if tie {
            for r in o.regions.iter_mut() {
                if let Some(c) = r.carbon.as_mut() {
                    c.grams_per_kwh = 100.0;
                }
            }
        }
        let mut rotated = o.clone();
        let n = rotated.regions.len();
        rotated.regions.rotate_left(rotate % n);
        let (d, next) = decide(&o, &prev, &p, now);
        prop_assert_eq!((&d, &next), (&decide(&rotated, &prev, &p, now).0, &decide(&rotated, &prev, &p, now).1));
        if d.action().is_some_and(Action::is_cpu_driven) {
            let b = p.bounds(d.region().unwrap());
            let to = d.to().unwrap();
            prop_assert!(to >= b.min && to <= b.max, "{}", d);
        }
    }

    #[test]
    fn healing_converges_within_bounds((mut o, prev, now) in arb_case()) {
        let p = policy();
        let mut state = prev;
        for tick in 0..40 {
            let (d, next) = decide(&o, &state, &p, now + tick * 60);
            if let Some(c) = d.change() {
                o.regions.iter_mut().find(|r| r.name == c.region).unwrap().replicas = c.to;
            }
            state = next;
        }
        for r in &o.regions {
            prop_assert!(r.replicas >= p.default_bounds.min && r.replicas <= p.default_bounds.max, "{} at {}", r.name, r.replicas);
        }
    }
}

fn rebalancing() -> Policy {
    Policy {
        rebalance_margin: Some(20.0),
        cooldown_secs: 180,
        ..policy()
    }
}

fn with_ready(mut o: Observation, region: &str, ready: i32) -> Observation {
    o.regions
        .iter_mut()
        .find(|r| r.name == region)
        .unwrap()
        .ready = ready;
    o
}

fn pending(to_replicas: i32, from_replicas: i32, ago: i64) -> PolicyState {
    PolicyState {
        pending_move: Some(PendingMove {
            to: "france".into(),
            to_replicas,
            from: "latvia".into(),
            from_replicas,
            started: NOW - ago,
        }),
        last_rebalance: Some(ActionRecord {
            time: NOW - ago,
            action: Action::Rebalance,
            region: "france".into(),
            from: to_replicas - 1,
            to: to_replicas,
        }),
        ..PolicyState::default()
    }
}

#[test]
fn rebalance_table() {
    // After step 1: france 2->3 while latvia still has 2.
    let moved = &[
        ("denmark", 2, 120.0),
        ("france", 3, 40.0),
        ("latvia", 2, 300.0),
    ];
    let flipped = &[
        ("denmark", 2, 120.0),
        ("france", 3, 400.0),
        ("latvia", 2, 300.0),
    ];
    type Want = (Option<Action>, Option<&'static str>, Option<i32>);
    // (name, policy, observation, previous state, decision, reason excerpt, pending afterwards)
    type Case = (
        &'static str,
        Policy,
        Observation,
        PolicyState,
        Want,
        &'static str,
        bool,
    );
    let cases: Vec<Case> = vec![
        (
            "off by default",
            policy(),
            obs(Some(50.0), SEED),
            held(0, 0),
            (None, None, None),
            "within",
            false,
        ),
        (
            "step 1 to the cleanest",
            rebalancing(),
            obs(Some(50.0), SEED),
            held(0, 0),
            (Some(Action::Rebalance), Some("france"), Some(3)),
            "rebalance 1/2: france 2->3, 260 g/kWh cleaner than latvia",
            true,
        ),
        (
            "gap within the margin",
            Policy {
                rebalance_margin: Some(300.0),
                ..rebalancing()
            },
            obs(Some(50.0), SEED),
            held(0, 0),
            (None, None, None),
            "within",
            false,
        ),
        (
            "not during cooldown",
            rebalancing(),
            obs(Some(50.0), SEED),
            scaled_ago(100),
            (None, None, None),
            "within",
            false,
        ),
        (
            "not while CPU is outside the band",
            rebalancing(),
            obs(Some(80.0), SEED),
            held(0, 0),
            (None, None, None),
            "1/3",
            false,
        ),
        (
            "dirtiest at its min: nothing to move",
            rebalancing(),
            obs(
                Some(50.0),
                &[
                    ("denmark", 1, 120.0),
                    ("france", 2, 40.0),
                    ("latvia", 1, 300.0),
                ],
            ),
            held(0, 0),
            (None, None, None),
            "within",
            false,
        ),
        (
            "waits for readiness",
            rebalancing(),
            with_ready(obs(Some(50.0), moved), "france", 2),
            pending(3, 2, 60),
            (None, None, None),
            "rebalance waiting for france to have 3 ready replicas (2 now)",
            true,
        ),
        (
            "step 2 once ready",
            rebalancing(),
            obs(Some(50.0), moved),
            pending(3, 2, 60),
            (Some(Action::Rebalance), Some("latvia"), Some(1)),
            "rebalance 2/2: latvia 2->1, france's new replica is ready",
            false,
        ),
        (
            "not ready in time: reverted",
            rebalancing(),
            with_ready(obs(Some(50.0), moved), "france", 2),
            pending(3, 2, 600),
            (Some(Action::Rebalance), Some("france"), Some(2)),
            "rebalance reverted: france 3->2, the move did not complete within 10m (new replica ready: 2/3)",
            false,
        ),
        (
            "order flipped back: reverted",
            rebalancing(),
            obs(Some(50.0), flipped),
            pending(3, 2, 60),
            (Some(Action::Rebalance), Some("france"), Some(2)),
            "france is no longer cleaner than latvia",
            false,
        ),
        (
            "CPU above the band: cancelled, replica kept",
            rebalancing(),
            obs(Some(80.0), moved),
            pending(3, 2, 60),
            (None, None, None),
            "1/3 ticks; rebalance cancelled: CPU went above the band, france keeps its new replica",
            false,
        ),
        (
            "CPU above the band for the hold: cancelled, and the scale up says so",
            rebalancing(),
            obs(Some(80.0), moved),
            PolicyState {
                hold_up: 2,
                ..pending(3, 2, 60)
            },
            (Some(Action::ScaleUp), Some("france"), Some(4)),
            "scale up france 3->4: avg CPU 80% > 70% for 3/3 ticks; cleanest region at 40 gCO2eq/kWh; rebalance cancelled: CPU went above the band, france keeps its new replica",
            false,
        ),
        (
            "CPU below the band: completed",
            rebalancing(),
            with_ready(obs(Some(10.0), moved), "france", 2),
            pending(3, 2, 60),
            (Some(Action::Rebalance), Some("latvia"), Some(1)),
            "rebalance 2/2: latvia 2->1, CPU below the band",
            false,
        ),
        (
            "scaled by hand: cancelled",
            rebalancing(),
            obs(
                Some(50.0),
                &[
                    ("denmark", 2, 120.0),
                    ("france", 4, 40.0),
                    ("latvia", 2, 300.0),
                ],
            ),
            pending(3, 2, 60),
            (None, None, None),
            "within 30%..70%; rebalance cancelled: the replicas of france or latvia were changed by someone else",
            false,
        ),
        (
            "dirty region down to its min meanwhile: cancelled",
            rebalancing(),
            obs(
                Some(50.0),
                &[
                    ("denmark", 2, 120.0),
                    ("france", 3, 40.0),
                    ("latvia", 1, 300.0),
                ],
            ),
            pending(3, 1, 60),
            (None, None, None),
            "rebalance cancelled: latvia is at its min, france keeps its new replica",
            false,
        ),
        (
            "dirty region at its min while not ready: cancelled, not reverted",
            rebalancing(),
            with_ready(
                obs(Some(50.0), &[("denmark", 2, 120.0), ("france", 3, 40.0), ("latvia", 1, 300.0)]),
                "france",
                2,
            ),
            pending(3, 1, 600),
            (None, None, None),
            "rebalance cancelled: latvia is at its min",
            false,
        ),
        (
            "unknown carbon on both sides: waits, never decides by name",
            rebalancing(),
            obs(Some(50.0), &[("denmark", 2, 120.0), ("france", 3, -1.0), ("latvia", 2, -1.0)]),
            pending(3, 2, 60),
            (None, None, None),
            "rebalance waiting for carbon data for france and latvia",
            true,
        ),
        (
            "no CPU data: a ready move still completes",
            rebalancing(),
            obs(None, moved),
            pending(3, 2, 60),
            (Some(Action::Rebalance), Some("latvia"), Some(1)),
            "rebalance 2/2",
            false,
        ),
        (
            "heal wins over a pending step",
            rebalancing(),
            obs(
                Some(50.0),
                &[
                    ("denmark", 0, 120.0),
                    ("france", 3, 40.0),
                    ("latvia", 2, 300.0),
                ],
            ),
            pending(3, 2, 60),
            (Some(Action::Heal), Some("denmark"), Some(1)),
            "heal",
            true,
        ),
    ];
    for (name, p, o, prev, want, reason, pending_after) in cases {
        let (d, next) = decide(&o, &prev, &p, NOW);
        let text = d.to_string();
        assert_eq!((d.action(), d.region(), d.to()), want, "{name}: {text}");
        assert!(text.contains(reason), "{name}: {text:?} lacks {reason:?}");
        assert_eq!(
            next.pending_move.is_some(),
            pending_after,
            "{name}: pending after"
        );
    }
}

#[test]
fn an_index_is_named_as_an_index_never_as_grams() {
    let index = |p: Policy| Policy {
        carbon_unit: CarbonUnit::Index,
        ..p
    };
    let up = decide(&obs(Some(85.0), SEED), &held(2, 0), &index(policy()), NOW).0;
    assert!(
        up.to_string().ends_with("cleanest region at index 40"),
        "{up}"
    );
    let start = decide(
        &obs(Some(50.0), SEED),
        &PolicyState::default(),
        &index(rebalancing()),
        NOW,
    )
    .0;
    assert_eq!(
        start.to_string(),
        "rebalance 1/2: france 2->3, 260 index points cleaner than latvia"
    );
    let grams = decide(&obs(Some(85.0), SEED), &held(2, 0), &policy(), NOW).0;
    assert!(
        grams
            .to_string()
            .ends_with("cleanest region at 40 gCO2eq/kWh"),
        "{grams}"
    );
}

/// SEED with a mean forecast per region (None: the provider gave none).
fn forecast_obs(forecasts: [Option<f64>; 3]) -> Observation {
    let mut o = obs(Some(50.0), SEED);
    for (r, f) in o.regions.iter_mut().zip(forecasts) {
        r.carbon.as_mut().unwrap().forecast_grams = f;
    }
    o
}

#[test]
fn forecast_gate_table() {
    let looking_ahead = Policy {
        rebalance_forecast_secs: Some(2 * 3600),
        ..rebalancing()
    };
    // SEED now: france 40, latvia 300 (260 apart); denmark 120.
    // (name, policy, forecasts for denmark/france/latvia, moves?, sentence excerpt)
    type Case = (&'static str, Policy, [Option<f64>; 3], bool, &'static str);
    let cases: [Case; 7] = [
        (
            "the forecast agrees",
            looking_ahead.clone(),
            [Some(120.0), Some(60.0), Some(280.0)],
            true,
            "rebalance 1/2: france 2->3, 260 g/kWh cleaner than latvia (220 g/kWh on average over the next 2h)",
        ),
        (
            "the forecast gap is within the margin",
            looking_ahead.clone(),
            [Some(120.0), Some(200.0), Some(215.0)],
            false,
            "CPU 50% within 30%..70%; rebalance held: france is 260 g/kWh cleaner than latvia now, 15 g/kWh on average over the next 2h",
        ),
        (
            "exactly the margin holds, as the latest gap does",
            looking_ahead.clone(),
            [Some(120.0), Some(100.0), Some(120.0)],
            false,
            "rebalance held",
        ),
        (
            "the forecast says the order flips",
            looking_ahead.clone(),
            [Some(120.0), Some(300.0), Some(100.0)],
            false,
            "-200 g/kWh on average over the next 2h",
        ),
        (
            "the clean region has no forecast: the latest decides",
            looking_ahead.clone(),
            [Some(120.0), None, Some(100.0)],
            true,
            "260 g/kWh cleaner than latvia",
        ),
        (
            "the dirty region has no forecast: the latest decides",
            looking_ahead,
            [Some(120.0), Some(300.0), None],
            true,
            "260 g/kWh cleaner than latvia",
        ),
        (
            "forecasts off: a forecast the cache holds is not used",
            rebalancing(),
            [Some(120.0), Some(300.0), Some(100.0)],
            true,
            "260 g/kWh cleaner than latvia",
        ),
    ];
    for (name, p, forecasts, moves, excerpt) in cases {
        let (d, next) = decide(&forecast_obs(forecasts), &PolicyState::default(), &p, NOW);
        let text = d.to_string();
        assert_eq!(
            d.action() == Some(Action::Rebalance),
            moves,
            "{name}: {text}"
        );
        assert_eq!(next.pending_move.is_some(), moves, "{name}");
        assert!(text.contains(excerpt), "{name}: {text:?} lacks {excerpt:?}");
        if !moves {
            assert_eq!(
                next.last_rebalance, None,
                "{name}: a held move leaves no record"
            );
        }
    }
    // A stale value's forecast is as unusable as the value.
    let mut o = forecast_obs([Some(120.0), Some(300.0), Some(100.0)]);
    for r in &mut o.regions {
        r.carbon.as_mut().unwrap().fetched_at = NOW - 3601;
    }
    let p = Policy {
        rebalance_forecast_secs: Some(7200),
        ..rebalancing()
    };
    let ranked = crate::policy::rank(&o, &p, NOW);
    assert!(ranked
        .iter()
        .all(|r| r.forecast.is_none() && r.grams.is_none()));
    // Refreshes failing since, a value may stand in for 6h; its 2h forecast only while the
    // hours it covers last.
    let long = Policy {
        carbon_max_staleness_secs: 6 * 3600,
        ..p
    };
    let hour = NOW - NOW.rem_euclid(3600);
    for (fetched, usable) in [(hour, true), (hour - 3600, true), (hour - 7200, false)] {
        for r in &mut o.regions {
            r.carbon.as_mut().unwrap().fetched_at = fetched;
        }
        let ranked = crate::policy::rank(&o, &long, NOW);
        assert!(ranked.iter().all(|r| r.grams.is_some()));
        assert_eq!(
            ranked.iter().all(|r| r.forecast.is_some()),
            usable,
            "fetched {}s before the hour",
            hour - fetched
        );
    }
}

proptest! {
    /// Driving the rule tick after tick with instant readiness, random carbon and CPU inside the
    /// band: a move's second step or its revert brings the total back to exactly where the move
    /// started (never below), no step removes without a pending move, and replicas stay within
    /// bounds.
    #[test]
    fn rebalancing_never_loses_capacity(ticks in prop::collection::vec((0.0f64..400.0, 0.0f64..400.0, 0.0f64..400.0, 31.0f64..69.0), 1..60)) {
        let p = Policy { cooldown_secs: 0, ..rebalancing() };
        let mut o = obs(Some(50.0), SEED);
        let mut state = PolicyState::default();
        let mut start_total = None;
        for (tick, (a, b, c, cpu)) in ticks.into_iter().enumerate() {
            let now = NOW + tick as i64 * 60;
            for (r, g) in o.regions.iter_mut().zip([a, b, c]) {
                r.carbon = Some(CarbonReading { grams_per_kwh: g, fetched_at: now, forecast_grams: None });
            }
            o.cpu = CpuObservation::Known { average: cpu, max: cpu, nodes: 3 ,missing: 0,};
            let total_before: i32 = o.regions.iter().map(|r| r.replicas).sum();
            let (d, next) = decide(&o, &state, &p, now);
            if let Some(c) = d.change() {
                let r = o.regions.iter_mut().find(|r| r.name == c.region).unwrap();
                r.replicas = c.to;
                r.ready = c.to;
            }
            let total: i32 = o.regions.iter().map(|r| r.replicas).sum();
            prop_assert!(matches!(d.action(), Some(Action::Rebalance) | None), "{}", d);
            let reason = d.to_string();
            if reason.starts_with("rebalance 1/2") {
                prop_assert!(start_total.is_none());
                start_total = Some(total_before);
            } else if reason.starts_with("rebalance 2/2") || reason.starts_with("rebalance reverted") {
                prop_assert_eq!(Some(total), start_total.take());
            }
            if let Some(start) = start_total {
                prop_assert!(total >= start);
            }
            if next.pending_move.is_none() {
                start_total = None;
            }
            for r in &o.regions {
                let b = p.bounds(&r.name);
                prop_assert!(r.replicas >= b.min && r.replicas <= b.max, "{} at {}", r.name, r.replicas);
            }
            state = next;
        }
    }
}

#[test]
fn growth_skips_regions_that_cannot_run_another_replica() {
    let nodes = |o: &mut Observation, region: &str, total: usize, ready: usize| {
        let r = o.regions.iter_mut().find(|r| r.name == region).unwrap();
        r.nodes = Some(NodeCount { total, ready });
    };
    let available = |o: &mut Observation, region: &str, n: i32| {
        o.regions
            .iter_mut()
            .find(|r| r.name == region)
            .unwrap()
            .available = n;
    };
    let hot = || obs(Some(90.0), SEED);
    let cold = || obs(Some(5.0), SEED);
    let mut not_ready = hot();
    nodes(&mut not_ready, "france", 1, 0);
    let mut pending = hot();
    available(&mut pending, "france", 1);
    let mut no_nodes = hot();
    nodes(&mut no_nodes, "france", 0, 0);
    let mut all_sick = hot();
    for (region, n) in [("denmark", 0), ("france", 1), ("latvia", 1)] {
        available(&mut all_sick, region, n);
    }
    let mut dirty_sick = cold();
    nodes(&mut dirty_sick, "latvia", 3, 0);
    let mut clean_sick = obs(Some(50.0), SEED);
    nodes(&mut clean_sick, "france", 2, 0);
    let at = |cpu: f64, replicas: i32| {
        obs(
            Some(cpu),
            &[
                ("denmark", replicas, 120.0),
                ("france", replicas, 40.0),
                ("latvia", replicas, 300.0),
            ],
        )
    };
    let mut full_one_sick = at(90.0, 5);
    available(&mut full_one_sick, "france", 4);
    let mut dirtiest_at_floor_sick = obs(
        Some(5.0),
        &[
            ("denmark", 2, 120.0),
            ("france", 2, 40.0),
            ("latvia", 1, 300.0),
        ],
    );
    nodes(&mut dirtiest_at_floor_sick, "latvia", 2, 0);
    let mut floors_one_sick = at(5.0, 1);
    nodes(&mut floors_one_sick, "latvia", 2, 0);
    // france full and sick, denmark sick below its max, latvia full and healthy.
    let mut sick_and_full = obs(
        Some(90.0),
        &[
            ("denmark", 2, 120.0),
            ("france", 5, 40.0),
            ("latvia", 5, 300.0),
        ],
    );
    available(&mut sick_and_full, "france", 4);
    available(&mut sick_and_full, "denmark", 1);
    // (name, observation, previous state, policy, the change, reason excerpt)
    type Case = (
        &'static str,
        Observation,
        PolicyState,
        Policy,
        Option<(Action, &'static str)>,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        ("no ready node: the next cleanest grows", not_ready, held(2, 0), policy(), Some((Action::ScaleUp, "denmark")), "france has no ready node (1 not ready or cordoned); next cleanest region at 120 gCO2eq/kWh"),
        ("a replica not started: the next cleanest grows", pending, held(2, 0), policy(), Some((Action::ScaleUp, "denmark")), "france has 1 of 2 replicas unavailable; next cleanest"),
        ("no nodes at all is not held back (an autoscaler adds them)", no_nodes, held(2, 0), policy(), Some((Action::ScaleUp, "france")), "cleanest region at 40"),
        ("every region unhealthy: hold and say why", all_sick, held(2, 0), policy(), None, "but no region can take another replica: france has 1 of 2 replicas unavailable, denmark has 2 of 2 replicas unavailable, latvia has 1 of 2 replicas unavailable"),
        ("shrinking ignores health", dirty_sick, held(0, 2), policy(), Some((Action::ScaleDown, "latvia")), "dirtiest region at 300"),
        ("every region at its max, one sick: the limit, not health, holds", full_one_sick, held(2, 0), policy(), None, "but every region is at its max"),
        ("a sick region at its min is passed over for its min", dirtiest_at_floor_sick, held(0, 2), policy(), Some((Action::ScaleDown, "denmark")), "latvia at its min of 1; next dirtiest"),
        ("every region at its min, one sick: shrinking is at its limit", floors_one_sick, held(0, 2), policy(), None, "but every region is at its min"),
        ("a full region is passed over for its max even when sick", sick_and_full, held(2, 0), policy(), None, "but no region can take another replica: france at its max of 5, denmark has 1 of 2 replicas unavailable, latvia at its max of 5"),
        ("rebalancing does not move toward an unhealthy region", clean_sick, held(0, 0), rebalancing(), Some((Action::Rebalance, "denmark")), "rebalance 1/2: denmark 2->3, 180 g/kWh cleaner than latvia"),
    ];
    for (name, o, prev, p, want, reason) in cases {
        let (d, _) = decide(&o, &prev, &p, NOW);
        let text = d.to_string();
        assert_eq!(
            d.change().map(|c| (c.action, c.region.as_str())),
            want,
            "{name}: {text}"
        );
        assert!(text.contains(reason), "{name}: {text:?} lacks {reason:?}");
    }
}

/// Exact figures and sentences where a near-miss in the arithmetic would still pass a
/// looser check (each case pins a boundary a mutation of the code would cross).
#[test]
fn exact_figures_at_the_edges() {
    let cpu = reporting;
    let max_trigger = max_trigger();
    // (name, observation, policy, previous state, the whole sentence)
    let cases = [
        // CPU_SOURCE=simulated reports a figure over no nodes at all: it is the figure.
        ("simulated CPU, no nodes", cpu(85.0, 85.0, 0, 0), policy(), held(2, 0),
         "scale up france 2->3: avg CPU 85% > 70% for 3/3 ticks; cleanest region at 40 gCO2eq/kWh"),
        ("max trigger scales down when every node reports", cpu(10.0, 20.0, 3, 0), max_trigger.clone(), held(0, 2),
         "scale down latvia 2->1: max CPU 20% < 30% for 3/3 ticks; dirtiest region at 300 gCO2eq/kWh"),
        ("busy others weigh in the scale-down figure", cpu(5.0, 5.0, 4, 1), policy(), held(0, 2),
         "scale down latvia 2->1: avg CPU 24% (4 of 5 nodes reporting; the others counted as idle for scaling up, busy for scaling down) < 30% for 3/3 ticks; dirtiest region at 300 gCO2eq/kWh"),
        ("the last healing step says nothing of steps to go",
         obs(Some(50.0), &[("denmark", 0, 120.0), ("france", 2, 40.0), ("latvia", 2, 300.0)]), policy(), held(0, 0),
         "heal denmark 0->1: below its min of 1; 120 gCO2eq/kWh"),
        ("two steps to go are counted",
         obs(Some(50.0), &[("denmark", 2, 120.0), ("france", 2, 40.0), ("latvia", 7, 300.0)]), policy(), held(0, 0),
         "heal latvia 7->6: above its max of 5 (2 steps to go); 300 gCO2eq/kWh"),
    ];
    for (name, o, p, prev, want) in cases {
        let (d, _) = decide(&o, &prev, &p, NOW);
        assert_eq!(d.to_string(), want, "{name}");
    }
}

#[test]
fn equal_carbon_is_not_cleaner_so_a_pending_move_is_reverted() {
    let level = &[
        ("denmark", 2, 120.0),
        ("france", 3, 200.0),
        ("latvia", 2, 200.0),
    ];
    let (d, next) = decide(
        &obs(Some(50.0), level),
        &pending(3, 2, 60),
        &rebalancing(),
        NOW,
    );
    assert_eq!(
        d.to_string(),
        "rebalance reverted: france 3->2, france is no longer cleaner than latvia"
    );
    assert!(next.pending_move.is_none());
}

#[test]
fn a_move_starts_after_exactly_one_cooldown_and_records_both_regions() {
    let p = rebalancing();
    let after = |secs: i64| PolicyState {
        last_rebalance: Some(ActionRecord {
            time: NOW - secs,
            action: Action::Rebalance,
            region: "latvia".into(),
            from: 3,
            to: 2,
        }),
        ..PolicyState::default()
    };
    let (d, _) = decide(&obs(Some(50.0), SEED), &after(p.cooldown_secs - 1), &p, NOW);
    assert_eq!(d.action(), None, "{d}");
    let (d, next) = decide(&obs(Some(50.0), SEED), &after(p.cooldown_secs), &p, NOW);
    assert_eq!(
        d.to_string(),
        "rebalance 1/2: france 2->3, 260 g/kWh cleaner than latvia"
    );
    assert_eq!(
        next.pending_move,
        Some(PendingMove {
            to: "france".into(),
            to_replicas: 3,
            from: "latvia".into(),
            from_replicas: 2,
            started: NOW,
        })
    );
    assert_eq!(
        next.last_rebalance,
        Some(ActionRecord {
            time: NOW,
            action: Action::Rebalance,
            region: "france".into(),
            from: 2,
            to: 3,
        })
    );
    // The same boundary for the last CPU-driven scale.
    let scaled = PolicyState {
        last_scale: after(0).last_rebalance.map(|r| ActionRecord {
            time: NOW - p.cooldown_secs + 1,
            ..r
        }),
        ..PolicyState::default()
    };
    let (d, _) = decide(&obs(Some(50.0), SEED), &scaled, &p, NOW);
    assert_eq!(d.action(), None, "{d}");
}

#[test]
fn only_a_calm_tick_within_bounds_holds_quietly() {
    let calm = obs(Some(50.0), SEED);
    let p = policy();
    assert!(holds_quietly(&calm, &PolicyState::default(), &p));
    let below_floor = obs(
        Some(50.0),
        &[
            ("denmark", 0, 120.0),
            ("france", 2, 40.0),
            ("latvia", 2, 300.0),
        ],
    );
    let moving = pending(3, 2, 60);
    for (name, o, state, p) in [
        (
            "a breach",
            obs(Some(90.0), SEED),
            PolicyState::default(),
            policy(),
        ),
        ("no CPU", obs(None, SEED), PolicyState::default(), policy()),
        (
            "a region below its floor",
            below_floor,
            PolicyState::default(),
            policy(),
        ),
        ("a move pending", calm.clone(), moving, policy()),
        (
            "rebalancing on",
            calm.clone(),
            PolicyState::default(),
            rebalancing(),
        ),
    ] {
        assert!(!holds_quietly(&o, &state, &p), "{name}");
    }
}

#[test]
fn actions_are_named_as_the_state_and_log_name_them() {
    for (action, label, cpu_driven) in [
        (Action::ScaleUp, "scale_up", true),
        (Action::ScaleDown, "scale_down", true),
        (Action::Heal, "heal", false),
        (Action::Rebalance, "rebalance", false),
    ] {
        assert_eq!(action.label(), label);
        assert_eq!(serde_json::to_value(action).unwrap(), label);
        assert_eq!(action.is_cpu_driven(), cpu_driven, "{label}");
    }
}
