//! Free IP-reputation lists (`[reputation]`) end to end, with the demo City and ASN databases
//! and **no** Anonymous-IP database (the paid MaxMind product most self-hosters lack): list
//! files set the anonymiser reasons and name their source, a clean address is not
//! `reputation_unavailable`, bad files stop start-up naming key, file and line, and both reloads
//! (`POST /v1/admin/reload`, SIGHUP on the real process) pick up changed files, keeping the old
//! lists when a file is bad. The list files are small and generated here.

mod common;

use std::path::Path;

use common::{
    PARIS_IP, T0, codes, device, engine, enroll_in_paris, memory_config, request, score, typing,
};
use serde_json::{Value, json};
use tessera::config::Config;
use tessera::domain::Decision;
use tessera::{Engine, ScoreResponse};

/// In the demo database's Paris range (AS64600), not in any list unless a test puts it there.
const PARIS_TOR_IP: &str = "31.0.99.1";
/// Demo Berlin range, AS64601 "Demo Broadband DE".
const BERLIN_IP: &str = "31.3.0.5";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write list file");
    p.display().to_string()
}

/// Memory store, demo City and ASN databases, no Anonymous-IP database.
fn no_anonymous_ip_db() -> Config {
    let mut cfg = memory_config();
    cfg.geo.anonymous_ip = "".into();
    cfg
}

/// A request from `ip` by `user`, enrolled in Paris, on the usual phone with typing.
fn usual(user: &str, id: &str, ip: &str) -> tessera::domain::ScoreRequest {
    request(
        user,
        id,
        T0,
        ip,
        device(&format!("{user}-phone"), "Europe/Paris", "fr-FR"),
        Some(typing(105.0, 190.0, 77)),
    )
}

fn reason<'a>(r: &'a ScoreResponse, code: &str) -> &'a tessera::domain::Reason {
    r.reasons
        .iter()
        .find(|x| x.code.as_str() == code)
        .unwrap_or_else(|| panic!("no {code} in {:?}", codes(r)))
}

#[test]
fn a_tor_exit_from_a_list_file_is_tor_exit_and_not_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = no_anonymous_ip_db();
    cfg.reputation.tor_exit = vec![write(
        dir.path(),
        "tor-exits.txt",
        "# Tor bulk exit list\n198.51.100.3\n31.0.99.1\n",
    )];
    let e = engine(&cfg);
    enroll_in_paris(&e, "ana", 6);
    let clean = score(&e, &usual("ana", "a1", PARIS_IP));
    assert_eq!(clean.decision, Decision::Allow, "{:?}", codes(&clean));
    let tor = score(&e, &usual("ana", "a2", PARIS_TOR_IP));
    assert_ne!(tor.decision, Decision::Allow, "{:?}", codes(&tor));
    assert!(
        !codes(&tor).contains(&"reputation_unavailable"),
        "{:?}",
        codes(&tor)
    );
    let r = reason(&tor, "tor_exit");
    assert!(r.contribution > 0.0, "{r:?}");
    assert_eq!(r.detail["source"], "tor_exit list");
    assert_eq!(r.detail["file"], "tor-exits.txt");
    assert_eq!(r.detail["asn"], 64600, "the ASN detail stays");
}

#[test]
fn a_vpn_network_from_a_cidr_list_is_anonymous_vpn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = no_anonymous_ip_db();
    cfg.reputation.vpn = vec![
        write(dir.path(), "other.txt", "203.0.113.0/24\n"),
        write(
            dir.path(),
            "x4b-vpn-ipv4.txt",
            "# generated\n31.0.128.0/17 ; provider\n2a0d::/16\n",
        ),
    ];
    let e = engine(&cfg);
    let r = score(&e, &usual("bo", "b1", "31.0.200.9"));
    let vpn = reason(&r, "anonymous_vpn");
    assert_eq!(vpn.detail["source"], "vpn list");
    assert_eq!(vpn.detail["file"], "x4b-vpn-ipv4.txt");
    assert!(!codes(&r).contains(&"tor_exit"), "{:?}", codes(&r));
    let r = score(&e, &usual("bo", "b2", "31.0.12.34"));
    assert!(
        !codes(&r).contains(&"anonymous_vpn"),
        "outside the /17: {:?}",
        codes(&r)
    );
}

