//! Known answers for the label log: the outcome → label table, precedence, the join's counts and
//! inserted outcomes, and errors that name file, line and field.

use super::*;
use crate::train::dataset::DatasetDescription;

use OutcomeKind::*;

const T0: i64 = 1_764_547_200_000; // 2025-12-01T00:00:00Z
const MIN: i64 = 60_000;

fn rfc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .expect("in range")
}

fn score(rid: &str, user: &str, at: i64) -> (i64, LogEvent) {
    let json = format!(
        r#"{{"schema":1,"request_id":"{rid}","user_id":"{user}","timestamp":"{}","channel":"sms"}}"#,
        rfc(at)
    );
    let request = crate::domain::ScoreRequest::from_json(&json).expect("request");
    (
        at,
        LogEvent::Score {
            request,
            is_attack: None,
            scenario: "unknown".into(),
        },
    )
}

fn outcome(rid: &str, user: &str, at: i64, kind: OutcomeKind) -> (i64, LogEvent) {
    (
        at,
        LogEvent::Outcome(OutcomeRecord::new(rid, user, &rfc(at), kind)),
    )
}

fn line(rid: &str, kind: OutcomeKind, at: i64) -> LabelLine {
    LabelLine {
        record: LabelRecord::new(rid, "5eed", kind, &rfc(at), at + 7),
        at_ms: at,
    }
}

fn dataset(events: Vec<(i64, LogEvent)>) -> Dataset {
    Dataset {
        events,
        description: DatasetDescription {
            path: "mem".into(),
            ..DatasetDescription::default()
        },
    }
}

#[test]
fn outcome_to_label_table() {
    use FailedChallenge::{Attack, Exclude};
    assert_eq!(
        label_of(ConfirmedFraud, Exclude),
        Some((true, Strength::Confirmed))
    );
    assert_eq!(
        label_of(ConfirmedSafe, Exclude),
        Some((false, Strength::Confirmed))
    );
    for k in [OtpPassed, KbaPassed] {
        assert_eq!(
            label_of(k, Exclude),
            Some((false, Strength::PassedChallenge))
        );
        assert_eq!(
            label_of(k, Attack),
            Some((false, Strength::PassedChallenge))
        );
    }
    for k in [OtpFailed, KbaFailed] {
        assert_eq!(label_of(k, Exclude), None);
        assert_eq!(label_of(k, Attack), Some((true, Strength::FailedChallenge)));
    }
    let m = mapping(Exclude);
    assert_eq!(
        m.into_iter().collect::<Vec<_>>(),
        vec![
            ("confirmed_fraud", "attack"),
            ("confirmed_safe", "genuine"),
            ("kba_failed", "excluded"),
            ("kba_passed", "genuine"),
            ("otp_failed", "excluded"),
            ("otp_passed", "genuine"),
        ]
    );
    assert_eq!(mapping(Attack)["otp_failed"], "attack");
}

#[test]
fn precedence_strongest_then_latest_then_attack() {
    use FailedChallenge::{Attack, Exclude};
    let r = |labels: &[(OutcomeKind, i64)], f| resolve(labels, f);
    // A confirmation beats a passed challenge, whatever the order in time.
    assert_eq!(
        r(&[(OtpPassed, 1), (ConfirmedFraud, 5)], Exclude),
        Some((true, ConfirmedFraud))
    );
    assert_eq!(
        r(&[(ConfirmedFraud, 1), (OtpPassed, 5)], Exclude),
        Some((true, ConfirmedFraud))
    );
    assert_eq!(
        r(&[(OtpFailed, 1), (ConfirmedSafe, 5)], Attack),
        Some((false, ConfirmedSafe))
    );
    // Equal strength: the latest wins; a tie in time goes to attack.
    assert_eq!(
        r(&[(ConfirmedFraud, 1), (ConfirmedSafe, 2)], Exclude),
        Some((false, ConfirmedSafe))
    );
    assert_eq!(
        r(&[(ConfirmedSafe, 2), (ConfirmedFraud, 2)], Exclude),
        Some((true, ConfirmedFraud))
    );
    assert_eq!(
        r(&[(ConfirmedFraud, 2), (ConfirmedSafe, 2)], Exclude),
        Some((true, ConfirmedFraud))
    );
    // A passed challenge beats a failed one, even a later one.
    assert_eq!(
        r(&[(OtpPassed, 1), (KbaFailed, 9)], Attack),
        Some((false, OtpPassed))
    );
    // Failed challenges alone: nothing by default, attack on request.
    assert_eq!(r(&[(OtpFailed, 1), (KbaFailed, 2)], Exclude), None);
    assert_eq!(
        r(&[(OtpFailed, 1), (KbaFailed, 2)], Attack),
        Some((true, KbaFailed))
    );
    assert_eq!(r(&[], Attack), None);
}

