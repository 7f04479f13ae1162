//! The pure middle of a tick: from the state as loaded, what was observed, the settings and the
//! time, everything the tick will do and say. It settles the previous tick's attempt, decides,
//! and returns the decision and the ranking it rests on (made once), the state to claim before
//! acting (recording the change as an attempt), the states to write when the change is refused
//! or goes unanswered, and the fields of the tick's log line. `tick` only carries these out;
//! `status` and `tick --dry-run` read them.

use std::collections::BTreeMap;

use crate::attempt::{settle, Attempt, Settled, Settlement};
use crate::clock::to_rfc3339;
use crate::config::Settings;
use crate::ledger::Ledger;
use crate::policy::{decide_ranked, rank, CarbonUnit, Decision, Observation, Ranked};
use crate::render::{cpu_json, flag, ranking_json, settlement_text, TickFields};
use crate::state::{CarbonEntry, State};
use crate::totals::Outcome;

#[derive(Debug, Clone)]
pub struct Plan<'a> {
    pub decision: Decision,
    /// Regions cleanest first, as the rule ranked them.
    pub ranked: Vec<Ranked<'a>>,
    /// What became of the previous tick's attempt, if it left one.
    pub settlement: Option<Settlement>,
    /// The state written (compare-and-swap) before anything is changed: the rule's next
    /// memory, the change as an attempt, the refreshed carbon cache and the ledger with this
    /// tick added.
    pub claim: State,
    /// The state as loaded with the previous attempt settled: what a refused change leaves.
    settled: State,
    pub fields: TickFields,
}

/// Plans one tick. `carbon` is the cache after this tick's fetches; `fleet_nodes` the node
/// count of each region whose own cluster answered (empty in one cluster); `hands_off` the
/// regions the rule must not change this tick, and why (an autoscaler owns their replicas, or
/// has no floor to move). They are still ranked, shown and counted in the ledger.
pub fn plan<'a>(
    loaded: &State,
    observation: &'a Observation,
    carbon: &BTreeMap<String, CarbonEntry>,
    fleet_nodes: BTreeMap<String, usize>,
    hands_off: &BTreeMap<String, String>,
    settings: &Settings,
    now: i64,
) -> Plan<'a> {
    let settlement = settle(loaded.attempt.as_ref(), |region| {
        let r = observation.regions.iter().find(|r| r.name == region)?;
        Some(r.replicas)
    });
    // The attempt is settled; a change not in effect takes the rule's memory back.
    let mut settled = State {
        attempt: None,
        ..loaded.clone()
    };
    if let Some(before) = settlement.as_ref().and_then(Settlement::restores) {
        settled.policy = before.clone();
    }
    if let Some(s) = settlement
        .as_ref()
        .filter(|s| s.outcome != Settled::TookEffect)
    {
        let failure = settlement_text(s);
        settled.last_failure = Some(format!(
            "{} {}: {failure}",
            to_rfc3339(now),
            s.attempt.reason
        ));
    }
    let ranked = rank(observation, &settings.policy, now);
    let (decision, policy) = if hands_off.is_empty() {
        decide_ranked(observation, &ranked, &settled.policy, &settings.policy, now)
    } else {
        let writable = Observation {
            cpu: observation.cpu.clone(),
            regions: observation
                .regions
                .iter()
                .filter(|r| !hands_off.contains_key(&r.name))
                .cloned()
                .collect(),
        };
        let ranked = rank(&writable, &settings.policy, now);
        decide_ranked(&writable, &ranked, &settled.policy, &settings.policy, now)
    };
    let regions: Vec<&str> = settings.regions.iter().map(|r| r.name.as_str()).collect();
    let signals: Vec<&str> = carbon
        .values()
        .filter_map(|e| e.emission_factor_type.as_deref())
        .collect();
    // WattTime's index is not grams: no ledger is kept on it (and one kept before is dropped).
    let ledger = (settings.policy.carbon_unit == CarbonUnit::GramsPerKwh)
        .then(|| Ledger::accrue(settled.ledger.as_ref(), &regions, &ranked, &signals, now));
    let attempt = decision
        .change()
        .map(|change| Attempt::new(change, decision.to_string(), &settled.policy, now));
    // A region that did not answer keeps the count it last had.
    let mut remembered = settled.fleet_nodes.clone();
    remembered.extend(fleet_nodes);
    remembered.retain(|region, _| regions.contains(&region.as_str()));
    // Counted as applied when claimed; a write that then fails moves the count (`refused`).
    let counted = if decision.change().is_some() {
        Outcome::Applied
    } else {
        Outcome::Held
    };
    let claim = State {
        policy,
        totals: Some(settled.totals.unwrap_or_default().count(counted)),
        carbon: carbon.clone(),
        ledger,
        attempt,
        fleet_nodes: remembered,
        ..settled.clone()
    };
    let fields = TickFields {
        decision: decision.clone(),
        cpu: cpu_json(&observation.cpu),
        hold_up: claim.policy.hold_up,
        hold_down: claim.policy.hold_down,
        carbon: ranking_json(
            &ranked,
            settings.policy.carbon_unit,
            |region| settings.zone(region).map(str::to_string),
            |region| carbon.get(region)?.emission_factor_type.clone(),
        ),
        previous: settlement.as_ref().map(settlement_text),
        flag: decision
            .region()
            .and_then(|region| settings.zone(region))
            .map(flag),
    };
    Plan {
        decision,
        ranked,
        settlement,
        claim,
        settled,
        fields,
    }
}

