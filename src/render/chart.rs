//! A picture of the replay, because people would rather look than read: the policy's replicas
//! per region (with demand) above, each region's carbon intensity below, on one time axis, so
//! a reader can see replicas follow the clean grid.

use plotters::prelude::*;

use crate::backtest::model::TimelinePoint;
use crate::clock::to_rfc3339;

/// Region colours, in input order; distinguishable for the common forms of colour blindness
/// (Okabe-Ito palette).
const COLOURS: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
];

const DEMAND: RGBColor = RGBColor(120, 120, 120);

/// The chart as SVG text. Drawing into a string cannot fail for I/O reasons, and the ranges are
/// made non-empty here, so drawing errors would be bugs: they are reported in the image's place.
pub fn svg(regions: &[&str], timeline: &[TimelinePoint], signal: &str) -> String {
    let mut out = String::new();
    if let Err(e) = draw(&mut out, regions, timeline, signal) {
        return format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><text x=\"10\" y=\"20\">chart failed: {e}</text></svg>");
    }
    out
}

fn draw(
    out: &mut String,
    regions: &[&str],
    timeline: &[TimelinePoint],
    signal: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let start = timeline.first().map_or(0, |p| p.time);
    let day = |t: i64| (t - start) as f64 / 86_400.0;
    let days = timeline.last().map_or(1.0, |p| day(p.time)).max(1.0 / 24.0);
    let max_replicas = timeline
        .iter()
        .flat_map(|p| p.replicas.iter().copied().chain([p.demand]))
        .fold(1.0, f64::max);
    let max_carbon = timeline
        .iter()
        .flat_map(|p| p.carbon.iter().copied())
        .fold(1.0, f64::max);
    let date = move |x: &f64| {
        let text = to_rfc3339(start + (x * 86_400.0) as i64);
        if days <= 3.0 {
            text.get(5..16).unwrap_or(&text).replace('T', " ")
        } else {
            text.get(5..10).unwrap_or(&text).to_string()
        }
    };

    let root = SVGBackend::with_string(out, (960, 620)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(320);

    let mut chart = ChartBuilder::on(&top)
        .caption(
            "replicas per region (carbonctl policy) and demand",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(48)
        .build_cartesian_2d(0.0..days, 0.0..max_replicas * 1.1)?;
    chart
        .configure_mesh()
        .x_label_formatter(&date)
        .y_desc("replicas")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(WHITE)
        .draw()?;
    for (i, name) in regions.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                timeline.iter().map(|p| (day(p.time), p.replicas[i])),
                colour.stroke_width(2),
            ))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    chart
        .draw_series(LineSeries::new(
            timeline.iter().map(|p| (day(p.time), p.demand)),
            DEMAND.stroke_width(1),
        ))?
        .label("demand (replica-equivalents)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], DEMAND.stroke_width(1)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;

    let mut carbon = ChartBuilder::on(&bottom)
        .caption(
            format!("grid carbon intensity ({signal}), gCO2eq/kWh"),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(48)
        .build_cartesian_2d(0.0..days, 0.0..max_carbon * 1.05)?;
    carbon
        .configure_mesh()
        .x_label_formatter(&date)
        .y_desc("gCO2eq/kWh")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(WHITE)
        .draw()?;
    for (i, name) in regions.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        carbon
            .draw_series(LineSeries::new(
                timeline.iter().map(|p| (day(p.time), p.carbon[i])),
                colour.stroke_width(2),
            ))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    carbon
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_one_line_per_region_in_each_panel_plus_demand() {
        let timeline: Vec<TimelinePoint> = (0..48)
            .map(|h| TimelinePoint {
                time: 1_640_995_200 + h * 3600,
                replicas: vec![1.0 + (h % 3) as f64, 1.0],
                carbon: vec![40.0 + h as f64, 300.0],
                demand: 2.0,
            })
            .collect();
        let svg = svg(&["france", "latvia"], &timeline, "lifecycle");
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        // Each region: a line and a legend mark in each panel; demand: one line, one mark.
        for (colour, want) in [("#0072B2", 4), ("#E69F00", 4), ("#787878", 2)] {
            let n = svg.matches(&format!("stroke=\"{colour}\"")).count();
            assert_eq!(n, want, "strokes in {colour}");
        }
        for text in [
            "france",
            "latvia",
            "grid carbon intensity (lifecycle)",
            "01-01",
            "demand",
        ] {
            assert!(svg.contains(text), "chart lacks {text}");
        }
    }
}
