//! The sentence of a decision, as logs, Events, `status` and `simulate` show it: what, why,
//! with the numbers ("scale up france 2->3: avg CPU 82% > 70% for 3/3 ticks; cleanest region
//! at 43 gCO2eq/kWh").

use std::fmt;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::number::{carbon, gap_unit, pct};
use crate::duration::format_secs;
use crate::policy::{
    Action, AtItsLimit, Breaching, Cancelled, Change, ChangeWhy, CpuFigure, CpuTrigger, Decision,
    Direction, ForecastGap, HoldWhy, Revert, Unhealthy,
};

/// An action as words for sentences: "scale up".
pub fn words(action: Action) -> &'static str {
    match action {
        Action::ScaleUp => "scale up",
        Action::ScaleDown => "scale down",
        Action::Heal => "heal",
        Action::Rebalance => "rebalance",
    }
}

pub fn trigger_label(trigger: CpuTrigger) -> &'static str {
    match trigger {
        CpuTrigger::Average => "avg",
        CpuTrigger::Max => "max",
    }
}

/// The decision's sentence.
impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cancelled = match self {
            Decision::Hold(hold) => {
                write!(f, "hold: {}", HoldText(&hold.why))?;
                &hold.cancelled
            }
            Decision::Change(change) => {
                write!(f, "{}", ChangeText(change))?;
                &change.cancelled
            }
        };
        match cancelled {
            Some(why) => write!(f, "; rebalance cancelled: {}", CancelText(why)),
            None => Ok(()),
        }
    }
}

/// The log's and `-o json`'s view: `{action, region, from, to, reason}`, holds with nulls.
impl Serialize for Decision {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let change = self.change();
        let mut out = s.serialize_struct("Decision", 5)?;
        out.serialize_field("action", change.map_or("hold", |c| c.action.label()))?;
        out.serialize_field("region", &change.map(|c| &c.region))?;
        out.serialize_field("from", &change.map(|c| c.from))?;
        out.serialize_field("to", &change.map(|c| c.to))?;
        out.serialize_field("reason", &self.to_string())?;
        out.end()
    }
}

struct Cpu<'a>(&'a CpuFigure);

impl fmt::Display for Cpu<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        write!(f, "{} CPU {}%", trigger_label(c.trigger), pct(c.percent))?;
        if c.missing > 0 {
            write!(
                f,
                " ({} of {} nodes reporting; the others counted as idle for scaling up, busy for scaling down)",
                c.nodes,
                c.nodes + c.missing
            )?;
        }
        Ok(())
    }
}

struct Breach<'a>(&'a Breaching);

impl fmt::Display for Breach<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        let sign = match b.direction {
            Direction::Up => ">",
            Direction::Down => "<",
        };
        write!(
            f,
            "{} {sign} {}% for {}/{} ticks",
            Cpu(&b.cpu),
            pct(b.threshold),
            b.count,
            b.cycles
        )
    }
}

fn limit_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "max",
        Direction::Down => "min",
    }
}

/// A forecast gap as a phrase: "2 g/kWh on average over the next 2h".
struct Ahead<'a>(&'a ForecastGap);

impl fmt::Display for Ahead<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.0} g/kWh on average over the next {}",
            self.0.gap,
            format_secs(self.0.horizon_secs)
        )
    }
}

struct HoldText<'a>(&'a HoldWhy);

impl fmt::Display for HoldText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            HoldWhy::NoCpu { reason } => write!(
                f,
                "no CPU data ({reason}); no CPU-driven action until metrics return"
            ),
            HoldWhy::InBand {
                cpu,
                down,
                up,
                forecast_held,
            } => {
                write!(f, "{} within {}%..{}%", Cpu(cpu), pct(*down), pct(*up))?;
                match forecast_held {
                    Some(held) => write!(
                        f,
                        "; rebalance held: {} is {:.0} g/kWh cleaner than {} now, {}",
                        held.clean,
                        held.gap,
                        held.dirty,
                        Ahead(&held.forecast)
                    ),
                    None => Ok(()),
                }
            }
            HoldWhy::Breaching(b) => write!(f, "{}", Breach(b)),
            HoldWhy::CoolingDown {
                breaching,
                left_secs,
                last,
            } => write!(
                f,
                "{}, but cooling down for {} more after {} {} {}->{}",
                Breach(breaching),
                format_secs(*left_secs),
                words(last.action),
                last.region,
                last.from,
                last.to
            ),
            HoldWhy::AtLimit(b) => write!(
                f,
                "{}, but every region is at its {}",
                Breach(b),
                limit_name(b.direction)
            ),
            HoldWhy::NoRoom {
                breaching,
                passed_over,
            } => write!(
                f,
                "{}, but no region can take another replica: {}",
                Breach(breaching),
                passed_list(breaching.direction, passed_over)
            ),
            HoldWhy::AwaitingReady {
                region,
                want,
                ready,
            } => write!(
                f,
                "rebalance waiting for {region} to have {want} ready replicas ({ready} now)"
            ),
            HoldWhy::AwaitingCarbon { clean, dirty } => {
                write!(
                    f,
                    "rebalance waiting for carbon data for {clean} and {dirty}"
                )
            }
        }
    }
}

