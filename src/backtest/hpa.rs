//! A HorizontalPodAutoscaler as the backtest's floors mode models it: a proportional
//! controller on CPU utilisation with Kubernetes' arithmetic (`replica_calculator.go`,
//! `horizontal.go`) and default behaviour, synced once per replayed tick instead of every 15 s.
//!
//! Each sync: a Deployment below the floor goes to the floor and one above the max to the max
//! (Kubernetes skips the metric then). Otherwise the metric recommends
//! `ceil(replicas x utilisation / target)`, or the current replicas while
//! `|utilisation / target - 1| <= tolerance`; a scale-down goes no lower than the highest
//! recommendation within the downscale stabilization window (the sync's own included), a
//! scale-up at most to double or 4 more (the default scale-up policies, per sync here); the
//! result is clamped to [floor, max].

use std::collections::VecDeque;

/// The parameters every region's HPA shares (each region has its own max).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HpaParams {
    /// Target average CPU utilisation, in percent of what a replica serves at 100%.
    pub target_cpu: f64,
    /// No rescale while the utilisation is within this fraction of the target.
    pub tolerance: f64,
    /// A scale-down takes the highest recommendation of the syncs this recent.
    pub downscale_stabilization_secs: i64,
}

impl HpaParams {
    /// Kubernetes' defaults (tolerance 0.1, a 5-minute downscale stabilization window) and a
    /// 60% target, a common choice that leaves a web tier headroom for a spike while new
    /// replicas start.
    pub const DEFAULTS: HpaParams = HpaParams {
        target_cpu: 60.0,
        tolerance: 0.1,
        downscale_stabilization_secs: 300,
    };
}

/// What the metric asks for, before stabilization, rate limits and clamps.
pub fn recommend(replicas: i32, utilisation: f64, p: &HpaParams) -> i32 {
    let ratio = utilisation / p.target_cpu;
    if (ratio - 1.0).abs() <= p.tolerance {
        return replicas;
    }
    // Multiplying first keeps whole results whole (3 x 100 / 60 is 5, not 5.000...1).
    (f64::from(replicas) * utilisation / p.target_cpu).ceil() as i32
}

/// One region's HPA between syncs: the replicas it set and its recent recommendations.
#[derive(Debug, Clone, PartialEq)]
pub struct Hpa {
    pub replicas: i32,
    /// (time, recommendation) of earlier syncs within the stabilization window, oldest first.
    recent: VecDeque<(i64, i32)>,
}

impl Hpa {
    pub fn new(replicas: i32) -> Hpa {
        Hpa {
            replicas,
            recent: VecDeque::new(),
        }
    }

    /// One sync at `now` on the region's CPU `utilisation` (percent), with the floor and max
    /// of this moment (`floor <= max`). Returns the replicas it sets.
    pub fn sync(&mut self, p: &HpaParams, utilisation: f64, floor: i32, max: i32, now: i64) -> i32 {
        let current = self.replicas;
        if current < floor || current > max {
            self.replicas = current.clamp(floor, max);
            return self.replicas;
        }
        let wanted = recommend(current, utilisation, p);
        let cutoff = now - p.downscale_stabilization_secs;
        while self.recent.front().is_some_and(|(t, _)| *t <= cutoff) {
            self.recent.pop_front();
        }
        let down = self.recent.iter().map(|(_, r)| *r).fold(wanted, i32::max);
        self.recent.push_back((now, wanted));
        let mut next = current.max(wanted).min(down);
        if next > current {
            next = next.min((current + 4).max(current * 2));
        }
        self.replicas = next.clamp(floor, max);
        self.replicas
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const DEFAULTS: HpaParams = HpaParams::DEFAULTS;

    #[test]
    fn the_metric_recommends_proportionally_outside_the_tolerance_band() {
        // (name, replicas, utilisation %, recommendation)
        let cases = [
            ("on target", 4, 60.0, 4),
            ("just inside the band above", 4, 65.9, 4),
            ("just outside the band above", 4, 66.1, 5),
            ("just inside the band below", 10, 54.1, 10),
            ("just outside the band below", 10, 53.9, 9),
            ("well below: ceil(4 x 0.5)", 4, 30.0, 2),
            ("saturated: ceil(3 x 100/60)", 3, 100.0, 5),
            ("idle", 3, 0.0, 0),
        ];
        for (name, replicas, utilisation, want) in cases {
            assert_eq!(recommend(replicas, utilisation, &DEFAULTS), want, "{name}");
        }
        let tight = HpaParams {
            tolerance: 0.0,
            ..DEFAULTS
        };
        assert_eq!(
            recommend(4, 61.0, &tight),
            5,
            "no band: any excess rounds up"
        );
    }

    /// (name, start, floor, max, utilisation per sync, replicas after each sync)
    type SyncCase = (&'static str, i32, i32, i32, Vec<f64>, Vec<i32>);

    /// Syncs one minute apart; each case starts from `start` replicas.
    #[test]
    fn syncs_stabilize_down_limit_up_and_clamp() {
        let cases: [SyncCase; 6] = [
            (
                "a scale-down waits out five minutes of higher recommendations",
                4,
                1,
                10,
                vec![60.0, 15.0, 15.0, 15.0, 15.0, 15.0, 15.0],
                vec![4, 4, 4, 4, 4, 1, 1],
            ),
            (
                "within the window the highest recommendation wins",
                4,
                1,
                10,
                vec![30.0, 45.0, 15.0, 15.0, 15.0, 15.0, 15.0],
                vec![2, 2, 2, 2, 2, 2, 1],
            ),
            (
                "a scale-up is immediate",
                2,
                1,
                10,
                vec![100.0, 60.0],
                vec![4, 4],
            ),
            (
                "never above the max",
                4,
                1,
                5,
                vec![100.0, 100.0],
                vec![5, 5],
            ),
            (
                "never below the floor, and a raised floor is met at once",
                2,
                2,
                10,
                vec![0.0, 0.0],
                vec![2, 2],
            ),
            (
                "replicas outside [floor, max] go to the nearer bound",
                12,
                1,
                10,
                vec![60.0],
                vec![10],
            ),
        ];
        for (name, start, floor, max, utilisation, want) in cases {
            let mut hpa = Hpa::new(start);
            let got: Vec<i32> = utilisation
                .iter()
                .enumerate()
                .map(|(k, u)| hpa.sync(&DEFAULTS, *u, floor, max, k as i64 * 60))
                .collect();
            assert_eq!(got, want, "{name}");
        }
        // A low target asks for four times the replicas; one sync gives at most double or 4 more.
        let low = HpaParams {
            target_cpu: 25.0,
            ..DEFAULTS
        };
        assert_eq!(Hpa::new(6).sync(&low, 100.0, 1, 30, 0), 12, "double");
        assert_eq!(Hpa::new(2).sync(&low, 100.0, 1, 30, 0), 6, "4 more");
    }

    proptest! {
        /// Whatever the load, floor and max do between syncs, the replicas stay within them.
        #[test]
        fn replicas_stay_within_floor_and_max(
            steps in prop::collection::vec((0.0f64..100.0, 1i32..6, 0i32..8), 1..80),
            start in 0i32..20,
            target in 10.0f64..100.0,
        ) {
            let p = HpaParams { target_cpu: target, ..DEFAULTS };
            let mut hpa = Hpa::new(start);
            for (k, (u, floor, extra)) in steps.into_iter().enumerate() {
                let max = floor + extra;
                let r = hpa.sync(&p, u, floor, max, k as i64 * 60);
                prop_assert!(floor <= r && r <= max, "{r} outside [{floor}, {max}]");
            }
        }
    }
}
