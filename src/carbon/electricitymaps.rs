//! ElectricityMaps v3 `GET /carbon-intensity/latest?zone=Z` with the `auth-token` header.
//! Errors name the zone and the HTTP status; the token never appears in them.

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
