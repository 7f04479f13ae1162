use std::cmp::Ordering;

use super::{Observation, Policy};

/// A region in carbon order, with the carbon value the rule may use (None: unknown or too old).
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub name: String,
    pub replicas: i32,
    pub grams: Option<f64>,
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

/// "43 gCO2eq/kWh", or "unknown carbon" when the rule has no usable value.
pub(crate) fn grams_text(grams: Option<f64>) -> String {
    match grams {
        Some(g) => format!("{g:.0} gCO2eq/kWh"),
        None => "unknown carbon".to_string(),
    }
}
