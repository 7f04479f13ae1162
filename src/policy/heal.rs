use super::rank::{grams_text, Ranked};
use super::{Action, Decision, Policy};

/// The first healing step due, if any region is outside its bounds. A region below its floor
/// comes first (availability before cost), the cleanest of those first; then a region above
/// its ceiling, the dirtiest first. One replica per tick, like every other step.
pub(super) fn healing_step(ranked: &[Ranked], policy: &Policy) -> Option<Decision> {
    let below = ranked
        .iter()
        .find(|r| r.replicas < policy.bounds(&r.name).min);
    let above = || {
        ranked
            .iter()
            .rev()
            .find(|r| r.replicas > policy.bounds(&r.name).max)
    };
    if let Some(r) = below {
        let min = policy.bounds(&r.name).min;
        return Some(step(
            r,
            r.replicas + 1,
            format!(
                "below its min of {min}{}; {}",
                left(min - r.replicas),
                grams_text(r.grams)
            ),
        ));
    }
    let r = above()?;
    let max = policy.bounds(&r.name).max;
    Some(step(
        r,
        r.replicas - 1,
        format!(
            "above its max of {max}{}; {}",
            left(r.replicas - max),
            grams_text(r.grams)
        ),
    ))
}

fn left(gap: i32) -> String {
    if gap > 1 {
        format!(" ({gap} steps to go)")
    } else {
        String::new()
    }
}

fn step(r: &Ranked, to: i32, why: String) -> Decision {
    Decision {
        action: Action::Heal,
        region: Some(r.name.clone()),
        from: Some(r.replicas),
        to: Some(to),
        reason: format!("heal {} {}->{}: {why}", r.name, r.replicas, to),
    }
}