#[test]
fn a_hosting_asn_from_a_csv_list_matches_the_asn_databases_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let asns = write(
        dir.path(),
        "bad-asn-list.csv",
        "ASN,Entity\n174,\"COGENT-174 - Cogent Communications, US\"\nAS64601,\"Demo DE\"\n",
    );
    let mut cfg = no_anonymous_ip_db();
    cfg.reputation.hosting_asns = vec![asns];
    let e = engine(&cfg);
    let r = score(&e, &usual("cy", "c1", BERLIN_IP));
    let hosting = reason(&r, "hosting_provider");
    assert_eq!(hosting.detail["source"], "hosting_asns list");
    assert_eq!(hosting.detail["file"], "bad-asn-list.csv");
    assert_eq!(hosting.detail["asn"], 64601);
    let r = score(&e, &usual("cy", "c2", PARIS_IP));
    assert!(
        !codes(&r).contains(&"hosting_provider"),
        "AS64600: {:?}",
        codes(&r)
    );
    assert!(
        !codes(&r).contains(&"reputation_unavailable"),
        "{:?}",
        codes(&r)
    );
    // Without an ASN database an AS-number list cannot answer, and with no Anonymous-IP
    // database either the deployment has no reputation source: absent by design (no reason,
    // no worst case), never a hosting flag.
    cfg.geo.asn = "".into();
    let e = engine(&cfg);
    let r = score(&e, &usual("cy", "c3", BERLIN_IP));
    assert!(
        !codes(&r).contains(&"reputation_unavailable"),
        "{:?}",
        codes(&r)
    );
    assert!(!r.sources.contains(tessera::domain::Source::Reputation));
    assert!(!codes(&r).contains(&"hosting_provider"), "{:?}", codes(&r));
}

#[test]
fn with_lists_and_no_anonymous_ip_database_a_clean_address_is_not_unavailable() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The issue: a City database alone, no lists, denied every request as
    // reputation_unavailable. Now reputation is absent by design: no reason, not in `sources`.
    let bare = engine(&no_anonymous_ip_db());
    enroll_in_paris(&bare, "dee", 6);
    let r = score(&bare, &usual("dee", "d1", PARIS_IP));
    assert!(
        !codes(&r).contains(&"reputation_unavailable"),
        "{:?}",
        codes(&r)
    );
    assert!(!r.sources.contains(tessera::domain::Source::Reputation));
    assert_eq!(r.decision, Decision::Allow, "{:?}", codes(&r));
    let mut cfg = no_anonymous_ip_db();
    cfg.reputation.tor_exit = vec![write(dir.path(), "tor.txt", "198.51.100.3\n")];
    let e = engine(&cfg);
    enroll_in_paris(&e, "dee", 6);
    let r = score(&e, &usual("dee", "d2", PARIS_IP));
    assert!(
        !codes(&r).contains(&"reputation_unavailable"),
        "{:?}",
        codes(&r)
    );
    assert_eq!(r.decision, Decision::Allow, "{:?}", codes(&r));
    assert!(r.sources.contains(tessera::domain::Source::Reputation));
}

#[test]
fn the_database_and_the_lists_are_ored_and_the_database_is_named_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The demo Anonymous-IP data flags 47.0.0.9 as a Tor exit (tests/common TOR_IP_DEMO).
    let mut cfg = memory_config();
    cfg.reputation.tor_exit = vec![write(dir.path(), "tor.txt", "47.0.0.9\n")];
    cfg.reputation.vpn = vec![write(dir.path(), "vpn.txt", "47.0.0.0/24\n")];
    let e = engine(&cfg);
    let r = score(&e, &usual("eve", "e1", common::TOR_IP_DEMO));
    assert_eq!(
        reason(&r, "tor_exit").detail["source"],
        "anonymous_ip database"
    );
    assert!(reason(&r, "tor_exit").detail.get("file").is_none());
    assert_eq!(reason(&r, "anonymous_vpn").detail["file"], "vpn.txt");
}

