//! A region's carbon intensity without any API: a constant, or the current hour's value from a
//! file, for air-gapped clusters and for grids a team tracks itself. Written in `REGIONS` as
//! `static:<gCO2eq/kWh>` or `static:<path>`; the file may be in any layout the backtest reads
//! (an ElectricityMaps portal export or `timestamp,value`), read again at every cache refresh
//! so an updated file (a mounted ConfigMap, say) takes effect within CARBON_CACHE_TTL.

use std::path::Path;

use super::answer::{FetchError, Latest};
use super::source::StaticSource;
use crate::backtest::carbon_csv::{parse_carbon, CarbonSeries};
use crate::backtest::input_file::read_text;
use crate::choices::Signal;
use crate::clock::to_rfc3339;

/// Files larger than this are refused: a year of hourly rows is under 1 MB.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The value at `now`, with the hour it describes when it comes from a file.
pub fn read(source: &StaticSource, now: i64) -> Result<Latest, FetchError> {
    let path = match source {
        StaticSource::Grams(grams) => {
            return Ok(Latest {
                grams_per_kwh: *grams,
                datetime: None,
                emission_factor_type: None,
                is_estimated: None,
            })
        }
        StaticSource::File(path) => *path,
    };
    let read = load(path)?;
    let series = &read.series;
    let grams = series.at(now).ok_or_else(|| {
        FetchError::File(format!(
            "{path} holds {} to {}, not the current hour {}",
            to_rfc3339(series.start),
            to_rfc3339(series.end()),
            to_rfc3339(now - now.rem_euclid(3600)),
        ))
    })?;
    let hour = series.start + (now - series.start) / series.step * series.step;
    Ok(Latest {
        grams_per_kwh: grams,
        datetime: Some(to_rfc3339(hour)),
        emission_factor_type: read.signal_known.then(|| Signal::Lifecycle.label().into()),
        is_estimated: None,
    })
}

/// The mean over `horizon_secs` from `now`'s hour: a constant forecasts itself, a file gives
/// the mean of its hours there (those past its end left out), as the backtest's perfect
/// forecast does.
pub fn forecast(source: &StaticSource, now: i64, horizon_secs: i64) -> Result<f64, FetchError> {
    let path = match source {
        StaticSource::Grams(grams) => return Ok(*grams),
        StaticSource::File(path) => *path,
    };
    let series = load(path)?.series;
    series.mean_ahead(now, horizon_secs).ok_or_else(|| {
        FetchError::File(format!(
            "{path} holds {} to {}, none of the {} from {}",
            to_rfc3339(series.start),
            to_rfc3339(series.end()),
            crate::duration::format_secs(horizon_secs),
            to_rfc3339(now - now.rem_euclid(3600)),
        ))
    })
}

/// The file's series, read in whichever layout the backtest recognises.
fn load(path: &str) -> Result<CarbonSeries, FetchError> {
    within_limit(path, std::fs::metadata(path).map_or(0, |m| m.len()))?;
    let text = read_text(Path::new(path)).map_err(|e| FetchError::File(format!("{path}: {e}")))?;
    parse_carbon(path, &text, Signal::Lifecycle, None).map_err(|e| FetchError::File(e.to_string()))
}

/// A file of `size` bytes is read only up to MAX_FILE_BYTES.
fn within_limit(path: &str, size: u64) -> Result<(), FetchError> {
    if size > MAX_FILE_BYTES {
        return Err(FetchError::File(format!(
            "{path}: {size} bytes; at most {MAX_FILE_BYTES} are read"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file in a folder of this test process's own; each test names its file.
    fn file(name: &str, text: &str) -> String {
        let dir = std::env::temp_dir().join(format!("carbonctl-static-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    #[test]
    fn a_file_gives_the_value_of_the_hour_that_holds_now() {
        let path = file(
            "hours.csv",
            "timestamp,lifecycle\n2026-01-01T00:00:00Z,100\n2026-01-01T01:00:00Z,80\n\
             2026-01-01T02:00:00Z,60\n",
        );
        let source = StaticSource::File(&path);
        let latest = read(&source, T0 + 3600 + 1799).unwrap();
        assert_eq!(latest.grams_per_kwh, 80.0);
        assert_eq!(latest.datetime.as_deref(), Some("2026-01-01T01:00:00Z"));
        assert_eq!(latest.emission_factor_type.as_deref(), Some("lifecycle"));
        assert_eq!(read(&source, T0).unwrap().grams_per_kwh, 100.0);
        assert_eq!(
            read(&source, T0 + 3 * 3600 - 1).unwrap().grams_per_kwh,
            60.0
        );
    }

    #[test]
    fn a_forecast_is_the_mean_of_the_file_hours_ahead() {
        let path = file(
            "ahead.csv",
            "timestamp,value\n2026-01-01T00:00:00Z,100\n2026-01-01T01:00:00Z,80\n\
             2026-01-01T02:00:00Z,30\n",
        );
        let source = StaticSource::File(&path);
        assert_eq!(forecast(&source, T0 + 600, 2 * 3600), Ok(90.0));
        assert_eq!(
            forecast(&source, T0 + 3600, 3 * 3600),
            Ok(55.0),
            "past the end: the hours inside"
        );
        let none = forecast(&source, T0 + 3 * 3600, 3600)
            .unwrap_err()
            .describe("static");
        assert!(
            none.contains("none of the 1h from 2026-01-01T03:00:00Z"),
            "{none}"
        );
        assert_eq!(forecast(&StaticSource::Grams(70.0), T0, 7200), Ok(70.0));
    }

    #[test]
    fn a_file_without_the_current_hour_or_unreadable_says_which_and_why() {
        let path = file("one.csv", "timestamp,value\n2026-01-01T00:00:00Z,100\n");
        let cases = [
            (path.as_str(), T0 + 3600, "holds 2026-01-01T00:00:00Z to 2026-01-01T01:00:00Z, not the current hour 2026-01-01T01:00:00Z"),
            (path.as_str(), T0 - 1, "not the current hour 2025-12-31T23:00:00Z"),
            ("/nonexistent/carbon.csv", T0, "/nonexistent/carbon.csv: cannot read the file: no such file"),
        ];
        for (path, now, want) in cases {
            let err = read(&StaticSource::File(path), now)
                .unwrap_err()
                .describe("static");
            assert!(err.contains(want), "{path} at {now}: {err}");
        }
        assert_eq!(within_limit("f", 64 * 1024 * 1024), Ok(()));
        // Sized without writing: a sparse file one byte over is refused before it is read.
        let big = file("big.csv", "");
        let file_of = std::fs::File::options().write(true).open(&big).unwrap();
        file_of.set_len(MAX_FILE_BYTES + 1).unwrap();
        let err = read(&StaticSource::File(&big), T0)
            .unwrap_err()
            .describe("static");
        assert!(
            err.ends_with("67108865 bytes; at most 67108864 are read"),
            "{err}"
        );
        file_of.set_len(0).unwrap();
        let broken = file("broken.csv", "timestamp,value\n2026-01-01T00:00:00Z,lots\n");
        let err = read(&StaticSource::File(&broken), T0)
            .unwrap_err()
            .describe("static");
        assert!(err.contains("broken.csv:2:"), "{err}");
    }
}
