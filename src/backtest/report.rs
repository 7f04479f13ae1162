//! The backtest's figures as data (for `-o json`) and as the tables people read. Every gram
//! carries its signal, period and counterfactual, so a number never travels without its basis.

use serde::Serialize;

use super::carbon_csv::CarbonFormat;
use super::model::{ActionCounts, Triple};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub from: String,
    pub to: String,
    pub days: f64,
    pub interval: String,
    pub ticks: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionReport {
    pub region: String,
    pub zone: String,
    pub carbon_file: String,
    pub carbon_format: CarbonFormat,
    pub mean_carbon: f64,
    pub replica_hours: Triple,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DemandReport {
    pub source: String,
    /// How the source became replica-equivalents, and whether it was repeated.
    pub note: String,
    pub mean_replicas: f64,
    pub peak_replicas: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PerDay {
    pub policy: f64,
    pub blind: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Actions {
    pub policy: ActionCounts,
    pub blind: ActionCounts,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub period: Period,
    /// lifecycle or direct.
    pub signal: String,
    pub signal_note: String,
    pub regions: Vec<RegionReport>,
    /// Summed before rounding, so the three placements show the same total they share.
    pub total_replica_hours: Triple,
    pub demand: DemandReport,
    pub watts_per_replica: f64,
    pub emissions_kg: Triple,
    /// blind - policy: what carbonctl avoided against a scaler that keeps regions even.
    pub avoided_kg: f64,
    /// blind - bound: what any placement of the same replicas could have avoided.
    pub achievable_kg: f64,
    /// avoided / achievable; absent when nothing was achievable (one region, or equal grids).
    pub share_captured: Option<f64>,
    pub under_provisioned_minutes: Triple,
    pub scaling_actions_per_day: PerDay,
    pub actions: Actions,
    pub counterfactuals: Counterfactuals,
    /// With `--scale-target hpa-min`: floors mode next to replicas mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floors: Option<FloorsReport>,
    /// With REBALANCE_FORECAST on: the horizon and how the forecasts were made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast: Option<ForecastReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ForecastReport {
    pub horizon: String,
    pub model: super::forecast::Forecasting,
}

/// One scale target's figures against its own counterfactual: the carbon-blind rule for
/// `replicas`, the HPAs alone with fixed floors for `hpa-min`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModeFigures {
    pub emissions_kg: f64,
    pub counterfactual_kg: f64,
    /// counterfactual - emissions.
    pub avoided_kg: f64,
    /// counterfactual - bound.
    pub achievable_kg: f64,
    pub share_captured: Option<f64>,
    pub under_provisioned_minutes: f64,
    pub counterfactual_under_provisioned_minutes: f64,
    pub replica_hours: f64,
    pub counterfactual_replica_hours: f64,
    /// carbonctl's writes (of replicas, or of floors) per day.
    pub actions_per_day: f64,
}

/// The HPA every region runs in floors mode, as modelled.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaReport {
    pub target_cpu: f64,
    pub tolerance: f64,
    pub downscale_stabilization: String,
    /// `region=N`, in configured order.
    pub max_replicas: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FloorsReport {
    pub hpa: HpaReport,
    pub model: String,
    pub counterfactual: String,
    pub bound: String,
    pub replicas: ModeFigures,
    pub hpa_min: ModeFigures,
    /// carbonctl's floor changes, by kind.
    pub floor_actions: ActionCounts,
    /// HPA syncs that changed a region's replicas, per day.
    pub hpa_rescales_per_day: PerDay,
}

impl FloorsReport {
    pub const MODEL: &'static str = "each region's HPA syncs once per tick on the CPU of a \
        capacity-weighted share of demand (every region at total demand / total replicas): \
        ceil(replicas x CPU / target) outside the tolerance band, a scale-down no lower than the \
        highest recommendation within the stabilization window, a scale-up at most double or 4 \
        more, clamped to [floor, HPA max]; before the HPAs sync, carbonctl's rule moves at most \
        one floor by one, within [region min (at least 1), the smaller of region max and HPA \
        max]; a replica added serves from the next tick";
    pub const COUNTERFACTUAL: &'static str = "the same HPAs with every floor fixed at its \
        lowest (the region min, at least 1) and no carbonctl; it treats every region alike, so \
        no region name or order enters it";
    pub const BOUND: &'static str = "each interval, the counterfactual's total replicas with \
        floors and HPA maxes respected and all the excess in that interval's cleanest region";
}

#[derive(Debug, Clone, Serialize)]
pub struct Counterfactuals {
    pub blind: String,
    pub bound: String,
}

impl Counterfactuals {
    pub fn standard() -> Self {
        Counterfactuals {
            blind: "the same decide() with the same thresholds, holds and cooldown, blind to \
                    carbon and never rebalancing; each interval its total replicas spread \
                    evenly over the regions as far as their bounds allow (fractions count), \
                    so no region name or order enters it"
                .to_string(),
            bound: "each interval, the policy's total replicas with floors and ceilings \
                    respected and all the excess in that interval's cleanest region"
                .to_string(),
        }
    }
}

/// Share of the achievable savings the policy captured; None when there was nothing to gain.
pub fn share_captured(grams: Triple) -> Option<f64> {
    let achievable = grams.blind - grams.bound;
    (achievable > 1e-9).then(|| (grams.blind - grams.policy) / achievable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_is_the_fraction_of_the_gap_closed() {
        let t = |policy, blind, bound| Triple {
            policy,
            blind,
            bound,
        };
        assert_eq!(share_captured(t(80.0, 100.0, 60.0)), Some(0.5));
        assert_eq!(share_captured(t(60.0, 100.0, 60.0)), Some(1.0));
        assert_eq!(share_captured(t(100.0, 100.0, 60.0)), Some(0.0));
        assert_eq!(share_captured(t(100.0, 100.0, 100.0)), None);
    }
}
