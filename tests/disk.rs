//! Disks that fail under the real `tessera serve` process (`CARGO_BIN_EXE_tessera`): a torn last
//! audit line left by a crash, the label log on a full device (`/dev/full`), the audit log on a
//! full tmpfs. The tmpfs test mounts one, so these tests run as root; a mount that fails fails
//! the test (it never skips).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const KEY: &str = "disk-test-admin-key-0123456789";

/// A tmpfs of `size_kb` mounted on a fresh directory; unmounted on drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size_kb: u32) -> Tmpfs {
        std::fs::create_dir_all(dir).expect("mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_kb}k"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test needs root to mount a tmpfs (a real full disk), and `mount` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs {
            dir: dir.to_path_buf(),
        }
    }

    /// Writes a file until the file system is full; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.dir.join("fill");
        let mut f = std::fs::File::create(&path).expect("create filler");
        let chunk = vec![0u8; 512];
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling the tmpfs: {e}"),
            }
        }
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// A running `tessera serve`; killed on drop unless stopped.
struct Serve {
    child: Option<Child>,
    addr: String,
    stderr: PathBuf,
}

/// Writes a config for `dir` (store and key there) with these logs.
fn config(dir: &Path, audit_log: &Path, label_log: &Path) -> PathBuf {
    let path = dir.join("tessera.toml");
    let text = format!(
        "[store]\npath = {:?}\n[privacy]\nkey_file = {:?}\n[server]\naudit_log = {:?}\n\
         label_log = {:?}\n[retention]\nsweep_interval_s = 0\n",
        dir.join("profiles.redb"),
        dir.join("hash.key"),
        audit_log,
        label_log
    );
    std::fs::write(&path, text).expect("write config");
    path
}

fn serve(config: &Path, stderr: &Path) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .env("TESSERA_API_KEY", KEY)
        .env("TESSERA_LOG", "warn")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(stderr).expect("stderr file"))
        .spawn()
        .expect("start tessera serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut addr = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("stdout line");
        if let Some(a) = line.strip_prefix("tessera: listening on http://") {
            addr = Some(a.trim().to_string());
            break;
        }
    }
    let Some(addr) = addr else {
        let _ = child.wait();
        panic!(
            "tessera serve did not start: {}",
            std::fs::read_to_string(stderr).unwrap_or_default()
        );
    };
    Serve {
        child: Some(child),
        addr,
        stderr: stderr.to_path_buf(),
    }
}

