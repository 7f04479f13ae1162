//! Replaying the policy over recorded grid carbon and demand, to check before deploying that
//! carbonctl avoids grams without hurting service. Parsers, the replay model, the report and
//! the chart each live in their own file; `cmd::backtest` wires them to the command line.

pub mod carbon_csv;
pub mod chart;
pub mod demand;
pub mod model;
pub mod report;
pub mod series;
