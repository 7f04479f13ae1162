//! The backtest's figures as data (for `-o json`) and as the tables people read. Every gram
//! carries its signal, period and counterfactual, so a number never travels without its basis.

use comfy_table::CellAlignment;
use serde::Serialize;

use super::carbon_csv::CarbonFormat;
use super::model::{ActionCounts, Triple};
use crate::render::table;

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
                    carbon: scale-up goes to the region with fewest replicas, scale-down takes \
                    from the one with most (ties by name), and it never rebalances"
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

pub fn text(r: &Report) -> String {
    let mut regions = table();
    regions.set_header(vec![
        "region",
        "zone",
        "mean gCO2eq/kWh",
        "replica-h policy",
        "replica-h carbon-blind",
        "replica-h bound",
    ]);
    for g in &r.regions {
        regions.add_row(vec![
            g.region.clone(),
            g.zone.clone(),
            format!("{:.0}", g.mean_carbon),
            format!("{:.1}", g.replica_hours.policy),
            format!("{:.1}", g.replica_hours.blind),
            format!("{:.1}", g.replica_hours.bound),
        ]);
    }
    right_align(&mut regions, 2..6);

    let mut summary = table();
    summary.set_header(vec![
        "",
        "carbonctl policy",
        "carbon-blind",
        "placement bound",
    ]);
    let e = r.emissions_kg;
    summary.add_row(vec![
        "emissions kgCO2eq".to_string(),
        format!("{:.3}", e.policy),
        format!("{:.3}", e.blind),
        format!("{:.3}", e.bound),
    ]);
    let t = r.total_replica_hours;
    summary.add_row(vec![
        "replica-hours".to_string(),
        format!("{:.1}", t.policy),
        format!("{:.1}", t.blind),
        format!("{:.1}", t.bound),
    ]);
    let u = r.under_provisioned_minutes;
    summary.add_row(vec![
        "under-provisioned minutes".to_string(),
        format!("{:.0}", u.policy),
        format!("{:.0}", u.blind),
        format!("{:.0}", u.bound),
    ]);
    summary.add_row(vec![
        "scaling actions per day".to_string(),
        format!("{:.1}", r.scaling_actions_per_day.policy),
        format!("{:.1}", r.scaling_actions_per_day.blind),
        "-".to_string(),
    ]);
    right_align(&mut summary, 1..4);

    let share = match r.share_captured {
        Some(s) => format!(
            "{:.1}% = (blind - policy) / (blind - bound) = {:.1} g / {:.1} g",
            s * 100.0,
            r.avoided_kg * 1000.0,
            r.achievable_kg * 1000.0
        ),
        None => "n/a: no placement could have done better than keeping regions even".to_string(),
    };
    format!(
        "backtest {} .. {} ({:.1} days, {} ticks of {})\n\
         signal: {}: {}\n\
         demand: {}; {} (mean {:.2}, peak {:.2} replica-equivalents)\n\
         power: {} W per replica\n\
         {regions}\n{summary}\n\
         share of achievable savings captured: {share}\n\
         carbon-blind: {}\n\
         placement bound: {}",
        r.period.from,
        r.period.to,
        r.period.days,
        r.period.ticks,
        r.period.interval,
        r.signal,
        r.signal_note,
        r.demand.source,
        r.demand.note,
        r.demand.mean_replicas,
        r.demand.peak_replicas,
        r.watts_per_replica,
        r.counterfactuals.blind,
        r.counterfactuals.bound,
    )
}

fn right_align(table: &mut comfy_table::Table, columns: std::ops::Range<usize>) {
    for col in columns {
        if let Some(c) = table.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
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
