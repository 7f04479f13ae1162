//! The state ConfigMap's `data`: versioned, readable in `kubectl get cm -o yaml` and editable by
//! hand. Parsing never guesses: a damaged or unknown-version state is an error naming the key,
//! so a tick refuses to run rather than silently resetting hold counters or cooldowns.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::attempt::Attempt;
use crate::clock::to_rfc3339;
use crate::ledger::Ledger;
use crate::node_snapshot::Snapshots;
use crate::policy::{ActionRecord, PendingMove, PolicyState};
use crate::totals::Totals;

pub const FORMAT_VERSION: &str = "1";

pub const KEY_VERSION: &str = "formatVersion";
pub const KEY_HOLD_UP: &str = "holdUp";
pub const KEY_HOLD_DOWN: &str = "holdDown";
pub const KEY_LAST_SCALE: &str = "lastScale";
pub const KEY_LAST_HEAL: &str = "lastHeal";
pub const KEY_CARBON: &str = "carbon";
pub const KEY_LAST_FAILURE: &str = "lastFailure";
pub const KEY_LAST_REBALANCE: &str = "lastRebalance";
pub const KEY_PENDING_MOVE: &str = "pendingMove";
pub const KEY_LEDGER: &str = "ledger";
pub const KEY_ATTEMPT: &str = "attempt";
pub const KEY_FLEET_NODES: &str = "fleetNodes";
pub const KEY_TICK_TOTALS: &str = "tickTotals";
pub const KEY_NODES: &str = "nodes";

/// One region's cached carbon value, and how the last fetch went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarbonEntry {
    pub zone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grams_per_kwh: Option<f64>,
    /// The data's own timestamp (the hour it describes), as the API gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datetime: Option<String>,
    /// When carbonctl last fetched a value successfully.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::clock::rfc3339_opt"
    )]
    pub fetched_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emission_factor_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_estimated: Option<bool>,
    /// Why the last fetch failed (zone and HTTP status, never a token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// No fetch before this time (the API's Retry-After).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::clock::rfc3339_opt"
    )]
    pub retry_after: Option<i64>,
    /// With REBALANCE_FORECAST on: the mean forecast intensity over the `forecast_hours` from
    /// the start of `fetched_at`'s hour, fetched with the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast_grams_per_kwh: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast_hours: Option<u32>,
    /// Why the last fetch had no forecast, when the value itself came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast_error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    pub policy: PolicyState,
    /// By region name.
    pub carbon: BTreeMap<String, CarbonEntry>,
    /// The last decided change that could not be applied, as a sentence with its time.
    pub last_failure: Option<String>,
    /// What the ticks so far emitted and avoided; absent in states written before it existed.
    pub ledger: Option<Ledger>,
    /// The change this state was claimed for, until the next tick sees whether it took effect.
    pub attempt: Option<Attempt>,
    /// In a fleet, each region's node count when its cluster last answered: the nodes a
    /// region that does not answer counts as without CPU data.
    pub fleet_nodes: BTreeMap<String, usize>,
    /// Ticks by outcome, for the pushed counters; absent in states written before it existed.
    pub totals: Option<Totals>,
    /// What the last full read of each cluster's nodes showed (see `node_snapshot`): `*` for
    /// one cluster holding every region, the kubeconfig context of a region's own cluster in a
    /// fleet.
    pub nodes: Snapshots,
    /// Keys this version does not know, kept as they are so nothing written by hand is lost.
    pub extra: BTreeMap<String, String>,
}

/// A carbon API's Retry-After longer than a day is taken as a day: the value comes from outside
/// and ends up in the state, which must stay readable.
pub const MAX_RETRY_AFTER_SECS: i64 = 24 * 3600;

/// How far a time in the state may lie ahead of this tick's clock: clocks of the nodes a
/// CronJob's pods run on, and of a laptop, differ by seconds, not minutes.
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;

/// A key of the state that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError {
    pub key: String,
    pub problem: String,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {:?}: {}", self.key, self.problem)
    }
}

impl std::error::Error for StateError {}

fn err(key: &str, problem: impl Into<String>) -> StateError {
    StateError {
        key: key.to_string(),
        problem: problem.into(),
    }
}

impl State {
    /// Reads a ConfigMap's data. Empty data is the initial state.
    pub fn from_data(data: &BTreeMap<String, String>) -> Result<State, StateError> {
        State::read(data, true)
    }

