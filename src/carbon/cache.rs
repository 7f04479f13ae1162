//! Which regions to fetch, and what the cache holds after: only entries older than the TTL
//! are fetched (concurrently, each with a timeout); a failed fetch keeps the old value (the rule
//! stops trusting it after CARBON_MAX_STALENESS) and remembers why it failed. With
//! REBALANCE_FORECAST on, each successful fetch also asks the region's provider for its
//! forecast; a missing forecast leaves the value in place and says why.

use std::collections::BTreeMap;

use super::answer::{agent, FetchError, Latest};
use super::electricitymaps::{fetch_forecast, fetch_latest};
use super::source::Provider;
use super::{static_source, ukci, watttime};
use crate::config::{token_env_name, Connect, Region, Settings};
use crate::state::{CarbonEntry, MAX_RETRY_AFTER_SECS};

/// A 429 without a usable Retry-After still waits this long before the zone is asked again.
const DEFAULT_RETRY_AFTER_SECS: i64 = 60;

/// A refused WattTime login is not tried again for this long: a wrong password retried every
/// minute could get the account locked.
pub const LOGIN_BACKOFF_SECS: i64 = 600;

/// Whether a region's entry is due for a fetch at `now`: it is for another zone, the TTL has
/// passed, or it was fetched for another forecast horizon (`forecast_hours`, None with
/// forecasts off) than the one now wanted.
pub fn needs_fetch(
    entry: Option<&CarbonEntry>,
    zone: &str,
    forecast_hours: Option<u32>,
    now: i64,
    ttl_secs: i64,
) -> bool {
    let Some(entry) = entry.filter(|e| e.zone == zone) else {
        return true;
    };
    if entry.retry_after.is_some_and(|t| now < t) {
        return false;
    }
    entry.forecast_hours != forecast_hours || entry.fetched_at.is_none_or(|t| now - t >= ttl_secs)
}

/// A forecast asked with a fetch: its horizon in hours, and its mean or why there is none.
pub type ForecastResult = (u32, Result<f64, FetchError>);

/// The entry after a fetch attempt.
pub fn apply(
    previous: Option<&CarbonEntry>,
    zone: &str,
    result: Result<Latest, FetchError>,
    forecast: Option<ForecastResult>,
    now: i64,
) -> CarbonEntry {
    let mut entry = previous
        .filter(|e| e.zone == zone)
        .cloned()
        .unwrap_or_else(|| CarbonEntry {
            zone: zone.into(),
            ..CarbonEntry::default()
        });
    match result {
        Ok(latest) => CarbonEntry {
            zone: zone.into(),
            grams_per_kwh: Some(latest.grams_per_kwh),
            datetime: latest.datetime,
            fetched_at: Some(now),
            emission_factor_type: latest.emission_factor_type,
            is_estimated: latest.is_estimated,
            last_error: None,
            retry_after: None,
            forecast_hours: forecast.as_ref().map(|(hours, _)| *hours),
            forecast_grams_per_kwh: forecast
                .as_ref()
                .and_then(|(_, f)| f.as_ref().ok().copied()),
            forecast_error: forecast.and_then(|(_, f)| Some(f.err()?.describe(zone))),
        },
        Err(error) => {
            entry.retry_after = match &error {
                FetchError::Status {
                    code: 429,
                    retry_after,
                } => Some(
                    now + retry_after
                        .map_or(DEFAULT_RETRY_AFTER_SECS, |r| r.secs_from(now))
                        .clamp(1, MAX_RETRY_AFTER_SECS),
                ),
                FetchError::LoginRefused { .. } => Some(now + LOGIN_BACKOFF_SECS),
                _ => None,
            };
            entry.last_error = Some(error.describe(zone));
            entry
        }
    }
}

