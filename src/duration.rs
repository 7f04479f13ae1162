//! Durations as people write them in settings: `90s`, `2m`, `1h30m`, or bare seconds.

/// Parses `[Nh][Nm][Ns]` (at least one part) or a bare number of seconds.
pub fn parse_secs(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(secs) = text.parse::<i64>() {
        return (secs >= 0).then_some(secs);
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    let mut last_unit = 0;
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let (rank, scale) = match ch {
            'h' => (1, 3600),
            'm' => (2, 60),
            's' => (3, 1),
            _ => return None,
        };
        if digits.is_empty() || rank <= last_unit {
            return None;
        }
        let n: i64 = digits.parse().ok()?;
        total = total.checked_add(n.checked_mul(scale)?)?;
        digits.clear();
        last_unit = rank;
    }
    digits.is_empty().then_some(total)
}

/// The shortest `1h2m3s` form; `0s` for zero.
pub fn format_secs(secs: i64) -> String {
    if secs <= 0 {
        return "0s".to_string();
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_people_write() {
        let cases = [
            ("20s", Some(20)),
            ("2m", Some(120)),
            ("1h30m", Some(5400)),
            ("1h0m5s", Some(3605)),
            ("45", Some(45)),
            (" 5m ", Some(300)),
            ("0s", Some(0)),
            ("", None),
            ("m", None),
            ("5x", None),
            ("5m1h", None),
            ("5m5m", None),
            ("1.5m", None),
            ("-3", None),
            ("10", Some(10)),
            ("3m20", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_secs(text), want, "parse_secs({text:?})");
        }
    }

    #[test]
    fn formats_shortest_form_and_round_trips() {
        for (secs, text) in [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3725, "1h2m5s"),
            (7200, "2h"),
        ] {
            assert_eq!(format_secs(secs), text);
            assert_eq!(parse_secs(text), Some(secs));
        }
    }
}
