//! What the web tier is asked to carry, in replica-equivalents (the load one replica serves at
//! 100% CPU). Recorded traces come in any unit (requests per second, tweets, ...), so they are
//! rescaled: either so their busiest tick equals a chosen number of replicas, or by a known
//! capacity per replica. A trace shorter than the backtest is repeated, which keeps its daily
//! shape; the report says so.

use super::carbon_csv::timestamp_value;
use super::series::{lines, number, Series};
use crate::error::{data_error, DataError};

/// A recorded trace and whether its rows carried their own times.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub series: Series,
    /// False for the one-integer-per-second `workload.txt` layout: its row 0 is placed by the
    /// caller (`--demand-start`), and `series.start` means nothing.
    pub timestamped: bool,
}

impl Trace {
    /// Where row 0 lies: the trace's own time, or `untimed_start` when it has none.
    pub fn start(&self, untimed_start: i64) -> i64 {
        if self.timestamped {
            self.series.start
        } else {
            untimed_start
        }
    }
}

/// Where the demand comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum DemandSource {
    Trace {
        file: String,
        trace: Trace,
    },
    /// Already in replica-equivalents.
    Constant(f64),
    /// A synthetic weekday-like curve: lowest at 02:00 UTC (20% of the peak), highest at 14:00.
    Daily,
}

/// How raw demand units become replica-equivalents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// The busiest tick of the period becomes this many replica-equivalents.
    Peak(f64),
    /// Demand units one replica serves at 100% CPU.
    PerReplica(f64),
}

/// Reads a `timestamp,value` CSV (header optional) or the NASA/Twitter `workload.txt` layout:
/// whitespace-separated non-negative numbers, one per second, no timestamps.
pub fn parse_demand(file: &str, text: &str) -> Result<Trace, DataError> {
    let mut rows = lines(text);
    let first = rows
        .next()
        .ok_or_else(|| data_error(file, 0, "the file is empty"))?;
    if first.1.contains(',') {
        let series = timestamp_value(file, first, rows, "demand", load)?;
        return Ok(Trace {
            series,
            timestamped: true,
        });
    }
    let mut values = Vec::new();
    for (no, line) in std::iter::once(first).chain(rows) {
        for cell in line.split_ascii_whitespace() {
            values.push(load(file, no, cell).map_err(|mut e| {
                e.problem = format!("value {} of the line: {}", values.len() + 1, e.problem);
                e
            })?);
        }
    }
    Ok(Trace {
        series: Series {
            start: 0,
            step: 1,
            values,
        },
        timestamped: false,
    })
}

fn load(file: &str, line: usize, text: &str) -> Result<f64, DataError> {
    // Request counts are whole numbers, and a year of seconds is millions of them: the integer
    // parser is several times faster than the float one.
    if let Ok(n) = text.parse::<u32>() {
        return Ok(f64::from(n));
    }
    let v = number(file, line, "demand", text)?;
    if v < 0.0 {
        return Err(data_error(file, line, format!("demand {v} is negative")));
    }
    Ok(v)
}

/// Raw demand for each tick `from + k*interval`: the trace's mean over the tick's interval
/// (so a per-second trace is not sampled at one arbitrary second), wrapping around the trace.
/// A trace without timestamps starts at `untimed_start`.
pub fn per_tick(
    source: &DemandSource,
    from: i64,
    interval: i64,
    ticks: usize,
    untimed_start: i64,
) -> Vec<f64> {
    match source {
        DemandSource::Constant(v) => vec![*v; ticks],
        DemandSource::Daily => (0..ticks)
            .map(|k| {
                let t = from + k as i64 * interval;
                let hour = t.rem_euclid(86_400) as f64 / 3600.0;
                0.6 + 0.4 * (std::f64::consts::TAU * (hour - 14.0) / 24.0).cos()
            })
            .collect(),
        DemandSource::Trace { trace, .. } => {
            let integral = Integral::new(&trace.series, trace.start(untimed_start));
            (0..ticks)
                .map(|k| {
                    let t = from + k as i64 * interval;
                    integral.mean(t, interval)
                })
                .collect()
        }
    }
}

/// Replica-equivalents from raw per-tick demand; None when a peak is asked of a trace that is
/// zero throughout (nothing to scale).
pub fn rescale(raw: &mut [f64], source: &DemandSource, scale: Scale) -> Option<f64> {
    let factor = match (source, scale) {
        (DemandSource::Constant(_), _) => 1.0,
        (_, Scale::PerReplica(capacity)) => 1.0 / capacity,
        (_, Scale::Peak(peak)) => {
            let max = raw.iter().copied().fold(0.0, f64::max);
            if max <= 0.0 {
                return None;
            }
            peak / max
        }
    };
    raw.iter_mut().for_each(|v| *v *= factor);
    Some(factor)
}

/// The area under the trace's step function, so any window's mean costs two lookups.
struct Integral<'a> {
    series: &'a Series,
    start: i64,
    /// `prefix[i]` = sum of the first i values.
    prefix: Vec<f64>,
    span: i64,
}

