//! A real `tessera serve` on a loopback port (127.0.0.1:0) inside the test process, with a real
//! HTTP client (reqwest), redb, the audit log and the label log in a temp dir.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use tessera::Engine;
use tessera::config::{ApiKeyConfig, Config};
use tessera::server::{AppState, auth, serve};

/// The all-scope key of the default tenant (what `TESSERA_API_KEY` gives).
pub const ADMIN_KEY: &str = "test-admin-key-0123456789";

pub struct Server {
    pub rt: tokio::runtime::Runtime,
    pub base: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The value of header `name`, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// A key of `tenant` with `scopes`, as `[[server.keys]]` would hold it.
pub fn key(id: &str, tenant: &str, scopes: &[&str], secret: &str) -> ApiKeyConfig {
    ApiKeyConfig {
        id: id.into(),
        tenant: tenant.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        hash: auth::hash_key(secret),
    }
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// Starts a server on a temp dir; `tweak` edits the config first.
pub fn start(tweak: impl FnOnce(&mut Config, &Path)) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = Config::default();
    cfg.store.path = dir.path().join("profiles.redb");
    cfg.privacy.key_file = dir.path().join("hash.key");
    cfg.server.audit_log = path_str(&dir.path().join("audit.jsonl"));
    cfg.server.label_log = path_str(&dir.path().join("labels.jsonl"));
    tweak(&mut cfg, dir.path());
    cfg.check().expect("valid config");
    let engine = Engine::from_config(&cfg).expect("engine");
    let state = Arc::new(AppState::new(engine, &cfg, Some(ADMIN_KEY)).expect("state"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    rt.spawn(serve(listener, state, std::future::pending()));
    Server {
        rt,
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        dir,
    }
}

impl Server {
    pub fn send(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<(&str, String)>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.client.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            rb = rb.header("authorization", format!("Bearer {k}"));
        }
        if let Some((ctype, text)) = body {
            rb = rb.header("content-type", ctype).body(text);
        }
        self.rt.block_on(async {
            let resp = rb.send().await.expect("send");
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let headers = resp.headers().clone();
            let body = resp.text().await.expect("body");
            Reply {
                status,
                retry_after,
                body,
                headers,
            }
        })
    }

    pub fn post(&self, path: &str, key: &str, body: &Value) -> Reply {
        self.send(
            "POST",
            path,
            Some(key),
            Some(("application/json", body.to_string())),
        )
    }

    pub fn get(&self, path: &str, key: Option<&str>) -> Reply {
        self.send("GET", path, key, None)
    }

    pub fn audit_path(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    /// The audit log's records (each line's `record`), in order.
    pub fn audit_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(self.audit_path())
            .expect("audit log")
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("audit line");
                v["record"].clone()
            })
            .collect()
    }
}

/// Now minus `ago_min` minutes, RFC 3339.
pub fn ts(ago_min: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(ago_min)).to_rfc3339()
}

pub fn codes(resp: &Value) -> Vec<String> {
    resp["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r["code"].as_str().expect("code").to_string())
        .collect()
}
