//! Recorded grid carbon intensity, in the layouts people actually have on disk: the
//! ElectricityMaps data-portal export (older `... (LCA)` header and newer `... (Life cycle)`
//! header), the timestamp-less hourly LCA files of umassos/decarbonization-potential, and a
//! plain `timestamp,value` CSV. Columns are found by name, never by position, because the
//! portal has renamed and reordered them before.

use serde::Serialize;

pub use crate::choices::Signal;

use super::series::{lines, number, parse_time, Series, SeriesBuilder};
use crate::carbon::source::MAX_GRAMS_PER_KWH;
use crate::error::{data_error, DataError};

const HOUR: i64 = 3600;

/// The layout a carbon file was read as, reported so a user can check the guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CarbonFormat {
    /// `Carbon Intensity gCO₂eq/kWh (direct)` / `(LCA)` columns.
    PortalOlder,
    /// `Carbon intensity gCO₂eq/kWh (direct)` / `(Life cycle)` columns.
    PortalNewer,
    /// `slack_0,non_interrupt,interrupt`, one hourly LCA row each, no timestamps.
    Umassos,
    /// `timestamp,value`, header optional; the value is taken to be the chosen signal.
    Plain,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CarbonSeries {
    pub series: Series,
    pub format: CarbonFormat,
    /// The `Zone Id` a portal export names, to catch a file given for the wrong region.
    pub zone: Option<String>,
    /// Whether the file itself says which signal it holds (portal and umassos files do; a
    /// plain file only if its value column is named for it, e.g. `lifecycle` or `direct`).
    pub signal_known: bool,
}

/// Reads one carbon file. `headerless_start` places row 0 of a file that has no timestamps
/// (the umassos layout); such files are hourly.
pub fn parse_carbon(
    file: &str,
    text: &str,
    signal: Signal,
    headerless_start: Option<i64>,
) -> Result<CarbonSeries, DataError> {
    let mut rows = lines(text);
    let (first_no, first) = rows
        .next()
        .ok_or_else(|| data_error(file, 0, "the file is empty"))?;
    let header: Vec<String> = split_csv(first)
        .iter()
        .map(|c| c.trim().to_lowercase())
        .collect();
    if header.iter().any(|c| c == "datetime (utc)") {
        return portal(file, &header, rows, signal);
    }
    if header.first().map(String::as_str) == Some("slack_0") {
        if signal == Signal::Direct {
            return Err(data_error(
                file,
                first_no,
                "this umassos file holds life-cycle (LCA) values only; use --signal lifecycle",
            ));
        }
        let start = headerless_start.ok_or_else(|| {
            data_error(
                file,
                first_no,
                "this umassos file has no timestamps; say when its first row starts with \
                 --carbon-start (2022-01-01 for the umassos 2022 series)",
            )
        })?;
        // Without timestamps, every row is the next hour: a blank or a deleted row would
        // shift every later hour, so the rows must follow each other and make whole days.
        let mut values = Vec::with_capacity(8760);
        let mut previous = first_no;
        for (no, line) in rows {
            if no != previous + 1 {
                return Err(data_error(
                    file,
                    previous + 1,
                    "blank line between rows; in a file without timestamps every row is the next hour, so a gap would shift every later hour",
                ));
            }
            previous = no;
            let cell = line.split(',').next().unwrap_or_default();
            values.push(intensity(file, no, cell)?);
        }
        if values.is_empty() {
            return Err(data_error(file, 0, "no data rows"));
        }
        if values.len() % 24 != 0 {
            return Err(data_error(
                file,
                0,
                format!(
                    "{} hourly rows, not a whole number of days (24 rows each; a year has 8760, a leap year 8784): a row is missing or extra, which would shift every later hour",
                    values.len()
                ),
            ));
        }
        return Ok(CarbonSeries {
            series: Series {
                start,
                step: HOUR,
                values,
            },
            format: CarbonFormat::Umassos,
            zone: None,
            signal_known: true,
        });
    }
    plain(file, (first_no, first), rows, &header, signal)
}

