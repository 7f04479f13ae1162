//! Make-before-break carbon rebalancing, for when CPU sits inside the band and the grid mix
//! flips: step 1 adds a replica to the cleanest region; only when it is ready does step 2 take
//! one from the dirtiest. Capacity never drops below what it was, at most one step happens per
//! tick, and a move that can no longer finish well is completed, cancelled or reverted by these
//! rules:
//!
//! - someone changed either region's replicas since step 1: cancelled, nothing more is done;
//! - CPU above the band: cancelled, the new replica stays (demand wants it);
//! - CPU below the band: completed at once (removing from the dirtiest is what scale-down does);
//! - the dirty region reached its min meanwhile: cancelled, the new replica stays;
//! - the order flipped back (the clean region is no longer cleaner): reverted (-1 on the clean one);
//! - not completed within REBALANCE_READY_TIMEOUT (the new replica not ready, or carbon data
//!   missing for either region): reverted.
//!
//! Without CPU data a pending move neither completes early nor is cancelled for CPU.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::decision::{
    Action, Cancelled, Change, ChangeWhy, Decision, ForecastGap, ForecastHeld, HoldWhy, Revert,
};
use super::rank::{choose, Direction, Ranked};
use super::{ActionRecord, Observation, Policy, PolicyState};

/// Step 1 done, step 2 pending; kept in the state between ticks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PendingMove {
    /// The clean region that got a replica, and its replicas after step 1.
    pub to: String,
    pub to_replicas: i32,
    /// The dirty region that gives one up in step 2, and its replicas at step 1.
    pub from: String,
    pub from_replicas: i32,
    /// Unix seconds of step 1.
    #[serde(with = "crate::clock::rfc3339")]
    pub started: i64,
}

/// Where CPU is relative to the band this tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Band {
    Above,
    Below,
    Inside,
    /// No CPU data: the move neither completes early nor is cancelled for CPU.
    Unknown,
}

/// What a pending move does this tick.
pub(super) enum Pending {
    /// No move is pending.
    Idle,
    /// The move acts (step 2 or a revert) or waits; this is the tick's decision.
    Step(Decision),
    /// The move was dropped without a step, for this reason; the ordinary rule decides.
    Cancelled(Cancelled),
}

/// Advances a pending move by the rules in this module's documentation.
pub(super) fn advance_pending(
    ranked: &[Ranked],
    obs: &Observation,
    next: &mut PolicyState,
    policy: &Policy,
    band: Band,
    now: i64,
) -> Pending {
    let Some(pending) = next.pending_move.take() else {
        return Pending::Idle;
    };
    let find = |name: &str| ranked.iter().find(|r| r.name == name);
    let (Some(clean), Some(dirty)) = (find(&pending.to), find(&pending.from)) else {
        return Pending::Cancelled(Cancelled::NotObserved {
            clean: pending.to,
            dirty: pending.from,
        });
    };
    if clean.replicas != pending.to_replicas || dirty.replicas != pending.from_replicas {
        return Pending::Cancelled(Cancelled::ChangedBySomeone {
            clean: clean.name.to_string(),
            dirty: dirty.name.to_string(),
        });
    }
    if band == Band::Above {
        return Pending::Cancelled(Cancelled::CpuAbove {
            clean: clean.name.to_string(),
        });
    }
    if dirty.replicas <= policy.bounds(dirty.name).min {
        return Pending::Cancelled(Cancelled::DirtyAtMin {
            dirty: dirty.name.to_string(),
            clean: clean.name.to_string(),
        });
    }
    let ready = obs
        .regions
        .iter()
        .find(|r| r.name == clean.name)
        .map_or(0, |r| r.ready);
    // Decided on known carbon only: an unknown clean region is not known to be cleaner.
    let cleaner = match (clean.grams, dirty.grams) {
        (Some(c), Some(d)) => Some(c < d),
        (Some(_), None) => Some(true),
        (None, _) => None,
    };
    if band == Band::Below || (ready >= pending.to_replicas && cleaner == Some(true)) {
        let ready_in = (band != Band::Below).then(|| clean.name.to_string());
        let why = ChangeWhy::RebalanceComplete { ready_in };
        return Pending::Step(step(next, now, obs, dirty, dirty.replicas - 1, why));
    }
    let waited = now - pending.started;
    if cleaner == Some(false) || waited >= policy.rebalance_ready_timeout_secs {
        let why = if cleaner == Some(false) {
            Revert::NoLongerCleaner {
                dirty: dirty.name.to_string(),
            }
        } else {
            Revert::TimedOut {
                waited_secs: waited,
                ready,
                want: pending.to_replicas,
            }
        };
        let why = ChangeWhy::RebalanceRevert(why);
        return Pending::Step(step(next, now, obs, clean, clean.replicas - 1, why));
    }
    let waiting = if ready < pending.to_replicas {
        HoldWhy::AwaitingReady {
            region: clean.name.to_string(),
            want: pending.to_replicas,
            ready,
        }
    } else {
        HoldWhy::AwaitingCarbon {
            clean: clean.name.to_string(),
            dirty: dirty.name.to_string(),
        }
    };
    next.pending_move = Some(pending);
    Pending::Step(waiting.into())
}

