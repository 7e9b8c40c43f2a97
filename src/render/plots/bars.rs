//! Horizontal bars with their labels at the left, the first at the top: the body of
//! [`super::top_bars_svg`] and of the model card's feature-importance plot.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use super::{MODEL_COLOUR, PlotError, SIZE_PX, fail};

/// Horizontal bars of `bars` (label, length) in the order given, the first at the top, labels
/// at the left; the frame grows taller with the bars so labels never overlap. A negative length
/// is drawn by its size; a non-finite one as no bar. Shared by the card's feature importance.
pub(crate) fn horizontal_bars(
    plot: &'static str,
    title: &str,
    x_desc: &str,
    bars: &[(String, f64)],
) -> Result<String, PlotError> {
    let err = fail(plot);
    let n = u32::try_from(bars.len().max(1)).map_err(|_| PlotError {
        plot,
        message: "too many bars".into(),
    })?;
    let x_max = bars
        .iter()
        .map(|b| b.1.abs())
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.1;
    let height = SIZE_PX.1.max(80 + 22 * n);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (SIZE_PX.0 + 120, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(260)
            .build_cartesian_2d(0.0..x_max, (0u32..n).into_segmented())
            .map_err(|e| err(&e))?;
        let label = |v: &SegmentValue<u32>| match v {
            // Largest at the top: segment 0 is drawn at the bottom.
            SegmentValue::CenterOf(k) => n
                .checked_sub(k + 1)
                .and_then(|i| bars.get(i as usize))
                .map_or(String::new(), |b| b.0.clone()),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n as usize)
            .y_label_formatter(&label)
            .x_desc(x_desc)
            .draw()
            .map_err(|e| err(&e))?;
        chart
            .draw_series(
                bars.iter()
                    .enumerate()
                    .filter(|(_, b)| b.1.is_finite())
                    .map(|(i, b)| {
                        let k = n - 1 - i as u32;
                        let mut bar = Rectangle::new(
                            [
                                (0.0, SegmentValue::Exact(k)),
                                (b.1.abs(), SegmentValue::Exact(k + 1)),
                            ],
                            MODEL_COLOUR.filled(),
                        );
                        bar.set_margin(3, 3, 0, 0);
                        bar
                    }),
            )
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
