//! What users see: tables, JSON and YAML, log fields, decision sentences, numbers and flags, as
//! pure functions from data to text (snapshot-tested).

mod attempt;
mod backtest;
pub mod chart;
mod decision;
mod flag;
mod number;
mod simulation;
mod status;
mod sweep;
mod tick_line;
mod yaml;

use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;

pub use attempt::settlement_text;
pub use backtest::backtest_text;
pub use decision::{health_text, trigger_label, words};
pub use flag::flag;
pub use number::{pct, round1, unit_label};
pub use simulation::{simulation_table, SimRegion, SimTick, Simulation};
pub use status::{
    status_table, ActionView, AutoscalerStatus, LedgerView, RegionStatus, StatusReport,
};
pub use sweep::sweep_table;
pub use tick_line::{cpu_json, ranking_json, Durations, TickFields};
pub use yaml::to_yaml;

/// The house style of every table carbonctl prints: fixed width, no colour, so snapshots hold.
pub(crate) fn table() -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .force_no_tty();
    table
}

/// Writes a command's output to stdout. A reader that stops early (`carbonctl status | head -1`)
/// ends the output quietly; any other write error is reported.
pub fn print(text: &str) -> Result<(), crate::error::Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(crate::error::Error::Output(e)),
        _ => Ok(()),
    }
}

/// Serialises any report for `-o json`.
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("report serialises")
}
