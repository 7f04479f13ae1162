//! `status`'s report: per-region table, then the rule's state in sentences.

use comfy_table::CellAlignment;
use serde::Serialize;

use super::table;
use crate::policy::Decision;

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
    /// With REBALANCE_FORECAST: the mean forecast over `forecast_hours` fetched with the value,
    /// or why the provider gave none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_grams_per_kwh: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_hours: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_error: Option<String>,
    pub rank: Option<usize>,
    pub deployment: String,
    pub replicas: Option<i32>,
    pub ready: Option<i32>,
    pub min: i32,
    pub max: i32,
    pub nodes: usize,
    pub cpu: Option<f64>,
    /// Why the region is not given another replica now (nodes not ready, replicas not
    /// available); None when it can grow.
    pub not_growing: Option<String>,
    /// The kubeconfig context of the region's own cluster (REGION_CONTEXTS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Why the region's own cluster was not observed, when it did not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unobserved: Option<String>,
    /// The HPA (or KEDA ScaledObject) whose target the region's Deployment is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<AutoscalerStatus>,
    /// Why the rule leaves the region alone (an autoscaler owns its replicas, or it has no
    /// floor to move).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_alone: Option<String>,
}

/// A region's autoscaler as `status` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoscalerStatus {
    /// "HPA web" or "KEDA ScaledObject web (HPA keda-hpa-web)".
    pub name: String,
    /// The floor carbonctl moves with SCALE_TARGET=hpa-min (the ScaledObject's for KEDA).
    pub floor: Option<i32>,
    pub hpa_min: i32,
    pub hpa_max: i32,
    pub current_replicas: Option<i32>,
    pub desired_replicas: Option<i32>,
    /// "AbleToScale=True (ReadyForNewScale)", ...
    pub conditions: Vec<String>,
    /// Whether carbonctl steers its floor (SCALE_TARGET=hpa-min).
    pub steered: bool,
}

impl AutoscalerStatus {
    pub fn new(a: &crate::k8s::Autoscaler, steered: bool) -> Self {
        AutoscalerStatus {
            name: a.describe(),
            floor: a.floor(),
            hpa_min: a.min,
            hpa_max: a.max,
            current_replicas: a.current,
            desired_replicas: a.desired,
            conditions: a
                .conditions
                .iter()
                .map(|c| match &c.reason {
                    Some(reason) => format!("{}={} ({reason})", c.type_, c.status),
                    None => format!("{}={}", c.type_, c.status),
                })
                .collect(),
            steered,
        }
    }

    /// The table cell: "HPA web: floor 2, max 6".
    fn cell(&self) -> String {
        let floor = self.floor.map_or("?".into(), |f| f.to_string());
        format!("{}: floor {floor}, max {}", self.name, self.hpa_max)
    }
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
            super::words(self.action),
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
    /// SCALE_TARGET: "replicas" or "hpa-min".
    pub scale_target: String,
    /// What the regions' carbon values are in: `gCO2eq/kWh`, or `index` for WattTime's 0-100
    /// relative index (then no ledger is kept).
    pub carbon_unit: String,
    /// Why the HPAs could not be read, when they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscalers_error: Option<String>,
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
    /// Grams emitted and avoided by the ticks so far; None until a tick has run.
    pub ledger: Option<LedgerView>,
    /// What a tick would decide on what status sees now.
    pub next_tick: Decision,
}

/// The live ledger in grams, with what they rest on.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerView {
    pub since: String,
    pub emitted_grams: f64,
    /// The same total replicas kept even across the regions.
    pub counterfactual_grams: f64,
    pub avoided_grams: f64,
    pub watts_per_replica: f64,
    /// ElectricityMaps emission factor types the intensities were ("lifecycle", "direct").
    pub signals: Vec<String>,
    /// Replica-hours in regions with unknown carbon, counted on neither side.
    pub unknown_replica_hours: f64,
}

impl LedgerView {
    pub fn new(ledger: &crate::ledger::Ledger, watts: f64) -> Self {
        let emitted = ledger.emitted_grams(watts);
        let blind = ledger.blind_grams(watts);
        LedgerView {
            since: crate::clock::to_rfc3339(ledger.since),
            emitted_grams: emitted,
            counterfactual_grams: blind,
            avoided_grams: blind - emitted,
            watts_per_replica: watts,
            signals: ledger.signals.clone(),
            unknown_replica_hours: ledger.unknown_replica_seconds / 3600.0,
        }
    }

