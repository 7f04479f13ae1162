//! A settings sweep: the same recorded inputs replayed once per combination of the values
//! given for a few policy settings, so a user can pick settings by what they cost and save.
//! Pure: which combinations, and which results are on the Pareto front.

use serde::Serialize;

use crate::cli::PolicyArgs;
use crate::config::{bad, ConfigError};

/// The settings a replay depends on, as `--sweep NAME=V1,V2,...` names them.
pub const SWEEPABLE: [&str; 8] = [
    "scale-up-threshold",
    "scale-down-threshold",
    "hold-cycles",
    "cooldown",
    "min-replicas",
    "max-replicas",
    "rebalance-margin",
    "rebalance-ready-timeout",
];

/// One swept setting and its values, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub name: String,
    pub values: Vec<String>,
}

/// The most combinations one sweep runs: a year of three regions replays in a few hundredths
/// of a second, so this is minutes of work at most.
pub const MAX_COMBINATIONS: usize = 1_000;

/// Reads `NAME=V1,V2,...` specs; each name once, each a setting the replay depends on.
pub fn axes(specs: &[String]) -> Result<Vec<Axis>, ConfigError> {
    let mut axes: Vec<Axis> = Vec::new();
    for spec in specs {
        let (name, values) = spec.split_once('=').ok_or_else(|| {
            bad(
                "--sweep",
                spec,
                "write NAME=V1,V2,..., e.g. hold-cycles=1,3,5",
            )
        })?;
        let name = name.trim();
        if !SWEEPABLE.contains(&name) {
            return Err(bad(
                "--sweep",
                spec,
                format!(
                    "{name:?} is not a setting the replay depends on; sweep one of {}",
                    SWEEPABLE.join(", ")
                ),
            ));
        }
        if axes.iter().any(|a| a.name == name) {
            return Err(bad(
                "--sweep",
                spec,
                format!("{name} is swept twice; give all its values in one --sweep"),
            ));
        }
        let values: Vec<String> = values
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        if values.is_empty() {
            return Err(bad("--sweep", spec, format!("no values for {name}")));
        }
        axes.push(Axis {
            name: name.to_string(),
            values,
        });
    }
    let combinations: usize = axes.iter().map(|a| a.values.len()).product();
    if combinations > MAX_COMBINATIONS {
        return Err(bad(
            "--sweep",
            &specs.join(" "),
            format!("{combinations} combinations; sweep at most {MAX_COMBINATIONS} at once"),
        ));
    }
    Ok(axes)
}

/// Every combination of the axes' values, the first axis varying slowest.
pub fn combinations(axes: &[Axis]) -> Vec<Vec<(String, String)>> {
    axes.iter().fold(vec![Vec::new()], |partial, axis| {
        partial
            .iter()
            .flat_map(|combo| {
                axis.values.iter().map(move |v| {
                    let mut next = combo.clone();
                    next.push((axis.name.clone(), v.clone()));
                    next
                })
            })
            .collect()
    })
}

/// The base policy flags with one combination's values set.
pub fn with_values(base: &PolicyArgs, values: &[(String, String)]) -> PolicyArgs {
    let mut args = base.clone();
    for (name, value) in values {
        let value = value.clone();
        match name.as_str() {
            "scale-up-threshold" => args.scale_up_threshold = value,
            "scale-down-threshold" => args.scale_down_threshold = value,
            "hold-cycles" => args.hold_cycles = value,
            "cooldown" => args.cooldown = value,
            "min-replicas" => args.min_replicas = value,
            "max-replicas" => args.max_replicas = value,
            "rebalance-margin" => args.rebalance_margin = value,
            "rebalance-ready-timeout" => args.rebalance_ready_timeout = value,
            other => unreachable!("axes() admits only sweepable settings, not {other}"),
        }
    }
    args
}

/// What a combination achieved, in the units the sweep's table shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The swept settings and their values, in axis order.
    pub settings: Vec<(String, String)>,
    pub policy_kg: f64,
    pub blind_kg: f64,
    pub share_captured: Option<f64>,
    pub actions_per_hour: f64,
    pub under_provisioned_minutes: f64,
    pub replica_hours: f64,
    /// No other row has less carbon, fewer actions and no more under-provisioning, with at
    /// least one of them strictly better.
    pub pareto: bool,
}