#[test]
fn join_labels_counts_and_inserts_missing_outcomes_in_time_order() {
    let events = vec![
        score("r1", "u1", T0),
        score("r2", "u2", T0 + MIN),
        outcome("r1", "u1", T0 + 2 * MIN, OtpPassed),
        score("r3", "u1", T0 + 3 * MIN),
        score("r4", "u2", T0 + 10 * MIN),
    ];
    let log = LabelLog {
        files: vec!["a.jsonl".into()],
        lines: vec![
            line("r1", OtpPassed, T0 + 2 * MIN), // already an outcome row
            line("r2", OtpFailed, T0 + 2 * MIN), // weak: excluded by default
            line("nope", ConfirmedFraud, T0),    // unknown request
            line("r3", ConfirmedSafe, T0 + 10 * MIN), // same ms as r4's score: after it
            line("r1", ConfirmedFraud, T0 + 5 * MIN), // overrides otp_passed
            line("r3", ConfirmedSafe, T0 + 10 * MIN), // duplicate
        ],
    };
    let (ds, sum) = apply(dataset(events), &log, FailedChallenge::Exclude);
    let expected = LabelSummary {
        files: vec!["a.jsonl".into()],
        failed_challenge: FailedChallenge::Exclude,
        lines: 6,
        duplicate_lines: 1,
        unknown_request_lines: 1,
        outcomes_in_event_log: 1,
        outcomes_inserted: 3,
        attack_rows: 1,
        genuine_rows: 1,
        unlabelled_rows: 2,
        multi_label_requests: 1,
        conflicting_requests: 1,
        failed_challenge_only_requests: 1,
        deciding_outcomes: [("confirmed_fraud", 1), ("confirmed_safe", 1)].into(),
    };
    assert_eq!(sum, expected);
    let shown: Vec<(i64, String)> = ds
        .events
        .iter()
        .map(|(ts, ev)| {
            let what = match ev {
                LogEvent::Score {
                    request, is_attack, ..
                } => format!(
                    "score {} {is_attack:?}",
                    request.request_id.as_deref().unwrap_or("-")
                ),
                LogEvent::Outcome(o) => {
                    format!(
                        "outcome {} {} {}",
                        o.request_id,
                        o.user_id,
                        o.outcome.as_str()
                    )
                }
            };
            ((ts - T0) / MIN, what)
        })
        .collect();
    let want: Vec<(i64, String)> = [
        (0, "score r1 Some(true)"),
        (1, "score r2 None"),
        (2, "outcome r1 u1 otp_passed"),
        (2, "outcome r2 u2 otp_failed"),
        (3, "score r3 Some(false)"),
        (5, "outcome r1 u1 confirmed_fraud"),
        (10, "score r4 None"),
        (10, "outcome r3 u1 confirmed_safe"),
    ]
    .into_iter()
    .map(|(m, s)| (m, s.to_string()))
    .collect();
    assert_eq!(shown, want);
}

#[test]
fn failed_challenges_label_attacks_on_request() {
    let events = vec![score("r1", "u1", T0), score("r2", "u1", T0 + MIN)];
    let log = LabelLog {
        files: vec![],
        lines: vec![
            line("r1", OtpFailed, T0 + MIN),
            line("r2", OtpFailed, T0 + 2 * MIN),
            line("r2", OtpPassed, T0 + 3 * MIN),
        ],
    };
    let (ds, sum) = apply(dataset(events), &log, FailedChallenge::Attack);
    let labels: Vec<Option<bool>> = ds
        .events
        .iter()
        .filter_map(|(_, ev)| match ev {
            LogEvent::Score { is_attack, .. } => Some(*is_attack),
            LogEvent::Outcome(_) => None,
        })
        .collect();
    assert_eq!(labels, vec![Some(true), Some(false)]);
    assert_eq!(
        (
            sum.attack_rows,
            sum.genuine_rows,
            sum.conflicting_requests,
            sum.failed_challenge_only_requests
        ),
        (1, 1, 1, 0)
    );
}

#[test]
fn a_bad_line_names_file_line_and_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = line("r1", OtpPassed, T0).record.to_line();
    let good = good.trim_end();
    let path = dir.path().join("labels.jsonl");
    let bad = r#"{"request_id":"r2","user":"5eed","outcome":"otp_maybe","timestamp":"2025-12-01T00:00:00Z","recorded_ms":1}"#;
    std::fs::write(&path, format!("{good}\r\n{good}\n\n{bad}\n{good}")).expect("write");
    let err = read_label_logs(std::slice::from_ref(&path)).expect_err("bad outcome");
    let shown = path.display().to_string();
    match &err {
        LabelError::Line { path, line, source } => {
            assert_eq!(
                (path.as_str(), *line, source.field()),
                (shown.as_str(), 4, "outcome")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().starts_with(&format!(
            "label log {shown}:4: outcome: unknown variant, expected one of"
        )),
        "{err}"
    );

    std::fs::write(&path, format!("{good}\n{{\"request_id\":\"r\"}}\n")).expect("write");
    let err = read_label_logs(std::slice::from_ref(&path)).expect_err("missing fields");
    assert_eq!(
        err.to_string(),
        format!("label log {shown}:2: .: missing field `user`")
    );

    std::fs::write(&path, b"\xff\xfe\n").expect("write");
    let err = read_label_logs(std::slice::from_ref(&path)).expect_err("not UTF-8");
    assert_eq!(
        err.to_string(),
        format!("label log {shown}:1: .: line is not UTF-8")
    );

    let missing = dir.path().join("none.jsonl");
    let err = read_label_logs(&[missing]).expect_err("missing file");
    assert!(matches!(err, LabelError::Io { .. }), "{err:?}");
}

#[test]
fn several_files_are_read_in_order_skipping_blank_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    let la = line("r1", OtpPassed, T0);
    let lb = line("r2", ConfirmedFraud, T0 + MIN);
    std::fs::write(&a, format!("{}\n", la.record.to_line())).expect("write");
    std::fs::write(&b, lb.record.to_line()).expect("write");
    let log = read_label_logs(&[a.clone(), b.clone()]).expect("read");
    assert_eq!(log.lines, vec![la, lb]);
    assert_eq!(
        log.files,
        vec![a.display().to_string(), b.display().to_string()]
    );
}
