//! What a carbon provider's HTTP answer becomes: its value, or why there is none. Shared by
//! every provider that is asked over HTTP, so a status, a Retry-After, a timeout or an
//! oversized body is handled and worded the same for all, and never with a token in it.

use std::time::Duration;

use super::source::MAX_GRAMS_PER_KWH;

/// A value as the API reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    /// gCO2eq/kWh; for a WattTime region, its 0-100 index.
    pub grams_per_kwh: f64,
    pub datetime: Option<String>,
    pub emission_factor_type: Option<String>,
    pub is_estimated: Option<bool>,
}

/// The longest text field kept from an answer (an RFC 3339 time is 24 characters): the values
/// end up in the state ConfigMap, which the API server caps at 1 MiB.
pub const MAX_FIELD_CHARS: usize = 64;

/// The largest answer read; a real one is about 300 bytes.
const MAX_BODY_BYTES: u64 = 64 * 1024;

/// A 429's Retry-After: seconds, or an HTTP date (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    Secs(i64),
    At(i64),
}

impl RetryAfter {
    pub fn parse(text: &str) -> Option<RetryAfter> {
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
    /// WATTTIME_USERNAME or WATTTIME_PASSWORD is not set.
    NoLogin,
    /// WattTime refused the login with this status.
    LoginRefused {
        code: u16,
    },
    /// The forecast endpoint refused a token the latest value accepts (a plan without forecasts).
    NoForecastAccess {
        code: u16,
    },
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
            FetchError::NoLogin => format!(
                "zone {zone}: no WattTime login (set WATTTIME_USERNAME and WATTTIME_PASSWORD)"
            ),
            FetchError::NoForecastAccess { code } => format!(
                "zone {zone}: HTTP {code} for the forecast (the token's plan may not include \
                 forecasts)"
            ),
            FetchError::LoginRefused { code } => format!(
                "zone {zone}: WattTime refused the login (HTTP {code}); check WATTTIME_USERNAME \
                 and WATTTIME_PASSWORD"
            ),
        }
    }
}

pub fn agent(timeout_secs: i64) -> ureq::Agent {
    crate::http_agent::agent(Duration::from_secs(timeout_secs.max(1) as u64))
}

/// The body of a 2xx answer, read up to MAX_BODY_BYTES; anything else as a FetchError.
pub fn text(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<String, FetchError> {
    let response = result.map_err(|e| match e {
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
    response
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
        })
}

/// A value refused unless it is within what any grid emits; `field` names it as the answer does.
pub fn plausible(field: &str, grams: f64) -> Result<(), FetchError> {
    if (0.0..=MAX_GRAMS_PER_KWH).contains(&grams) {
        return Ok(());
    }
    Err(FetchError::Malformed(format!(
        "{field} {} is outside the plausible 0 to {MAX_GRAMS_PER_KWH} gCO2eq/kWh",
        shown(grams)
    )))
}

/// The mean of an hourly (or half-hourly) forecast over `horizon_secs` from the start of `now`'s
/// hour, the way the backtest's forecasts are averaged: the points timed in that window, each
/// held to the plausible range. A forecast that has none there is refused.
pub fn forecast_mean(
    points: impl IntoIterator<Item = (i64, f64)>,
    now: i64,
    horizon_secs: i64,
) -> Result<f64, FetchError> {
    let from = now - now.rem_euclid(3600);
    let (mut sum, mut n) = (0.0, 0u32);
    for (at, grams) in points {
        if (from..from + horizon_secs).contains(&at) {
            plausible("forecast carbonIntensity", grams)?;
            sum += grams;
            n += 1;
        }
    }
    if n == 0 {
        return Err(FetchError::Malformed(format!(
            "the forecast has no value from {} over the next {}",
            crate::clock::to_rfc3339(from),
            crate::duration::format_secs(horizon_secs)
        )));
    }
    Ok(sum / f64::from(n))
}

/// A number as people read it: 1e308, not its 309 digits.
fn shown(x: f64) -> String {
    if x.abs() >= 1e9 {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

pub fn truncate(text: &str) -> String {
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
    fn a_forecast_mean_covers_the_hours_from_the_current_one() {
        const H: i64 = 3600;
        let now = 1_800_000_000 - 1_800_000_000 % H + 1200; // twenty past an hour
        let from = now - 1200;
        let points = [
            (from - H, 1000.0),
            (from, 100.0),
            (from + H, 200.0),
            (from + 2 * H, 900.0),
        ];
        assert_eq!(forecast_mean(points, now, 2 * H), Ok(150.0));
        assert_eq!(forecast_mean(points, now, 3 * H), Ok(400.0));
        let half_hourly = [(from, 100.0), (from + H / 2, 300.0), (from + H, 50.0)];
        assert_eq!(forecast_mean(half_hourly, now, H), Ok(200.0));
        let late = forecast_mean([(from + 5 * H, 10.0)], now, 2 * H).unwrap_err();
        assert!(
            late.describe("DK")
                .contains("has no value from 2027-01-15T08:00:00Z over the next 2h"),
            "{late:?}"
        );
        let wild = forecast_mean([(from, 9e9)], now, H).unwrap_err();
        assert!(wild
            .describe("DK")
            .contains("forecast carbonIntensity 9e9 is outside"));
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
