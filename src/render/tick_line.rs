//! The structured fields of a tick's log line: what it decided, on which CPU and ranking, with
//! which hold counters. The tick adds its id, namespace, outcome and durations.

use serde::Serialize;
use serde_json::{json, Value};

use super::number::round1;
use crate::policy::{CarbonUnit, CpuObservation, Decision, Ranked};

/// CPU as the log and `status -o json` show it.
pub fn cpu_json(cpu: &CpuObservation) -> Value {
    match cpu {
        CpuObservation::Known {
            average,
            max,
            nodes,
            missing,
        } => {
            json!({"average": round1(*average), "max": round1(*max), "nodes": nodes, "nodesWithoutMetrics": missing})
        }
        CpuObservation::Missing { reason } => json!({"missing": reason}),
    }
}

/// Regions in the order the rule ranked them, with their zone (which names the source), the
/// carbon value it used (`gramsPerKwh`, or WattTime's `index`), that value's signal when the
/// source gave one, and its mean forecast when REBALANCE_FORECAST fetched one.
pub fn ranking_json(
    ranked: &[Ranked],
    unit: CarbonUnit,
    zone: impl Fn(&str) -> Option<String>,
    signal: impl Fn(&str) -> Option<String>,
) -> Value {
    ranked
        .iter()
        .map(|r| {
            let key = match unit {
                CarbonUnit::GramsPerKwh => "gramsPerKwh",
                CarbonUnit::Index => "index",
            };
            let mut item = json!({"region": r.name, "zone": zone(r.name)});
            item[key] = json!(r.grams);
            if let Some(signal) = r.grams.and(signal(r.name)) {
                item["signal"] = json!(signal);
            }
            if let Some(forecast) = r.forecast {
                item["forecastGramsPerKwh"] = json!(round1(forecast));
            }
            item
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TickFields {
    pub decision: Decision,
    pub cpu: Value,
    pub hold_up: u32,
    pub hold_down: u32,
    pub carbon: Value,
    /// What became of the previous tick's change, when it was still to be confirmed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// The flag of the changed region's zone, for the console view.
    #[serde(skip)]
    pub flag: Option<String>,
}

/// How long the tick took to observe, and in all.
#[derive(Debug, Clone, Copy)]
pub struct Durations {
    pub observe_ms: u128,
    pub total_ms: u128,
}

impl TickFields {
    /// The whole line's fields for one outcome (`applied`, `held`, `lost_claim`, ...).
    pub fn line(&self, tick_id: &str, namespace: &str, outcome: &str, took: Durations) -> Value {
        let mut fields = serde_json::to_value(self).expect("tick fields serialise");
        let object = fields.as_object_mut().expect("an object");
        object.insert("tickId".into(), json!(tick_id));
        object.insert("namespace".into(), json!(namespace));
        object.insert("outcome".into(), json!(outcome));
        object.insert(
            "durationsMs".into(),
            json!({"observe": took.observe_ms, "total": took.total_ms}),
        );
        fields
    }
}
