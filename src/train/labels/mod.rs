//! The label log as training labels: [`read_label_logs`] reads the JSON lines `tessera serve`
//! appends for every verified outcome ([`LabelRecord`]), and [`apply`] joins them to an event log
//! by `request_id`.
//!
//! **Outcome → label** ([`label_of`]), strongest evidence first:
//!
//! | outcome                      | label                  | strength           |
//! |------------------------------|------------------------|--------------------|
//! | `confirmed_fraud`            | attack                 | confirmed          |
//! | `confirmed_safe`             | genuine                | confirmed          |
//! | `otp_passed`, `kba_passed`   | genuine                | passed challenge   |
//! | `otp_failed`, `kba_failed`   | none (default) or attack with [`FailedChallenge::Attack`] | failed challenge |
//!
//! A failed challenge is weak evidence: genuine customers mistype codes and forget answers, and
//! the broker reports the failure before anyone knows who it was. By default it labels nothing.
//!
//! **Several labels for one request:** the strongest wins (a confirmation beats a passed
//! challenge, which beats a failed one: `confirmed_fraud` overrides `otp_passed`); among equally
//! strong labels the latest `timestamp` wins; a tie in time goes to attack.
//!
//! **Join and replay.** Only score rows of the event log can be labelled; label lines naming any
//! other request id are counted, not errors. Requests without a label stay in the replay (their
//! history counts) but are not fitted. Each label line is also an outcome the server applied to
//! the profiles, so those not already in the event log as outcome rows (same request, outcome and
//! timestamp) are inserted as outcome events at their `timestamp` (after events of the same
//! millisecond), with the user id of the scored request: replay then learns what the live profiles
//! learned, when they learned it. Repeated identical lines count once. The `user` pseudonym and
//! `recorded_ms` are not used: the pseudonym key is the server's secret.
//!
//! This module never fails on a label's content beyond its syntax: errors are about lines that do
//! not parse ([`LabelError::Line`], naming file, 1-based line and field), never about the join.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::path::PathBuf;

use serde::Serialize;

use super::dataset::{Dataset, LogEvent};
use crate::domain::{InputError, LabelRecord, OutcomeKind, OutcomeRecord};

/// Why a label log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// The file cannot be opened or read.
    #[error("label log {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not a label record; `source` names the field (values are never echoed).
    #[error("label log {path}:{line}: {source}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong, naming the field.
        source: InputError,
    },
}

/// How failed OTP/KBA challenges count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailedChallenge {
    /// Weak evidence: labels nothing (the default).
    #[default]
    Exclude,
    /// Counts as an attack (below any passed challenge or confirmation).
    Attack,
}

/// How strong a label's evidence is; stronger labels override weaker ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    /// `otp_failed`, `kba_failed`.
    FailedChallenge,
    /// `otp_passed`, `kba_passed`.
    PassedChallenge,
    /// `confirmed_fraud`, `confirmed_safe`.
    Confirmed,
}

/// The training label an outcome gives (`true` = attack) and its strength; `None` when the
/// outcome labels nothing under `failed`.
pub fn label_of(kind: OutcomeKind, failed: FailedChallenge) -> Option<(bool, Strength)> {
    match kind {
        OutcomeKind::ConfirmedFraud => Some((true, Strength::Confirmed)),
        OutcomeKind::ConfirmedSafe => Some((false, Strength::Confirmed)),
        OutcomeKind::OtpPassed | OutcomeKind::KbaPassed => Some((false, Strength::PassedChallenge)),
        OutcomeKind::OtpFailed | OutcomeKind::KbaFailed => match failed {
            FailedChallenge::Exclude => None,
            FailedChallenge::Attack => Some((true, Strength::FailedChallenge)),
        },
    }
}

