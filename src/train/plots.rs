//! The model card's plots as inline SVG strings, drawn with plotters' SVG backend: ROC and
//! precision–recall curves (the model beside its baselines), the reliability diagram (predicted
//! against observed attack share, with each bin's count) and feature-importance bars. Pure
//! functions of their inputs: the same figures give the same bytes. Writes no file and reads
//! none; a plot that cannot be drawn is an error for the card to show, never a panic. The size,
//! the colours, [`PlotError`] and the bar drawing are [`crate::render::plots`]'s, shared with
//! the fraud report and the live dashboard.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::metrics::ReliabilityBin;
use super::output::Importance;

use crate::render::plots::{BASELINE_COLOURS, FINE_GRID, MODEL_COLOUR, REFERENCE, fail};
pub use crate::render::plots::{PlotError, SIZE_PX};

/// One curve of a line plot.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Legend label.
    pub name: &'a str,
    /// Points `(x, y)`; non-finite points are left out.
    pub points: &'a [(f64, f64)],
    /// The card's own model: drawn first in colour, thicker.
    pub primary: bool,
}

/// What a curve plot shows.
#[derive(Debug, Clone, Copy)]
pub struct CurvePlot<'a> {
    /// Names the plot in errors (`roc`, `pr`, …).
    pub id: &'static str,
    /// Caption.
    pub title: &'a str,
    /// X axis label.
    pub x_desc: &'a str,
    /// Y axis label.
    pub y_desc: &'a str,
    /// Largest x shown (curves are clipped there); the x axis starts at 0.
    pub x_max: f64,
    /// Draw the `y = x` reference line (chance for ROC).
    pub diagonal: bool,
    /// Vertical reference lines, e.g. the 1 % and 5 % genuine challenge rates.
    pub marks: &'a [f64],
}

/// Draws `series` (x and y in 0–1) as one SVG line plot with a legend.
pub fn curve_svg(plot: &CurvePlot<'_>, series: &[Series<'_>]) -> Result<String, PlotError> {
    let err = fail(plot.id);
    let x_max = if plot.x_max.is_finite() && plot.x_max > 0.0 {
        plot.x_max.min(1.0)
    } else {
        1.0
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE_PX).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = chart_on(&root, plot.title, 0.0..x_max, 0.0..1.0).map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .light_line_style(FINE_GRID)
            .x_desc(plot.x_desc)
            .y_desc(plot.y_desc)
            .draw()
            .map_err(|e| err(&e))?;
        if plot.diagonal {
            let d = [(0.0, 0.0), (x_max, x_max)];
            chart
                .draw_series(DashedLineSeries::new(d, 6, 4, REFERENCE.stroke_width(1)))
                .map_err(|e| err(&e))?;
        }
        for &m in plot.marks.iter().filter(|m| **m > 0.0 && **m <= x_max) {
            chart
                .draw_series(DashedLineSeries::new(
                    [(m, 0.0), (m, 1.0)],
                    3,
                    3,
                    REFERENCE.stroke_width(1),
                ))
                .map_err(|e| err(&e))?;
        }
        let mut baseline = 0;
        for s in series {
            let colour = if s.primary {
                MODEL_COLOUR
            } else {
                baseline += 1;
                BASELINE_COLOURS[(baseline - 1) % BASELINE_COLOURS.len()]
            };
            let width = if s.primary { 3 } else { 2 };
            chart
                .draw_series(LineSeries::new(
                    clip_x(s.points, x_max),
                    colour.stroke_width(width),
                ))
                .map_err(|e| err(&e))?
                .label(s.name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(width))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// The reliability diagram: each non-empty bin's mean predicted probability against the
/// observed attack share, labelled with its event count, beside the perfect-calibration line.
pub fn reliability_svg(title: &str, bins: &[ReliabilityBin]) -> Result<String, PlotError> {
    let err = fail("reliability");
    let points: Vec<(f64, f64, u64)> = bins
        .iter()
        .filter(|b| b.events > 0 && b.predicted.is_finite() && b.observed.is_finite())
        .map(|b| {
            (
                b.predicted.clamp(0.0, 1.0),
                b.observed.clamp(0.0, 1.0),
                b.events,
            )
        })
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE_PX).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = chart_on(&root, title, 0.0..1.0, 0.0..1.0).map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .light_line_style(FINE_GRID)
            .x_desc("predicted attack probability (bin mean)")
            .y_desc("observed attack share")
            .draw()
            .map_err(|e| err(&e))?;
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                6,
                4,
                REFERENCE.stroke_width(1),
            ))
            .map_err(|e| err(&e))?
            .label("perfectly calibrated")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], REFERENCE));
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|(x, y, _)| (*x, *y)),
                MODEL_COLOUR.stroke_width(2),
            ))
            .map_err(|e| err(&e))?
            .label("model")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], MODEL_COLOUR));
        chart
            .draw_series(
                points
                    .iter()
                    .map(|(x, y, _)| Circle::new((*x, *y), 4, MODEL_COLOUR.filled())),
            )
            .map_err(|e| err(&e))?;
        chart
            .draw_series(points.iter().map(|(x, y, n)| {
                // Counts sit right of their point, or left of it near the right edge.
                let dx = if *x > 0.85 { -0.02 } else { 0.015 };
                let anchor = if *x > 0.85 { HPos::Right } else { HPos::Left };
                Text::new(
                    format!("n={n}"),
                    (x + dx, (y + 0.03).min(0.98)),
                    ("sans-serif", 12)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(anchor, VPos::Center)),
                )
            }))
            .map_err(|e| err(&e))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// Horizontal bars of the `top` largest importances (the list is taken as ordered, largest
