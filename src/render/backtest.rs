//! `backtest`'s report as a table: the regions, the three placements side by side, and the
//! share of achievable savings captured.

use comfy_table::CellAlignment;

use super::table;
use crate::backtest::report::{FloorsReport, ModeFigures, Report};

pub fn backtest_text(r: &Report) -> String {
    let mut regions = table();
    regions.set_header(vec![
        "region",
        "zone",
        "mean gCO2eq/kWh",
        "replica-h policy",
        "replica-h carbon-blind",
        "replica-h bound",
    ]);
    for g in &r.regions {
        regions.add_row(vec![
            g.region.clone(),
            g.zone.clone(),
            format!("{:.0}", g.mean_carbon),
            format!("{:.1}", g.replica_hours.policy),
            format!("{:.1}", g.replica_hours.blind),
            format!("{:.1}", g.replica_hours.bound),
        ]);
    }
    right_align(&mut regions, 2..6);

    let mut summary = table();
    summary.set_header(vec![
        "",
        "carbonctl policy",
        "carbon-blind",
        "placement bound",
    ]);
    let e = r.emissions_kg;
    summary.add_row(vec![
        "emissions kgCO2eq".to_string(),
        format!("{:.3}", e.policy),
        format!("{:.3}", e.blind),
        format!("{:.3}", e.bound),
    ]);
    let t = r.total_replica_hours;
    summary.add_row(vec![
        "replica-hours".to_string(),
        format!("{:.1}", t.policy),
        format!("{:.1}", t.blind),
        format!("{:.1}", t.bound),
    ]);
    let u = r.under_provisioned_minutes;
    summary.add_row(vec![
        "under-provisioned minutes".to_string(),
        format!("{:.0}", u.policy),
        format!("{:.0}", u.blind),
        format!("{:.0}", u.bound),
    ]);
    summary.add_row(vec![
        "scaling actions per day".to_string(),
        format!("{:.1}", r.scaling_actions_per_day.policy),
        format!("{:.1}", r.scaling_actions_per_day.blind),
        "-".to_string(),
    ]);
    right_align(&mut summary, 1..4);

    let share = match r.share_captured {
        Some(s) => format!(
            "{:.1}% = (blind - policy) / (blind - bound) = {:.1} g / {:.1} g",
            s * 100.0,
            r.avoided_kg * 1000.0,
            r.achievable_kg * 1000.0
        ),
        None => "n/a: no placement could have done better than keeping regions even".to_string(),
    };
    let floors = r.floors.as_ref().map(floors_text).unwrap_or_default();
    format!(
        "backtest {} .. {} ({:.1} days, {} ticks of {})\n\
         signal: {}: {}\n\
         demand: {}; {} (mean {:.2}, peak {:.2} replica-equivalents)\n\
         power: {} W per replica\n\
         {regions}\n{summary}\n\
         share of achievable savings captured: {share}\n\
         carbon-blind: {}\n\
         placement bound: {}{floors}",
        r.period.from,
        r.period.to,
        r.period.days,
        r.period.ticks,
        r.period.interval,
        r.signal,
        r.signal_note,
        r.demand.source,
        r.demand.note,
        r.demand.mean_replicas,
        r.demand.peak_replicas,
        r.watts_per_replica,
        r.counterfactuals.blind,
        r.counterfactuals.bound,
    )
}

/// Floors mode next to replicas mode, each against its own counterfactual, and what the
/// floors-mode figures rest on.
fn floors_text(f: &FloorsReport) -> String {
    let mut modes = table();
    modes.set_header(vec!["scale target", "replicas", "hpa-min"]);
    let row = |label: &str, show: &dyn Fn(&ModeFigures) -> String| {
        vec![label.to_string(), show(&f.replicas), show(&f.hpa_min)]
    };
    let share = |m: &ModeFigures| {
        m.share_captured
            .map_or("n/a".to_string(), |s| format!("{:.1}%", s * 100.0))
    };
    modes.add_row(row("emissions kgCO2eq", &|m| {
        format!("{:.3}", m.emissions_kg)
    }));
    modes.add_row(row("counterfactual kgCO2eq", &|m| {
        format!("{:.3}", m.counterfactual_kg)
    }));
    modes.add_row(row("avoided kgCO2eq", &|m| format!("{:.3}", m.avoided_kg)));
    modes.add_row(row("share of achievable savings captured", &share));
    modes.add_row(row("under-provisioned minutes", &|m| {
        format!("{:.0}", m.under_provisioned_minutes)
    }));
    modes.add_row(row("counterfactual under-provisioned minutes", &|m| {
        format!("{:.0}", m.counterfactual_under_provisioned_minutes)
    }));
    modes.add_row(row("replica-hours", &|m| format!("{:.1}", m.replica_hours)));
    modes.add_row(row("counterfactual replica-hours", &|m| {
        format!("{:.1}", m.counterfactual_replica_hours)
    }));
    modes.add_row(row("carbonctl actions per day", &|m| {
        format!("{:.1}", m.actions_per_day)
    }));
    modes.add_row(vec![
        "HPA rescales per day (counterfactual)".to_string(),
        "-".to_string(),
        format!(
            "{:.1} ({:.1})",
            f.hpa_rescales_per_day.policy, f.hpa_rescales_per_day.blind
        ),
    ]);
    right_align(&mut modes, 1..3);
    let h = &f.hpa;
    format!(
        "\n{modes}\n\
         replicas counterfactual: the carbon-blind rule above\n\
         hpa-min HPAs: target CPU {}%, tolerance {}, downscale stabilization {}, max replicas {}\n\
         hpa-min model: {}\n\
         hpa-min counterfactual: {}\n\
         hpa-min bound: {}",
        h.target_cpu,
        h.tolerance,
        h.downscale_stabilization,
        h.max_replicas.join(","),
        f.model,
        f.counterfactual,
        f.bound,
    )
}

fn right_align(table: &mut comfy_table::Table, columns: std::ops::Range<usize>) {
    for col in columns {
        if let Some(c) = table.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}
