//! What one tick decided, as data: hold, or change one region by one replica, with the figures
//! that led there. The sentence a person reads is made from these by `render::decision`, only
//! when something shows it, so a replay of a year of ticks builds no text.

use serde::{Deserialize, Serialize};

use super::rank::Direction;
use super::{ActionRecord, CarbonUnit, CpuTrigger, Unhealthy};

/// A change of one region's replicas, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    ScaleUp,
    ScaleDown,
    Heal,
    Rebalance,
}

impl Action {
    pub fn label(self) -> &'static str {
        match self {
            Action::ScaleUp => "scale_up",
            Action::ScaleDown => "scale_down",
            Action::Heal => "heal",
            Action::Rebalance => "rebalance",
        }
    }

    /// A scale the CPU rule made: the kind that starts a cooldown.
    pub fn is_cpu_driven(self) -> bool {
        matches!(self, Action::ScaleUp | Action::ScaleDown)
    }
}

/// Boxed where rare and large, so that the common answer, a hold, stays small to pass along.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Hold(Hold),
    Change(Box<Change>),
}

impl Decision {
    /// The change's kind; None for a hold.
    pub fn action(&self) -> Option<Action> {
        self.change().map(|c| c.action)
    }

    pub fn change(&self) -> Option<&Change> {
        match self {
            Decision::Change(change) => Some(change),
            Decision::Hold(_) => None,
        }
    }

    pub fn region(&self) -> Option<&str> {
        self.change().map(|c| c.region.as_str())
    }

    pub fn to(&self) -> Option<i32> {
        self.change().map(|c| c.to)
    }

    /// The same decision, its carbon figures read in `unit` (a change's sentence names them).
    pub(super) fn in_unit(self, unit: CarbonUnit) -> Decision {
        match self {
            Decision::Change(mut change) => {
                change.unit = unit;
                Decision::Change(change)
            }
            hold => hold,
        }
    }

    /// The same decision, with a pending rebalancing move's cancellation attached.
    pub(super) fn cancelling(self, cancelled: Cancelled) -> Decision {
        let cancelled = Some(Box::new(cancelled));
        match self {
            Decision::Hold(hold) => Decision::Hold(Hold { cancelled, ..hold }),
            Decision::Change(change) => Decision::Change(Box::new(Change {
                cancelled,
                ..*change
            })),
        }
    }
}

/// Nothing changes this tick, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    pub why: HoldWhy,
    /// A pending rebalancing move dropped on this tick.
    pub cancelled: Option<Box<Cancelled>>,
}

impl From<HoldWhy> for Decision {
    fn from(why: HoldWhy) -> Decision {
        Decision::Hold(Hold {
            why,
            cancelled: None,
        })
    }
}

/// One region's Deployment goes from `from` to `to` replicas (always one apart).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub action: Action,
    pub region: String,
    /// The Deployment the change is made to.
    pub deployment: String,
    pub from: i32,
    pub to: i32,
    pub why: ChangeWhy,
    /// A pending rebalancing move dropped on this tick.
    pub cancelled: Option<Box<Cancelled>>,
    /// What the carbon figures in `why` are in.
    pub unit: CarbonUnit,
}

/// The CPU figure the rule compared, and how many nodes it rests on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuFigure {
    pub trigger: CpuTrigger,
    pub percent: f64,
    pub nodes: usize,
    /// Counted nodes without a fresh sample (read conservatively, see `signal`).
    pub missing: usize,
}

