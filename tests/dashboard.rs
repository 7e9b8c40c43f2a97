//! The live view of `tessera serve` end to end: `GET /dashboard` (auth, exact counts by channel,
//! tenants kept apart, latency included) on a real server, the same counts on `/metrics` (which
//! names no tenant), the page in headless Chromium, and the shipped Grafana dashboard against the
//! metric names and labels the server exposes.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::browser;
use common::http::{ADMIN_KEY, Server, key, ts};
use common::prometheus::{LABELS, label_names, labels_of, metric_names, queries, sample_labels};
use serde_json::{Value, json};

const SCORE_KEY: &str = "dashboard-test-score-key";
const ACME_ADMIN_KEY: &str = "dashboard-test-acme-admin";
const ACME_SCORE_KEY: &str = "dashboard-test-acme-score";

/// A server with a score-only key of the default tenant and two keys of tenant `acme`.
fn start() -> Server {
    common::http::start(|cfg, _| {
        cfg.server.keys.extend([
            key("scorer", "default", &["score"], SCORE_KEY),
            key("acme-admin", "acme", &["admin"], ACME_ADMIN_KEY),
            key(
                "acme-scorer",
                "acme",
                &["score", "outcomes"],
                ACME_SCORE_KEY,
            ),
        ]);
    })
}

/// Scores one request of `user` on `channel` (with `action`, if any) and returns the answer.
fn score(s: &Server, key: &str, id: &str, channel: &str, action: Option<&str>) -> Value {
    let mut req = json!({
        "schema": 1, "request_id": id, "user_id": "alice", "timestamp": ts(0),
        "channel": channel,
        "network": {"ip": "31.0.12.34"},
        "device": {"id": "alice-phone", "platform": "iOS", "timezone": "Europe/Paris",
                   "languages": ["fr-FR"], "webdriver": false},
    });
    if let Some(a) = action {
        req["action"] = json!(a);
    }
    let r = s.post("/v1/score", key, &req);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

const DECISIONS: [&str; 4] = ["allow", "step_up_otp", "step_up_otp_kba", "deny"];

/// The page's row of `channel` in the decisions table: allow, step-up OTP, step-up OTP+KBA,
/// deny, total.
fn decisions_row(channel: &str, answers: &[&Value]) -> String {
    let mut cells: Vec<usize> = DECISIONS
        .iter()
        .map(|d| answers.iter().filter(|a| a["decision"] == *d).count())
        .collect();
    cells.push(answers.len());
    let cells: String = cells
        .iter()
        .map(|n| format!("<td class=\"num\">{n}</td>"))
        .collect();
    format!("<tr><td>{channel}</td>{cells}</tr>")
}

/// `/metrics` decision counts: (channel, action, decision) → count. Panics on any other label.
fn decisions_metric(text: &str) -> BTreeMap<(String, String, String), u64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("tessera_decisions_total{") else {
            continue;
        };
        let (labels, n) = rest.split_once("} ").expect("a sample");
        let label = |name: &str| -> String {
            let at = labels.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
            labels[at..at + labels[at..].find('"').expect("quote")].to_string()
        };
        assert_eq!(
            labels.matches('=').count(),
            3,
            "exactly three labels: {line}"
        );
        out.insert(
            (label("channel"), label("action"), label("decision")),
            n.parse().expect("count"),
        );
    }
    out
}

#[test]
fn the_dashboard_asks_for_an_admin_key_and_is_one_uncached_page() {
    let s = start();
    assert_eq!(s.get("/dashboard", None).status, 401);
    let r = s.get("/dashboard", Some(SCORE_KEY));
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "forbidden", "{}", r.body);
    for admin in [ADMIN_KEY, ACME_ADMIN_KEY] {
        let r = s.get("/dashboard", Some(admin));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert!(
            r.header("content-security-policy")
                .is_some_and(|c| c.starts_with("default-src 'none';")),
            "{:?}",
            r.headers
        );
        assert!(r.body.starts_with("<!doctype html>"));
        assert!(
            r.body
                .contains("<meta http-equiv=\"refresh\" content=\"5\">")
        );
        assert!(r.body.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"
        ));
        assert!(!r.body.contains("<script"));
        assert!(!r.body.contains(" src="));
        assert!(r.body.contains("reverse proxy"));
    }
}

