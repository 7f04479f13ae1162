use super::heal::healing_step;
use super::rank::{grams_text, rank, Ranked};
use super::rebalance::{advance_pending, start, Band, Pending};
use super::{Action, ActionRecord, CpuObservation, Decision, Observation, Policy, PolicyState};
use crate::duration::format_secs;

/// One tick of the rule: heal floors and ceilings first; then settle a pending rebalancing
/// move; then (CPU data permitting) scale up the cleanest region or down the dirtiest once a
/// breach has lasted `hold_cycles` ticks and no cooldown is running, or, inside the band, start
/// a rebalancing move. At most one replica changes. Returns the decision and the state to
/// persist.
pub fn decide(
    obs: &Observation,
    prev: &PolicyState,
    policy: &Policy,
    now: i64,
) -> (Decision, PolicyState) {
    let ranked = rank(obs, policy, now);
    let mut next = prev.clone();
    let signal = match &obs.cpu {
        CpuObservation::Known {
            average,
            max,
            nodes,
            missing,
        } => Ok(Signal::of(policy.trigger, *average, *max, *nodes, *missing)),
        CpuObservation::Missing { reason } => Err(reason.as_str()),
    };
    let breach = signal.as_ref().ok().map(|s| s.breach(policy));
    let cpu = signal.map(|s| s.value(breach.unwrap_or(Breach::None)));
    count_holds(&mut next, breach, policy.hold_cycles);

    if let Some(decision) = healing_step(&ranked, policy) {
        next.last_heal = Some(record(&decision, now));
        return (decision, next);
    }

    let band = match breach {
        None => Band::Unknown,
        Some(Breach::Up) => Band::Above,
        Some(Breach::Down) => Band::Below,
        Some(Breach::None) => Band::Inside,
    };
    let cancelled = match advance_pending(&ranked, obs, &mut next, policy, band, now) {
        Pending::Step(decision) => return (decision, next),
        Pending::Cancelled(why) => Some(why),
        Pending::Idle => None,
    };
    // A new move waits for the tick after a cancelled one.
    let may_start = cancelled.is_none();
    let decision = cpu_rule(&ranked, &mut next, policy, cpu, breach, may_start, now);
    // A cancelled move shows in the tick's own sentence: nothing else would tell anyone.
    let decision = match cancelled {
        Some(why) => Decision {
            reason: format!("{}; rebalance cancelled: {why}", decision.reason),
            ..decision
        },
        None => decision,
    };
    (decision, next)
}

