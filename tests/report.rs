//! `tessera report` (the real binary) on an event log with planted patterns: genuine customers
//! from the generator (the plain `genuine` scenario only, so nothing else looks like an
//! attack), plus one credential-stuffing burst, two impossible travels, one device shared by
//! six accounts and one confirmed fraud that was allowed. The report's tables must find exactly
//! those, with the right counts and event ids, and no output may hold a raw id. A second test
//! reports over what a real `tessera serve` process wrote: its audit and label logs.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tessera::gen_data::{self, GenConfig, LogRow, RowKind, Scenario};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
/// The demo geo database's hosting range (Demo Cloud 0, AS64900, Frankfurt).
const HOSTING_IP: &str = "45.0.0.7";
/// Sydney and Tokyo residential ranges of the demo database.
const FAR_IPS: [&str; 2] = ["31.20.7.7", "31.19.8.8"];
const SHARED_DEVICE: &str = "planted-shared-tablet";

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("time")
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// A score row made from a genuine request: same channel, action and device fields, another
/// time, id, user, address and device id, and no typing (a copied sample would be a replay).
fn planted(
    template: &Value,
    ts: i64,
    id: &str,
    user: &str,
    ip: &str,
    device: Option<&str>,
) -> LogRow {
    let mut p = template.clone();
    p["request_id"] = Value::from(id);
    p["user_id"] = Value::from(user);
    p["session_id"] = Value::from(format!("s-{id}"));
    p["timestamp"] = Value::from(iso(ts));
    p["network"] = serde_json::json!({ "ip": ip });
    let obj = p.as_object_mut().expect("object");
    obj.remove("typing");
    match device {
        Some(d) => p["device"]["id"] = Value::from(d),
        None => {
            obj.remove("device");
        }
    }
    LogRow {
        ts_ms: ts,
        kind: RowKind::Score,
        request_id: id.into(),
        user_id: user.into(),
        scenario: Scenario::Genuine,
        is_attack: false,
        payload: p.to_string(),
        channel: p["channel"].as_str().map(str::to_string),
        ip: Some(ip.into()),
    }
}

fn outcome(ts: i64, id: &str, user: &str, kind: &str) -> LogRow {
    LogRow {
        ts_ms: ts,
        kind: RowKind::Outcome,
        request_id: id.into(),
        user_id: user.into(),
        scenario: Scenario::Genuine,
        is_attack: false,
        payload: serde_json::json!({
            "kind": "outcome", "request_id": id, "user_id": user,
            "timestamp": iso(ts), "outcome": kind
        })
        .to_string(),
        channel: None,
        ip: None,
    }
}

fn payload(r: &LogRow) -> Value {
    serde_json::from_str(&r.payload).expect("payload")
}

fn write(rows: &mut [LogRow], path: &Path) {
    rows.sort_by(|a, b| {
        (a.ts_ms, a.kind == RowKind::Outcome, &a.request_id).cmp(&(
            b.ts_ms,
            b.kind == RowKind::Outcome,
            &b.request_id,
        ))
    });
    gen_data::write_parquet(rows, path).expect("write log");
}

