//! `backtest --sweep`'s table: one row per combination of settings, best carbon first, the
//! Pareto-optimal rows (nothing beats them on carbon, actions and under-provisioning at once)
//! marked.

use comfy_table::CellAlignment;

use super::table;
use crate::backtest::sweep::Sweep;

pub fn sweep_table(sweep: &Sweep) -> String {
    let mut t = table();
    let mut header: Vec<String> = sweep.axes.clone();
    header.extend(
        [
            "kgCO2eq",
            "carbon-blind kg",
            "share captured",
            "actions/h",
            "under-provisioned min",
            "replica-h",
            "Pareto",
        ]
        .map(String::from),
    );
    t.set_header(header);
    for row in &sweep.rows {
        let mut cells: Vec<String> = row.settings.iter().map(|(_, v)| v.clone()).collect();
        cells.extend([
            format!("{:.4}", row.policy_kg),
            format!("{:.4}", row.blind_kg),
            row.share_captured
                .map_or("n/a".to_string(), |s| format!("{:.1}%", s * 100.0)),
            format!("{:.3}", row.actions_per_hour),
            format!("{:.0}", row.under_provisioned_minutes),
            format!("{:.1}", row.replica_hours),
            if row.pareto { "*" } else { "" }.to_string(),
        ]);
        t.add_row(cells);
    }
    for col in sweep.axes.len()..sweep.axes.len() + 6 {
        if let Some(c) = t.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    format!(
        "sweep {} .. {} ({:.1} days), regions {}, demand {}\n{t}\n\
         * Pareto-optimal: no other row has less carbon, fewer actions and no more under-provisioned minutes",
        sweep.period.from,
        sweep.period.to,
        sweep.period.days,
        sweep.regions.join(","),
        sweep.demand,
    )
}
