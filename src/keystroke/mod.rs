//! Keystroke dynamics for a fixed text: timing vectors ([`Samples`]), the benchmark loader
//! ([`data`]), anomaly detectors that fit a template on enrolment samples and score one sample
//! against it ([`detector`]), the metrics of the CMU protocol ([`metrics`]) and the protocol
//! itself ([`eval`]).
//!
//! Everything here is pure computation over timing vectors: no store, no engine, no I/O except
//! [`data::load`] reading a benchmark file and [`plot`] writing an SVG. Detectors never see
//! impostor data while fitting, and their parameters are constants, the same for every data set.

pub mod data;
pub mod detector;
pub mod digraph;
pub mod eval;
pub mod free_data;
pub mod free_eval;
mod fusion;
mod linalg;
mod mahalanobis;
pub mod metrics;
pub mod plot;
#[cfg(test)]
mod tests;
pub mod verifier;

pub use data::{Dataset, Subject};
pub use detector::{Detector, Scratch, Template, detectors};
pub use eval::{EvalOptions, EvalReport};

use std::path::PathBuf;

/// Why loading, fitting or evaluating keystroke data failed. Line and column numbers are 1-based,
/// as an editor shows them; no message quotes more of the file than the offending field.
#[derive(Debug, thiserror::Error)]
pub enum KeystrokeError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// File at fault.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The file has no header line.
    #[error("empty file: no header line")]
    Empty,
    /// The header does not start with a `subject` column.
    #[error("line 1, column 1: expected a `subject` column, found `{found}`")]
    NoSubjectColumn {
        /// What the first header field was (truncated to 40 characters).
        found: String,
    },
    /// The header has no timing column after `subject` (and optional `sessionIndex`, `rep`).
    #[error("line 1: no timing columns after `subject`")]
    NoTimingColumns,
    /// A data line has the wrong number of fields.
    #[error("line {line}: expected {expected} fields as in the header, found {found}")]
    FieldCount {
        /// Line number.
        line: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields on this line.
        found: usize,
    },
    /// A timing field is not a finite number.
    #[error("line {line}, column {column} (`{name}`): `{value}` is not a finite number")]
    BadNumber {
        /// Line number.
        line: usize,
        /// Column number.
        column: usize,
        /// Header name of the column.
        name: String,
        /// The field (truncated to 40 characters).
        value: String,
    },
    /// A data line has an empty subject id.
    #[error("line {line}, column 1 (`subject`): empty subject id")]
    EmptySubject {
        /// Line number.
        line: usize,
    },
    /// The protocol needs at least two subjects (one genuine, one impostor).
    #[error("need at least 2 subjects, found {found}")]
    TooFewSubjects {
        /// Subjects in the file.
        found: usize,
    },
    /// A subject has too few repetitions for the requested split.
    #[error(
        "subject `{subject}` has {reps} repetitions: too few to train on {train} and test on the rest"
    )]
    TooFewReps {
        /// Subject id.
        subject: String,
        /// Repetitions in the file.
        reps: usize,
        /// Repetitions the split would train on.
        train: usize,
    },
    /// A detector was given too few enrolment samples.
    #[error("{detector}: needs at least {needed} enrolment samples, got {got}")]
    EnrolmentTooSmall {
        /// Detector name.
        detector: &'static str,
        /// Minimum.
        needed: usize,
        /// Given.
        got: usize,
    },
    /// A sample's length differs from the template's.
    #[error("sample has {got} timings, template expects {expected}")]
    SampleLength {
        /// Timings in the template.
        expected: usize,
        /// Timings in the sample.
        got: usize,
    },
    /// An option is out of range.
    #[error("{option}: {problem}")]
    BadOption {
        /// Option name, as on the command line.
        option: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A line of a free-text typing file is malformed (never quotes the value).
    #[error("line {line}, field `{field}`: {problem}")]
    BadLine {
        /// Line number.
        line: usize,
        /// Field path within the line (`ev[3][1]`), or `(line)`.
        field: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// Writing the plot failed.
    #[error("plot {path}: {message}")]
    Plot {
        /// File being written.
        path: PathBuf,
        /// Backend message.
        message: String,
    },
}

/// Timing vectors of one subject (or any set of samples), row-major: `n_samples` rows of
/// `n_features` timings each, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    values: Vec<f64>,
    n_features: usize,
}

impl Samples {
    /// An empty set of samples with `n_features` timings each.
    pub fn new(n_features: usize) -> Self {
        Self {
            values: Vec::new(),
            n_features,
        }
    }

    /// Builds from row-major values; `None` when `values.len()` is not a multiple of
    /// `n_features` or `n_features` is 0.
    pub fn from_rows(values: Vec<f64>, n_features: usize) -> Option<Self> {
        (n_features > 0 && values.len().is_multiple_of(n_features))
            .then_some(Self { values, n_features })
    }

    /// Appends one sample; `false` (and nothing appended) when its length is wrong.
    pub fn push(&mut self, row: &[f64]) -> bool {
        if row.len() != self.n_features {
            return false;
        }
        self.values.extend_from_slice(row);
        true
    }

    /// Timings per sample.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.n_features).unwrap_or(0)
    }

    /// True when there is no sample.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Sample `i`, or `None` past the end.
    pub fn row(&self, i: usize) -> Option<&[f64]> {
        let start = i.checked_mul(self.n_features)?;
        self.values.get(start..start + self.n_features)
    }

    /// The samples in order.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, f64> {
        self.values.chunks_exact(self.n_features.max(1))
    }

    /// Samples `range` (clamped to the available ones) as a new set.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Samples {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        Samples {
            values: self.values[start * self.n_features..end * self.n_features].to_vec(),
            n_features: self.n_features,
        }
    }

    /// All samples except number `skip`.
    pub fn without(&self, skip: usize) -> Samples {
        let mut out = Samples::new(self.n_features);
        for (i, r) in self.rows().enumerate() {
            if i != skip {
                out.push(r);
            }
        }
        out
    }

    /// Feature `j` of every sample, in order.
    pub fn column(&self, j: usize) -> impl Iterator<Item = f64> + '_ {
        self.rows().filter_map(move |r| r.get(j).copied())
    }
}