impl<'a> Integral<'a> {
    fn new(series: &'a Series, start: i64) -> Self {
        let mut prefix = Vec::with_capacity(series.values.len() + 1);
        let mut sum = 0.0;
        prefix.push(0.0);
        for v in &series.values {
            sum += v;
            prefix.push(sum);
        }
        Integral {
            series,
            start,
            prefix,
            span: series.step * series.values.len() as i64,
        }
    }

    /// Area from the trace's start to `x` seconds later, for any `x` (repeating the trace).
    fn area(&self, x: i64) -> f64 {
        let laps = x.div_euclid(self.span);
        let x = x.rem_euclid(self.span);
        let i = (x / self.series.step) as usize;
        let step = self.series.step as f64;
        let partial = self
            .series
            .values
            .get(i)
            .map_or(0.0, |v| v * (x - i as i64 * self.series.step) as f64);
        laps as f64 * self.prefix[self.prefix.len() - 1] * step + self.prefix[i] * step + partial
    }

    fn mean(&self, t: i64, width: i64) -> f64 {
        let a = t - self.start;
        (self.area(a + width) - self.area(a)) / width as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_workload_txt_one_value_per_second() {
        let t = parse_demand("workload.txt", "3 0 5 12\n").unwrap();
        assert!(!t.timestamped);
        assert_eq!(
            (t.series.step, t.series.values),
            (1, vec![3.0, 0.0, 5.0, 12.0])
        );
        let err = parse_demand("workload.txt", "3 0 x 12\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "workload.txt:1: value 3 of the line: demand \"x\" is not a number"
        );
        let err = parse_demand("workload.txt", "3\n-1\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("workload.txt:2: value 2 of the line: demand -1 is negative"),
            "{err}"
        );
    }

    #[test]
    fn reads_timestamped_csv_and_names_bad_lines() {
        let t = parse_demand(
            "d.csv",
            "timestamp,value\n2022-01-01T00:00:00Z,4\n2022-01-01T00:05:00Z,6\n",
        )
        .unwrap();
        assert!(t.timestamped);
        assert_eq!((t.series.start, t.series.step), (1_640_995_200, 300));
        let err = parse_demand(
            "d.csv",
            "timestamp,value\n2022-01-01T00:00:00Z,4\n2022-01-01T00:05:00Z,\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("d.csv:3: demand \"\" is not a number"),
            "{err}"
        );
        assert_eq!(
            parse_demand("d.csv", "\n\n").unwrap_err().to_string(),
            "d.csv: the file is empty"
        );
    }

    #[test]
    fn tick_demand_is_the_mean_over_the_tick_and_wraps() {
        let trace = Trace {
            series: Series {
                start: 100,
                step: 1,
                values: vec![0.0, 6.0, 3.0, 3.0],
            },
            timestamped: false,
        };
        let source = DemandSource::Trace {
            file: "w".into(),
            trace,
        };
        // Ticks of 2 s from the trace's start: means of (0,6), (3,3), then around again.
        assert_eq!(per_tick(&source, 100, 2, 3, 100), [3.0, 3.0, 3.0]);
        // Ticks of 3 s starting 1 s in: (6,3,3), then (0,6,3) after wrapping.
        assert_eq!(per_tick(&source, 101, 3, 2, 100), [4.0, 3.0]);
        // Before the trace's start it wraps backwards too.
        assert_eq!(per_tick(&source, 99, 1, 2, 100), [3.0, 0.0]);
    }

    #[test]
    fn daily_peaks_at_two_pm_utc_and_rescales_to_the_peak() {
        let mut raw = per_tick(&DemandSource::Daily, 0, 3600, 24, 0);
        assert_eq!(raw.iter().copied().fold(f64::MIN, f64::max), raw[14]);
        assert!((raw[2] - 0.2).abs() < 1e-9, "{}", raw[2]);
        rescale(&mut raw, &DemandSource::Daily, Scale::Peak(8.0)).unwrap();
        assert!((raw[14] - 8.0).abs() < 1e-9);

        let mut constant = per_tick(&DemandSource::Constant(2.5), 0, 60, 3, 0);
        rescale(
            &mut constant,
            &DemandSource::Constant(2.5),
            Scale::Peak(8.0),
        )
        .unwrap();
        assert_eq!(
            constant,
            [2.5, 2.5, 2.5],
            "a constant is already in replicas"
        );

        let trace = DemandSource::Trace {
            file: "w".into(),
            trace: Trace {
                series: Series {
                    start: 0,
                    step: 1,
                    values: vec![0.0],
                },
                timestamped: false,
            },
        };
        let mut zero = vec![0.0; 3];
        assert_eq!(rescale(&mut zero, &trace, Scale::Peak(8.0)), None);
        let mut per_replica = vec![10.0, 25.0];
        rescale(&mut per_replica, &trace, Scale::PerReplica(5.0)).unwrap();
        assert_eq!(per_replica, [2.0, 5.0]);
    }
}
