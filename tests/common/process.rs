//! The real `tessera serve` binary as a child process on a free loopback port, spoken to over
//! plain HTTP/1.1, and stopped with a real signal.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The admin key the child gets through `TESSERA_API_KEY`.
pub const PROCESS_KEY: &str = "tsk_process_test_key_0123456789";

pub struct ServeProcess {
    pub child: Child,
    pub addr: String,
}

/// Starts `tessera serve` in `dir` (defaults: redb store, audit and label logs under
/// `tessera-data/`) on a free loopback port and waits for its "listening on" line.
pub fn start(dir: &Path) -> ServeProcess {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("stderr.log"))
        .expect("stderr log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("TESSERA_API_KEY", PROCESS_KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("spawn tessera serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = match lines.next() {
            Some(Ok(l)) => l,
            other => {
                let _ = child.kill();
                let err = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
                panic!("server ended before listening ({other:?}): {err}");
            }
        };
        if let Some(a) = line.strip_prefix("tessera: listening on http://") {
            break a.trim().to_string();
        }
    };
    ServeProcess { child, addr }
}

impl ServeProcess {
    /// One HTTP/1.1 request on its own connection with the admin key; returns the status and
    /// the body.
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {PROCESS_KEY}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .expect("send");
        let mut raw = String::new();
        s.read_to_string(&mut raw).expect("read");
        let (head, text) = raw.split_once("\r\n\r\n").expect("response head");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("status code");
        (status, text.to_string())
    }

    /// A POST of `body`; returns the status and the JSON answer.
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let (status, text) = self.send("POST", path, Some(body));
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (status, json)
    }

    /// Sends `signal` with kill(1) and waits for the exit (bounded, so a hang fails the test
    /// rather than the run); returns the exit status.
    pub fn stop(mut self, signal: &str) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill {signal} {pid}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("server still running 60 s after kill {signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
