//! The replay: one call of the policy's `decide` per tick, as `tick` makes it, over recorded
//! carbon and demand, next to two counterfactuals that show what the carbon signal bought.
//!
//! - carbon-blind: the same rule, thresholds, holds and cooldown without the carbon signal (and
//!   without rebalancing, which is a move made for carbon), so it reaches the replica totals
//!   the tier needs when it needs them; each interval its total is spread exactly evenly over
//!   the regions, as far as their bounds allow (the even level is raised until the total is
//!   placed; fractions of a replica count). No region name or order enters it.
//! - placement bound: each interval, the policy's total replicas placed as cleanly as the
//!   bounds allow (floors first, all the excess in the cleanest region, overflowing to the next
//!   cleanest at its max). No placement of the same totals can emit less.
//!
//! Timing, the same for every scaler: the tick at minute k sees CPU over the replicas serving
//! then (every replica added earlier is ready, as make-before-break rebalancing waits for); a
//! replica it adds draws power from minute k but serves demand only from minute k+1, and a
//! replica it removes stops both at once. So minute k is under-provisioned when its demand
//! exceeds the smaller of the totals before and after the tick's change. Load spreads evenly
//! over the serving replicas, so average and busiest-node CPU are the same figure here.
//! Every region starts at its `start` replicas (its floor unless given).
//!
//! Carbon, as the live tick has it: the rule ranks on what the tick's carbon cache would hold
//! (`seen`: refreshed once the cached value is `carbon_cache_ttl` old), while every gram is
//! accounted at the grid's value for that interval.

use serde::Serialize;

use crate::policy::{
    decide_mut, holds_quietly, Action, CarbonReading, CpuObservation, Observation, Policy,
    PolicyState, RegionObservation,
};

use super::forecast::Forecasting;
pub use super::region_input::RegionInput;
use super::seen::CarbonSeen;

pub struct Replay<'a> {
    pub regions: &'a [RegionInput],
    pub policy: &'a Policy,
    /// Unix seconds of the first tick.
    pub from: i64,
    /// Seconds between ticks.
    pub interval: i64,
    /// CARBON_CACHE_TTL: how old a cached carbon value may be before a tick fetches again.
    pub carbon_cache_ttl: i64,
    /// Replica-equivalents asked of the tier at each tick; one entry per tick.
    pub demand: &'a [f64],
    pub watts_per_replica: f64,
    /// At most this many points in the timeline kept for the chart.
    pub timeline_points: usize,
    /// How forecasts are made when the policy's REBALANCE_FORECAST is on.
    pub forecasting: Forecasting,
}

impl Replay<'_> {
    /// The carbon cache a replayed tick ranks on, taking forecasts when the policy asks.
    pub fn carbon_seen(&self) -> CarbonSeen {
        let forecast = (self.policy.rebalance_forecast_secs).map(|h| (h, self.forecasting));
        CarbonSeen::new(self.regions.len(), forecast)
    }
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

/// A scaler being replayed: the rule's persisted state and the observation it is shown, whose
/// `replicas` are what the rule moves (a Deployment's replicas, or in floors mode its HPA's floor).
pub(super) struct Scaler {
    state: PolicyState,
    pub(super) obs: Observation,
    /// The replicas of all regions.
    total: i32,
    pub(super) actions: ActionCounts,
    /// The last tick's change, if it made one: what a tick-by-tick record shows.
    pub(super) last: Option<(Action, usize)>,
}

impl Scaler {
    /// The rule over `regions`, each starting at `start` (in the same order).
    pub(super) fn new(regions: &[RegionInput], start: &[i32]) -> Self {
        Scaler {
            state: PolicyState::default(),
            obs: Observation {
                cpu: CpuObservation::Missing {
                    reason: String::new(),
                },
                regions: regions
                    .iter()
                    .zip(start)
                    .map(|(r, &start)| RegionObservation {
                        name: r.name.clone(),
                        // A replay changes numbers, not Deployments.
                        deployment: String::new(),
                        replicas: start,
                        ready: start,
                        available: start,
                        nodes: None,
                        carbon: None,
                    })
                    .collect(),
            },
            total: start.iter().sum(),
            actions: ActionCounts::default(),
            last: None,
        }
    }

