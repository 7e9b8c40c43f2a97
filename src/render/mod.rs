//! HTML pages and SVG plots shared by the model card, the batch report and the live dashboard;
//! no I/O, nothing above `domain`.
//!
//! [`page`] is the self-contained page shell (inline CSS, no script, no load of any kind) with
//! [`page::esc`], [`page::table`] and [`page::figure`]; [`plots`] draws time series, bars and
//! histograms as inline SVG with plotters. Both are pure functions of their inputs.

pub mod page;
pub mod plots;
