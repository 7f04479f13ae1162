//! One file per subcommand; each only orchestrates the core and the edges.

pub mod backtest;
pub mod simulate;
pub mod status;
pub mod tick;

use std::future::Future;
use std::time::Duration;

use serde_json::{json, Value};

use crate::config::{Connect, Settings};
use crate::duration::format_secs;
use crate::error::Error;
use crate::policy::{rank, CpuObservation, Observation, Policy};

/// Runs a command's async body on a single-threaded runtime, bounded by TICK_TIMEOUT so a hung
/// API server cannot hang the CronJob.
pub fn block_on_bounded<T>(
    connect: &Connect,
    body: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded tokio runtime starts");
    let limit = Duration::from_secs(connect.tick_timeout_secs as u64);
    let result = runtime.block_on(async {
        tokio::time::timeout(limit, body).await.unwrap_or_else(|_| {
            Err(Error::Timeout {
                limit: format_secs(connect.tick_timeout_secs),
            })
        })
    });
    // Do not wait for blocking work left behind by a timed-out tick (a carbon fetch).
    runtime.shutdown_background();
    result
}

pub fn cpu_json(cpu: &CpuObservation) -> Value {
    match cpu {
        CpuObservation::Known {
            average,
            max,
            nodes,
            missing,
        } => {
            json!({"average": round1(*average), "max": round1(*max), "nodes": nodes, "nodesWithoutMetrics": missing})
        }
        CpuObservation::Missing { reason } => json!({"missing": reason}),
    }
}

/// Regions in the order the rule ranks them, with the carbon value it used.
pub fn carbon_json(obs: &Observation, settings: &Settings, policy: &Policy, now: i64) -> Value {
    rank(obs, policy, now)
        .iter()
        .map(|r| {
            let zone = settings
                .regions
                .iter()
                .find(|x| x.name == r.name)
                .map(|x| x.zone.clone());
            json!({"region": r.name, "zone": zone, "gramsPerKwh": r.grams})
        })
        .collect()
}

pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
