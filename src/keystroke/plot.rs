//! The enrolment curve (mean EER against enrolment repetitions, log scale) as an SVG, drawn with
//! plotters' SVG backend. Writes only the file it is given.

use std::path::Path;

use plotters::prelude::*;

use super::KeystrokeError;
use super::eval::CurvePoint;

const COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// Writes the curve of every detector in `points` to `path` (SVG).
pub fn write_curve_svg(
    path: &Path,
    title: &str,
    points: &[CurvePoint],
) -> Result<(), KeystrokeError> {
    let fail = |e: &dyn std::fmt::Display| KeystrokeError::Plot {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut names: Vec<&str> = Vec::new();
    for p in points {
        if !names.contains(&p.detector.as_str()) {
            names.push(&p.detector);
        }
    }
    let x_max = points
        .iter()
        .map(|p| p.enrolment_reps)
        .max()
        .unwrap_or(200)
        .max(2) as f64;
    let x_min = points
        .iter()
        .map(|p| p.enrolment_reps)
        .min()
        .unwrap_or(1)
        .max(1) as f64;
    let y_max = points
        .iter()
        .map(|p| p.eer_mean)
        .filter(|v| v.is_finite())
        .fold(0.05, f64::max)
        * 1.1;
    let root = SVGBackend::new(path, (720, 440)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d((x_min..x_max).log_scale(), 0.0..y_max)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("enrolment repetitions per user (log scale)")
        .y_desc("mean equal-error rate")
        .draw()
        .map_err(|e| fail(&e))?;
    for (k, name) in names.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let series: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.detector == *name)
            .map(|p| (p.enrolment_reps as f64, p.eer_mean))
            .collect();
        chart
            .draw_series(LineSeries::new(series.clone(), colour.stroke_width(2)))
            .map_err(|e| fail(&e))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        chart
            .draw_series(
                series
                    .into_iter()
                    .map(|p| Circle::new(p, 3, colour.filled())),
            )
            .map_err(|e| fail(&e))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}