#[test]
fn a_malformed_list_line_stops_start_up_naming_key_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = no_anonymous_ip_db();
    cfg.reputation.vpn = vec![
        write(dir.path(), "ok.txt", "10.0.0.0/8\n"),
        write(
            dir.path(),
            "bad.netset",
            "# FireHOL\n10.1.0.0/16\n10.2.0.0/40\n",
        ),
    ];
    let err = Engine::from_config(&cfg)
        .err()
        .expect("bad line refused")
        .to_string();
    assert!(
        err.starts_with("reputation.vpn[1] (") && err.contains("bad.netset) line 3: "),
        "{err}"
    );
    assert!(!err.contains("10.2.0.0/40"), "never the value: {err}");
    let mut cfg = no_anonymous_ip_db();
    cfg.reputation.hosting_asns = vec![write(
        dir.path(),
        "asns.csv",
        "ASN,Entity\n1,a\n2,b\n# comment\n\n3,c\nDigitalOcean,14061\n",
    )];
    let err = Engine::from_config(&cfg)
        .err()
        .expect("bad ASN")
        .to_string();
    assert!(
        err.starts_with("reputation.hosting_asns[0] (")
            && err.ends_with("asns.csv) line 7: not an AS number"),
        "{err}"
    );
}

#[test]
fn engine_from_config_runs_the_config_check() {
    let mut cfg = no_anonymous_ip_db();
    cfg.reputation.proxy = vec!["  ".into()];
    let err = Engine::from_config(&cfg)
        .err()
        .expect("blank path")
        .to_string();
    assert_eq!(err, "config: reputation.proxy[0]: empty path");
    let mut cfg = memory_config();
    cfg.features.max_travel_speed_kmh = 5.0;
    let err = Engine::from_config(&cfg).err().expect("range").to_string();
    assert_eq!(
        err,
        "config: features.max_travel_speed_kmh: must be 100–20000"
    );
}

