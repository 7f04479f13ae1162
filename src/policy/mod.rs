//! The pure core: given what a tick observed, the previous state, the policy and the time,
//! decide what (if anything) to change. Nothing in here performs I/O or reads a clock, so the
//! same code serves `tick`, `simulate` and any replay over recorded data.

mod decide;
mod heal;
mod rank;
mod rebalance;
mod types;

pub use decide::{decide, pct};
pub use rank::{rank, Ranked};
pub use rebalance::PendingMove;
pub use types::{
    Action, ActionRecord, Bounds, CarbonReading, CpuObservation, CpuTrigger, Decision, Observation,
    Policy, PolicyState, RegionObservation,
};

#[cfg(test)]
mod tests;
