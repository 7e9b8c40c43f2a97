//! Trust a caller cannot forge: each attack of the issue "Trust a caller cannot forge", tried
//! with a valid API key against a real `tessera serve` (in-process, loopback), must fail.
//! Planted evidence under a predicted request id, cross-tenant access, back-dating, replayed
//! failures. (Changes made before their records, full disks, signals and crashes are tried
//! against the real process in `tests/disk.rs` and `tests/crash.rs`.)

mod common;

use common::http::{ADMIN_KEY, Server, codes, key, start, ts};
use serde_json::{Value, json};

const PARIS_IP: &str = "31.0.12.34";
const NEW_YORK_IP: &str = "31.11.0.77";
/// Broker of tenant `acme`: score + outcomes.
const ACME: &str = "acme-broker-key-0123456789";
/// An attacker's key of tenant `acme` with the score scope only.
const ACME_SCORE: &str = "acme-score-only-key-012345";
/// Tenant `globex`: every scope.
const GLOBEX: &str = "globex-all-scopes-key-01234";

fn server() -> Server {
    start(|cfg, _| {
        cfg.server.keys.push(key(
            "acme-broker",
            "acme",
            &["score", "outcomes", "admin"],
            ACME,
        ));
        cfg.server
            .keys
            .push(key("acme-scorer", "acme", &["score"], ACME_SCORE));
        cfg.server.keys.push(key(
            "globex",
            "globex",
            &["score", "outcomes", "admin"],
            GLOBEX,
        ));
    })
}

fn login(id: &str, user: &str, ip: &str, device: &str, tz: &str) -> Value {
    json!({
        "schema": 1, "request_id": id, "user_id": user, "timestamp": ts(0),
        "channel": "web_widget",
        "network": {"ip": ip},
        "device": {"id": device, "platform": "iOS", "timezone": tz,
                   "languages": ["fr-FR"], "screen": "390x844", "webdriver": false,
                   "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148"},
        "auth": {"failed_attempts": 0}
    })
}

fn paris(id: &str, user: &str) -> Value {
    login(id, user, PARIS_IP, &format!("{user}-phone"), "Europe/Paris")
}

fn outcome(id: &str, user: &str, kind: &str, receipt: Option<&Value>) -> Value {
    let mut o = json!({"kind": "outcome", "request_id": id, "user_id": user,
                       "timestamp": ts(0), "outcome": kind});
    if let Some(r) = receipt {
        o["receipt"] = r.clone();
    }
    o
}

/// Scores `req` with `key`, expects 200, passes OTP on it with its receipt.
fn verified(s: &Server, key: &str, req: &Value) -> Value {
    let r = s.post("/v1/score", key, req);
    assert_eq!(r.status, 200, "{}", r.body);
    let answer = r.json();
    let id = req["request_id"].as_str().expect("id");
    let user = req["user_id"].as_str().expect("user");
    let o = s.post(
        "/v1/outcomes",
        key,
        &outcome(id, user, "otp_passed", Some(&answer["receipt"])),
    );
    assert_eq!(o.status, 200, "{}", o.body);
    assert_eq!(o.json()["effect"], "learned");
    answer
}

fn enrol(s: &Server, key: &str, user: &str, n: usize) {
    for i in 0..n {
        verified(s, key, &paris(&format!("{user}-enrol-{i}"), user));
    }
}

fn export(s: &Server, key: &str, user: &str) -> (u16, Value) {
    let r = s.get(&format!("/v1/users/{user}/profile"), Some(key));
    let body = if r.status == 200 {
        r.json()
    } else {
        json!(null)
    };
    (r.status, body)
}