fn report(args: &[&str], out: &Path) -> std::process::Output {
    let o = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("report")
        .args(args)
        .arg("--out")
        .arg(out)
        .arg("--dir")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
        .output()
        .expect("run tessera report");
    assert!(
        o.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The rows of `DIR/NAME.csv` as header → value maps.
fn table(dir: &Path, name: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join(format!("{name}.csv"))).expect("csv");
    let headers = r.headers().expect("headers").clone();
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn ids(s: &str) -> BTreeSet<String> {
    s.split(' ')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

struct Planted {
    log: PathBuf,
    stuffing: BTreeSet<String>,
    travel: BTreeSet<String>,
    shared: BTreeSet<String>,
    raw_ids: Vec<String>,
}

/// Genuine background plus every planted pattern but the fraud.
fn plant(dir: &Path) -> (Vec<LogRow>, Planted) {
    let cfg = GenConfig {
        users: 40,
        days: 14,
        seed: 5,
        ..GenConfig::default()
    };
    let mut rows: Vec<LogRow> = gen_data::generate(&cfg)
        .expect("generate")
        .into_iter()
        .filter(|r| r.scenario == Scenario::Genuine)
        .collect();
    let start = cfg.start();
    let scores: Vec<&LogRow> = rows.iter().filter(|r| r.kind == RowKind::Score).collect();
    let template = payload(scores[0]);
    let users: Vec<String> = scores
        .iter()
        .map(|r| r.user_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut raw_ids: Vec<String> = users.clone();
    let mut extra = Vec::new();

    // Two impossible travels: a user verified by OTP, then 30 minutes after passing it, a
    // login from the far side of the world on the same device.
    let mut travel = BTreeSet::new();
    let mut travellers = BTreeSet::new();
    for o in rows
        .iter()
        .filter(|r| r.kind == RowKind::Outcome && r.payload.contains("otp_passed"))
    {
        if travel.len() == 2 {
            break;
        }
        if o.ts_ms < start + 4 * 24 * HOUR || travellers.contains(&o.user_id) {
            continue;
        }
        // From a verified login that had an address (SMS carries none), so there is a
        // verified place to travel from.
        let Some(score) = scores
            .iter()
            .find(|s| s.request_id == o.request_id && s.ip.is_some())
        else {
            continue;
        };
        if score.channel.as_deref() == Some("sms") {
            continue;
        }
        let p = payload(score);
        let device = p["device"]["id"].as_str().map(str::to_string);
        let id = format!("plant-travel-{}", travel.len());
        let at = o.ts_ms + 30 * MINUTE;
        let ip = FAR_IPS[travel.len()];
        extra.push(planted(&p, at, &id, &o.user_id, ip, device.as_deref()));
        if let Some(d) = device {
            raw_ids.push(d);
        }
        travellers.insert(o.user_id.clone());
        travel.insert(id);
    }
    assert_eq!(travel.len(), 2, "two verified logins to travel from");

    // One device on six accounts in one afternoon, each from the account's own address.
    let mut shared = BTreeSet::new();
    let with_ip = users.iter().filter_map(|u| {
        let own = scores.iter().find(|s| &s.user_id == u && s.ip.is_some())?;
        (!travellers.contains(u)).then_some((u, own))
    });
    for (i, (u, own)) in with_ip.take(6).enumerate() {
        let ip = own.ip.clone().expect("ip");
        let id = format!("plant-shared-{i}");
        let at = start + 6 * 24 * HOUR + 13 * HOUR + i as i64 * 20 * MINUTE;
        extra.push(planted(&payload(own), at, &id, u, &ip, Some(SHARED_DEVICE)));
        shared.insert(id);
    }
    raw_ids.push(SHARED_DEVICE.into());

    // Credential stuffing: 25 accounts from one hosting address, 12 s apart, at 03:00.
    let mut stuffing = BTreeSet::new();
    for i in 0..25 {
        let id = format!("plant-stuff-{i:02}");
        let user = format!("victim-{i:02}");
        let at = start + 8 * 24 * HOUR + 3 * HOUR + i * 12_000;
        extra.push(planted(&template, at, &id, &user, HOSTING_IP, None));
        extra.push(outcome(at + MINUTE, &id, &user, "otp_failed"));
        raw_ids.push(user);
        stuffing.insert(id);
    }
    rows.extend(extra);
    let log = dir.join("planted.parquet");
    write(&mut rows, &log);
    (
        rows,
        Planted {
            log,
            stuffing,
            travel,
            shared,
            raw_ids,
        },
    )
}

#[test]
fn the_report_finds_exactly_the_planted_patterns_with_their_counts_and_ids() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut rows, mut p) = plant(dir.path());

    // A confirmed fraud that was allowed: the first request the model allowed on day 10 or
    // later (from a first report over the same log), confirmed as fraud three hours later.
    let first = dir.path().join("first");
    report(&["--events", p.log.to_str().expect("path")], &first);
    let events = table(&first, "events");
    let start = rows.iter().map(|r| r.ts_ms).min().expect("rows");
    let allowed = events
        .iter()
        .find(|e| {
            e["decision"] == "allow"
                && !e["event_id"].starts_with("plant-")
                && chrono::DateTime::parse_from_rfc3339(&e["time"])
                    .expect("time")
                    .timestamp_millis()
                    > start + 10 * 24 * HOUR
        })
        .expect("an allowed genuine request after day 10")
        .clone();
    let fraud_id = allowed["event_id"].clone();
    let fraud_row = rows
        .iter()
        .find(|r| r.request_id == fraud_id && r.kind == RowKind::Score)
        .expect("the allowed request")
        .clone();
    rows.push(outcome(
        fraud_row.ts_ms + 3 * HOUR,
        &fraud_id,
        &fraud_row.user_id,
        "confirmed_fraud",
    ));
    p.log = dir.path().join("planted-fraud.parquet");
    write(&mut rows, &p.log);

    let out = dir.path().join("report");
    report(&["--events", p.log.to_str().expect("path")], &out);

    // The stuffing burst, by address and by network, with exactly its 25 users and ids.
    let bursts = table(&out, "stuffing_bursts");
    assert_eq!(bursts.len(), 2, "{bursts:?}");
    for (b, (by, key)) in bursts.iter().zip([("ip", HOSTING_IP), ("asn", "AS64900")]) {
        assert_eq!((b["by"].as_str(), b["key"].as_str()), (by, key), "{b:?}");
        assert_eq!(b["users"], "25");
        assert_eq!(b["requests"], "25");
        assert_eq!(ids(&b["event_ids"]), p.stuffing);
    }
    // Exactly the two impossible travels, and no other flagged event.
    let flagged = table(&out, "flagged_events");
    let travel: BTreeSet<String> = flagged
        .iter()
        .filter(|f| f["code"] == "impossible_travel")
        .map(|f| f["event_id"].clone())
        .collect();
    let travel_rows: Vec<_> = table(&out, "events")
        .into_iter()
        .filter(|e| e["event_id"].starts_with("plant-travel"))
        .collect();
    assert_eq!(travel, p.travel, "{flagged:?} {travel_rows:?}");
    assert_eq!(flagged.len(), 2, "{flagged:?}");
    // The one shared device, with its six accounts.
    let shared = table(&out, "shared_devices");
    assert_eq!(shared.len(), 1, "{shared:?}");
    assert_eq!(shared[0]["users"], "6");
    assert_eq!(ids(&shared[0]["event_ids"]), p.shared);
    // The allowed fraud is counted as missed, and listed.
    let kpis = table(&out, "kpis");
    let all = kpis.iter().find(|k| k["scope"] == "all").expect("all");
    assert_eq!(all["fraud_confirmed"], "1");
    assert_eq!(all["fraud_missed"], "1");
    assert_eq!(all["fraud_caught"], "0");
    let cases = table(&out, "fraud_cases");
    assert_eq!(cases.len(), 1);
    assert_eq!(
        (cases[0]["fate"].as_str(), cases[0]["event_id"].as_str()),
        ("missed", fraud_id.as_str())
    );
    // Every score is in the events table once; the stuffing requests were all stepped up or
    // denied (no history earns no passive trust).
    let events = table(&out, "events");
    assert_eq!(
        events.len(),
        rows.iter().filter(|r| r.kind == RowKind::Score).count()
    );
    for e in events
        .iter()
        .filter(|e| p.stuffing.contains(&e["event_id"]))
    {
        assert_ne!(e["decision"], "allow", "{e:?}");
    }

    // No raw user or device id in any output, and the page is there.
    p.raw_ids.push(fraud_row.user_id.clone());
    for entry in std::fs::read_dir(&out).expect("out dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read output");
        let text = String::from_utf8_lossy(&bytes);
        for raw in &p.raw_ids {
            assert!(
                !text.contains(raw.as_str()),
                "{} holds a raw id",
                path.display()
            );
        }
    }
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    for id in ["kpis", "over-time", "patterns", "health", "compliance"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "section {id}");
    }
    assert!(html.contains(HOSTING_IP));
    assert_report_renders(&out.join("report.html"), &html);

    // The same log exported as CSV (the dataset's own writer) gives the same tables.
    let csv = dir.path().join("planted-fraud.csv");
    let ds = tessera::train::dataset::read_dataset(&p.log).expect("read log");
    tessera::train::dataset::write_event_log(&ds, &csv).expect("write csv");
    let from_csv = dir.path().join("report-csv");
    report(&["--events", csv.to_str().expect("path")], &from_csv);
    for name in [
        "kpis",
        "stuffing_bursts",
        "flagged_events",
        "shared_devices",
        "events",
    ] {
        let read = |d: &Path| std::fs::read(d.join(format!("{name}.csv"))).expect("table");
        assert!(
            read(&out) == read(&from_csv),
            "{name} differs between Parquet and CSV input"
        );
    }
}

