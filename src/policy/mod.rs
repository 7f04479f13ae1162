//! The pure core: given what a tick observed, the previous state, the policy and the time,
//! decide what (if anything) to change. Nothing in here performs I/O or reads a clock, so the
//! same code serves `tick`, `simulate` and any replay over recorded data.
//!
//! Inside, the dependencies run one way: `decide` uses healing, rebalancing and the CPU
//! `signal`; all of them pick regions through `rank` (ranking and choice) and speak in the
//! terms of `decision` and `types`.

mod decide;
mod decision;
mod heal;
mod rank;
mod rebalance;
mod signal;
mod types;

pub use decide::{decide, decide_mut, decide_ranked, holds_quietly};
pub use decision::{
    Action, AtItsLimit, Breaching, Cancelled, Change, ChangeWhy, CpuFigure, Decision, ForecastGap,
    ForecastHeld, Hold, HoldWhy, Revert,
};
pub use rank::{rank, Direction, Ranked};
pub use rebalance::PendingMove;
pub use types::{
    ActionRecord, Bounds, CarbonReading, CarbonUnit, CpuObservation, CpuTrigger, NodeCount,
    Observation, Policy, PolicyState, RegionObservation, Unhealthy,
};

#[cfg(test)]
mod tests;
