//! What one tick reports to Prometheus: a pure function of the tick's outcome, the state it
//! wrote and what it observed. Counters come from the state (`tickTotals`, the ledger), never
//! from the process, because every tick is a new process and the Pushgateway keeps only the
//! last push.

use super::exposition::{Family, Kind};
use crate::config::Settings;
use crate::policy::{CarbonUnit, Decision, Observation};
use crate::state::State;
use crate::totals::Outcome;

/// One tick that claimed the state, as it ended.
pub struct TickReport<'a> {
    /// When the tick started (Unix seconds) and how long it took.
    pub now: i64,
    pub duration_secs: f64,
    pub outcome: Outcome,
    pub decision: &'a Decision,
    /// The state the tick left (the claim, or the state written after a failed change).
    pub state: &'a State,
    pub observation: &'a Observation,
    /// The rule's settings this tick (with SCALE_TARGET=hpa-min, bounds within each HPA's).
    pub settings: &'a Settings,
}

const PENDING_HELP: &str = "Start of the rebalancing move waiting for its second step (Unix \
time), by the region gaining a replica and the region to give one up; absent when none.";

/// The metric families of one tick, in a fixed order.
pub fn families(t: &TickReport) -> Vec<Family> {
    let policy = &t.settings.policy;
    let p = &t.state.policy;
    let mut out = vec![
        Family::new(
            "carbonctl_last_tick_timestamp_seconds",
            Kind::Gauge,
            "When the last tick that claimed the state started (Unix time).",
        )
        .sample(&[], t.now as f64),
        Family::new(
            "carbonctl_last_tick_duration_seconds",
            Kind::Gauge,
            "How long the last tick took, from start to the metrics push.",
        )
        .sample(&[], t.duration_secs),
    ];
    let totals = t.state.totals.unwrap_or_default();
    let mut ticks = Family::new(
        "carbonctl_ticks_total",
        Kind::Counter,
        "Ticks by final outcome: held, applied, replicas_changed, scale_failed, \
         scale_unanswered, lost_claim (another tick wrote the state first); kept in the state \
         key tickTotals.",
    );
    for outcome in Outcome::ALL {
        ticks = ticks.sample(&[("outcome", outcome.label())], totals.get(outcome) as f64);
    }
    out.push(ticks);
    out.extend(regions(t));
    out.push(
        Family::new(
            "carbonctl_hold_ticks",
            Kind::Gauge,
            "Consecutive ticks CPU has been above (up) or below (down) its threshold.",
        )
        .sample(&[("direction", "up")], f64::from(p.hold_up))
        .sample(&[("direction", "down")], f64::from(p.hold_down)),
    );
    out.push(
        Family::new(
            "carbonctl_hold_cycles",
            Kind::Gauge,
            "Consecutive breaching ticks needed before acting (HOLD_CYCLES).",
        )
        .sample(&[], f64::from(policy.hold_cycles)),
    );
    let cooldown = p.cooldown_left(policy, t.now).unwrap_or(0);
    out.push(
        Family::new(
            "carbonctl_cooldown_remaining_seconds",
            Kind::Gauge,
            "Time left before another CPU-driven scale may happen (0: none).",
        )
        .sample(&[], cooldown as f64),
    );
    out.push(
        Family::new(
            "carbonctl_rebalance_pending",
            Kind::Gauge,
            "1 while a make-before-break rebalancing move waits for its second step, else 0.",
        )
        .sample(&[], if p.pending_move.is_some() { 1.0 } else { 0.0 }),
    );
    let mut started = Family::new(
        "carbonctl_rebalance_pending_started_timestamp_seconds",
        Kind::Gauge,
        PENDING_HELP,
    );
    if let Some(m) = &p.pending_move {
        started = started.sample(&[("to", &m.to), ("from", &m.from)], m.started as f64);
    }
    out.push(started);
    out.extend(ledger(t));
    out
}

