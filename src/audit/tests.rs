//! Unit tests of the audit log: the chain, anchors, group commit, torn-tail recovery and the
//! fail-closed rule of both logs.

use super::*;
use std::time::Duration;

fn event(n: u32) -> AuditEvent {
    AuditEvent {
        method: "score".into(),
        request_id: Some(format!("r{n}")),
        decision: Some("allow".into()),
        ..AuditEvent::default()
    }
}

#[test]
fn chain_verifies_resumes_and_names_the_tampered_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a/audit.jsonl");
    {
        let log = AuditLog::open(&path, Duration::ZERO).expect("open");
        for n in 0..3 {
            log.append(&event(n), 1_000 + i64::from(n)).expect("append");
        }
    }
    let log = AuditLog::open(&path, Duration::from_micros(200)).expect("reopen resumes the chain");
    log.append(&event(3), 2_000).expect("append");
    let v = verify(&path).expect("intact");
    assert_eq!(v.records, 4);

    let text = std::fs::read_to_string(&path).expect("read");
    let edited = text.replacen("\"r1\"", "\"r9\"", 1);
    std::fs::write(&path, &edited).expect("write");
    match verify(&path) {
        Err(AuditError::Broken { line, problem, .. }) => {
            assert_eq!(line, 2, "{problem}");
            assert!(problem.contains("edited"), "{problem}");
        }
        other => panic!("expected a broken chain, got {other:?}"),
    }
    let lines: Vec<&str> = text.lines().collect();
    let dropped = [lines[0], lines[2], lines[3]].join("\n") + "\n";
    std::fs::write(&path, dropped).expect("write");
    match verify(&path) {
        Err(AuditError::Broken { line, problem, .. }) => {
            assert_eq!(line, 2, "{problem}");
            assert!(problem.contains("prev"), "{problem}");
        }
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

#[test]
fn an_anchor_catches_a_log_cut_from_its_end_or_rebuilt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path, Duration::ZERO).expect("open");
    for n in 0..4 {
        log.append(&event(n), 10).expect("append");
    }
    let head = log.head();
    assert_eq!(head, verify(&path).expect("intact"));
    assert_eq!(head.records, 4);
    drop(log);
    assert_eq!(verify_anchored(&path, Some(&head)).expect("ok"), head);
    // Cut the last record: the chain alone still verifies, the anchor does not.
    let text = std::fs::read_to_string(&path).expect("read");
    let cut: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, &cut).expect("write");
    assert_eq!(verify(&path).expect("chain intact").records, 3);
    match verify_anchored(&path, Some(&head)) {
        Err(AuditError::Broken { line, problem, .. }) => {
            assert_eq!(line, 4, "{problem}");
            assert!(problem.contains("cut from its end"), "{problem}");
        }
        other => panic!("expected a cut log, got {other:?}"),
    }
    // A fresh chain of four records in place of the old one: the anchor's hash differs.
    std::fs::remove_file(&path).expect("rm");
    let log = AuditLog::open(&path, Duration::ZERO).expect("open");
    for n in 10..14 {
        log.append(&event(n), 10).expect("append");
    }
    drop(log);
    match verify_anchored(&path, Some(&head)) {
        Err(AuditError::Broken { line, problem, .. }) => {
            assert_eq!(line, 4, "{problem}");
            assert!(problem.contains("anchor"), "{problem}");
        }
        other => panic!("expected a rewritten log, got {other:?}"),
    }
}