/// A whole sweep as `-o json|yaml` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sweep {
    pub period: super::report::Period,
    /// `region=zone`, in configured order.
    pub regions: Vec<String>,
    pub demand: String,
    /// The swept settings, in the order the rows' settings list them.
    pub axes: Vec<String>,
    /// Sorted by carbon, then actions, then under-provisioning.
    pub rows: Vec<Row>,
}

/// Marks the Pareto-optimal rows (less carbon, fewer actions, no more under-provisioned
/// minutes) and sorts all rows by carbon, then actions, then under-provisioning.
pub fn rank_rows(mut rows: Vec<Row>) -> Vec<Row> {
    let key = |r: &Row| (r.policy_kg, r.actions_per_hour, r.under_provisioned_minutes);
    let dominated = |r: &Row, rows: &[Row]| {
        let (k, a, u) = key(r);
        rows.iter().any(|o| {
            let (ok, oa, ou) = key(o);
            ok <= k && oa <= a && ou <= u && (ok < k || oa < a || ou < u)
        })
    };
    let marks: Vec<bool> = rows.iter().map(|r| !dominated(r, &rows)).collect();
    for (row, pareto) in rows.iter_mut().zip(marks) {
        row.pareto = pareto;
    }
    rows.sort_by(|a, b| {
        let (ak, aa, au) = key(a);
        let (bk, ba, bu) = key(b);
        ak.total_cmp(&bk)
            .then(aa.total_cmp(&ba))
            .then(au.total_cmp(&bu))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn axes_combine_first_slowest_and_refuse_what_the_replay_ignores() {
        let a = axes(&specs(&["hold-cycles=1,3", "cooldown=1m, 3m ,10m"])).unwrap();
        let all = combinations(&a);
        assert_eq!(all.len(), 6);
        assert_eq!(
            all[1],
            [
                ("hold-cycles".to_string(), "1".to_string()),
                ("cooldown".to_string(), "3m".to_string())
            ]
        );
        assert_eq!(combinations(&[]), vec![Vec::new()]);
        let cases = [
            ("hold-cycles", "write NAME=V1,V2,..."),
            (
                "log-format=json",
                "\"log-format\" is not a setting the replay depends on",
            ),
            ("hold-cycles=", "no values for hold-cycles"),
        ];
        for (spec, want) in cases {
            let e = axes(&specs(&[spec])).unwrap_err().to_string();
            assert!(e.contains(want), "{spec}: {e}");
        }
        let twice = axes(&specs(&["cooldown=1m", "cooldown=2m"])).unwrap_err();
        assert!(twice.to_string().contains("cooldown is swept twice"));
        let many = vec!["1,2,3,4,5,6,7,8,9,10,11".to_string(); 3];
        let many: Vec<String> = ["hold-cycles", "cooldown", "max-replicas"]
            .iter()
            .zip(many)
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        assert!(axes(&many)
            .unwrap_err()
            .to_string()
            .contains("1331 combinations"));
    }

    #[test]
    fn the_pareto_front_is_what_nothing_beats_on_every_count() {
        let row = |kg: f64, actions: f64, under: f64| Row {
            settings: Vec::new(),
            policy_kg: kg,
            blind_kg: 20.0,
            share_captured: None,
            actions_per_hour: actions,
            under_provisioned_minutes: under,
            replica_hours: 0.0,
            pareto: false,
        };
        let rows = rank_rows(vec![
            row(10.0, 0.5, 100.0),
            row(9.0, 0.6, 100.0),
            row(9.0, 0.7, 100.0),
            row(11.0, 0.4, 50.0),
            row(12.0, 0.4, 60.0),
        ]);
        let marks: Vec<(f64, bool)> = rows.iter().map(|r| (r.policy_kg, r.pareto)).collect();
        assert_eq!(
            marks,
            [
                (9.0, true),
                (9.0, false),
                (10.0, true),
                (11.0, true),
                (12.0, false)
            ]
        );
    }
}