/// The cache after fetching every due region; logs each failure with zone and status.
pub fn refresh(
    cache: &BTreeMap<String, CarbonEntry>,
    settings: &Settings,
    connect: &Connect,
    now: i64,
) -> BTreeMap<String, CarbonEntry> {
    let horizon_secs = settings.policy.rebalance_forecast_secs;
    let forecast_hours = horizon_secs.map(|secs| (secs / 3600) as u32);
    let due: Vec<&Region> = settings
        .regions
        .iter()
        .filter(|r| {
            needs_fetch(
                cache.get(&r.name),
                &r.zone,
                forecast_hours,
                now,
                settings.carbon_cache_ttl_secs,
            )
        })
        .collect();
    let agent = agent(connect.carbon_api_timeout_secs);
    // One login for every WattTime region due (asked only when one is).
    let watttime_due = due
        .iter()
        .any(|r| matches!(r.provider(), Provider::WattTime(_)));
    let bearer = match (&connect.watttime, watttime_due) {
        (_, false) => Err(FetchError::NoLogin),
        (Some(login), true) => watttime::login(&agent, &connect.watttime_api_url, login),
        (None, true) => Err(FetchError::NoLogin),
    };
    type Fetched<'r> = (
        &'r Region,
        Result<Latest, FetchError>,
        Option<ForecastResult>,
    );
    let results: Vec<Fetched> = std::thread::scope(|scope| {
        let handles: Vec<_> = due
            .iter()
            .map(|region| {
                let (agent, bearer) = (&agent, &bearer);
                scope.spawn(move || {
                    let provider = region.provider();
                    let token = connect.tokens.get(&region.name);
                    let result = match (&provider, token) {
                        (Provider::Static(source), _) => static_source::read(source, now),
                        (Provider::Ukci(area), _) => {
                            ukci::fetch(agent, &connect.ukci_api_url, *area)
                        }
                        (Provider::ElectricityMaps, Some(token)) => {
                            fetch_latest(agent, &connect.carbon_api_url, &region.zone, token)
                        }
                        (Provider::ElectricityMaps, None) => Err(FetchError::NoToken {
                            env: token_env_name(&region.name),
                        }),
                        (Provider::WattTime(code), _) => match bearer {
                            Ok(bearer) => {
                                watttime::fetch(agent, &connect.watttime_api_url, code, bearer)
                            }
                            Err(e) => Err(e.clone()),
                        },
                    };
                    // Asked only when the value came: without it the region ranks on what it
                    // had, and its old forecast goes with it.
                    let forecast = horizon_secs.filter(|_| result.is_ok()).and_then(|h| {
                        let mean = match (&provider, token) {
                            (Provider::Static(source), _) => {
                                static_source::forecast(source, now, h)
                            }
                            (Provider::Ukci(area), _) => {
                                ukci::fetch_forecast(agent, &connect.ukci_api_url, *area, now, h)
                            }
                            (Provider::ElectricityMaps, Some(token)) => fetch_forecast(
                                agent,
                                &connect.carbon_api_url,
                                &region.zone,
                                token,
                                now,
                                h,
                            ),
                            // Refused with WattTime regions (config), and no value without a token.
                            (Provider::ElectricityMaps, None) | (Provider::WattTime(_), _) => {
                                return None
                            }
                        };
                        Some(((h / 3600) as u32, mean))
                    });
                    (*region, result, forecast)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("carbon fetch thread"))
            .collect()
    });
    let mut next: BTreeMap<String, CarbonEntry> = settings
        .regions
        .iter()
        .filter_map(|r| Some((r.name.clone(), cache.get(&r.name)?.clone())))
        .collect();
    for (region, result, forecast) in results {
        if let Err(e) = &result {
            log::warn!(
                "carbon intensity for {} not refreshed: {}",
                region.name,
                e.describe(&region.zone)
            );
        }
        if let Some((hours, Err(e))) = &forecast {
            log::warn!(
                "no {hours}h carbon forecast for {}; its moves are judged on the latest value: {}",
                region.name,
                e.describe(&region.zone)
            );
        }
        let entry = apply(cache.get(&region.name), &region.zone, result, forecast, now);
        next.insert(region.name.clone(), entry);
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::carbon::answer::RetryAfter;
    use crate::config::Token;

    #[test]
    fn a_refresh_fetches_the_due_regions_and_keeps_the_rest() {
        let emu = kube_emulator::Emulator::start(kube_emulator::Seed::demo()).unwrap();
        let settings = crate::config::defaults();
        let mut connect = Connect::for_emulator(&emu);
        connect.tokens = ["denmark", "france"]
            .map(|r| (r.to_string(), Token("demo-token".into())))
            .into();
        let now = crate::clock::now();
        let fresh = CarbonEntry {
            zone: "DK".into(),
            grams_per_kwh: Some(1.0),
            fetched_at: Some(now - 10),
            ..CarbonEntry::default()
        };
        let cache = BTreeMap::from([("denmark".to_string(), fresh.clone())]);
        let next = refresh(&cache, &settings, &connect, now);
        assert_eq!(next["denmark"], fresh, "not due: kept as it was");
        assert_eq!(next["france"].grams_per_kwh, Some(38.0));
        assert_eq!(next["france"].fetched_at, Some(now));
        let latvia = &next["latvia"];
        assert_eq!((latvia.zone.as_str(), latvia.grams_per_kwh), ("LV", None));
        assert_eq!(
            latvia.last_error.as_deref(),
            Some("zone LV: no token (set LATVIA_TOKEN or CARBON_API_TOKEN)")
        );
    }

    #[test]
    fn with_forecasts_on_a_refresh_takes_each_forecast_and_a_new_horizon_is_due_at_once() {
        let emu = kube_emulator::Emulator::start(kube_emulator::Seed::demo()).unwrap();
        emu.set_forecast("FR", &[40.0, 60.0, 500.0]);
        let mut settings = crate::config::defaults();
        settings.policy.rebalance_margin = Some(20.0);
        settings.policy.rebalance_forecast_secs = Some(2 * 3600);
        let mut connect = Connect::for_emulator(&emu);
        connect.tokens = [("france".to_string(), Token("demo-token".into()))].into();
        let now = crate::clock::now();
        let next = refresh(&BTreeMap::new(), &settings, &connect, now);
        let france = &next["france"];
        assert_eq!(
            (
                france.forecast_grams_per_kwh,
                france.forecast_hours,
                &france.forecast_error
            ),
            (Some(50.0), Some(2), &None)
        );
        let denmark = &next["denmark"];
        assert_eq!(
            (denmark.forecast_hours, denmark.forecast_grams_per_kwh),
            (None, None),
            "no value, no forecast asked"
        );
        assert!(!needs_fetch(Some(france), "FR", Some(2), now, 300));
        assert!(
            needs_fetch(Some(france), "FR", Some(3), now, 300),
            "another horizon"
        );
        assert!(
            needs_fetch(Some(france), "FR", None, now, 300),
            "forecasts turned off"
        );
        let same = refresh(&next, &settings, &connect, now + 1);
        assert_eq!(
            same["france"], *france,
            "the same horizon within the TTL is not due"
        );
        settings.policy.rebalance_forecast_secs = Some(3 * 3600);
        let again = refresh(&next, &settings, &connect, now + 1);
        assert_eq!(again["france"].forecast_hours, Some(3));
        assert_eq!(again["france"].forecast_grams_per_kwh, Some(200.0));
    }

    const NOW: i64 = 1_800_000_000;

    fn entry(fetched_ago: Option<i64>) -> CarbonEntry {
        CarbonEntry {
            zone: "FR".into(),
            grams_per_kwh: fetched_ago.map(|_| 40.0),
            fetched_at: fetched_ago.map(|a| NOW - a),
            ..CarbonEntry::default()
        }
    }

    #[test]
    fn fetches_only_what_is_due() {
        let mut backing_off = entry(Some(900));
        backing_off.retry_after = Some(NOW + 1);
        let mut backoff_over = backing_off.clone();
        backoff_over.retry_after = Some(NOW);
        let cases = [
            ("no entry", None, "FR", true),
            ("fresh", Some(entry(Some(299))), "FR", false),
            ("exactly at ttl", Some(entry(Some(300))), "FR", true),
            ("never fetched", Some(entry(None)), "FR", true),
            ("zone changed", Some(entry(Some(10))), "DK", true),
            ("rate limited", Some(backing_off), "FR", false),
            ("rate limit over", Some(backoff_over), "FR", true),
        ];
        for (name, e, zone, want) in cases {
            assert_eq!(
                needs_fetch(e.as_ref(), zone, None, NOW, 300),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn failure_keeps_the_old_value_and_says_why() {
        let old = entry(Some(400));
        let after = apply(
            Some(&old),
            "FR",
            Err(FetchError::Status {
                code: 500,
                retry_after: None,
            }),
            None,
            NOW,
        );
        assert_eq!(
            (after.grams_per_kwh, after.fetched_at),
            (Some(40.0), Some(NOW - 400))
        );
        assert_eq!(after.last_error.as_deref(), Some("zone FR: HTTP 500"));
        assert_eq!(after.retry_after, None);

        let limited = apply(
            Some(&old),
            "FR",
            Err(FetchError::Status {
                code: 429,
                retry_after: Some(RetryAfter::Secs(120)),
            }),
            None,
            NOW,
        );
        assert_eq!(limited.retry_after, Some(NOW + 120));
        let limited = apply(
            None,
            "FR",
            Err(FetchError::Status {
                code: 429,
                retry_after: None,
            }),
            None,
            NOW,
        );
        assert_eq!(
            (limited.grams_per_kwh, limited.retry_after),
            (None, Some(NOW + 60))
        );
    }

    #[test]
    fn a_first_fetch_that_is_rate_limited_keeps_its_zone_and_waits() {
        let limited = apply(
            None,
            "FR",
            Err(FetchError::Status {
                code: 429,
                retry_after: Some(RetryAfter::Secs(120)),
            }),
            None,
            NOW,
        );
        assert_eq!(limited.zone, "FR");
        assert!(!needs_fetch(Some(&limited), "FR", None, NOW + 119, 300));
        assert!(needs_fetch(Some(&limited), "FR", None, NOW + 120, 300));
    }

    #[test]
    fn a_refused_login_waits_before_it_is_tried_again() {
        let refused = apply(
            Some(&entry(Some(400))),
            "FR",
            Err(FetchError::LoginRefused { code: 401 }),
            None,
            NOW,
        );
        assert_eq!(refused.retry_after, Some(NOW + 600));
        assert!(!needs_fetch(Some(&refused), "FR", None, NOW + 599, 300));
        let missing = apply(None, "FR", Err(FetchError::NoLogin), None, NOW);
        assert_eq!(
            missing.retry_after, None,
            "nothing was asked, nothing to wait for"
        );
    }

    #[test]
    fn a_retry_after_longer_than_a_day_waits_a_day() {
        let after = |secs| {
            apply(
                None,
                "FR",
                Err(FetchError::Status {
                    code: 429,
                    retry_after: Some(RetryAfter::Secs(secs)),
                }),
                None,
                NOW,
            )
            .retry_after
        };
        assert_eq!(after(3 * 86_400), Some(NOW + 86_400));
        assert_eq!(after(86_400), Some(NOW + 86_400));
        assert_eq!(after(0), Some(NOW + 1));
    }

    #[test]
    fn success_replaces_value_and_clears_errors() {
        let mut old = entry(Some(400));
        old.last_error = Some("zone FR: HTTP 500".into());
        let latest = Latest {
            grams_per_kwh: 55.0,
            datetime: Some("2026-11-30T09:00:00.000Z".into()),
            emission_factor_type: Some("lifecycle".into()),
            is_estimated: Some(false),
        };
        let after = apply(Some(&old), "FR", Ok(latest), None, NOW);
        assert_eq!(
            (after.grams_per_kwh, after.fetched_at, after.last_error),
            (Some(55.0), Some(NOW), None)
        );
        assert_eq!(after.emission_factor_type.as_deref(), Some("lifecycle"));
    }
}
