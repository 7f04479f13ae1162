//! Reading the tick's CPU against the band: which side it is on, conservatively when some
//! nodes did not report, and the hold counters that remember consecutive breaches.

use super::decision::CpuFigure;
use super::{CpuObservation, CpuTrigger, Policy, PolicyState};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Breach {
    Up,
    Down,
    None,
}

/// The trigger figure, read conservatively when some nodes did not report (as the HPA does):
/// for scaling up they count as idle, for scaling down as fully busy, so missing data never
/// argues for an action the reporting nodes alone would not justify.
#[derive(Debug, Clone, Copy)]
pub(super) struct Signal {
    trigger: CpuTrigger,
    up: f64,
    down: f64,
    /// The figure over the reporting nodes alone, shown when nothing breaches.
    shown: f64,
    nodes: usize,
    missing: usize,
}

impl Signal {
    /// The signal, or why there is none.
    #[inline]
    pub(super) fn read(cpu: &CpuObservation, trigger: CpuTrigger) -> Result<Signal, &str> {
        match cpu {
            CpuObservation::Known {
                average,
                max,
                nodes,
                missing,
            } => Ok(Signal::of(trigger, *average, *max, *nodes, *missing)),
            CpuObservation::Missing { reason } => Err(reason.as_str()),
        }
    }

    #[inline]
    fn of(trigger: CpuTrigger, average: f64, max: f64, nodes: usize, missing: usize) -> Signal {
        let (known, all) = (nodes as f64, (nodes + missing) as f64);
        let (up, down, shown) = match trigger {
            CpuTrigger::Average if missing > 0 => (
                average * known / all,
                (average * known + 100.0 * missing as f64) / all,
                average,
            ),
            CpuTrigger::Average => (average, average, average),
            CpuTrigger::Max if missing > 0 => (max, 100.0, max),
            CpuTrigger::Max => (max, max, max),
        };
        Signal {
            trigger,
            up,
            down,
            shown,
            nodes,
            missing,
        }
    }

    #[inline]
    pub(super) fn breach(&self, policy: &Policy) -> Breach {
        if self.up > policy.scale_up_threshold {
            Breach::Up
        } else if self.down < policy.scale_down_threshold {
            Breach::Down
        } else {
            Breach::None
        }
    }

    /// The figure the decision compared on that side of the band.
    pub(super) fn figure(&self, breach: Breach) -> CpuFigure {
        CpuFigure {
            trigger: self.trigger,
            percent: match breach {
                Breach::Up => self.up,
                Breach::Down => self.down,
                Breach::None => self.shown,
            },
            nodes: self.nodes,
            missing: self.missing,
        }
    }
}

/// Consecutive breaching ticks; anything else (inside the band, the other side, or no data,
/// which is no evidence either way) starts the count again.
#[inline]
pub(super) fn count_holds(next: &mut PolicyState, breach: Option<Breach>, hold_cycles: u32) {
    let (up, down) = match breach {
        Some(Breach::Up) => (next.hold_up.saturating_add(1).min(hold_cycles), 0),
        Some(Breach::Down) => (0, next.hold_down.saturating_add(1).min(hold_cycles)),
        _ => (0, 0),
    };
    next.hold_up = up;
    next.hold_down = down;
}