/// Replicas (after this tick's change when it was applied), bounds and carbon per region.
fn regions(t: &TickReport) -> Vec<Family> {
    let mut replicas = Family::new(
        "carbonctl_region_replicas",
        Kind::Gauge,
        "Replicas of the region's Deployment (with SCALE_TARGET=hpa-min, its autoscaler's floor) after the tick.",
    );
    let mut min = Family::new(
        "carbonctl_region_min_replicas",
        Kind::Gauge,
        "The region's replica floor for the rule.",
    );
    let mut max = Family::new(
        "carbonctl_region_max_replicas",
        Kind::Gauge,
        "The region's replica ceiling for the rule.",
    );
    // WattTime's index has no unit: it is never exported as grams.
    let mut intensity = match t.settings.policy.carbon_unit {
        CarbonUnit::GramsPerKwh => Family::new(
            "carbonctl_region_carbon_intensity_grams_per_kilowatt_hour",
            Kind::Gauge,
            "Grid carbon intensity of the region's zone the tick used, in gCO2eq/kWh.",
        ),
        CarbonUnit::Index => Family::new(
            "carbonctl_region_carbon_index",
            Kind::Gauge,
            "WattTime's signal index of the region's grid the tick used: 0 (the cleanest it has \
             been lately) to 100, relative, not grams.",
        ),
    };
    let mut age = Family::new(
        "carbonctl_region_carbon_age_seconds",
        Kind::Gauge,
        "Time since the region's carbon intensity was last fetched.",
    );
    let mut estimated = Family::new(
        "carbonctl_region_carbon_estimated",
        Kind::Gauge,
        "1 when ElectricityMaps marked the region's carbon intensity as estimated, else 0.",
    );
    let applied = match (t.outcome, t.decision.change()) {
        (Outcome::Applied, Some(change)) => Some(change),
        _ => None,
    };
    for r in &t.observation.regions {
        let now = match applied {
            Some(c) if c.region == r.name => c.to,
            _ => r.replicas,
        };
        let region = [("region", r.name.as_str())];
        replicas = replicas.sample(&region, f64::from(now));
        let bounds = t.settings.policy.bounds(&r.name);
        min = min.sample(&region, f64::from(bounds.min));
        max = max.sample(&region, f64::from(bounds.max));
    }
    for r in &t.settings.regions {
        let Some(entry) = t.state.carbon.get(&r.name).filter(|e| e.zone == r.zone) else {
            continue;
        };
        let labels = [("region", r.name.as_str()), ("zone", r.zone.as_str())];
        if let Some(grams) = entry.grams_per_kwh {
            intensity = intensity.sample(&labels, grams);
        }
        if let Some(fetched) = entry.fetched_at {
            age = age.sample(&labels, (t.now - fetched).max(0) as f64);
        }
        if let Some(flag) = entry.is_estimated {
            estimated = estimated.sample(&labels, if flag { 1.0 } else { 0.0 });
        }
    }
    vec![replicas, min, max, intensity, age, estimated]
}

