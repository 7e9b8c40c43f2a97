//! Erasure and retention windows with known answers, on the memory store and on redb in a temp
//! dir (with some records flushed to the file and some only in its overlay), then end to end
//! through `Engine` configured with `[retention]` and the `tessera store expire` binary.

mod common;

use std::sync::Mutex;

use common::*;
use tessera::config::Backend;
use tessera::domain::{OutcomeKind, OutcomeRecord};
use tessera::privacy::Pseudonym;
use tessera::store::memory::MemoryStore;
use tessera::store::redb::RedbStore;
use tessera::store::{
    self, Durability, Erasure, ExpiryStats, KvRead, KvWrite, LearnConfig, Observation,
    PendingEvidence, ProfileStore, Retention, ScanVisitor, StoreError, SubjectKeys, Table,
    TableExpiry,
};

/// The sweep's clock.
const NOW: i64 = T0;
const MIN: i64 = 60_000;

fn p(b: u8) -> Pseudonym {
    Pseudonym([b; 16])
}

// Key ranges: users 1x, devices 2x, IPs 3x, requests 4x–6x.
const ALICE: u8 = 11;
const BOB: u8 = 12;

/// Scores a request by `user` at `at_ms` in the activity ledger, leaving pending evidence.
fn seen(s: &dyn ProfileStore, user: u8, device: Option<u8>, ip: Option<u8>, req: u8, at_ms: i64) {
    let keys = SubjectKeys {
        user: p(user),
        device: device.map(p),
        ip: ip.map(p),
    };
    let pending = PendingEvidence {
        user: p(user),
        at_ms,
        device: keys.device,
        ip: keys.ip,
        ..PendingEvidence::default()
    };
    let obs = Observation {
        keys,
        at_ms,
        failed: false,
        sketch: None,
        request: p(req),
        generated_id: false,
        pending: &pending,
    };
    store::record(s, &obs, &LearnConfig::default()).expect("record");
}

/// A verified outcome for `req` at `at_ms`: the user's profile learns.
fn verify(s: &dyn ProfileStore, user: u8, req: u8, at_ms: i64) {
    let input = store::OutcomeInput {
        request: p(req),
        user: p(user),
        outcome: OutcomeKind::OtpPassed,
        at_ms,
        receipt: None,
    };
    let effect = store::apply_outcome(s, &input, &LearnConfig::default()).expect("store");
    assert_eq!(effect.map(|a| a.effect), Ok(store::OutcomeEffect::Learned));
}

/// First key byte of every record in `table`, sorted.
fn keys(s: &dyn ProfileStore, table: Table) -> Vec<u8> {
    let mut out = Vec::new();
    s.scan(table, &mut |k, _| {
        out.push(k[0]);
        Ok(())
    })
    .expect("scan");
    out.sort();
    out
}

fn snapshot(s: &dyn ProfileStore, user: u8, device: u8, ip: u8) -> store::ProfileSnapshot {
    let keys = SubjectKeys {
        user: p(user),
        device: Some(p(device)),
        ip: Some(p(ip)),
    };
    store::snapshot(s, &keys).expect("snapshot")
}

