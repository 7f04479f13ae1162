//! One real tick: the built `carbonctl tick` as its own process, under libfaketime (Debian's
//! `faketime`) set to the minute being replayed, so the clock the tick reads once (and every
//! time it stamps) is that minute; nothing in carbonctl knows it is being replayed. Its JSON log
//! lines are what the replay records and shows.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use carbonctl::backtest::trace::Step;
use carbonctl::clock::to_rfc3339;
use serde_json::Value;

/// What one tick logged, and its exit code.
pub struct Ticked {
    /// Every log line, one JSON object each.
    pub lines: Vec<Value>,
    pub success: bool,
}

impl Ticked {
    /// The tick's own line: the one carrying its decision.
    pub fn event(&self) -> Option<&Value> {
        self.lines.iter().find(|l| l.get("decision").is_some())
    }

    /// The average CPU the rule compared, as the line shows it (0.1).
    pub fn cpu(&self) -> Option<f64> {
        self.event()?["cpu"]["average"].as_f64()
    }

    /// The carbon the rule ranked on, per region (None: unknown or too old).
    pub fn carbon(&self) -> BTreeMap<String, Option<f64>> {
        let ranking = self.event().and_then(|e| e["carbon"].as_array());
        ranking
            .into_iter()
            .flatten()
            .filter_map(|r| Some((r["region"].as_str()?.to_string(), r["gramsPerKwh"].as_f64())))
            .collect()
    }

    /// The change this tick made, if it made one.
    pub fn change(&self) -> Result<Option<Step>> {
        let Some(event) = self.event() else {
            return Ok(None);
        };
        if event["outcome"] != "applied" {
            return Ok(None);
        }
        let decision = &event["decision"];
        let step = serde_json::from_value(decision.clone())
            .with_context(|| format!("a decision that is not a change: {decision}"))?;
        Ok(Some(step))
    }
}

/// libfaketime's absolute start time (`FAKETIME="@2022-10-31 06:00:00"`), read in UTC.
fn faketime_spec(now: i64) -> String {
    let text = to_rfc3339(now);
    format!("@{}", text.trim_end_matches('Z').replacen('T', " ", 1))
}

/// Runs `carbonctl tick` at `now` with `env` (the settings and how to reach the emulator).
pub fn run(carbonctl: &Path, env: &[(String, String)], now: i64) -> Result<Ticked> {
    // -m: carbonctl fetches carbon on threads; --exclude-monotonic keeps the tick's timeouts on
    // the real clock.
    let output = Command::new("faketime")
        .args(["-m", "-f", "--exclude-monotonic", &faketime_spec(now)])
        .arg(carbonctl)
        .arg("tick")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("TZ", "UTC")
        .env("LOG_FORMAT", "json")
        .output()
        .context("cannot run faketime (Debian package faketime; hack/setup.sh demo installs it)")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut lines = Vec::new();
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Value>(line) {
            Ok(value) => lines.push(value),
            Err(_) => bail!(
                "the tick at {} wrote a line that is not JSON: {line}",
                to_rfc3339(now)
            ),
        }
    }
    Ok(Ticked {
        lines,
        success: output.status.success(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn faketime_gets_the_minute_in_its_absolute_form() {
        assert_eq!(faketime_spec(1_667_196_000), "@2022-10-31 06:00:00");
    }

    #[test]
    fn the_change_is_read_only_from_an_applied_decision() {
        let line = |outcome: &str| {
            json!({"outcome": outcome, "cpu": {"average": 71.3},
            "carbon": [{"region": "france", "gramsPerKwh": 40.5}, {"region": "latvia", "gramsPerKwh": null}],
            "decision": {"action": "scale_up", "region": "france", "from": 2, "to": 3, "reason": "..."}})
        };
        let applied = Ticked {
            lines: vec![json!({"message": "a warning"}), line("applied")],
            success: true,
        };
        let step = applied.change().unwrap().unwrap();
        assert_eq!((step.region.as_str(), step.from, step.to), ("france", 2, 3));
        assert_eq!(applied.cpu(), Some(71.3));
        assert_eq!(applied.carbon()["latvia"], None);
        assert_eq!(applied.carbon()["france"], Some(40.5));
        let lost = Ticked {
            lines: vec![line("lost_claim")],
            success: true,
        };
        assert_eq!(lost.change().unwrap(), None);
    }
}
