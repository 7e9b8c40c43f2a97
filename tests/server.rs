//! `tessera serve` end to end: the real server on a loopback port (127.0.0.1:0), a real HTTP
//! client (reqwest), redb and the audit log in a temp dir, the built-in model and demo geo data.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::http::{ADMIN_KEY, Server, codes, key, path_str, ts};
use serde_json::{Value, json};
use tessera::Engine;
use tessera::config::Config;
use tessera::server::{AppState, router::ROUTES, serve};

const SCORE_KEY: &str = "test-score-only-key";
const PARIS_IP: &str = "31.0.12.34";

/// A server whose extra key `scorer` (score scope only) shares the dev key's tenant.
fn start(tweak: impl FnOnce(&mut Config)) -> Server {
    common::http::start(|cfg, dir| {
        cfg.model.dir = dir.to_path_buf();
        cfg.server
            .keys
            .push(key("scorer", "default", &["score"], SCORE_KEY));
        tweak(cfg);
    })
}

fn score_request(id: &str, ago_min: i64, device: &str) -> Value {
    json!({
        "schema": 1, "request_id": id, "user_id": "alice", "timestamp": ts(ago_min),
        "channel": "web_widget",
        "network": {"ip": PARIS_IP},
        "device": {"id": device, "platform": "iOS", "timezone": "Europe/Paris",
                   "languages": ["fr-FR"], "screen": "390x844", "webdriver": false,
                   "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148"},
        "auth": {"failed_attempts": 0}
    })
}

