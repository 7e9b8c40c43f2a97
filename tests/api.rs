//! API hardening, through the router with `oneshot` (no socket): the reload jail (no path outside
//! `[model] dir`, no FIFO or oversized file, no file contents echoed, every attempt audited, the
//! body read however it is framed), limits (a batch costs one token per item, failed
//! authentication throttled, over-long keys refused unhashed, the Bearer scheme in any case),
//! error messages that never echo a value, and an OpenAPI document a peer can build requests from.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tessera::Engine;
use tessera::config::Config;
use tessera::server::{AppState, router};
use tower::ServiceExt;

const KEY: &str = "api-test-key-0123456789";
const EMAIL: &str = "alice@example.com";

struct Fixture {
    app: Router,
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

struct Reply {
    status: StatusCode,
    retry_after: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn fixture_with_key(key: &str, tweak: impl FnOnce(&mut Config, &Path)) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = Config::default();
    cfg.store.backend = tessera::config::Backend::Memory;
    cfg.privacy.key_file = dir.path().join("hash.key");
    cfg.server.audit_log = dir.path().join("audit.jsonl").display().to_string();
    cfg.server.label_log = dir.path().join("labels.jsonl").display().to_string();
    std::fs::create_dir(dir.path().join("models")).expect("mkdir");
    cfg.model.dir = dir.path().join("models");
    tweak(&mut cfg, dir.path());
    cfg.check().expect("valid config");
    let engine = Engine::from_config(&cfg).expect("engine");
    let state = Arc::new(AppState::new(engine, &cfg, Some(key)).expect("state"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    Fixture {
        app: router::app(state),
        dir,
        rt,
    }
}

fn fixture(tweak: impl FnOnce(&mut Config, &Path)) -> Fixture {
    fixture_with_key(KEY, tweak)
}

impl Fixture {
    fn call(&self, req: Request<Body>) -> Reply {
        let app = self.app.clone();
        self.rt.block_on(async move {
            let resp = app.oneshot(req).await.expect("infallible");
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .expect("body");
            Reply {
                status,
                retry_after,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            }
        })
    }

    fn post_as(&self, path: &str, auth: &str, body: &Value) -> Reply {
        self.call(
            Request::post(path)
                .header("authorization", auth)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .expect("request"),
        )
    }

    fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_as(path, &format!("Bearer {KEY}"), body)
    }

    fn audit(&self, method: &str) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("json")["record"].clone())
            .filter(|r| r["method"] == method)
            .collect()
    }

    fn models(&self) -> std::path::PathBuf {
        self.dir.path().join("models")
    }
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn score_request(id: &str) -> Value {
    json!({"schema": 1, "request_id": id, "user_id": "alice", "timestamp": now_rfc3339(),
           "channel": "web_widget"})
}

// Point 8: the reload jail.
#[test]
fn reload_refuses_everything_outside_the_model_dir_echoes_nothing_and_audits_each_attempt() {
    let f = fixture(|cfg, _| cfg.model.max_bytes = 2048);
    let models = f.models();
    std::os::unix::fs::symlink("/etc/passwd", models.join("out.json")).expect("symlink");
    std::fs::write(models.join("big.json"), vec![b' '; 4096]).expect("write");
    std::fs::write(
        models.join("secret.json"),
        json!({"secret": EMAIL}).to_string(),
    )
    .expect("write");
    std::fs::write(
        models.join("variant.json"),
        json!({"format_version": 1, "model_version": "x", "kind": EMAIL}).to_string(),
    )
    .expect("write");
    let fifo = models.join("pipe.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo failed");
    let cases = [
        ("../../etc/passwd", 422),
        ("/etc/shadow", 422),
        ("/etc/passwd", 422),
        ("out.json", 404),
        ("missing.json", 404),
        ("big.json", 422),
        ("secret.json", 422),
        ("variant.json", 422),
        ("pipe.json", 422),
    ];
    for (i, (path, status)) in cases.iter().enumerate() {
        let body = json!({ "path": path });
        let app = f.app.clone();
        // Guard against a reload that blocks on the FIFO (it would hang the test otherwise).
        let reply = f.rt.block_on(async {
            let req = Request::post("/v1/admin/reload")
                .header("authorization", format!("Bearer {KEY}"))
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .expect("request");
            tokio::time::timeout(std::time::Duration::from_secs(60), app.oneshot(req)).await
        });
        let Ok(resp) = reply else {
            let _unblock = std::fs::OpenOptions::new().write(true).open(&fifo);
            panic!("reload of {path} blocked");
        };
        let resp = resp.expect("infallible");
        let code = resp.status().as_u16();
        let bytes =
            f.rt.block_on(axum::body::to_bytes(resp.into_body(), 1 << 20))
                .expect("body");
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(code, *status, "{path}: {text}");
        for secret in ["root:", EMAIL, "secret"] {
            assert!(!text.contains(secret), "{path} leaked {secret}: {text}");
        }
        let audited = f.audit("reload");
        assert_eq!(audited.len(), i + 1, "{path}: every attempt is audited");
        assert_eq!(audited[i]["outcome"], "refused", "{path}");
    }
    let audited = f.audit("reload");
    let reasons: Vec<&str> = audited
        .iter()
        .map(|r| r["reasons"][0].as_str().expect("reason"))
        .collect();
    assert_eq!(
        reasons,
        [
            "bad_path",
            "bad_path",
            "bad_path",
            "outside_model_dir",
            "not_found",
            "too_large",
            "not_artifact",
            "not_artifact",
            "not_regular_file"
        ]
    );
    // A good artifact inside the folder is loaded, and that is audited too.
    let mut art: Value = serde_json::from_str(tessera::engine::BUILTIN_MODEL).expect("artifact");
    art["model_version"] = json!("jailed-ok-1");
    std::fs::write(models.join("good.json"), art.to_string()).expect("write");
    let f2 = fixture(|_, _| {});
    std::fs::write(f2.models().join("good.json"), art.to_string()).expect("write");
    let r = f2.post("/v1/admin/reload", &json!({"path": "good.json"}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["model_version"], "jailed-ok-1");
    let audited = f2.audit("reload");
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0]["outcome"], "ok");
    assert_eq!(audited[0]["model_version"], "jailed-ok-1");
}

