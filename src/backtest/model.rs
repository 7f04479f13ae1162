//! The replay: one call of `policy::decide` per tick, exactly as `tick` makes it, over recorded
//! carbon and demand, next to two counterfactuals that show what the carbon signal bought.
//!
//! - carbon-blind: the same `decide`, thresholds, holds and cooldown, but each region's
//!   "carbon" is its own replica count, so scale-up goes to the region with fewest replicas
//!   and scale-down takes from the one with most (ties by name): a scaler that keeps regions
//!   even. It sees the same demand and reaches the same totals; only placement differs.
//! - placement bound: each interval, the policy's total replicas placed as cleanly as the
//!   bounds allow (floors first, all the excess in the cleanest region, overflowing to the next
//!   cleanest at its max). No placement of the same totals can emit less.
//!
//! Both scalers start with every region at its floor. Load spreads evenly over all replicas,
//! so average and busiest-node CPU are the same figure here, and a new replica is ready by the
//! next tick (what make-before-break rebalancing waits for). With REBALANCE_MARGIN set the
//! policy also moves replicas between grids while CPU is inside the band; the carbon-blind
//! scaler never does (a move made for carbon is exactly what it lacks), so during a move the
//! policy briefly runs one replica more than the blind scaler.

use serde::Serialize;

use crate::policy::{
    decide, Action, CarbonReading, CpuObservation, Observation, Policy, PolicyState,
    RegionObservation,
};

use super::series::Series;

pub struct RegionInput {
    pub name: String,
    /// Must cover every tick of the replay.
    pub carbon: Series,
}

pub struct Replay<'a> {
    pub regions: &'a [RegionInput],
    pub policy: &'a Policy,
    /// Unix seconds of the first tick.
    pub from: i64,
    /// Seconds between ticks.
    pub interval: i64,
    /// Replica-equivalents asked of the tier at each tick; one entry per tick.
    pub demand: &'a [f64],
    pub watts_per_replica: f64,
    /// At most this many points in the timeline kept for the chart.
    pub timeline_points: usize,
}

/// One figure for each of the three placements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Triple {
    pub policy: f64,
    pub blind: f64,
    pub bound: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionCounts {
    pub scale_up: u64,
    pub scale_down: u64,
    pub heal: u64,
    /// Steps of make-before-break moves (two per completed move).
    pub rebalance: u64,
}

impl ActionCounts {
    fn count(&mut self, action: Action) {
        match action {
            Action::ScaleUp => self.scale_up += 1,
            Action::ScaleDown => self.scale_down += 1,
            Action::Heal => self.heal += 1,
            Action::Rebalance => self.rebalance += 1,
        }
    }

    /// Replica changes of any kind: what a cluster operator sees as churn.
    pub fn total(&self) -> u64 {
        self.scale_up + self.scale_down + self.heal + self.rebalance
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegionOutcome {
    pub replica_hours: Triple,
    pub mean_carbon: f64,
}

/// Means over one stretch of ticks, for the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelinePoint {
    pub time: i64,
    /// The policy's replicas per region, in input order.
    pub replicas: Vec<f64>,
    pub carbon: Vec<f64>,
    pub demand: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub regions: Vec<RegionOutcome>,
    pub grams: Triple,
    pub under_provisioned_minutes: Triple,
    pub policy_actions: ActionCounts,
    pub blind_actions: ActionCounts,
    /// Mean demand over the period, in replica-equivalents.
    pub mean_demand: f64,
    pub timeline: Vec<TimelinePoint>,
}

/// A scaler being replayed: its replicas, its persisted state and the observation it is shown.
struct Scaler {
    state: PolicyState,
    obs: Observation,
    actions: ActionCounts,
}

impl Scaler {
    fn new(replay: &Replay) -> Self {
        Scaler {
            state: PolicyState::default(),
            obs: Observation {
                cpu: CpuObservation::Missing {
                    reason: String::new(),
                },
                regions: replay
                    .regions
                    .iter()
                    .map(|r| RegionObservation {
                        name: r.name.clone(),
                        // A replay changes numbers, not Deployments.
                        deployment: String::new(),
                        replicas: replay.policy.bounds(&r.name).min,
                        ready: replay.policy.bounds(&r.name).min,
                        available: replay.policy.bounds(&r.name).min,
                        nodes: None,
                        carbon: None,
                    })
                    .collect(),
            },
            actions: ActionCounts::default(),
        }
    }

