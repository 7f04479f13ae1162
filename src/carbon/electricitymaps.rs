//! ElectricityMaps v3 `GET /carbon-intensity/latest?zone=Z` with the `auth-token` header.
//! Errors name the zone and the HTTP status; the token never appears in them.

use std::time::Duration;

use serde::Deserialize;

use super::source::MAX_GRAMS_PER_KWH;
use crate::config::Token;

/// A value as the API reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    pub grams_per_kwh: f64,
    pub datetime: Option<String>,
    pub emission_factor_type: Option<String>,
    pub is_estimated: Option<bool>,
}

/// The longest text field kept from an answer (an RFC 3339 time is 24 characters): the values
/// end up in the state ConfigMap, which the API server caps at 1 MiB.
const MAX_FIELD_CHARS: usize = 64;

/// The largest answer read; a real one is about 300 bytes.
const MAX_BODY_BYTES: u64 = 64 * 1024;

/// A 429's Retry-After: seconds, or an HTTP date (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    Secs(i64),
    At(i64),
}

impl RetryAfter {
    fn parse(text: &str) -> Option<RetryAfter> {
        let text = text.trim();
        if let Ok(secs) = text.parse::<i64>() {
            return Some(RetryAfter::Secs(secs));
        }
        let at = k8s_openapi::jiff::fmt::rfc2822::parse(text).ok()?;
        Some(RetryAfter::At(at.timestamp().as_second()))
    }

    /// Seconds to wait from `now`.
    pub fn secs_from(self, now: i64) -> i64 {
        match self {
            RetryAfter::Secs(secs) => secs,
            RetryAfter::At(at) => at - now,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum FetchError {
    /// A non-2xx answer, with a 429's Retry-After.
    Status {
        code: u16,
        retry_after: Option<RetryAfter>,
    },
    Timeout,
    Transport(String),
    Malformed(String),
    NoToken {
        env: String,
    },
    /// A static source's file could not give the current hour's value (the text names it).
    File(String),
}

impl FetchError {
    pub fn describe(&self, zone: &str) -> String {
        match self {
            FetchError::Status { code: 401, .. } => {
                format!("zone {zone}: HTTP 401 (token not accepted for this zone)")
            }
            FetchError::Status {
                code: 429,
                retry_after,
            } => format!(
                "zone {zone}: HTTP 429 (rate limited{})",
                match retry_after {
                    Some(RetryAfter::Secs(s)) => format!(", retry after {s}s"),
                    Some(RetryAfter::At(t)) =>
                        format!(", retry after {}", crate::clock::to_rfc3339(*t)),
                    None => String::new(),
                }
            ),
            FetchError::Status { code, .. } => format!("zone {zone}: HTTP {code}"),
            FetchError::Timeout => format!("zone {zone}: timed out"),
            FetchError::Transport(e) => format!("zone {zone}: {e}"),
            FetchError::Malformed(e) => format!("zone {zone}: malformed response ({e})"),
            FetchError::NoToken { env } => {
                format!("zone {zone}: no token (set {env} or CARBON_API_TOKEN)")
            }
            FetchError::File(e) => format!("static file {e}"),
        }
    }
}

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

pub fn agent(timeout_secs: i64) -> ureq::Agent {
    crate::http_agent::agent(Duration::from_secs(timeout_secs.max(1) as u64))
}

pub fn fetch_latest(
    agent: &ureq::Agent,
    base_url: &str,
    zone: &str,
    token: &Token,
) -> Result<Latest, FetchError> {
    let url = format!("{base_url}/carbon-intensity/latest");
    let response = agent
        .get(&url)
        .query("zone", zone)
        .header("auth-token", &token.0)
        .call()
        .map_err(|e| match e {
            ureq::Error::Timeout(_) => FetchError::Timeout,
            other => FetchError::Transport(transport_text(&other)),
        })?;
    let code = response.status().as_u16();
    if !(200..300).contains(&code) {
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(RetryAfter::parse);
        return Err(FetchError::Status { code, retry_after });
    }
    let text = response
        .into_body()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_string()
        .map_err(|e| match e {
            ureq::Error::Timeout(_) => FetchError::Timeout,
            ureq::Error::BodyExceedsLimit(_) => {
                FetchError::Malformed(format!("the answer is larger than {MAX_BODY_BYTES} bytes"))
            }
            other => FetchError::Malformed(transport_text(&other)),
        })?;
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
    if !(0.0..=MAX_GRAMS_PER_KWH).contains(&parsed.carbon_intensity) {
        return Err(FetchError::Malformed(format!(
            "carbonIntensity {} is outside the plausible 0 to {MAX_GRAMS_PER_KWH} gCO2eq/kWh",
            shown(parsed.carbon_intensity)
        )));
    }
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

/// A number as people read it: 1e308, not its 309 digits.
fn shown(x: f64) -> String {
    if x.abs() >= 1e9 {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(MAX_FIELD_CHARS).collect()
}

/// ureq's error text without anything from the request's headers.
/// A transport failure in words that carry no URL, header or token.
pub fn transport_text(error: &ureq::Error) -> String {
    let tls = |e: &rustls::Error| {
        format!("TLS failed ({e}); the server's CA must be in the system's roots or SSL_CERT_FILE")
    };
    match error {
        ureq::Error::Io(e) => match e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
            Some(e) => tls(e),
            None => format!("connection failed ({})", e.kind()),
        },
        ureq::Error::Rustls(e) => tls(e),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        _ => "request failed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn transport_errors_say_what_failed_and_nothing_of_the_request() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "auth-token: x");
        for (error, text) in [
            (
                ureq::Error::Io(refused),
                "connection failed (connection refused)",
            ),
            (ureq::Error::HostNotFound, "host not found"),
            (ureq::Error::ConnectionFailed, "connection failed"),
            (ureq::Error::TooManyRedirects, "request failed"),
            (
                ureq::Error::Rustls(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::UnknownIssuer,
                )),
                "TLS failed (invalid peer certificate: UnknownIssuer); \
                 the server's CA must be in the system's roots or SSL_CERT_FILE",
            ),
        ] {
            assert_eq!(transport_text(&error), text);
        }
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        assert_eq!(RetryAfter::parse("120"), Some(RetryAfter::Secs(120)));
        let at = RetryAfter::parse("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(at, RetryAfter::At(1_445_412_480));
        assert_eq!(at.secs_from(1_445_412_480 - 90), 90);
        assert_eq!(RetryAfter::parse("soon"), None);
    }
}