#[test]
fn concurrent_appends_all_land_in_one_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let log = std::sync::Arc::new(AuditLog::open(&path, Duration::from_micros(500)).expect("open"));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = std::sync::Arc::clone(&log);
            std::thread::spawn(move || {
                for n in 0..25 {
                    log.append(&event(t * 100 + n), 5).expect("append");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(verify(&path).expect("intact").records, 100);
}

/// Side files beside `path`, by name.
fn side_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .filter(|n| n.contains(".torn-"))
        .collect();
    names.sort();
    names
}

fn write_log(path: &Path, n: u32) -> String {
    let log = AuditLog::open(path, Duration::ZERO).expect("open");
    for i in 0..n {
        log.append(&event(i), 1_000).expect("append");
    }
    drop(log);
    std::fs::read_to_string(path).expect("read")
}

#[test]
fn a_torn_last_line_is_moved_aside_and_the_chain_continues_with_a_recovery_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let whole = write_log(&path, 3);
    let torn = &whole.lines().nth(2).expect("line 3")[..40];
    std::fs::write(&path, format!("{whole}{torn}")).expect("write");
    match verify(&path) {
        Err(AuditError::Broken { line, problem, .. }) => {
            assert_eq!(line, 4, "{problem}");
            assert!(
                problem.contains("torn last line (40 bytes, no newline at its end)"),
                "{problem}"
            );
        }
        other => panic!("expected a torn line, got {other:?}"),
    }

    let log = AuditLog::open(&path, Duration::ZERO).expect("a torn tail is recovered");
    assert_eq!(log.health(), Ok(()));
    assert_eq!(log.head().records, 4, "three records and the recovery");
    log.append(&event(9), 2_000).expect("append");
    drop(log);

    let sides = side_files(dir.path());
    assert_eq!(sides.len(), 1, "{sides:?}");
    assert!(sides[0].starts_with("audit.jsonl.torn-"), "{sides:?}");
    let moved = std::fs::read(dir.path().join(&sides[0])).expect("side file");
    assert_eq!(moved, torn.as_bytes());
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.starts_with(&whole), "whole records kept as they were");
    let recovery = text.lines().nth(3).expect("line 4");
    for want in [
        "\"seq\":4".to_string(),
        "\"method\":\"recovery\"".into(),
        format!("\"moved_aside_file\":\"{}\"", sides[0]),
        "\"moved_aside_bytes\":40".into(),
        format!(
            "\"moved_aside_blake3\":\"{}\"",
            blake3::hash(torn.as_bytes()).to_hex()
        ),
    ] {
        assert!(recovery.contains(&want), "{want} in {recovery}");
    }
    let report = verify_report(&path, None).expect("intact after recovery");
    assert_eq!(report.head.records, 5);
    assert_eq!(
        report.recoveries,
        vec![Recovery {
            record: 4,
            file: sides[0].clone(),
            bytes: 40
        }]
    );
    // Opening again finds nothing to recover and records nothing more.
    let log = AuditLog::open(&path, Duration::ZERO).expect("reopen");
    assert_eq!(log.head().records, 5);
    drop(log);
    assert_eq!(side_files(dir.path()).len(), 1);
}

#[test]
fn only_a_malformed_last_line_is_torn_and_tampering_still_refuses_to_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Zeros and a newline (a crash that extended the file without its data): torn.
    let zeros = dir.path().join("zeros.jsonl");
    let whole = write_log(&zeros, 2);
    std::fs::write(&zeros, format!("{whole}\0\0\0\n")).expect("write");
    let log = AuditLog::open(&zeros, Duration::ZERO).expect("recovered");
    assert_eq!(log.head().records, 3);
    drop(log);
    let report = verify_report(&zeros, None).expect("intact");
    assert_eq!(report.recoveries.len(), 1);
    assert_eq!(report.recoveries[0].bytes, 4);

    let lines: Vec<String> = whole.lines().map(|l| format!("{l}\n")).collect();
    let cases = [
        // A whole last record, edited: tampering, not a tear.
        (
            whole.replacen("\"r1\"", "\"r9\"", 1),
            2,
            "record edited: its hash does not match its content",
        ),
        // A malformed line that is not the last one.
        (
            format!("{}garbage\n{}", lines[0], lines[1]),
            2,
            "not an audit record",
        ),
        // A whole last record from another chain.
        (
            lines[1].clone(),
            1,
            "chain broken: prev does not match the previous record (deleted or reordered records)",
        ),
    ];
    for (i, (text, want_line, want)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.jsonl"));
        std::fs::write(&path, text).expect("write");
        match AuditLog::open(&path, Duration::ZERO) {
            Err(AuditError::Broken { line, problem, .. }) => {
                assert_eq!((line, problem.as_str()), (*want_line, *want), "case {i}");
            }
            Err(e) => panic!("case {i}: {e}"),
            Ok(_) => panic!("case {i}: a tampered log was opened"),
        }
        assert_eq!(std::fs::read_to_string(&path).expect("read"), *text);
    }
    assert_eq!(side_files(dir.path()).len(), 1, "only zeros.jsonl's");
}