    fn total(&self) -> i32 {
        self.obs.regions.iter().map(|r| r.replicas).sum()
    }

    /// One tick: show the scaler its CPU and carbon, let `decide` rule, apply the result.
    fn tick(&mut self, policy: &Policy, now: i64, demand: f64, carbon: impl Fn(usize, i32) -> f64) {
        let cpu = cpu_percent(demand, self.total());
        self.obs.cpu = CpuObservation::Known {
            average: cpu,
            max: cpu,
            nodes: self.obs.regions.len(),
            missing: 0,
        };
        for (i, r) in self.obs.regions.iter_mut().enumerate() {
            r.ready = r.replicas;
            r.available = r.replicas;
            r.carbon = Some(CarbonReading {
                grams_per_kwh: carbon(i, r.replicas),
                fetched_at: now,
            });
        }
        let (decision, next) = decide(&self.obs, &self.state, policy, now);
        if let Some(change) = decision.change() {
            if let Some(r) = self
                .obs
                .regions
                .iter_mut()
                .find(|r| r.name == change.region)
            {
                r.replicas = change.to;
            }
            self.actions.count(change.action);
        }
        self.state = next;
    }
}

/// CPU of a tier whose load spreads evenly over its replicas; saturates at 100%, the excess
/// being under-provisioned demand.
pub fn cpu_percent(demand: f64, replicas: i32) -> f64 {
    if replicas <= 0 {
        return if demand > 0.0 { 100.0 } else { 0.0 };
    }
    (demand / f64::from(replicas) * 100.0).min(100.0)
}

/// The cleanest placement of `total` replicas: floors first, then the excess cleanest first.
/// Writes into `placed` and reorders `order` (both reused across ticks: this runs every tick).
pub fn bound_placement(
    total: i32,
    carbon: &[f64],
    names: &[&str],
    bounds: &[(i32, i32)],
    order: &mut [usize],
    placed: &mut [i32],
) {
    for (i, slot) in order.iter_mut().enumerate() {
        *slot = i;
    }
    order.sort_unstable_by(|&a, &b| {
        carbon[a]
            .total_cmp(&carbon[b])
            .then_with(|| names[a].cmp(names[b]))
    });
    for (p, b) in placed.iter_mut().zip(bounds) {
        *p = b.0;
    }
    let mut left = total - placed.iter().sum::<i32>();
    for &i in order.iter() {
        let add = left.clamp(0, bounds[i].1 - placed[i]);
        placed[i] += add;
        left -= add;
    }
}

/// What one scaler did over the whole replay.
struct Tally {
    replica_hours: Vec<f64>,
    grams: f64,
    under_minutes: f64,
    actions: ActionCounts,
}

/// Replays one scaler over every tick. `aware` shows it the real carbon; otherwise each
/// region's "carbon" is its replica count (the carbon-blind counterfactual). `each` sees the
/// tick's carbon and the replicas after the decision, for the bound and the timeline.
fn run_scaler(
    r: &Replay,
    aware: bool,
    mut each: impl FnMut(usize, &[f64], &[RegionObservation]),
) -> Tally {
    let n = r.regions.len();
    let hours = r.interval as f64 / 3600.0;
    let kwh_per_replica = r.watts_per_replica / 1000.0 * hours;
    let mut scaler = Scaler::new(r);
    let blind_policy = Policy {
        rebalance_margin: None,
        ..r.policy.clone()
    };
    let mut carbon = vec![0.0; n];
    let mut tally = Tally {
        replica_hours: vec![0.0; n],
        grams: 0.0,
        under_minutes: 0.0,
        actions: ActionCounts::default(),
    };
    for (k, &demand) in r.demand.iter().enumerate() {
        let now = r.from + k as i64 * r.interval;
        for (c, region) in carbon.iter_mut().zip(r.regions) {
            *c = region
                .carbon
                .at(now)
                .expect("the replay period lies within every carbon series");
        }
        if aware {
            scaler.tick(r.policy, now, demand, |i, _| carbon[i]);
        } else {
            scaler.tick(&blind_policy, now, demand, |_, replicas| {
                f64::from(replicas)
            });
        }
        for (i, region) in scaler.obs.regions.iter().enumerate() {
            let replicas = f64::from(region.replicas);
            tally.replica_hours[i] += replicas * hours;
            // grams = replicas x kW x hours x gCO2eq/kWh, with this interval's intensity.
            tally.grams += replicas * kwh_per_replica * carbon[i];
        }
        if demand > f64::from(scaler.total()) {
            tally.under_minutes += r.interval as f64 / 60.0;
        }
        each(k, &carbon, &scaler.obs.regions);
    }
    tally.actions = scaler.actions;
    tally
}

/// Runs the policy and the carbon-blind scaler side by side (one thread each: they share
/// nothing but the inputs) and places the bound from the policy's totals.
pub fn replay(r: &Replay) -> Outcome {
    let n = r.regions.len();
    let ticks = r.demand.len();
    let names: Vec<&str> = r.regions.iter().map(|x| x.name.as_str()).collect();
    let bounds: Vec<(i32, i32)> = names
        .iter()
        .map(|name| {
            let b = r.policy.bounds(name);
            (b.min, b.max)
        })
        .collect();
    let hours = r.interval as f64 / 3600.0;
    let kwh_per_replica = r.watts_per_replica / 1000.0 * hours;
    let mut bound_hours = vec![0.0; n];
    let mut bound_grams = 0.0;
    let mut carbon_sum = vec![0.0; n];
    let bucket = ticks.div_ceil(r.timeline_points.max(1)).max(1);
    let mut timeline = Vec::with_capacity(ticks / bucket + 1);
    let mut acc = TimelinePoint {
        time: r.from,
        replicas: vec![0.0; n],
        carbon: vec![0.0; n],
        demand: 0.0,
    };
    let mut in_bucket = 0;
    let mut order = vec![0; n];
    let mut placed = vec![0; n];

    let (policy, blind) = std::thread::scope(|scope| {
        let blind = scope.spawn(|| run_scaler(r, false, |_, _, _| {}));
        let policy = run_scaler(r, true, |k, carbon, regions| {
            let total = regions.iter().map(|x| x.replicas).sum();
            bound_placement(total, carbon, &names, &bounds, &mut order, &mut placed);
            for i in 0..n {
                bound_hours[i] += f64::from(placed[i]) * hours;
                bound_grams += f64::from(placed[i]) * kwh_per_replica * carbon[i];
                carbon_sum[i] += carbon[i];
                acc.replicas[i] += f64::from(regions[i].replicas);
                acc.carbon[i] += carbon[i];
            }
            acc.demand += r.demand[k];
            in_bucket += 1;
            if in_bucket == bucket || k + 1 == ticks {
                let m = in_bucket as f64;
                let next = r.from + (k as i64 + 1) * r.interval;
                timeline.push(TimelinePoint {
                    time: acc.time,
                    replicas: acc.replicas.iter().map(|v| v / m).collect(),
                    carbon: acc.carbon.iter().map(|v| v / m).collect(),
                    demand: acc.demand / m,
                });
                acc = TimelinePoint {
                    time: next,
                    replicas: vec![0.0; n],
                    carbon: vec![0.0; n],
                    demand: 0.0,
                };
                in_bucket = 0;
            }
        });
        (
            policy,
            blind
                .join()
                .expect("the carbon-blind replay does not panic"),
        )
    });
    let per_tick = |v: f64| if ticks == 0 { 0.0 } else { v / ticks as f64 };
    Outcome {
        regions: (0..n)
            .map(|i| RegionOutcome {
                replica_hours: Triple {
                    policy: policy.replica_hours[i],
                    blind: blind.replica_hours[i],
                    bound: bound_hours[i],
                },
                mean_carbon: per_tick(carbon_sum[i]),
            })
            .collect(),
        grams: Triple {
            policy: policy.grams,
            blind: blind.grams,
            bound: bound_grams,
        },
        // The bound runs the policy's totals, so it is short of capacity exactly when the policy is.
        under_provisioned_minutes: Triple {
            policy: policy.under_minutes,
            blind: blind.under_minutes,
            bound: policy.under_minutes,
        },
        policy_actions: policy.actions,
        blind_actions: blind.actions,
        mean_demand: per_tick(r.demand.iter().sum()),
        timeline,
    }
}

#[cfg(test)]
mod tests {

