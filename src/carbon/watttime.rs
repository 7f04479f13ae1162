//! WattTime v3: `GET /login` with HTTP Basic credentials answers a bearer token (valid about
//! 30 minutes), and `GET /v3/signal-index?region=R&signal_type=co2_moer` with it answers the
//! region's current index of the marginal emissions rate: 0 is the cleanest the region has been
//! lately, 100 the dirtiest. An index is relative and unitless, so it ranks WattTime regions and
//! is never turned into grams. A refresh logs in once for all its WattTime regions: each tick is
//! its own process, and a token kept in the state ConfigMap would be a credential in plain sight.

use serde::Deserialize;

use super::answer::{self, truncate, FetchError, Latest, MAX_FIELD_CHARS};
use super::source::MAX_INDEX;
use crate::config::WattTimeLogin;

#[derive(Deserialize)]
struct LoginBody {
    token: String,
}

#[derive(Deserialize)]
struct Point {
    point_time: String,
    value: f64,
}

#[derive(Deserialize, Default)]
struct Meta {
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    units: Option<String>,
}

#[derive(Deserialize)]
struct IndexBody {
    data: Vec<Point>,
    #[serde(default)]
    meta: Meta,
}

/// A bearer token; never shown by `Debug`.
pub struct Bearer(String);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

/// Logs in; a 401 or 403 is `FetchError::LoginRefused`, other failures as any fetch's.
pub fn login(
    agent: &ureq::Agent,
    base_url: &str,
    login: &WattTimeLogin,
) -> Result<Bearer, FetchError> {
    use base64::Engine;
    let pair = format!("{}:{}", login.username, login.password.0);
    let basic = base64::engine::general_purpose::STANDARD.encode(pair);
    let text = answer::text(
        agent
            .get(format!("{base_url}/login"))
            .header("Authorization", format!("Basic {basic}"))
            .call(),
    )
    .map_err(|e| match e {
        FetchError::Status {
            code: code @ (401 | 403),
            ..
        } => FetchError::LoginRefused { code },
        other => other,
    })?;
    // A parse error could quote the answer, and the answer is a credential: say only what is
    // missing.
    let body: LoginBody = serde_json::from_str(&text)
        .map_err(|_| FetchError::Malformed("the login answer holds no token".into()))?;
    Ok(Bearer(body.token))
}

/// The region's current index.
pub fn fetch(
    agent: &ureq::Agent,
    base_url: &str,
    region: &str,
    bearer: &Bearer,
) -> Result<Latest, FetchError> {
    let text = answer::text(
        agent
            .get(format!("{base_url}/v3/signal-index"))
            .query("region", region)
            .query("signal_type", "co2_moer")
            .header("Authorization", format!("Bearer {}", bearer.0))
            .call(),
    )?;
    checked(region, &text)
}

/// The answer's index, refused when it is for another region, in other units, or outside 0-100.
fn checked(region: &str, text: &str) -> Result<Latest, FetchError> {
    let parsed: IndexBody =
        serde_json::from_str(text).map_err(|e| FetchError::Malformed(e.to_string()))?;
    if let Some(other) = parsed.meta.region.as_deref().filter(|r| *r != region) {
        return Err(FetchError::Malformed(format!(
            "the answer is for region {:?}",
            truncate(other)
        )));
    }
    if let Some(units) = parsed.meta.units.as_deref().filter(|u| *u != "percentile") {
        return Err(FetchError::Malformed(format!(
            "units {:?}, not the signal index's percentile",
            truncate(units)
        )));
    }
    let point = parsed
        .data
        .into_iter()
        .next()
        .ok_or_else(|| FetchError::Malformed("the answer holds no value".into()))?;
    if !(0.0..=MAX_INDEX).contains(&point.value) {
        return Err(FetchError::Malformed(format!(
            "value {} is outside the index's 0 to 100",
            point.value
        )));
    }
    let chars = point.point_time.chars().count();
    if chars > MAX_FIELD_CHARS {
        return Err(FetchError::Malformed(format!(
            "point_time is {chars} characters long; at most {MAX_FIELD_CHARS} are kept"
        )));
    }
    Ok(Latest {
        grams_per_kwh: point.value,
        datetime: Some(point.point_time),
        emission_factor_type: Some(SIGNAL.into()),
        is_estimated: None,
    })
}

