//! The pure middle of a tick: from the state as loaded, what was observed, the settings and the
//! time, everything the tick will do and say. The decision and the ranking it rests on (made
//! once), the state to claim before acting, the state to fall back to when the change is not
//! applied, and the fields of the tick's log line. `tick` only carries these out; `status` and
//! `tick --dry-run` read them.

use std::collections::BTreeMap;

use crate::clock::to_rfc3339;
use crate::config::Settings;
use crate::ledger::Ledger;
use crate::policy::{decide_ranked, rank, Decision, Observation, PolicyState, Ranked};
use crate::render::{cpu_json, flag, ranking_json, TickFields};
use crate::state::{CarbonEntry, State};

#[derive(Debug, Clone)]
pub struct Plan {
    pub decision: Decision,
    /// Regions cleanest first, as the rule ranked them.
    pub ranked: Vec<Ranked>,
    /// The state written (compare-and-swap) before anything is changed: the rule's next
    /// memory, the refreshed carbon cache and the ledger with this tick added.
    pub claim: State,
    /// The rule's memory as loaded, which a change that did not happen leaves in place.
    loaded_policy: PolicyState,
    pub fields: TickFields,
}

/// Plans one tick. `carbon` is the cache after this tick's fetches.
pub fn plan(
    loaded: &State,
    observation: &Observation,
    carbon: &BTreeMap<String, CarbonEntry>,
    settings: &Settings,
    now: i64,
) -> Plan {
    let ranked = rank(observation, &settings.policy, now);
    let (decision, policy) =
        decide_ranked(observation, &ranked, &loaded.policy, &settings.policy, now);
    let regions: Vec<&str> = settings.regions.iter().map(|r| r.name.as_str()).collect();
    let signal = carbon
        .values()
        .find_map(|e| e.emission_factor_type.as_deref());
    let ledger = Ledger::accrue(loaded.ledger.as_ref(), &regions, &ranked, signal, now);
    let claim = State {
        policy,
        carbon: carbon.clone(),
        ledger: Some(ledger),
        ..loaded.clone()
    };
    let fields = TickFields {
        decision: decision.clone(),
        cpu: cpu_json(&observation.cpu),
        hold_up: claim.policy.hold_up,
        hold_down: claim.policy.hold_down,
        carbon: ranking_json(&ranked, |region| settings.zone(region).map(str::to_string)),
        flag: decision
            .region()
            .and_then(|region| settings.zone(region))
            .map(flag),
    };
    Plan {
        decision,
        ranked,
        claim,
        loaded_policy: loaded.policy.clone(),
        fields,
    }
}

impl Plan {
    /// The state after a change that was decided and claimed but not applied: the rule's memory
    /// goes back to before it (no cooldown, no pending move for a change that did not happen),
    /// the carbon cache and ledger stay as claimed, and `failure` is recorded with the time.
    pub fn fall_back(&self, failure: &str, now: i64) -> State {
        State {
            policy: self.loaded_policy.clone(),
            last_failure: Some(format!("{} {}: {failure}", to_rfc3339(now), self.decision)),
            ..self.claim.clone()
        }
    }
}