#[test]
fn full_flow_learns_exports_audits_and_erases() {
    let s = start(|_| {});
    let verify_otp = |id: &str, ago_min: i64, receipt: &Value| {
        let outcome = json!({"kind": "outcome", "request_id": id, "user_id": "alice",
                             "timestamp": ts(ago_min), "outcome": "otp_passed",
                             "receipt": receipt});
        let r = s.post("/v1/outcomes", ADMIN_KEY, &outcome);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["effect"], "learned");
    };
    // Three verified logins on the usual phone.
    for (i, ago) in [(1, 90), (2, 80), (3, 70)] {
        let id = format!("e{i}");
        let r = s.post(
            "/v1/score",
            SCORE_KEY,
            &score_request(&id, ago, "alice-phone"),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        verify_otp(&id, ago - 1, &r.json()["receipt"]);
    }
    // A new phone: unknown device, low trust; the customer passes OTP on it.
    let first = s.post(
        "/v1/score",
        SCORE_KEY,
        &score_request("n1", 30, "alice-new-phone"),
    );
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();
    assert!(codes(&first).contains(&"new_device".to_string()), "{first}");
    verify_otp("n1", 29, &first["receipt"]);
    let second = s.post(
        "/v1/score",
        SCORE_KEY,
        &score_request("n2", 20, "alice-new-phone"),
    );
    assert_eq!(second.status, 200, "{}", second.body);
    let second = second.json();
    assert!(
        !codes(&second).contains(&"new_device".to_string()),
        "{second}"
    );
    assert!(
        codes(&second).contains(&"trusted_device".to_string()),
        "{second}"
    );
    let (t1, t2) = (
        first["trust_score"].as_u64(),
        second["trust_score"].as_u64(),
    );
    assert!(t2 > t1, "trust after a verified outcome: {t1:?} -> {t2:?}");
    let band = |r: &Value| {
        ["low", "medium", "high", "critical"]
            .iter()
            .position(|b| r["risk"] == *b)
    };
    // Trust rises (above); the risk band follows it, or stays when both scores fall in one band
    // (the default model's isotonic calibration is a step function).
    assert!(
        band(&second) <= band(&first),
        "risk {} -> {}",
        first["risk"],
        second["risk"]
    );

    let profile = s.get("/v1/users/alice/profile", Some(ADMIN_KEY));
    assert_eq!(profile.status, 200, "{}", profile.body);
    let p = profile.json();
    assert_eq!(p["profile"]["verified_count"], 4, "{p}");
    assert_eq!(p["profile"]["devices"].as_array().map(Vec::len), Some(2));
    assert_eq!(p["profile"]["places"][0]["city"], "Paris", "{p}");
    assert!(
        !profile.body.contains("alice-phone"),
        "device ids are pseudonymised"
    );

    let labels = std::fs::read_to_string(s.dir.path().join("labels.jsonl")).expect("labels");
    assert_eq!(labels.lines().count(), 4);
    assert!(
        labels.contains("\"n1\"") && labels.contains("otp_passed") && !labels.contains("alice")
    );
    // The lines the server wrote are what `tessera train --labels` reads.
    let read = tessera::train::labels::read_label_logs(&[s.dir.path().join("labels.jsonl")])
        .expect("label log parses");
    let got: Vec<(&str, &str)> = read
        .lines
        .iter()
        .map(|l| (l.record.request_id.as_str(), l.record.outcome.as_str()))
        .collect();
    assert_eq!(got, ["e1", "e2", "e3", "n1"].map(|id| (id, "otp_passed")));
    let user = &read.lines[0].record.user;
    assert!(user.len() == 32 && read.lines.iter().all(|l| &l.record.user == user));
    assert!(read.lines.windows(2).all(|w| w[0].at_ms < w[1].at_ms));

    let erased = s.send("DELETE", "/v1/users/alice", Some(ADMIN_KEY), None);
    assert_eq!(
        (erased.status, erased.json()["erased"].clone()),
        (200, json!(true))
    );
    // Five scored requests' evidence, both phones' and the Paris IP's user sets.
    assert_eq!(
        erased.json()["removed"],
        json!({"profile": true, "activity": true, "pending": 5, "devices": 2, "ips": 1,
               "unreadable": 0})
    );
    assert_eq!(
        s.get("/v1/users/alice/profile", Some(ADMIN_KEY)).status,
        404
    );

    // Audit: 5 scores, 4 outcomes, export, erase, export (the 404 one) — chained, no raw ids.
    let audit = s.audit_path();
    let v = tessera::audit::verify(&audit).expect("intact chain");
    assert_eq!(v.records, 12);
    let text = std::fs::read_to_string(&audit).expect("audit");
    assert!(!text.contains("alice"), "audit holds pseudonyms only");
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.contains("\"method\":\"outcome\""))
    );
    let tampered = s.dir.path().join("tampered.jsonl");
    std::fs::write(&tampered, text.replacen("otp_passed", "otp_failed", 1)).expect("write");
    match tessera::audit::verify(&tampered) {
        Err(tessera::audit::AuditError::Broken { line, .. }) => assert_eq!(line, 2),
        other => panic!("tampering not detected: {other:?}"),
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["audit", "verify"])
        .arg(&tampered)
        .output()
        .expect("run tessera");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("line 2"),
        "{out:?}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["audit", "verify"])
        .arg(&audit)
        .output()
        .expect("run tessera");
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // The head, kept elsewhere, catches a copy with its last record cut off.
    let head = s.get("/v1/audit/head", Some(ADMIN_KEY)).json();
    assert_eq!(head["records"], 12);
    assert_eq!(head["last_hash"], v.last_hash.as_str());
    assert_eq!(s.get("/v1/audit/head", Some(SCORE_KEY)).status, 403);
    let cut = s.dir.path().join("cut.jsonl");
    let kept: String = text.lines().take(11).map(|l| format!("{l}\n")).collect();
    std::fs::write(&cut, kept).expect("write");
    let anchor = format!("12:{}", v.last_hash);
    let verify_cli = |file: &Path, anchor: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["audit", "verify", "--anchor", anchor])
            .arg(file)
            .output()
            .expect("run tessera")
    };
    let out = verify_cli(&cut, &anchor);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("cut from its end"),
        "{out:?}"
    );
    assert_eq!(verify_cli(&audit, &anchor).status.code(), Some(0));

    let metrics = s.get("/metrics", None).body;
    assert!(
        metrics.contains("tessera_http_requests_total{route=\"/v1/score\",status=\"200\"} 5\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tessera_reasons_total{code=\"new_device\"} 1\n"),
        "{metrics}"
    );
}