struct ChangeText<'a>(&'a Change);

impl fmt::Display for ChangeText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        let moved = format!("{} {}->{}", c.region, c.from, c.to);
        match &c.why {
            ChangeWhy::Scale {
                breaching,
                passed_over,
                grams: g,
            } => {
                write!(f, "{} {moved}: {}; ", words(c.action), Breach(breaching))?;
                placement(f, breaching.direction, passed_over, carbon(*g, c.unit))
            }
            ChangeWhy::Heal { bound, grams: g } => {
                let (side, gap) = if c.to > c.from {
                    ("below its min", bound - c.from)
                } else {
                    ("above its max", c.from - bound)
                };
                let left = if gap > 1 {
                    format!(" ({gap} steps to go)")
                } else {
                    String::new()
                };
                write!(
                    f,
                    "heal {moved}: {side} of {bound}{left}; {}",
                    carbon(*g, c.unit)
                )
            }
            ChangeWhy::RebalanceStart {
                dirty,
                gap,
                clean_grams,
                forecast,
            } => match gap {
                Some(gap) => {
                    write!(
                        f,
                        "rebalance 1/2: {moved}, {gap:.0} {} cleaner than {dirty}",
                        gap_unit(c.unit)
                    )?;
                    match forecast {
                        Some(forecast) => write!(f, " ({})", Ahead(forecast)),
                        None => Ok(()),
                    }
                }
                None => write!(
                    f,
                    "rebalance 1/2: {moved}, {} at {}, {dirty} has {}",
                    c.region,
                    carbon(Some(*clean_grams), c.unit),
                    carbon(None, c.unit)
                ),
            },
            ChangeWhy::RebalanceComplete { ready_in } => match ready_in {
                Some(clean) => write!(
                    f,
                    "rebalance 2/2: {moved}, {clean}'s new replica is ready"
                ),
                None => write!(f, "rebalance 2/2: {moved}, CPU below the band"),
            },
            ChangeWhy::RebalanceRevert(Revert::NoLongerCleaner { dirty }) => write!(
                f,
                "rebalance reverted: {moved}, {} is no longer cleaner than {dirty}",
                c.region
            ),
            ChangeWhy::RebalanceRevert(Revert::TimedOut {
                waited_secs,
                ready,
                want,
            }) => write!(
                f,
                "rebalance reverted: {moved}, the move did not complete within {} (new replica ready: {ready}/{want})",
                format_secs(*waited_secs)
            ),
        }
    }
}

/// "cleanest region at 43 gCO2eq/kWh" (`target`), or the regions passed over at their limit
/// first.
fn placement(
    f: &mut fmt::Formatter<'_>,
    direction: Direction,
    passed_over: &[AtItsLimit],
    target: String,
) -> fmt::Result {
    let superlative = match direction {
        Direction::Up => "cleanest",
        Direction::Down => "dirtiest",
    };
    if passed_over.is_empty() {
        return write!(f, "{superlative} region at {target}");
    }
    write!(
        f,
        "{}; next {superlative} region at {target}",
        passed_list(direction, passed_over)
    )
}

/// "france at its max of 5, latvia has no ready node".
fn passed_list(direction: Direction, passed_over: &[AtItsLimit]) -> String {
    let limit = limit_name(direction);
    let why = |r: &AtItsLimit| match r.unhealthy {
        None => format!("{} at its {limit} of {}", r.region, r.limit),
        Some(unhealthy) => health_text(&r.region, unhealthy),
    };
    passed_over.iter().map(why).collect::<Vec<_>>().join(", ")
}

/// Why a region gets no replica now: "france has no ready node (1 not ready or cordoned)".
pub fn health_text(region: &str, unhealthy: Unhealthy) -> String {
    match unhealthy {
        Unhealthy::NoReadyNode { nodes } => {
            format!("{region} has no ready node ({nodes} not ready or cordoned)")
        }
        Unhealthy::Unavailable {
            unavailable,
            replicas,
        } => format!("{region} has {unavailable} of {replicas} replicas unavailable"),
    }
}

struct CancelText<'a>(&'a Cancelled);

impl fmt::Display for CancelText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Cancelled::NotObserved { clean, dirty } => {
                write!(f, "{clean} or {dirty} is no longer observed")
            }
            Cancelled::ChangedBySomeone { clean, dirty } => write!(
                f,
                "the replicas of {clean} or {dirty} were changed by someone else"
            ),
            Cancelled::CpuAbove { clean } => {
                write!(f, "CPU went above the band, {clean} keeps its new replica")
            }
            Cancelled::DirtyAtMin { dirty, clean } => {
                write!(f, "{dirty} is at its min, {clean} keeps its new replica")
            }
        }
    }
}
