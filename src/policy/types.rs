use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Action;
pub use crate::choices::CpuTrigger;

/// Replica floor and ceiling of one region's Deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds {
    pub min: i32,
    pub max: i32,
}

impl Bounds {
    /// The bounds of a region's autoscaler floor (SCALE_TARGET=hpa-min): within these bounds,
    /// never above the autoscaler's `maxReplicas`, and at 1 or more unless `zero_allowed` (the
    /// API refuses an HPA `minReplicas` of 0; KEDA's `minReplicaCount` allows it). The live tick
    /// and the backtest's floors mode both bound the rule by it.
    pub fn for_floor(self, autoscaler_max: i32, zero_allowed: bool) -> Bounds {
        let lowest = if zero_allowed { 0 } else { 1 };
        let max = self.max.min(autoscaler_max);
        Bounds {
            min: self.min.max(lowest).min(max),
            max,
        }
    }
}

/// What the carbon values the rule ranks on measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CarbonUnit {
    /// gCO2eq/kWh: ElectricityMaps, the UK Carbon Intensity API, static sources.
    #[default]
    GramsPerKwh,
    /// WattTime's 0-100 index of the marginal rate against the region's recent past: it ranks
    /// regions, and is never turned into grams.
    Index,
}

/// The rule's parameters, already validated (see `config`).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub scale_up_threshold: f64,
    pub scale_down_threshold: f64,
    pub hold_cycles: u32,
    /// Seconds after a CPU-driven action during which no other CPU-driven action happens.
    pub cooldown_secs: i64,
    pub trigger: CpuTrigger,
    /// Bounds for a region without an override.
    pub default_bounds: Bounds,
    pub region_bounds: BTreeMap<String, Bounds>,
    /// A carbon value fetched longer ago than this ranks as unknown.
    pub carbon_max_staleness_secs: i64,
    /// Move a replica from the dirtiest to the cleanest region when CPU is inside the band and
    /// they differ by more than this many gCO2eq/kWh; None leaves placement to CPU-driven scaling.
    pub rebalance_margin: Option<f64>,
    /// A rebalancing move whose new replica is not ready by then is reverted.
    pub rebalance_ready_timeout_secs: i64,
    /// With a horizon, a move also has to win by the margin on both regions' mean forecast
    /// intensity over it (when both have one): a region cleaner now but dirtier for most of
    /// the next hours is not worth two replica changes.
    pub rebalance_forecast_secs: Option<i64>,
    /// What the carbon values, and so REBALANCE_MARGIN, are in.
    pub carbon_unit: CarbonUnit,
}

impl Policy {
    #[inline]
    pub fn bounds(&self, region: &str) -> Bounds {
        if self.region_bounds.is_empty() {
            return self.default_bounds;
        }
        self.region_bounds
            .get(region)
            .copied()
            .unwrap_or(self.default_bounds)
    }
}

/// Cluster CPU as seen this tick, or why it could not be seen.
#[derive(Debug, Clone, PartialEq)]
pub enum CpuObservation {
    /// Figures over the `nodes` that reported; `missing` counted nodes had no fresh sample.
    Known {
        average: f64,
        max: f64,
        nodes: usize,
        missing: usize,
    },
    Missing {
        reason: String,
    },
}

/// One grid-carbon value as the carbon API reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct CarbonReading {
    pub grams_per_kwh: f64,
    /// Unix seconds at which the value was last fetched successfully.
    pub fetched_at: i64,
    /// The mean forecast intensity over REBALANCE_FORECAST, fetched with the value; None when
    /// forecasts are off or the provider gave none.
    pub forecast_grams: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegionObservation {
    pub name: String,
    /// The region's Deployment, which a change to this region is made to.
    pub deployment: String,
    pub replicas: i32,
    /// Replicas the Deployment reports ready (make-before-break rebalancing waits for them).
    pub ready: i32,
    /// Replicas the Deployment reports available; fewer than `replicas` means pods that could
    /// not be placed or did not start.
    pub available: i32,
    /// The region's nodes, when they were observed (a replay has none).
    pub nodes: Option<NodeCount>,
    pub carbon: Option<CarbonReading>,
}

/// A region's worker nodes, and how many of them can take a pod (ready and schedulable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeCount {
    pub total: usize,
    pub ready: usize,
}

/// Why a region is not given another replica although it has room below its max.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unhealthy {
    /// It has nodes, but none of them is ready and schedulable: a new pod could not start.
    NoReadyNode { nodes: usize },
    /// Some of its replicas are not available: the last one it was given has not started.
    Unavailable { unavailable: i32, replicas: i32 },
}

impl RegionObservation {
    /// Whether the region can take another replica now. A region without any node is not held
    /// back by this rule (a cluster autoscaler adds nodes for pending pods); its pending pod
    /// then holds it back as unavailable.
    #[inline]
    pub fn unhealthy(&self) -> Option<Unhealthy> {
        if let Some(n) = self.nodes.filter(|n| n.total > 0 && n.ready == 0) {
            return Some(Unhealthy::NoReadyNode { nodes: n.total });
        }
        let unavailable = self.replicas - self.available;
        (unavailable > 0).then_some(Unhealthy::Unavailable {
            unavailable,
            replicas: self.replicas,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub cpu: CpuObservation,
    pub regions: Vec<RegionObservation>,
}

/// A replica change that was decided, remembered in the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionRecord {
    /// Unix seconds, stored as RFC 3339 text so people can read and edit it.
    #[serde(with = "crate::clock::rfc3339")]
    pub time: i64,
    pub action: Action,
    pub region: String,
    pub from: i32,
    pub to: i32,
}

/// The part of the persisted state that the rule reads and writes. It is stored key by key in
/// the state ConfigMap, and as one JSON object where a copy of it is kept (an attempt's
/// memory from before the change).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyState {
    /// Consecutive ticks above the up-threshold (capped at the hold count).
    #[serde(default)]
    pub hold_up: u32,
    /// Consecutive ticks below the down-threshold (capped at the hold count).
    #[serde(default)]
    pub hold_down: u32,
    /// The last CPU-driven scale; the cooldown counts from its time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scale: Option<ActionRecord>,
    /// The last healing step; kept apart so healing never starts or extends a cooldown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heal: Option<ActionRecord>,
    /// The last rebalancing step; a new move waits COOLDOWN after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rebalance: Option<ActionRecord>,
    /// A rebalancing move between its two steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_move: Option<super::rebalance::PendingMove>,
}

impl PolicyState {
    /// What a tick that `holds_quietly` does to the state: a tick inside the band starts the
    /// hold counts again.
    pub fn hold_quietly(&mut self) {
        self.hold_up = 0;
        self.hold_down = 0;
    }

    /// Seconds of cooldown left at `now`, if any.
    #[inline]
    pub fn cooldown_left(&self, policy: &Policy, now: i64) -> Option<i64> {
        let last = self.last_scale.as_ref()?;
        let left = last.time + policy.cooldown_secs - now;
        (left > 0).then_some(left)
    }
}