fn portal<'a>(
    file: &str,
    header: &[String],
    rows: impl Iterator<Item = (usize, &'a str)>,
    signal: Signal,
) -> Result<CarbonSeries, DataError> {
    let newer = header.iter().any(|c| c.contains("(life cycle)"));
    let wanted: &[&str] = match signal {
        Signal::Lifecycle => &["(lca)", "(life cycle)"],
        Signal::Direct => &["(direct)"],
    };
    let column = |pred: &dyn Fn(&str) -> bool| header.iter().position(|c| pred(c));
    let time_col = column(&|c| c == "datetime (utc)").expect("checked by the caller");
    let value_col =
        column(&|c| c.starts_with("carbon intensity") && wanted.iter().any(|w| c.ends_with(w)))
            .ok_or_else(|| {
                data_error(
                    file,
                    1,
                    format!(
                        "no {} carbon intensity column in the header",
                        signal.label()
                    ),
                )
            })?;
    let zone_col = column(&|c| c == "zone id");
    let mut builder = SeriesBuilder::new(file);
    let mut zone = None;
    for (no, line) in rows {
        let cells = split_csv(line);
        let cell = |i: usize| cells.get(i).map(String::as_str).unwrap_or_default();
        if cells.len() < header.len().min(value_col + 1) {
            return Err(data_error(
                file,
                no,
                format!(
                    "{} columns where the header has {}",
                    cells.len(),
                    header.len()
                ),
            ));
        }
        let t = parse_time(cell(time_col)).ok_or_else(|| {
            data_error(
                file,
                no,
                format!(
                    "Datetime (UTC) {:?} is not a time like 2022-01-01 00:00:00",
                    cell(time_col)
                ),
            )
        })?;
        builder.push(no, t, intensity(file, no, cell(value_col))?)?;
        if zone.is_none() {
            zone = zone_col.map(|i| cell(i).trim().to_string());
        }
    }
    Ok(CarbonSeries {
        series: builder.finish(HOUR)?,
        format: if newer {
            CarbonFormat::PortalNewer
        } else {
            CarbonFormat::PortalOlder
        },
        zone,
        signal_known: true,
    })
}