/// The page opens in headless Chromium with no console message, and every plot is laid out and
/// draws its lines or bars.
fn assert_report_renders(page: &Path, html: &str) {
    let loaded = common::browser::load(page);
    assert_eq!(loaded.console, Vec::<String>::new(), "console messages");
    let plots = common::browser::probe(
        html,
        "Array.from(document.querySelectorAll('svg')).map(s => { const r = s.getBoundingClientRect(); \
         return {id: s.id, w: r.width, h: r.height, \
                 line: Array.from(s.querySelectorAll('polyline')).reduce((a, p) => a + p.getTotalLength(), 0), \
                 rects: s.querySelectorAll('rect').length}; })",
    );
    let plots = plots.as_array().expect("array");
    let ids: Vec<&str> = plots.iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "decisions-over-time",
            "challenge-rate-over-time",
            "trust-over-time",
            "decisions-by-channel",
            "decisions-by-action",
            "decisions-by-tenant",
            "top-ips",
            "top-asns",
            "top-countries",
            "top-devices",
            "trust-drift",
            "reason-codes",
        ]
    );
    for p in plots {
        let f = |k: &str| p[k].as_f64().unwrap_or(0.0);
        assert!(f("w") > 200.0 && f("h") > 200.0, "laid out: {p}");
        let id = p["id"].as_str().unwrap_or_default();
        if id.ends_with("over-time") || id == "trust-drift" {
            assert!(f("line") > 100.0, "draws lines: {p}");
        } else {
            assert!(f("rects") >= 3.0, "draws bars: {p}");
        }
    }
}

