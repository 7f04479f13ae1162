//! One file per subcommand; each only orchestrates the core and the edges.

pub mod backtest;
pub mod completion;
pub mod simulate;
pub mod status;
pub mod tick;

use std::future::Future;
use std::time::Duration;

use crate::config::Connect;
use crate::duration::format_secs;
use crate::error::Error;

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
