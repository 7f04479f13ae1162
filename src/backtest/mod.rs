//! Replaying the policy over recorded grid carbon and demand, to check before deploying that
//! carbonctl avoids grams without hurting service. Parsers, the replay model, floors mode and the
//! HPA it models, and the report each live in their own file (the table and the chart are drawn
//! in `render`); `cmd::backtest` wires them to the command line.

pub mod carbon_csv;
pub mod demand;
pub mod floors;
pub mod forecast;
pub mod hpa;
pub mod input_file;
pub mod model;
pub mod region_input;
pub mod report;
pub mod seen;
pub mod series;
pub mod sweep;
pub mod trace;
