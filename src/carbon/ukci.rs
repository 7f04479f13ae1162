//! The UK Carbon Intensity API (NESO, no token): `GET /intensity` for Great Britain, whose
//! half hour carries the estimated `actual` once known and the `forecast` until then, and
//! `GET /regional/regionid/{id}` for a region, which carries a `forecast` only. Its figures
//! are operational (direct) emissions of generation, so each value is kept as signal `direct`.
//! With REBALANCE_FORECAST, `GET /intensity/{from}/fw24h` (or `fw48h`) and its regional form give
//! the half-hourly forecast; the API's forecasts reach 48 hours, so a longer horizon averages
//! those.

use serde::Deserialize;

use super::answer::{self, FetchError, Latest, MAX_FIELD_CHARS};
use super::source::UkciArea;

#[derive(Deserialize)]
struct Intensity {
    forecast: f64,
    #[serde(default)]
    actual: Option<f64>,
}

#[derive(Deserialize)]
struct Period {
    #[serde(default)]
    from: Option<String>,
    intensity: Intensity,
}

#[derive(Deserialize)]
struct National {
    data: Vec<Period>,
}

#[derive(Deserialize)]
struct Region {
    regionid: u8,
    data: Vec<Period>,
}

#[derive(Deserialize)]
struct Regional {
    data: Vec<Region>,
}

/// A regional forecast carries its region as an object (`/regional/regionid/{id}` as a list);
/// either is read.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrList {
    One(Region),
    List(Vec<Region>),
}

#[derive(Deserialize)]
struct RegionalForecast {
    data: OneOrList,
}

/// The area's mean forecast over `horizon_secs` from `now`'s hour (see `answer::forecast_mean`).
pub fn fetch_forecast(
    agent: &ureq::Agent,
    base_url: &str,
    area: UkciArea,
    now: i64,
    horizon_secs: i64,
) -> Result<f64, FetchError> {
    let from = k8s_openapi::jiff::Timestamp::from_second(now - now.rem_euclid(3600))
        .map_err(|e| FetchError::Malformed(e.to_string()))?
        .strftime("%Y-%m-%dT%H:%MZ")
        .to_string();
    let fw = if horizon_secs <= 24 * 3600 {
        "fw24h"
    } else {
        "fw48h"
    };
    let url = match area {
        UkciArea::National => format!("{base_url}/intensity/{from}/{fw}"),
        UkciArea::Region(id) => format!("{base_url}/regional/intensity/{from}/{fw}/regionid/{id}"),
    };
    let text = answer::text(agent.get(&url).header("Accept", "application/json").call())?;
    forecast_checked(area, &text, now, horizon_secs)
}

fn forecast_checked(
    area: UkciArea,
    text: &str,
    now: i64,
    horizon_secs: i64,
) -> Result<f64, FetchError> {
    let malformed = |e: serde_json::Error| FetchError::Malformed(e.to_string());
    let periods = match area {
        UkciArea::National => {
            serde_json::from_str::<National>(text)
                .map_err(malformed)?
                .data
        }
        UkciArea::Region(id) => {
            let region = match serde_json::from_str::<RegionalForecast>(text)
                .map_err(malformed)?
                .data
            {
                OneOrList::One(region) => region,
                OneOrList::List(list) => list
                    .into_iter()
                    .next()
                    .ok_or_else(|| FetchError::Malformed("the answer holds no region".into()))?,
            };
            if region.regionid != id {
                return Err(FetchError::Malformed(format!(
                    "the answer is for region {}",
                    region.regionid
                )));
            }
            region.data
        }
    };
    let mut points = Vec::with_capacity(periods.len());
    for p in periods {
        let from = p.from.unwrap_or_default();
        let at = crate::clock::parse_rfc3339(&from).ok_or_else(|| {
            FetchError::Malformed(format!(
                "forecast from {:?} is not a time",
                answer::truncate(&from)
            ))
        })?;
        points.push((at, p.intensity.forecast));
    }
    answer::forecast_mean(points, now, horizon_secs)
}

pub fn fetch(agent: &ureq::Agent, base_url: &str, area: UkciArea) -> Result<Latest, FetchError> {
    let url = match area {
        UkciArea::National => format!("{base_url}/intensity"),
        UkciArea::Region(id) => format!("{base_url}/regional/regionid/{id}"),
    };
    let text = answer::text(agent.get(&url).header("Accept", "application/json").call())?;
    checked(area, &text)
}

