use std::borrow::Cow;

use super::decision::{AtItsLimit, Breaching, Change, ChangeWhy, Decision, ForecastHeld, HoldWhy};
use super::heal::healing_step;
use super::rank::{choose, has_room, passed_over, rank, Direction, Ranked};
use super::rebalance::{advance_pending, start, Band, Pending};
use super::signal::{count_holds, Breach, Signal};
use super::{Action, Observation, Policy, PolicyState, RegionObservation};

/// One tick of the rule: heal floors and ceilings first; then settle a pending rebalancing
/// move; then (CPU data permitting) scale up the cleanest region or down the dirtiest once a
/// breach has lasted `hold_cycles` ticks and no cooldown is running, or, inside the band, start
/// a rebalancing move. At most one replica changes. Returns the decision and the state to
/// persist.
pub fn decide(
    obs: &Observation,
    prev: &PolicyState,
    policy: &Policy,
    now: i64,
) -> (Decision, PolicyState) {
    let mut next = prev.clone();
    let decision = decide_mut(obs, &mut next, policy, now);
    (decision, next)
}

/// Whether this tick can only hold: CPU inside the band, every region within its bounds, no
/// move pending and rebalancing off. Such a tick needs no ranking, no carbon and no sentence;
/// a replay, where most minutes are like this, skips them by this test and
/// `PolicyState::hold_quietly` instead of asking `decide`.
#[inline]
pub fn holds_quietly(obs: &Observation, state: &PolicyState, policy: &Policy) -> bool {
    state.pending_move.is_none()
        && policy.rebalance_margin.is_none()
        && Signal::read(&obs.cpu, policy.trigger).is_ok_and(|s| s.breach(policy) == Breach::None)
        && within_bounds(obs, policy)
}

#[inline]
fn within_bounds(obs: &Observation, policy: &Policy) -> bool {
    obs.regions.iter().all(|r| {
        let b = policy.bounds(&r.name);
        b.min <= r.replicas && r.replicas <= b.max
    })
}

/// `decide`, turning `state` into the state to persist in place. While every region is within
/// its bounds and no move is pending, neither healing nor rebalancing's second step can act, so
/// the CPU rule decides, and ranks the regions only when it chooses one.
pub fn decide_mut(
    obs: &Observation,
    state: &mut PolicyState,
    policy: &Policy,
    now: i64,
) -> Decision {
    decide_unranked(obs, state, policy, now).in_unit(policy.carbon_unit)
}

fn decide_unranked(
    obs: &Observation,
    state: &mut PolicyState,
    policy: &Policy,
    now: i64,
) -> Decision {
    if state.pending_move.is_some() || !within_bounds(obs, policy) {
        return decide_ranked_mut(obs, &rank(obs, policy, now), state, policy, now);
    }
    let signal = Signal::read(&obs.cpu, policy.trigger);
    let breach = signal.as_ref().ok().map(|s| s.breach(policy));
    count_holds(state, breach, policy.hold_cycles);
    match signal {
        Ok(cpu) => {
            let breach = breach.unwrap_or(Breach::None);
            let ranking = || Cow::Owned(rank(obs, policy, now));
            cpu_rule(obs, ranking, state, policy, &cpu, breach, true, now)
        }
        Err(reason) => no_cpu(reason),
    }
}

/// `decide` on a ranking already made from `obs` (a tick ranks once and shows the ranking too).
pub fn decide_ranked(
    obs: &Observation,
    ranked: &[Ranked],
    prev: &PolicyState,
    policy: &Policy,
    now: i64,
) -> (Decision, PolicyState) {
    let mut next = prev.clone();
    let decision =
        decide_ranked_mut(obs, ranked, &mut next, policy, now).in_unit(policy.carbon_unit);
    (decision, next)
}

fn decide_ranked_mut(
    obs: &Observation,
    ranked: &[Ranked],
    next: &mut PolicyState,
    policy: &Policy,
    now: i64,
) -> Decision {
    let signal = Signal::read(&obs.cpu, policy.trigger);
    let breach = signal.as_ref().ok().map(|s| s.breach(policy));
    count_holds(next, breach, policy.hold_cycles);

    if let Some(change) = healing_step(obs, ranked, policy) {
        next.last_heal = Some(change.record(now));
        return change.into();
    }

    let band = match breach {
        None => Band::Unknown,
        Some(Breach::Up) => Band::Above,
        Some(Breach::Down) => Band::Below,
        Some(Breach::None) => Band::Inside,
    };
    let cancelled = match advance_pending(ranked, obs, next, policy, band, now) {
        Pending::Step(decision) => return decision,
        Pending::Cancelled(why) => Some(why),
        Pending::Idle => None,
    };
    let cpu = match signal {
        Ok(signal) => signal,
        Err(reason) => {
            let decision = no_cpu(reason);
            return match cancelled {
                Some(why) => decision.cancelling(why),
                None => decision,
            };
        }
    };
    // A new move waits for the tick after a cancelled one.
    let may_start = cancelled.is_none();
    let breach = breach.unwrap_or(Breach::None);
    let ranking = || Cow::Borrowed(ranked);
    let decision = cpu_rule(obs, ranking, next, policy, &cpu, breach, may_start, now);
    // A cancelled move shows in the tick's own sentence: nothing else would tell anyone.
    match cancelled {
        Some(why) => decision.cancelling(why),
        None => decision,
    }
}

