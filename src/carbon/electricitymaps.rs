//! ElectricityMaps v3 `GET /carbon-intensity/latest?zone=Z` (and, with REBALANCE_FORECAST,
//! `/carbon-intensity/forecast`) with the `auth-token` header. Errors name the zone and the HTTP
//! status; the token never appears in them.

use serde::Deserialize;

use super::answer::{self, truncate, FetchError, Latest, MAX_FIELD_CHARS};
use crate::config::Token;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    /// The zone the answer is for.
    #[serde(default)]
    zone: Option<String>,
    carbon_intensity: f64,
    #[serde(default)]
    datetime: Option<String>,
    #[serde(default)]
    emission_factor_type: Option<String>,
    #[serde(default)]
    is_estimated: Option<bool>,
}

#[derive(Deserialize)]
struct ForecastBody {
    #[serde(default)]
    zone: Option<String>,
    forecast: Vec<ForecastPoint>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ForecastPoint {
    carbon_intensity: f64,
    datetime: String,
}

/// The horizons the forecast endpoint offers (`horizonHours`).
const HORIZON_HOURS: [i64; 4] = [6, 24, 48, 72];

/// The zone's mean forecast over `horizon_secs` from `now`'s hour (see `answer::forecast_mean`),
/// asking for the shortest horizon the service offers that covers it. Forecasts need a plan
/// that includes them; a token without one is answered 401 or 403, reported as a plan
/// question rather than a bad token (the same token just read the latest value).
pub fn fetch_forecast(
    agent: &ureq::Agent,
    base_url: &str,
    zone: &str,
    token: &Token,
    now: i64,
    horizon_secs: i64,
) -> Result<f64, FetchError> {
    let hours = HORIZON_HOURS
        .into_iter()
        .find(|h| h * 3600 >= horizon_secs)
        .unwrap_or(72);
    let url = format!("{base_url}/carbon-intensity/forecast");
    let text = answer::text(
        agent
            .get(&url)
            .query("zone", zone)
            .query("horizonHours", hours.to_string())
            .header("auth-token", &token.0)
            .call(),
    )
    .map_err(|e| match e {
        FetchError::Status {
            code: code @ (401 | 403),
            ..
        } => FetchError::NoForecastAccess { code },
        other => other,
    })?;
    forecast_checked(zone, &text, now, horizon_secs)
}

fn forecast_checked(
    zone: &str,
    text: &str,
    now: i64,
    horizon_secs: i64,
) -> Result<f64, FetchError> {
    let parsed: ForecastBody =
        serde_json::from_str(text).map_err(|e| FetchError::Malformed(e.to_string()))?;
    if let Some(other) = parsed.zone.as_deref().filter(|z| *z != zone) {
        return Err(FetchError::Malformed(format!(
            "the forecast is for zone {:?}",
            truncate(other)
        )));
    }
    let mut points = Vec::with_capacity(parsed.forecast.len());
    for p in parsed.forecast {
        let at = crate::clock::parse_rfc3339(&p.datetime).ok_or_else(|| {
            FetchError::Malformed(format!(
                "forecast datetime {:?} is not a time",
                truncate(&p.datetime)
            ))
        })?;
        points.push((at, p.carbon_intensity));
    }
    answer::forecast_mean(points, now, horizon_secs)
}

pub fn fetch_latest(
    agent: &ureq::Agent,
    base_url: &str,
    zone: &str,
    token: &Token,
) -> Result<Latest, FetchError> {
    let url = format!("{base_url}/carbon-intensity/latest");
    let text = answer::text(
        agent
            .get(&url)
            .query("zone", zone)
            .header("auth-token", &token.0)
            .call(),
    )?;
    checked(zone, &text)
}

/// The answer's value, refused when it is for another zone, implausible, or carries fields
/// too long to keep.
fn checked(zone: &str, text: &str) -> Result<Latest, FetchError> {
    let parsed: Body =
        serde_json::from_str(text).map_err(|e| FetchError::Malformed(e.to_string()))?;
    if let Some(other) = parsed.zone.as_deref().filter(|z| *z != zone) {
        return Err(FetchError::Malformed(format!(
            "the answer is for zone {:?}",
            truncate(other)
        )));
    }
    answer::plausible("carbonIntensity", parsed.carbon_intensity)?;
    for (name, value) in [
        ("datetime", &parsed.datetime),
        ("emissionFactorType", &parsed.emission_factor_type),
    ] {
        let chars = value.as_deref().map_or(0, |v| v.chars().count());
        if chars > MAX_FIELD_CHARS {
            return Err(FetchError::Malformed(format!(
                "{name} is {chars} characters long; at most {MAX_FIELD_CHARS} are kept"
            )));
        }
    }
    Ok(Latest {
        grams_per_kwh: parsed.carbon_intensity,
        datetime: parsed.datetime,
        emission_factor_type: parsed.emission_factor_type,
        is_estimated: parsed.is_estimated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::carbon::answer::agent;
    use kube_emulator::{Emulator, Fault, FaultKind, Seed};

    /// The emulated ElectricityMaps API, one answer at a time.
    #[test]
    fn fetches_read_the_status_and_a_bounded_body() {
        let emu = Emulator::start(Seed::demo()).unwrap();
        let (agent, url, token) = (agent(2), emu.carbon_base_url(), Token("demo-token".into()));
        let fetch = || fetch_latest(&agent, &url, "FR", &token);
        assert_eq!(fetch().unwrap().grams_per_kwh, 38.0);

        emu.inject_fault(Fault::new("/v3/carbon-intensity", FaultKind::Status(429)));
        assert!(matches!(fetch(), Err(FetchError::Status { code: 429, .. })));

        // Bodies far above a real answer's 300 bytes are read up to 64 KiB, and refused beyond.
        let padded = |n: usize| {
            let body =
                serde_json::json!({"zone": "FR", "carbonIntensity": 40, "note": "x".repeat(n)});
            Fault::new("/v3/carbon-intensity", FaultKind::Body(body))
        };
        emu.inject_fault(padded(60_000));
        assert_eq!(fetch().unwrap().grams_per_kwh, 40.0);
        emu.inject_fault(padded(70_000));
        match fetch() {
            Err(FetchError::Malformed(why)) => {
                assert_eq!(why, "the answer is larger than 65536 bytes")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_forecast_is_asked_for_the_shortest_horizon_that_covers_the_setting() {
        let emu = Emulator::start(Seed::demo()).unwrap();
        let (agent, url, token) = (agent(2), emu.carbon_base_url(), Token("demo-token".into()));
        emu.set_forecast("FR", &[40.0, 60.0, 80.0, 500.0]);
        let now = crate::clock::now();
        let mean = |h: i64| fetch_forecast(&agent, &url, "FR", &token, now, h * 3600);
        assert_eq!(mean(2), Ok(50.0));
        assert_eq!(mean(3), Ok(60.0));
        // The last value set stands for the rest of the horizon, as the emulator documents.
        assert_eq!(mean(6), Ok((40.0 + 60.0 + 80.0 + 3.0 * 500.0) / 6.0));
        assert_eq!(mean(7), Ok((40.0 + 60.0 + 80.0 + 4.0 * 500.0) / 7.0));
        let asked: Vec<String> = emu
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v3/carbon-intensity/forecast")
            .map(|r| r.query)
            .collect();
        let six = "zone=FR&horizonHours=6";
        assert_eq!(
            asked,
            [six, six, six, "zone=FR&horizonHours=24"],
            "the shortest horizon offered that covers the setting"
        );
        emu.inject_fault(Fault::new(
            "/v3/carbon-intensity/forecast",
            FaultKind::Status(403),
        ));
        let refused = mean(2).unwrap_err();
        assert_eq!(refused, FetchError::NoForecastAccess { code: 403 });
        assert_eq!(
            refused.describe("FR"),
            "zone FR: HTTP 403 for the forecast (the token's plan may not include forecasts)"
        );
    }

    #[test]
    fn forecasts_are_checked_before_they_are_kept() {
        const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
        let ok = r#"{"zone":"FR","forecast":[{"carbonIntensity":30,"datetime":"2026-01-01T00:00:00.000Z"},{"carbonIntensity":50,"datetime":"2026-01-01T01:00:00.000Z"}],"updatedAt":"2026-01-01T00:00:00.000Z"}"#;
        assert_eq!(forecast_checked("FR", ok, NOW, 7200), Ok(40.0));
        let cases = [
            (
                r#"{"zone":"PL","forecast":[]}"#,
                "the forecast is for zone \"PL\"",
            ),
            (r#"{"zone":"FR"}"#, "missing field `forecast`"),
            (
                r#"{"zone":"FR","forecast":[{"carbonIntensity":30,"datetime":"soon"}]}"#,
                "forecast datetime \"soon\" is not a time",
            ),
            (
                r#"{"zone":"FR","forecast":[]}"#,
                "the forecast has no value from",
            ),
        ];
        for (body, want) in cases {
            let text = forecast_checked("FR", body, NOW, 7200)
                .unwrap_err()
                .describe("FR");
            assert!(text.contains(want), "{text} lacks {want}");
        }
    }

    #[test]
    fn answers_are_checked_before_they_are_kept() {
        let ok = r#"{"zone":"FR","carbonIntensity":38,"datetime":"2026-11-30T09:00:00.000Z","emissionFactorType":"lifecycle","isEstimated":false}"#;
        assert_eq!(checked("FR", ok).unwrap().grams_per_kwh, 38.0);
        let longest = format!(
            r#"{{"zone":"FR","carbonIntensity":38,"emissionFactorType":"{}"}}"#,
            "x".repeat(64)
        );
        assert!(checked("FR", &longest).is_ok(), "64 characters are kept");
        let long = format!(
            r#"{{"zone":"FR","carbonIntensity":38,"datetime":"{}"}}"#,
            "9".repeat(400_000)
        );
        let cases = [
            (
                r#"{"zone":"PL","carbonIntensity":38}"#.to_string(),
                "the answer is for zone \"PL\"",
            ),
            (
                r#"{"zone":"FR","carbonIntensity":1e308}"#.to_string(),
                "carbonIntensity 1e308 is outside the plausible 0 to 5000",
            ),
            (
                r#"{"zone":"FR","carbonIntensity":5001.5}"#.to_string(),
                "carbonIntensity 5001.5 is outside",
            ),
            (
                format!(
                    r#"{{"zone":"FR","carbonIntensity":38,"emissionFactorType":"{}"}}"#,
                    "x".repeat(65)
                ),
                "emissionFactorType is 65 characters long",
            ),
            (
                r#"{"zone":"FR","carbonIntensity":-1}"#.to_string(),
                "outside the plausible",
            ),
            (
                long,
                "datetime is 400000 characters long; at most 64 are kept",
            ),
            (
                r#"{"zone":"FR"}"#.to_string(),
                "missing field `carbonIntensity`",
            ),
        ];
        for (body, want) in cases {
            let error = checked("FR", &body).unwrap_err();
            let text = error.describe("FR");
            assert!(text.starts_with("zone FR: malformed response ("), "{text}");
            assert!(text.contains(want), "{text} lacks {want}");
        }
    }
}
