//! `simulate`'s report: the regions it started from and each tick's decision.

use comfy_table::CellAlignment;
use serde::Serialize;

use super::table;
use crate::policy::Decision;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimRegion {
    pub region: String,
    pub zone: String,
    /// The carbon value the rule ranks by; None when unknown.
    pub carbon: Option<f64>,
    pub rank: usize,
    pub replicas: i32,
    pub final_replicas: i32,
    pub min: i32,
    pub max: i32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimTick {
    pub tick: u32,
    pub hold_up: u32,
    pub hold_down: u32,
    pub decision: Decision,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Simulation {
    /// "sample" or "cluster".
    pub source: String,
    pub source_note: String,
    pub cpu: f64,
    pub trigger: String,
    pub hold_cycles: u32,
    /// `gCO2eq/kWh`, or `index` for WattTime's 0-100 relative index.
    pub carbon_unit: String,
    pub regions: Vec<SimRegion>,
    pub ticks: Vec<SimTick>,
}

pub fn simulation_table(sim: &Simulation) -> String {
    let mut table = table();
    table.set_header(vec![
        "region",
        "zone",
        super::number::carbon_header(&sim.carbon_unit),
        "rank",
        "replicas",
        "min/max",
    ]);
    for r in &sim.regions {
        let replicas = if r.final_replicas == r.replicas {
            r.replicas.to_string()
        } else {
            format!("{} -> {}", r.replicas, r.final_replicas)
        };
        table.add_row(vec![
            r.region.clone(),
            r.zone.clone(),
            r.carbon
                .map_or("unknown".to_string(), |g| format!("{g:.0}")),
            r.rank.to_string(),
            replicas,
            format!("{}/{}", r.min, r.max),
        ]);
    }
    for col in [2, 3] {
        if let Some(c) = table.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut out = format!(
        "{}\nsimulated {} CPU {}% for {} tick(s), hold cycles {}\n{table}\n",
        sim.source_note,
        sim.trigger,
        super::pct(sim.cpu),
        sim.ticks.len(),
        sim.hold_cycles
    );
    for t in &sim.ticks {
        out.push_str(&format!("tick {}: {}\n", t.tick, t.decision));
    }
    out.trim_end().to_string()
}
