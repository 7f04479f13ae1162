//! A change is recorded in the state the tick claims, before the change is made, so that a
//! write whose answer is lost (a dropped connection, a timeout) can never lead to the change
//! being made twice, nor to a cooldown for a change that never happened. The next tick settles
//! the record against the replicas it observes:
//!
//! - the Deployment has `to` replicas: the change took effect. Its cooldown and pending move
//!   stand, and when the acting tick never heard back from its scale write, this tick records
//!   the Event that tick could not;
//! - the Deployment has `from` replicas: the change is not in effect (the acting tick did not
//!   get to make it, or it was undone). The rule's memory goes back to what it was before the
//!   change, and `lastFailure` says so;
//! - anything else (someone else changed the replicas, the Deployment is gone): what happened
//!   cannot be told. The memory is kept as the change left it, so no second change can come
//!   sooner than it would have after the first.
//!
//! Pure: the tick loads, observes and writes; this only compares.

use serde::{Deserialize, Serialize};

use crate::policy::{Action, Change, PolicyState};

/// A change decided and claimed, not yet seen in effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Attempt {
    #[serde(with = "crate::clock::rfc3339")]
    pub time: i64,
    pub action: Action,
    pub region: String,
    pub deployment: String,
    pub from: i32,
    pub to: i32,
    /// The decision's sentence: the Event's message if a later tick records it.
    pub reason: String,
    /// The acting tick's scale write got no answer.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unanswered: bool,
    /// The rule's memory before the change, restored if it is not in effect.
    pub before: PolicyState,
}

fn is_false(b: &bool) -> bool {
    !b
}

impl Attempt {
    pub fn new(change: &Change, reason: String, before: &PolicyState, now: i64) -> Attempt {
        Attempt {
            time: now,
            action: change.action,
            region: change.region.clone(),
            deployment: change.deployment.clone(),
            from: change.from,
            to: change.to,
            reason,
            unanswered: false,
            before: before.clone(),
        }
    }
}

/// What the next tick found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    TookEffect,
    NotInEffect,
    /// Neither `from` nor `to`; None when the Deployment was not observed.
    Unclear {
        replicas: Option<i32>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub attempt: Attempt,
    pub outcome: Settled,
}

impl Settlement {
    /// The change took effect but the tick that made it never heard back, so it recorded no
    /// Event: the settling tick records it.
    pub fn owes_event(&self) -> bool {
        self.outcome == Settled::TookEffect && self.attempt.unanswered
    }
}

/// What the next tick finds of the previous tick's attempt, from the replicas observed now
/// (`replicas` of a region, None when its Deployment was not observed).
pub fn settle(
    attempt: Option<&Attempt>,
    replicas: impl Fn(&str) -> Option<i32>,
) -> Option<Settlement> {
    let attempt = attempt?.clone();
    let outcome = match replicas(&attempt.region) {
        Some(n) if n == attempt.to => Settled::TookEffect,
        Some(n) if n == attempt.from => Settled::NotInEffect,
        replicas => Settled::Unclear { replicas },
    };
    Some(Settlement { attempt, outcome })
}

impl Settlement {
    /// The rule's memory to go back to: the one from before the change, when it is not in
    /// effect; None keeps the memory the change left.
    pub fn restores(&self) -> Option<&PolicyState> {
        (self.outcome == Settled::NotInEffect).then_some(&self.attempt.before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ActionRecord;

    const NOW: i64 = 1_800_000_000;

    /// A scale up of france 2->3 whose cooldown started; the memory before it held 3 ticks.
    fn attempted(unanswered: bool) -> (Attempt, PolicyState) {
        let before = PolicyState {
            hold_up: 3,
            ..PolicyState::default()
        };
        let after = PolicyState {
            last_scale: Some(ActionRecord {
                time: NOW - 60,
                action: Action::ScaleUp,
                region: "france".into(),
                from: 2,
                to: 3,
            }),
            ..PolicyState::default()
        };
        (
            Attempt {
                time: NOW - 60,
                action: Action::ScaleUp,
                region: "france".into(),
                deployment: "nginx-france".into(),
                from: 2,
                to: 3,
                reason: "scale up france 2->3: avg CPU 90% > 70% for 3/3 ticks".into(),
                unanswered,
                before,
            },
            after,
        )
    }

    #[test]
    fn settles_by_what_the_deployment_shows() {
        // (name, unanswered, observed replicas, outcome, memory afterwards has the cooldown,
        // an Event is owed)
        let cases = [
            (
                "answered and in effect",
                false,
                Some(3),
                Settled::TookEffect,
                true,
                false,
            ),
            (
                "unanswered and in effect",
                true,
                Some(3),
                Settled::TookEffect,
                true,
                true,
            ),
            (
                "claim lost, never made",
                false,
                Some(2),
                Settled::NotInEffect,
                false,
                false,
            ),
            (
                "unanswered, not applied",
                true,
                Some(2),
                Settled::NotInEffect,
                false,
                false,
            ),
            (
                "someone else scaled",
                true,
                Some(5),
                Settled::Unclear { replicas: Some(5) },
                true,
                false,
            ),
            (
                "Deployment gone",
                false,
                None,
                Settled::Unclear { replicas: None },
                true,
                false,
            ),
        ];
        for (name, unanswered, observed, outcome, cooldown, event) in cases {
            let (attempt, after) = attempted(unanswered);
            let settlement = settle(Some(&attempt), |_| observed).expect(name);
            assert_eq!(settlement.outcome, outcome, "{name}");
            assert_eq!(settlement.owes_event(), event, "{name}");
            let memory = settlement.restores().unwrap_or(&after);
            assert_eq!(memory.last_scale.is_some(), cooldown, "{name}");
            if !cooldown {
                assert_eq!(memory.hold_up, 3, "{name}: the memory from before");
            }
        }
        assert_eq!(settle(None, |_| Some(1)), None);
    }

    #[test]
    fn an_answered_attempt_is_written_without_the_unanswered_mark() {
        for (unanswered, written) in [(false, false), (true, true)] {
            let (attempt, _) = attempted(unanswered);
            let json = serde_json::to_value(&attempt).unwrap();
            assert_eq!(json.get("unanswered").is_some(), written, "{json}");
        }
    }
}
