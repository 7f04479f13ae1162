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