    use proptest::prelude::*;

    use super::*;
    use crate::policy::Bounds;

    /// The default policy with other replica bounds.
    fn policy(min: i32, max: i32) -> Policy {
        Policy {
            default_bounds: Bounds { min, max },
            ..crate::config::defaults().policy
        }
    }

    fn regions(hourly: &[Vec<f64>]) -> Vec<RegionInput> {
        hourly
            .iter()
            .enumerate()
            .map(|(i, values)| RegionInput {
                name: ["alpha", "bravo", "charlie"][i].to_string(),
                carbon: Series {
                    start: 0,
                    step: 3600,
                    values: values.clone(),
                },
            })
            .collect()
    }

    fn run(regions: &[RegionInput], policy: &Policy, demand: &[f64]) -> Outcome {
        replay(&Replay {
            regions,
            policy,
            from: 0,
            interval: 60,
            demand,
            watts_per_replica: 2.4,
            timeline_points: 50,
        })
    }

    fn total_hours(o: &Outcome, pick: fn(&Triple) -> f64) -> f64 {
        o.regions.iter().map(|r| pick(&r.replica_hours)).sum()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the grids do: the bound is never beaten, and both scalers carry the same
        /// replicas through the same demand (only placement differs).
        #[test]
        fn bound_is_a_floor_and_totals_match(
            hourly in prop::collection::vec(prop::collection::vec(0.0f64..800.0, 6), 3),
            demand in prop::collection::vec(0.0f64..16.0, 1..60),
            min in 0i32..3,
        ) {
            let regions = regions(&hourly);
            let policy = policy(min, 5);
            // Each random level lasts six minutes, so holds and cooldowns come into play.
            let demand: Vec<f64> = demand.iter().flat_map(|d| [*d; 6]).take(360).collect();
            let o = run(&regions, &policy, &demand);
            prop_assert!(o.grams.policy >= o.grams.bound - 1e-9, "{:?}", o.grams);
            prop_assert!(o.grams.blind >= o.grams.bound - 1e-9, "{:?}", o.grams);
            let p = total_hours(&o, |t| t.policy);
            prop_assert!((p - total_hours(&o, |t| t.blind)).abs() < 1e-9);
            prop_assert!((p - total_hours(&o, |t| t.bound)).abs() < 1e-9);
            prop_assert_eq!(o.under_provisioned_minutes.policy, o.under_provisioned_minutes.blind);
            prop_assert_eq!(o.policy_actions.heal, 0, "both start at their floors");
            prop_assert_eq!(o.policy_actions.total(), o.blind_actions.total());
        }
    }