/// Alice and Bob share device 21 and IP 31; Alice alone used device 22. `mid` runs half-way
/// (redb: flush, so the later records live only in the overlay).
fn erasure_case(s: &dyn ProfileStore, mid: &dyn Fn()) {
    seen(s, ALICE, Some(21), Some(31), 41, NOW - 120 * MIN);
    verify(s, ALICE, 41, NOW - 119 * MIN);
    seen(s, ALICE, Some(22), None, 42, NOW - 60 * MIN);
    seen(s, BOB, Some(21), Some(31), 43, NOW - 30 * MIN);
    mid();
    seen(s, ALICE, Some(21), Some(31), 44, NOW - 10 * MIN);
    let before = snapshot(s, BOB, 21, 31);
    assert!(before.device.users.contains(p(ALICE).short()));
    assert_eq!(before.device.users.len(), 2);

    let erased = store::erase_user(s, &p(ALICE)).expect("erase");
    assert_eq!(
        erased,
        Erasure {
            profile: true,
            activity: true,
            pending: 3, // 41 (learned, kept until its TTL), 42, 44
            devices: 2, // 21 edited, 22 left empty and deleted
            ips: 1,
            unreadable: 0,
        }
    );
    assert_eq!(keys(s, Table::Pending), vec![43], "Bob's evidence stays");
    assert_eq!(keys(s, Table::Device), vec![21]);
    assert_eq!(keys(s, Table::Profile), Vec::<u8>::new());
    assert_eq!(keys(s, Table::UserActivity), vec![BOB]);
    let after = snapshot(s, BOB, 21, 31);
    for users in [&after.device.users, &after.ip.users] {
        assert!(!users.contains(p(ALICE).short()) && users.contains(p(BOB).short()));
        assert_eq!(users.len(), 1);
    }
    // Per-IP tallies are anonymous and stay: 41, 43 and 44 came from IP 31.
    assert_eq!(after.ip.attempts.count_between(NOW - 3 * HOUR, NOW), 3);
    assert_eq!(
        after.user_activity.attempts.count_between(NOW - HOUR, NOW),
        1
    );
    assert_eq!(snapshot(s, ALICE, 21, 31).profile, None);
    // Nothing left to erase; Bob's pending request still verifies.
    let again = store::erase_user(s, &p(ALICE)).expect("erase again");
    assert_eq!((again, again.any()), (Erasure::default(), false));
    verify(s, BOB, 43, NOW);
}

#[test]
fn erasure_removes_pending_evidence_and_the_user_from_shared_records_in_memory() {
    erasure_case(&MemoryStore::new(), &|| {});
}

#[test]
fn erasure_removes_pending_evidence_and_the_user_from_shared_records_in_redb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("e.redb");
    {
        let s = RedbStore::open(&path).expect("open");
        erasure_case(&s, &|| s.flush().expect("flush"));
    }
    let s = RedbStore::open(&path).expect("reopen");
    let after = snapshot(&s, BOB, 21, 31);
    assert!(!after.device.users.contains(p(ALICE).short()));
    assert_eq!(keys(&s, Table::Device), vec![21], "the erasure was written");
}

const RET: Retention = Retention {
    activity_ms: 30 * DAY,
    profile_ms: 365 * DAY,
    pending_ms: 7 * DAY,
};

/// Records each one day either side of its window.
fn populate(s: &dyn ProfileStore, mid: &dyn Fn()) {
    seen(s, 1, Some(21), Some(31), 41, NOW - 366 * DAY);
    verify(s, 1, 41, NOW - 366 * DAY + MIN); // profile 1 last verified 366 days ago
    seen(s, 2, Some(22), Some(32), 42, NOW - 364 * DAY);
    verify(s, 2, 42, NOW - 364 * DAY + MIN);
    mid();
    seen(s, 3, Some(23), Some(33), 43, NOW - 31 * DAY);
    seen(s, 4, Some(23), Some(33), 44, NOW - 29 * DAY); // device 23, IP 33 stay, without user 3
    seen(s, 5, None, None, 45, NOW - 8 * DAY);
    seen(s, 6, None, None, 46, NOW - 6 * DAY);
}

fn expiry_case(s: &dyn ProfileStore, mid: &dyn Fn()) {
    populate(s, mid);
    let stats = store::expire(s, NOW, &RET).expect("expire");
    let t = |deleted, pruned| TableExpiry { deleted, pruned };
    assert_eq!(
        stats,
        ExpiryStats {
            profile: t(1, 0),
            user_activity: t(3, 0),
            device: t(2, 1),
            ip: t(2, 1),
            pending: t(5, 0),
            population: t(0, 0),
            unreadable: 0,
        }
    );
    assert_eq!(stats.deleted(), 13);
    assert_eq!(keys(s, Table::Profile), vec![2]);
    assert_eq!(keys(s, Table::UserActivity), vec![4, 5, 6]);
    assert_eq!(keys(s, Table::Device), vec![23]);
    assert_eq!(keys(s, Table::Ip), vec![33]);
    assert_eq!(keys(s, Table::Pending), vec![46]);
    let kept = snapshot(s, 4, 23, 33);
    for users in [&kept.device.users, &kept.ip.users] {
        assert!(users.contains(p(4).short()) && !users.contains(p(3).short()));
    }
    // A second sweep at the same time finds nothing.
    assert_eq!(
        store::expire(s, NOW, &RET).expect("again"),
        ExpiryStats::default()
    );
}

