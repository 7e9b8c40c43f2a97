//! Plots shared by the batch report (`report.html`), the live dashboard (`GET /dashboard`) and
//! the model card: time series, stacked bars, top-N bars and histograms as inline SVG strings,
//! drawn with plotters' SVG backend (bars are drawn rectangle by rectangle: the crate is built
//! without plotters' histogram and area series). Also the pieces every plot shares: the size,
//! the colours and [`PlotError`].
//!
//! Pure functions of their inputs: the same figures give the same bytes (no wall clock; times
//! are labelled in UTC). Writes no file and reads none. An input with nothing to draw (no
//! series, no point, no positive value) gives a small valid SVG saying "no data", never an
//! error or a panic, so a page over an empty period still renders; [`PlotError`] is left for
//! what plotters itself refuses and for a histogram range that is not a range. Every text
//! (title, axis, legend, label) is XML-escaped by the backend, the `id` here.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::page::esc;

mod bars;
mod time_axis;

pub(crate) use bars::horizontal_bars;
use time_axis::TimeAxis;

/// Width and height of every plot, pixels (the page scales them down on narrow screens).
pub const SIZE_PX: (u32, u32) = (640, 420);

/// Colour of the main series (the card's model, the first line or segment).
pub const MODEL_COLOUR: RGBColor = RGBColor(31, 119, 180);
/// Colours of the further series, in the order they are listed.
pub const BASELINE_COLOURS: [RGBColor; 5] = [
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(127, 127, 127),
];
/// Grey of the fine grid, light so the data stands out.
pub const FINE_GRID: RGBColor = RGBColor(238, 238, 238);
/// Grey of reference lines (chance, perfect calibration, target rates) and of "no data".
pub const REFERENCE: RGBColor = RGBColor(150, 150, 150);

/// Why a plot could not be drawn (the message plotters gave, or the bad argument).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plot {plot}: {message}")]
pub struct PlotError {
    /// Which plot.
    pub plot: &'static str,
    /// What went wrong.
    pub message: String,
}

/// Maps a drawing error of plot `plot` to a [`PlotError`].
pub(crate) fn fail(plot: &'static str) -> impl Fn(&dyn std::fmt::Display) -> PlotError {
    move |e| PlotError {
        plot,
        message: e.to_string(),
    }
}

/// The colour of the `i`-th series: [`MODEL_COLOUR`], then [`BASELINE_COLOURS`] in turn.
pub fn colour(i: usize) -> RGBColor {
    match i.checked_sub(1) {
        None => MODEL_COLOUR,
        Some(k) => BASELINE_COLOURS[k % BASELINE_COLOURS.len()],
    }
}

/// One line of a time series: points are (ms since the Unix epoch, value).
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// Legend label.
    pub name: &'a str,
    /// `(ms since the Unix epoch, value)`, in time order; non-finite values are left out.
    pub points: &'a [(i64, f64)],
}

/// One named segment of stacked bars: one value per category.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// Legend label.
    pub name: &'a str,
    /// The segment's height in each category, in the categories' order (a missing value is 0;
    /// negative and non-finite values are not drawn).
    pub values: &'a [f64],
}

/// Writes `id` into the `<svg>` tag as its `id` attribute (escaped).
fn with_id(svg: String, id: &str) -> String {
    match svg.strip_prefix("<svg ") {
        Some(rest) => format!("<svg id=\"{}\" {rest}", esc(id)),
        None => svg,
    }
}

