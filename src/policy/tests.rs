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
            },
            None => CpuObservation::Missing {
                reason: "metrics API not available".into(),
            },
        },
        regions: regions
            .iter()
            .map(|&(name, replicas, grams)| RegionObservation {
                name: name.into(),
                replicas,
                carbon: (grams >= 0.0).then_some(CarbonReading {
                    grams_per_kwh: grams,
                    fetched_at: NOW - 60,
                }),
            })
            .collect(),
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
    want: (Action, Option<&'static str>, Option<i32>),
    want_holds: (u32, u32),
    reason_has: &'static str,
}

fn case(
    name: &'static str,
    obs: Observation,
    prev: PolicyState,
    want: (Action, Option<&'static str>, Option<i32>),
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
    };
    let mut stale = obs(Some(90.0), SEED);
    stale.regions[1].carbon.as_mut().unwrap().fetched_at = NOW - 3601;
    let mut just_fresh = obs(Some(90.0), SEED);
    just_fresh.regions[1].carbon.as_mut().unwrap().fetched_at = NOW - 3600;

    let cases = vec![
        case("inside band resets holds", obs(Some(50.0), SEED), held(2, 0), (Action::Hold, None, None), (0, 0), "within 30%..70%"),
        case("exactly at up-threshold is inside", obs(Some(70.0), SEED), held(2, 0), (Action::Hold, None, None), (0, 0), "within"),
        case("exactly at down-threshold is inside", obs(Some(30.0), SEED), held(0, 2), (Action::Hold, None, None), (0, 0), "within"),
        case("first breach counts 1/3", obs(Some(70.1), SEED), held(0, 0), (Action::Hold, None, None), (1, 0), "avg CPU 70.1% > 70% for 1/3 ticks"),
        case("second breach counts 2/3", obs(Some(82.0), SEED), held(1, 0), (Action::Hold, None, None), (2, 0), "2/3"),
        case("third breach scales up cleanest", obs(Some(82.0), SEED), held(2, 0), (Action::ScaleUp, Some("france"), Some(3)), (0, 0), "scale up france 2->3: avg CPU 82% > 70% for 3/3 ticks; cleanest region at 40 gCO2eq/kWh"),
        case("breach flips side: down count restarts", obs(Some(10.0), SEED), held(2, 0), (Action::Hold, None, None), (0, 1), "1/3"),
        case("third low tick scales down dirtiest", obs(Some(5.0), SEED), held(0, 2), (Action::ScaleDown, Some("latvia"), Some(1)), (0, 0), "scale down latvia 2->1: avg CPU 5% < 30% for 3/3 ticks; dirtiest region at 300 gCO2eq/kWh"),
        case("cleanest at max falls back to next cleanest", obs(Some(90.0), &[("denmark", 2, 120.0), ("france", 5, 40.0), ("latvia", 2, 300.0)]), held(2, 0), (Action::ScaleUp, Some("denmark"), Some(3)), (0, 0), "france at its max of 5; next cleanest region at 120"),
        case("cleanest one below max still chosen", obs(Some(90.0), &[("denmark", 2, 120.0), ("france", 4, 40.0), ("latvia", 2, 300.0)]), held(2, 0), (Action::ScaleUp, Some("france"), Some(5)), (0, 0), "cleanest region"),
        case("dirtiest at min falls back to next dirtiest", obs(Some(5.0), &[("denmark", 2, 120.0), ("france", 2, 40.0), ("latvia", 1, 300.0)]), held(0, 2), (Action::ScaleDown, Some("denmark"), Some(1)), (0, 0), "latvia at its min of 1; next dirtiest"),
        case("all at max holds", obs(Some(90.0), &[("denmark", 5, 120.0), ("france", 5, 40.0), ("latvia", 5, 300.0)]), held(2, 0), (Action::Hold, None, None), (3, 0), "every region is at its max"),
        case("all at min holds", obs(Some(5.0), &[("denmark", 1, 120.0), ("france", 1, 40.0), ("latvia", 1, 300.0)]), held(0, 2), (Action::Hold, None, None), (0, 3), "every region is at its min"),
        case("holds are capped at hold cycles", obs(Some(90.0), &[("denmark", 5, 120.0), ("france", 5, 40.0), ("latvia", 5, 300.0)]), held(3, 0), (Action::Hold, None, None), (3, 0), "3/3"),
        case("cooldown blocks one second before its end", obs(Some(90.0), SEED), scaled_ago(179), (Action::Hold, None, None), (3, 0), "cooling down for 1s more after scale up france 2->3"),
        case("cooldown over exactly at its end", obs(Some(90.0), SEED), scaled_ago(180), (Action::ScaleUp, Some("france"), Some(3)), (0, 0), "scale up france"),
        case("unknown carbon ranks dirtiest for scale-down", obs(Some(5.0), &[("denmark", 2, -1.0), ("france", 2, 40.0), ("latvia", 2, 300.0)]), held(0, 2), (Action::ScaleDown, Some("denmark"), Some(1)), (0, 0), "unknown carbon"),
        case("unknown carbon never preferred for scale-up", obs(Some(90.0), &[("denmark", 2, -1.0), ("france", 2, 400.0), ("latvia", 2, 300.0)]), held(2, 0), (Action::ScaleUp, Some("latvia"), Some(3)), (0, 0), "cleanest region at 300"),
        case("all unknown: ties by name", obs(Some(90.0), &[("denmark", 2, -1.0), ("france", 2, -1.0), ("latvia", 2, -1.0)]), held(2, 0), (Action::ScaleUp, Some("denmark"), Some(3)), (0, 0), "unknown carbon"),
        case("equal carbon: ties by name", obs(Some(90.0), &[("latvia", 2, 50.0), ("france", 2, 50.0)]), held(2, 0), (Action::ScaleUp, Some("france"), Some(3)), (0, 0), "france"),
        case("missing CPU holds and resets", obs(None, SEED), held(2, 0), (Action::Hold, None, None), (0, 0), "no CPU data (metrics API not available)"),
        case("heal below min even without CPU", obs(None, &[("denmark", 0, 120.0), ("france", 2, 40.0), ("latvia", 2, 300.0)]), held(0, 0), (Action::Heal, Some("denmark"), Some(1)), (0, 0), "heal denmark 0->1: below its min of 1"),
        case("heal above max during cooldown", obs(Some(50.0), &[("denmark", 7, 120.0), ("france", 2, 40.0), ("latvia", 2, 300.0)]), scaled_ago(10), (Action::Heal, Some("denmark"), Some(6)), (0, 0), "above its max of 5 (2 steps to go)"),
        case("heal below min wins over scale-up", obs(Some(90.0), &[("denmark", 2, 120.0), ("france", 2, 40.0), ("latvia", 0, 300.0)]), held(2, 0), (Action::Heal, Some("latvia"), Some(1)), (3, 0), "below its min"),
        case("per-region min respected on scale-down", obs(Some(5.0), &[("denmark", 1, 120.0), ("france", 2, 40.0), ("latvia", 2, 300.0)]), held(0, 2), (Action::ScaleDown, Some("france"), Some(1)), (0, 0), "latvia at its min of 2, denmark at its min of 1"),
        case("stale carbon counts as unknown", stale, held(2, 0), (Action::ScaleUp, Some("denmark"), Some(3)), (0, 0), "cleanest region at 120"),
        case("carbon exactly at max staleness still used", just_fresh, held(2, 0), (Action::ScaleUp, Some("france"), Some(3)), (0, 0), "cleanest region at 40"),
        case("max trigger uses busiest node", max_obs, held(2, 0), (Action::ScaleUp, Some("france"), Some(3)), (0, 0), "max CPU 90% > 70%"),
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
        assert_eq!(
            (d.action, d.region.as_deref(), d.to),
            c.want,
            "{}: {}",
            c.name,
            d.reason
        );
        assert_eq!(
            (next.hold_up, next.hold_down),
            c.want_holds,
            "{}: holds",
            c.name
        );
        assert!(
            d.reason.contains(c.reason_has),
            "{}: reason {:?} lacks {:?}",
            c.name,
            d.reason,
            c.reason_has
        );
        if matches!(d.action, Action::ScaleUp | Action::ScaleDown) {
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
fn healing_does_not_start_or_extend_a_cooldown() {
    let (d, next) = decide(
        &obs(Some(50.0), &[("denmark", 0, 120.0)]),
        &scaled_ago(170),
        &policy(),
        NOW,
    );
    assert_eq!(d.action, Action::Heal);
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
                        replicas: *replicas,
                        carbon: grams.map(|g| CarbonReading {
                            grams_per_kwh: g,
                            fetched_at: NOW - age,
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
                last_heal: None,
            };
            (obs, prev, NOW)
        })
}

proptest! {
    #[test]
    fn at_most_one_replica_moves_and_only_as_declared((o, prev, now) in arb_case()) {
        let p = policy();
        let (d, _) = decide(&o, &prev, &p, now);
        match d.action {
            Action::Hold => prop_assert!(d.region.is_none() && d.to.is_none()),
            _ => {
                let r = o.regions.iter().find(|r| Some(&r.name) == d.region.as_ref()).unwrap();
                prop_assert_eq!(d.from, Some(r.replicas));
                prop_assert_eq!((d.to.unwrap() - r.replicas).abs(), 1);
            }
        }
    }

    #[test]
    fn cpu_driven_scale_stays_within_bounds((o, prev, now) in arb_case()) {
        let p = policy();
        let (d, _) = decide(&o, &prev, &p, now);
        if matches!(d.action, Action::ScaleUp | Action::ScaleDown) {
            let to = d.to.unwrap();
            prop_assert!(to >= p.default_bounds.min && to <= p.default_bounds.max, "{}", d.reason);
        }
    }

    #[test]
    fn never_scales_during_cooldown_or_before_hold((o, prev, now) in arb_case()) {
        let p = policy();
        let (d, _) = decide(&o, &prev, &p, now);
        if matches!(d.action, Action::ScaleUp | Action::ScaleDown) {
            prop_assert!(prev.cooldown_left(&p, now).is_none());
            let before = if d.action == Action::ScaleUp { prev.hold_up } else { prev.hold_down };
            prop_assert!(before + 1 >= p.hold_cycles, "acted after {} breaches", before + 1);
            let missing = matches!(o.cpu, CpuObservation::Missing { .. });
            prop_assert!(!missing, "acted without CPU data");
        }
    }

    #[test]
    fn deterministic((o, prev, now) in arb_case()) {
        let p = policy();
        prop_assert_eq!(decide(&o, &prev, &p, now), decide(&o, &prev, &p, now));
    }

    #[test]
    fn healing_converges_within_bounds((mut o, prev, now) in arb_case()) {
        let p = policy();
        let mut state = prev;
        for tick in 0..40 {
            let (d, next) = decide(&o, &state, &p, now + tick * 60);
            if let (Some(region), Some(to)) = (&d.region, d.to) {
                o.regions.iter_mut().find(|r| &r.name == region).unwrap().replicas = to;
            }
            state = next;
        }
        for r in &o.regions {
            prop_assert!(r.replicas >= p.default_bounds.min && r.replicas <= p.default_bounds.max, "{} at {}", r.name, r.replicas);
        }
    }
}