/// Starts a move when the cleanest region with room is cleaner than the dirtiest region above
/// its min by more than the margin, and no scale or rebalance step happened within COOLDOWN.
/// The regions are the ones the CPU rule would pick for a scale-up and a scale-down. With
/// REBALANCE_FORECAST on and a forecast for both, their mean forecast over the horizon must
/// differ by more than the margin too; otherwise the move is held, and the answer says so. A
/// region without a forecast is judged on its latest value alone, as with forecasts off.
pub(super) fn start<'o: 'r, 'r>(
    ranking: impl FnOnce() -> Cow<'r, [Ranked<'o>]>,
    obs: &'o Observation,
    next: &mut PolicyState,
    policy: &Policy,
    now: i64,
) -> Result<Decision, Option<Box<ForecastHeld>>> {
    let Some(margin) = policy.rebalance_margin else {
        return Err(None);
    };
    let quiet = |record: &Option<ActionRecord>| {
        record
            .as_ref()
            .is_none_or(|r| now - r.time >= policy.cooldown_secs)
    };
    if !quiet(&next.last_scale) || !quiet(&next.last_rebalance) {
        return Err(None);
    }
    let ranked = ranking();
    let ranked = ranked.as_ref();
    let (Some(clean), Some(dirty)) = (
        choose(ranked, policy, Direction::Up),
        choose(ranked, policy, Direction::Down),
    ) else {
        return Err(None);
    };
    let Some(clean_grams) = clean.grams else {
        return Err(None);
    };
    let gap = dirty.grams.map(|g| g - clean_grams);
    if clean.name == dirty.name || gap.is_some_and(|gap| gap <= margin) {
        return Err(None);
    }
    let forecast = policy.rebalance_forecast_secs.and_then(|horizon_secs| {
        Some(ForecastGap {
            gap: dirty.forecast? - clean.forecast?,
            horizon_secs,
        })
    });
    if let (Some(forecast), Some(gap)) = (forecast, gap) {
        if forecast.gap <= margin {
            return Err(Some(Box::new(ForecastHeld {
                clean: clean.name.to_string(),
                dirty: dirty.name.to_string(),
                gap,
                forecast,
            })));
        }
    }
    next.pending_move = Some(PendingMove {
        to: clean.name.to_string(),
        to_replicas: clean.replicas + 1,
        from: dirty.name.to_string(),
        from_replicas: dirty.replicas,
        started: now,
    });
    let why = ChangeWhy::RebalanceStart {
        dirty: dirty.name.to_string(),
        gap,
        clean_grams,
        forecast,
    };
    Ok(step(next, now, obs, clean, clean.replicas + 1, why))
}

fn step(
    next: &mut PolicyState,
    now: i64,
    obs: &Observation,
    region: &Ranked,
    to: i32,
    why: ChangeWhy,
) -> Decision {
    let change = Change::of(obs, region, Action::Rebalance, to, why);
    next.last_rebalance = Some(change.record(now));
    change.into()
}
