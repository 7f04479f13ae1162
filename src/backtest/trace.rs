//! One record per replayed tick (`carbonctl backtest --ticks PATH`), in the shape a live replay
//! of the same period records its real ticks in (`carbonctl-replay --ticks PATH`), so the two
//! can be compared minute by minute: what the rule saw (CPU, each region's replicas and the
//! carbon it ranked on), what it decided, and the live ledger's grams as a tick would have
//! left them in the state. Replicas mode only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clock::to_rfc3339;
use crate::ledger::Ledger;
use crate::policy::{rank, Action};
use crate::render::round1;

use super::model::{cpu_percent, Replay, Scaler};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickRecord {
    pub time: String,
    /// The average CPU the rule compared, to 0.1 as a tick's log line shows it.
    pub cpu: Option<f64>,
    /// Each region's replicas as the tick observed them, before its change.
    pub replicas: BTreeMap<String, i32>,
    /// The carbon the rule ranked on (None: unknown or too old to use).
    pub carbon: BTreeMap<String, Option<f64>>,
    pub decision: Option<Step>,
    /// The live ledger after this tick: grams emitted and the carbon-blind counterfactual's.
    pub emitted_grams: f64,
    pub blind_grams: f64,
}

/// A change of one region by one replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub action: Action,
    pub region: String,
    pub from: i32,
    pub to: i32,
}

/// Replays the policy (as `model::replay` does for it) and hands each tick's record to `each`.
pub fn trace(r: &Replay, mut each: impl FnMut(TickRecord)) {
    let names: Vec<&str> = r.regions.iter().map(|x| x.name.as_str()).collect();
    let start: Vec<i32> = r.regions.iter().map(|x| x.start).collect();
    let mut scaler = Scaler::new(r.regions, &start);
    let mut seen = r.carbon_seen();
    let mut ledger: Option<Ledger> = None;
    for (k, &demand) in r.demand.iter().enumerate() {
        let now = r.from + k as i64 * r.interval;
        seen.update(r.regions, now, r.carbon_cache_ttl);
        for (i, region) in scaler.obs.regions.iter_mut().enumerate() {
            region.carbon = Some(seen.reading(i));
        }
        let replicas: BTreeMap<String, i32> = scaler
            .obs
            .regions
            .iter()
            .map(|x| (x.name.clone(), x.replicas))
            .collect();
        let ranked = rank(&scaler.obs, r.policy, now);
        let carbon = ranked
            .iter()
            .map(|x| (x.name.to_string(), x.grams))
            .collect();
        ledger = Some(Ledger::accrue(ledger.as_ref(), &names, &ranked, &[], now));
        let total: i32 = replicas.values().sum();
        let cpu = cpu_percent(demand, total);
        scaler.tick(r.policy, now, demand, |i| seen.reading(i));
        let decision = scaler.last.map(|(action, i)| {
            let to = scaler.obs.regions[i].replicas;
            Step {
                action,
                region: names[i].to_string(),
                from: replicas[names[i]],
                to,
            }
        });
        let ledger = ledger.as_ref().expect("accrued above");
        each(TickRecord {
            time: to_rfc3339(now),
            cpu: Some(round1(cpu)),
            replicas,
            carbon,
            decision,
            emitted_grams: ledger.emitted_grams(r.watts_per_replica),
            blind_grams: ledger.blind_grams(r.watts_per_replica),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::forecast::Forecasting;
    use crate::backtest::model::RegionInput;
    use crate::backtest::series::Series;

    /// alpha is the cleaner grid in the first hour, bravo in the second; the replay starts at
    /// 00:57 with CPU saturated, so the rule scales up at 00:59 and again after the 3-minute
    /// cooldown, at 01:02, and the cache decides where that second replica goes.
    fn second_scale_up(ttl: i64) -> (Step, Option<f64>) {
        let regions: Vec<RegionInput> = [("alpha", [100.0, 300.0]), ("bravo", [200.0, 50.0])]
            .into_iter()
            .map(|(name, values)| RegionInput {
                name: name.into(),
                carbon: Series {
                    start: 0,
                    step: 3600,
                    values: values.to_vec(),
                },
                start: 1,
            })
            .collect();
        let policy = crate::config::defaults().policy;
        let demand = [10.0; 8];
        let replay = Replay {
            regions: &regions,
            policy: &policy,
            from: 3420,
            interval: 60,
            carbon_cache_ttl: ttl,
            demand: &demand,
            watts_per_replica: 2.4,
            timeline_points: 1,
            forecasting: Forecasting::Perfect,
        };
        let mut records = Vec::new();
        trace(&replay, |r| records.push(r));
        let changes: Vec<&TickRecord> = records.iter().filter(|r| r.decision.is_some()).collect();
        assert_eq!(changes[0].time, "1970-01-01T00:59:00Z");
        assert_eq!(changes[0].decision.as_ref().unwrap().region, "alpha");
        let second = changes[1];
        assert_eq!(second.time, "1970-01-01T01:02:00Z");
        (second.decision.clone().unwrap(), second.carbon["bravo"])
    }

    #[test]
    fn the_rule_ranks_on_the_cached_carbon_until_the_ttl_runs_out() {
        let (step, bravo) = second_scale_up(300);
        assert_eq!(
            (step.region.as_str(), bravo),
            ("bravo", Some(50.0)),
            "fetched at 01:02"
        );
        let (step, bravo) = second_scale_up(600);
        assert_eq!(
            (step.region.as_str(), bravo),
            ("alpha", Some(200.0)),
            "still 00:57's value"
        );
    }
}