#[test]
fn auth_and_scope_failures() {
    let s = start(|_| {});
    let body = score_request("a1", 5, "alice-phone");
    let none = s.send(
        "POST",
        "/v1/score",
        None,
        Some(("application/json", body.to_string())),
    );
    assert_eq!(none.status, 401);
    assert_eq!(none.json()["error"]["code"], "unauthenticated");
    assert_eq!(s.post("/v1/score", "wrong-key", &body).status, 401);
    let r = s.post("/v1/admin/reload", SCORE_KEY, &json!({}));
    assert_eq!(r.status, 403);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("admin"))
    );
    let outcome = json!({"kind": "outcome", "request_id": "a1", "user_id": "alice",
                         "timestamp": ts(1), "outcome": "otp_passed"});
    assert_eq!(s.post("/v1/outcomes", SCORE_KEY, &outcome).status, 403);
    assert_eq!(
        s.get("/v1/users/alice/profile", Some(SCORE_KEY)).status,
        403
    );
    assert_eq!(s.get("/v1/model", None).status, 401);
}

#[test]
fn rate_limit_answers_429_with_retry_after() {
    let s = start(|c| {
        c.server.rate_per_s = 0.01;
        c.server.rate_burst = 2;
    });
    let body = score_request("rl", 5, "alice-phone");
    assert_eq!(s.post("/v1/score", SCORE_KEY, &body).status, 200);
    assert_eq!(s.post("/v1/score", SCORE_KEY, &body).status, 200);
    let r = s.post("/v1/score", SCORE_KEY, &body);
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.retry_after.as_deref(), Some("100"));
    assert_eq!(
        s.post(
            "/v1/score",
            ADMIN_KEY,
            &score_request("rl-admin", 5, "alice-phone")
        )
        .status,
        200,
        "other keys unaffected"
    );
}

#[test]
fn client_errors_name_the_problem() {
    let s = start(|c| c.server.max_body_bytes = 2048);
    let send = |ctype: &str, text: &str| {
        s.send(
            "POST",
            "/v1/score",
            Some(SCORE_KEY),
            Some((ctype, text.to_string())),
        )
    };
    let r = send("application/json", "{\"schema\": 1, \"user_id\": ");
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"]["field"], "user_id");
    assert!(r.body.contains("EOF"), "{}", r.body);
    let r = send("application/json", "nonsense");
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"]["field"], ".");
    let mut bad = score_request("e1", 5, "alice-phone");
    bad["user_id"] = json!(42);
    let r = send("application/json", &bad.to_string());
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"]["field"], "user_id");
    assert!(!r.body.contains("42"), "values are not echoed");
    let mut invalid = score_request("e2", 5, "alice-phone");
    invalid["user_id"] = json!("");
    let r = send("application/json", &invalid.to_string());
    assert_eq!(
        (r.status, r.json()["error"]["field"].clone()),
        (422, json!("user_id"))
    );
    let r = send(
        "text/plain",
        &score_request("e3", 5, "alice-phone").to_string(),
    );
    assert_eq!(r.status, 415);
    assert_eq!(r.json()["error"]["field"], "content-type");
    let r = send("application/json", &" ".repeat(5000));
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"]["code"], "payload_too_large");
    let r = s.get("/v1/nope", Some(SCORE_KEY));
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "not_found");
    // A known route with the wrong method, and a path segment that is not UTF-8: JSON errors too.
    let r = s.get("/v1/score", Some(SCORE_KEY));
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["error"]["code"], "method_not_allowed");
    let r = s.get("/v1/users/%FF/profile", Some(ADMIN_KEY));
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"]["field"], "user_id");

    let batch = json!([score_request("b1", 5, "alice-phone"), {"schema": 1, "user_id": "", "timestamp": ts(5), "channel": "web_widget"}]);
    let r = s.post("/v1/score/batch", SCORE_KEY, &batch);
    assert_eq!(r.status, 200, "{}", r.body);
    let results = r.json()["results"].clone();
    assert_eq!(results[0]["request_id"], "b1");
    assert_eq!(results[1]["error"]["field"], "[1].user_id");
}

