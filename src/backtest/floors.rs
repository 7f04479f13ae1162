//! Floors mode (`--scale-target hpa-min`): every region's Deployment runs an HPA (`hpa`), and
//! carbonctl's rule moves the HPAs' floors, as the live tick does with SCALE_TARGET=hpa-min.
//!
//! Each tick, in this order:
//! - Demand splits over the regions by ready capacity, as a global load balancer weighting by
//!   ready replicas does, so every region's CPU is total demand / total replicas (capped at
//!   100%), the figure the rule also sees.
//! - carbonctl's rule (`Scaler::decide`, the same `decide` a tick runs) sees each region's floor
//!   as its replicas and the HPA's replicas as ready and available, and may move one floor by
//!   one within the floor's bounds (`Bounds::for_floor`: the region's min, at least 1, up to the
//!   smaller of the region's max and the HPA's max).
//! - Every HPA syncs once on that CPU, with the floor just set.
//!
//! Timing as in `model`: a replica added at tick k draws power from minute k and serves demand
//! from minute k+1; a removed one stops both at once.
//!
//! Counterfactual: the same HPAs with their floors fixed at the floors' lower bounds and no
//! carbonctl. It treats every region alike, so no region name or order enters it. Bound: each
//! interval, the counterfactual's total replicas placed as cleanly as the floors' lower bounds
//! and the HPAs' maxes allow: what steering placement alone could have saved at the capacity
//! the HPAs found necessary.

use serde::Serialize;

use super::hpa::{Hpa, HpaParams};
use super::model::{
    bound_placement, cpu_percent, Account, ActionCounts, CarbonNow, Replay, Scaler, Triple,
};
use super::seen::CarbonSeen;
use crate::policy::{Bounds, Policy};

/// Floors mode's inputs beyond the replay's.
pub struct Floors<'a> {
    pub hpa: HpaParams,
    /// Each region's HPA `maxReplicas`, in the replay's region order.
    pub hpa_max: &'a [i32],
}

/// HPA syncs that changed a region's replicas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Rescales {
    pub policy: u64,
    pub blind: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FloorsOutcome {
    pub grams: Triple,
    pub under_provisioned_minutes: Triple,
    /// All regions together.
    pub replica_hours: Triple,
    /// carbonctl's floor changes.
    pub policy_actions: ActionCounts,
    pub rescales: Rescales,
}

/// The HPAs of every region, with floors either moved by the rule or fixed.
struct Autoscaled {
    /// The rule moving the floors (its observation's replicas are the floors); None: fixed.
    rule: Option<Scaler>,
    hpas: Vec<Hpa>,
    rescales: u64,
}

impl Autoscaled {
    fn replicas(&self) -> impl Iterator<Item = i32> + '_ {
        self.hpas.iter().map(|h| h.replicas)
    }

    /// One tick (see the module's order). Returns the replicas serving demand until the next.
    fn tick(
        &mut self,
        policy: &Policy,
        floors: &Floors,
        bounds: &[Bounds],
        now: i64,
        demand: f64,
        seen: &CarbonSeen,
    ) -> i32 {
        let cpu = cpu_percent(demand, self.replicas().sum());
        if let Some(rule) = &mut self.rule {
            for (r, h) in rule.obs.regions.iter_mut().zip(&self.hpas) {
                r.ready = h.replicas;
                r.available = h.replicas;
            }
            rule.decide(policy, now, cpu, |i| seen.reading(i));
        }
        let mut serving = 0;
        for (i, hpa) in self.hpas.iter_mut().enumerate() {
            let floor = match &self.rule {
                Some(rule) => rule.obs.regions[i].replicas,
                None => bounds[i].min,
            };
            let before = hpa.replicas;
            let after = hpa.sync(&floors.hpa, cpu, floor, floors.hpa_max[i], now);
            if after != before {
                self.rescales += 1;
            }
            serving += before.min(after);
        }
        serving
    }
}