/// The live ledger in grams at WATTS_PER_REPLICA, labelled with the emission factor types the
/// intensities were, so a number never travels without what it rests on.
fn ledger(t: &TickReport) -> Vec<Family> {
    let Some(ledger) = &t.state.ledger else {
        return Vec::new();
    };
    let watts = t.settings.watts_per_replica;
    let signal = if ledger.signals.is_empty() {
        "unknown".to_string()
    } else {
        ledger.signals.join("+")
    };
    let labels = [("signal", signal.as_str())];
    let emitted = ledger.emitted_grams(watts);
    let blind = ledger.blind_grams(watts);
    vec![
        Family::new(
            "carbonctl_ledger_emitted_grams_total",
            Kind::Counter,
            "CO2eq emitted by the replicas carbonctl placed since the ledger started, at WATTS_PER_REPLICA and ElectricityMaps intensity (signal).",
        )
        .sample(&labels, emitted),
        Family::new(
            "carbonctl_ledger_counterfactual_grams_total",
            Kind::Counter,
            "CO2eq the same total replicas would have emitted kept even across the regions (the counterfactual), since the ledger started.",
        )
        .sample(&labels, blind),
        Family::new(
            "carbonctl_ledger_avoided_grams",
            Kind::Gauge,
            "CO2eq avoided against the same total replicas kept even across the regions (counterfactual minus emitted; negative when worse), since the ledger started.",
        )
        .sample(&labels, blind - emitted),
        Family::new(
            "carbonctl_ledger_unknown_replica_seconds_total",
            Kind::Counter,
            "Replica-seconds in regions whose carbon was unknown, counted on neither side of the ledger.",
        )
        .sample(&[], ledger.unknown_replica_seconds),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::policy::{CarbonReading, CpuObservation, PendingMove, RegionObservation};
    use crate::state::CarbonEntry;

    const NOW: i64 = 1_800_000_000;

    fn observation(settings: &Settings) -> Observation {
        let grams = [142.0, 38.0, 265.0];
        Observation {
            cpu: CpuObservation::Known {
                average: 95.0,
                max: 95.0,
                nodes: 3,
                missing: 0,
            },
            regions: settings
                .regions
                .iter()
                .zip(grams)
                .map(|(r, g)| RegionObservation {
                    name: r.name.clone(),
                    deployment: settings.deployment_name(&r.name),
                    replicas: 2,
                    ready: 2,
                    available: 2,
                    nodes: None,
                    carbon: Some(CarbonReading {
                        grams_per_kwh: g,
                        fetched_at: NOW - 30,
                        forecast_grams: None,
                    }),
                })
                .collect(),
        }
    }

    fn entry(zone: &str, grams: f64, estimated: bool) -> CarbonEntry {
        CarbonEntry {
            zone: zone.into(),
            grams_per_kwh: Some(grams),
            fetched_at: Some(NOW - 30),
            is_estimated: Some(estimated),
            ..CarbonEntry::default()
        }
    }

    #[test]
    fn a_tick_reports_what_it_left_and_only_carbon_for_the_configured_zone() {
        let mut settings = crate::config::defaults();
        settings.policy.hold_cycles = 1;
        let seen = observation(&settings);
        let carbon = BTreeMap::from([
            ("france".to_string(), entry("FR", 38.0, true)),
            ("latvia".to_string(), entry("EE", 500.0, false)),
        ]);
        let plan = crate::plan::plan(
            &State::default(),
            &seen,
            &carbon,
            BTreeMap::new(),
            &BTreeMap::new(),
            &settings,
            NOW,
        );
        assert_eq!(plan.decision.region(), Some("france"), "{}", plan.decision);
        let mut state = plan.claim.clone();
        state.policy.pending_move = Some(PendingMove {
            to: "france".into(),
            to_replicas: 3,
            from: "latvia".into(),
            from_replicas: 2,
            started: NOW - 60,
        });
        let report = |outcome, state: &State| {
            super::super::exposition::render(&families(&TickReport {
                now: NOW,
                duration_secs: 0.25,
                outcome,
                decision: &plan.decision,
                state,
                observation: &seen,
                settings: &settings,
            }))
        };
        let text = report(Outcome::Applied, &state);
        for line in [
            "carbonctl_last_tick_timestamp_seconds 1800000000",
            "carbonctl_last_tick_duration_seconds 0.25",
            "carbonctl_ticks_total{outcome=\"applied\"} 1",
            "carbonctl_ticks_total{outcome=\"held\"} 0",
            "carbonctl_region_replicas{region=\"france\"} 3",
            "carbonctl_region_replicas{region=\"latvia\"} 2",
            "carbonctl_region_max_replicas{region=\"denmark\"} 5",
            "carbonctl_region_carbon_intensity_grams_per_kilowatt_hour{region=\"france\",zone=\"FR\"} 38",
            "carbonctl_region_carbon_age_seconds{region=\"france\",zone=\"FR\"} 30",
            "carbonctl_region_carbon_estimated{region=\"france\",zone=\"FR\"} 1",
            "carbonctl_cooldown_remaining_seconds 180",
            "carbonctl_rebalance_pending 1",
            "carbonctl_rebalance_pending_started_timestamp_seconds{to=\"france\",from=\"latvia\"} 1799999940",
            "carbonctl_ledger_avoided_grams{signal=\"unknown\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        assert!(
            !text.contains("zone=\"EE\""),
            "a cached value for another zone is not the region's"
        );

        let refused = plan.refused("HTTP 403", NOW, Outcome::ScaleFailed);
        let text = report(Outcome::ScaleFailed, &refused);
        assert!(
            text.contains("carbonctl_region_replicas{region=\"france\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("carbonctl_ticks_total{outcome=\"scale_failed\"} 1\n"));
        assert!(text.contains("carbonctl_cooldown_remaining_seconds 0\n"));
        assert!(!text.contains("pending_started"), "no move, no series");
    }

    #[test]
    fn an_index_is_exported_as_an_index_and_no_grams_are_counted() {
        let mut settings = crate::config::defaults();
        settings.regions = crate::config::parse_regions(
            "denmark=watttime:DK_EAST,france=watttime:FR_GRID,latvia=watttime:LV_GRID",
        )
        .unwrap();
        settings.policy.hold_cycles = 1;
        settings.policy.carbon_unit = crate::policy::CarbonUnit::Index;
        let seen = observation(&settings);
        let carbon =
            BTreeMap::from([("france".to_string(), entry("watttime:FR_GRID", 38.0, false))]);
        let plan = crate::plan::plan(
            &State::default(),
            &seen,
            &carbon,
            BTreeMap::new(),
            &BTreeMap::new(),
            &settings,
            NOW,
        );
        assert_eq!(plan.claim.ledger, None, "no ledger on an index");
        let text = super::super::exposition::render(&families(&TickReport {
            now: NOW,
            duration_secs: 0.25,
            outcome: Outcome::Applied,
            decision: &plan.decision,
            state: &plan.claim,
            observation: &seen,
            settings: &settings,
        }));
        assert!(
            text.lines().any(|l| l
                == "carbonctl_region_carbon_index{region=\"france\",zone=\"watttime:FR_GRID\"} 38"),
            "{text}"
        );
        assert!(
            !text.contains("grams_per_kilowatt_hour") && !text.contains("carbonctl_ledger"),
            "nothing in grams: {text}"
        );
    }
}