impl Serve {
    /// One HTTP/1.1 request on its own connection; returns the status and the body.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(std::time::Duration::from_secs(120)))
            .expect("timeout");
        let body = body.map(Value::to_string).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\
             authorization: Bearer {KEY}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        s.write_all(head.as_bytes())
            .and_then(|()| s.write_all(body.as_bytes()))
            .expect("send");
        let mut reply = String::new();
        s.read_to_string(&mut reply).expect("reply");
        let (head, body) = reply.split_once("\r\n\r\n").expect("HTTP reply");
        assert!(
            !head.to_ascii_lowercase().contains("transfer-encoding"),
            "{head}"
        );
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("status");
        (status, body.to_string())
    }

    fn json(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let (status, text) = self.call(method, path, body);
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (status, v)
    }

    /// Scores a login for `user`; returns the status and the response.
    fn score(&self, user: &str, id: &str) -> (u16, Value) {
        let ts = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339();
        let req = json!({
            "schema": 1, "request_id": id, "user_id": user, "timestamp": ts,
            "channel": "web_widget", "network": {"ip": "31.0.12.34"},
            "device": {"id": format!("{user}-phone"), "platform": "iOS",
                       "timezone": "Europe/Paris", "languages": ["fr-FR"],
                       "screen": "390x844", "webdriver": false},
            "auth": {"failed_attempts": 0}
        });
        self.json("POST", "/v1/score", Some(&req))
    }

    /// Reports a passed OTP for a scored request (echoing its receipt when it has one).
    fn otp_passed(&self, user: &str, scored: &Value) -> (u16, Value) {
        let ts = (chrono::Utc::now() - chrono::Duration::minutes(4)).to_rfc3339();
        let mut body = json!({"kind": "outcome", "request_id": scored["request_id"],
                              "user_id": user, "timestamp": ts, "outcome": "otp_passed"});
        if let Some(receipt) = scored.get("receipt") {
            body["receipt"] = receipt.clone();
        }
        self.json("POST", "/v1/outcomes", Some(&body))
    }

    /// Stops the server as an operator would (SIGINT) and waits for a clean exit.
    fn stop(mut self) {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill -INT");
        assert!(status.success());
        let exit = child.wait().expect("wait");
        assert!(
            exit.success(),
            "{exit}: {}",
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        );
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn verify_cli(audit: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["audit", "verify"])
        .arg(audit)
        .output()
        .expect("run tessera audit verify");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn side_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().contains(".torn-"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_torn_last_audit_line_is_moved_aside_and_serve_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let cfg = config(dir.path(), &audit, &dir.path().join("labels.jsonl"));
    let log = dir.path().join("stderr.txt");
    let s = serve(&cfg, &log);
    assert_eq!(s.score("alice", "a1").0, 200);
    s.stop();
    let whole = std::fs::read_to_string(&audit).expect("audit");
    let records = whole.lines().count();
    assert_eq!(records, 1, "{whole}");
    // A crash in the middle of the next write: half a record, no newline.
    let last = whole.lines().last().expect("a record");
    let torn = &last[..last.len() / 2];
    std::fs::write(&audit, format!("{whole}{torn}")).expect("tear");
    let copy = dir.path().join("copy");
    std::fs::create_dir(&copy).expect("mkdir");
    std::fs::copy(&audit, copy.join("audit.jsonl")).expect("copy");

    let s = serve(&cfg, &log);
    let warned = std::fs::read_to_string(&log).expect("stderr");
    assert!(
        warned.contains("torn last line moved aside"),
        "a warning: {warned}"
    );
    assert_eq!(s.json("GET", "/readyz", None).0, 200);
    assert_eq!(s.score("alice", "a2").0, 200);
    s.stop();

    let sides = side_files(dir.path());
    assert_eq!(sides.len(), 1, "{sides:?}");
    assert_eq!(std::fs::read(&sides[0]).expect("side"), torn.as_bytes());
    let side_name = sides[0].file_name().expect("name").to_string_lossy();
    let text = std::fs::read_to_string(&audit).expect("audit");
    assert!(text.starts_with(&whole), "whole records kept");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[1].contains("\"method\":\"recovery\""), "{}", lines[1]);
    assert!(lines[2].contains("\"request_id\":\"a2\""), "{}", lines[2]);
    // Before the server moved it aside, `audit verify` named the torn line.
    let (code, out) = verify_cli(&copy.join("audit.jsonl"));
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("line 2: torn last line"), "{out}");
    let (code, out) = verify_cli(&audit);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(": ok, 3 records, last hash "), "{out}");
    assert!(
        out.contains(&format!(
            "recovery at record 2: {} bytes moved aside to {side_name}",
            torn.len()
        )),
        "{out}"
    );
}