fn http_score(s: &common::http::Server, id: &str, ip: &str) -> Value {
    let body = json!({
        "schema": 1, "request_id": id, "user_id": "fay", "timestamp": common::http::ts(1),
        "channel": "web_widget", "network": {"ip": ip}, "auth": {"failed_attempts": 0}
    });
    let r = s.post("/v1/score", common::http::ADMIN_KEY, &body);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[test]
fn the_admin_reload_picks_up_changed_lists_and_a_failed_one_keeps_the_old() {
    use common::http::{ADMIN_KEY, codes as http_codes};
    let s = common::http::start(|cfg, dir| {
        cfg.geo.anonymous_ip = "".into();
        cfg.reputation.tor_exit = vec![write(dir, "tor.txt", "198.51.100.3\n")];
        cfg.reputation.proxy = vec![write(dir, "proxies.txt", "192.0.2.0/24\n")];
    });
    let tor_file = s.dir.path().join("tor.txt");
    let before = http_score(&s, "h1", PARIS_TOR_IP);
    assert!(
        !http_codes(&before).contains(&"tor_exit".to_string()),
        "{before}"
    );
    std::fs::write(&tor_file, "198.51.100.3\n31.0.99.1\n203.0.113.9\n").expect("rewrite");
    let r = s.post("/v1/admin/reload", ADMIN_KEY, &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["reputation_lists"],
        json!([
            {"key": "reputation.tor_exit[0]", "file": "tor.txt", "entries": 3},
            {"key": "reputation.proxy[0]", "file": "proxies.txt", "entries": 1},
        ])
    );
    let after = http_score(&s, "h2", PARIS_TOR_IP);
    assert!(
        http_codes(&after).contains(&"tor_exit".to_string()),
        "{after}"
    );
    // A bad proxy file refuses the reload; the Tor list as reloaded above keeps serving.
    std::fs::write(&tor_file, "198.51.100.3\n").expect("rewrite");
    std::fs::write(
        s.dir.path().join("proxies.txt"),
        "192.0.2.0/24\n192.0.2.300\n",
    )
    .expect("rewrite");
    let r = s.post("/v1/admin/reload", ADMIN_KEY, &json!({}));
    assert_eq!(r.status, 422, "{}", r.body);
    let err = &r.json()["error"];
    assert_eq!(err["code"], "lists_refused");
    assert_eq!(err["field"], "reputation.proxy[0]");
    let msg = err["message"].as_str().expect("message");
    assert!(msg.contains("proxies.txt) line 2: "), "{msg}");
    assert!(!msg.contains("192.0.2.300"), "{msg}");
    let kept = http_score(&s, "h3", PARIS_TOR_IP);
    assert!(
        http_codes(&kept).contains(&"tor_exit".to_string()),
        "{kept}"
    );
    let reloads: Vec<Value> = s
        .audit_lines()
        .into_iter()
        .filter(|l| l["method"] == "reload")
        .collect();
    assert_eq!(reloads.len(), 2, "{reloads:?}");
    assert_eq!(reloads[0]["outcome"], "ok");
    assert_eq!(
        reloads[0]["list_entries"],
        json!({"tor_exit": 3, "proxy": 1})
    );
    assert_eq!(reloads[1]["outcome"], "refused");
    assert_eq!(reloads[1]["reasons"], json!(["lists_refused"]));
    assert!(reloads[1].get("list_entries").is_none(), "{:?}", reloads[1]);
}

/// `tessera serve` as a real process: SIGHUP re-reads the list files.
#[cfg(unix)]
#[test]
fn sighup_reloads_the_lists_of_the_running_process() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Command, Stdio};
    const KEY: &str = "tsk_reputation_sighup_key_0123456789";
    let dir = tempfile::tempdir().expect("tempdir");
    let tor = write(dir.path(), "tor.txt", "198.51.100.3\n");
    let config = format!(
        "[geo]\nanonymous_ip = \"\"\n[reputation]\ntor_exit = [{tor:?}]\n\
         [retention]\nsweep_interval_s = 0\n"
    );
    std::fs::write(dir.path().join("tessera.toml"), config).expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(dir.path())
        .args([
            "serve",
            "--config",
            "tessera.toml",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("TESSERA_API_KEY", KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tessera serve");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().expect("stdout");
    let child = Kill(child);
    let addr = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("tessera: listening on http://")
                .map(str::to_string)
        })
        .expect("server listening");
    let score = |id: &str| -> Vec<String> {
        let body = json!({
            "schema": 1, "request_id": id, "user_id": "gus",
            "timestamp": common::http::ts(1), "channel": "web_widget",
            "network": {"ip": PARIS_TOR_IP}, "auth": {"failed_attempts": 0}
        })
        .to_string();
        let mut s = std::net::TcpStream::connect(&addr).expect("connect");
        write!(
            s,
            "POST /v1/score HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {KEY}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut raw = String::new();
        s.read_to_string(&mut raw).expect("read");
        let (_, text) = raw.split_once("\r\n\r\n").expect("response");
        let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {raw}"));
        common::http::codes(&v)
    };
    let before = score("s1");
    assert!(!before.contains(&"tor_exit".to_string()), "{before:?}");
    assert!(
        !before.contains(&"reputation_unavailable".to_string()),
        "{before:?}"
    );
    std::fs::write(&tor, "198.51.100.3\n31.0.99.1\n").expect("rewrite");
    let sent = Command::new("kill")
        .args(["-HUP", &child.0.id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(sent.success());
    // The reload runs on the server's own schedule: poll, bounded so a lost signal fails.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut n = 0;
    loop {
        n += 1;
        if score(&format!("s2-{n}")).contains(&"tor_exit".to_string()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no tor_exit 30 s after SIGHUP"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(child);
}