#[test]
fn retention_keeps_records_a_day_inside_the_window_and_drops_those_a_day_outside_in_memory() {
    expiry_case(&MemoryStore::new(), &|| {});
}

#[test]
fn retention_keeps_records_a_day_inside_the_window_and_drops_those_a_day_outside_in_redb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = RedbStore::open(&dir.path().join("r.redb")).expect("open");
    expiry_case(&s, &|| s.flush().expect("flush"));
}

type Hook<'a> = Box<dyn FnOnce(&dyn ProfileStore) + Send + 'a>;

/// A store that runs `hook` right after the first scan of `table`: a write landing between
/// the scan that picks candidates and the write that deletes them.
struct WriteAfterScan<'a> {
    inner: &'a dyn ProfileStore,
    table: Table,
    hook: Mutex<Option<Hook<'a>>>,
}

impl ProfileStore for WriteAfterScan<'_> {
    fn scan(&self, table: Table, f: &mut ScanVisitor<'_>) -> Result<(), StoreError> {
        self.inner.scan(table, f)?;
        if table == self.table
            && let Some(hook) = self.hook.lock().ok().and_then(|mut h| h.take())
        {
            hook(self.inner);
        }
        Ok(())
    }

    fn read(
        &self,
        f: &mut dyn FnMut(&mut dyn KvRead) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.inner.read(f)
    }

    fn write(
        &self,
        durability: Durability,
        f: &mut dyn FnMut(&mut dyn KvWrite) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.inner.write(durability, f)
    }
}

fn refreshed_case(s: &dyn ProfileStore) {
    populate(s, &|| {});
    let racing = WriteAfterScan {
        inner: s,
        table: Table::UserActivity,
        // User 3 (31 days quiet, a candidate) comes back after the scan, on a new device.
        hook: Mutex::new(Some(Box::new(|s: &dyn ProfileStore| {
            seen(s, 3, Some(24), None, 60, NOW - HOUR)
        }))),
    };
    let stats = store::expire(&racing, NOW, &RET).expect("expire");
    assert_eq!(
        stats.user_activity,
        TableExpiry {
            deleted: 2,
            pruned: 0
        },
        "user 3 was re-read and kept"
    );
    assert_eq!(keys(s, Table::UserActivity), vec![3, 4, 5, 6]);
}

#[test]
fn a_record_refreshed_between_scan_and_delete_is_kept_in_memory() {
    refreshed_case(&MemoryStore::new());
}

#[test]
fn a_record_refreshed_between_scan_and_delete_is_kept_in_redb() {
    let dir = tempfile::tempdir().expect("tempdir");
    refreshed_case(&RedbStore::open(&dir.path().join("w.redb")).expect("open"));
}

fn outcome(e: &tessera::Engine, req: &str, user: &str, at_ms: i64) -> Result<(), String> {
    e.record_outcome(&OutcomeRecord::new(
        req,
        user,
        &ts(at_ms),
        OutcomeKind::OtpPassed,
    ))
    .map(|_| ())
    .map_err(|e| e.to_string())
}

