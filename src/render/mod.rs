//! What users see: tables, JSON and YAML, as pure functions from data to text (snapshot-tested).

mod simulation;
mod status;
mod yaml;

use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;

pub use simulation::{simulation_table, SimRegion, SimTick, Simulation};
pub use status::{status_table, ActionView, LedgerView, RegionStatus, StatusReport};
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

/// Serialises any report for `-o json`.
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("report serialises")
}