    /// Reads `data`, the `nodes` key only with `nodes` set (else it is left empty).
    fn read(data: &BTreeMap<String, String>, nodes: bool) -> Result<State, StateError> {
        if data.is_empty() {
            return Ok(State::default());
        }
        match data.get(KEY_VERSION).map(|v| v.trim()) {
            Some(FORMAT_VERSION) => {}
            Some(other) => {
                return Err(err(
                    KEY_VERSION,
                    format!("version {other:?} is not one this carbonctl reads (it reads {FORMAT_VERSION:?}); run the carbonctl version that wrote it"),
                ))
            }
            None => return Err(err(KEY_VERSION, "missing, but other keys are present")),
        }
        let known = [
            KEY_VERSION,
            KEY_HOLD_UP,
            KEY_HOLD_DOWN,
            KEY_LAST_SCALE,
            KEY_LAST_HEAL,
            KEY_CARBON,
            KEY_LAST_FAILURE,
            KEY_LAST_REBALANCE,
            KEY_PENDING_MOVE,
            KEY_LEDGER,
            KEY_ATTEMPT,
            KEY_FLEET_NODES,
            KEY_TICK_TOTALS,
            KEY_NODES,
        ];
        Ok(State {
            policy: PolicyState {
                hold_up: counter(data, KEY_HOLD_UP)?,
                hold_down: counter(data, KEY_HOLD_DOWN)?,
                last_scale: action(data, KEY_LAST_SCALE)?,
                last_heal: action(data, KEY_LAST_HEAL)?,
                last_rebalance: action(data, KEY_LAST_REBALANCE)?,
                pending_move: pending_move(data)?,
            },
            carbon: match data.get(KEY_CARBON).map(|v| v.trim()) {
                None | Some("") => BTreeMap::new(),
                Some(text) => serde_json::from_str(text).map_err(|e| {
                    err(KEY_CARBON, format!("not a JSON object of region -> {{zone, gramsPerKwh, fetchedAt, ...}}: {e}"))
                })?,
            },
            ledger: match data.get(KEY_LEDGER).map(|v| v.trim()) {
                None | Some("") => None,
                Some(text) => Some(serde_json::from_str(text).map_err(|e| {
                    err(KEY_LEDGER, format!("not a JSON ledger {{since, last, regions, ...}} or empty: {e}"))
                })?),
            },
            attempt: match data.get(KEY_ATTEMPT).map(|v| v.trim()) {
                None | Some("") => None,
                Some(text) => Some(serde_json::from_str(text).map_err(|e| {
                    err(KEY_ATTEMPT, format!("not a JSON object {{time, action, region, deployment, from, to, reason, before}} or empty: {e}"))
                })?),
            },
            fleet_nodes: match data.get(KEY_FLEET_NODES).map(|v| v.trim()) {
                None | Some("") => BTreeMap::new(),
                Some(text) => serde_json::from_str(text).map_err(|e| {
                    err(KEY_FLEET_NODES, format!("not a JSON object of region -> node count: {e}"))
                })?,
            },
            totals: match data.get(KEY_TICK_TOTALS).map(|v| v.trim()) {
                None | Some("") => None,
                Some(text) => Some(serde_json::from_str(text).map_err(|e| {
                    err(KEY_TICK_TOTALS, format!("not a JSON object of outcome -> whole number of ticks {{held, applied, replicasChanged, scaleFailed, scaleUnanswered, lostClaim}} or empty: {e}"))
                })?),
            },
            nodes: match data.get(KEY_NODES).map(|v| v.trim()).filter(|_| nodes) {
                None | Some("") => Snapshots::default(),
                Some(text) => Snapshots::read(text).map_err(|e| {
                    err(KEY_NODES, format!("not a JSON object of cluster -> {{readAt, selector, groups, notReady, unmetered}} or empty (an empty value makes the next tick read every node again): {e}"))
                })?,
            },
            last_failure: data
                .get(KEY_LAST_FAILURE)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            extra: data
                .iter()
                .filter(|(k, _)| !known.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }

    /// The state with every time later than `now` (beyond `MAX_CLOCK_SKEW_SECS`) brought back
    /// to `now`, and a warning naming each such key. A time in the future would otherwise
    /// freeze what depends on it: a cooldown, a cached carbon value that never ages, a ledger
    /// that stops. A Retry-After is kept up to the day the carbon cache allows.
    pub fn clamp_future(self, now: i64) -> (State, Vec<String>) {
        let mut state = self;
        let mut warnings = Vec::new();
        let mut clamp = |key: String, time: &mut i64, latest: i64| {
            if *time > latest + MAX_CLOCK_SKEW_SECS {
                warnings.push(format!(
                    "state key {key} is {} ahead of this tick's clock; taken as {}",
                    crate::duration::format_secs(*time - now),
                    to_rfc3339(latest)
                ));
                *time = latest;
            }
        };
        let p = &mut state.policy;
        for (key, record) in [
            (KEY_LAST_SCALE, &mut p.last_scale),
            (KEY_LAST_HEAL, &mut p.last_heal),
            (KEY_LAST_REBALANCE, &mut p.last_rebalance),
        ] {
            if let Some(r) = record {
                clamp(format!("{key}.time"), &mut r.time, now);
            }
        }
        if let Some(m) = &mut p.pending_move {
            clamp(format!("{KEY_PENDING_MOVE}.started"), &mut m.started, now);
        }
        if let Some(a) = &mut state.attempt {
            clamp(format!("{KEY_ATTEMPT}.time"), &mut a.time, now);
        }
        for (region, entry) in &mut state.carbon {
            if let Some(t) = &mut entry.fetched_at {
                clamp(format!("{KEY_CARBON}.{region}.fetchedAt"), t, now);
            }
            if let Some(t) = &mut entry.retry_after {
                let latest = now + MAX_RETRY_AFTER_SECS;
                clamp(format!("{KEY_CARBON}.{region}.retryAfter"), t, latest);
            }
        }
        if let Some(l) = &mut state.ledger {
            clamp(format!("{KEY_LEDGER}.since"), &mut l.since, now);
            clamp(format!("{KEY_LEDGER}.last"), &mut l.last, now);
        }
        state.nodes.clamp_read_at(|cluster, read_at| {
            clamp(format!("{KEY_NODES}.{cluster}.readAt"), read_at, now)
        });
        (state, warnings)
    }

    /// The data to write, checked to read back as this very state: a value this reader would
    /// refuse (a number that is not finite, for one) is never written, because every later
    /// tick would stop at it. Node snapshots written back as the text they were read from are
    /// not read again: that text was read into them.
    pub fn checked_data(&self) -> Result<BTreeMap<String, String>, StateError> {
        let data = self.to_data();
        let as_read = self.nodes.as_read();
        let mut read = State::read(&data, !as_read)?;
        if as_read {
            // The same shared snapshots: equal without comparing their names.
            read.nodes = self.nodes.clone();
        }
        if read == *self {
            return Ok(data);
        }
        let read = State::from_data(&data)?;
        let reread = read.to_data();
        let key = data
            .iter()
            .find(|(k, v)| reread.get(*k) != Some(v))
            .map_or(KEY_VERSION, |(k, _)| k.as_str());
        Err(err(key, "would not read back as written"))
    }

    pub fn to_data(&self) -> BTreeMap<String, String> {
        let mut data = self.extra.clone();
        data.insert(KEY_VERSION.into(), FORMAT_VERSION.into());
        data.insert(KEY_HOLD_UP.into(), self.policy.hold_up.to_string());
        data.insert(KEY_HOLD_DOWN.into(), self.policy.hold_down.to_string());
        data.insert(
            KEY_LAST_SCALE.into(),
            render_action(&self.policy.last_scale),
        );
        data.insert(KEY_LAST_HEAL.into(), render_action(&self.policy.last_heal));
        data.insert(KEY_CARBON.into(), render(&self.carbon));
        // Written only when used, so a state from before rebalancing existed reads the same.
        if let Some(record) = &self.policy.last_rebalance {
            data.insert(KEY_LAST_REBALANCE.into(), render(record));
        }
        if let Some(pending) = &self.policy.pending_move {
            data.insert(KEY_PENDING_MOVE.into(), render(pending));
        }
        if let Some(ledger) = &self.ledger {
            data.insert(KEY_LEDGER.into(), render(ledger));
        }
        if let Some(failure) = &self.last_failure {
            data.insert(KEY_LAST_FAILURE.into(), failure.clone());
        }
        if let Some(attempt) = &self.attempt {
            data.insert(KEY_ATTEMPT.into(), render(attempt));
        }
        if !self.fleet_nodes.is_empty() {
            data.insert(KEY_FLEET_NODES.into(), render(&self.fleet_nodes));
        }
        if let Some(totals) = &self.totals {
            data.insert(KEY_TICK_TOTALS.into(), render(totals));
        }
        if !self.nodes.is_empty() {
            data.insert(KEY_NODES.into(), self.nodes.text());
        }
        data
    }
}

fn counter(data: &BTreeMap<String, String>, key: &str) -> Result<u32, StateError> {
    match data.get(key).map(|v| v.trim()) {
        None | Some("") => Ok(0),
        Some(text) => text
            .parse()
            .map_err(|_| err(key, format!("{text:?} is not a whole number of ticks"))),
    }
}

fn action(data: &BTreeMap<String, String>, key: &str) -> Result<Option<ActionRecord>, StateError> {
    let text = match data.get(key).map(|v| v.trim()) {
        None | Some("") => return Ok(None),
        Some(text) => text,
    };
    serde_json::from_str(text).map(Some).map_err(|e| {
        err(
            key,
            format!("not a JSON object {{time, action, region, from, to}} or empty: {e}"),
        )
    })
}

fn pending_move(data: &BTreeMap<String, String>) -> Result<Option<PendingMove>, StateError> {
    let text = match data.get(KEY_PENDING_MOVE).map(|v| v.trim()) {
        None | Some("") => return Ok(None),
        Some(text) => text,
    };
    serde_json::from_str(text).map(Some).map_err(|e| {
        err(
            KEY_PENDING_MOVE,
            format!(
                "not a JSON object {{to, toReplicas, from, fromReplicas, started}} or empty: {e}"
            ),
        )
    })
}

fn render<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("state values serialise")
}

fn render_action(record: &Option<ActionRecord>) -> String {
    record.as_ref().map(render).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node_names::NodeNames;
    use crate::policy::Action;

    fn full() -> State {
        let mut carbon = BTreeMap::new();
        carbon.insert(
            "france".to_string(),
            CarbonEntry {
                zone: "FR".into(),
                grams_per_kwh: Some(38.5),
                datetime: Some("2026-11-30T09:00:00.000Z".into()),
                fetched_at: Some(1_800_000_000),
                emission_factor_type: Some("lifecycle".into()),
                is_estimated: Some(true),
                last_error: Some("HTTP 429 for zone FR".into()),
                retry_after: Some(1_800_000_030),
                forecast_grams_per_kwh: Some(41.25),
                forecast_hours: Some(2),
                forecast_error: Some("zone FR: HTTP 403".into()),
            },
        );
        State {
            policy: PolicyState {
                hold_up: 2,
                hold_down: 0,
                last_scale: Some(ActionRecord {
                    time: 1_800_000_060,
                    action: Action::ScaleUp,
                    region: "france".into(),
                    from: 2,
                    to: 3,
                }),
                last_heal: None,
                last_rebalance: Some(ActionRecord {
                    time: 1_800_000_120,
                    action: Action::Rebalance,
                    region: "france".into(),
                    from: 3,
                    to: 4,
                }),
                pending_move: Some(PendingMove {
                    to: "france".into(),
                    to_replicas: 4,
                    from: "latvia".into(),
                    from_replicas: 2,
                    started: 1_800_000_120,
                }),
            },
            carbon,
            last_failure: Some("2027-01-15T08:01:00Z scale up france 2->3 failed: HTTP 500".into()),
            ledger: Some(Ledger {
                since: 1_800_000_000,
                last: 1_800_000_060,
                regions: [(
                    "france".to_string(),
                    crate::ledger::RegionLedger {
                        replica_seconds: 120.0,
                        intensity_replica_seconds: 4620.0,
                    },
                )]
                .into(),
                blind_intensity_replica_seconds: 9000.0,
                unknown_replica_seconds: 0.0,
                signals: vec!["lifecycle".into()],
            }),
            fleet_nodes: [("france".to_string(), 3)].into(),
            nodes: BTreeMap::from([(
                crate::node_snapshot::ONE_CLUSTER.to_string(),
                crate::node_snapshot::NodeSnapshot {
                    read_at: 1_800_000_000,
                    selector: "region,!node-role.kubernetes.io/control-plane".into(),
                    groups: vec![crate::node_snapshot::NodeGroup {
                        region: Some("france".into()),
                        cpu: Some("3900m".into()),
                        nodes: NodeNames::join(["worker-france"]).unwrap(),
                    }],
                    not_ready: NodeNames::default(),
                    unmetered: NodeNames::join(["worker-france"]).unwrap(),
                },
            )])
            .into(),
            totals: Some(Totals {
                held: 40,
                applied: 2,
                scale_unanswered: 1,
                ..Totals::default()
            }),
            attempt: Some(Attempt {
                time: 1_800_000_120,
                action: Action::Rebalance,
                region: "france".into(),
                deployment: "nginx-france".into(),
                from: 3,
                to: 4,
                reason: "rebalance 1/2: france 3->4, 227 g/kWh cleaner than latvia".into(),
                unanswered: true,
                before: PolicyState {
                    hold_up: 2,
                    ..PolicyState::default()
                },
            }),
            extra: [("note".to_string(), "set by hand".to_string())].into(),
        }
    }

    #[test]
    fn round_trips_and_keeps_unknown_keys() {
        let state = full();
        let data = state.to_data();
        assert_eq!(data["formatVersion"], "1");
        assert_eq!(data["holdUp"], "2");
        assert_eq!(
            data["lastScale"],
            r#"{"time":"2027-01-15T08:01:00Z","action":"scale_up","region":"france","from":2,"to":3}"#
        );
        assert_eq!(data["note"], "set by hand");
        assert_eq!(
            data["tickTotals"],
            r#"{"held":40,"applied":2,"replicasChanged":0,"scaleFailed":0,"scaleUnanswered":1,"lostClaim":0}"#
        );
        assert_eq!(State::from_data(&data).unwrap(), state);
    }

    /// A state written by carbonctl 0.1.0 (captured from its binary driven through a heal, a
    /// scale, a refused scale, a rate-limited carbon fetch and a rebalancing step) loads, and
    /// is written back byte for byte.
    #[test]
    fn a_state_written_by_0_1_0_loads_and_writes_back_unchanged() {
        let data: BTreeMap<String, String> = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/state-0.1.0.json"
        )))
        .unwrap();
        let state = State::from_data(&data).unwrap();
        let policy = &state.policy;
        assert!(policy.last_scale.is_some() && policy.last_heal.is_some());
        assert!(policy.last_rebalance.is_some() && policy.pending_move.is_some());
        assert!(state.ledger.is_some() && state.last_failure.is_some());
        assert_eq!(state.carbon["france"].zone, "FR");
        assert!(state.carbon["france"].retry_after.is_some());
        assert_eq!(state.totals, None, "no totals before they existed: zero");
        assert_eq!(state.to_data(), data);
    }

    #[test]
    fn empty_data_and_the_shipped_initial_state_are_fresh() {
        assert_eq!(
            State::from_data(&BTreeMap::new()).unwrap(),
            State::default()
        );
        // state-configmap.yaml ships only the version, so `kubectl apply` never resets the rest.
        let shipped =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/state-configmap.yaml"))
                .unwrap();
        let data = shipped
            .split("\ndata:\n")
            .nth(1)
            .expect("the file has data");
        assert_eq!(data.trim(), "formatVersion: \"1\"");
        let initial: BTreeMap<String, String> =
            [("formatVersion".to_string(), "1".to_string())].into();
        assert_eq!(State::from_data(&initial).unwrap(), State::default());
        assert_eq!(
            State::from_data(&State::default().to_data()).unwrap(),
            State::default()
        );
    }

    #[test]
    fn times_ahead_of_the_clock_are_brought_back_and_named() {
        let state = full();
        let now = 1_800_000_000;
        let (same, warnings) = state.clone().clamp_future(now + 1_000);
        assert_eq!((same, warnings.len()), (state.clone(), 0));
        // Within the skew: kept. Beyond it: brought back to now (a Retry-After to a day).
        let (clamped, warnings) = state.clone().clamp_future(now - 3_600);
        let joined = warnings.join("\n");
        for key in [
            "lastScale.time",
            "lastRebalance.time",
            "pendingMove.started",
            "attempt.time",
            "carbon.france.fetchedAt",
            "ledger.since",
            "ledger.last",
        ] {
            assert!(
                joined.contains(&format!("state key {key} is ")),
                "{key}: {joined}"
            );
        }
        assert_eq!(clamped.policy.last_scale.unwrap().time, now - 3_600);
        assert_eq!(clamped.carbon["france"].retry_after, Some(1_800_000_030));
        let (far, warnings) = state.clone().clamp_future(now - 2 * 86_400);
        assert_eq!(
            far.carbon["france"].retry_after,
            Some(now - 2 * 86_400 + 86_400)
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("carbon.france.retryAfter is 48h30s ahead")),
            "{warnings:?}"
        );
    }

    #[test]
    fn node_snapshots_read_are_written_back_as_read_and_changed_ones_anew() {
        let mut data = full().to_data();
        let spaced = data[KEY_NODES].replace("\":\"", "\": \"");
        data.insert(KEY_NODES.into(), spaced.clone());
        let mut state = State::from_data(&data).unwrap();
        assert_eq!(state, full());
        assert_eq!(state.checked_data().unwrap()[KEY_NODES], spaced);
        let mut snapshots: BTreeMap<_, _> = state
            .nodes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        snapshots
            .values_mut()
            .for_each(|s| std::sync::Arc::make_mut(s).read_at += 60);
        state.nodes.replace(snapshots);
        let written = state.checked_data().unwrap();
        assert_ne!(written[KEY_NODES], spaced);
        assert_eq!(State::from_data(&written).unwrap(), state);
        // The other keys are still checked while the snapshots are written as read.
        let mut broken = State::from_data(&data).unwrap();
        broken.carbon.get_mut("france").unwrap().grams_per_kwh = Some(f64::NAN);
        assert!(broken.nodes.as_read());
        assert_eq!(broken.checked_data().unwrap_err().key, "carbon");
    }

    #[test]
    fn a_time_is_clamped_only_beyond_the_allowed_skew() {
        let state = full();
        let at = state.policy.last_scale.as_ref().unwrap().time;
        let named = |warnings: &[String]| warnings.iter().any(|w| w.contains("lastScale.time"));
        let (kept, warnings) = state.clone().clamp_future(at - MAX_CLOCK_SKEW_SECS);
        assert_eq!(
            kept.policy.last_scale.unwrap().time,
            at,
            "exactly the skew ahead"
        );
        assert!(!named(&warnings), "{warnings:?}");
        let now = at - MAX_CLOCK_SKEW_SECS - 1;
        let (clamped, warnings) = state.clone().clamp_future(now);
        assert_eq!(
            clamped.policy.last_scale.unwrap().time,
            now,
            "a second beyond it"
        );
        assert!(named(&warnings), "{warnings:?}");
    }

    #[test]
    fn a_state_that_would_not_read_back_is_never_written() {
        assert!(full().checked_data().is_ok());
        let mut broken = full();
        broken
            .ledger
            .as_mut()
            .unwrap()
            .blind_intensity_replica_seconds = f64::INFINITY;
        let error = broken.checked_data().unwrap_err();
        assert_eq!(error.key, "ledger", "{error}");
        let mut broken = full();
        broken.carbon.get_mut("france").unwrap().grams_per_kwh = Some(f64::NAN);
        assert_eq!(broken.checked_data().unwrap_err().key, "carbon");
    }

    #[test]
    fn damage_is_refused_naming_the_key() {
        let cases: &[(&str, &str, &str)] = &[
            ("formatVersion", "2", "version \"2\" is not one this carbonctl reads"),
            ("holdUp", "many", "\"many\" is not a whole number"),
            ("holdDown", "-1", "is not a whole number"),
            ("lastScale", "{\"time\":\"noon\"}", "not a JSON object {time, action, region, from, to}"),
            ("lastHeal", "{\"time\":\"2026-11-30T09:00:00Z\",\"action\":\"jump\",\"region\":\"x\",\"from\":1,\"to\":2}", "not a JSON object"),
            ("carbon", "[1,2]", "not a JSON object of region"),
            ("ledger", "{\"since\":5}", "not a JSON ledger"),
            ("pendingMove", "{\"to\":\"france\"}", "not a JSON object {to, toReplicas, from, fromReplicas, started}"),
            ("attempt", "{\"time\":\"2026-11-30T09:00:00Z\"}", "not a JSON object {time, action, region, deployment, from, to, reason, before}"),
            ("carbon", "{\"france\":{\"zone\":\"FR\",\"gramsPerKwh\":1,\"fetchedAt\":\"soon\"}}", "RFC 3339"),
            ("tickTotals", "{\"held\":-1}", "not a JSON object of outcome -> whole number of ticks"),
            ("tickTotals", "{\"held\":2.5}", "whole number of ticks"),
            ("tickTotals", "{\"hold\":3}", "unknown field `hold`"),
            ("tickTotals", "12", "{held, applied, replicasChanged, scaleFailed, scaleUnanswered, lostClaim}"),
        ];
        for (key, value, want) in cases {
            let mut data = full().to_data();
            data.insert(key.to_string(), value.to_string());
            let err = State::from_data(&data).expect_err(key);
            assert_eq!(err.key, *key);
            assert!(err.to_string().contains(want), "{key}: {err}");
        }
        let mut data = full().to_data();
        data.remove("formatVersion");
        assert_eq!(State::from_data(&data).unwrap_err().key, "formatVersion");
    }
}
