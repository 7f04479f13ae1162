//! Unix seconds <-> RFC 3339 text, the only time arithmetic the project needs. The clock itself
//! is read once per command, at the edge, and passed down as `now`.

use k8s_openapi::jiff::Timestamp;

pub fn now() -> i64 {
    Timestamp::now().as_second()
}

pub fn to_rfc3339(secs: i64) -> String {
    Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| secs.to_string())
}

pub fn parse_rfc3339(text: &str) -> Option<i64> {
    text.trim().parse::<Timestamp>().ok().map(|t| t.as_second())
}

/// Unix seconds stored as RFC 3339 text (`#[serde(with = "crate::clock::rfc3339")]`), so
/// people can read and edit the times in the state.
pub mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(secs: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_rfc3339(*secs))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_rfc3339(&text).ok_or_else(|| bad_time(&text))
    }

    pub(super) fn bad_time<E: serde::de::Error>(text: &str) -> E {
        E::custom(format!(
            "{text:?} is not an RFC 3339 time like 2026-11-30T09:00:00Z"
        ))
    }
}

/// Optional unix seconds stored as RFC 3339 text.
pub mod rfc3339_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(secs: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match secs {
            Some(secs) => super::rfc3339::serialize(secs, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => super::parse_rfc3339(&text)
                .map(Some)
                .ok_or_else(|| super::rfc3339::bad_time(&text)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_whole_seconds_and_reads_offsets_and_fractions() {
        assert_eq!(to_rfc3339(1_764_493_200), "2025-11-30T09:00:00Z");
        assert_eq!(parse_rfc3339("2025-11-30T09:00:00Z"), Some(1_764_493_200));
        assert_eq!(
            parse_rfc3339("2025-11-30T10:00:00.000+01:00"),
            Some(1_764_493_200)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
