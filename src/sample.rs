//! The built-in sample cluster `simulate` uses when no cluster is configured, so a newcomer sees
//! the rule work with no cluster and no API token. Same numbers as `kube-emulator --seed demo`.

use crate::carbon::source::{Provider, StaticSource};
use crate::config::Region;

pub const SAMPLE_REPLICAS: i32 = 2;

/// Sample intensity (gCO2eq/kWh) of a region: the seed's values for its zones, a static
/// constant's own value; other sources have no sample value.
fn sample_carbon(region: &Region) -> Option<f64> {
    match (region.provider(), region.zone.as_str()) {
        (Provider::Static(StaticSource::Grams(grams)), _) => Some(grams),
        (Provider::ElectricityMaps, "DK") => Some(142.0),
        (Provider::ElectricityMaps, "FR") => Some(38.0),
        (Provider::ElectricityMaps, "LV") => Some(265.0),
        _ => None,
    }
}

/// (region, replicas, carbon) for every configured region.
pub fn sample_regions(regions: &[Region]) -> Vec<(String, i32, Option<f64>)> {
    regions
        .iter()
        .map(|r| (r.name.clone(), SAMPLE_REPLICAS, sample_carbon(r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_values_come_from_the_seed_zones_and_static_constants() {
        let regions = crate::config::parse_regions("a=DK,b=static:7,c=ukci:13,d=DE").unwrap();
        let carbon: Vec<Option<f64>> = sample_regions(&regions).into_iter().map(|r| r.2).collect();
        assert_eq!(carbon, [Some(142.0), Some(7.0), None, None]);
    }
}