#[test]
fn scores_show_up_by_channel_on_the_page_and_in_metrics() {
    let s = start();
    let web: Vec<Value> = (0..3)
        .map(|i| score(&s, SCORE_KEY, &format!("w{i}"), "web_widget", None))
        .collect();
    let whatsapp: Vec<Value> = (0..2)
        .map(|i| score(&s, SCORE_KEY, &format!("p{i}"), "whatsapp", Some("payment")))
        .collect();
    // An identical retry is answered as the first and not counted again.
    score(&s, SCORE_KEY, "w0", "web_widget", None);
    let page = s.get("/dashboard", Some(ADMIN_KEY)).body;
    assert!(
        page.contains(&decisions_row(
            "web_widget",
            &web.iter().collect::<Vec<_>>()
        )),
        "{page}"
    );
    assert!(page.contains(&decisions_row(
        "whatsapp",
        &whatsapp.iter().collect::<Vec<_>>()
    )));
    assert!(page.contains(&decisions_row("sms", &[])));
    assert!(page.contains("all tenants · "));
    assert!(page.contains(" · 5 decisions · model <code>"));
    // Latency: the six POST /v1/score requests.
    assert!(page.contains("<tr><td class=\"num\">6</td><td class=\"num\">≤ "));

    let metrics = decisions_metric(&s.get("/metrics", None).body);
    let count = |channel: &str, action: &str, decision: &str| {
        let k = (
            channel.to_string(),
            action.to_string(),
            decision.to_string(),
        );
        metrics.get(&k).copied().unwrap_or(0)
    };
    for d in DECISIONS {
        let on_web = web.iter().filter(|a| a["decision"] == d).count() as u64;
        let on_whatsapp = whatsapp.iter().filter(|a| a["decision"] == d).count() as u64;
        assert_eq!(count("web_widget", "login", d), on_web, "{d}");
        assert_eq!(count("whatsapp", "payment", d), on_whatsapp, "{d}");
    }
    assert_eq!(metrics.values().sum::<u64>(), 5, "{metrics:?}");
}

#[test]
fn a_tenant_admin_sees_only_its_own_tenant() {
    let s = start();
    let theirs: Vec<Value> = (0..2)
        .map(|i| score(&s, SCORE_KEY, &format!("d{i}"), "web_widget", None))
        .collect();
    let ours = score(&s, ACME_SCORE_KEY, "a0", "sms", None);
    let acme = s.get("/dashboard", Some(ACME_ADMIN_KEY)).body;
    assert!(acme.contains("tenant <b>acme</b> · "));
    assert!(acme.contains(" · 1 decisions</p>"), "{acme}");
    assert!(acme.contains(&decisions_row("sms", &[&ours])));
    assert!(acme.contains(&decisions_row("web_widget", &[])));
    // Latency: acme's one request, not the service's three.
    assert!(
        acme.contains("<tr><td class=\"num\">1</td><td class=\"num\">≤ "),
        "{acme}"
    );
    assert!(acme.contains("Requests made with this tenant's keys"));
    assert!(!acme.contains("<section id=\"tenants\">"));
    assert!(!acme.contains("<td>default</td>"));
    assert!(
        !acme.contains("model <code>"),
        "the operator's model is not shown"
    );
    let all = s.get("/dashboard", Some(ADMIN_KEY)).body;
    assert!(all.contains(&decisions_row("sms", &[&ours])));
    assert!(all.contains(&decisions_row(
        "web_widget",
        &theirs.iter().collect::<Vec<_>>()
    )));
    assert!(all.contains("<tr><td>acme</td><td class=\"num\">1</td></tr>"));
    assert!(all.contains("<tr><td>default</td><td class=\"num\">2</td></tr>"));
    assert!(all.contains("<tr><td class=\"num\">3</td><td class=\"num\">≤ "));
    // `/metrics` counts both tenants together.
    let metrics = decisions_metric(&s.get("/metrics", None).body);
    assert_eq!(metrics.values().sum::<u64>(), 3, "{metrics:?}");
}

