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
    Ukci(UkciArea),
    Static(StaticSource<'a>),
    /// WattTime's signal index for a grid region (`CAISO_NORTH`): 0 to 100, relative, never grams.
    WattTime(&'a str),
}

/// `REGIONS` names a WattTime grid region with this prefix on its zone.
pub const WATTTIME_PREFIX: &str = "watttime:";

/// WattTime's signal index runs from 0 (the cleanest its region has been lately) to 100.
pub const MAX_INDEX: f64 = 100.0;

/// A WattTime region code as its API names them: upper-case letters, digits and `_`.
pub fn watttime_region(spec: &str) -> Result<&str, String> {
    let ok = !spec.is_empty()
        && spec.len() <= 64
        && spec
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(spec)
    } else {
        Err(format!(
            "watttime:{spec} is not a WattTime region; use its code, e.g. watttime:CAISO_NORTH"
        ))
    }
}

/// `REGIONS` names a UK Carbon Intensity area with this prefix on its zone.
pub const UKCI_PREFIX: &str = "ukci:";

/// What the UK Carbon Intensity API is asked for: Great Britain as a whole, or one of its
/// regions by the API's id (1 North Scotland to 14 South East England; 15 England, 16
/// Scotland, 17 Wales).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UkciArea {
    National,
    Region(u8),
}

impl UkciArea {
    pub fn parse(spec: &str) -> Result<UkciArea, String> {
        if spec == "national" {
            return Ok(UkciArea::National);
        }
        match spec.parse::<u8>() {
            Ok(id @ 1..=17) => Ok(UkciArea::Region(id)),
            _ => Err(format!(
                "ukci:{spec} is not a UK Carbon Intensity area; use ukci:national or a region id \
                 from ukci:1 (North Scotland) to ukci:17 (Wales), e.g. ukci:13 for London"
            )),
        }
    }
}

/// `REGIONS` names a static source with this prefix on its zone.
pub const STATIC_PREFIX: &str = "static:";

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
    fn a_ukci_area_is_national_or_a_region_id() {
        assert_eq!(UkciArea::parse("national"), Ok(UkciArea::National));
        assert_eq!(UkciArea::parse("1"), Ok(UkciArea::Region(1)));
        assert_eq!(UkciArea::parse("17"), Ok(UkciArea::Region(17)));
        for bad in ["0", "18", "London", "", "-1", "13.0"] {
            let err = UkciArea::parse(bad).unwrap_err();
            assert!(
                err.contains("use ukci:national or a region id"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_watttime_region_is_its_upper_case_code() {
        assert_eq!(watttime_region("CAISO_NORTH"), Ok("CAISO_NORTH"));
        assert_eq!(watttime_region("DE"), Ok("DE"));
        for bad in ["", "caiso_north", "CAISO-NORTH", "A B", &"X".repeat(65)] {
            let err = watttime_region(bad).unwrap_err();
            assert!(err.contains("e.g. watttime:CAISO_NORTH"), "{bad}: {err}");
        }
    }

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
