//! Ranking regions by carbon and choosing the region a change applies to: the one place both
//! the CPU rule and rebalancing pick regions, so they can never disagree about "cleanest".

use std::cmp::Ordering;

use super::{Observation, Policy, Unhealthy};

/// A region in carbon order, with the carbon value the rule may use (None: unknown or too old).
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub name: String,
    pub replicas: i32,
    pub grams: Option<f64>,
    /// Why the region cannot take another replica now, if it cannot.
    pub unhealthy: Option<Unhealthy>,
}

/// Regions cleanest first: by usable carbon intensity, ties by name; unknown carbon after
/// every known value (so the rule never prefers a region it knows nothing about).
pub fn rank(obs: &Observation, policy: &Policy, now: i64) -> Vec<Ranked> {
    let mut ranked: Vec<Ranked> = obs
        .regions
        .iter()
        .map(|r| Ranked {
            name: r.name.clone(),
            replicas: r.replicas,
            grams: r
                .carbon
                .as_ref()
                .filter(|c| now - c.fetched_at <= policy.carbon_max_staleness_secs)
                .map(|c| c.grams_per_kwh),
            unhealthy: r.unhealthy(),
        })
        .collect();
    ranked.sort_by(|a, b| cmp_carbon(a.grams, b.grams).then_with(|| a.name.cmp(&b.name)));
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

/// The cleanest region that can grow (below its max and healthy) or the dirtiest with room to
/// shrink (above its min), and the preferred regions passed over.
pub fn choose<'a>(
    ranked: &'a [Ranked],
    policy: &Policy,
    direction: Direction,
) -> Option<(&'a Ranked, Vec<&'a Ranked>)> {
    let has_room = |r: &&Ranked| match direction {
        Direction::Up => r.replicas < policy.bounds(&r.name).max && r.unhealthy.is_none(),
        Direction::Down => r.replicas > policy.bounds(&r.name).min,
    };
    let ordered: Vec<&Ranked> = match direction {
        Direction::Up => ranked.iter().collect(),
        Direction::Down => ranked.iter().rev().collect(),
    };
    let pos = ordered.iter().position(has_room)?;
    Some((ordered[pos], ordered[..pos].to_vec()))
}
