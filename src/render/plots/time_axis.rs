//! The time axis of [`super::time_series_svg`]: which unit x is counted in, and the UTC labels.
//! Pure arithmetic on the instants given; never reads the clock.

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A time axis: x is counted in minutes, hours or days since the epoch (by the span), so that
/// plotters' round tick values fall on round UTC times; labelled `HH:MM` up to 2 days, dates
/// above.
#[derive(Debug, Clone, Copy)]
pub(super) struct TimeAxis {
    /// The unit of x, ms.
    unit_ms: i64,
    /// First and last instant shown, ms.
    from_ms: i64,
    to_ms: i64,
    /// Most labels on the axis.
    pub(super) labels: usize,
}

impl TimeAxis {
    /// The axis over the instants `t0 ≤ t1`, ms.
    pub(super) fn over(t0: i64, t1: i64) -> TimeAxis {
        // One instant only: a minute either side, so the axis is a range.
        let (from_ms, to_ms) = if t1 > t0 {
            (t0, t1)
        } else {
            (t0.saturating_sub(MINUTE_MS), t1.saturating_add(MINUTE_MS))
        };
        let span = to_ms.saturating_sub(from_ms);
        let (unit_ms, labels) = if span > 2 * DAY_MS {
            // At most one label a day, so no date repeats.
            let days = usize::try_from(span / DAY_MS).unwrap_or(8);
            (DAY_MS, (days + 1).min(8))
        } else if span > 6 * HOUR_MS {
            (HOUR_MS, 8)
        } else {
            (MINUTE_MS, 7)
        };
        TimeAxis {
            unit_ms,
            from_ms,
            to_ms,
            labels,
        }
    }

    /// The x of the instant `ms`.
    pub(super) fn x(&self, ms: i64) -> f64 {
        ms as f64 / self.unit_ms as f64
    }

    /// The x range shown.
    pub(super) fn range(&self) -> std::ops::Range<f64> {
        self.x(self.from_ms)..self.x(self.to_ms)
    }

    /// The label at `x`: `HH:MM`, or a date on a day axis (UTC).
    pub(super) fn label(&self, x: f64) -> String {
        let format = if self.unit_ms == DAY_MS {
            "%Y-%m-%d"
        } else {
            "%H:%M"
        };
        chrono::DateTime::from_timestamp_millis((x * self.unit_ms as f64).round() as i64)
            .map_or(String::new(), |t| t.format(format).to_string())
    }
}