/// A plot of [`SIZE_PX`] with its title and "no data" in the middle.
fn no_data(plot: &'static str, id: &str, title: &str) -> Result<String, PlotError> {
    let err = fail(plot);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE_PX).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (w, h) = SIZE_PX;
        root.draw(&Text::new(
            title.to_string(),
            (w as i32 / 2, 24),
            ("sans-serif", 18)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(|e| err(&e))?;
        root.draw(&Text::new(
            "no data",
            (w as i32 / 2, h as i32 / 2),
            ("sans-serif", 16)
                .into_font()
                .color(&REFERENCE)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(with_id(svg, id))
}

/// Axis numbers with as many decimals as the scale needs: none from 10 up, one from 1, two
/// below (counts read as counts, shares as shares).
fn axis_number(max: f64) -> impl Fn(&f64) -> String {
    let decimals = if max >= 10.0 {
        0
    } else if max >= 1.0 {
        1
    } else {
        2
    };
    move |v| format!("{v:.decimals$}")
}

/// A positive finite value, or `None`.
fn positive(v: f64) -> Option<f64> {
    (v.is_finite() && v > 0.0).then_some(v)
}

/// The largest positive finite value of `values`, or `None` when there is none.
fn max_positive(values: impl Iterator<Item = f64>) -> Option<f64> {
    values.filter_map(positive).reduce(f64::max)
}

/// Lines over time; x axis labelled in UTC (dates when the span is over 2 days, else HH:MM),
/// y from 0 to the max (or 1 if all 0). One `<polyline>` per line, with one point per finite
/// value, and one per legend swatch. "no data" when no line has a finite point.
pub fn time_series_svg(
    id: &str,
    title: &str,
    y_desc: &str,
    lines: &[Line<'_>],
) -> Result<String, PlotError> {
    let err = fail("time_series");
    let drawn: Vec<(&str, Vec<(i64, f64)>)> = lines
        .iter()
        .map(|l| {
            let finite = l.points.iter().filter(|(_, v)| v.is_finite()).copied();
            (l.name, finite.collect::<Vec<_>>())
        })
        .filter(|(_, p)| !p.is_empty())
        .collect();
    let all = || drawn.iter().flat_map(|(_, p)| p.iter());
    let (Some(t0), Some(t1)) = (all().map(|p| p.0).min(), all().map(|p| p.0).max()) else {
        return no_data("time_series", id, title);
    };
    let axis = TimeAxis::over(t0, t1);
    let y_max = max_positive(all().map(|p| p.1)).unwrap_or(1.0);
    let label = |x: &f64| axis.label(*x);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE_PX).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(axis.range(), 0.0..y_max)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .light_line_style(FINE_GRID)
            .x_labels(axis.labels)
            .x_label_formatter(&label)
            .x_desc("time (UTC)")
            .y_desc(y_desc)
            .y_label_formatter(&axis_number(y_max))
            .draw()
            .map_err(|e| err(&e))?;
        for (i, (name, points)) in drawn.iter().enumerate() {
            let c = colour(i);
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|(t, v)| (axis.x(*t), *v)),
                    c.stroke_width(2),
                ))
                .map_err(|e| err(&e))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft).map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(with_id(svg, id))
}

/// Stacked vertical bars, one per category, with a legend: each segment one colour, stacked in
/// the order given, one `<rect>` per positive value (and one per legend swatch). "no data" when
/// there is no category or no positive value.
pub fn stacked_bars_svg(
    id: &str,
    title: &str,
    y_desc: &str,
    categories: &[String],
    segments: &[Segment<'_>],
) -> Result<String, PlotError> {
    let err = fail("stacked_bars");
    let n = categories.len();
    let value = |s: &Segment<'_>, i: usize| s.values.get(i).copied().and_then(positive);
    let totals: Vec<f64> = (0..n)
        .map(|i| segments.iter().filter_map(|s| value(s, i)).sum())
        .collect();
    let Some(y_max) = max_positive(totals.iter().copied()) else {
        return no_data("stacked_bars", id, title);
    };
    let n = u32::try_from(n).map_err(|_| PlotError {
        plot: "stacked_bars",
        message: "too many categories".into(),
    })?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE_PX).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d((0u32..n).into_segmented(), 0.0..y_max * 1.15)
            .map_err(|e| err(&e))?;
        let label = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(k) => categories
                .get(*k as usize)
                .map_or(String::new(), Clone::clone),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(FINE_GRID)
            .x_labels(n as usize)
            .x_label_formatter(&label)
            .y_desc(y_desc)
            .y_label_formatter(&axis_number(y_max))
            .draw()
            .map_err(|e| err(&e))?;
        let mut base = vec![0.0f64; n as usize];
        for (si, s) in segments.iter().enumerate() {
            let c = colour(si);
            let mut bars = Vec::new();
            for (i, b) in base.iter_mut().enumerate() {
                let Some(v) = value(s, i) else { continue };
                let k = i as u32;
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(k), *b),
                        (SegmentValue::Exact(k + 1), *b + v),
                    ],
                    c.filled(),
                );
                bar.set_margin(0, 0, 8, 8);
                bars.push(bar);
                *b += v;
            }
            chart
                .draw_series(bars)
                .map_err(|e| err(&e))?
                .label(s.name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight).map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(with_id(svg, id))
}

