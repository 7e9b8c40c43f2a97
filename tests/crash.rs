//! Nothing acknowledged is lost when the real `tessera serve` process is stopped: by SIGTERM
//! (how systemd, Docker and Kubernetes stop a service: graceful, exit 0) or by SIGKILL (a crash).
//! 50 users score from one IP and each answer is acknowledged; after a restart on the same data
//! directory every outcome finds its pending evidence and the IP's velocity is still counted.
//! After the graceful stop, the retention sweep the server ran at start-up is in the audit log.

mod common;

use std::path::Path;

use common::process::start;
use serde_json::{Value, json};

const IP: &str = "31.0.12.34";
const USERS: usize = 50;

fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

fn score_request(i: usize) -> Value {
    json!({
        "schema": 1, "request_id": format!("crash-{i}"), "user_id": format!("user-{i}"),
        "timestamp": now(), "channel": "web_widget", "network": {"ip": IP},
        "device": {"id": format!("phone-{i}"), "platform": "iOS", "timezone": "Europe/Paris",
                   "languages": ["fr-FR"]},
        "auth": {"failed_attempts": 0}
    })
}

/// Scores `USERS` users from one IP (each answer acknowledged), stops the server with `signal`,
/// restarts it and checks that nothing acknowledged was lost.
fn acknowledged_work_survives(signal: &str, want_exit: Option<i32>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path());
    let mut answers = Vec::new();
    for i in 0..USERS {
        let (status, resp) = server.post("/v1/score", &score_request(i));
        assert_eq!(status, 200, "score {i}: {resp}");
        answers.push(resp);
    }
    let status = server.stop(signal);
    assert_eq!(
        status.code(),
        want_exit,
        "exit after kill {signal}: {status}"
    );
    if want_exit == Some(0) {
        start_up_sweep_was_audited(dir.path());
    }

    let server = start(dir.path());
    for (i, resp) in answers.iter().enumerate() {
        let mut outcome = json!({"kind": "outcome", "request_id": format!("crash-{i}"),
            "user_id": format!("user-{i}"), "timestamp": now(), "outcome": "otp_passed"});
        if let Some(receipt) = resp.get("receipt") {
            outcome["receipt"] = receipt.clone();
        }
        let (status, body) = server.post("/v1/outcomes", &outcome);
        assert_eq!(status, 200, "outcome {i} after kill {signal}: {body}");
        assert_eq!(body["effect"], "learned", "outcome {i}: {body}");
    }
    let (status, resp) = server.post("/v1/score", &score_request(USERS));
    assert_eq!(status, 200, "{resp}");
    let velocity = resp["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .find(|r| r["code"] == "ip_velocity")
        .unwrap_or_else(|| panic!("no ip_velocity after kill {signal}: {resp}"));
    let count = (USERS + 1) as f64;
    assert_eq!(
        velocity["detail"]["attempts_1h"],
        json!(count),
        "{velocity}"
    );
    assert_eq!(
        velocity["detail"]["distinct_users_1h"],
        json!(count),
        "{velocity}"
    );
}

/// After a graceful stop: the retention sweep the server ran at start-up (an hour's interval
/// by default, so only that one) is in the audit log, with nothing to delete from a store
/// younger than every window, and the chain is intact.
fn start_up_sweep_was_audited(dir: &Path) {
    let audit = dir.join("tessera-data/audit.jsonl");
    let head = tessera::audit::verify(&audit).expect("intact chain");
    assert_eq!(
        head.records,
        USERS as u64 + 1,
        "{USERS} scores and one sweep"
    );
    let text = std::fs::read_to_string(&audit).expect("audit log");
    let sweeps: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("line")["record"].clone())
        .filter(|r| r["method"] == "retention")
        .collect();
    assert_eq!(sweeps.len(), 1, "{sweeps:?}");
    let zeros = json!({"profile": 0, "user_activity": 0, "device": 0, "ip": 0, "pending": 0,
                       "population": 0});
    assert_eq!(sweeps[0]["deleted"], zeros, "{}", sweeps[0]);
    assert_eq!(sweeps[0]["pruned"], zeros, "{}", sweeps[0]);
}

#[test]
fn sigterm_shuts_down_gracefully_and_keeps_acknowledged_work() {
    acknowledged_work_survives("-TERM", Some(0));
}

#[test]
fn sigkill_right_after_the_answers_keeps_acknowledged_work() {
    acknowledged_work_survives("-KILL", None);
}