    #[test]
    fn a_steady_ranking_lets_the_policy_reach_the_bound() {
        let regions = regions(&[vec![300.0; 3], vec![40.0; 3], vec![120.0; 3]]);
        let demand: Vec<f64> = (0..180).map(|k| if k < 90 { 9.0 } else { 2.0 }).collect();
        let o = run(&regions, &policy(1, 5), &demand);
        assert!(o.grams.blind > o.grams.bound, "{:?}", o.grams);
        assert!(
            (o.grams.policy - o.grams.bound).abs() < 1e-9,
            "{:?}",
            o.grams
        );
        let share = crate::backtest::report::share_captured(o.grams).unwrap();
        assert!((share - 1.0).abs() < 1e-9, "{share}");
        assert!(o.regions[1].replica_hours.policy > o.regions[1].replica_hours.blind);
    }

    /// The share is honest, not flattering: carbonctl moves replicas only when CPU asks, so
    /// when the grids swap places while the tier holds steady, keeping regions even does better.
    #[test]
    fn grids_swapping_while_the_tier_holds_can_cost_more_than_blind() {
        let mut alpha = vec![10.0];
        alpha.extend([100.0; 9]);
        let mut bravo = vec![100.0];
        bravo.extend([10.0; 9]);
        let regions = regions(&[alpha, bravo]);
        // 4.5 replica-equivalents need 7 replicas to fall inside 30%..70%, then hold there.
        let o = run(&regions, &policy(1, 5), &[4.5; 600]);
        let alpha = o.regions[0].replica_hours;
        assert!(
            alpha.policy > alpha.blind,
            "the policy piled into alpha while it was clean"
        );
        assert!(o.grams.blind > o.grams.bound, "{:?}", o.grams);
        assert!(o.grams.policy > o.grams.blind, "{:?}", o.grams);
        let share = crate::backtest::report::share_captured(o.grams).unwrap();
        assert!(share < 0.0, "{share}");
    }