#[test]
fn metrics_name_no_tenant_and_no_tenant_volume() {
    // `/metrics` answers anyone who reaches the port (Prometheus scrapes it without a key): it
    // must not tell who the tenants are or how much each scores.
    const NORTH_KEY: &str = "dashboard-test-northbank-score";
    const SOUTH_KEY: &str = "dashboard-test-southcredit-score";
    let s = common::http::start(|cfg, _| {
        cfg.server.keys.extend([
            key("north", "northbank", &["score"], NORTH_KEY),
            key("south", "southcredit", &["score"], SOUTH_KEY),
        ]);
    });
    score(&s, NORTH_KEY, "n0", "sms", None);
    score(&s, SOUTH_KEY, "s0", "sms", None);
    score(&s, SOUTH_KEY, "s1", "sms", None);
    let r = s.get("/metrics", None);
    assert_eq!(r.status, 200, "{}", r.body);
    for name in ["northbank", "southcredit", "tenant"] {
        assert!(!r.body.contains(name), "{name} on /metrics:\n{}", r.body);
    }
    // The scores are counted, as the service's.
    let metrics = decisions_metric(&r.body);
    assert_eq!(metrics.values().sum::<u64>(), 3, "{metrics:?}");
    assert!(
        metrics
            .keys()
            .all(|(channel, action, _)| channel == "sms" && action == "login"),
        "{metrics:?}"
    );
    assert!(
        r.body
            .contains("tessera_http_requests_total{route=\"/v1/score\",status=\"200\"} 3\n")
    );
}

#[test]
fn the_served_dashboard_opens_in_a_browser_and_draws_every_plot() {
    let s = start();
    let mut answers: Vec<(&str, Value)> = ["web_widget", "web_widget", "in_app", "whatsapp", "sms"]
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, score(&s, SCORE_KEY, &format!("b{i}"), c, None)))
        .collect();
    let first = score(&s, ACME_SCORE_KEY, "acme-1", "social", None);
    answers.push(("social", first.clone()));
    let outcome = json!({"kind": "outcome", "request_id": "acme-1", "user_id": "alice",
                         "timestamp": ts(0), "outcome": "otp_passed",
                         "receipt": first["receipt"]});
    let r = s.post("/v1/outcomes", ACME_SCORE_KEY, &outcome);
    assert_eq!(r.status, 200, "{}", r.body);
    let html = s.get("/dashboard", Some(ADMIN_KEY)).body;
    assert!(html.contains("<tr><td>otp_passed</td><td class=\"num\">1</td></tr>"));
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("dashboard.html");
    std::fs::write(&page, &html).expect("write");
    let loaded = browser::load(&page);
    assert_eq!(loaded.console, Vec::<String>::new(), "console messages");
    assert_eq!(loaded.dom.matches("<svg").count(), 5, "five inline plots");
    let plots = browser::probe(
        &html,
        "Array.from(document.querySelectorAll('svg')).map(s => { const r = s.getBoundingClientRect(); \
         return {id: s.id, w: r.width, h: r.height, \
                 line: Array.from(s.querySelectorAll('polyline')).filter(p => p.getAttribute('stroke') !== '#000000') \
                       .reduce((a, p) => a + p.getTotalLength(), 0), \
                 bars: s.querySelectorAll('rect[fill=\"#1F77B4\"], rect[fill=\"#FF7F0E\"], \
                                          rect[fill=\"#2CA02C\"], rect[fill=\"#D62728\"]').length}; })",
    );
    let plots = plots.as_array().expect("array");
    let ids: Vec<&str> = plots.iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "decisions_over_time",
            "decisions_by_channel",
            "top_reasons",
            "trust_scores",
            "outcomes"
        ]
    );
    for p in plots {
        let f = |k: &str| p[k].as_f64().unwrap_or(0.0);
        assert!(f("w") > 200.0 && f("h") > 200.0, "laid out: {p}");
    }
    let of = |id: &str, k: &str| -> f64 {
        plots
            .iter()
            .find(|p| p["id"] == id)
            .and_then(|p| p[k].as_f64())
            .unwrap_or(0.0)
    };
    // Five channels had decisions: five coloured lines across the hour, and their legend.
    assert!(of("decisions_over_time", "line") > 500.0, "{plots:?}");
    // Coloured bars: one per (channel, decision) seen, and the four decisions' legend swatches;
    // one per trust bin, reason code and outcome kind seen.
    let distinct = |key: &dyn Fn(&(&str, Value)) -> Vec<String>| -> f64 {
        answers.iter().flat_map(key).collect::<BTreeSet<_>>().len() as f64
    };
    let pairs = distinct(&|(c, a)| vec![format!("{c} {}", a["decision"])]);
    let bins = distinct(&|(_, a)| {
        let trust = a["trust_score"].as_u64().expect("trust");
        vec![(trust / 10).min(9).to_string()]
    });
    let codes = distinct(&|(_, a)| common::http::codes(a));
    assert_eq!(of("decisions_by_channel", "bars"), pairs + 4.0, "{plots:?}");
    assert_eq!(of("trust_scores", "bars"), bins, "{plots:?}");
    assert_eq!(of("top_reasons", "bars"), codes.min(15.0), "{plots:?}");
    assert_eq!(
        of("outcomes", "bars"),
        1.0,
        "one kind of outcome: {plots:?}"
    );
}

