//! One file per subcommand; each only orchestrates the core and the edges.

pub mod backtest;
pub mod simulate;