fn plain<'a>(
    file: &str,
    first: (usize, &'a str),
    rows: impl Iterator<Item = (usize, &'a str)>,
    header: &[String],
    signal: Signal,
) -> Result<CarbonSeries, DataError> {
    let named = header.get(1).map_or("", String::as_str);
    let declared = if ["lifecycle", "life cycle", "lca"]
        .iter()
        .any(|w| named.contains(w))
    {
        Some(Signal::Lifecycle)
    } else if named.contains("direct") {
        Some(Signal::Direct)
    } else {
        None
    };
    if let Some(declared) = declared.filter(|d| *d != signal) {
        return Err(data_error(
            file,
            first.0,
            format!(
                "the value column {named:?} holds {} values; use --signal {}",
                declared.label(),
                declared.label()
            ),
        ));
    }
    let series = timestamp_value(file, first, rows, "carbon intensity", |file, no, text| {
        intensity(file, no, text)
    })?;
    Ok(CarbonSeries {
        series,
        format: CarbonFormat::Plain,
        zone: None,
        signal_known: declared.is_some(),
    })
}

/// Reads `timestamp,value` rows (a header line is skipped when its first cell is not a time);
/// shared with the demand reader so both refuse the same mistakes the same way.
pub fn timestamp_value<'a>(
    file: &str,
    first: (usize, &'a str),
    rows: impl Iterator<Item = (usize, &'a str)>,
    what: &str,
    value: impl Fn(&str, usize, &str) -> Result<f64, DataError>,
) -> Result<Series, DataError> {
    let mut builder = SeriesBuilder::new(file);
    let first_is_header = split_csv(first.1)
        .first()
        .is_none_or(|c| parse_time(c).is_none());
    let all = std::iter::once(first).skip(usize::from(first_is_header));
    for (no, line) in all.chain(rows) {
        let cells = split_csv(line);
        if cells.len() != 2 {
            return Err(data_error(
                file,
                no,
                format!(
                    "expected 2 columns (timestamp,{what}), found {}",
                    cells.len()
                ),
            ));
        }
        let t = parse_time(&cells[0]).ok_or_else(|| {
            data_error(
                file,
                no,
                format!(
                    "timestamp {:?} is not a time like 2022-01-01T00:00:00Z",
                    cells[0]
                ),
            )
        })?;
        builder.push(no, t, value(file, no, &cells[1])?)?;
    }
    builder.finish(HOUR)
}

fn intensity(file: &str, line: usize, text: &str) -> Result<f64, DataError> {
    let v = number(file, line, "carbon intensity", text)?;
    if v < 0.0 {
        return Err(data_error(
            file,
            line,
            format!("carbon intensity {v} is negative"),
        ));
    }
    if v > MAX_GRAMS_PER_KWH {
        return Err(data_error(
            file,
            line,
            format!(
                "carbon intensity {} is above {MAX_GRAMS_PER_KWH} gCO2eq/kWh, more than any grid emits; check the column and its unit",
                text.trim()
            ),
        ));
    }
    Ok(v)
}

/// Splits one CSV line, honouring double quotes (zone names such as "Korea, Republic of").
pub fn split_csv(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLDER: &str = "Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),Carbon Intensity gCO₂eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,Data Source,Data Estimated,Data Estimation Method\r\n\
2022-01-01 00:00:00,France,France,FR,25.09,43.84,94.23,25.36,opendata.reseaux-energies.fr,false,\r\n\
2022-01-01 01:00:00,France,France,FR,26.73,46.22,93.86,24.33,opendata.reseaux-energies.fr,false,\r\n";

    const NEWER: &str = "Datetime (UTC),Country,Zone name,Zone id,Carbon intensity gCO₂eq/kWh (direct),Carbon intensity gCO₂eq/kWh (Life cycle),Carbon-free energy percentage (CFE%),Renewable energy percentage (RE%),Data source,Data estimated,Data estimation method\n\
2021-01-01 00:00:00,Denmark,East Denmark,DK-DK2,87.26,175.84,88.0,69.03,entsoe.eu,False,\n\
2021-01-01 01:00:00,Denmark,East Denmark,DK-DK2,81.01,171.37,88.75,69.38,entsoe.eu,False,\n\n";

    const JAN1: i64 = 1_640_995_200;

    #[test]
    fn reads_both_portal_headers_and_either_signal() {
        let cases = [
            (
                OLDER,
                Signal::Lifecycle,
                CarbonFormat::PortalOlder,
                "FR",
                [43.84, 46.22],
            ),
            (
                OLDER,
                Signal::Direct,
                CarbonFormat::PortalOlder,
                "FR",
                [25.09, 26.73],
            ),
            (
                NEWER,
                Signal::Lifecycle,
                CarbonFormat::PortalNewer,
                "DK-DK2",
                [175.84, 171.37],
            ),
            (
                NEWER,
                Signal::Direct,
                CarbonFormat::PortalNewer,
                "DK-DK2",
                [87.26, 81.01],
            ),
        ];
        for (text, signal, format, zone, values) in cases {
            let c = parse_carbon("f.csv", text, signal, None).unwrap();
            assert_eq!(c.format, format);
            assert_eq!(c.zone.as_deref(), Some(zone));
            assert_eq!(c.series.values, values);
            assert_eq!(c.series.step, HOUR);
        }
        let c = parse_carbon("f.csv", OLDER, Signal::Lifecycle, None).unwrap();
        assert_eq!(c.series.start, JAN1);
    }

    #[test]
    fn reads_umassos_rows_from_the_given_start() {
        let rest = "100,42.31,42.31\n".repeat(22);
        let text = format!(
            "slack_0,non_interrupt,interrupt\n134.15,42.31,42.31\n138.66,42.31,42.31\n{rest}"
        );
        let text = text.as_str();
        let c = parse_carbon("DK-DK1.csv", text, Signal::Lifecycle, Some(JAN1)).unwrap();
        assert_eq!(c.format, CarbonFormat::Umassos);
        assert_eq!(c.series.values[..3], [134.15, 138.66, 100.0]);
        assert_eq!(c.series.values.len(), 24);
        assert_eq!(c.series.at(JAN1 + HOUR + 59 * 60), Some(138.66));
        let no_start = parse_carbon("DK-DK1.csv", text, Signal::Lifecycle, None).unwrap_err();
        assert!(no_start.problem.contains("--carbon-start"), "{no_start}");
        let direct = parse_carbon("DK-DK1.csv", text, Signal::Direct, Some(JAN1)).unwrap_err();
        assert!(direct.problem.contains("--signal lifecycle"), "{direct}");
    }

    #[test]
    fn reads_plain_csv_with_or_without_header() {
        let with = "timestamp,value\n2022-01-01T00:00:00Z,12.5\n2022-01-01T00:30:00Z,13\n";
        let c = parse_carbon("p.csv", with, Signal::Lifecycle, None).unwrap();
        assert_eq!(
            (
                c.format,
                c.series.start,
                c.series.step,
                c.series.values.clone()
            ),
            (CarbonFormat::Plain, JAN1, 1800, vec![12.5, 13.0])
        );
        assert!(
            !c.signal_known,
            "a column named value says nothing of its signal"
        );
        let named = "timestamp,lifecycle_gco2eq_per_kwh\n2022-01-01T00:00:00Z,12.5\n";
        assert!(
            parse_carbon("p.csv", named, Signal::Lifecycle, None)
                .unwrap()
                .signal_known
        );
        let err = parse_carbon("p.csv", named, Signal::Direct, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "p.csv:1: the value column \"lifecycle_gco2eq_per_kwh\" holds lifecycle values; use --signal lifecycle"
        );
        let without = "2022-01-01T00:00:00Z,12.5\n";
        let c = parse_carbon("p.csv", without, Signal::Lifecycle, None).unwrap();
        assert_eq!((c.series.values, c.series.step), (vec![12.5], HOUR));
    }

    #[test]
    fn malformed_lines_name_the_file_and_line() {
        let cases: &[(&str, &str)] = &[
            (
                "Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (LCA)\n2022-01-01 00:00:00,FR,43\n2022-01-01 01:00:00,FR,n/a\n",
                "bad.csv:3: carbon intensity \"n/a\" is not a number",
            ),
            (
                "Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (LCA)\n01/01/2022 00:00,FR,43\n",
                "bad.csv:2: Datetime (UTC) \"01/01/2022 00:00\" is not a time",
            ),
            (
                "Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (LCA)\n2022-01-01 00:00:00,FR\n",
                "bad.csv:2: 2 columns where the header has 3",
            ),
            (
                "Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (LCA)\n2022-01-01 00:00:00,FR,43\n2022-01-01 01:00:00,FR,44\n2022-01-01 03:00:00,FR,44\n",
                "bad.csv:4: rows must be evenly spaced",
            ),
            (
                "Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (direct)\n2022-01-01 00:00:00,FR,43\n",
                "bad.csv:1: no lifecycle carbon intensity column",
            ),
            ("slack_0,a,b\n1.0,2,3\n-4,2,3\n", "bad.csv:3: carbon intensity -4 is negative"),
            ("timestamp,value\n2022-01-01T00:00:00Z,1,2\n", "bad.csv:2: expected 2 columns"),
            ("timestamp,value\nyesterday,1\n", "bad.csv:2: timestamp \"yesterday\""),
            ("timestamp,value\n2022-01-01T00:00:00Z,NaN\n", "bad.csv:2: carbon intensity \"NaN\" is not a number"),
            ("", "bad.csv: the file is empty"),
            ("timestamp,value\n", "bad.csv: no data rows"),
        ];
        for (text, want) in cases {
            let err = parse_carbon("bad.csv", text, Signal::Lifecycle, Some(JAN1))
                .expect_err(want)
                .to_string();
            assert!(
                err.starts_with(want),
                "{err:?} does not start with {want:?}"
            );
        }
    }

    #[test]
    fn csv_cells_may_be_quoted() {
        assert_eq!(
            split_csv(r#"a,"Korea, Republic of","say ""hi""",,"#),
            ["a", "Korea, Republic of", r#"say "hi""#, "", ""]
        );
    }

    /// The real exports in ../shared, when this checkout sits beside them.
    #[test]
    fn reads_the_shared_exports_when_present() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/carbon");
        let cases = [
            ("FR_2022_hourly.csv", CarbonFormat::PortalOlder, 8760, None),
            (
                "DK-DK2_2021-2023_hourly_combined.csv",
                CarbonFormat::PortalNewer,
                26280,
                None,
            ),
            (
                "umassos-decarbonization-potential_2022_LCA/LV.csv",
                CarbonFormat::Umassos,
                8760,
                Some(JAN1),
            ),
        ];
        for (name, format, rows, start) in cases {
            let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
                continue;
            };
            let c = parse_carbon(name, &text, Signal::Lifecycle, start).unwrap();
            assert_eq!((c.format, c.series.values.len()), (format, rows), "{name}");
        }
    }
}
