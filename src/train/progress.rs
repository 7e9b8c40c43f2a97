//! Progress bars for long offline steps (replay, fit, backtest): one [`Progress`] per step,
//! drawn on stderr with indicatif only when stderr is a terminal; hidden when it is piped or
//! redirected (CI logs, tests, `--json` consumers), so output stays byte-for-byte the same.
//! A bar never writes to stdout and never changes what a step computes.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar (or spinner, when the total is unknown) for one step.
///
/// `inc` is an atomic add plus a rate-limited redraw check (indicatif redraws at most 20 times
/// a second), cheap enough to call once per replayed event.
#[derive(Debug, Clone)]
pub struct Progress(ProgressBar);

/// Template of a bar with a known total.
const BAR: &str = "{prefix:>10} [{bar:32}] {human_pos}/{human_len} {per_sec} eta {eta} {msg}";
/// Template of a spinner (unknown total).
const SPINNER: &str = "{prefix:>10} {spinner} {human_pos} {per_sec} {msg}";

impl Progress {
    /// A bar for `step` (e.g. `"replay"`) over `total` items; drawn only when stderr is a
    /// terminal.
    pub fn new(step: &str, total: u64) -> Progress {
        Progress::with_target(step, Some(total), std::io::stderr().is_terminal())
    }

    /// A spinner for `step` when the total is unknown; drawn only when stderr is a terminal.
    pub fn spinner(step: &str) -> Progress {
        Progress::with_target(step, None, std::io::stderr().is_terminal())
    }

    /// A bar that never draws (library callers that want no output).
    pub fn hidden() -> Progress {
        Progress(ProgressBar::hidden())
    }

    fn with_target(step: &str, total: Option<u64>, draw: bool) -> Progress {
        let target = if draw {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let template = if total.is_some() { BAR } else { SPINNER };
        // The templates are constants checked by a test; a bad one falls back to the default.
        let style = ProgressStyle::with_template(template)
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = ProgressBar::with_draw_target(total, target)
            .with_style(style)
            .with_prefix(step.to_string());
        Progress(bar)
    }

    /// True when the bar draws nothing (stderr is not a terminal, or [`Progress::hidden`]).
    pub fn is_hidden(&self) -> bool {
        self.0.is_hidden()
    }

    /// Advances by `n` items.
    pub fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    /// Items done so far.
    pub fn position(&self) -> u64 {
        self.0.position()
    }

    /// Sets the text shown after the counts (e.g. the current phase).
    pub fn set_message(&self, msg: impl Into<String>) {
        self.0.set_message(msg.into());
    }

    /// Ends the step and removes the bar from the terminal.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse() {
        assert!(ProgressStyle::with_template(BAR).is_ok());
        assert!(ProgressStyle::with_template(SPINNER).is_ok());
    }

    #[test]
    fn a_bar_counts_even_when_hidden() {
        // Under `cargo test` stderr is captured, not a terminal: the bar must not draw.
        let p = Progress::with_target("replay", Some(10), false);
        assert!(p.is_hidden());
        p.inc(3);
        p.inc(4);
        assert_eq!(p.position(), 7);
        p.finish();
        assert_eq!(Progress::hidden().position(), 0);
    }
}