/// first), feature names on the y axis.
pub fn importance_svg(title: &str, items: &[Importance], top: usize) -> Result<String, PlotError> {
    let shown: Vec<(String, f64)> = items
        .iter()
        .filter(|i| i.mean_abs_term.is_finite())
        .take(top.max(1))
        .map(|i| (i.feature.clone(), i.mean_abs_term))
        .collect();
    crate::render::plots::horizontal_bars(
        "importance",
        title,
        "mean |log-odds term| on test events",
        &shown,
    )
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn chart_on<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> Result<Chart<'a, 'b>, DrawingAreaErrorKind<std::io::Error>> {
    ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(x, y)
}

/// The finite points of `points` with `x ≤ x_max`, and the point where the curve crosses
/// `x_max` (linear interpolation), so a zoomed plot draws nothing outside its frame.
pub fn clip_x(points: &[(f64, f64)], x_max: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len());
    let mut prev: Option<(f64, f64)> = None;
    for &(x, y) in points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
    {
        if x <= x_max {
            out.push((x, y));
        } else {
            if let Some((px, py)) = prev
                && px < x_max
            {
                let t = (x_max - px) / (x - px);
                out.push((x_max, py + t * (y - py)));
            }
            break;
        }
        prev = Some((x, y));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roc() -> Vec<(f64, f64)> {
        vec![(0.0, 0.0), (0.02, 0.6), (0.2, 0.9), (1.0, 1.0)]
    }

    #[test]
    fn clipping_interpolates_the_crossing_point() {
        let c = clip_x(&roc(), 0.1);
        assert_eq!(c.len(), 3);
        assert_eq!(c[1], (0.02, 0.6));
        // Between (0.02, 0.6) and (0.2, 0.9): at 0.1, 0.6 + (0.08 / 0.18) · 0.3.
        assert!((c[2].0 - 0.1).abs() < 1e-12);
        assert!((c[2].1 - (0.6 + 0.08 / 0.18 * 0.3)).abs() < 1e-12);
        assert_eq!(
            clip_x(&[(0.0, f64::NAN), (0.5, 0.5)], 1.0),
            vec![(0.5, 0.5)]
        );
    }

    #[test]
    fn curves_draw_one_polyline_per_series_and_escape_names() {
        let pts = roc();
        let base = [(0.0, 0.0), (1.0, 1.0)];
        let draw = || {
            curve_svg(
                &CurvePlot {
                    id: "roc",
                    title: "ROC <test>",
                    x_desc: "false positive rate",
                    y_desc: "true positive rate",
                    x_max: 1.0,
                    diagonal: true,
                    marks: &[0.01, 0.05],
                },
                &[
                    Series {
                        name: "model",
                        points: &pts,
                        primary: true,
                    },
                    Series {
                        name: "rules & co",
                        points: &base,
                        primary: false,
                    },
                ],
            )
            .expect("drawn")
        };
        let svg = draw();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        // Two curves and two legend swatches are polylines; the dashed lines are too.
        assert!(svg.matches("<polyline").count() >= 4);
        assert!(svg.contains("ROC &lt;test&gt;"));
        assert!(svg.contains("rules &amp; co"));
        assert!(!svg.contains("rules & co"));
        // Same input, same bytes.
        let again = draw();
        assert_eq!(svg, again);
    }

    #[test]
    fn reliability_labels_each_nonempty_bin_with_its_count() {
        let bin = |lower: f64, events: u64, predicted: f64, observed: f64| ReliabilityBin {
            lower,
            upper: lower + 0.1,
            events,
            predicted,
            observed,
        };
        let svg = reliability_svg(
            "reliability",
            &[
                bin(0.0, 900, 0.02, 0.01),
                bin(0.1, 0, 0.0, 0.0),
                bin(0.9, 37, 0.95, 0.9),
            ],
        )
        .expect("drawn");
        // plotters writes a text's content on its own line.
        assert!(svg.contains(">\nn=900\n</text>"));
        assert!(svg.contains(">\nn=37\n</text>"));
        assert!(!svg.contains("n=0"));
        assert_eq!(svg.matches("<circle").count(), 2);
    }

    #[test]
    fn importance_bars_are_ordered_largest_at_the_top() {
        let items = vec![
            Importance {
                feature: "network.tor_exit".into(),
                mean_abs_term: 2.0,
            },
            Importance {
                feature: "geo.impossible_travel".into(),
                mean_abs_term: 1.0,
            },
            Importance {
                feature: "typing.speed".into(),
                mean_abs_term: 0.5,
            },
        ];
        let svg = importance_svg("importance", &items, 2).expect("drawn");
        assert!(svg.contains("network.tor_exit"));
        assert!(svg.contains("geo.impossible_travel"));
        assert!(!svg.contains("typing.speed"), "only the top 2");
        // The background, the plot frame and one rect per bar at least.
        assert!(svg.matches("<rect").count() >= 3);
        // The top bar's label is drawn above the second's (smaller y).
        let y_of = |name: &str| -> f64 {
            let at = svg.find(&format!(">\n{name}\n</text>")).expect("label");
            let tag = &svg[svg[..at].rfind("<text").expect("text tag")..at];
            let y = tag.split("y=\"").nth(1).expect("y attribute");
            y[..y.find('"').expect("quote")].parse().expect("number")
        };
        assert!(y_of("network.tor_exit") < y_of("geo.impossible_travel"));
    }
}
