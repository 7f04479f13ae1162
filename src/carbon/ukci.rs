//! The UK Carbon Intensity API (NESO, no token): `GET /intensity` for Great Britain, whose
//! half hour carries the estimated `actual` once known and the `forecast` until then, and
//! `GET /regional/regionid/{id}` for a region, which carries a `forecast` only. Its figures
//! are operational (direct) emissions of generation, so each value is kept as signal `direct`.

use serde::Deserialize;

use super::answer::{self, FetchError, Latest, MAX_FIELD_CHARS};
use super::source::UkciArea;

#[derive(Deserialize)]
struct Intensity {
    forecast: f64,
    #[serde(default)]
    actual: Option<f64>,
}

#[derive(Deserialize)]
struct Period {
    #[serde(default)]
    from: Option<String>,
    intensity: Intensity,
}

#[derive(Deserialize)]
struct National {
    data: Vec<Period>,
}

#[derive(Deserialize)]
struct Region {
    regionid: u8,
    data: Vec<Period>,
}

#[derive(Deserialize)]
struct Regional {
    data: Vec<Region>,
}

pub fn fetch(agent: &ureq::Agent, base_url: &str, area: UkciArea) -> Result<Latest, FetchError> {
    let url = match area {
        UkciArea::National => format!("{base_url}/intensity"),
        UkciArea::Region(id) => format!("{base_url}/regional/regionid/{id}"),
    };
    let text = answer::text(agent.get(&url).header("Accept", "application/json").call())?;
    checked(area, &text)
}

/// The half hour's value, refused when it is for another region, implausible, or missing.
fn checked(area: UkciArea, text: &str) -> Result<Latest, FetchError> {
    let malformed = |e: serde_json::Error| FetchError::Malformed(e.to_string());
    let period = match area {
        UkciArea::National => serde_json::from_str::<National>(text)
            .map_err(malformed)?
            .data
            .into_iter()
            .next(),
        UkciArea::Region(id) => {
            let region = serde_json::from_str::<Regional>(text)
                .map_err(malformed)?
                .data
                .into_iter()
                .next()
                .ok_or_else(|| FetchError::Malformed("the answer holds no region".into()))?;
            if region.regionid != id {
                return Err(FetchError::Malformed(format!(
                    "the answer is for region {}",
                    region.regionid
                )));
            }
            region.data.into_iter().next()
        }
    };
    let period =
        period.ok_or_else(|| FetchError::Malformed("the answer holds no half hour".into()))?;
    let (grams, estimated) = match period.intensity.actual {
        Some(actual) => (actual, false),
        None => (period.intensity.forecast, true),
    };
    answer::plausible("intensity", grams)?;
    let chars = period.from.as_deref().map_or(0, |f| f.chars().count());
    if chars > MAX_FIELD_CHARS {
        return Err(FetchError::Malformed(format!(
            "from is {chars} characters long; at most {MAX_FIELD_CHARS} are kept"
        )));
    }
    Ok(Latest {
        grams_per_kwh: grams,
        datetime: period.from,
        emission_factor_type: Some("direct".into()),
        is_estimated: Some(estimated),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::carbon::answer::agent;
    use kube_emulator::{Emulator, Fault, FaultKind, Seed};

    #[test]
    fn national_and_regional_values_from_the_emulated_api() {
        let emu = Emulator::start(Seed::demo()).unwrap();
        emu.set_ukci("13", 121.0);
        emu.set_ukci("national", 180.0);
        let (agent, url) = (agent(2), emu.ukci_base_url());
        let london = fetch(&agent, &url, UkciArea::Region(13)).unwrap();
        assert_eq!(london.grams_per_kwh, 121.0);
        assert_eq!(
            london.is_estimated,
            Some(true),
            "regional values are forecasts"
        );
        assert_eq!(london.emission_factor_type.as_deref(), Some("direct"));
        assert!(london.datetime.unwrap().ends_with('Z'));
        let gb = fetch(&agent, &url, UkciArea::National).unwrap();
        assert_eq!((gb.grams_per_kwh, gb.is_estimated), (180.0, Some(false)));

        emu.inject_fault(Fault::new("/ukci/", FaultKind::Status(429)));
        match fetch(&agent, &url, UkciArea::Region(13)) {
            Err(FetchError::Status {
                code: 429,
                retry_after: Some(r),
            }) => assert_eq!(r, answer::RetryAfter::Secs(1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn answers_are_checked_before_they_are_kept() {
        let region = |id: u8, forecast: &str| {
            format!(
                r#"{{"data":[{{"regionid":{id},"data":[{{"from":"2026-12-03T07:30Z","intensity":{{"forecast":{forecast},"index":"low"}}}}]}}]}}"#
            )
        };
        let longest = region(13, "90").replace("2026-12-03T07:30Z", &"9".repeat(64));
        assert!(
            checked(UkciArea::Region(13), &longest).is_ok(),
            "64 characters are kept"
        );
        let ok = checked(UkciArea::Region(13), &region(13, "90")).unwrap();
        assert_eq!(ok.grams_per_kwh, 90.0);
        assert_eq!(ok.datetime.as_deref(), Some("2026-12-03T07:30Z"));
        let national = r#"{"data":[{"from":"2026-12-03T07:30Z","to":"2026-12-03T08:00Z","intensity":{"forecast":150,"actual":null,"index":"moderate"}}]}"#;
        let gb = checked(UkciArea::National, national).unwrap();
        assert_eq!((gb.grams_per_kwh, gb.is_estimated), (150.0, Some(true)));
        let cases = [
            (
                UkciArea::Region(13),
                region(12, "90"),
                "the answer is for region 12",
            ),
            (
                UkciArea::Region(13),
                region(13, "9000"),
                "intensity 9000 is outside the plausible",
            ),
            (
                UkciArea::Region(13),
                region(13, "-5"),
                "outside the plausible",
            ),
            (
                UkciArea::Region(13),
                r#"{"data":[]}"#.into(),
                "the answer holds no region",
            ),
            (
                UkciArea::Region(13),
                r#"{"data":[{"regionid":13,"data":[]}]}"#.into(),
                "the answer holds no half hour",
            ),
            (
                UkciArea::National,
                r#"{"data":[]}"#.into(),
                "the answer holds no half hour",
            ),
            (
                UkciArea::Region(13),
                region(13, "90").replace("2026-12-03T07:30Z", &"9".repeat(65)),
                "from is 65 characters long; at most 64 are kept",
            ),
            (
                UkciArea::National,
                r#"{"error":{"code":"400 Bad Request","message":"x"}}"#.into(),
                "missing field `data`",
            ),
        ];
        for (area, body, want) in cases {
            let text = checked(area, &body).unwrap_err().describe("ukci:13");
            assert!(
                text.starts_with("zone ukci:13: malformed response ("),
                "{text}"
            );
            assert!(text.contains(want), "{text} lacks {want}");
        }
    }
}
