//! Numbers as carbonctl writes them everywhere: one rounding per kind of figure.

/// A percentage without a needless ".0", but with the decimal when it matters (70.4 vs 70).
pub fn pct(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

/// "43 gCO2eq/kWh", or "unknown carbon" when the rule has no usable value.
pub fn grams(grams: Option<f64>) -> String {
    match grams {
        Some(g) => format!("{g:.0} gCO2eq/kWh"),
        None => "unknown carbon".to_string(),
    }
}

/// One decimal, for figures in JSON (CPU percentages).
pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_keep_the_decimal_only_when_it_matters() {
        assert_eq!(pct(70.0), "70");
        assert_eq!(pct(70.44), "70.4");
        assert_eq!(pct(70.96), "71");
        assert_eq!(grams(Some(37.6)), "38 gCO2eq/kWh");
        assert_eq!(grams(None), "unknown carbon");
        assert_eq!(round1(41.25), 41.3);
    }
}
