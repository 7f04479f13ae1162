//! Running totals of tick outcomes, kept in the state (key `tickTotals`) because a Pushgateway
//! only caches the last push: a counter that lived in one process would start from zero every
//! minute. Each tick that claims the state is counted once, under its final outcome; a tick
//! that loses the claim is counted in the state the winner wrote, when it safely can.

use serde::{Deserialize, Serialize};

/// What became of a tick that claimed the state; the labels are the `outcome` of its log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Held,
    Applied,
    /// The conditional write found replicas changed since observed.
    ReplicasChanged,
    /// The write was refused for another reason (forbidden, not found, a server error).
    ScaleFailed,
    /// The write got no answer; the next tick settles whether it took effect.
    ScaleUnanswered,
    /// Another tick wrote the state first; counted afterwards in the state that tick wrote.
    LostClaim,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Held,
        Outcome::Applied,
        Outcome::ReplicasChanged,
        Outcome::ScaleFailed,
        Outcome::ScaleUnanswered,
        Outcome::LostClaim,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Held => "held",
            Outcome::Applied => "applied",
            Outcome::ReplicasChanged => "replicas_changed",
            Outcome::ScaleFailed => "scale_failed",
            Outcome::ScaleUnanswered => "scale_unanswered",
            Outcome::LostClaim => "lost_claim",
        }
    }
}

/// Ticks by outcome since the state was created. Unknown fields are refused, so a typo made by
/// hand is named rather than silently counted as zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Totals {
    #[serde(default)]
    pub held: u64,
    #[serde(default)]
    pub applied: u64,
    #[serde(default)]
    pub replicas_changed: u64,
    #[serde(default)]
    pub scale_failed: u64,
    #[serde(default)]
    pub scale_unanswered: u64,
    #[serde(default)]
    pub lost_claim: u64,
}

impl Totals {
    pub fn get(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Held => self.held,
            Outcome::Applied => self.applied,
            Outcome::ReplicasChanged => self.replicas_changed,
            Outcome::ScaleFailed => self.scale_failed,
            Outcome::ScaleUnanswered => self.scale_unanswered,
            Outcome::LostClaim => self.lost_claim,
        }
    }

    fn slot(&mut self, outcome: Outcome) -> &mut u64 {
        match outcome {
            Outcome::Held => &mut self.held,
            Outcome::Applied => &mut self.applied,
            Outcome::ReplicasChanged => &mut self.replicas_changed,
            Outcome::ScaleFailed => &mut self.scale_failed,
            Outcome::ScaleUnanswered => &mut self.scale_unanswered,
            Outcome::LostClaim => &mut self.lost_claim,
        }
    }

    /// The totals with one more tick of `outcome` (saturating: a hand-edited maximum stays).
    pub fn count(&self, outcome: Outcome) -> Totals {
        let mut next = *self;
        let slot = next.slot(outcome);
        *slot = slot.saturating_add(1);
        next
    }

    /// The totals with this tick moved from `from` to `to`. The claim counts a change as
    /// applied before it is attempted; a write that then fails moves the same tick to its
    /// failure, in the tick's own second write, before anything is pushed. So a pushed counter
    /// never goes down.
    pub fn recount(&self, from: Outcome, to: Outcome) -> Totals {
        let mut next = *self;
        let slot = next.slot(from);
        *slot = slot.saturating_sub(1);
        next.count(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_is_counted_once_under_its_final_outcome() {
        let claimed = Totals::default()
            .count(Outcome::Held)
            .count(Outcome::Applied);
        assert_eq!((claimed.held, claimed.applied), (1, 1));
        let failed = claimed.recount(Outcome::Applied, Outcome::ScaleUnanswered);
        assert_eq!(failed.applied, 0);
        assert_eq!(failed.get(Outcome::ScaleUnanswered), 1);
        let total: u64 = Outcome::ALL.iter().map(|o| failed.get(*o)).sum();
        assert_eq!(total, 2, "two ticks, two counts");
    }

    #[test]
    fn counts_saturate_instead_of_wrapping() {
        let full = Totals {
            held: u64::MAX,
            ..Totals::default()
        };
        assert_eq!(full.count(Outcome::Held).held, u64::MAX);
        let empty = Totals::default().recount(Outcome::Applied, Outcome::ScaleFailed);
        assert_eq!((empty.applied, empty.scale_failed), (0, 1));
    }

    #[test]
    fn labels_are_distinct_snake_case() {
        let labels: std::collections::BTreeSet<&str> =
            Outcome::ALL.iter().map(|o| o.label()).collect();
        assert_eq!(labels.len(), Outcome::ALL.len());
        assert!(labels
            .iter()
            .all(|l| l.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    }
}