#[test]
fn reload_swaps_a_good_model_and_refuses_a_corrupt_one() {
    let s = start(|_| {});
    let builtin = s.get("/v1/model", Some(ADMIN_KEY)).json();
    let mut art: Value = serde_json::from_str(tessera::engine::BUILTIN_MODEL).expect("artifact");
    art["model_version"] = json!("reloaded-test-1");
    let good = s.dir.path().join("good.json");
    std::fs::write(&good, art.to_string()).expect("write");
    let r = s.post("/v1/admin/reload", ADMIN_KEY, &json!({"path": "good.json"}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["model_version"], "reloaded-test-1");
    assert_ne!(builtin["model_version"], "reloaded-test-1");
    let scored = s
        .post(
            "/v1/score",
            SCORE_KEY,
            &score_request("m1", 5, "alice-phone"),
        )
        .json();
    assert_eq!(scored["model_version"], "reloaded-test-1");

    let corrupt = s.dir.path().join("corrupt.json");
    std::fs::write(&corrupt, "{\"format_version\": 1, \"model_ver").expect("write");
    let r = s.post(
        "/v1/admin/reload",
        ADMIN_KEY,
        &json!({"path": "corrupt.json"}),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "model_refused");
    let model = s.get("/v1/model", Some(ADMIN_KEY)).json();
    assert_eq!(model["model_version"], "reloaded-test-1");
    let scored = s
        .post(
            "/v1/score",
            SCORE_KEY,
            &score_request("m2", 5, "alice-phone"),
        )
        .json();
    assert_eq!(scored["model_version"], "reloaded-test-1");
    let metrics = s.get("/metrics", None).body;
    assert!(metrics.contains("tessera_model_reloads_total{result=\"refused\"} 1\n"));
    assert!(metrics.contains("tessera_model_info{version=\"reloaded-test-1\"} 1\n"));
}

#[test]
fn openapi_lists_every_route_and_every_route_is_served() {
    let s = start(|_| {});
    let doc = s.get("/openapi.json", None).json();
    for (method, path) in ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "openapi.json lacks {method} {path}"
        );
        let concrete = path.replace("{id}", "nobody");
        let r = s.send(&method.to_uppercase(), &concrete, Some(ADMIN_KEY), None);
        assert!(
            !r.body.contains("no such route"),
            "{method} {path}: {}",
            r.body
        );
    }
    let documented = doc["paths"].as_object().map_or(0, |p| {
        p.values()
            .map(|ops| ops.as_object().map_or(0, |o| o.len()))
            .sum()
    });
    assert_eq!(
        documented,
        ROUTES.len(),
        "openapi.json documents routes the router lacks"
    );
    assert_eq!(s.get("/healthz", None).json()["status"], "ok");
    assert_eq!(s.get("/readyz", None).json()["status"], "ready");
}

#[test]
fn tls_serves_tls13_only() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    let (cert, key) = (data.join("cert.pem"), data.join("key.pem"));
    let acceptor = tessera::server::tls::acceptor(&cert, &key).expect("acceptor");
    let s = start(|_| {});
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = Config::default();
    cfg.store.backend = tessera::config::Backend::Memory;
    cfg.server.audit_log = path_str(&dir.path().join("audit.jsonl"));
    cfg.server.label_log = String::new();
    let engine = Engine::from_config(&cfg).expect("engine");
    let state = Arc::new(AppState::new(engine, &cfg, Some(ADMIN_KEY)).expect("state"));
    let addr = s.rt.block_on(async {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = tcp.local_addr().expect("addr");
        let listener = tessera::server::tls::TlsListener::new(tcp, acceptor).expect("listener");
        tokio::spawn(serve(listener, state, std::future::pending()));
        addr
    });

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&cert).expect("cert"))
        .expect("root");
    let roots = Arc::new(roots);
    let client = |versions: &[&'static rustls::SupportedProtocolVersion]| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("versions")
            .with_root_certificates(Arc::clone(&roots))
            .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(cfg))
    };
    let name = ServerName::try_from("localhost").expect("name");
    s.rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let mut tls = client(&[&rustls::version::TLS13])
            .connect(name.clone(), tcp)
            .await
            .expect("TLS 1.3 handshake");
        assert_eq!(
            tls.get_ref().1.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        tls.write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut out = String::new();
        tls.read_to_string(&mut out).await.expect("read");
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(out.ends_with("{\"status\":\"ok\"}"), "{out}");

        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let old = client(&[&rustls::version::TLS12]).connect(name, tcp).await;
        assert!(old.is_err(), "a TLS 1.2-only client must be refused");
    });
}