#[test]
fn a_chunked_reload_body_is_honoured() {
    // The real server on a loopback socket, and a request written by hand: a chunked body with
    // no Content-Length.
    use std::io::{Read, Write};
    let f = fixture(|_, _| {});
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = Config::default();
    cfg.store.backend = tessera::config::Backend::Memory;
    cfg.privacy.key_file = dir.path().join("hash.key");
    cfg.server.audit_log = dir.path().join("audit.jsonl").display().to_string();
    cfg.server.label_log = String::new();
    let engine = Engine::from_config(&cfg).expect("engine");
    let state = Arc::new(AppState::new(engine, &cfg, Some(KEY)).expect("state"));
    let listener =
        f.rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
    let addr = listener.local_addr().expect("addr");
    f.rt.spawn(tessera::server::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let body = r#"{"path":"rules"}"#;
    let (a, b) = body.split_at(8);
    let request = format!(
        "POST /v1/admin/reload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    let mut sock = std::net::TcpStream::connect(addr).expect("connect");
    sock.write_all(request.as_bytes()).expect("write");
    let mut answer = String::new();
    sock.read_to_string(&mut answer).expect("read");
    let rules = tessera::engine::load_artifact("rules").expect("rules");
    let builtin = tessera::engine::load_artifact("builtin").expect("builtin");
    assert_ne!(rules.model_version, builtin.model_version);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains(&format!("\"model_version\":\"{}\"", rules.model_version)),
        "the body asked for rules: {answer}"
    );
}

// Point 9: limits.
#[test]
fn a_batch_costs_one_token_per_item() {
    let f = fixture(|cfg, _| {
        cfg.server.rate_burst = 5;
        cfg.server.rate_per_s = 0.001;
    });
    let batch: Vec<Value> = (0..5).map(|i| score_request(&format!("b{i}"))).collect();
    let r = f.post("/v1/score/batch", &json!(batch));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = f.post("/v1/score", &score_request("one-more"));
    assert_eq!(
        r.status, 429,
        "the batch of 5 spent the burst of 5: {}",
        r.body
    );
    assert!(r.retry_after.is_some());
}

#[test]
fn a_batch_refused_for_rate_takes_no_tokens_beyond_its_own() {
    let f = fixture(|cfg, _| {
        cfg.server.rate_burst = 6;
        cfg.server.rate_per_s = 0.001;
    });
    let batch: Vec<Value> = (0..6).map(|i| score_request(&format!("b{i}"))).collect();
    assert_eq!(f.post("/v1/score", &score_request("s1")).status, 200);
    let r = f.post("/v1/score/batch", &json!(batch));
    assert_eq!(r.status, 429, "6 items, 5 tokens left: {}", r.body);
    // The refused batch took one token (the request's own): four are left.
    for i in 0..4 {
        let r = f.post("/v1/score", &score_request(&format!("after{i}")));
        assert_eq!(r.status, 200, "{i}: {}", r.body);
    }
    assert_eq!(f.post("/v1/score", &score_request("last")).status, 429);
}

#[test]
fn repeated_bad_keys_are_throttled_and_then_even_a_good_key_waits() {
    let f = fixture(|_, _| {});
    let mut statuses = Vec::new();
    for i in 0..25 {
        let r = f.post_as(
            "/v1/score",
            &format!("Bearer wrong-{i}"),
            &score_request("x"),
        );
        statuses.push(r.status.as_u16());
        if r.status == 429 {
            assert!(r.retry_after.is_some(), "429 carries Retry-After");
            assert_eq!(r.json()["error"]["code"], "auth_throttled");
        }
    }
    assert!(statuses[..20].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
    let r = f.post("/v1/score", &score_request("good"));
    assert_eq!(r.status, 429, "refused before the key is checked");
}

#[test]
fn a_key_over_256_bytes_is_refused_even_when_configured() {
    let long = "k".repeat(300);
    let f = fixture_with_key(&long, |_, _| {});
    let r = f.post_as("/v1/score", &format!("Bearer {long}"), &score_request("x"));
    assert_eq!(r.status, 401, "{}", r.body);
    let exact = "k".repeat(256);
    let f = fixture_with_key(&exact, |_, _| {});
    let r = f.post_as("/v1/score", &format!("Bearer {exact}"), &score_request("x"));
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn the_bearer_scheme_is_case_insensitive() {
    let f = fixture(|_, _| {});
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let r = f.post_as(
            "/v1/score",
            &format!("{scheme} {KEY}"),
            &score_request(scheme),
        );
        assert_eq!(r.status, 200, "{scheme}: {}", r.body);
    }
}

// Point 10: no echoed values.
#[test]
fn unknown_variants_and_fields_are_refused_without_echoing() {
    let f = fixture(|_, _| {});
    let mut bad_channel = score_request("e1");
    bad_channel["channel"] = json!(EMAIL);
    let mut bad_field = score_request("e2");
    bad_field[EMAIL] = json!(1);
    let mut bad_type = score_request("e3");
    bad_type["schema"] = json!(EMAIL);
    let bad_outcome = json!({"kind": "outcome", "request_id": "r", "user_id": "u",
        "timestamp": now_rfc3339(), "outcome": EMAIL});
    for (path, body, field) in [
        ("/v1/score", bad_channel, "channel"),
        ("/v1/score", bad_field, "."),
        ("/v1/score", bad_type, "schema"),
        ("/v1/outcomes", bad_outcome, "outcome"),
    ] {
        let r = f.post(path, &body);
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(!r.body.contains(EMAIL), "{}", r.body);
        assert_eq!(r.json()["error"]["field"], field, "{}", r.body);
    }
}

// Point 12: an OpenAPI document a peer can build requests from.
#[test]
fn openapi_has_enums_bounds_every_status_and_valid_examples() {
    let f = fixture(|_, _| {});
    let r = f.call(
        Request::get("/openapi.json")
            .body(Body::empty())
            .expect("request"),
    );
    let doc = r.json();
    let schemas = &doc["components"]["schemas"];
    let req = &schemas["ScoreRequest"]["properties"];
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("not an enum: {v}"))
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let channels = names(&req["channel"]["enum"]);
    assert_eq!(
        channels,
        ["web_widget", "in_app", "whatsapp", "sms", "social"]
    );
    assert_eq!(names(&req["action"]["enum"]).len(), 8);
    assert_eq!(
        names(&schemas["Outcome"]["properties"]["outcome"]["enum"]).len(),
        6
    );
    for code in tessera::domain::ReasonCode::ALL {
        assert!(
            names(&schemas["Reason"]["properties"]["code"]["enum"]).contains(&code.to_string()),
            "{code}"
        );
    }
    assert_eq!(req["user_id"]["maxLength"], 128);
    assert_eq!(req["user_id"]["minLength"], 1);
    assert_eq!(req["typing"]["properties"]["events"]["maxItems"], 2000);
    // An http bearer scheme carries no scopes (OpenAPI 3.0).
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"],
        json!({"type": "http", "scheme": "bearer",
               "description": doc["components"]["securitySchemes"]["bearer"]["description"]})
    );
    for (method, path) in router::ROUTES {
        let op = &doc["paths"][path][method];
        let responses = op["responses"].as_object().expect("responses");
        for status in ["200", "405", "500", "503"] {
            assert!(responses.contains_key(status), "{method} {path} {status}");
        }
        for sec in op["security"].as_array().expect("security") {
            for (_, scopes) in sec.as_object().expect("requirement") {
                assert_eq!(scopes, &json!([]), "{method} {path}: no scopes on http");
            }
        }
        if !sec_is_empty(op) {
            for status in ["401", "429"] {
                assert!(responses.contains_key(status), "{method} {path} {status}");
            }
        }
    }
    for status in ["400", "409", "413", "415", "422"] {
        assert!(
            doc["paths"]["/v1/score"]["post"]["responses"][status].is_object(),
            "{status}"
        );
    }
    // The documented example is a request the server accepts (with a current timestamp, as the
    // skew rule asks).
    let mut example = schemas["ScoreRequest"]["example"].clone();
    example["timestamp"] = json!(now_rfc3339());
    let r = f.post("/v1/score", &example);
    assert_eq!(r.status, 200, "{}", r.body);
}

fn sec_is_empty(op: &Value) -> bool {
    op["security"].as_array().is_none_or(Vec::is_empty)
}
