//! Healing: a region outside its bounds is moved back one replica per tick, whatever holds and
//! cooldown say, because bounds are a promise about availability and cost, not a carbon choice.

use super::decision::{Action, Change, ChangeWhy};
use super::rank::Ranked;
use super::{Observation, Policy};

/// The first healing step due, if any region is outside its bounds. A region below its floor
/// comes first (availability before cost), the cleanest of those first; then a region above
/// its ceiling, the dirtiest first.
pub(super) fn healing_step(
    obs: &Observation,
    ranked: &[Ranked],
    policy: &Policy,
) -> Option<Change> {
    let below = ranked
        .iter()
        .find(|r| r.replicas < policy.bounds(r.name).min);
    if let Some(r) = below {
        let bound = policy.bounds(r.name).min;
        return Some(step(obs, r, r.replicas + 1, bound));
    }
    let r = ranked
        .iter()
        .rev()
        .find(|r| r.replicas > policy.bounds(r.name).max)?;
    let bound = policy.bounds(r.name).max;
    Some(step(obs, r, r.replicas - 1, bound))
}

fn step(obs: &Observation, r: &Ranked, to: i32, bound: i32) -> Change {
    let why = ChangeWhy::Heal {
        bound,
        grams: r.grams,
    };
    Change::of(obs, r, Action::Heal, to, why)
}
