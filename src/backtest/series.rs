//! Evenly spaced time series and the small text helpers the parsers share. Recorded data is
//! only trusted when its rows are evenly spaced: a gap would otherwise silently stretch one
//! hour's carbon over the next, so the parsers refuse it and name the line.

use k8s_openapi::jiff;

use crate::error::{data_error, DataError};

/// Values `values[i]` describing `[start + i*step, start + (i+1)*step)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub start: i64,
    pub step: i64,
    pub values: Vec<f64>,
}

impl Series {
    /// The first second after the last value's interval.
    pub fn end(&self) -> i64 {
        self.start + self.step * self.values.len() as i64
    }

    /// The values (with the start of their interval) whose interval starts within
    /// `horizon_secs` of the start of `now`'s hour: what a forecast made at `now` covers, as
    /// `answer::forecast_mean` takes a provider's points. Values past the series' end are
    /// left out.
    pub fn ahead(&self, now: i64, horizon_secs: i64) -> impl Iterator<Item = (i64, f64)> + '_ {
        let from = now - now.rem_euclid(3600);
        let index = |t: i64| {
            let i = (t - self.start + self.step - 1).div_euclid(self.step);
            i.clamp(0, self.values.len() as i64) as usize
        };
        let (first, last) = (index(from), index(from + horizon_secs));
        (first..last).map(move |i| (self.start + i as i64 * self.step, self.values[i]))
    }

    /// The mean of `ahead`: what a forecast made at `now` averages to when it is exact; None
    /// when no value is inside.
    pub fn mean_ahead(&self, now: i64, horizon_secs: i64) -> Option<f64> {
        mean(self.ahead(now, horizon_secs).map(|(_, v)| v))
    }

    /// The value whose interval holds `t` (a step function: constant within its hour), if any.
    pub fn at(&self, t: i64) -> Option<f64> {
        if t < self.start {
            return None;
        }
        self.values
            .get(((t - self.start) / self.step) as usize)
            .copied()
    }
}

/// The mean of `values`, summed in order; None for none.
pub fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u32), |(sum, n), v| (sum + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

/// Builds a series from timestamped rows, insisting on a constant step so a missing row is an
/// error at its line rather than a silent gap.
pub struct SeriesBuilder<'a> {
    file: &'a str,
    start: Option<i64>,
    step: Option<i64>,
    last: i64,
    values: Vec<f64>,
}

impl<'a> SeriesBuilder<'a> {
    pub fn new(file: &'a str) -> Self {
        SeriesBuilder {
            file,
            start: None,
            step: None,
            last: 0,
            values: Vec::new(),
        }
    }

    pub fn push(&mut self, line: usize, t: i64, value: f64) -> Result<(), DataError> {
        match (self.start, self.step) {
            (None, _) => self.start = Some(t),
            (Some(start), None) => {
                if t <= start {
                    return Err(data_error(
                        self.file,
                        line,
                        "timestamps must increase; this row is not after the one before",
                    ));
                }
                self.step = Some(t - start);
            }
            (Some(_), Some(step)) => {
                if t != self.last + step {
                    return Err(data_error(
                        self.file,
                        line,
                        format!(
                            "rows must be evenly spaced: expected {} (one step of {} after the row before), found {}",
                            crate::clock::to_rfc3339(self.last + step),
                            crate::duration::format_secs(step),
                            crate::clock::to_rfc3339(t)
                        ),
                    ));
                }
            }
        }
        self.last = t;
        self.values.push(value);
        Ok(())
    }

    /// A single row cannot tell its step; `default_step` (an hour for carbon) stands in.
    pub fn finish(self, default_step: i64) -> Result<Series, DataError> {
        let start = self
            .start
            .ok_or_else(|| data_error(self.file, 0, "no data rows"))?;
        Ok(Series {
            start,
            step: self.step.unwrap_or(default_step),
            values: self.values,
        })
    }
}

/// A number cell, refusing NaN and infinities (they would poison every sum downstream).
pub fn number(file: &str, line: usize, what: &str, text: &str) -> Result<f64, DataError> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| data_error(file, line, format!("{what} {text:?} is not a number")))
}

/// Unix seconds from `YYYY-MM-DD`, optionally followed by `[T ]HH:MM[:SS[.frac]]` and `Z` or a
/// `+HH:MM` offset. No offset means UTC, as in the ElectricityMaps `Datetime (UTC)` column.
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Some(secs) = crate::clock::parse_rfc3339(text) {
        return Some(secs);
    }
    // Only the ISO forms: jiff also reads bracketed time zone names, which no export writes.
    if text.contains('[') {
        return None;
    }
    let civil: jiff::civil::DateTime = text.parse().ok()?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_second())
}

/// Lines with their 1-based numbers, without a byte-order mark or Windows line ends, skipping
/// blank ones (exports end with an empty line).
pub fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.strip_prefix('\u{feff}')
        .unwrap_or(text)
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_time_forms_of_the_exports() {
        let cases = [
            ("2022-01-01 00:00:00", Some(1_640_995_200)),
            ("2022-01-01T00:00:00Z", Some(1_640_995_200)),
            ("2022-01-01T01:00:00+01:00", Some(1_640_995_200)),
            ("2021-12-31T19:00:00-05:00", Some(1_640_995_200)),
            ("2022-01-01", Some(1_640_995_200)),
            ("2022-01-01T00:30", Some(1_640_997_000)),
            ("2022-03-01 12:00:00.000", Some(1_646_136_000)),
            ("2024-02-29T00:00:00Z", Some(1_709_164_800)),
            ("1995-07-01T04:00:01Z", Some(804_571_201)),
            ("2022-13-01", None),
            ("2022-01-01 24:00:00", None),
            ("01/01/2022 00:00", None),
            ("2022-01-01T00:00:00 UTC", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_time(text), want, "{text:?}");
        }
    }

    #[test]
    fn a_series_holds_each_value_for_its_step_only() {
        let s = Series {
            start: 3600,
            step: 3600,
            values: vec![10.0, 20.0],
        };
        assert_eq!(s.at(3599), None);
        assert_eq!(s.at(3600), Some(10.0));
        assert_eq!(s.at(7199), Some(10.0));
        assert_eq!(s.at(7200), Some(20.0));
        assert_eq!(s.at(s.end()), None);
        assert_eq!(s.end(), 3 * 3600);
    }

    #[test]
    fn builder_refuses_gaps_and_disorder_naming_the_line() {
        let mut b = SeriesBuilder::new("x.csv");
        b.push(2, 0, 1.0).unwrap();
        b.push(3, 3600, 1.0).unwrap();
        let err = b.push(4, 3 * 3600, 1.0).unwrap_err();
        assert_eq!(err.line, 4);
        assert!(
            err.to_string()
                .starts_with("x.csv:4: rows must be evenly spaced: expected 1970-01-01T02:00:00Z"),
            "{err}"
        );
        let mut b = SeriesBuilder::new("y.csv");
        b.push(2, 3600, 1.0).unwrap();
        assert_eq!(b.push(3, 3600, 1.0).unwrap_err().line, 3);
        assert_eq!(
            SeriesBuilder::new("z.csv")
                .finish(3600)
                .unwrap_err()
                .to_string(),
            "z.csv: no data rows"
        );
    }
}
