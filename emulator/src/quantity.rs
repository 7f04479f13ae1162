//! Kubernetes resource quantities ("4", "3500m", "16Gi", "1e3"): enough of the grammar to read
//! seeds and to write NodeMetrics the way metrics-server does (CPU in nanocores, memory in Ki).

/// The value of a quantity in base units (cores, bytes).
pub fn parse(text: &str) -> Result<f64, String> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let bad = || {
        format!("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {text:?}")
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => {
            let power: i32 = exp[1..].parse().map_err(|_| bad())?;
            10f64.powi(power)
        }
        _ => return Err(bad()),
    };
    if value < 0.0 {
        return Err(format!("quantity must not be negative: {text:?}"));
    }
    Ok(value * factor)
}

/// CPU quantity in millicores, the unit the emulator keeps usage in.
pub fn cpu_millis(text: &str) -> Result<u64, String> {
    parse(text).map(|cores| (cores * 1000.0).round() as u64)
}

/// metrics-server reports CPU usage in nanocores.
pub fn format_nanocores(nanos: u64) -> String {
    format!("{nanos}n")
}

/// metrics-server reports memory usage in kibibytes.
pub fn format_kibibytes(bytes: u64) -> String {
    format!("{}Ki", bytes / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_binary_and_exponent_forms() {
        let cases = [
            ("4", 4.0),
            ("3500m", 3.5),
            ("0.5", 0.5),
            ("250000000n", 0.25),
            ("16Gi", 17_179_869_184.0),
            ("2048Ki", 2_097_152.0),
            ("1k", 1000.0),
            ("1e3", 1000.0),
            ("1.5M", 1_500_000.0),
        ];
        for (text, want) in cases {
            let got = parse(text).unwrap();
            assert!((got - want).abs() < 1e-6, "{text}: {got} != {want}");
        }
    }

    #[test]
    fn rejects_garbage_and_negatives() {
        for text in ["", "abc", "4x", "1Zi", "-1", "e3"] {
            assert!(parse(text).is_err(), "{text} should not parse");
        }
    }

    #[test]
    fn converts_and_formats_like_metrics_server() {
        assert_eq!(cpu_millis("1.8").unwrap(), 1800);
        assert_eq!(cpu_millis("1800m").unwrap(), 1800);
        assert_eq!(format_nanocores(1_800_000_123), "1800000123n");
        assert_eq!(format_kibibytes(2 * 1024 * 1024 * 1024), "2097152Ki");
    }
}