fn no_cpu(reason: &str) -> Decision {
    HoldWhy::NoCpu {
        reason: reason.to_string(),
    }
    .into()
}

fn in_band(signal: &Signal, policy: &Policy, forecast_held: Option<Box<ForecastHeld>>) -> Decision {
    HoldWhy::InBand {
        cpu: signal.figure(Breach::None),
        down: policy.scale_down_threshold,
        up: policy.scale_up_threshold,
        forecast_held,
    }
    .into()
}

/// The CPU-driven part: hold, scale up the cleanest, scale down the dirtiest, or (inside the
/// band) start a rebalancing move. `ranking` is asked for only when a region is to be chosen.
#[allow(clippy::too_many_arguments)]
fn cpu_rule<'o: 'r, 'r>(
    obs: &'o Observation,
    ranking: impl FnOnce() -> Cow<'r, [Ranked<'o>]>,
    next: &mut PolicyState,
    policy: &Policy,
    signal: &Signal,
    breach: Breach,
    may_start: bool,
    now: i64,
) -> Decision {
    let cpu = signal.figure(breach);
    let (direction, count, threshold) = match breach {
        Breach::Up => (Direction::Up, next.hold_up, policy.scale_up_threshold),
        Breach::Down => (Direction::Down, next.hold_down, policy.scale_down_threshold),
        Breach::None => {
            if !may_start {
                return in_band(signal, policy, None);
            }
            return start(ranking, obs, next, policy, now)
                .unwrap_or_else(|held| in_band(signal, policy, held));
        }
    };
    let breaching = Breaching {
        cpu,
        direction,
        threshold,
        count,
        cycles: policy.hold_cycles,
    };
    if count < policy.hold_cycles {
        return HoldWhy::Breaching(breaching).into();
    }
    if let (Some(left_secs), Some(last)) =
        (next.cooldown_left(policy, now), next.last_scale.as_ref())
    {
        return HoldWhy::CoolingDown {
            breaching,
            left_secs,
            last: last.clone(),
        }
        .into();
    }
    let passed = |r: &Ranked| {
        let bounds = policy.bounds(r.name);
        let limit = match direction {
            Direction::Up => bounds.max,
            Direction::Down => bounds.min,
        };
        // Health passes a region over only when growing, and only below its max.
        let held_back = direction == Direction::Up && r.replicas < bounds.max;
        AtItsLimit {
            region: r.name.to_string(),
            limit,
            unhealthy: r.unhealthy.filter(|_| held_back),
        }
    };
    // Room does not depend on the order: when no region has any, nothing needs ranking.
    let room = |r: &RegionObservation| {
        has_room(
            policy,
            direction,
            &r.name,
            r.replicas,
            r.unhealthy().is_none(),
        )
    };
    if !obs.regions.iter().any(room) {
        let held_back = |r: &RegionObservation| {
            direction == Direction::Up
                && r.unhealthy().is_some()
                && r.replicas < policy.bounds(&r.name).max
        };
        if !obs.regions.iter().any(held_back) {
            return HoldWhy::AtLimit(breaching).into();
        }
    }
    let ranked = ranking();
    let ranked = ranked.as_ref();
    let Some(target) = choose(ranked, policy, direction) else {
        // No region has room, and (checked above) growth is held back by some region's health:
        // the regions passed over are named.
        return HoldWhy::NoRoom {
            breaching,
            passed_over: passed_over(ranked, policy, direction).map(passed).collect(),
        }
        .into();
    };
    let passed_over = passed_over(ranked, policy, direction).map(passed).collect();
    let why = ChangeWhy::Scale {
        breaching,
        passed_over,
        grams: target.grams,
    };
    let action = match direction {
        Direction::Up => Action::ScaleUp,
        Direction::Down => Action::ScaleDown,
    };
    let change = Change::of(
        obs,
        target,
        action,
        target.replicas + direction.delta(),
        why,
    );
    next.hold_up = 0;
    next.hold_down = 0;
    next.last_scale = Some(change.record(now));
    change.into()
}