/// The mapping in force, outcome name → `attack`, `genuine` or `excluded` (for the model card).
pub fn mapping(failed: FailedChallenge) -> BTreeMap<&'static str, &'static str> {
    [
        OutcomeKind::ConfirmedFraud,
        OutcomeKind::ConfirmedSafe,
        OutcomeKind::OtpPassed,
        OutcomeKind::KbaPassed,
        OutcomeKind::OtpFailed,
        OutcomeKind::KbaFailed,
    ]
    .into_iter()
    .map(|k| {
        let label = match label_of(k, failed) {
            Some((true, _)) => "attack",
            Some((false, _)) => "genuine",
            None => "excluded",
        };
        (k.as_str(), label)
    })
    .collect()
}

/// One parsed label line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelLine {
    /// The record as written by the server.
    pub record: LabelRecord,
    /// Its `timestamp`, ms since the Unix epoch.
    pub at_ms: i64,
}

/// The label logs read, in file order then line order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelLog {
    /// The files, as given.
    pub files: Vec<String>,
    /// Every non-blank line.
    pub lines: Vec<LabelLine>,
}

/// Reads the label logs at `paths` in order. Blank lines (and a trailing `\r`) are skipped;
/// anything else must be a [`LabelRecord`] line.
pub fn read_label_logs(paths: &[PathBuf]) -> Result<LabelLog, LabelError> {
    let mut log = LabelLog::default();
    for path in paths {
        let shown = path.display().to_string();
        let io = |source| LabelError::Io {
            path: shown.clone(),
            source,
        };
        let mut reader = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
        let mut buf = Vec::new();
        let mut line_no = 0;
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf).map_err(io)? == 0 {
                break;
            }
            line_no += 1;
            let bad = |source| LabelError::Line {
                path: shown.clone(),
                line: line_no,
                source,
            };
            let text = std::str::from_utf8(&buf)
                .map_err(|_| bad(InputError::invalid(".", "line is not UTF-8")))?
                .trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            let (record, at_ms) = LabelRecord::parse(text).map_err(bad)?;
            log.lines.push(LabelLine { record, at_ms });
        }
        log.files.push(shown);
    }
    Ok(log)
}

/// What the join did; recorded in the training report, the metrics and the model card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LabelSummary {
    /// The label logs read.
    pub files: Vec<String>,
    /// How failed challenges counted.
    pub failed_challenge: FailedChallenge,
    /// Non-blank lines read.
    pub lines: usize,
    /// Lines repeating an earlier line's request, outcome and timestamp (counted once).
    pub duplicate_lines: usize,
    /// Lines whose `request_id` is no score row of the event log (ignored).
    pub unknown_request_lines: usize,
    /// Lines already present as outcome rows of the event log (replayed once, from there).
    pub outcomes_in_event_log: usize,
    /// Lines replayed as outcome events because the event log lacked them.
    pub outcomes_inserted: usize,
    /// Score rows labelled attack.
    pub attack_rows: usize,
    /// Score rows labelled genuine.
    pub genuine_rows: usize,
    /// Score rows without a label (replayed, not fitted).
    pub unlabelled_rows: usize,
    /// Labelled requests with more than one distinct label, settled by precedence.
    pub multi_label_requests: usize,
    /// Requests whose labels point both ways (attack and genuine evidence); settled by
    /// precedence and included in `multi_label_requests`.
    pub conflicting_requests: usize,
    /// Requests whose only labels are failed challenges excluded by [`FailedChallenge::Exclude`].
    pub failed_challenge_only_requests: usize,
    /// Labelled score rows per deciding outcome.
    pub deciding_outcomes: BTreeMap<&'static str, usize>,
}

/// The label of one request from all its labels `(outcome, at_ms)`: strongest, then latest, then
/// attack; `None` when none of them labels anything.
pub fn resolve(
    labels: &[(OutcomeKind, i64)],
    failed: FailedChallenge,
) -> Option<(bool, OutcomeKind)> {
    labels
        .iter()
        .filter_map(|&(kind, at)| label_of(kind, failed).map(|(attack, s)| ((s, at, attack), kind)))
        .max_by_key(|(key, _)| *key)
        .map(|((_, _, attack), kind)| (attack, kind))
}