    fn sentence(&self) -> String {
        let signal = if self.signals.is_empty() {
            "unknown".to_string()
        } else {
            self.signals.join("+")
        };
        let unknown = if self.unknown_replica_hours > 0.0 {
            format!(
                "; {:.2} replica-hours with unknown carbon not counted",
                self.unknown_replica_hours
            )
        } else {
            String::new()
        };
        format!(
            "since {}: emitted {} g CO2eq, avoided {} g against the same replicas kept even across regions ({signal} intensity, {} W per replica){unknown}",
            self.since,
            super::number::grams2(self.emitted_grams),
            super::number::grams2(self.avoided_grams),
            self.watts_per_replica
        )
    }
}

/// The status as text; `wide` (`-o wide`) adds, per region, its Deployment, the hour the carbon
/// value describes and its signal, its mean forecast (when REBALANCE_FORECAST fetched one), why
/// the region cannot grow and the last carbon fetch error.
pub fn status_table(report: &StatusReport, console: bool, wide: bool) -> String {
    use crate::duration::format_secs;
    let mut table = table();
    // A fleet shows each region's cluster; one cluster has no such column.
    let fleet = report.regions.iter().any(|r| r.context.is_some());
    // Regions with an HPA show it; without any, the column is left out.
    let autoscaled = report.regions.iter().any(|r| r.autoscaler.is_some());
    let mut header = vec!["region", "zone"];
    if fleet {
        header.push("cluster");
    }
    header.extend([
        super::number::carbon_header(&report.carbon_unit),
        "rank",
        "replicas ready/desired",
        "min/max",
        "nodes",
        "CPU %",
    ]);
    if autoscaled {
        header.push("autoscaler");
    }
    let forecasts = wide && report.regions.iter().any(|r| r.forecast_hours.is_some());
    if wide {
        header.extend(["deployment", "carbon hour", "signal"]);
        if forecasts {
            header.push("forecast gCO2eq/kWh");
        }
        header.extend(["cannot grow", "carbon error"]);
    }
    table.set_header(header);
    for r in &report.regions {
        let name = if console {
            format!("{} {}", super::flag(&r.zone), r.region)
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
        let replicas = match (r.ready, r.replicas, &r.unobserved) {
            (_, _, Some(_)) => "no answer".to_string(),
            (Some(ready), Some(desired), None) => format!("{ready}/{desired}"),
            _ => format!("missing: {}", r.deployment),
        };
        let mut row = vec![name, r.zone.clone()];
        if fleet {
            row.push(r.context.clone().unwrap_or_default());
        }
        row.extend([
            carbon,
            r.rank.map_or("-".into(), |x| x.to_string()),
            replicas,
            format!("{}/{}", r.min, r.max),
            r.nodes.to_string(),
            r.cpu.map_or("-".into(), |c| format!("{c:.1}")),
        ]);
        if autoscaled {
            row.push(
                r.autoscaler
                    .as_ref()
                    .map_or("-".into(), AutoscalerStatus::cell),
            );
        }
        if wide {
            let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            row.extend([
                r.deployment.clone(),
                or_dash(&r.carbon_datetime),
                or_dash(&r.emission_factor_type),
            ]);
            if forecasts {
                row.push(match (r.forecast_grams_per_kwh, r.forecast_hours) {
                    (Some(g), Some(h)) => format!("{g:.0} over {h}h"),
                    (None, Some(h)) => format!("none for {h}h"),
                    _ => "-".into(),
                });
            }
            let error = match (&r.carbon_error, &r.forecast_error) {
                (Some(e), _) => e.clone(),
                (None, Some(f)) => format!("forecast: {f}"),
                (None, None) => "-".into(),
            };
            row.extend([or_dash(&r.not_growing), error]);
        }
        table.add_row(row);
    }
    let shift = usize::from(fleet);
    for col in [3 + shift, 4 + shift, 6 + shift, 7 + shift] {
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
            let without = report.cpu["nodesWithoutMetrics"].as_u64().unwrap_or(0);
            let note = if without > 0 {
                format!(
                    ", {without} region node(s) without fresh metrics (check `kubectl top nodes`)"
                )
            } else {
                String::new()
            };
            format!("avg {avg}%, max {max}% ({} trigger){note}", report.trigger)
        }
        (_, _, serde_json::Value::String(reason)) => format!("unknown: {reason}"),
        _ => "unknown".into(),
    };
    let mut lines = vec![
        format!(
            "namespace {}, state ConfigMap {}{}",
            report.namespace,
            report.state_configmap,
            if report.scale_target == "hpa-min" {
                ", steering HPA floors (SCALE_TARGET=hpa-min)"
            } else {
                ""
            }
        ),
        table.to_string(),
        format!(
            "cluster CPU: {cpu}; scale up above {}%, down below {}%",
            super::pct(report.scale_up_threshold),
            super::pct(report.scale_down_threshold)
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
    for r in &report.regions {
        if let Some(why) = &r.unobserved {
            lines.push(format!("not observed: {}: {why}", r.region));
        }
        if let Some(why) = &r.not_growing {
            lines.push(format!("not given replicas now: {why}"));
        }
        if let Some(why) = &r.left_alone {
            lines.push(format!("left alone: {}: {why}", r.region));
        }
        if let Some(a) = r.autoscaler.as_ref().filter(|a| !a.conditions.is_empty()) {
            let now = match (a.current_replicas, a.desired_replicas) {
                (Some(current), Some(desired)) => {
                    format!(" ({current} replicas, wants {desired})")
                }
                _ => String::new(),
            };
            lines.push(format!(
                "{} of {}{now}: {}",
                a.name,
                r.region,
                a.conditions.join(", ")
            ));
        }
    }
    if let Some(why) = &report.autoscalers_error {
        lines.push(format!("HPAs: could not be read: {why}"));
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
    if report.carbon_unit == super::number::unit_label(crate::policy::CarbonUnit::Index) {
        lines.push("carbon ledger: not kept: WattTime's index is relative, not grams".to_string());
    }
    if let Some(ledger) = &report.ledger {
        lines.push(format!("carbon ledger: {}", ledger.sentence()));
    }
    lines.push(format!("next tick would: {}", report.next_tick));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{
        Action, ActionRecord, Breaching, CpuFigure, CpuTrigger, Direction, HoldWhy, PendingMove,
    };

    fn region(
        name: &str,
        zone: &str,
        grams: Option<f64>,
        rank: usize,
        replicas: i32,
    ) -> RegionStatus {
        RegionStatus {
            region: name.into(),
            zone: zone.into(),
            grams_per_kwh: grams,
            usable: grams.is_some(),
            carbon_datetime: Some("2026-11-30T09:00:00.000Z".into()),
            carbon_age_secs: grams.map(|_| 75),
            emission_factor_type: Some("lifecycle".into()),
            carbon_error: None,
            forecast_grams_per_kwh: None,
            forecast_hours: None,
            forecast_error: None,
            rank: Some(rank),
            deployment: format!("nginx-{name}"),
            replicas: Some(replicas),
            ready: Some(replicas),
            min: 1,
            max: 5,
            nodes: 1,
            cpu: Some(82.5),
            not_growing: None,
            context: None,
            unobserved: None,
            autoscaler: None,
            left_alone: None,
        }
    }

    #[test]
    fn the_status_table_as_users_see_it() {
        let now = 1_800_000_000;
        let mut latvia = region("latvia", "LV", None, 3, 2);
        latvia.carbon_error = Some("zone LV: HTTP 401 (token not accepted for this zone)".into());
        let report = StatusReport {
            scale_target: "replicas".into(),
            carbon_unit: "gCO2eq/kWh".into(),
            autoscalers_error: None,
            namespace: "default".into(),
            state_configmap: "carbonctl-state".into(),
            regions: vec![
                region("denmark", "DK", Some(142.0), 2, 2),
                region("france", "FR", Some(38.0), 1, 3),
                latvia,
            ],
            cpu: serde_json::json!({"average": 82.5, "max": 91.0, "nodes": 3}),
            trigger: "avg".into(),
            scale_up_threshold: 70.0,
            scale_down_threshold: 30.0,
            hold_up: 2,
            hold_down: 0,
            hold_cycles: 3,
            cooldown_remaining_secs: Some(95),
            last_scale: Some(ActionView::new(
                &ActionRecord {
                    time: now - 85,
                    action: Action::ScaleUp,
                    region: "france".into(),
                    from: 2,
                    to: 3,
                },
                now,
            )),
            last_heal: None,
            last_rebalance: None,
            pending_move: Some(PendingMove {
                to: "france".into(),
                to_replicas: 3,
                from: "latvia".into(),
                from_replicas: 2,
                started: now - 60,
            }),
            last_failure: None,
            carbon_cache_ttl_secs: 300,
            ledger: Some(LedgerView::new(
                &crate::ledger::Ledger {
                    since: now - 3600,
                    last: now,
                    regions: [(
                        "france".to_string(),
                        crate::ledger::RegionLedger {
                            replica_seconds: 10_800.0,
                            intensity_replica_seconds: 410_400.0,
                        },
                    )]
                    .into(),
                    blind_intensity_replica_seconds: 1_598_400.0,
                    unknown_replica_seconds: 7_200.0,
                    signals: vec!["lifecycle".into()],
                },
                2.4,
            )),
            next_tick: HoldWhy::CoolingDown {
                breaching: Breaching {
                    cpu: CpuFigure {
                        trigger: CpuTrigger::Average,
                        percent: 82.5,
                        nodes: 3,
                        missing: 0,
                    },
                    direction: Direction::Up,
                    threshold: 70.0,
                    count: 3,
                    cycles: 3,
                },
                left_secs: 95,
                last: ActionRecord {
                    time: now - 85,
                    action: Action::ScaleUp,
                    region: "france".into(),
                    from: 2,
                    to: 3,
                },
            }
            .into(),
        };
        insta::assert_snapshot!("status_table_plain", status_table(&report, false, false));
        insta::assert_snapshot!("status_table_console", status_table(&report, true, false));
        let wide = status_table(&report, false, true);
        insta::assert_snapshot!("status_table_wide", wide);
        let plain = status_table(&report, false, false);
        assert!(wide.contains("carbon error") && !plain.contains("carbon error"));
    }

    /// A report of a cluster at rest (CPU in the band, nothing done yet) over `regions`.
    fn quiet_report(scale_target: &str, regions: Vec<RegionStatus>) -> StatusReport {
        StatusReport {
            scale_target: scale_target.into(),
            carbon_unit: "gCO2eq/kWh".into(),
            autoscalers_error: None,
            namespace: "default".into(),
            state_configmap: "carbonctl-state".into(),
            regions,
            cpu: serde_json::json!({"average": 50.0, "max": 55.0, "nodes": 3}),
            trigger: "avg".into(),
            scale_up_threshold: 70.0,
            scale_down_threshold: 30.0,
            hold_up: 0,
            hold_down: 0,
            hold_cycles: 3,
            cooldown_remaining_secs: None,
            last_scale: None,
            last_heal: None,
            last_rebalance: None,
            pending_move: None,
            last_failure: None,
            carbon_cache_ttl_secs: 300,
            ledger: None,
            next_tick: HoldWhy::NoCpu {
                reason: "none".into(),
            }
            .into(),
        }
    }

    #[test]
    fn the_wide_table_shows_forecasts_when_they_were_fetched() {
        let mut regions = vec![
            region("denmark", "DK", Some(142.0), 2, 2),
            region("france", "FR", Some(38.0), 1, 3),
            region("london", "ukci:13", Some(170.0), 3, 2),
        ];
        regions[0].forecast_grams_per_kwh = Some(155.4);
        regions[1].forecast_grams_per_kwh = Some(41.0);
        for r in &mut regions {
            r.forecast_hours = Some(2);
        }
        regions[2].emission_factor_type = Some("direct".into());
        regions[2].forecast_error = Some("zone ukci:13: HTTP 500".into());
        let report = quiet_report("replicas", regions);
        let wide = status_table(&report, false, true);
        insta::assert_snapshot!("status_table_wide_forecasts", wide);
        assert!(!status_table(&report, false, false).contains("forecast"));
    }

    fn autoscaler(name: &str, floor: i32, keda: bool) -> AutoscalerStatus {
        AutoscalerStatus {
            name: if keda {
                format!("KEDA ScaledObject {name} (HPA keda-hpa-{name})")
            } else {
                format!("HPA {name}")
            },
            floor: Some(floor),
            hpa_min: floor.max(1),
            hpa_max: 6,
            current_replicas: Some(floor + 1),
            desired_replicas: Some(floor + 1),
            conditions: vec![
                "AbleToScale=True (ReadyForNewScale)".into(),
                "ScalingActive=True (ValidMetricFound)".into(),
                "ScalingLimited=False (DesiredWithinRange)".into(),
            ],
            steered: true,
        }
    }

    #[test]
    fn the_status_table_steering_hpa_floors() {
        let mut regions = vec![
            region("denmark", "DK", Some(142.0), 2, 3),
            region("france", "FR", Some(38.0), 1, 4),
            region("latvia", "LV", Some(265.0), 3, 3),
        ];
        regions[0].autoscaler = Some(autoscaler("web-denmark", 2, false));
        regions[1].autoscaler = Some(autoscaler("web-france", 3, false));
        regions[2].left_alone = Some("no HPA targets Deployment nginx-latvia; with SCALE_TARGET=hpa-min carbonctl moves only autoscaler floors".into());
        let report = quiet_report("hpa-min", regions);
        insta::assert_snapshot!(
            "status_table_hpa_floors",
            status_table(&report, false, false)
        );
    }
}
