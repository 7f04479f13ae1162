//! Ranking regions by carbon and choosing the region a change applies to: the one place both
//! the CPU rule and rebalancing pick regions, so they can never disagree about "cleanest".

use std::cmp::Ordering;

use super::{Observation, Policy, Unhealthy};

/// A region in carbon order, with the carbon value the rule may use (None: unknown or too old).
/// It borrows the region's name from the observation: ranking copies no text.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked<'a> {
    pub name: &'a str,
    pub replicas: i32,
    pub grams: Option<f64>,
    /// The mean forecast over REBALANCE_FORECAST, usable under the same staleness as `grams`
    /// and only until the hours it covers have passed.
    pub forecast: Option<f64>,
    /// Why the region cannot take another replica now, if it cannot.
    pub unhealthy: Option<Unhealthy>,
}

/// Regions cleanest first: by usable carbon intensity, ties by name; unknown carbon after
/// every known value (so the rule never prefers a region it knows nothing about).
pub fn rank<'a>(obs: &'a Observation, policy: &Policy, now: i64) -> Vec<Ranked<'a>> {
    let mut ranked: Vec<Ranked> = obs
        .regions
        .iter()
        .map(|r| {
            let usable = r
                .carbon
                .as_ref()
                .filter(|c| now - c.fetched_at <= policy.carbon_max_staleness_secs);
            Ranked {
                name: &r.name,
                replicas: r.replicas,
                grams: usable.map(|c| c.grams_per_kwh),
                // A forecast whose window has passed (its refreshes failed since) says nothing.
                forecast: usable
                    .filter(|c| {
                        policy.rebalance_forecast_secs.is_some_and(|horizon| {
                            now < c.fetched_at - c.fetched_at.rem_euclid(3600) + horizon
                        })
                    })
                    .and_then(|c| c.forecast_grams),
                unhealthy: r.unhealthy(),
            }
        })
        .collect();
    ranked.sort_by(|a, b| cmp_carbon(a.grams, b.grams).then_with(|| a.name.cmp(b.name)));
    ranked
}

fn cmp_carbon(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Which way a change moves replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    pub fn delta(self) -> i32 {
        match self {
            Direction::Up => 1,
            Direction::Down => -1,
        }
    }
}

/// Whether a region of `replicas` has room to take (up) or give (down) a replica: below its
/// max and `healthy`, or above its min.
pub fn has_room(
    policy: &Policy,
    direction: Direction,
    name: &str,
    replicas: i32,
    healthy: bool,
) -> bool {
    let bounds = policy.bounds(name);
    match direction {
        Direction::Up => replicas < bounds.max && healthy,
        Direction::Down => replicas > bounds.min,
    }
}

fn ranked_has_room(r: &Ranked, policy: &Policy, direction: Direction) -> bool {
    has_room(policy, direction, r.name, r.replicas, r.unhealthy.is_none())
}

/// The regions in the order a change prefers them: cleanest first to grow, dirtiest first to
/// shrink.
fn preferred<'r, 'a>(
    ranked: &'r [Ranked<'a>],
    direction: Direction,
) -> impl Iterator<Item = &'r Ranked<'a>> {
    let n = ranked.len();
    (0..n).map(move |i| match direction {
        Direction::Up => &ranked[i],
        Direction::Down => &ranked[n - 1 - i],
    })
}

/// The cleanest region that can grow (below its max and healthy) or the dirtiest with room to
/// shrink (above its min).
pub fn choose<'r, 'a>(
    ranked: &'r [Ranked<'a>],
    policy: &Policy,
    direction: Direction,
) -> Option<&'r Ranked<'a>> {
    preferred(ranked, direction).find(|r| ranked_has_room(r, policy, direction))
}

/// The preferred regions passed over for lack of room before the chosen one (all of them when
/// none has room).
pub fn passed_over<'r, 'a, 'p>(
    ranked: &'r [Ranked<'a>],
    policy: &'p Policy,
    direction: Direction,
) -> impl Iterator<Item = &'r Ranked<'a>> + use<'r, 'a, 'p> {
    preferred(ranked, direction).take_while(move |r| !ranked_has_room(r, policy, direction))
}