#[test]
fn evidence_planted_under_a_predicted_id_is_never_taught() {
    let s = server();
    enrol(&s, ACME, "alice", 3);
    // The attacker predicts the broker's next id and plants his device and city under it.
    let planted = s.post(
        "/v1/score",
        ACME_SCORE,
        &login(
            "chat-42",
            "alice",
            NEW_YORK_IP,
            "mallory-laptop",
            "America/New_York",
        ),
    );
    assert_eq!(planted.status, 200, "{}", planted.body);
    let planted_receipt = planted.json()["receipt"].clone();
    // The broker's genuine request under that id is refused, not silently dropped.
    let genuine = s.post("/v1/score", ACME, &paris("chat-42", "alice"));
    assert_eq!(genuine.status, 409, "{}", genuine.body);
    assert_eq!(genuine.json()["error"]["field"], "request_id");
    // An outcome for that id teaches nothing without the answer's receipt…
    let bare = s.post(
        "/v1/outcomes",
        ACME,
        &outcome("chat-42", "alice", "otp_passed", None),
    );
    assert_eq!(bare.status, 422, "{}", bare.body);
    assert_eq!(bare.json()["error"]["field"], "receipt");
    // …nor with a receipt of another answer.
    let fresh = s.post("/v1/score", ACME, &paris("chat-43", "alice")).json();
    let wrong = s.post(
        "/v1/outcomes",
        ACME,
        &outcome("chat-42", "alice", "otp_passed", Some(&fresh["receipt"])),
    );
    assert_eq!(wrong.status, 409, "{}", wrong.body);
    assert_eq!(wrong.json()["error"]["field"], "receipt");
    // The receipt the attacker holds does not teach another request either.
    let stolen = s.post(
        "/v1/outcomes",
        ACME,
        &outcome("chat-43", "alice", "otp_passed", Some(&planted_receipt)),
    );
    assert_eq!(stolen.status, 409, "{}", stolen.body);
    // The genuine retry under a new id, verified with its own receipt, teaches Paris and the phone.
    let o = s.post(
        "/v1/outcomes",
        ACME,
        &outcome("chat-43", "alice", "otp_passed", Some(&fresh["receipt"])),
    );
    assert_eq!(o.status, 200, "{}", o.body);
    let (_, p) = export(&s, ACME, "alice");
    assert_eq!(p["profile"]["verified_count"], 4, "{p}");
    assert_eq!(
        p["profile"]["devices"].as_array().map(Vec::len),
        Some(1),
        "{p}"
    );
    // The attacker's next login from his own device is a stranger's.
    let next = s
        .post(
            "/v1/score",
            ACME_SCORE,
            &login(
                "chat-44",
                "alice",
                NEW_YORK_IP,
                "mallory-laptop",
                "America/New_York",
            ),
        )
        .json();
    assert!(codes(&next).contains(&"new_device".to_string()), "{next}");
    assert!(
        !codes(&next).contains(&"trusted_device".to_string()),
        "{next}"
    );
    assert_ne!(next["decision"], "allow", "{next}");
}

#[test]
fn an_identical_retry_answers_as_the_first_did_and_counts_once() {
    let s = server();
    let first = s.post("/v1/score", ACME, &paris("retry-1", "bob"));
    assert_eq!(first.status, 200, "{}", first.body);
    let again = s.post("/v1/score", ACME, &paris("retry-1", "bob"));
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body, first.body, "the first answer, receipt included");
    let (_, p) = export(&s, ACME, "bob");
    assert_eq!(p["profile"]["recent_attempts"], 1, "{p}");
    // Another device under the same id is a conflict; so is the same request with another
    // action (a payment is not a retry of a login), and the identical request from another
    // key of the tenant (only the caller that sent it may get its answer and receipt back).
    let other = s.post(
        "/v1/score",
        ACME,
        &login("retry-1", "bob", PARIS_IP, "bob-tablet", "Europe/Paris"),
    );
    assert_eq!(other.status, 409, "{}", other.body);
    let mut payment = paris("retry-1", "bob");
    payment["action"] = json!("payment");
    assert_eq!(s.post("/v1/score", ACME, &payment).status, 409);
    let stranger = s.post("/v1/score", ACME_SCORE, &paris("retry-1", "bob"));
    assert_eq!(stranger.status, 409, "{}", stranger.body);
    assert!(!stranger.body.contains("receipt\":"), "{}", stranger.body);
    let audit = s.audit_lines();
    assert_eq!(
        audit.iter().filter(|l| l["method"] == "score").count(),
        2,
        "the conflict is not a score"
    );
    assert_eq!(audit[1]["replayed"], true, "{}", audit[1]);
    assert_eq!(audit[1]["tenant"], "acme");
}

#[test]
fn a_tenant_reaches_none_of_another_tenants_users() {
    let s = server();
    enrol(&s, ACME, "alice", 3);
    let before = export(&s, ACME, "alice");
    assert_eq!(before.0, 200);
    // Same user id in globex: another person with no history.
    let g = s.post("/v1/score", GLOBEX, &paris("g-1", "alice")).json();
    assert!(codes(&g).contains(&"no_history".to_string()), "{g}");
    // globex can neither teach, nor mark fraud on, acme's requests.
    for kind in ["otp_passed", "confirmed_fraud", "otp_failed"] {
        let r = s.post(
            "/v1/outcomes",
            GLOBEX,
            &outcome("alice-enrol-2", "alice", kind, Some(&g["receipt"])),
        );
        assert_eq!(r.status, 404, "{kind}: {}", r.body);
        assert_eq!(r.json()["error"]["field"], "request_id");
    }
    // globex's export and erase of "alice" touch only globex's alice.
    let (status, gp) = export(&s, GLOBEX, "alice");
    assert_eq!(status, 200);
    assert_eq!(gp["profile"]["verified_count"], 0, "{gp}");
    let erased = s.send("DELETE", "/v1/users/alice", Some(GLOBEX), None);
    assert_eq!(erased.status, 200, "{}", erased.body);
    assert_eq!(export(&s, ACME, "alice"), before, "acme's alice untouched");
    // The model and the audit chain serve every tenant: only the operator's tenant touches them.
    let reload = s.post("/v1/admin/reload", GLOBEX, &json!({}));
    assert_eq!(reload.status, 403, "{}", reload.body);
    assert_eq!(s.get("/v1/audit/head", Some(GLOBEX)).status, 403);
    // The default tenant (the dev key) is a third, separate tenant.
    assert_eq!(export(&s, ADMIN_KEY, "alice").0, 404);
    // acme's alice still gets in from her phone.
    let r = s.post("/v1/score", ACME, &paris("a-next", "alice")).json();
    assert!(codes(&r).contains(&"trusted_device".to_string()), "{r}");
    assert!(!codes(&r).contains(&"fraud_linked".to_string()), "{r}");
    // Every record says whose it is.
    let audit = s.audit_lines();
    assert!(
        audit.iter().all(|l| l["tenant"].is_string()),
        "tenant on every record"
    );
    let labels = std::fs::read_to_string(s.dir.path().join("labels.jsonl")).expect("labels");
    assert!(
        labels.lines().all(|l| l.contains("\"tenant\":\"acme\"")),
        "{labels}"
    );
}