fn score(
    id: &str,
    user: &str,
    channel: &str,
    action: &str,
    ip: Option<&str>,
    device: Option<&str>,
) -> Value {
    let mut r = serde_json::json!({
        "schema": 1, "request_id": id, "user_id": user,
        "timestamp": chrono::Utc::now().to_rfc3339(), "channel": channel, "action": action,
    });
    if let Some(ip) = ip {
        r["network"] = serde_json::json!({ "ip": ip });
    }
    if let Some(d) = device {
        r["device"] = serde_json::json!({ "id": d, "platform": "iOS", "timezone": "Europe/Paris",
                                          "languages": ["fr-FR"] });
    }
    r
}

#[test]
fn the_report_over_a_served_audit_and_label_log_counts_each_request_once() {
    use common::process::start;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path());
    let mut answers = std::collections::BTreeMap::new();
    let requests = [
        score(
            "srv-a1",
            "alice",
            "web_widget",
            "login",
            Some("31.0.12.34"),
            Some("alice-phone"),
        ),
        score(
            "srv-a2",
            "alice",
            "in_app",
            "view_account",
            Some("31.0.12.34"),
            Some("alice-phone"),
        ),
        score(
            "srv-b1",
            "bob",
            "web_widget",
            "payment",
            Some(HOSTING_IP),
            None,
        ),
        score("srv-c1", "carol", "sms", "login", None, None),
    ];
    for r in &requests {
        let (status, resp) = server.post("/v1/score", r);
        assert_eq!(status, 200, "{resp}");
        answers.insert(r["request_id"].as_str().expect("id").to_string(), resp);
    }
    // An identical retry is answered as the first and must not count twice.
    let (status, _) = server.post("/v1/score", &requests[1]);
    assert_eq!(status, 200);
    let outcome = |id: &str, user: &str, kind: &str| {
        let body = serde_json::json!({"kind": "outcome", "request_id": id, "user_id": user,
            "timestamp": chrono::Utc::now().to_rfc3339(), "outcome": kind,
            "receipt": answers[id]["receipt"]});
        let (status, resp) = server.post("/v1/outcomes", &body);
        assert_eq!(status, 200, "{resp}");
    };
    outcome("srv-a1", "alice", "otp_passed");
    outcome("srv-b1", "bob", "confirmed_fraud");
    let (status, _) = server.send("GET", "/v1/users/alice/profile", None);
    assert_eq!(status, 200);
    let (status, _) = server.send("DELETE", "/v1/users/carol", None);
    assert_eq!(status, 200);
    let (status, head) = server.send("GET", "/v1/audit/head", None);
    assert_eq!(status, 200);
    let head: Value = serde_json::from_str(&head).expect("head");
    let anchor = format!(
        "{}:{}",
        head["records"],
        head["last_hash"].as_str().expect("hash")
    );
    assert!(server.stop("-TERM").success());

    let data = dir.path().join("tessera-data");
    let audit = data.join("audit.jsonl");
    let out = dir.path().join("report");
    report(
        &[
            "--audit",
            audit.to_str().expect("path"),
            "--labels",
            data.join("labels.jsonl").to_str().expect("path"),
            "--anchor",
            &anchor,
        ],
        &out,
    );
    let events = table(&out, "events");
    let got: Vec<(&str, &str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["event_id"].as_str(),
                e["channel"].as_str(),
                e["action"].as_str(),
                e["ip"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("srv-a1", "web_widget", "login", "31.0.12.34"),
            ("srv-a2", "in_app", "view_account", "31.0.12.34"),
            ("srv-b1", "web_widget", "payment", HOSTING_IP),
            ("srv-c1", "sms", "login", ""),
        ]
    );
    for e in &events {
        let want = &answers[&e["event_id"]];
        assert_eq!(e["decision"], want["decision"].as_str().expect("decision"));
        assert_eq!(e["trust"], want["trust_score"].to_string());
        assert_eq!(e["user"].len(), 32, "a pseudonym");
    }
    let bob = events
        .iter()
        .find(|e| e["event_id"] == "srv-b1")
        .expect("bob");
    assert_eq!(
        (bob["country"].as_str(), bob["asn"].as_str()),
        ("DE", "64900")
    );
    // KPIs from the decisions as served and the two outcomes.
    let kpis = table(&out, "kpis");
    let all = kpis.iter().find(|k| k["scope"] == "all").expect("all");
    assert_eq!(all["requests"], "4");
    assert_eq!(all["fraud_confirmed"], "1");
    let a1_challenged = answers["srv-a1"]["decision"] != "allow";
    assert_eq!(
        all["challenged_passed"],
        if a1_challenged { "1" } else { "0" }
    );
    let cases = table(&out, "fraud_cases");
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["event_id"], "srv-b1");
    assert_eq!(
        cases[0]["fate"], "caught",
        "a new user from a hosting address is not allowed"
    );
    // Compliance: the chain and the anchor verified; one erasure, one export, the start-up
    // retention sweep.
    let compliance: std::collections::BTreeMap<String, String> = table(&out, "compliance")
        .into_iter()
        .map(|r| (r["item"].clone(), r["value"].clone()))
        .collect();
    assert_eq!(compliance["chain"], "verified");
    assert_eq!(compliance["anchor"], format!("{anchor} verified"));
    assert_eq!(compliance["erasures"], "1");
    assert_eq!(compliance["exports"], "1");
    assert_eq!(compliance["exports_failed"], "0");
    assert_eq!(compliance["retention_sweeps"], "1");
    for entry in std::fs::read_dir(&out).expect("out") {
        let text = std::fs::read(entry.expect("entry").path()).expect("read");
        let text = String::from_utf8_lossy(&text);
        for raw in ["alice", "bob", "carol", "alice-phone"] {
            assert!(!text.contains(raw), "raw id {raw} in the report");
        }
    }

    // A tampered log: the report still shows what it says, says the chain is broken at the
    // edited line, and exits 1.
    let text = std::fs::read_to_string(&audit).expect("audit");
    let tampered = dir.path().join("tampered.jsonl");
    std::fs::write(&tampered, text.replacen("\"payment\"", "\"login\"", 1)).expect("write");
    let o = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["report", "--audit"])
        .arg(&tampered)
        .arg("--out")
        .arg(dir.path().join("tampered-report"))
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let c = table(&dir.path().join("tampered-report"), "compliance");
    let line = text
        .lines()
        .position(|l| l.contains("\"payment\""))
        .expect("the payment record")
        + 1;
    assert!(
        c[0]["value"].starts_with("BROKEN") && c[0]["value"].contains(&format!("line {line}")),
        "{c:?}"
    );
}

