//! Prometheus text exposition format 0.0.4, written by hand. The `prometheus-client` crate only
//! writes OpenMetrics (a counter's `# TYPE` line without its `_total`, `# EOF`), which the
//! Pushgateway parses as the 0.0.4 text format and `promtool check metrics` flags; the format
//! needs no more than escaping and number formatting, which this file tests.

use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

/// One metric family: its name, help, type and samples (label pairs and a value).
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

impl Family {
    pub fn new(name: &'static str, kind: Kind, help: &'static str) -> Family {
        Family {
            name,
            help,
            kind,
            samples: Vec::new(),
        }
    }

    /// The family with one more sample.
    pub fn sample(mut self, labels: &[(&'static str, &str)], value: f64) -> Family {
        let labels = labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
        self.samples.push(Sample { labels, value });
        self
    }
}

/// The families as one exposition; a family without samples is left out.
pub fn render(families: &[Family]) -> String {
    let mut out = String::new();
    for family in families.iter().filter(|f| !f.samples.is_empty()) {
        let kind = match family.kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(family.help));
        let _ = writeln!(out, "# TYPE {} {kind}", family.name);
        for sample in &family.samples {
            out.push_str(family.name);
            if !sample.labels.is_empty() {
                let pairs: Vec<String> = sample
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                    .collect();
                let _ = write!(out, "{{{}}}", pairs.join(","));
            }
            let _ = writeln!(out, " {}", number(sample.value));
        }
    }
    out
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Whole numbers without a fraction (counts read as counts), others in Rust's shortest form
/// that reads back to the same value; the special values as Prometheus spells them.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_help_type_and_samples_with_escaped_labels() {
        let families = [
            Family::new("x_total", Kind::Counter, "Ticks.\nBy outcome, C:\\ path.")
                .sample(&[("outcome", "held")], 3.0)
                .sample(&[("outcome", "a\"b\\c\nd")], 0.0),
            Family::new("y_seconds", Kind::Gauge, "Age.").sample(&[], 1.5),
            Family::new("empty", Kind::Gauge, "Never shown."),
        ];
        assert_eq!(
            render(&families),
            "# HELP x_total Ticks.\\nBy outcome, C:\\\\ path.\n\
             # TYPE x_total counter\n\
             x_total{outcome=\"held\"} 3\n\
             x_total{outcome=\"a\\\"b\\\\c\\nd\"} 0\n\
             # HELP y_seconds Age.\n\
             # TYPE y_seconds gauge\n\
             y_seconds 1.5\n"
        );
    }

    #[test]
    fn numbers_read_back_as_written() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (42.0, "42"),
            (-3.0, "-3"),
            (0.1, "0.1"),
            (1_800_000_000.25, "1800000000.25"),
            (1e20, "100000000000000000000"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (value, want) in cases {
            assert_eq!(number(value), want, "{value}");
            if value.is_finite() {
                assert_eq!(want.parse::<f64>().unwrap(), value);
            }
        }
    }
}