#[test]
fn back_dated_requests_and_outcomes_run_on_server_time() {
    let s = server();
    for i in 0..6 {
        let r = s.post(
            "/v1/score",
            ACME,
            &paris(&format!("v-{i}"), &format!("user{i}")),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    for (id, when) in [
        ("v-two-hours", ts(120)),
        ("v-2006", "2006-03-01T10:00:00Z".to_string()),
    ] {
        let mut req = paris(id, "user7");
        req["timestamp"] = json!(when);
        let r = s.post("/v1/score", ACME, &req).json();
        let c = codes(&r);
        assert!(c.contains(&"clock_skew".to_string()), "{r}");
        assert!(c.contains(&"ip_velocity".to_string()), "{r}");
        let users = r["reasons"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["code"] == "ip_velocity"))
            .map(|x| x["detail"]["distinct_users_1h"].clone());
        assert_eq!(users, Some(json!(7.0)), "{r}");
        assert_ne!(r["decision"], "allow", "{r}");
    }
    // A back-dated outcome is applied at the server's time.
    let answer = s.post("/v1/score", ACME, &paris("o-1", "carol")).json();
    let before = chrono::Utc::now().timestamp_millis();
    let mut o = outcome("o-1", "carol", "otp_passed", Some(&answer["receipt"]));
    o["timestamp"] = json!("2006-03-01T10:00:00Z");
    assert_eq!(s.post("/v1/outcomes", ACME, &o).status, 200);
    let (_, p) = export(&s, ACME, "carol");
    let last = p["profile"]["last_verified_ms"].as_i64().expect("ms");
    assert!(
        last >= before - 60_000,
        "learned at server time, not 2006: {last}"
    );
}

#[test]
fn a_replayed_failure_counts_once() {
    let s = server();
    let answer = s.post("/v1/score", ACME, &paris("f-1", "dave")).json();
    let failed = outcome("f-1", "dave", "otp_failed", Some(&answer["receipt"]));
    let first = s.post("/v1/outcomes", ACME, &failed);
    assert_eq!(first.status, 200, "{}", first.body);
    for _ in 0..11 {
        let again = s.post("/v1/outcomes", ACME, &failed);
        assert_eq!(again.body, first.body, "answered as the first was");
    }
    let (_, p) = export(&s, ACME, "dave");
    assert_eq!(p["profile"]["recent_failures"], 1, "{p}");
    let labels = std::fs::read_to_string(s.dir.path().join("labels.jsonl")).expect("labels");
    assert_eq!(labels.lines().count(), 1, "one label line");
    // The user's failure count behind the next score is one, not twelve.
    let next = s.post("/v1/score", ACME, &paris("f-2", "dave")).json();
    let failures = next["reasons"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["code"] == "user_failure_velocity"))
        .map(|x| x["detail"]["failures_24h"].clone());
    assert_eq!(failures, Some(json!(1.0)), "{next}");
}

#[test]
fn a_tenant_with_its_own_model_is_scored_with_it_and_others_are_not() {
    let s = start(|cfg, _| {
        cfg.server
            .keys
            .push(key("acme-broker", "acme", &["score"], ACME));
        cfg.server
            .keys
            .push(key("globex", "globex", &["score"], GLOBEX));
        cfg.tenants.insert(
            "globex".into(),
            tessera::config::TenantConfig {
                model: "rules".into(),
                ..Default::default()
            },
        );
    });
    let rules = tessera::engine::load_artifact("rules")
        .expect("rules")
        .model_version;
    let builtin = tessera::engine::load_artifact("builtin")
        .expect("builtin")
        .model_version;
    assert_ne!(rules, builtin);
    let g = s.post("/v1/score", GLOBEX, &paris("m-1", "alice")).json();
    assert_eq!(g["model_version"], rules.as_str(), "{g}");
    let a = s.post("/v1/score", ACME, &paris("m-1", "alice")).json();
    assert_eq!(a["model_version"], builtin.as_str(), "{a}");
}
