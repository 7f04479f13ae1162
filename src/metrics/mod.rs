//! Prometheus metrics of a tick, pushed to a Pushgateway when PUSHGATEWAY_URL names one: the
//! families are computed from the tick's result (`report`, pure), written in the text format
//! (`exposition`) and sent in one PUT (`push`, the only I/O).

pub mod exposition;
pub mod push;
pub mod report;

pub use report::{families, TickReport};

/// The exposition of one tick.
pub fn text(report: &TickReport) -> String {
    exposition::render(&families(report))
}
