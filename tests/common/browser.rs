//! Headless Chromium for checking the pages Tessera writes (the model card; issue 12's report):
//! load a page from a file and get its DOM after load and every console message (errors,
//! Content-Security-Policy violations — a page that tries to load anything shows up here), or
//! run a probe script in a copy of the page and get its JSON answer. Chromium is Debian's
//! `chromium` package, which `.ci/run` installs; without it these helpers fail the test (never
//! skip). `TESSERA_CHROMIUM` names another binary.
//!
//! Console messages are read from Chromium's own log (`--enable-logging=stderr --v=0`, lines
//! with `:CONSOLE`), so no DevTools client crate is needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one page may take before Chromium is considered hung and killed (a guard against a
/// stuck CI job, not a performance threshold).
const HANG_GUARD: Duration = Duration::from_secs(180);

/// A page as Chromium saw it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// `document.documentElement.outerHTML` after the load event (`--dump-dom`).
    pub dom: String,
    /// Console messages, one per line, as Chromium logged them.
    pub console: Vec<String>,
}

/// The Chromium binary: `TESSERA_CHROMIUM`, else `chromium` or `chromium-browser` on `PATH`.
/// Panics (fails the test) when there is none.
pub fn chromium() -> PathBuf {
    if let Ok(p) = std::env::var("TESSERA_CHROMIUM") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "headless Chromium is required for this test and was not found (install Debian's \
         `chromium`, as .ci/run does, or set TESSERA_CHROMIUM)"
    );
}

/// Loads `page` (a file) in headless Chromium and returns its DOM and console messages.
pub fn load(page: &Path) -> Loaded {
    let page = std::fs::canonicalize(page).expect("page exists");
    let profile = tempfile::tempdir().expect("profile dir");
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .arg(format!("file://{}", page.display()))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let out = run_guarded(cmd);
    assert!(
        out.status.success(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    Loaded {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console: stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(String::from)
            .collect(),
    }
}

/// Runs `script` (a JavaScript expression) after `html` has loaded and returns its value,
/// JSON-encoded by the page. The page is copied with its Content-Security-Policy removed (it
/// would block the probe) into a temporary file; check the real page with [`load`] for console
/// errors and policy violations. Panics when the script throws.
pub fn probe(html: &str, script: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let without_csp: String = html
        .lines()
        .filter(|l| !l.contains("Content-Security-Policy"))
        .collect::<Vec<_>>()
        .join("\n");
    let probe = format!(
        "<script>try{{document.documentElement.setAttribute('data-probe',JSON.stringify({script}));}}\
         catch(e){{document.documentElement.setAttribute('data-probe-error',String(e));}}</script>"
    );
    let page = match without_csp.rfind("</body>") {
        Some(i) => format!("{}{probe}{}", &without_csp[..i], &without_csp[i..]),
        None => format!("{without_csp}{probe}"),
    };
    let path = dir.path().join("probe.html");
    std::fs::write(&path, page).expect("write probe page");
    let loaded = load(&path);
    if let Some(err) = attribute(&loaded.dom, "data-probe-error") {
        panic!("probe script failed: {err}");
    }
    let json = attribute(&loaded.dom, "data-probe").expect("probe answered");
    serde_json::from_str(&json).expect("probe answer is JSON")
}

/// The value of `name` on the root element of a dumped DOM, unescaped.
fn attribute(dom: &str, name: &str) -> Option<String> {
    let root = &dom[dom.find("<html")?..];
    let root = &root[..root.find('>')?];
    let at = root.find(&format!(" {name}=\""))? + name.len() + 3;
    let value = &root[at..];
    let value = &value[..value.find('"')?];
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

/// Runs `cmd` to completion, killing it after [`HANG_GUARD`].
fn run_guarded(mut cmd: Command) -> std::process::Output {
    let mut child = cmd.spawn().expect("chromium starts");
    // Drain both pipes on threads so a chatty Chromium never blocks on a full pipe.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut b).map(|_| b)
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut b).map(|_| b)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium hung for {} s and was killed",
                HANG_GUARD.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::process::Output {
        status,
        stdout: out_t.join().expect("stdout thread").expect("stdout read"),
        stderr: err_t.join().expect("stderr thread").expect("stderr read"),
    }
}