#[test]
fn a_side_file_no_recovery_record_names_is_recorded_at_the_next_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    write_log(&path, 2);
    // A recovery interrupted after the side file was written and the log cut back.
    std::fs::write(dir.path().join("audit.jsonl.torn-5"), "abc").expect("write");
    std::fs::write(dir.path().join("other.jsonl.torn-5"), "x").expect("write");
    drop(AuditLog::open(&path, Duration::ZERO).expect("open"));
    drop(AuditLog::open(&path, Duration::ZERO).expect("open again"));
    let report = verify_report(&path, None).expect("intact");
    assert_eq!(report.head.records, 3);
    assert_eq!(
        report.recoveries,
        vec![Recovery {
            record: 3,
            file: "audit.jsonl.torn-5".into(),
            bytes: 3
        }]
    );
}

#[cfg(target_os = "linux")]
#[test]
fn after_a_failed_write_both_logs_refuse_appends_and_say_why() {
    let full = Path::new("/dev/full");
    let log = AuditLog::open(full, Duration::ZERO).expect("open /dev/full");
    assert_eq!(log.health(), Ok(()));
    let err = log.append(&event(1), 5).expect_err("no space").to_string();
    assert!(err.contains("No space left on device"), "{err}");
    let health = log.health().expect_err("unhealthy");
    assert!(
        health.starts_with("appends refused: write or sync failed: No space left on device"),
        "{health}"
    );
    let err = log.append(&event(2), 5).expect_err("refused").to_string();
    assert!(
        err.contains("refusing to append after an earlier failure"),
        "{err}"
    );
    assert_eq!(log.head().records, 0);

    let labels = LabelLog::open(full).expect("open /dev/full");
    assert_eq!(labels.health(), Ok(()));
    let err = labels.append("{}\n").expect_err("no space").to_string();
    assert!(err.contains("No space left on device"), "{err}");
    let health = labels.health().expect_err("unhealthy");
    assert!(
        health.starts_with("appends refused: write or sync failed: No space left on device"),
        "{health}"
    );
    let err = labels.append("{}\n").expect_err("refused").to_string();
    assert!(
        err.contains("refusing to append after an earlier failure"),
        "{err}"
    );
}

#[test]
fn the_label_log_moves_a_torn_last_line_aside_and_appends_whole_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("labels.jsonl");
    std::fs::write(&path, "{\"a\":1}\n{\"b\":").expect("write");
    let labels = LabelLog::open(&path).expect("open");
    labels.append("{\"c\":3}\n").expect("append");
    assert_eq!(labels.health(), Ok(()));
    drop(labels);
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "{\"a\":1}\n{\"c\":3}\n"
    );
    let sides = side_files(dir.path());
    assert_eq!(sides.len(), 1, "{sides:?}");
    assert!(sides[0].starts_with("labels.jsonl.torn-"), "{sides:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join(&sides[0])).expect("side"),
        "{\"b\":"
    );
    // A whole file, and a file with no newline at all, are handled too.
    let labels = LabelLog::open(&path).expect("reopen");
    drop(labels);
    assert_eq!(side_files(dir.path()).len(), 1);
    let one = dir.path().join("one.jsonl");
    std::fs::write(&one, "x".repeat(5000)).expect("write");
    drop(LabelLog::open(&one).expect("open"));
    assert_eq!(std::fs::read(&one).expect("read").len(), 0);
    assert_eq!(side_files(dir.path()).len(), 2);
}

