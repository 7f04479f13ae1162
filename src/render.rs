//! What users see: tables and JSON, as pure functions from data to text (snapshot-tested).

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use serde::Serialize;

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
    pub regions: Vec<SimRegion>,
    pub ticks: Vec<SimTick>,
}

/// The house style of every table carbonctl prints: fixed width, no colour, so snapshots hold.
pub(crate) fn table() -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .force_no_tty();
    table
}

pub fn simulation_table(sim: &Simulation) -> String {
    let mut table = table();
    table.set_header(vec![
        "region",
        "zone",
        "carbon gCO2eq/kWh",
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
        crate::policy::pct(sim.cpu),
        sim.ticks.len(),
        sim.hold_cycles
    );
    for t in &sim.ticks {
        out.push_str(&format!("tick {}: {}\n", t.tick, t.decision.reason));
    }
    out.trim_end().to_string()
}

/// Serialises any report for `-o json`.
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("report serialises")
}

/// `-o yaml`: block YAML from the report's JSON form (strings are double-quoted JSON strings,
/// which YAML reads as they are).
pub fn to_yaml<T: Serialize>(value: &T) -> String {
    let value = serde_json::to_value(value).expect("report serialises");
    let mut out = String::new();
    yaml_value(&value, 0, &mut out);
    out.trim_end().to_string()
}

fn yaml_scalar(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => Some("null".into()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) => Some(serde_json::Value::String(s.clone()).to_string()),
        serde_json::Value::Array(a) if a.is_empty() => Some("[]".into()),
        serde_json::Value::Object(o) if o.is_empty() => Some("{}".into()),
        _ => None,
    }
}

