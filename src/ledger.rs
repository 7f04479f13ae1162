//! The live ledger: what the real ticks achieved. Each tick adds, per region, the replica-seconds
//! since the previous tick and the same weighted by the region's carbon intensity, and does the
//! same for a counterfactual: the same total replicas kept even across the regions, as the
//! carbon-blind scaler of the backtest would place them. Grams follow from a power per replica.
//! Pure; its size is fixed by the number of regions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::policy::Ranked;

/// A gap longer than this between two ticks (the CronJob was suspended, the cluster was down)
/// counts only this long: the replicas seen now say nothing about what ran in between.
pub const MAX_GAP_SECS: i64 = 300;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionLedger {
    pub replica_seconds: f64,
    /// Replica-seconds times gCO2eq/kWh.
    pub intensity_replica_seconds: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ledger {
    /// The first tick counted.
    #[serde(with = "crate::clock::rfc3339")]
    pub since: i64,
    /// The last tick counted.
    #[serde(with = "crate::clock::rfc3339")]
    pub last: i64,
    pub regions: BTreeMap<String, RegionLedger>,
    /// The counterfactual's replica-seconds times gCO2eq/kWh.
    pub blind_intensity_replica_seconds: f64,
    /// Replica-seconds in regions whose carbon was unknown: in neither sum.
    pub unknown_replica_seconds: f64,
    /// The emission factor types the values rested on ("lifecycle", "direct").
    #[serde(default)]
    pub signals: Vec<String>,
}

impl Ledger {
    /// Adds the signals not seen before, in the order given.
    fn note_signals(&mut self, signals: &[&str]) {
        for signal in signals {
            if !self.signals.iter().any(|s| s == signal) {
                self.signals.push(signal.to_string());
            }
        }
    }

    /// The ledger after one more tick that saw `ranked` (replicas and usable carbon) at `now`;
    /// `configured` are the regions in REGIONS, `signals` the emission factor types of this
    /// tick's values (regions of different sources may rest on different ones).
    pub fn accrue(
        previous: Option<&Ledger>,
        configured: &[&str],
        ranked: &[Ranked],
        signals: &[&str],
        now: i64,
    ) -> Ledger {
        // Sorted, so the order never depends on which region reported a signal first.
        let mut signals = signals.to_vec();
        signals.sort_unstable();
        let Some(previous) = previous else {
            let mut first = Ledger {
                since: now,
                last: now,
                ..Ledger::default()
            };
            first.note_signals(&signals);
            return first;
        };
        let mut next = previous.clone();
        next.last = now.max(previous.last);
        // Regions no longer configured drop out, so the ledger's size follows REGIONS.
        next.regions
            .retain(|name, _| configured.contains(&name.as_str()));
        next.note_signals(&signals);
        let dt = (now - previous.last).min(MAX_GAP_SECS);
        if dt <= 0 {
            return next;
        }
        let dt = dt as f64;
        let known: Vec<(&Ranked, f64)> =
            ranked.iter().filter_map(|r| Some((r, r.grams?))).collect();
        for r in ranked.iter().filter(|r| r.grams.is_none()) {
            next.unknown_replica_seconds += f64::from(r.replicas) * dt;
        }
        if known.is_empty() {
            return next;
        }
        let total: f64 = known.iter().map(|(r, _)| f64::from(r.replicas)).sum();
        let mean_grams = known.iter().map(|(_, g)| g).sum::<f64>() / known.len() as f64;
        next.blind_intensity_replica_seconds += total * dt * mean_grams;
        for (r, grams) in known {
            let entry = next.regions.entry(r.name.to_string()).or_default();
            entry.replica_seconds += f64::from(r.replicas) * dt;
            entry.intensity_replica_seconds += f64::from(r.replicas) * dt * grams;
        }
        next
    }

    /// Grams of CO2eq for intensity-weighted replica-seconds at `watts` per replica.
    pub fn grams(intensity_replica_seconds: f64, watts: f64) -> f64 {
        intensity_replica_seconds * watts / 3_600_000.0
    }

    pub fn emitted_grams(&self, watts: f64) -> f64 {
        Self::grams(
            self.regions
                .values()
                .map(|r| r.intensity_replica_seconds)
                .sum(),
            watts,
        )
    }

    pub fn blind_grams(&self, watts: f64) -> f64 {
        Self::grams(self.blind_intensity_replica_seconds, watts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranked<'a>(regions: &[(&'a str, i32, Option<f64>)]) -> Vec<Ranked<'a>> {
        regions
            .iter()
            .map(|(name, replicas, grams)| Ranked {
                name,
                replicas: *replicas,
                grams: *grams,
                forecast: None,
                unhealthy: None,
            })
            .collect()
    }

    #[test]
    fn accrues_policy_and_even_counterfactual() {
        let first = Ledger::accrue(None, &[], &[], &["lifecycle"], 1000);
        assert_eq!(
            (first.since, first.last, first.signals.clone()),
            (1000, 1000, vec!["lifecycle".to_string()])
        );
        // 3 replicas in france (40 g), 1 in latvia (300 g), 60 s.
        let next = Ledger::accrue(
            Some(&first),
            &["france", "latvia"],
            &ranked(&[("france", 3, Some(40.0)), ("latvia", 1, Some(300.0))]),
            &["lifecycle", "lifecycle"],
            1060,
        );
        assert_eq!(next.signals, ["lifecycle"]);
        assert_eq!(next.regions["france"].replica_seconds, 180.0);
        assert_eq!(next.regions["france"].intensity_replica_seconds, 7200.0);
        assert_eq!(next.regions["latvia"].intensity_replica_seconds, 18000.0);
        // Even: 2 and 2 -> 4 replicas x 60 s x mean 170 g.
        assert_eq!(next.blind_intensity_replica_seconds, 40800.0);
        // 1 W per replica: 25,200 g-replica-seconds / 3.6e6 = 0.007 g.
        assert!((next.emitted_grams(1.0) - 0.007).abs() < 1e-12);
        assert!(next.blind_grams(1.0) > next.emitted_grams(1.0));
    }

    #[test]
    fn gaps_are_capped_unknown_carbon_is_set_aside_and_time_never_runs_back() {
        let start = Ledger::accrue(None, &[], &[], &[], 0);
        let later = Ledger::accrue(
            Some(&start),
            &["france", "denmark"],
            &ranked(&[("france", 2, Some(40.0)), ("denmark", 1, None)]),
            &["lifecycle", "direct"],
            10_000,
        );
        assert_eq!(
            later.regions["france"].replica_seconds,
            2.0 * MAX_GAP_SECS as f64
        );
        assert_eq!(later.unknown_replica_seconds, MAX_GAP_SECS as f64);
        assert_eq!(later.signals, ["direct", "lifecycle"], "sorted, each once");
        let back = Ledger::accrue(
            Some(&later),
            &["france", "denmark"],
            &ranked(&[("france", 2, Some(40.0))]),
            &[],
            5_000,
        );
        assert_eq!(back.regions, later.regions);
        assert_eq!(back.last, 10_000);
        // A region taken out of REGIONS leaves the ledger.
        let fewer = Ledger::accrue(Some(&later), &["denmark"], &[], &[], 10_060);
        assert!(fewer.regions.is_empty());
    }
}