/// CPU on one side of the band, for `count` of `cycles` consecutive ticks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Breaching {
    pub cpu: CpuFigure,
    pub direction: Direction,
    pub threshold: f64,
    pub count: u32,
    pub cycles: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HoldWhy {
    /// No CPU figure this tick (metrics absent or stale).
    NoCpu { reason: String },
    InBand {
        cpu: CpuFigure,
        down: f64,
        up: f64,
        /// A rebalancing move the latest values called for, held back by the forecast.
        forecast_held: Option<Box<ForecastHeld>>,
    },
    /// A breach that has not lasted HOLD_CYCLES ticks yet.
    Breaching(Breaching),
    CoolingDown {
        breaching: Breaching,
        left_secs: i64,
        last: ActionRecord,
    },
    /// Every region is at its max (up) or min (down).
    AtLimit(Breaching),
    /// No region can grow: each is at its max or unhealthy (at least one unhealthy).
    NoRoom {
        breaching: Breaching,
        passed_over: Vec<AtItsLimit>,
    },
    /// A rebalancing move waits for its new replica to be ready.
    AwaitingReady {
        region: String,
        want: i32,
        ready: i32,
    },
    /// A rebalancing move waits for carbon values of both its regions.
    AwaitingCarbon { clean: String, dirty: String },
}

/// How much cleaner the clean region is forecast to be than the dirty one, on average over the
/// next `horizon_secs` (REBALANCE_FORECAST).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastGap {
    pub gap: f64,
    pub horizon_secs: i64,
}

/// A move the latest values called for, not started because the forecast gap is within the
/// margin.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastHeld {
    pub clean: String,
    pub dirty: String,
    pub gap: f64,
    pub forecast: ForecastGap,
}

/// A region passed over: at its limit (`limit`), or, when growing, unhealthy.
#[derive(Debug, Clone, PartialEq)]
pub struct AtItsLimit {
    pub region: String,
    pub limit: i32,
    pub unhealthy: Option<Unhealthy>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChangeWhy {
    /// The CPU rule: the cleanest region with room (up) or the dirtiest (down).
    Scale {
        breaching: Breaching,
        passed_over: Vec<AtItsLimit>,
        grams: Option<f64>,
    },
    /// Back toward the region's `bound` (its min when growing, its max when shrinking).
    Heal { bound: i32, grams: Option<f64> },
    /// Step 1: a replica added to the clean region. `gap` is None when the dirty region's
    /// carbon is unknown.
    RebalanceStart {
        dirty: String,
        gap: Option<f64>,
        clean_grams: f64,
        /// The forecast gap it also won by, when REBALANCE_FORECAST is on and both regions
        /// have a forecast.
        forecast: Option<ForecastGap>,
    },
    /// Step 2: a replica removed from the dirty region; `ready_in` names the clean region
    /// whose new replica is ready, None when CPU fell below the band.
    RebalanceComplete { ready_in: Option<String> },
    /// The clean region's new replica removed again.
    RebalanceRevert(Revert),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Revert {
    NoLongerCleaner {
        dirty: String,
    },
    TimedOut {
        waited_secs: i64,
        ready: i32,
        want: i32,
    },
}

/// A pending rebalancing move dropped without a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Cancelled {
    NotObserved { clean: String, dirty: String },
    ChangedBySomeone { clean: String, dirty: String },
    CpuAbove { clean: String },
    DirtyAtMin { dirty: String, clean: String },
}

impl From<Change> for Decision {
    fn from(change: Change) -> Decision {
        Decision::Change(Box::new(change))
    }
}

impl Change {
    /// A change of `region` (as ranked from `obs`) to `to` replicas.
    pub(super) fn of(
        obs: &super::Observation,
        region: &super::Ranked,
        action: Action,
        to: i32,
        why: ChangeWhy,
    ) -> Change {
        Change {
            action,
            region: region.name.to_string(),
            deployment: obs
                .regions
                .iter()
                .find(|r| r.name == region.name)
                .map(|r| r.deployment.clone())
                .unwrap_or_default(),
            from: region.replicas,
            to,
            why,
            cancelled: None,
            unit: CarbonUnit::GramsPerKwh,
        }
    }

    /// The change as remembered in the state.
    pub fn record(&self, now: i64) -> ActionRecord {
        ActionRecord {
            time: now,
            action: self.action,
            region: self.region.clone(),
            from: self.from,
            to: self.to,
        }
    }
}