/// Replays floors mode and its counterfactual over the same ticks.
pub fn replay_floors(r: &Replay, floors: &Floors) -> FloorsOutcome {
    let names: Vec<&str> = r.regions.iter().map(|x| x.name.as_str()).collect();
    let bounds: Vec<Bounds> = names
        .iter()
        .zip(floors.hpa_max)
        .map(|(name, &max)| r.policy.bounds(name).for_floor(max, false))
        .collect();
    let steered = Policy {
        region_bounds: names
            .iter()
            .zip(&bounds)
            .map(|(name, b)| (name.to_string(), *b))
            .collect(),
        ..r.policy.clone()
    };
    let lowest: Vec<i32> = bounds.iter().map(|b| b.min).collect();
    let hpas: Vec<Hpa> = r.regions.iter().map(|x| Hpa::new(x.start)).collect();
    let mut policy = Autoscaled {
        rule: Some(Scaler::new(r.regions, &lowest)),
        hpas: hpas.clone(),
        rescales: 0,
    };
    let mut blind = Autoscaled {
        rule: None,
        hpas,
        rescales: 0,
    };
    let placement: Vec<(i32, i32)> = bounds
        .iter()
        .zip(floors.hpa_max)
        .map(|(b, &max)| (b.min, max.max(b.min)))
        .collect();
    let (mut order, mut placed) = (vec![0; names.len()], vec![0; names.len()]);
    let mut accounts = [Account::new(r), Account::new(r), Account::new(r)];
    let mut under = Triple::default();
    let minutes = r.interval as f64 / 60.0;
    let mut carbon = CarbonNow::new(names.len());
    let mut seen = r.carbon_seen();
    for (k, &demand) in r.demand.iter().enumerate() {
        let now = r.from + k as i64 * r.interval;
        carbon.update(r.regions, now);
        seen.update(r.regions, now, r.carbon_cache_ttl);
        let carbon = &carbon.values;
        if demand > f64::from(policy.tick(&steered, floors, &bounds, now, demand, &seen)) {
            under.policy += minutes;
        }
        if demand > f64::from(blind.tick(&steered, floors, &bounds, now, demand, &seen)) {
            under.blind += minutes;
        }
        bound_placement(
            blind.replicas().sum(),
            carbon,
            &names,
            &placement,
            &mut order,
            &mut placed,
        );
        let [p, b, bound] = &mut accounts;
        p.add(policy.replicas().map(f64::from), carbon);
        b.add(blind.replicas().map(f64::from), carbon);
        bound.add(placed.iter().map(|v| f64::from(*v)), carbon);
    }
    // The bound runs the counterfactual's totals, so it is short of capacity when that is.
    under.bound = under.blind;
    let [p, b, bound] = &accounts;
    let hours = |a: &Account| a.hours.iter().sum();
    FloorsOutcome {
        grams: Triple {
            policy: p.grams,
            blind: b.grams,
            bound: bound.grams,
        },
        under_provisioned_minutes: under,
        replica_hours: Triple {
            policy: hours(p),
            blind: hours(b),
            bound: hours(bound),
        },
        policy_actions: policy.rule.map(|s| s.actions).unwrap_or_default(),
        rescales: Rescales {
            policy: policy.rescales,
            blind: blind.rescales,
        },
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::backtest::forecast::Forecasting;
    use crate::backtest::model::RegionInput;
    use crate::backtest::series::Series;

    const HPA: HpaParams = HpaParams::DEFAULTS;

    fn policy(min: i32, max: i32) -> Policy {
        Policy {
            default_bounds: Bounds { min, max },
            ..crate::config::defaults().policy
        }
    }

    /// Regions named `names`, each with its hourly carbon, starting at `start` replicas.
    fn regions(names: &[&str], hourly: &[Vec<f64>], start: i32) -> Vec<RegionInput> {
        names
            .iter()
            .zip(hourly)
            .map(|(name, values)| RegionInput {
                name: name.to_string(),
                carbon: Series {
                    start: 0,
                    step: 3600,
                    values: values.clone(),
                },
                start,
            })
            .collect()
    }

    fn run(
        regions: &[RegionInput],
        policy: &Policy,
        demand: &[f64],
        hpa_max: &[i32],
    ) -> FloorsOutcome {
        let replay = Replay {
            regions,
            policy,
            from: 0,
            interval: 60,
            carbon_cache_ttl: 300,
            demand,
            watts_per_replica: 2.4,
            timeline_points: 1,
            forecasting: Forecasting::Perfect,
        };
        replay_floors(&replay, &Floors { hpa: HPA, hpa_max })
    }

    /// The HPAs' replicas follow the same readiness as carbonctl's: added at minute k, serving
    /// from minute k+1; removed, gone at once.
    #[test]
    fn a_replica_the_hpa_adds_serves_from_the_next_minute() {
        let one = regions(&["a"], &[vec![100.0]], 1);
        // (name, demand per minute, under-provisioned minutes, replica-hours x 60)
        let cases: [(&str, Vec<f64>, f64, f64); 3] = [
            (
                "a jump is short in the minute it is seen; the HPA's replica serves the next",
                vec![0.5, 1.5, 1.5],
                1.0,
                1.0 + 2.0 + 3.0,
            ),
            (
                "a steady load inside the band holds",
                vec![0.6; 3],
                0.0,
                3.0,
            ),
            (
                "the floor holds an idle region at one replica",
                vec![0.0; 3],
                0.0,
                3.0,
            ),
        ];
        for (name, demand, under, hours) in cases {
            let o = run(&one, &policy(1, 5), &demand, &[5]);
            assert_eq!(o.under_provisioned_minutes.policy, under, "{name}");
            assert_eq!(o.under_provisioned_minutes.blind, under, "{name}: blind");
            assert!(
                (o.replica_hours.policy * 60.0 - hours).abs() < 1e-9,
                "{name}: {}",
                o.replica_hours.policy * 60.0
            );
            assert_eq!(o.policy_actions.total(), 0, "{name}: no floor moves");
        }
    }

    /// A busy tier whose HPAs saturate: the rule raises the clean region's floor, and when
    /// demand falls, that floor keeps replicas in the clean region while the dirty one shrinks.
    #[test]
    fn raised_floors_hold_capacity_in_the_clean_region() {
        let two = regions(&["clean", "dirty"], &[vec![50.0; 3], vec![500.0; 3]], 1);
        let mut demand = vec![9.0; 30];
        demand.extend([2.0; 60]);
        let o = run(&two, &policy(1, 5), &demand, &[5, 5]);
        assert!(o.policy_actions.scale_up >= 1, "{:?}", o.policy_actions);
        assert!(o.grams.policy < o.grams.blind, "{:?}", o.grams);
        assert!(o.grams.bound <= o.grams.blind + 1e-9, "{:?}", o.grams);
        assert!(o.rescales.policy > 0 && o.rescales.blind > 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Tick by tick: floors stay within [the region's min (at least 1), the smaller of its
        /// max and the HPA's], and each HPA's replicas within [its floor, the HPA's max].
        #[test]
        fn floors_and_replicas_stay_within_their_bounds(
            hourly in prop::collection::vec(prop::collection::vec(0.0f64..800.0, 4), 3),
            demand in prop::collection::vec(0.0f64..20.0, 1..40),
            min in 0i32..3,
            max in 1i32..6,
            hpa_max in prop::collection::vec(1i32..8, 3),
            start in 0i32..9,
        ) {
            let regions = regions(&["a", "b", "c"], &hourly, start);
            let policy = policy(min.min(max), max);
            let bounds: Vec<Bounds> = regions
                .iter()
                .zip(&hpa_max)
                .map(|(r, &m)| policy.bounds(&r.name).for_floor(m, false))
                .collect();
            let steered = Policy {
                region_bounds: regions
                    .iter()
                    .zip(&bounds)
                    .map(|(r, b)| (r.name.clone(), *b))
                    .collect(),
                ..policy.clone()
            };
            let floors = Floors { hpa: HPA, hpa_max: &hpa_max };
            let lowest: Vec<i32> = bounds.iter().map(|b| b.min).collect();
            let mut autoscaled = Autoscaled {
                rule: Some(Scaler::new(&regions, &lowest)),
                hpas: regions.iter().map(|r| Hpa::new(r.start)).collect(),
                rescales: 0,
            };
            let mut seen = CarbonSeen::new(regions.len(), None);
            // Each random level lasts six minutes, so holds and cooldowns come into play.
            for (k, d) in demand.iter().flat_map(|d| [*d; 6]).enumerate() {
                seen.update(&regions, k as i64 * 60, 300);
                autoscaled.tick(&steered, &floors, &bounds, k as i64 * 60, d, &seen);
                let rule = autoscaled.rule.as_ref().unwrap();
                for ((r, h), (b, &m)) in rule.obs.regions.iter().zip(&autoscaled.hpas).zip(bounds.iter().zip(&hpa_max)) {
                    prop_assert!(b.min >= 1 && b.min <= r.replicas && r.replicas <= b.max.min(m),
                        "floor {} outside {:?} (HPA max {m})", r.replicas, b);
                    prop_assert!(r.replicas <= h.replicas && h.replicas <= m.max(b.min),
                        "replicas {} outside [{}, {m}]", h.replicas, r.replicas);
                }
            }
        }

        /// Renamed and reordered regions give the same figures: nothing is decided by a name.
        #[test]
        fn renaming_or_reordering_regions_changes_no_figure(
            hourly in prop::collection::vec(prop::collection::vec(0.0f64..800.0, 4), 3),
            demand in prop::collection::vec(0.0f64..12.0, 1..40),
            hpa_max in prop::collection::vec(2i32..8, 3),
        ) {
            let demand: Vec<f64> = demand.iter().flat_map(|d| [*d; 6]).collect();
            let base = run(&regions(&["a", "b", "c"], &hourly, 1), &policy(1, 5), &demand, &hpa_max);
            let order = [2, 0, 1];
            let hourly: Vec<Vec<f64>> = order.iter().map(|&i| hourly[i].clone()).collect();
            let hpa_max: Vec<i32> = order.iter().map(|&i| hpa_max[i]).collect();
            let other = run(&regions(&["zulu", "alpha", "mike"], &hourly, 1), &policy(1, 5), &demand, &hpa_max);
            let close = |a: Triple, b: Triple| {
                [(a.policy, b.policy), (a.blind, b.blind), (a.bound, b.bound)]
                    .iter()
                    .all(|(x, y)| (x - y).abs() <= 1e-9 * x.abs().max(1.0))
            };
            prop_assert!(close(base.grams, other.grams), "{:?} vs {:?}", base.grams, other.grams);
            prop_assert!(close(base.replica_hours, other.replica_hours));
            prop_assert_eq!(base.under_provisioned_minutes, other.under_provisioned_minutes);
            prop_assert_eq!(base.policy_actions, other.policy_actions);
            prop_assert_eq!(base.rescales, other.rescales);
        }
    }
}