fn yaml_value(value: &serde_json::Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match yaml_scalar(v) {
                    Some(s) => out.push_str(&format!("{pad}{k}: {s}\n")),
                    None => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        yaml_value(v, indent + 2, out);
                    }
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                match yaml_scalar(item) {
                    Some(s) => out.push_str(&format!("{pad}- {s}\n")),
                    None => {
                        let mut inner = String::new();
                        yaml_value(item, indent + 2, &mut inner);
                        out.push_str(&format!("{pad}- {}", inner.trim_start()));
                    }
                }
            }
        }
        scalar => out.push_str(&format!(
            "{pad}{}\n",
            yaml_scalar(scalar).unwrap_or_default()
        )),
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionStatus {
    pub region: String,
    pub zone: String,
    pub grams_per_kwh: Option<f64>,
    /// Whether the rule may use the value (known and not older than CARBON_MAX_STALENESS).
    pub usable: bool,
    pub carbon_datetime: Option<String>,
    pub carbon_age_secs: Option<i64>,
    pub emission_factor_type: Option<String>,
    pub carbon_error: Option<String>,
    pub rank: Option<usize>,
    pub deployment: String,
    pub replicas: Option<i32>,
    pub ready: Option<i32>,
    pub min: i32,
    pub max: i32,
    pub nodes: usize,
    pub cpu: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionView {
    pub time: String,
    pub ago_secs: i64,
    pub action: crate::policy::Action,
    pub region: String,
    pub from: i32,
    pub to: i32,
}

impl ActionView {
    pub fn new(record: &crate::policy::ActionRecord, now: i64) -> Self {
        ActionView {
            time: crate::clock::to_rfc3339(record.time),
            ago_secs: now - record.time,
            action: record.action,
            region: record.region.clone(),
            from: record.from,
            to: record.to,
        }
    }

    fn sentence(&self) -> String {
        format!(
            "{} {} {}->{} {} ago ({})",
            self.action.label().replace('_', " "),
            self.region,
            self.from,
            self.to,
            crate::duration::format_secs(self.ago_secs),
            self.time
        )
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub namespace: String,
    pub state_configmap: String,
    pub regions: Vec<RegionStatus>,
    pub cpu: serde_json::Value,
    pub trigger: String,
    pub scale_up_threshold: f64,
    pub scale_down_threshold: f64,
    pub hold_up: u32,
    pub hold_down: u32,
    pub hold_cycles: u32,
    pub cooldown_remaining_secs: Option<i64>,
    pub last_scale: Option<ActionView>,
    pub last_heal: Option<ActionView>,
    pub last_rebalance: Option<ActionView>,
    /// A rebalancing move waiting for its second step.
    pub pending_move: Option<crate::policy::PendingMove>,
    pub last_failure: Option<String>,
    pub carbon_cache_ttl_secs: i64,
    /// What a tick would decide on what status sees now.
    pub next_tick: Decision,
}

pub fn status_table(report: &StatusReport, console: bool) -> String {
    use crate::duration::format_secs;
    let mut table = table();
    table.set_header(vec![
        "region",
        "zone",
        "carbon gCO2eq/kWh",
        "rank",
        "replicas ready/desired",
        "min/max",
        "nodes",
        "CPU %",
    ]);
    for r in &report.regions {
        let name = if console {
            format!("{} {}", crate::logging::flag(&r.zone), r.region)
        } else {
            r.region.clone()
        };
        let carbon = match (r.grams_per_kwh, r.carbon_age_secs) {
            (Some(g), Some(age)) => {
                let stale = if r.usable { "" } else { ", too old" };
                format!("{g:.0} ({} ago{stale})", format_secs(age))
            }
            _ => "unknown".into(),
        };
        let replicas = match (r.ready, r.replicas) {
            (Some(ready), Some(desired)) => format!("{ready}/{desired}"),
            _ => format!("missing: {}", r.deployment),
        };
        table.add_row(vec![
            name,
            r.zone.clone(),
            carbon,
            r.rank.map_or("-".into(), |x| x.to_string()),
            replicas,
            format!("{}/{}", r.min, r.max),
            r.nodes.to_string(),
            r.cpu.map_or("-".into(), |c| format!("{c:.1}")),
        ]);
    }
    for col in [3, 4, 6, 7] {
        if let Some(c) = table.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let cpu = match (
        &report.cpu["average"],
        &report.cpu["max"],
        &report.cpu["missing"],
    ) {
        (serde_json::Value::Number(avg), serde_json::Value::Number(max), _) => {
            format!("avg {avg}%, max {max}% ({} trigger)", report.trigger)
        }
        (_, _, serde_json::Value::String(reason)) => format!("unknown: {reason}"),
        _ => "unknown".into(),
    };
    let mut lines = vec![
        format!(
            "namespace {}, state ConfigMap {}",
            report.namespace, report.state_configmap
        ),
        table.to_string(),
        format!(
            "cluster CPU: {cpu}; scale up above {}%, down below {}%",
            crate::policy::pct(report.scale_up_threshold),
            crate::policy::pct(report.scale_down_threshold)
        ),
        format!(
            "holds: up {}/{}, down {}/{}",
            report.hold_up, report.hold_cycles, report.hold_down, report.hold_cycles
        ),
        format!(
            "cooldown: {}",
            report
                .cooldown_remaining_secs
                .map_or("none".into(), |s| format!("{} left", format_secs(s)))
        ),
        format!(
            "last scale: {}",
            report
                .last_scale
                .as_ref()
                .map_or("none".into(), ActionView::sentence)
        ),
        format!(
            "last heal: {}",
            report
                .last_heal
                .as_ref()
                .map_or("none".into(), ActionView::sentence)
        ),
    ];
    if let Some(view) = &report.last_rebalance {
        lines.push(format!("last rebalance: {}", view.sentence()));
    }
    if let Some(m) = &report.pending_move {
        lines.push(format!(
            "pending rebalance: {} -1 once {} has {} ready replicas (started {})",
            m.from,
            m.to,
            m.to_replicas,
            crate::clock::to_rfc3339(m.started)
        ));
    }
    if let Some(failure) = &report.last_failure {
        lines.push(format!("last failure: {failure}"));
    }
    let errors: Vec<String> = report
        .regions
        .iter()
        .filter_map(|r| r.carbon_error.clone())
        .collect();
    lines.push(format!(
        "carbon cache: refreshed every {}{}",
        format_secs(report.carbon_cache_ttl_secs),
        if errors.is_empty() {
            String::new()
        } else {
            format!("; last errors: {}", errors.join("; "))
        }
    ));
    lines.push(format!("next tick would: {}", report.next_tick.reason));
    lines.join("\n")
}