/// Joins `log` to the score rows of `ds` by `request_id`: sets every score row's `is_attack` to
/// its resolved label (`None` when it has none) and inserts the label lines missing from the
/// event log as outcome events, keeping time order. See the module docs for the rules.
pub fn apply(mut ds: Dataset, log: &LabelLog, failed: FailedChallenge) -> (Dataset, LabelSummary) {
    let mut sum = LabelSummary {
        files: log.files.clone(),
        failed_challenge: failed,
        lines: log.lines.len(),
        ..LabelSummary::default()
    };
    // request id → user id of its (first) score row; outcome rows already in the event log.
    let mut users: HashMap<&str, &str> = HashMap::new();
    let mut present: HashSet<(&str, OutcomeKind, i64)> = HashSet::new();
    for (ts, ev) in &ds.events {
        match ev {
            LogEvent::Score { request, .. } => {
                if let Some(rid) = request.request_id.as_deref() {
                    users.entry(rid).or_insert(request.user_id.as_str());
                }
            }
            LogEvent::Outcome(rec) => {
                present.insert((rec.request_id.as_str(), rec.outcome, *ts));
            }
        }
    }
    let mut seen: HashSet<(&str, OutcomeKind, i64)> = HashSet::new();
    let mut per_request: HashMap<&str, Vec<(OutcomeKind, i64)>> = HashMap::new();
    let mut inserted: Vec<(i64, LogEvent)> = Vec::new();
    for LabelLine { record, at_ms } in &log.lines {
        let key = (record.request_id.as_str(), record.outcome, *at_ms);
        if !seen.insert(key) {
            sum.duplicate_lines += 1;
            continue;
        }
        let Some(user_id) = users.get(key.0) else {
            sum.unknown_request_lines += 1;
            continue;
        };
        per_request
            .entry(key.0)
            .or_default()
            .push((record.outcome, *at_ms));
        if present.contains(&key) {
            sum.outcomes_in_event_log += 1;
        } else {
            sum.outcomes_inserted += 1;
            let rec = OutcomeRecord::new(key.0, user_id, &record.timestamp, record.outcome);
            inserted.push((*at_ms, LogEvent::Outcome(rec)));
        }
    }
    let mut resolved: HashMap<&str, bool> = HashMap::new();
    for (rid, labels) in &per_request {
        let used: Vec<bool> = labels
            .iter()
            .filter_map(|&(k, _)| label_of(k, failed).map(|(attack, _)| attack))
            .collect();
        match resolve(labels, failed) {
            Some((attack, kind)) => {
                resolved.insert(rid, attack);
                *sum.deciding_outcomes.entry(kind.as_str()).or_default() += 1;
                sum.multi_label_requests += usize::from(labels.len() > 1);
                sum.conflicting_requests +=
                    usize::from(used.contains(&true) && used.contains(&false));
            }
            None => sum.failed_challenge_only_requests += 1,
        }
    }
    for (_, ev) in &mut ds.events {
        if let LogEvent::Score {
            request, is_attack, ..
        } = ev
        {
            *is_attack = request
                .request_id
                .as_deref()
                .and_then(|rid| resolved.get(rid).copied());
            match *is_attack {
                Some(true) => sum.attack_rows += 1,
                Some(false) => sum.genuine_rows += 1,
                None => sum.unlabelled_rows += 1,
            }
        }
    }
    if !inserted.is_empty() {
        inserted.sort_by_key(|(at, _)| *at); // stable: file and line order within a millisecond
        let old = std::mem::take(&mut ds.events);
        let mut extra = inserted.into_iter().peekable();
        ds.events.reserve(old.len() + extra.len());
        for (ts, ev) in old {
            while let Some(e) = extra.next_if(|(at, _)| *at < ts) {
                ds.events.push(e);
            }
            ds.events.push((ts, ev));
        }
        ds.events.extend(extra);
    }
    (ds, sum)
}

#[cfg(test)]
mod tests;