#[test]
fn a_malformed_input_is_refused_naming_file_line_and_column_but_never_the_value() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&std::ffi::OsStr]| {
        let o = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("report")
            .args(args)
            .arg("--out")
            .arg(dir.path().join("out"))
            .output()
            .expect("run");
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    // A label log whose second line has an outcome that is no outcome.
    let audit = dir.path().join("audit.jsonl");
    std::fs::write(&audit, "").expect("write");
    let labels = dir.path().join("labels.jsonl");
    let good = r#"{"tenant":"default","request_id":"r1","user":"00","outcome":"otp_passed","timestamp":"2026-01-01T00:00:00Z","recorded_ms":1}"#;
    std::fs::write(
        &labels,
        format!("{good}\n{}\n", good.replace("otp_passed", "secret-value")),
    )
    .expect("write");
    let (code, err) = run(&[
        "--audit".as_ref(),
        audit.as_os_str(),
        "--labels".as_ref(),
        labels.as_os_str(),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("labels.jsonl: line 2, column "), "{err}");
    assert!(err.contains("outcome"), "names the field: {err}");
    assert!(!err.contains("secret-value"), "{err}");
    // Nothing of a report is left behind by one that failed.
    for f in ["events.csv", "events.parquet", "report.html"] {
        assert!(!dir.path().join("out").join(f).exists(), "{f} left behind");
    }
    // An audit line that does not even read breaks the chain: the report says where reading
    // stopped (field, line) and exits 1, still without the value.
    std::fs::write(
        &audit,
        "{\"record\":{\"seq\":0,\"time_ms\":\"secret-value\",\"method\":\"score\"},\"hash\":\"x\"}\n",
    )
    .expect("write");
    let (code, err) = run(&["--audit".as_ref(), audit.as_os_str()]);
    assert_eq!(code, Some(1), "{err}");
    let c = table(&dir.path().join("out"), "compliance");
    let unread = c
        .iter()
        .find(|r| r["item"] == "unread")
        .expect("unread row");
    assert!(
        unread["value"].contains("line 1") && unread["value"].contains("record.time_ms"),
        "{unread:?}"
    );
    let page = std::fs::read_to_string(dir.path().join("out/report.html")).expect("page");
    assert!(!page.contains("secret-value"));
    // A key of the line's own (an unknown field whose value is cut short) is never named, and
    // a line that is not even UTF-8 stops the reading, not the report.
    for (text, want) in [
        (
            b"{\"record\":{\"time_ms\":1,\"method\":\"score\",\"alice@example.com\":tru}}\n"
                .to_vec(),
            "line 1",
        ),
        (
            b"{\"record\":{\"time_ms\":1,\"method\":\"sc\xff\xfe\"}}\n".to_vec(),
            "not UTF-8",
        ),
    ] {
        std::fs::write(&audit, &text).expect("write");
        let (code, err) = run(&["--audit".as_ref(), audit.as_os_str()]);
        assert_eq!(code, Some(1), "{err}");
        let c = table(&dir.path().join("out"), "compliance");
        let unread = c
            .iter()
            .find(|r| r["item"] == "unread")
            .expect("unread row");
        assert!(unread["value"].contains(want), "{unread:?}");
        assert!(!unread["value"].contains("alice"), "{unread:?}");
    }
    // No file matches.
    let none = dir.path().join("none-*.parquet");
    let (code, err) = run(&["--events".as_ref(), none.as_os_str()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--events: no file matches"), "{err}");
}

#[test]
fn the_rba_layout_reports_its_real_rows() {
    let rba = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/rba/rba-dataset-head.csv");
    assert!(
        rba.exists(),
        "missing {} — CI clones the repo beside ../shared",
        rba.display()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    report(
        &["--events", rba.to_str().expect("path"), "--format", "rba"],
        &out,
    );
    let events = table(&out, "events");
    // Every row of the file is a login attempt, scored once, on the web widget.
    let rows = std::fs::read_to_string(&rba).expect("rba").lines().count() - 1;
    assert_eq!(events.len(), rows);
    assert!(
        events
            .iter()
            .all(|e| e["channel"] == "web_widget" && e["action"] == "login")
    );
    // The file's own ASN answers (the RBA reader's database) reach the rows.
    assert!(
        events.iter().all(|e| !e["asn"].is_empty()),
        "ASNs from the file"
    );
    assert_eq!(events[1]["asn"], "60117");
}
