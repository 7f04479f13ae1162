//! The closing summary of a replay, from its tick records: the actions taken, each region's
//! replicas over time as a small text chart, and the grams the live ledger counted. Pure.

use std::collections::BTreeMap;

use carbonctl::backtest::trace::TickRecord;
use carbonctl::policy::Action;

/// Columns of the text chart: one per stretch of ticks, showing the stretch's last replicas.
const CHART_COLUMNS: usize = 72;
/// Replica counts drawn as one character: 0..=9, then `+`.
fn digit(replicas: i32) -> char {
    u32::try_from(replicas)
        .ok()
        .and_then(|n| char::from_digit(n, 10))
        .unwrap_or('+')
}

/// `signals`: the emission factor types the ledger's values rest on (`lifecycle`, `direct`).
pub fn text(records: &[TickRecord], regions: &[&str], watts: f64, signals: &[String]) -> String {
    let mut out = String::new();
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return "no ticks replayed\n".into();
    };
    out.push_str(&format!(
        "replayed {} ticks, {} .. {}\n",
        records.len(),
        first.time,
        last.time
    ));
    out.push_str(&actions_line(records));
    out.push_str(&format!(
        "replicas per region (one column per {} ticks; after each column's last tick):\n",
        records.len().div_ceil(CHART_COLUMNS)
    ));
    out.push_str(&chart(records, regions));
    let avoided = last.blind_grams - last.emitted_grams;
    let share = if last.blind_grams > 0.0 {
        format!(" ({:.1}%)", avoided / last.blind_grams * 100.0)
    } else {
        String::new()
    };
    out.push_str(&format!(
        "live ledger ({} intensity, {watts} W per replica): {:.3} gCO2eq emitted, {:.3} g for the same replicas kept even across the regions, {:.3} g avoided{share}\n",
        signals.join(" and "),
        last.emitted_grams,
        last.blind_grams,
        avoided
    ));
    out
}

fn actions_line(records: &[TickRecord]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for step in records.iter().filter_map(|r| r.decision.as_ref()) {
        *counts.entry(step.action.label()).or_default() += 1;
    }
    let kinds = [
        Action::ScaleUp,
        Action::ScaleDown,
        Action::Heal,
        Action::Rebalance,
    ];
    let parts: Vec<String> = kinds
        .iter()
        .map(|a| format!("{} {}", counts.get(a.label()).unwrap_or(&0), a.label()))
        .collect();
    let total: usize = counts.values().sum();
    format!("actions: {total} ({})\n", parts.join(", "))
}

/// One row per region: its replicas after each column's last tick.
fn chart(records: &[TickRecord], regions: &[&str]) -> String {
    let width = regions.iter().map(|r| r.len()).max().unwrap_or(0);
    let per_column = records.len().div_ceil(CHART_COLUMNS).max(1);
    let mut out = String::new();
    for region in regions {
        let row: String = records
            .chunks(per_column)
            .map(|chunk| digit(after(chunk.last().expect("chunks are not empty"), region)))
            .collect();
        out.push_str(&format!("  {region:>width$} {row}\n"));
    }
    out
}

/// A region's replicas after a tick: what it observed, moved by its change.
pub fn after(record: &TickRecord, region: &str) -> i32 {
    let before = record.replicas.get(region).copied().unwrap_or(0);
    match &record.decision {
        Some(step) if step.region == region => step.to,
        _ => before,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use carbonctl::backtest::trace::Step;

    fn record(
        time: &str,
        replicas: [i32; 2],
        decision: Option<Step>,
        grams: (f64, f64),
    ) -> TickRecord {
        TickRecord {
            time: time.into(),
            cpu: Some(50.0),
            replicas: [
                ("a".to_string(), replicas[0]),
                ("b".to_string(), replicas[1]),
            ]
            .into(),
            carbon: BTreeMap::new(),
            decision,
            emitted_grams: grams.0,
            blind_grams: grams.1,
        }
    }

    #[test]
    fn the_summary_counts_actions_charts_replicas_and_takes_the_last_ledger() {
        let up = Step {
            action: Action::ScaleUp,
            region: "b".into(),
            from: 1,
            to: 2,
        };
        let records = [
            record("t0", [1, 1], None, (0.0, 0.0)),
            record("t1", [1, 1], Some(up), (1.0, 1.5)),
            record("t2", [1, 2], None, (2.0, 3.0)),
        ];
        let text = text(&records, &["a", "b"], 2.4, &["lifecycle".to_string()]);
        assert!(text.contains("replayed 3 ticks, t0 .. t2"), "{text}");
        assert!(
            text.contains("actions: 1 (1 scale_up, 0 scale_down, 0 heal, 0 rebalance)"),
            "{text}"
        );
        assert!(text.contains("  a 111\n  b 122\n"), "{text}");
        assert!(
            text.contains("2.000 gCO2eq emitted, 3.000 g for the same replicas"),
            "{text}"
        );
        assert!(text.contains("1.000 g avoided (33.3%)"), "{text}");
        assert_eq!(digit(12), '+');
    }
}