    /// Shows the rule `cpu` and carbon and lets it decide; applies a change to the region's
    /// `replicas` and returns the region's index and the change (+1 or -1).
    pub(super) fn decide(
        &mut self,
        policy: &Policy,
        now: i64,
        cpu: f64,
        carbon: impl Fn(usize) -> CarbonReading,
    ) -> Option<(usize, i32)> {
        self.obs.cpu = CpuObservation::Known {
            average: cpu,
            max: cpu,
            nodes: self.obs.regions.len(),
            missing: 0,
        };
        self.last = None;
        if holds_quietly(&self.obs, &self.state, policy) {
            self.state.hold_quietly();
            return None;
        }
        for (i, r) in self.obs.regions.iter_mut().enumerate() {
            r.carbon = Some(carbon(i));
        }
        let decision = decide_mut(&self.obs, &mut self.state, policy, now);
        let change = decision.change()?;
        let i = self
            .obs
            .regions
            .iter()
            .position(|r| r.name == change.region)?;
        self.obs.regions[i].replicas = change.to;
        self.actions.count(change.action);
        self.last = Some((change.action, i));
        Some((i, change.to - change.from))
    }

    /// One tick of `replicas` mode: the rule decides on the CPU of the replicas serving now.
    /// Returns the replicas serving demand until the next tick (see the module's timing).
    pub(super) fn tick(
        &mut self,
        policy: &Policy,
        now: i64,
        demand: f64,
        carbon: impl Fn(usize) -> CarbonReading,
    ) -> i32 {
        let before = self.total;
        if let Some((i, delta)) = self.decide(policy, now, cpu_percent(demand, before), carbon) {
            // Ready by the next tick, as make-before-break rebalancing waits for.
            let r = &mut self.obs.regions[i];
            r.ready = r.replicas;
            r.available = r.replicas;
            self.total += delta;
        }
        before.min(self.total)
    }
}

/// Each region's carbon at the tick being replayed. A region's value changes once per step of
/// its series (hourly), not every tick: it is looked up again only when the next step begins.
pub(super) struct CarbonNow {
    pub(super) values: Vec<f64>,
    next_step: Vec<i64>,
}

impl CarbonNow {
    pub(super) fn new(regions: usize) -> Self {
        CarbonNow {
            values: vec![0.0; regions],
            next_step: vec![i64::MIN; regions],
        }
    }