#[test]
fn a_full_label_log_fails_the_outcome_and_readiness_and_teaches_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let cfg = config(dir.path(), &audit, Path::new("/dev/full"));
    let s = serve(&cfg, &dir.path().join("stderr.txt"));
    assert_eq!(s.json("GET", "/readyz", None).1["status"], "ready");
    let (status, scored) = s.score("bob", "b1");
    assert_eq!(status, 200, "{scored}");
    let (status, reply) = s.otp_passed("bob", &scored);
    assert_eq!(status, 500, "{reply}");
    assert_eq!(reply["error"]["code"], "internal", "{reply}");

    let (status, ready) = s.json("GET", "/readyz", None);
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["status"], "not_ready");
    let failing = ready["failing"].as_array().expect("failing");
    assert_eq!(failing.len(), 1, "{ready}");
    assert_eq!(failing[0]["source"], "label_log");
    let problem = failing[0]["problem"].as_str().expect("problem");
    assert!(
        problem.starts_with("appends refused: write or sync failed: No space left on device"),
        "{problem}"
    );
    // The outcome was audited before its label line was tried, then marked failed: the log
    // never claims a change that was not made.
    let text = std::fs::read_to_string(&audit).expect("audit");
    let outcomes: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"method\":\"outcome\""))
        .collect();
    assert_eq!(outcomes.len(), 2, "{text}");
    assert!(outcomes[1].contains("\"status\":\"failed\""), "{text}");

    // The refused outcome taught the profile nothing (the score alone counts as an attempt).
    let (status, export) = s.json("GET", "/v1/users/bob/profile", None);
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["profile"]["recent_attempts"], 1, "{export}");
    assert_eq!(
        (
            &export["profile"]["verified_count"],
            &export["profile"]["devices"]
        ),
        (&json!(0), &json!([])),
        "an outcome answered 500 taught the profile: {export}"
    );
}

#[test]
fn a_full_audit_disk_fails_requests_and_readiness_and_erases_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fs = Tmpfs::mount(&dir.path().join("audit-fs"), 64);
    let audit = fs.dir.join("audit.jsonl");
    let cfg = config(dir.path(), &audit, &dir.path().join("labels.jsonl"));
    let log = dir.path().join("stderr.txt");
    let s = serve(&cfg, &log);
    for id in ["c1", "c2"] {
        let (status, scored) = s.score("carol", id);
        assert_eq!(status, 200, "{scored}");
        let (status, reply) = s.otp_passed("carol", &scored);
        assert_eq!(status, 200, "{reply}");
    }
    let (status, before) = s.json("GET", "/v1/users/carol/profile", None);
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["profile"]["verified_count"], 2, "{before}");

    let fill = fs.fill();
    // The audit file's last page may still hold a record or a few (tmpfs counts whole
    // pages); a 4 KiB page holds fewer than 16 score records.
    let mut accepted = 0;
    let failed = (0..16).find_map(|n| {
        let (status, reply) = s.score("dave", &format!("d{n}"));
        if status == 200 {
            accepted += 1;
            None
        } else {
            Some((status, reply))
        }
    });
    let (status, reply) = failed.expect("a score failed once the disk was full");
    assert_eq!(status, 500, "{reply}");
    assert!(accepted < 16);
    let (status, ready) = s.json("GET", "/readyz", None);
    assert_eq!(status, 503, "{ready}");
    let failing = ready["failing"].as_array().expect("failing");
    assert_eq!(failing.len(), 1, "{ready}");
    assert_eq!(failing[0]["source"], "audit_log");
    let problem = failing[0]["problem"].as_str().expect("problem");
    assert!(
        problem.starts_with("appends refused: write or sync failed: No space left on device"),
        "{problem}"
    );
    // Refused from now on, even where a record would fit.
    std::fs::remove_file(&fill).expect("free space");
    assert_eq!(s.score("dave", "d99").0, 500);
    let fill = fs.fill();
    let (status, reply) = s.json("DELETE", "/v1/users/carol", None);
    assert_eq!(status, 500, "{reply}");
    s.stop();

    std::fs::remove_file(&fill).expect("free space");
    let (code, out) = verify_cli(&audit);
    assert_eq!(code, Some(0), "the chain is whole: {out}");
    let s = serve(&cfg, &log);
    assert_eq!(s.json("GET", "/readyz", None).0, 200);
    // The erasure is audited before the store change: the erasure answered
    // 500 left the user's data in place.
    let (status, after) = s.json("GET", "/v1/users/carol/profile", None);
    assert_eq!(
        status, 200,
        "an erasure answered 500 erased the user: {after}"
    );
    assert_eq!(after["profile"], before["profile"]);
    s.stop();
}
