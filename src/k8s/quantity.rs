//! CPU quantities as the API writes them: `4`, `3900m`, `250000000n`, `1500u`, `0.5`.

/// Cores in a CPU quantity, or None when it is not one.
pub fn cpu_cores(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, scale) = match text.char_indices().last()? {
        (i, 'n') => (&text[..i], 1e-9),
        (i, 'u') => (&text[..i], 1e-6),
        (i, 'm') => (&text[..i], 1e-3),
        (i, 'k') => (&text[..i], 1e3),
        _ => (text, 1.0),
    };
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some(value * scale)
}

#[cfg(test)]
mod tests {
    use super::cpu_cores;

    #[test]
    fn reads_the_suffixes_metrics_server_and_kubelet_use() {
        let cases = [
            ("4", Some(4.0)),
            ("3900m", Some(3.9)),
            ("250000000n", Some(0.25)),
            ("1500u", Some(0.0015)),
            ("0.5", Some(0.5)),
            ("", None),
            ("m", None),
            ("-1", None),
            ("4Gi", None),
        ];
        for (text, want) in cases {
            let got = cpu_cores(text);
            match (got, want) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-12, "{text}: {g} != {w}"),
                _ => assert_eq!(got, want, "{text}"),
            }
        }
    }
}