    /// The same swap with rebalancing on: carbonctl moves replicas toward the new cleanest grid
    /// while CPU holds, and beats keeping regions even.
    #[test]
    fn rebalancing_follows_grids_that_swap_while_the_tier_holds() {
        let mut alpha = vec![10.0];
        alpha.extend([100.0; 9]);
        let mut bravo = vec![100.0];
        bravo.extend([10.0; 9]);
        let regions = regions(&[alpha, bravo]);
        let mut p = policy(1, 5);
        p.rebalance_margin = Some(20.0);
        let o = run(&regions, &p, &[4.5; 600]);
        assert!(o.policy_actions.rebalance >= 2, "{:?}", o.policy_actions);
        assert_eq!(
            o.blind_actions.rebalance, 0,
            "the blind scaler never moves for carbon"
        );
        assert!(o.grams.policy < o.grams.blind, "{:?}", o.grams);
        assert!(o.grams.policy >= o.grams.bound - 1e-9, "{:?}", o.grams);
    }

    #[test]
    fn under_provisioned_minutes_count_demand_above_capacity() {
        let regions = regions(&[vec![100.0], vec![200.0]]);
        // Three replicas at most in one region, two in the other: capacity tops out at 5.
        let mut p = policy(1, 3);
        p.region_bounds
            .insert("bravo".into(), Bounds { min: 1, max: 2 });
        let o = run(&regions, &p, &[6.0; 30]);
        assert_eq!(o.policy_actions.scale_up, 3);
        assert_eq!(o.under_provisioned_minutes.policy, 30.0);
        assert_eq!(
            o.regions[0].replica_hours.bound,
            o.regions[0].replica_hours.policy
        );
    }

    #[test]
    fn bound_fills_floors_then_the_cleanest_up_to_its_max() {
        let names = ["a", "b", "c"];
        let place = |total, carbon: &[f64], bounds: &[(i32, i32)]| {
            let (mut order, mut placed) = ([0; 3], [0; 3]);
            bound_placement(total, carbon, &names, bounds, &mut order, &mut placed);
            placed
        };
        let placed = place(9, &[50.0, 10.0, 10.0], &[(1, 5), (2, 4), (1, 5)]);
        assert_eq!(placed, [1, 4, 4], "b and c tie on carbon; b first by name");
        assert_eq!(place(4, &[50.0, 10.0, 20.0], &[(1, 5); 3]), [1, 2, 1]);
    }

    #[test]
    fn cpu_saturates_and_handles_no_replicas() {
        assert_eq!(cpu_percent(1.5, 3), 50.0);
        assert_eq!(cpu_percent(9.0, 3), 100.0);
        assert_eq!(cpu_percent(0.5, 0), 100.0);
        assert_eq!(cpu_percent(0.0, 0), 0.0);
    }

    #[test]
    fn timeline_keeps_at_most_the_asked_points_and_means_them() {
        let regions = regions(&[vec![100.0; 2]]);
        let o = run(&regions, &policy(2, 2), &[1.0; 120]);
        assert_eq!(
            o.timeline.len(),
            40,
            "120 ticks in buckets of ceil(120/50) = 3"
        );
        assert_eq!(o.timeline[1].time, 180);
        assert_eq!(o.timeline[0].replicas, [2.0]);
    }
}
