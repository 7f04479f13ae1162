//! The forecasts a replay shows the rule, made from the carbon series itself: a perfect one
//! (the mean of what the grid really did over the horizon), and a degraded one whose every hour
//! is off by a stated bias and noise. Real day-ahead carbon forecasts miss by roughly 5% to 20%
//! an hour; the degraded one sits at the bad end of that, so a gain it keeps is not an artefact
//! of foresight.
//!
//! The noise is a function of the hour forecast, its lead and the true value only (never of a
//! region's name or position), so renaming or reordering regions replays the same figures.

use super::series::{mean, Series};
pub use crate::choices::Forecasting;

/// Every degraded hour reads this much high (a relative bias, the same for every region).
pub const DEGRADED_BIAS: f64 = 0.05;
/// ... and, on top, a relative error drawn uniformly from plus to minus this.
pub const DEGRADED_SPREAD: f64 = 0.20;

impl Forecasting {
    /// The mean forecast made at `now` over `horizon_secs` from `series`.
    pub fn mean_ahead(self, series: &Series, now: i64, horizon_secs: i64) -> Option<f64> {
        match self {
            Forecasting::Perfect => series.mean_ahead(now, horizon_secs),
            Forecasting::Degraded => {
                let hour = now - now.rem_euclid(3600);
                mean(series.ahead(now, horizon_secs).map(|(at, v)| {
                    let lead = (at - hour) / 3600;
                    v * (1.0 + DEGRADED_BIAS + error(at, lead, v))
                }))
            }
        }
    }
}

/// A relative error in [-DEGRADED_SPREAD, DEGRADED_SPREAD], fixed by the interval forecast, its
/// lead in whole hours from the hour the forecast is made in, and the value (splitmix64 over
/// the three): every fetch within an hour sees the same forecast, as from a provider that
/// updates hourly.
fn error(at: i64, lead: i64, value: f64) -> f64 {
    let mut x = (at as u64)
        ^ value.to_bits().rotate_left(17)
        ^ (lead as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
    (unit * 2.0 - 1.0) * DEGRADED_SPREAD
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hourly(values: &[f64]) -> Series {
        Series {
            start: 0,
            step: 3600,
            values: values.to_vec(),
        }
    }

    #[test]
    fn a_perfect_forecast_is_the_mean_of_the_hours_ahead() {
        let s = hourly(&[100.0, 200.0, 300.0, 400.0]);
        let cases = [
            ("two hours from the start", 0, 7200, Some(150.0)),
            ("from inside an hour", 1800, 7200, Some(150.0)),
            ("one hour", 3600, 3600, Some(200.0)),
            (
                "past the end: the hours inside",
                7200,
                4 * 3600,
                Some(350.0),
            ),
            ("wholly past the end", 4 * 3600, 7200, None),
            (
                "before the start: the hours inside",
                -3600,
                3 * 3600,
                Some(150.0),
            ),
        ];
        for (name, now, horizon, want) in cases {
            assert_eq!(
                Forecasting::Perfect.mean_ahead(&s, now, horizon),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn a_degraded_forecast_stays_within_its_stated_error_and_is_biased_high() {
        let s = hourly(&[100.0; 24 * 400]);
        let (mut low, mut high, mut sum) = (f64::MAX, f64::MIN, 0.0);
        let n = 24 * 365;
        for h in 0..n {
            let v = Forecasting::Degraded
                .mean_ahead(&s, h * 3600, 3600)
                .unwrap();
            low = low.min(v);
            high = high.max(v);
            sum += v;
        }
        assert!(
            low >= 100.0 * (1.0 + DEGRADED_BIAS - DEGRADED_SPREAD),
            "{low}"
        );
        assert!(
            high <= 100.0 * (1.0 + DEGRADED_BIAS + DEGRADED_SPREAD),
            "{high}"
        );
        assert!(
            low < 88.0 && high > 122.0,
            "the error spans its range: {low}..{high}"
        );
        let mean = sum / n as f64;
        assert!(
            (mean - 105.0).abs() < 0.5,
            "the bias shows on average: {mean}"
        );
    }

    #[test]
    fn the_error_depends_on_the_hour_lead_and_value_alone() {
        let a = hourly(&[100.0, 250.0, 90.0]);
        let b = a.clone();
        let at = |s: &Series| Forecasting::Degraded.mean_ahead(s, 0, 3 * 3600);
        assert_eq!(at(&a), at(&b), "the same trace gives the same forecast");
        assert_ne!(error(0, 0, 100.0), error(3600, 0, 100.0));
        assert_ne!(error(0, 0, 100.0), error(0, 1, 100.0));
        assert_ne!(error(0, 0, 100.0), error(0, 0, 101.0));
        let once = Forecasting::Degraded.mean_ahead(&a, 60, 2 * 3600);
        assert_eq!(
            once,
            Forecasting::Degraded.mean_ahead(&a, 3540, 2 * 3600),
            "every fetch within an hour sees the same forecast"
        );
        assert_ne!(once, Forecasting::Degraded.mean_ahead(&a, 3600, 2 * 3600));
    }

    #[test]
    fn a_half_hourly_series_is_averaged_over_every_half_hour() {
        let s = Series {
            start: 0,
            step: 1800,
            values: vec![100.0, 300.0, 50.0, 150.0, 999.0],
        };
        assert_eq!(Forecasting::Perfect.mean_ahead(&s, 600, 3600), Some(200.0));
        assert_eq!(
            Forecasting::Perfect.mean_ahead(&s, 2400, 2 * 3600),
            Some(150.0)
        );
        let ahead: Vec<(i64, f64)> = s.ahead(3600, 3600).collect();
        assert_eq!(ahead, [(3600, 50.0), (5400, 150.0)]);
    }
}