    pub(super) fn update(&mut self, regions: &[RegionInput], now: i64) {
        for ((c, next), region) in self.values.iter_mut().zip(&mut self.next_step).zip(regions) {
            if now >= *next {
                let series = &region.carbon;
                *c = series
                    .at(now)
                    .expect("the replay period lies within every carbon series");
                *next = series.start + ((now - series.start) / series.step + 1) * series.step;
            }
        }
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

/// `total` replicas spread as evenly as the bounds allow: every region at the same level,
/// clamped to its bounds, the level raised until the total is placed (fractions allowed).
/// A total outside what the bounds can hold is spread evenly without them.
pub fn even_placement(total: i32, bounds: &[(i32, i32)]) -> Vec<f64> {
    let n = bounds.len();
    let (floor, ceiling): (i32, i32) = bounds
        .iter()
        .fold((0, 0), |(lo, hi), b| (lo + b.0, hi + b.1));
    if n == 0 || total < floor || total > ceiling {
        return vec![f64::from(total) / n.max(1) as f64; n];
    }
    let placed = |level: f64| -> f64 {
        bounds
            .iter()
            .map(|b| level.clamp(f64::from(b.0), f64::from(b.1)))
            .sum()
    };
    let (mut lo, mut hi) = (0.0, f64::from(total.max(1)));
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if placed(mid) < f64::from(total) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    bounds
        .iter()
        .map(|b| hi.clamp(f64::from(b.0), f64::from(b.1)))
        .collect()
}

/// What one scaler did over the whole replay.
struct Tally {
    under_minutes: f64,
    actions: ActionCounts,
}

/// Replays one scaler over every tick. `aware` shows it the real carbon; otherwise it runs
/// the blind rule, whose placement is replaced by the even spread. `each` sees the tick's
/// carbon and the replicas after the decision, for the accounting, the bound and the timeline.
fn run_scaler(
    r: &Replay,
    aware: bool,
    mut each: impl FnMut(usize, &[f64], &[RegionObservation]),
) -> Tally {
    let start: Vec<i32> = r.regions.iter().map(|x| x.start).collect();
    let mut scaler = Scaler::new(r.regions, &start);
    let blind_policy = Policy {
        rebalance_margin: None,
        ..r.policy.clone()
    };
    let policy = if aware { r.policy } else { &blind_policy };
    let mut carbon = CarbonNow::new(r.regions.len());
    let mut seen = r.carbon_seen();
    let mut tally = Tally {
        under_minutes: 0.0,
        actions: ActionCounts::default(),
    };
    for (k, &demand) in r.demand.iter().enumerate() {
        let now = r.from + k as i64 * r.interval;
        carbon.update(r.regions, now);
        let carbon = &carbon.values;
        // Blind: every region looks the same, so nothing but demand steers it.
        let serving = if aware {
            seen.update(r.regions, now, r.carbon_cache_ttl);
            scaler.tick(policy, now, demand, |i| seen.reading(i))
        } else {
            scaler.tick(policy, now, demand, |_| CarbonReading {
                grams_per_kwh: 0.0,
                fetched_at: now,
                forecast_grams: None,
            })
        };
        if demand > f64::from(serving) {
            tally.under_minutes += r.interval as f64 / 60.0;
        }
        each(k, carbon, &scaler.obs.regions);
    }
    tally.actions = scaler.actions;
    tally
}

/// The policy's decisions over the replay alone, without counterfactuals or accounting: the
/// rule's own cost, which the benchmark sets beside a plain CPython loop of the same rule.
pub fn decisions(r: &Replay) -> ActionCounts {
    run_scaler(r, true, |_, _, _| {}).actions
}

/// Emissions and replica-hours of one placement, accumulated tick by tick.
pub(super) struct Account {
    pub(super) hours: Vec<f64>,
    pub(super) grams: f64,
    /// Replica-hours and kWh of one replica over one interval.
    interval_hours: f64,
    kwh_per_replica: f64,
}

impl Account {
    pub(super) fn new(r: &Replay) -> Account {
        let interval_hours = r.interval as f64 / 3600.0;
        Account {
            hours: vec![0.0; r.regions.len()],
            grams: 0.0,
            interval_hours,
            kwh_per_replica: r.watts_per_replica / 1000.0 * interval_hours,
        }
    }

    /// One interval of `replicas` per region at `carbon` gCO2eq/kWh.
    pub(super) fn add(&mut self, replicas: impl Iterator<Item = f64>, carbon: &[f64]) {
        for ((hours, replicas), grams) in self.hours.iter_mut().zip(replicas).zip(carbon) {
            *hours += replicas * self.interval_hours;
            self.grams += replicas * self.kwh_per_replica * grams;
        }
    }
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
    let mut policy_account = Account::new(r);
    let mut bound_account = Account::new(r);
    let mut blind_account = Account::new(r);
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
        let blind = scope.spawn(|| {
            // The even spread of each total, worked out once per total seen.
            let mut even: Vec<Option<Vec<f64>>> = Vec::new();
            run_scaler(r, false, |_, carbon, regions| {
                let total: i32 = regions.iter().map(|x| x.replicas).sum();
                let slot = usize::try_from(total).unwrap_or(0);
                if even.len() <= slot {
                    even.resize(slot + 1, None);
                }
                let spread = even[slot].get_or_insert_with(|| even_placement(total, &bounds));
                blind_account.add(spread.iter().copied(), carbon);
            })
        });
        let policy = run_scaler(r, true, |k, carbon, regions| {
            let total = regions.iter().map(|x| x.replicas).sum();
            bound_placement(total, carbon, &names, &bounds, &mut order, &mut placed);
            policy_account.add(regions.iter().map(|x| f64::from(x.replicas)), carbon);
            bound_account.add(placed.iter().map(|p| f64::from(*p)), carbon);
            for i in 0..n {
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
                    policy: policy_account.hours[i],
                    blind: blind_account.hours[i],
                    bound: bound_account.hours[i],
                },
                mean_carbon: per_tick(carbon_sum[i]),
            })
            .collect(),
        grams: Triple {
            policy: policy_account.grams,
            blind: blind_account.grams,
            bound: bound_account.grams,
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
    use crate::backtest::series::Series;
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
                start: 1,
            })
            .collect()
    }

