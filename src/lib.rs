//! carbonctl: a single-shot, carbon-aware autoscaler for Kubernetes. The binary is a thin shell
//! around this library so that tests and benchmarks drive the same code.

pub mod attempt;
pub mod backtest;
pub mod carbon;
pub mod choices;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod duration;
pub mod error;
pub mod http_agent;
pub mod k8s;
pub mod ledger;
pub mod logging;
pub mod metrics;
pub mod name_hash;
pub mod node_names;
pub mod node_snapshot;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod render;
pub mod sample;
pub mod state;
pub mod totals;

use std::process::ExitCode;

use cli::{Cli, Command};
use config::{Connect, Settings};
use error::Error;

/// Exit code for bad settings or usage (clap uses the same for its own usage errors).
pub const EXIT_USAGE: u8 = 2;
/// Exit code for a runtime failure.
pub const EXIT_FAILURE: u8 = 1;

/// Runs one command; errors carry enough context to be shown as they are.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    // Completion needs no settings: a shell's start-up must not fail on a bad environment.
    if let Command::Completion(args) = &cli.command {
        return cmd::completion::run(args);
    }
    let settings = Settings::from_args(&cli.cluster, &cli.policy)?;
    let connect = Connect::from_args(&cli.connect, &settings.regions, |k| std::env::var(k).ok())?;
    logging::init(settings.log_format);
    match &cli.command {
        Command::Tick(args) => cmd::tick::run(&settings, &connect, args),
        Command::Status(args) => cmd::status::run(&settings, &connect, args),
        Command::Simulate(args) => cmd::simulate::run(&settings, &connect, args),
        Command::Backtest(args) => cmd::backtest::run(&settings, &cli.policy, args),
        Command::Completion(_) => unreachable!("completion is answered before the settings"),
    }
}

/// The exit code an error maps to: 2 for settings and usage, 1 for everything else.
pub fn exit_code_for(error: &Error) -> u8 {
    match error {
        Error::Config(_) => EXIT_USAGE,
        _ => EXIT_FAILURE,
    }
}