#[test]
fn engine_applies_configured_windows_and_erases_through_its_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = memory_config();
    cfg.store.backend = Backend::Embedded;
    cfg.store.path = dir.path().join("p.redb");
    cfg.privacy.key_file = dir.path().join("hash.key");
    cfg.retention.activity_days = 10;
    cfg.retention.profile_days = 30;
    cfg.retention.pending_hours = 24;
    cfg.check().expect("valid config");
    let e = engine(&cfg);
    let phone = |id: &str| device(id, "Europe/Paris", "fr-FR");
    let scored = |user: &str, id: &str, at: i64, dev: &str| {
        score(&e, &request(user, id, at, PARIS_IP, phone(dev), None));
    };
    scored("alice", "a1", NOW - 31 * DAY, "alice-phone");
    outcome(&e, "a1", "alice", NOW - 31 * DAY + 2 * MIN).expect("alice verified");
    scored("bob", "b1", NOW - 29 * DAY, "bob-phone");
    outcome(&e, "b1", "bob", NOW - 29 * DAY + 2 * MIN).expect("bob verified");
    scored("carol", "c1", NOW - 25 * HOUR, "carol-phone");
    scored("dave", "d1", NOW - 23 * HOUR, "shared-tablet");
    // pending_hours = 24 is the outcome deadline too: 25 hours on, carol's outcome is refused.
    let late = outcome(&e, "c1", "carol", NOW).expect_err("too late");
    assert!(late.contains("request_id"), "{late}");

    let stats = e.expire(NOW).expect("expire");
    assert_eq!(stats.profile.deleted, 1, "{stats:?}");
    // a1 and b1 (c1 went with its refused outcome; d1 is 23 hours old).
    assert_eq!(stats.pending.deleted, 2, "{stats:?}");
    assert_eq!(stats.user_activity.deleted, 2, "{stats:?}"); // alice, bob
    assert_eq!(e.export_profile("alice").expect("export"), None);
    let bob = e.export_profile("bob").expect("export").expect("bob kept");
    assert_eq!(bob.verified_count, 1);
    outcome(&e, "d1", "dave", NOW - 22 * HOUR).expect("dave's evidence survived the sweep");

    // Erin shares dave's tablet and the Paris IP; erasing dave leaves her there.
    scored("erin", "e1", NOW - 2 * HOUR, "shared-tablet");
    let erased = e.erase_user("dave").expect("erase");
    assert_eq!(
        (erased.profile, erased.activity, erased.pending),
        (true, true, 1)
    );
    assert_eq!((erased.devices, erased.ips), (1, 1));
    assert!(!e.erase_user("dave").expect("again").any());
    outcome(&e, "e1", "erin", NOW - HOUR).expect("erin's evidence stays");
}

/// Runs `tessera store expire --config c.toml` in `dir`.
fn store_expire(dir: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(dir)
        .args(["store", "expire", "--config", "c.toml"])
        .output()
        .expect("run")
}

#[test]
fn store_expire_subcommand_sweeps_the_configured_file_once_and_audits_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = tessera::engine::now_ms();
    {
        let s = RedbStore::open(&dir.path().join("p.redb")).expect("open");
        seen(&s, 1, Some(21), Some(31), 41, now - 3 * DAY);
        seen(&s, 2, Some(21), Some(31), 42, now - HOUR);
    } // drop flushes
    std::fs::write(
        dir.path().join("c.toml"),
        "[store]\npath = \"p.redb\"\n[privacy]\nkey_file = \"hash.key\"\n\
         [retention]\nactivity_days = 2\npending_hours = 48\n",
    )
    .expect("config");
    // The default audit log, relative to the working directory.
    let audit = dir.path().join("tessera-data/audit.jsonl");

    // While another writer (a running server) holds the audit log, nothing is swept.
    let held = tessera::audit::AuditLog::open(&audit, std::time::Duration::ZERO).expect("open");
    let out = store_expire(dir.path());
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another writer"), "{err}");
    drop(held);
    {
        let s = RedbStore::open(&dir.path().join("p.redb")).expect("reopen");
        assert_eq!(keys(&s, Table::Pending), vec![41, 42], "nothing deleted");
    }
    assert_eq!(std::fs::read_to_string(&audit).expect("log"), "");

    let out = store_expire(dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // User 1's activity and request 41 went; device 21 and IP 31 forgot user 1.
    assert_eq!(stats["user_activity"]["deleted"], 1, "{stats}");
    assert_eq!(stats["pending"]["deleted"], 1, "{stats}");
    assert_eq!(stats["device"]["pruned"], 1, "{stats}");
    assert_eq!(stats["ip"]["pruned"], 1, "{stats}");
    let s = RedbStore::open(&dir.path().join("p.redb")).expect("reopen");
    assert_eq!(keys(&s, Table::Pending), vec![42]);
    assert_eq!(keys(&s, Table::UserActivity), vec![2]);

    // One `retention` record with those counts, every table named, in an intact chain.
    let head = tessera::audit::verify(&audit).expect("intact chain");
    assert_eq!(head.records, 1);
    let line: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&audit).expect("log")).expect("JSON");
    let record = &line["record"];
    assert_eq!(record["method"], "retention");
    assert_eq!(
        record["deleted"],
        serde_json::json!({"profile": 0, "user_activity": 1, "device": 0, "ip": 0,
                           "pending": 1, "population": 0}),
        "{record}"
    );
    assert_eq!(
        record["pruned"],
        serde_json::json!({"profile": 0, "user_activity": 0, "device": 1, "ip": 1,
                           "pending": 0, "population": 0}),
        "{record}"
    );
    assert!(record.get("status").is_none(), "{record}");
}