/// The signal a WattTime value is kept with.
pub const SIGNAL: &str = "marginal index";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::carbon::answer::agent;
    use crate::config::Token;
    use kube_emulator::{Emulator, Fault, FaultKind, Seed, WATTTIME_CREDENTIALS};

    fn demo_login() -> WattTimeLogin {
        WattTimeLogin {
            username: WATTTIME_CREDENTIALS.0.into(),
            password: Token(WATTTIME_CREDENTIALS.1.into()),
        }
    }

    #[test]
    fn a_login_then_the_index_from_the_emulated_api() {
        let emu = Emulator::start(Seed::demo()).unwrap();
        emu.set_watttime("CAISO_NORTH", 23.0);
        let (agent, url) = (agent(2), emu.watttime_base_url());
        let bearer = login(&agent, &url, &demo_login()).unwrap();
        let latest = fetch(&agent, &url, "CAISO_NORTH", &bearer).unwrap();
        assert_eq!(latest.grams_per_kwh, 23.0);
        assert_eq!(latest.emission_factor_type.as_deref(), Some(SIGNAL));
        assert!(latest.datetime.unwrap().ends_with("+00:00"));
        assert_eq!(
            format!("{bearer:?}"),
            "Bearer(<redacted>)",
            "Debug hides the token"
        );

        let wrong = WattTimeLogin {
            password: Token("guess".into()),
            ..demo_login()
        };
        assert_eq!(
            login(&agent, &url, &wrong).unwrap_err(),
            FetchError::LoginRefused { code: 401 }
        );
        let stale = Bearer("wt-expired".into());
        assert!(matches!(
            fetch(&agent, &url, "CAISO_NORTH", &stale),
            Err(FetchError::Status { code: 401, .. })
        ));
        emu.inject_fault(Fault::new("/watttime/v3/", FaultKind::Status(429)));
        match fetch(&agent, &url, "CAISO_NORTH", &bearer) {
            Err(FetchError::Status {
                code: 429,
                retry_after,
            }) => assert!(retry_after.is_some()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn answers_are_checked_before_they_are_kept() {
        let ok = r#"{"data":[{"point_time":"2026-12-03T10:05:00+00:00","value":57}],"meta":{"region":"CAISO_NORTH","units":"percentile"}}"#;
        assert_eq!(checked("CAISO_NORTH", ok).unwrap().grams_per_kwh, 57.0);
        let timed = |chars: usize| {
            let body = format!(
                r#"{{"data":[{{"point_time":"{}","value":5}}]}}"#,
                "9".repeat(chars)
            );
            checked("CAISO_NORTH", &body)
        };
        assert!(timed(64).is_ok(), "64 characters are kept");
        let long = timed(65).unwrap_err().describe("watttime:CAISO_NORTH");
        assert!(long.contains("point_time is 65 characters long"), "{long}");
        let cases = [
            (
                r#"{"data":[{"point_time":"t","value":5}],"meta":{"region":"PJM_DC"}}"#,
                "the answer is for region \"PJM_DC\"",
            ),
            (
                r#"{"data":[{"point_time":"t","value":5}],"meta":{"units":"lbs_co2_per_mwh"}}"#,
                "units \"lbs_co2_per_mwh\", not the signal index's percentile",
            ),
            (
                r#"{"data":[{"point_time":"t","value":101}]}"#,
                "value 101 is outside the index's 0 to 100",
            ),
            (r#"{"data":[{"point_time":"t","value":-1}]}"#, "outside"),
            (r#"{"data":[]}"#, "the answer holds no value"),
            (r#"{"meta":{}}"#, "missing field `data`"),
        ];
        for (body, want) in cases {
            let text = checked("CAISO_NORTH", body)
                .unwrap_err()
                .describe("watttime:CAISO_NORTH");
            assert!(text.contains(want), "{text} lacks {want}");
        }
    }
}