impl Plan<'_> {
    /// The state after a change that was claimed but refused (replicas changed, forbidden, the
    /// Deployment gone): the rule's memory goes back to before it (no cooldown, no pending
    /// move for a change that did not happen), the carbon cache and ledger stay as claimed, and
    /// `failure` is recorded with the time, and the tick counted under `outcome` instead of
    /// applied.
    pub fn refused(&self, failure: &str, now: i64, outcome: Outcome) -> State {
        State {
            policy: self.settled.policy.clone(),
            attempt: None,
            last_failure: Some(self.failure(failure, now)),
            totals: self.recounted(outcome),
            ..self.claim.clone()
        }
    }

    /// The state after a scale write that got no answer: the change may have been made, so the
    /// claim stands (cooldown and all) and the attempt is marked for the next tick to settle.
    pub fn unanswered(&self, failure: &str, now: i64) -> State {
        let attempt = self.claim.attempt.clone().map(|a| Attempt {
            unanswered: true,
            ..a
        });
        State {
            attempt,
            last_failure: Some(self.failure(failure, now)),
            totals: self.recounted(Outcome::ScaleUnanswered),
            ..self.claim.clone()
        }
    }

    fn recounted(&self, outcome: Outcome) -> Option<crate::totals::Totals> {
        let claimed = self.claim.totals.unwrap_or_default();
        Some(claimed.recount(Outcome::Applied, outcome))
    }

    fn failure(&self, failure: &str, now: i64) -> String {
        format!("{} {}: {failure}", to_rfc3339(now), self.decision)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::policy::{CarbonReading, CpuObservation, RegionObservation};

    const NOW: i64 = 1_800_000_000;

    /// One tick's input: CPU (None: no metrics), and per region replicas, ready replicas and a
    /// carbon value as the API may give it (None: unknown), and seconds since the last tick.
    type Tick = (Option<f64>, Vec<(i32, i32, Option<f64>)>, i64);

    fn arb_tick() -> impl Strategy<Value = Tick> {
        let region = (
            0i32..100_000,
            0i32..100_000,
            prop::option::of(0.0f64..=5_000.0),
        );
        (
            prop::option::of(0.0f64..=100.0),
            prop::collection::vec(region, 3),
            0i64..100_000,
        )
    }

    fn observation(settings: &Settings, (cpu, regions, _): &Tick, now: i64) -> Observation {
        Observation {
            cpu: match cpu {
                Some(c) => CpuObservation::Known {
                    average: *c,
                    max: *c,
                    nodes: 3,
                    missing: 1,
                },
                None => CpuObservation::Missing {
                    reason: "no metrics".into(),
                },
            },
            regions: settings
                .regions
                .iter()
                .zip(regions)
                .map(|(r, (replicas, ready, grams))| RegionObservation {
                    name: r.name.clone(),
                    deployment: settings.deployment_name(&r.name),
                    replicas: *replicas,
                    ready: *ready,
                    available: *ready,
                    nodes: Some(crate::policy::NodeCount {
                        total: 2,
                        ready: (*ready % 3) as usize,
                    }),
                    carbon: grams.map(|g| CarbonReading {
                        grams_per_kwh: g,
                        fetched_at: now,
                        forecast_grams: None,
                    }),
                })
                .collect(),
        }
    }

    /// CPU at 100% (75% with the silent node) with every region at 2 replicas: denmark 300,
    /// france 40, latvia 500 g.
    fn busy(settings: &Settings) -> Observation {
        let tick = (
            Some(100.0),
            vec![(2, 2, Some(300.0)), (2, 2, Some(40.0)), (2, 2, Some(500.0))],
            0,
        );
        observation(settings, &tick, NOW)
    }

    fn entry(zone: &str, grams: f64) -> CarbonEntry {
        CarbonEntry {
            zone: zone.into(),
            grams_per_kwh: Some(grams),
            fetched_at: Some(NOW),
            emission_factor_type: Some("lifecycle".into()),
            ..CarbonEntry::default()
        }
    }

    #[test]
    fn the_claim_holds_the_rules_memory_the_change_the_carbon_and_the_ledger() {
        let mut settings = crate::config::defaults();
        settings.policy.hold_cycles = 1;
        let obs = busy(&settings);
        let carbon = BTreeMap::from([("france".to_string(), entry("FR", 40.0))]);
        let loaded = State {
            fleet_nodes: BTreeMap::from([("latvia".into(), 5), ("gone".into(), 2)]),
            ..State::default()
        };
        let answered = BTreeMap::from([("denmark".to_string(), 4)]);
        let plan = plan(
            &loaded,
            &obs,
            &carbon,
            answered,
            &BTreeMap::new(),
            &settings,
            NOW,
        );
        let sentence = plan.decision.to_string();
        assert!(sentence.starts_with("scale up france 2->3: "), "{sentence}");
        let claim = &plan.claim;
        let scaled = claim
            .policy
            .last_scale
            .as_ref()
            .expect("the cooldown starts");
        assert_eq!(
            (scaled.region.as_str(), scaled.to, scaled.time),
            ("france", 3, NOW)
        );
        assert_eq!(claim.carbon, carbon);
        assert_eq!(claim.ledger.as_ref().map(|l| l.since), Some(NOW));
        let attempt = claim.attempt.as_ref().expect("the change is recorded");
        assert_eq!(
            (attempt.region.as_str(), attempt.from, attempt.to),
            ("france", 2, 3)
        );
        assert_eq!(attempt.before, loaded.policy);
        // A region that answered gets its count, one that did not keeps its last, and a
        // region no longer configured is forgotten.
        assert_eq!(
            claim.fleet_nodes,
            BTreeMap::from([("denmark".into(), 4), ("latvia".into(), 5)])
        );
        assert_eq!(claim.last_failure, None);

        let refused = plan.refused("HTTP 409", NOW + 5, Outcome::ReplicasChanged);
        assert_eq!(
            refused.policy, loaded.policy,
            "no cooldown for a change not made"
        );
        assert_eq!(refused.attempt, None);
        assert_eq!(
            (&refused.carbon, &refused.ledger),
            (&claim.carbon, &claim.ledger)
        );
        assert!(refused
            .last_failure
            .as_deref()
            .unwrap()
            .ends_with("cleanest region at 40 gCO2eq/kWh: HTTP 409"));

        let unanswered = plan.unanswered("timed out", NOW + 5);
        assert_eq!(
            unanswered.policy, claim.policy,
            "the change may have been made"
        );
        assert!(unanswered.attempt.as_ref().unwrap().unanswered);
        assert!(unanswered
            .last_failure
            .as_deref()
            .unwrap()
            .ends_with("cleanest region at 40 gCO2eq/kWh: timed out"));
    }

    #[test]
    fn the_previous_attempt_is_settled_against_its_own_region() {
        let mut settings = crate::config::defaults();
        settings.policy.hold_cycles = 5;
        // latvia was to go 2->1; the observation shows latvia at 2 (not made) or 1 (made),
        // while the other regions stay at 2.
        let attempted = |latvia: i32| {
            let tick = (
                Some(50.0),
                vec![
                    (2, 2, Some(300.0)),
                    (2, 2, Some(40.0)),
                    (latvia, latvia, Some(500.0)),
                ],
                0,
            );
            observation(&settings, &tick, NOW)
        };
        let loaded = State {
            attempt: Some(Attempt {
                time: NOW - 60,
                action: crate::policy::Action::ScaleDown,
                region: "latvia".into(),
                deployment: "nginx-latvia".into(),
                from: 2,
                to: 1,
                reason: "scale down latvia 2->1".into(),
                unanswered: false,
                before: Default::default(),
            }),
            ..State::default()
        };
        let settle = |replicas: i32| {
            let observed = attempted(replicas);
            let planned = plan(
                &loaded,
                &observed,
                &BTreeMap::new(),
                BTreeMap::new(),
                &BTreeMap::new(),
                &settings,
                NOW,
            );
            (
                planned.settlement.map(|s| s.outcome),
                planned.claim.last_failure,
            )
        };
        let (made, no_failure) = settle(1);
        assert_eq!((made, no_failure), (Some(Settled::TookEffect), None));
        let (not_made, failure) = settle(2);
        assert_eq!(not_made, Some(Settled::NotInEffect));
        let failure = failure.expect("recorded");
        assert!(failure.contains("scale down latvia 2->1"), "{failure}");
    }

    #[test]
    fn each_tick_is_counted_once_in_the_state_it_leaves() {
        use crate::totals::Totals;
        let mut settings = crate::config::defaults();
        settings.policy.hold_cycles = 1;
        let regions = vec![(2, 2, Some(100.0)), (2, 2, Some(50.0)), (2, 2, Some(300.0))];
        let calm = observation(&settings, &(Some(50.0), regions.clone(), 0), NOW);
        let none = BTreeMap::new();
        let held = plan(
            &State::default(),
            &calm,
            &none,
            BTreeMap::new(),
            &BTreeMap::new(),
            &settings,
            NOW,
        );
        assert!(held.decision.change().is_none());
        let once = Totals {
            held: 1,
            ..Totals::default()
        };
        assert_eq!(held.claim.totals, Some(once));

        let now = NOW + 60;
        let hot = observation(&settings, &(Some(95.0), regions, 60), now);
        let acting = plan(
            &held.claim,
            &hot,
            &none,
            BTreeMap::new(),
            &BTreeMap::new(),
            &settings,
            now,
        );
        assert!(acting.decision.change().is_some(), "{}", acting.decision);
        let applied = Totals { applied: 1, ..once };
        assert_eq!(acting.claim.totals, Some(applied));
        let refused = acting.refused("HTTP 403", now, Outcome::ScaleFailed);
        assert_eq!(
            refused.totals,
            Some(Totals {
                scale_failed: 1,
                ..once
            })
        );
        let lost = acting.unanswered("timed out", now);
        assert_eq!(
            lost.totals,
            Some(Totals {
                scale_unanswered: 1,
                ..once
            })
        );
    }

    proptest! {
        /// Whatever a run of ticks observes, every state the tick may write (the claim, and the
        /// states after a refused or an unanswered change) reads back as written.
        #[test]
        fn every_state_a_tick_writes_reads_back(ticks in prop::collection::vec(arb_tick(), 1..12), margin in prop::option::of(0.0f64..500.0)) {
            let mut settings = crate::config::defaults();
            settings.policy.rebalance_margin = margin;
            settings.policy.hold_cycles = 1;
            let mut state = State::default();
            let mut now = NOW;
            for tick in &ticks {
                now += tick.2;
                let obs = observation(&settings, tick, now);
                let plan = plan(&state, &obs, &BTreeMap::new(), BTreeMap::new(), &BTreeMap::new(), &settings, now);
                for written in [plan.claim.clone(), plan.refused("HTTP 409", now, Outcome::ReplicasChanged), plan.unanswered("timed out", now)] {
                    let data = written.checked_data().map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(&State::from_data(&data).unwrap(), &written);
                }
                state = plan.claim;
            }
        }

        /// A region left alone (an autoscaler owns its replicas) is never the one changed,
        /// whatever the ticks observe, and is still ranked.
        #[test]
        fn a_region_left_alone_is_never_changed(ticks in prop::collection::vec(arb_tick(), 1..12), alone in 0usize..3, margin in prop::option::of(0.0f64..500.0)) {
            let mut settings = crate::config::defaults();
            settings.policy.rebalance_margin = margin;
            settings.policy.hold_cycles = 1;
            settings.policy.cooldown_secs = 0;
            let region = settings.regions[alone].name.clone();
            let hands_off = BTreeMap::from([(region.clone(), "HPA web".to_string())]);
            let mut state = State::default();
            let mut now = NOW;
            for tick in &ticks {
                now += tick.2;
                let obs = observation(&settings, tick, now);
                let plan = plan(&state, &obs, &BTreeMap::new(), BTreeMap::new(), &hands_off, &settings, now);
                prop_assert_ne!(plan.decision.region(), Some(region.as_str()));
                prop_assert!(plan.ranked.iter().any(|r| r.name == region));
                state = plan.claim;
            }
        }
    }
}