/// Horizontal bars, largest first as given (the caller sorts and cuts), labels at the left: one
/// `<rect>` per bar with a finite value, the first at the top. "no data" when no bar has a
/// positive value.
pub fn top_bars_svg(
    id: &str,
    title: &str,
    x_desc: &str,
    bars: &[(String, f64)],
) -> Result<String, PlotError> {
    if max_positive(bars.iter().map(|b| b.1)).is_none() {
        return no_data("top_bars", id, title);
    }
    horizontal_bars("top_bars", title, x_desc, bars).map(|svg| with_id(svg, id))
}

/// Histograms on equal-width bins over [lo, hi] (series values per bin, counts or shares);
/// several series overlay as outlined steps with a legend. One series: one filled `<rect>` per
/// bin with a positive value. Several: one step `<polyline>` per series (2 points per bin and
/// one at each end on the baseline) and one per legend swatch. "no data" when no series has a
/// positive value; an error when `lo` and `hi` are not finite with `lo < hi`.
pub fn histogram_svg(
    id: &str,
    title: &str,
    x_desc: &str,
    lo: f64,
    hi: f64,
    series: &[(&str, &[f64])],
) -> Result<String, PlotError> {
    let err = fail("histogram");
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(PlotError {
            plot: "histogram",
            message: "the range must be finite with lo < hi".into(),
        });
    }
    let Some(y_max) = max_positive(series.iter().flat_map(|(_, v)| v.iter().copied())) else {
        return no_data("histogram", id, title);
    };
    let edge = |bins: usize, i: usize| lo + (hi - lo) * i as f64 / bins as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE_PX).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(lo..hi, 0.0..y_max * 1.1)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .light_line_style(FINE_GRID)
            .x_desc(x_desc)
            .x_label_formatter(&axis_number(hi - lo))
            .y_label_formatter(&axis_number(y_max))
            .draw()
            .map_err(|e| err(&e))?;
        if let [(_, values)] = series {
            let n = values.len();
            chart
                .draw_series(values.iter().enumerate().filter_map(|(i, v)| {
                    let v = positive(*v)?;
                    let mut bar = Rectangle::new(
                        [(edge(n, i), 0.0), (edge(n, i + 1), v)],
                        MODEL_COLOUR.filled(),
                    );
                    bar.set_margin(0, 0, 1, 1);
                    Some(bar)
                }))
                .map_err(|e| err(&e))?;
        } else {
            for (si, (name, values)) in series.iter().enumerate() {
                let n = values.len();
                let c = colour(si);
                let height = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
                let mut steps = Vec::with_capacity(2 * n + 2);
                steps.push((lo, 0.0));
                for (i, v) in values.iter().enumerate() {
                    steps.push((edge(n, i), height(*v)));
                    steps.push((edge(n, i + 1), height(*v)));
                }
                steps.push((hi, 0.0));
                chart
                    .draw_series(LineSeries::new(steps, c.stroke_width(2)))
                    .map_err(|e| err(&e))?
                    .label(*name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                    });
            }
            legend(&mut chart, SeriesLabelPosition::UpperRight).map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(with_id(svg, id))
}

/// Draws the legend of `chart`'s labelled series at `at`, boxed.
fn legend<'a, 'b: 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, Y>>,
    at: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
}

#[cfg(test)]
mod tests;
