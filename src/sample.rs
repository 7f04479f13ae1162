//! The built-in sample cluster `simulate` uses when no cluster is configured, so a newcomer sees
//! the rule work with no cluster and no API token. Same numbers as `kube-emulator --seed demo`.

use crate::carbon::source::{self, StaticSource};
use crate::config::Region;

pub const SAMPLE_REPLICAS: i32 = 2;

/// Sample intensity (gCO2eq/kWh) for the seed's zones, and a static constant's own value;
/// other zones have no sample value.
pub fn sample_carbon(zone: &str) -> Option<f64> {
    match zone {
        "DK" => Some(142.0),
        "FR" => Some(38.0),
        "LV" => Some(265.0),
        _ => match StaticSource::parse(zone.strip_prefix(source::STATIC_PREFIX)?) {
            Ok(StaticSource::Grams(grams)) => Some(grams),
            _ => None,
        },
    }
}

/// (region, replicas, carbon) for every configured region.
pub fn sample_regions(regions: &[Region]) -> Vec<(String, i32, Option<f64>)> {
    regions
        .iter()
        .map(|r| (r.name.clone(), SAMPLE_REPLICAS, sample_carbon(&r.zone)))
        .collect()
}