#[test]
fn a_client_that_trickles_its_request_head_is_cut_off() {
    let s = start(|cfg| cfg.server.header_read_timeout_ms = 300);
    let addr = s.base.trim_start_matches("http://").to_string();
    let answer = s.rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        // Half a request head, then silence (slowloris).
        tcp.write_all(b"POST /v1/score HTTP/1.1\r\nHost: tessera\r\n")
            .await
            .expect("write");
        let mut got = Vec::new();
        // The server must end the connection by itself; 30 s only guards against a hang.
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            tcp.read_to_end(&mut got),
        )
        .await
        .expect("the server closed the connection")
        .map(|_| String::from_utf8_lossy(&got).to_string())
    });
    match answer {
        // hyper answers 408 before closing, or just closes; either way nothing was scored.
        Ok(text) => assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "unexpected answer: {text}"
        ),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    // A normal request on the same server is unaffected.
    let ok = s.send("GET", "/healthz", None, None);
    assert_eq!(ok.status, 200);
}

/// The audit records of `method`, parsed.
fn audit_records(s: &Server, method: &str) -> Vec<Value> {
    std::fs::read_to_string(s.audit_path())
        .expect("audit log")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json")["record"].clone())
        .filter(|r| r["method"] == method)
        .collect()
}

#[test]
fn a_shadow_model_is_scored_and_audited_but_never_enforced() {
    // The same first request on two fresh servers: one enforcing the hand rules, one enforcing
    // the trained model with the rules as its shadow.
    let rules = start(|cfg| cfg.model.path = "rules".into());
    let enforced_by_rules = rules
        .post(
            "/v1/score",
            SCORE_KEY,
            &score_request("s1", 5, "alice-phone"),
        )
        .json();
    let s = start(|cfg| cfg.model.shadow = "rules".into());
    let model = s.get("/v1/model", Some(ADMIN_KEY)).json();
    let active = model["model_version"]
        .as_str()
        .expect("version")
        .to_string();
    assert_eq!(model["shadow"]["source"], "rules");
    assert_eq!(
        model["shadow"]["model_version"],
        enforced_by_rules["model_version"]
    );
    let r = s.post(
        "/v1/score",
        SCORE_KEY,
        &score_request("s1", 5, "alice-phone"),
    );
    let scored = r.json();
    assert_eq!(
        scored["model_version"],
        active.as_str(),
        "the active model answers"
    );
    assert!(
        !r.body.contains("shadow"),
        "the shadow never reaches the caller"
    );
    let audited = audit_records(&s, "score");
    assert_eq!(audited.len(), 1);
    let rec = &audited[0];
    assert_eq!(rec["model_version"], active.as_str());
    assert_eq!(rec["trust_score"], scored["trust_score"]);
    assert_eq!(
        rec["shadow_model_version"],
        enforced_by_rules["model_version"]
    );
    assert_eq!(rec["shadow_trust_score"], enforced_by_rules["trust_score"]);
    assert_eq!(rec["shadow_decision"], enforced_by_rules["decision"]);
    // The consent state to typing biometrics is audited (this request states none, and the
    // default config requires none).
    assert_eq!(rec["biometric_consent"], "unstated");
    assert!(rec.get("biometric_consent_required").is_none());
    let agree = if scored["decision"] == enforced_by_rules["decision"] {
        "agree"
    } else {
        "differ"
    };
    let metrics = s.get("/metrics", None).body;
    assert!(
        metrics.contains(&format!(
            "tessera_shadow_agreement_total{{result=\"{agree}\"}} 1\n"
        )),
        "{metrics}"
    );

    // Removing the shadow: later records carry no shadow fields.
    let r = s.post("/v1/admin/reload", ADMIN_KEY, &json!({"shadow": ""}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["model_version"], active.as_str());
    assert!(r.json()["shadow_model_version"].is_null());
    s.post(
        "/v1/score",
        SCORE_KEY,
        &score_request("s2", 4, "alice-phone"),
    );
    let audited = audit_records(&s, "score");
    assert_eq!(audited.len(), 2);
    assert!(audited[1].get("shadow_model_version").is_none());
    // A corrupt shadow is refused and the model in force is untouched.
    let corrupt = s.dir.path().join("corrupt.json");
    std::fs::write(&corrupt, "{\"format_version\": 1").expect("write");
    let r = s.post(
        "/v1/admin/reload",
        ADMIN_KEY,
        &json!({"shadow": "corrupt.json"}),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    let model = s.get("/v1/model", Some(ADMIN_KEY)).json();
    assert_eq!(model["model_version"], active.as_str());
    assert!(model.get("shadow").is_none());
}
