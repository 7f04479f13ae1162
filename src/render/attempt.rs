//! What the settling tick says about the previous tick's attempt, in the log, in `lastFailure`
//! and in `status`.

use super::words;
use crate::attempt::{Settled, Settlement};

pub fn settlement_text(settlement: &Settlement) -> String {
    let a = &settlement.attempt;
    let change = format!("{} {} {}->{}", words(a.action), a.region, a.from, a.to);
    match settlement.outcome {
        Settled::TookEffect if a.unanswered => format!(
            "the previous tick's {change} took effect although its answer was lost; its Event is recorded now"
        ),
        Settled::TookEffect => format!("the previous tick's {change} is in effect"),
        Settled::NotInEffect => format!(
            "the previous tick's {change} is not in effect ({} has {} replicas): {}; its cooldown is dropped",
            a.deployment,
            a.from,
            if a.unanswered {
                "its scale write got no answer and was not applied"
            } else {
                "the tick did not get to make it, or it was undone"
            }
        ),
        Settled::Unclear { replicas: Some(n) } => format!(
            "the previous tick's {change} cannot be confirmed: {} has {n} replicas, neither {} nor {}; its cooldown is kept",
            a.deployment, a.from, a.to
        ),
        Settled::Unclear { replicas: None } => format!(
            "the previous tick's {change} cannot be confirmed: {} was not observed; its cooldown is kept",
            a.deployment
        ),
    }
}