#[test]
fn the_grafana_dashboard_queries_only_metrics_the_server_exposes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana/tessera.json");
    let dash: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
    assert!(dash["schemaVersion"].as_u64().unwrap_or(0) >= 36);
    assert_eq!(dash["__inputs"][0]["name"], "DS_PROMETHEUS");
    assert_eq!(dash["__inputs"][0]["pluginId"], "prometheus");
    let panels = dash["panels"].as_array().expect("panels");
    for p in panels {
        assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}", "{}", p["title"]);
        assert!(
            !p["targets"].as_array().expect("targets").is_empty(),
            "{}",
            p["title"]
        );
    }
    let mut exprs = Vec::new();
    queries(&dash, &mut exprs);
    let used: BTreeSet<String> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    // The views the issue asks for.
    for name in [
        "tessera_decisions_total",
        "tessera_reasons_total",
        "tessera_http_request_duration_seconds",
        "tessera_shadow_agreement_total",
        "tessera_outcomes_total",
        "tessera_model_info",
    ] {
        assert!(used.contains(name), "{name} unused: {used:?}");
    }
    // No tenant variable and no filter on a label `/metrics` does not have.
    let raw = std::fs::read_to_string(&path).expect("read");
    assert!(!raw.contains("tenant=") && !raw.contains("$tenant"));
    assert_eq!(dash["templating"]["list"], json!([]));
    for e in &exprs {
        let allowed: BTreeSet<&str> = metric_names(e)
            .iter()
            .flat_map(|m| labels_of(m).unwrap_or_else(|| panic!("{m} not in LABELS")))
            .chain(["le"])
            .collect();
        for l in label_names(e) {
            assert!(
                allowed.contains(l.as_str()),
                "{e}: no label {l} on its metrics"
            );
        }
    }
    // A server that has scored (with a shadow model), applied an outcome and refused a reload:
    // every family is described, and every sample carries exactly the labels of LABELS.
    let s = common::http::start(|cfg, _| {
        cfg.model.shadow = "rules".into();
        cfg.server.keys.extend([
            key("scorer", "default", &["score"], SCORE_KEY),
            key(
                "acme-scorer",
                "acme",
                &["score", "outcomes"],
                ACME_SCORE_KEY,
            ),
        ]);
    });
    score(&s, SCORE_KEY, "g0", "web_widget", None);
    let first = score(&s, ACME_SCORE_KEY, "g1", "sms", None);
    let outcome = json!({"kind": "outcome", "request_id": "g1", "user_id": "alice",
                         "timestamp": ts(0), "outcome": "otp_passed",
                         "receipt": first["receipt"]});
    assert_eq!(s.post("/v1/outcomes", ACME_SCORE_KEY, &outcome).status, 200);
    let r = s.post(
        "/v1/admin/reload",
        ADMIN_KEY,
        &json!({"path": "absent.json"}),
    );
    assert_ne!(r.status, 200, "{}", r.body);
    let text = s.get("/metrics", None).body;
    for name in &used {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} is not exposed by /metrics"
        );
    }
    let mut seen = BTreeSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (family, got) = sample_labels(line);
        let want = labels_of(family).unwrap_or_else(|| panic!("{family} not in LABELS"));
        assert_eq!(got, want, "{line}");
        seen.insert(family.to_string());
    }
    let listed: BTreeSet<String> = LABELS.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(seen, listed, "every family has samples");
    assert_eq!(
        metric_names(
            "histogram_quantile(0.95, sum by (le) (rate(tessera_trust_score_bucket[5m])))"
        ),
        ["tessera_trust_score"]
    );
}