/// A log written before score records carried `device`, `ip`, `country`, `asn`, `channel` and
/// `action` and before `retention` records (`tests/data/audit/before-report-fields.jsonl`:
/// every method of that time, shadow fields, a replay, a failed erasure, list counts).
const GOLDEN: &str = include_str!("../../tests/data/audit/before-report-fields.jsonl");
const GOLDEN_HEAD: &str = "c9826909ad55d9fc8cbc3003351efb0d3eae1db3b7ecdddf37992ebee74f3f2f";

#[test]
fn a_log_written_before_the_report_fields_verifies_reads_and_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, GOLDEN).expect("write");
    let head = verify(&path).expect("the old log verifies");
    assert_eq!((head.records, head.last_hash.as_str()), (7, GOLDEN_HEAD));
    let events: Vec<AuditEvent> = GOLDEN
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("line");
            serde_json::from_value(v["record"].clone()).expect("an old record reads")
        })
        .collect();
    let methods: Vec<&str> = events.iter().map(|e| e.method.as_str()).collect();
    assert_eq!(
        methods,
        [
            "score", "score", "outcome", "export", "erase", "erase", "reload"
        ]
    );
    assert_eq!(events[0].trust_score, Some(57));
    assert_eq!(
        events[0].shadow_model_version.as_deref(),
        Some("candidate-2")
    );
    assert_eq!(events[6].list_entries.get("tor_exit"), Some(&1234));
    for e in &events {
        assert_eq!(
            (&e.device, &e.ip, &e.country, e.asn, &e.channel, &e.action),
            (&None, &None, &None, None, &None, &None),
            "{e:?}"
        );
        assert!(e.deleted.is_empty() && e.pruned.is_empty(), "{e:?}");
    }
    // The chain continues from the old records with new ones.
    let log = AuditLog::open(&path, Duration::ZERO).expect("open the old log");
    let score = AuditEvent {
        device: Some("00112233445566778899aabbccddeeff".into()),
        ip: Some("203.0.113.7".into()),
        country: Some("SE".into()),
        asn: Some(29518),
        channel: Some("web_widget".into()),
        action: Some("login".into()),
        ..event(8)
    };
    log.append(&score, 1_768_035_900_000).expect("append");
    drop(log);
    let head = verify(&path).expect("old and new records verify together");
    assert_eq!(head.records, 8);
    let last = std::fs::read_to_string(&path).expect("read");
    let last = last.lines().last().expect("a line");
    assert!(
        last.contains(&format!("\"prev\":\"{GOLDEN_HEAD}\"")),
        "{last}"
    );
    assert!(
        last.contains("\"device\":\"00112233445566778899aabbccddeeff\",\"ip\":\"203.0.113.7\",\"country\":\"SE\",\"asn\":29518,\"channel\":\"web_widget\",\"action\":\"login\""),
        "{last}"
    );
}

#[test]
fn a_second_writer_on_one_log_is_refused_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let first = AuditLog::open(&path, Duration::ZERO).expect("open");
    first.append(&event(1), 10).expect("append");
    match AuditLog::open(&path, Duration::ZERO) {
        Err(AuditError::InUse { path: p }) => assert_eq!(p, path.display().to_string()),
        Err(e) => panic!("expected InUse, got {e}"),
        Ok(_) => panic!("a second writer opened a log in use"),
    }
    first
        .append(&event(2), 11)
        .expect("the first writer keeps writing");
    drop(first);
    let second = AuditLog::open(&path, Duration::ZERO).expect("free once the first is dropped");
    second.append(&event(3), 12).expect("append");
    drop(second);
    assert_eq!(verify(&path).expect("one chain").records, 3);
}
