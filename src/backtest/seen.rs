//! The carbon the rule sees at each replayed tick: what a live tick's carbon cache would hold.
//! A live tick fetches a region's value only when the cached one is at least
//! `CARBON_CACHE_TTL` old (the same `needs_fetch` the tick runs), and ranks on the cached
//! value and its fetch time. So after the grid's value changes the rule may rank on the
//! previous one for up to the TTL; the grams are still accounted at the grid's real value.
//! With one-minute ticks from the start of an hour and the default 5-minute TTL every hour's
//! first tick fetches, so the two agree; other intervals, TTLs or starts do not.

use super::forecast::Forecasting;
use crate::carbon::cache::needs_fetch;
use crate::policy::CarbonReading;
use crate::state::CarbonEntry;

use super::region_input::RegionInput;

pub struct CarbonSeen {
    entries: Vec<CarbonEntry>,
    /// REBALANCE_FORECAST's horizon and how forecasts are made, when on: each fetch then also
    /// takes the forecast, as the live cache does.
    forecast: Option<(i64, Forecasting)>,
    /// The earliest time any entry is due: ticks before it (most of them, with a TTL of a few
    /// intervals) cost one comparison, as a year of minutes replays in milliseconds.
    next_due: i64,
}

impl CarbonSeen {
    /// An empty cache, as in a fresh state: the first tick fetches every region.
    pub fn new(regions: usize, forecast: Option<(i64, Forecasting)>) -> Self {
        CarbonSeen {
            entries: vec![CarbonEntry::default(); regions],
            forecast,
            next_due: i64::MIN,
        }
    }

    /// The cache after the tick at `now`, each due region fetched from its series.
    pub fn update(&mut self, regions: &[RegionInput], now: i64, ttl_secs: i64) {
        if now < self.next_due {
            return;
        }
        for (entry, region) in self.entries.iter_mut().zip(regions) {
            if needs_fetch(Some(entry), "", None, now, ttl_secs) {
                let value = region
                    .carbon
                    .at(now)
                    .expect("the replay period lies within every carbon series");
                entry.grams_per_kwh = Some(value);
                entry.fetched_at = Some(now);
                entry.forecast_grams_per_kwh = self
                    .forecast
                    .and_then(|(horizon, model)| model.mean_ahead(&region.carbon, now, horizon));
            }
        }
        self.next_due = self
            .entries
            .iter()
            .filter_map(|e| e.fetched_at)
            .map(|t| t.saturating_add(ttl_secs))
            .min()
            .unwrap_or(i64::MIN);
    }

    /// What the rule is shown for region `i`; call after the first `update`.
    pub fn reading(&self, i: usize) -> CarbonReading {
        let entry = &self.entries[i];
        CarbonReading {
            grams_per_kwh: entry.grams_per_kwh.unwrap_or_default(),
            fetched_at: entry.fetched_at.unwrap_or_default(),
            forecast_grams: entry.forecast_grams_per_kwh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::series::Series;

    fn hourly(values: &[f64]) -> Vec<RegionInput> {
        vec![RegionInput {
            name: "a".into(),
            carbon: Series {
                start: 0,
                step: 3600,
                values: values.to_vec(),
            },
            start: 1,
        }]
    }

    /// (name, first tick, interval, TTL, what the rule sees at each tick as (grams, fetched at))
    #[test]
    fn the_rule_sees_the_value_fetched_when_the_cache_was_last_due() {
        let regions = hourly(&[100.0, 200.0]);
        type Case = (&'static str, i64, i64, i64, Vec<(f64, i64)>);
        let cases: [Case; 3] = [
            (
                "minute ticks from the hour: the hour's first tick fetches",
                3300,
                60,
                300,
                vec![
                    (100.0, 3300),
                    (100.0, 3300),
                    (100.0, 3300),
                    (100.0, 3300),
                    (100.0, 3300),
                    (200.0, 3600),
                ],
            ),
            (
                "minute ticks from :57: the new hour is seen at :02",
                3420,
                60,
                300,
                vec![
                    (100.0, 3420),
                    (100.0, 3420),
                    (100.0, 3420),
                    (100.0, 3420),
                    (100.0, 3420),
                    (200.0, 3720),
                ],
            ),
            (
                "a TTL shorter than the interval fetches every tick",
                3420,
                120,
                60,
                vec![
                    (100.0, 3420),
                    (100.0, 3540),
                    (200.0, 3660),
                    (200.0, 3780),
                    (200.0, 3900),
                    (200.0, 4020),
                ],
            ),
        ];
        for (name, first, interval, ttl, want) in cases {
            let mut seen = CarbonSeen::new(1, None);
            let got: Vec<(f64, i64)> = (0..want.len() as i64)
                .map(|k| {
                    seen.update(&regions, first + k * interval, ttl);
                    let r = seen.reading(0);
                    (r.grams_per_kwh, r.fetched_at)
                })
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }
}
