//! Numbers as carbonctl writes them everywhere: one rounding per kind of figure.

use crate::policy::CarbonUnit;

/// A percentage without a needless ".0", but with the decimal when it matters (70.4 vs 70).
/// Rounded as `round1` rounds the same figure in JSON, so a sentence and a table never differ
/// in the last digit (`{:.1}` alone rounds 41.25 to 41.2, `round1` to 41.3).
pub fn pct(value: f64) -> String {
    let text = format!("{:.1}", round1(value));
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

/// "43 gCO2eq/kWh", or "unknown carbon" when the rule has no usable value.
pub fn grams(grams: Option<f64>) -> String {
    match grams {
        Some(g) => format!("{g:.0} gCO2eq/kWh"),
        None => "unknown carbon".to_string(),
    }
}

/// A carbon value in its unit: "43 gCO2eq/kWh", or "index 43" for WattTime's; "unknown
/// carbon" when the rule has no usable value.
pub fn carbon(value: Option<f64>, unit: CarbonUnit) -> String {
    match (unit, value) {
        (CarbonUnit::GramsPerKwh, _) => grams(value),
        (CarbonUnit::Index, Some(v)) => format!("index {v:.0}"),
        (CarbonUnit::Index, None) => "unknown carbon".to_string(),
    }
}

/// A carbon unit as reports name it (`carbonUnit` in `status` and `simulate` JSON).
pub fn unit_label(unit: CarbonUnit) -> &'static str {
    match unit {
        CarbonUnit::GramsPerKwh => "gCO2eq/kWh",
        CarbonUnit::Index => "index",
    }
}

/// The carbon column's header for values in the unit `label` names.
pub fn carbon_header(label: &str) -> &'static str {
    if label == unit_label(CarbonUnit::Index) {
        "carbon index 0-100"
    } else {
        "carbon gCO2eq/kWh"
    }
}

/// What a difference of two carbon values is counted in: "g/kWh" or "index points".
pub fn gap_unit(unit: CarbonUnit) -> &'static str {
    match unit {
        CarbonUnit::GramsPerKwh => "g/kWh",
        CarbonUnit::Index => "index points",
    }
}

/// Grams with two decimals; a value that rounds to zero is "0.00", never "-0.00".
pub fn grams2(grams: f64) -> String {
    let text = format!("{grams:.2}");
    if text == "-0.00" {
        "0.00".into()
    } else {
        text
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
        for x in [41.25, 0.05, 70.45, 99.95, 12.35] {
            assert_eq!(pct(x).parse::<f64>().unwrap(), round1(x), "{x}");
        }
        assert_eq!(grams2(-0.001), "0.00");
        assert_eq!(grams2(-0.25), "-0.25");
    }
}
