//! Where a region's carbon intensity comes from, as `REGIONS` writes it, and the bound every
//! source's values are held to. A leaf: the settings parse it, the readers act on it.

/// The largest carbon intensity taken as real. The dirtiest grids average about 1,000
/// gCO2eq/kWh and their hourly values stay well below this; a value above it is broken, and
/// taken as it is it would make the ledger's sums meaningless.
pub const MAX_GRAMS_PER_KWH: f64 = 5_000.0;

/// Who gives a region's carbon intensity.
#[derive(Debug, Clone, PartialEq)]
pub enum Provider<'a> {
    ElectricityMaps,
    Static(StaticSource<'a>),
}

/// `REGIONS` names a static source with this prefix on its zone.
pub const PREFIX: &str = "static:";

/// A constant, or a file's path (read by `static_source`).
#[derive(Debug, Clone, PartialEq)]
pub enum StaticSource<'a> {
    Grams(f64),
    File(&'a str),
}

impl<'a> StaticSource<'a> {
    /// What follows `static:`: a number is a constant, anything else a file's path.
    pub fn parse(spec: &'a str) -> Result<StaticSource<'a>, String> {
        if spec.is_empty() {
            return Err("static: needs a value in gCO2eq/kWh or a file's path".into());
        }
        if !spec.starts_with(['.', '/']) {
            if let Ok(grams) = spec.parse::<f64>() {
                return if (0.0..=MAX_GRAMS_PER_KWH).contains(&grams) {
                    Ok(StaticSource::Grams(grams))
                } else {
                    Err(format!(
                        "static:{spec} is outside the plausible 0 to {MAX_GRAMS_PER_KWH} gCO2eq/kWh"
                    ))
                };
            }
        }
        Ok(StaticSource::File(spec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_is_a_constant_and_anything_else_a_path() {
        let cases: [(&str, Result<StaticSource, &str>); 6] = [
            ("120", Ok(StaticSource::Grams(120.0))),
            ("0", Ok(StaticSource::Grams(0.0))),
            ("12.5", Ok(StaticSource::Grams(12.5))),
            (
                "/etc/carbon/fr.csv",
                Ok(StaticSource::File("/etc/carbon/fr.csv")),
            ),
            ("./1.csv", Ok(StaticSource::File("./1.csv"))),
            ("", Err("needs a value")),
        ];
        for (spec, want) in cases {
            match (StaticSource::parse(spec), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{spec}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{spec}: {got}"),
                (got, want) => panic!("{spec}: {got:?}, wanted {want:?}"),
            }
        }
        for spec in ["-1", "5001", "1e9"] {
            let err = StaticSource::parse(spec).unwrap_err();
            assert!(err.contains("outside the plausible"), "{spec}: {err}");
        }
    }
}