/// The CPU-driven part: hold, scale up the cleanest, scale down the dirtiest, or (inside the
/// band) start a rebalancing move.
fn cpu_rule(
    ranked: &[Ranked],
    next: &mut PolicyState,
    policy: &Policy,
    cpu: Result<(f64, String), &str>,
    breach: Option<Breach>,
    may_start: bool,
    now: i64,
) -> Decision {
    let (cpu, note) = match cpu {
        Ok(cpu) => cpu,
        Err(reason) => {
            return Decision::hold(format!(
                "hold: no CPU data ({reason}); no CPU-driven action until metrics return"
            ))
        }
    };
    let signal = format!("{} CPU {}%{note}", policy.trigger.label(), pct(cpu));
    let (direction, count, threshold) = match breach {
        Some(Breach::Up) => (Direction::Up, next.hold_up, policy.scale_up_threshold),
        Some(Breach::Down) => (Direction::Down, next.hold_down, policy.scale_down_threshold),
        _ => {
            let started = may_start
                .then(|| start(ranked, next, policy, now))
                .flatten();
            return started.unwrap_or_else(|| {
                Decision::hold(format!(
                    "hold: {signal} within {}%..{}%",
                    pct(policy.scale_down_threshold),
                    pct(policy.scale_up_threshold)
                ))
            });
        }
    };
    let why = format!(
        "{signal} {} {}% for {count}/{} ticks",
        direction.sign(),
        pct(threshold),
        policy.hold_cycles
    );
    if count < policy.hold_cycles {
        return Decision::hold(format!("hold: {why}"));
    }
    if let (Some(left), Some(last)) = (next.cooldown_left(policy, now), next.last_scale.as_ref()) {
        return Decision::hold(format!(
            "hold: {why}, but cooling down for {} more after {} {} {}->{}",
            format_secs(left),
            last.action.words(),
            last.region,
            last.from,
            last.to
        ));
    }
    match choose(ranked, policy, direction) {
        Some((target, skipped)) => {
            let to = target.replicas + direction.delta();
            let decision = Decision {
                action: direction.action(),
                region: Some(target.name.clone()),
                from: Some(target.replicas),
                to: Some(to),
                reason: format!(
                    "{} {} {}->{to}: {why}; {}",
                    direction.action().words(),
                    target.name,
                    target.replicas,
                    placement(direction, &skipped, target, policy)
                ),
            };
            next.hold_up = 0;
            next.hold_down = 0;
            next.last_scale = Some(record(&decision, now));
            decision
        }
        None => Decision::hold(format!(
            "hold: {why}, but every region is at its {}",
            direction.limit_name()
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Breach {
    Up,
    Down,
    None,
}

/// The trigger figure, read conservatively when some nodes did not report (as the HPA does):
/// for scaling up they count as idle, for scaling down as fully busy, so missing data never
/// argues for an action the reporting nodes alone would not justify.
struct Signal {
    up: f64,
    down: f64,
    /// The figure over the reporting nodes alone, shown when nothing breaches.
    shown: f64,
    note: String,
}

impl Signal {
    fn of(
        trigger: super::CpuTrigger,
        average: f64,
        max: f64,
        nodes: usize,
        missing: usize,
    ) -> Signal {
        let (known, all) = (nodes as f64, (nodes + missing) as f64);
        let (up, down, shown) = match trigger {
            super::CpuTrigger::Average if missing > 0 => (
                average * known / all,
                (average * known + 100.0 * missing as f64) / all,
                average,
            ),
            super::CpuTrigger::Average => (average, average, average),
            super::CpuTrigger::Max if missing > 0 => (max, 100.0, max),
            super::CpuTrigger::Max => (max, max, max),
        };
        let note = if missing > 0 {
            format!(
                " ({nodes} of {} nodes reporting; the others counted as idle for scaling up, busy for scaling down)",
                nodes + missing
            )
        } else {
            String::new()
        };
        Signal {
            up,
            down,
            shown,
            note,
        }
    }

    fn breach(&self, policy: &Policy) -> Breach {
        if self.up > policy.scale_up_threshold {
            Breach::Up
        } else if self.down < policy.scale_down_threshold {
            Breach::Down
        } else {
            Breach::None
        }
    }

    /// The figure the decision compared, with the note about nodes that did not report.
    fn value(&self, breach: Breach) -> (f64, String) {
        let value = match breach {
            Breach::Up => self.up,
            Breach::Down => self.down,
            Breach::None => self.shown,
        };
        (value, self.note.clone())
    }
}

/// Consecutive breaching ticks; anything else (inside the band, the other side, or no data,
/// which is no evidence either way) starts the count again.
fn count_holds(next: &mut PolicyState, breach: Option<Breach>, hold_cycles: u32) {
    let (up, down) = match breach {
        Some(Breach::Up) => (next.hold_up.saturating_add(1).min(hold_cycles), 0),
        Some(Breach::Down) => (0, next.hold_down.saturating_add(1).min(hold_cycles)),
        _ => (0, 0),
    };
    next.hold_up = up;
    next.hold_down = down;
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Direction {
    Up,
    Down,
}

impl Direction {
    fn sign(self) -> &'static str {
        match self {
            Direction::Up => ">",
            Direction::Down => "<",
        }
    }
    fn delta(self) -> i32 {
        match self {
            Direction::Up => 1,
            Direction::Down => -1,
        }
    }
    fn action(self) -> Action {
        match self {
            Direction::Up => Action::ScaleUp,
            Direction::Down => Action::ScaleDown,
        }
    }
    fn limit_name(self) -> &'static str {
        match self {
            Direction::Up => "max",
            Direction::Down => "min",
        }
    }
}

/// The cleanest region with room to grow (scale up) or the dirtiest with room to shrink
/// (scale down), and the preferred regions passed over because they sit at their limit.
pub(super) fn choose<'a>(
    ranked: &'a [Ranked],
    policy: &Policy,
    direction: Direction,
) -> Option<(&'a Ranked, Vec<&'a Ranked>)> {
    let ordered: Vec<&Ranked> = match direction {
        Direction::Up => ranked.iter().collect(),
        Direction::Down => ranked.iter().rev().collect(),
    };
    let has_room = |r: &Ranked| match direction {
        Direction::Up => r.replicas < policy.bounds(&r.name).max,
        Direction::Down => r.replicas > policy.bounds(&r.name).min,
    };
    let pos = ordered.iter().position(|r| has_room(r))?;
    Some((ordered[pos], ordered[..pos].to_vec()))
}

fn placement(
    direction: Direction,
    skipped: &[&Ranked],
    target: &Ranked,
    policy: &Policy,
) -> String {
    let (superlative, limit) = match direction {
        Direction::Up => ("cleanest", "max"),
        Direction::Down => ("dirtiest", "min"),
    };
    let grams = grams_text(target.grams);
    if skipped.is_empty() {
        return format!("{superlative} region at {grams}");
    }
    let at_limit: Vec<String> = skipped
        .iter()
        .map(|r| {
            let b = policy.bounds(&r.name);
            let n = if direction == Direction::Up {
                b.max
            } else {
                b.min
            };
            format!("{} at its {limit} of {n}", r.name)
        })
        .collect();
    format!(
        "{}; next {superlative} region at {grams}",
        at_limit.join(", ")
    )
}

fn record(decision: &Decision, now: i64) -> ActionRecord {
    ActionRecord {
        time: now,
        action: decision.action,
        region: decision.region.clone().unwrap_or_default(),
        from: decision.from.unwrap_or_default(),
        to: decision.to.unwrap_or_default(),
    }
}

/// A percentage without a needless ".0", but with the decimal when it matters (70.4 vs 70).
pub fn pct(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}