    /// A replay with every region starting at its floor.
    fn run(regions: &[RegionInput], policy: &Policy, demand: &[f64]) -> Outcome {
        let regions: Vec<RegionInput> = regions
            .iter()
            .map(|r| RegionInput {
                name: r.name.clone(),
                carbon: r.carbon.clone(),
                start: policy.bounds(&r.name).min,
            })
            .collect();
        replay(&Replay {
            regions: &regions,
            policy,
            from: 0,
            interval: 60,
            carbon_cache_ttl: 300,
            demand,
            watts_per_replica: 2.4,
            timeline_points: 50,
            forecasting: Forecasting::Perfect,
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

    /// One model of when a replica counts, for every scaler: a replica added at minute k
    /// draws power from minute k and serves from minute k+1; a removed one stops both at once.
    #[test]
    fn a_new_replica_serves_from_the_next_minute() {
        let one = regions(&[vec![100.0; 2]]);
        let mut p = policy(1, 5);
        p.hold_cycles = 1;
        p.cooldown_secs = 0;
        // (name, demand per minute, under-provisioned minutes, replica-hours x 60)
        let cases: [(&str, Vec<f64>, f64, f64); 4] = [
            (
                "the jump is short of capacity in the minute it is seen",
                vec![0.5, 1.5, 1.5],
                1.0,
                1.0 + 2.0 + 3.0,
            ),
            (
                "the replica added then serves the minute after",
                vec![0.5, 1.5, 1.5, 1.5],
                1.0,
                1.0 + 2.0 + 3.0 + 3.0,
            ),
            ("a held tier is never short", vec![0.5; 4], 0.0, 4.0),
            (
                "power follows the replicas after each change, both ways",
                vec![1.6, 1.6, 0.2, 0.2],
                1.0,
                2.0 + 3.0 + 2.0 + 1.0,
            ),
        ];
        for (name, demand, under, hours) in cases {
            let o = run(&one, &p, &demand);
            assert_eq!(o.under_provisioned_minutes.policy, under, "{name}");
            assert_eq!(
                o.under_provisioned_minutes.blind, under,
                "{name}: the same model for blind"
            );
            let h = o.regions[0].replica_hours;
            assert!(
                (h.policy * 60.0 - hours).abs() < 1e-9,
                "{name}: {}",
                h.policy * 60.0
            );
            assert!(
                (h.blind * 60.0 - hours).abs() < 1e-9,
                "{name}: blind {}",
                h.blind * 60.0
            );
        }
    }

    #[test]
    fn the_even_spread_fills_every_region_to_one_level_within_its_bounds() {
        let close = |a: Vec<f64>, b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9);
        assert!(close(even_placement(6, &[(1, 5); 3]), &[2.0, 2.0, 2.0]));
        assert!(close(even_placement(4, &[(1, 5); 3]), &[4.0 / 3.0; 3]));
        // A floor above the level and a ceiling below it are kept; the rest share what is left.
        assert!(close(
            even_placement(9, &[(4, 5), (1, 5), (1, 2)]),
            &[4.0, 3.0, 2.0]
        ));
        assert!(close(even_placement(3, &[(1, 1); 3]), &[1.0; 3]));
        // Outside what the bounds hold (a replay starting out of bounds): evenly, unbounded.
        assert!(close(even_placement(12, &[(1, 2); 3]), &[4.0; 3]));
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
