//! Make-before-break carbon rebalancing, for when CPU sits inside the band and the grid mix
//! flips: step 1 adds a replica to the cleanest region; only when it is ready does step 2 take
//! one from the dirtiest. Capacity never drops below what it was, at most one step happens per
//! tick, and a move that can no longer finish well is completed, cancelled or reverted by these
//! rules:
//!
//! - someone changed either region's replicas since step 1: cancelled, nothing more is done;
//! - CPU above the band: cancelled, the new replica stays (demand wants it);
//! - CPU below the band: completed at once (removing from the dirtiest is what scale-down does);
//! - the new replica is not ready within REBALANCE_READY_TIMEOUT: reverted (-1 on the clean one);
//! - the order flipped back (the clean region is no longer cleaner): reverted;
//! - the dirty region reached its min meanwhile: cancelled, the new replica stays.

use serde::{Deserialize, Serialize};

use super::rank::{grams_text, Ranked};
use super::{Action, ActionRecord, Decision, Observation, Policy, PolicyState};
use crate::duration::format_secs;

/// Step 1 done, step 2 pending; kept in the state between ticks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingMove {
    /// The clean region that got a replica, and its replicas after step 1.
    pub to: String,
    pub to_replicas: i32,
    /// The dirty region that gives one up in step 2, and its replicas at step 1.
    pub from: String,
    pub from_replicas: i32,
    /// Unix seconds of step 1.
    pub started: i64,
}

/// Where CPU is relative to the band this tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Band {
    Above,
    Below,
    Inside,
}

/// Advances a pending move. Returns a decision when the move acts or waits this tick; None
/// when the move was cancelled (or there is none) and the ordinary rule decides.
pub(super) fn advance_pending(
    ranked: &[Ranked],
    obs: &Observation,
    next: &mut PolicyState,
    policy: &Policy,
    band: Band,
    now: i64,
) -> Option<Decision> {
    let pending = next.pending_move.clone()?;
    let find = |name: &str| ranked.iter().find(|r| r.name == name);
    let (Some(clean), Some(dirty)) = (find(&pending.to), find(&pending.from)) else {
        next.pending_move = None;
        return None;
    };
    if clean.replicas != pending.to_replicas || dirty.replicas != pending.from_replicas {
        next.pending_move = None;
        return None;
    }
    if band == Band::Above {
        next.pending_move = None;
        return None;
    }
    let dirty_min = policy.bounds(&dirty.name).min;
    let ready = obs
        .regions
        .iter()
        .find(|r| r.name == clean.name)
        .map_or(0, |r| r.ready);
    let cleaner = position(ranked, &clean.name) < position(ranked, &dirty.name);
    if band == Band::Below || (ready >= pending.to_replicas && cleaner) {
        next.pending_move = None;
        if dirty.replicas <= dirty_min {
            return None;
        }
        let why = if band == Band::Below {
            "CPU below the band".to_string()
        } else {
            format!("{}'s new replica is ready", clean.name)
        };
        return Some(step(
            next,
            now,
            dirty,
            dirty.replicas - 1,
            format!(
                "rebalance 2/2: {} {}->{}, {why}",
                dirty.name,
                dirty.replicas,
                dirty.replicas - 1
            ),
        ));
    }
    let waited = now - pending.started;
    if !cleaner || waited >= policy.rebalance_ready_timeout_secs {
        next.pending_move = None;
        let why = if !cleaner {
            format!("{} is no longer cleaner than {}", clean.name, dirty.name)
        } else {
            format!(
                "its new replica was not ready after {}",
                format_secs(waited)
            )
        };
        return Some(step(
            next,
            now,
            clean,
            clean.replicas - 1,
            format!(
                "rebalance reverted: {} {}->{}, {why}",
                clean.name,
                clean.replicas,
                clean.replicas - 1
            ),
        ));
    }
    Some(Decision::hold(format!(
        "hold: rebalance waiting for {} to have {} ready replicas ({ready} now)",
        clean.name, pending.to_replicas
    )))
}

/// Starts a move when the cleanest region with room is cleaner than the dirtiest region above
/// its min by more than the margin, and no scale or rebalance step happened within COOLDOWN.
pub(super) fn start(
    ranked: &[Ranked],
    next: &mut PolicyState,
    policy: &Policy,
    now: i64,
) -> Option<Decision> {
    let margin = policy.rebalance_margin?;
    let quiet = |record: &Option<ActionRecord>| {
        record
            .as_ref()
            .is_none_or(|r| now - r.time >= policy.cooldown_secs)
    };
    if !quiet(&next.last_scale) || !quiet(&next.last_rebalance) {
        return None;
    }
    let clean = ranked
        .iter()
        .find(|r| r.replicas < policy.bounds(&r.name).max)?;
    let dirty = ranked
        .iter()
        .rev()
        .find(|r| r.replicas > policy.bounds(&r.name).min)?;
    let clean_grams = clean.grams?;
    let gap = match dirty.grams {
        Some(g) => g - clean_grams,
        None => f64::INFINITY,
    };
    if clean.name == dirty.name || gap <= margin {
        return None;
    }
    let gap_text = if gap.is_finite() {
        format!("{gap:.0} g/kWh cleaner than {}", dirty.name)
    } else {
        format!(
            "{} at {}, {} has {}",
            clean.name,
            grams_text(Some(clean_grams)),
            dirty.name,
            grams_text(None)
        )
    };
    next.pending_move = Some(PendingMove {
        to: clean.name.clone(),
        to_replicas: clean.replicas + 1,
        from: dirty.name.clone(),
        from_replicas: dirty.replicas,
        started: now,
    });
    Some(step(
        next,
        now,
        clean,
        clean.replicas + 1,
        format!(
            "rebalance 1/2: {} {}->{}, {gap_text}",
            clean.name,
            clean.replicas,
            clean.replicas + 1
        ),
    ))
}

fn position(ranked: &[Ranked], name: &str) -> usize {
    ranked
        .iter()
        .position(|r| r.name == name)
        .unwrap_or(usize::MAX)
}

fn step(next: &mut PolicyState, now: i64, region: &Ranked, to: i32, reason: String) -> Decision {
    next.last_rebalance = Some(ActionRecord {
        time: now,
        action: Action::Rebalance,
        region: region.name.clone(),
        from: region.replicas,
        to,
    });
    Decision {
        action: Action::Rebalance,
        region: Some(region.name.clone()),
        from: Some(region.replicas),
        to: Some(to),
        reason,
    }
}
