//! ElectricityMaps v3 `GET /carbon-intensity/latest?zone=Z` with the `auth-token` header.
//! Errors name the zone and the HTTP status; the token never appears in them.

use std::time::Duration;

use serde::Deserialize;

use crate::config::Token;

/// A value as the API reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    pub grams_per_kwh: f64,
    pub datetime: Option<String>,
    pub emission_factor_type: Option<String>,
    pub is_estimated: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FetchError {
    /// A non-2xx answer; `retry_after_secs` from a 429's Retry-After.
    Status {
        code: u16,
        retry_after_secs: Option<i64>,
    },
    Timeout,
    Transport(String),
    Malformed(String),
    NoToken {
        env: String,
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
                retry_after_secs,
            } => format!(
                "zone {zone}: HTTP 429 (rate limited{})",
                retry_after_secs.map_or(String::new(), |s| format!(", retry after {s}s"))
            ),
            FetchError::Status { code, .. } => format!("zone {zone}: HTTP {code}"),
            FetchError::Timeout => format!("zone {zone}: timed out"),
            FetchError::Transport(e) => format!("zone {zone}: {e}"),
            FetchError::Malformed(e) => format!("zone {zone}: malformed response ({e})"),
            FetchError::NoToken { env } => {
                format!("zone {zone}: no token (set {env} or CARBON_API_TOKEN)")
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    carbon_intensity: f64,
    #[serde(default)]
    datetime: Option<String>,
    #[serde(default)]
    emission_factor_type: Option<String>,
    #[serde(default)]
    is_estimated: Option<bool>,
}

pub fn agent(timeout_secs: i64) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(timeout_secs.max(1) as u64)))
        .user_agent(concat!("carbonctl/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
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
        let retry_after_secs = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok());
        return Err(FetchError::Status {
            code,
            retry_after_secs,
        });
    }
    let mut body = response.into_body();
    let text = body.read_to_string().map_err(|e| match e {
        ureq::Error::Timeout(_) => FetchError::Timeout,
        other => FetchError::Malformed(transport_text(&other)),
    })?;
    let parsed: Body =
        serde_json::from_str(&text).map_err(|e| FetchError::Malformed(e.to_string()))?;
    if !parsed.carbon_intensity.is_finite() || parsed.carbon_intensity < 0.0 {
        return Err(FetchError::Malformed(format!(
            "carbonIntensity {} is not a non-negative number",
            parsed.carbon_intensity
        )));
    }
    Ok(Latest {
        grams_per_kwh: parsed.carbon_intensity,
        datetime: parsed.datetime,
        emission_factor_type: parsed.emission_factor_type,
        is_estimated: parsed.is_estimated,
    })
}

/// ureq's error text without anything from the request's headers.
fn transport_text(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Io(e) => format!("connection failed ({})", e.kind()),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        _ => "request failed".into(),
    }
}