/// The half hour's value, refused when it is for another region, implausible, or missing.
fn checked(area: UkciArea, text: &str) -> Result<Latest, FetchError> {
    let malformed = |e: serde_json::Error| FetchError::Malformed(e.to_string());
    let period = match area {
        UkciArea::National => serde_json::from_str::<National>(text)
            .map_err(malformed)?
            .data
            .into_iter()
            .next(),
        UkciArea::Region(id) => {
            let region = serde_json::from_str::<Regional>(text)
                .map_err(malformed)?
                .data
                .into_iter()
                .next()
                .ok_or_else(|| FetchError::Malformed("the answer holds no region".into()))?;
            if region.regionid != id {
                return Err(FetchError::Malformed(format!(
                    "the answer is for region {}",
                    region.regionid
                )));
            }
            region.data.into_iter().next()
        }
    };
    let period =
        period.ok_or_else(|| FetchError::Malformed("the answer holds no half hour".into()))?;
    let (grams, estimated) = match period.intensity.actual {
        Some(actual) => (actual, false),
        None => (period.intensity.forecast, true),
    };
    answer::plausible("intensity", grams)?;
    let chars = period.from.as_deref().map_or(0, |f| f.chars().count());
    if chars > MAX_FIELD_CHARS {
        return Err(FetchError::Malformed(format!(
            "from is {chars} characters long; at most {MAX_FIELD_CHARS} are kept"
        )));
    }
    Ok(Latest {
        grams_per_kwh: grams,
        datetime: period.from,
        emission_factor_type: Some("direct".into()),
        is_estimated: Some(estimated),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::carbon::answer::agent;
    use kube_emulator::{Emulator, Fault, FaultKind, Seed};

    #[test]
    fn forecasts_from_the_emulated_api_average_the_half_hours_ahead() {
        let emu = Emulator::start(Seed::demo()).unwrap();
        let now = crate::clock::now();
        let (agent, url) = (agent(2), emu.ukci_base_url());
        // Half-hourly from the current half hour; the mean runs from the current hour.
        let into_hour = now.rem_euclid(3600) >= 1800;
        // A half hour already over is answered at the area's value, 60.
        emu.set_ukci_forecast("13", &[100.0, 200.0, 300.0]);
        emu.set_ukci("13", 60.0);
        let london = fetch_forecast(&agent, &url, UkciArea::Region(13), now, 3600).unwrap();
        let want = if into_hour { 80.0 } else { 150.0 };
        assert_eq!(london, want);
        let gb = fetch_forecast(&agent, &url, UkciArea::National, now, 30 * 3600).unwrap();
        assert_eq!(gb, 150.0, "national's value throughout, from fw48h");
        let two_hours = fetch_forecast(&agent, &url, UkciArea::National, now, 2 * 3600).unwrap();
        assert_eq!(two_hours, 150.0);
        let hour = k8s_openapi::jiff::Timestamp::from_second(now - now.rem_euclid(3600))
            .unwrap()
            .strftime("%Y-%m-%dT%H:%MZ")
            .to_string();
        let asked: Vec<String> = emu
            .requests()
            .into_iter()
            .filter(|r| r.path.contains("/fw"))
            .map(|r| r.path)
            .collect();
        assert_eq!(
            asked,
            [
                format!("/ukci/regional/intensity/{hour}/fw24h/regionid/13"),
                format!("/ukci/intensity/{hour}/fw48h"),
                format!("/ukci/intensity/{hour}/fw24h"),
            ],
            "from the current hour; 24 hours cover up to 24 hours"
        );
    }

    #[test]
    fn forecast_answers_are_checked() {
        const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
        let period = |from: &str, g: i64| {
            format!(r#"{{"from":"{from}","to":"x","intensity":{{"forecast":{g},"index":"low"}}}}"#)
        };
        let two = format!(
            "{},{}",
            period("2026-01-01T00:00Z", 100),
            period("2026-01-01T00:30Z", 50)
        );
        let as_object = format!(r#"{{"data":{{"regionid":13,"data":[{two}]}}}}"#);
        let as_list = format!(r#"{{"data":[{{"regionid":13,"data":[{two}]}}]}}"#);
        for body in [&as_object, &as_list] {
            assert_eq!(
                forecast_checked(UkciArea::Region(13), body, NOW, 3600),
                Ok(75.0)
            );
        }
        let national = format!(r#"{{"data":[{two}]}}"#);
        assert_eq!(
            forecast_checked(UkciArea::National, &national, NOW, 3600),
            Ok(75.0)
        );
        let cases = [
            (
                UkciArea::Region(12),
                as_object.clone(),
                "the answer is for region 13",
            ),
            (
                UkciArea::Region(13),
                r#"{"data":[]}"#.to_string(),
                "the answer holds no region",
            ),
            (
                UkciArea::National,
                format!(r#"{{"data":[{}]}}"#, period("noon", 80)),
                "forecast from \"noon\" is not a time",
            ),
            (
                UkciArea::National,
                r#"{"data":[]}"#.to_string(),
                "the forecast has no value",
            ),
        ];
        for (area, body, want) in cases {
            let text = forecast_checked(area, &body, NOW, 3600)
                .unwrap_err()
                .describe("ukci");
            assert!(text.contains(want), "{text} lacks {want}");
        }
    }

    #[test]
    fn national_and_regional_values_from_the_emulated_api() {
        let emu = Emulator::start(Seed::demo()).unwrap();
        emu.set_ukci("13", 121.0);
        emu.set_ukci("national", 180.0);
        let (agent, url) = (agent(2), emu.ukci_base_url());
        let london = fetch(&agent, &url, UkciArea::Region(13)).unwrap();
        assert_eq!(london.grams_per_kwh, 121.0);
        assert_eq!(
            london.is_estimated,
            Some(true),
            "regional values are forecasts"
        );
        assert_eq!(london.emission_factor_type.as_deref(), Some("direct"));
        assert!(london.datetime.unwrap().ends_with('Z'));
        let gb = fetch(&agent, &url, UkciArea::National).unwrap();
        assert_eq!((gb.grams_per_kwh, gb.is_estimated), (180.0, Some(false)));

        emu.inject_fault(Fault::new("/ukci/", FaultKind::Status(429)));
        match fetch(&agent, &url, UkciArea::Region(13)) {
            Err(FetchError::Status {
                code: 429,
                retry_after: Some(r),
            }) => assert_eq!(r, answer::RetryAfter::Secs(1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn answers_are_checked_before_they_are_kept() {
        let region = |id: u8, forecast: &str| {
            format!(
                r#"{{"data":[{{"regionid":{id},"data":[{{"from":"2026-12-03T07:30Z","intensity":{{"forecast":{forecast},"index":"low"}}}}]}}]}}"#
            )
        };
        let longest = region(13, "90").replace("2026-12-03T07:30Z", &"9".repeat(64));
        assert!(
            checked(UkciArea::Region(13), &longest).is_ok(),
            "64 characters are kept"
        );
        let ok = checked(UkciArea::Region(13), &region(13, "90")).unwrap();
        assert_eq!(ok.grams_per_kwh, 90.0);
        assert_eq!(ok.datetime.as_deref(), Some("2026-12-03T07:30Z"));
        let national = r#"{"data":[{"from":"2026-12-03T07:30Z","to":"2026-12-03T08:00Z","intensity":{"forecast":150,"actual":null,"index":"moderate"}}]}"#;
        let gb = checked(UkciArea::National, national).unwrap();
        assert_eq!((gb.grams_per_kwh, gb.is_estimated), (150.0, Some(true)));
        let cases = [
            (
                UkciArea::Region(13),
                region(12, "90"),
                "the answer is for region 12",
            ),
            (
                UkciArea::Region(13),
                region(13, "9000"),
                "intensity 9000 is outside the plausible",
            ),
            (
                UkciArea::Region(13),
                region(13, "-5"),
                "outside the plausible",
            ),
            (
                UkciArea::Region(13),
                r#"{"data":[]}"#.into(),
                "the answer holds no region",
            ),
            (
                UkciArea::Region(13),
                r#"{"data":[{"regionid":13,"data":[]}]}"#.into(),
                "the answer holds no half hour",
            ),
            (
                UkciArea::National,
                r#"{"data":[]}"#.into(),
                "the answer holds no half hour",
            ),
            (
                UkciArea::Region(13),
                region(13, "90").replace("2026-12-03T07:30Z", &"9".repeat(65)),
                "from is 65 characters long; at most 64 are kept",
            ),
            (
                UkciArea::National,
                r#"{"error":{"code":"400 Bad Request","message":"x"}}"#.into(),
                "missing field `data`",
            ),
        ];
        for (area, body, want) in cases {
            let text = checked(area, &body).unwrap_err().describe("ukci:13");
            assert!(
                text.starts_with("zone ukci:13: malformed response ("),
                "{text}"
            );
            assert!(text.contains(want), "{text} lacks {want}");
        }
    }
}
