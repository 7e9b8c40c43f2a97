//! Unit tests of [`super::RedbStore`]: overlay, checkpoint, write-ahead log replay after a
//! crash, format stamp.

use super::*;

/// What the file itself holds under `key` (the overlay ignored).
fn in_file(store: &RedbStore, table: Table, k: u8) -> Option<Vec<u8>> {
    let txn = store.inner.db.begin_read().expect("read");
    let table = txn.open_table(def(table)).expect("table");
    table
        .get([k; 16].as_slice())
        .expect("get")
        .map(|v| v.value().to_vec())
}

fn put(store: &RedbStore, d: Durability, table: Table, k: u8, value: &[u8]) {
    store
        .write(d, &mut |kv| kv.put(table, &[k; 16], value.to_vec()))
        .expect("write");
}

fn get(store: &RedbStore, table: Table, k: u8) -> Option<Vec<u8>> {
    let mut out = None;
    store
        .read(&mut |kv| {
            out = kv.get(table, &[k; 16])?;
            Ok(())
        })
        .expect("read");
    out
}

/// Waits for [`ProfileStore::on_durable`].
fn durable(store: &RedbStore) -> Result<(), StoreError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    store.on_durable(Box::new(move |r| {
        let _ = tx.send(r);
    }));
    rx.recv().expect("on_durable reports")
}

#[test]
fn replay_after_a_crash_restores_relaxed_and_durable_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.redb");
    let s = RedbStore::open(&path).expect("open");
    put(&s, Durability::Relaxed, Table::Ip, 1, b"counted");
    put(&s, Durability::Relaxed, Table::Pending, 2, b"evidence");
    s.write(Durability::Relaxed, &mut |kv| {
        kv.remove(Table::Ip, &[1; 16])
    })
    .expect("remove");
    put(&s, Durability::Relaxed, Table::Ip, 3, b"ip");
    durable(&s).expect("relaxed writes synced");
    put(&s, Durability::Durable, Table::Profile, 4, b"profile");
    s.crash(); // no checkpoint: the file holds none of it
    let s = RedbStore::open(&path).expect("reopen replays the log");
    assert_eq!(
        in_file(&s, Table::Pending, 2).as_deref(),
        Some(&b"evidence"[..])
    );
    assert_eq!(
        in_file(&s, Table::Profile, 4).as_deref(),
        Some(&b"profile"[..])
    );
    assert_eq!(in_file(&s, Table::Ip, 3).as_deref(), Some(&b"ip"[..]));
    assert_eq!(in_file(&s, Table::Ip, 1), None, "the removal replayed too");
    assert_eq!(
        std::fs::read_dir(wal_dir(&path)).expect("wal dir").count(),
        0,
        "replayed segments are deleted"
    );
}

#[test]
fn a_durable_write_is_never_undone_by_an_older_relaxed_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("o.redb");
    let s = RedbStore::open(&path).expect("open");
    // In one log segment: replay must apply frames in the order they were written.
    put(&s, Durability::Relaxed, Table::Profile, 7, b"old");
    put(&s, Durability::Durable, Table::Profile, 7, b"new");
    // Across a checkpoint: the flusher freezes a batch holding "old", a durable "new" is
    // acknowledged, then the flusher commits the older batch.
    put(&s, Durability::Relaxed, Table::Profile, 8, b"old");
    let frozen = s.inner.freeze().expect("freeze").expect("batch");
    put(&s, Durability::Durable, Table::Profile, 8, b"new");
    s.inner.checkpoint(&frozen).expect("checkpoint");
    assert_eq!(in_file(&s, Table::Profile, 8).as_deref(), Some(&b"old"[..]));
    assert_eq!(get(&s, Table::Profile, 8).as_deref(), Some(&b"new"[..]));
    s.crash();
    let s = RedbStore::open(&path).expect("reopen");
    assert_eq!(get(&s, Table::Profile, 7).as_deref(), Some(&b"new"[..]));
    assert_eq!(get(&s, Table::Profile, 8).as_deref(), Some(&b"new"[..]));
}

#[test]
fn a_torn_last_frame_is_dropped_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.redb");
    let s = RedbStore::open(&path).expect("open");
    put(&s, Durability::Durable, Table::Ip, 1, b"acknowledged");
    put(&s, Durability::Durable, Table::Ip, 2, b"torn");
    s.crash();
    let segment = std::fs::read_dir(wal_dir(&path))
        .expect("wal dir")
        .map(|e| e.expect("entry").path())
        .next()
        .expect("one segment");
    let bytes = std::fs::read(&segment).expect("read");
    std::fs::write(&segment, &bytes[..bytes.len() - 3]).expect("tear");
    let s = RedbStore::open(&path).expect("reopen");
    assert_eq!(get(&s, Table::Ip, 1).as_deref(), Some(&b"acknowledged"[..]));
    assert_eq!(get(&s, Table::Ip, 2), None);
}

#[test]
fn after_a_log_failure_every_write_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = RedbStore::open(&dir.path().join("f.redb")).expect("open");
    put(&s, Durability::Relaxed, Table::Ip, 1, b"before");
    assert_eq!(s.health(), Ok(()));
    s.inner.wal.fail("fdatasync: EIO");
    for d in [Durability::Relaxed, Durability::Durable] {
        let err = s
            .write(d, &mut |kv| kv.put(Table::Ip, &[2; 16], b"after".to_vec()))
            .expect_err("refused");
        assert!(err.to_string().contains("fdatasync: EIO"), "{err}");
    }
    assert!(
        durable(&s).is_err(),
        "the unsynced write is not reported durable"
    );
    assert_eq!(
        s.health(),
        Err("write-ahead log: fdatasync: EIO".to_string())
    );
    assert_eq!(get(&s, Table::Ip, 2), None, "nothing applied");
}

#[test]
fn a_file_of_another_store_format_is_refused_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.redb");
    {
        let db = Database::create(&path).expect("create");
        let txn = db.begin_write().expect("txn");
        txn.open_table(def(Table::Profile)).expect("table");
        txn.commit().expect("commit");
    }
    let err = RedbStore::open(&path).expect_err("unstamped file");
    assert!(err.to_string().contains("store format 1"), "{err}");
    let fresh = dir.path().join("new.redb");
    drop(RedbStore::open(&fresh).expect("new file"));
    drop(RedbStore::open(&fresh).expect("reopen, same format"));
    {
        let db = Database::create(&fresh).expect("open");
        let txn = db.begin_write().expect("txn");
        txn.open_table(META)
            .expect("meta")
            .insert("format", 99)
            .expect("stamp");
        txn.commit().expect("commit");
    }
    let err = RedbStore::open(&fresh).expect_err("future format");
    assert!(err.to_string().contains("store format 99"), "{err}");
}

#[test]
fn relaxed_writes_are_read_back_at_once_and_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.redb");
    {
        let s = RedbStore::open(&path).expect("open");
        s.write(Durability::Relaxed, &mut |kv| {
            kv.put(Table::Ip, &[1; 16], b"relaxed".to_vec())
        })
        .expect("relaxed");
        let mut seen = None;
        s.read(&mut |kv| {
            seen = kv.get(Table::Ip, &[1; 16])?;
            Ok(())
        })
        .expect("read");
        assert_eq!(
            seen.as_deref(),
            Some(&b"relaxed"[..]),
            "overlay is read first"
        );
        // A failed relaxed write leaves nothing behind.
        let r = s.write(Durability::Relaxed, &mut |kv| {
            kv.put(Table::Ip, &[2; 16], b"x".to_vec())?;
            Err(StoreError::Backend("abort".into()))
        });
        assert!(r.is_err());
        s.write(Durability::Durable, &mut |kv| {
            kv.put(Table::Profile, &[3; 16], b"durable".to_vec())
        })
        .expect("durable");
        s.write(Durability::Relaxed, &mut |kv| {
            kv.remove(Table::Ip, &[1; 16])
        })
        .expect("remove");
    } // drop flushes
    let s = RedbStore::open(&path).expect("reopen");
    let mut got = Vec::new();
    s.read(&mut |kv| {
        got.push(kv.get(Table::Ip, &[1; 16])?);
        got.push(kv.get(Table::Ip, &[2; 16])?);
        got.push(kv.get(Table::Profile, &[3; 16])?);
        Ok(())
    })
    .expect("read");
    assert_eq!(got, vec![None, None, Some(b"durable".to_vec())]);
}

#[test]
fn scan_merges_unflushed_writes_over_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.redb");
    let scan = |s: &RedbStore| {
        let mut seen = std::collections::BTreeMap::new();
        s.scan(Table::Ip, &mut |k, v| {
            seen.insert(k[0], v.to_vec());
            Ok(())
        })
        .expect("scan");
        seen
    };
    let want = std::collections::BTreeMap::from([
        (1, b"a".to_vec()),
        (2, b"B".to_vec()),
        (4, b"d".to_vec()),
    ]);
    {
        let s = RedbStore::open(&path).expect("open");
        s.write(Durability::Durable, &mut |kv| {
            for (k, v) in [(1u8, b"a"), (2, b"b"), (3, b"c")] {
                kv.put(Table::Ip, &[k; 16], v.to_vec())?;
            }
            kv.put(Table::Device, &[1; 16], b"device".to_vec())
        })
        .expect("durable");
        s.flush().expect("flush"); // the file holds 1, 2, 3; the overlay only a clean cache
        s.write(Durability::Relaxed, &mut |kv| {
            kv.put(Table::Ip, &[2; 16], b"B".to_vec())?;
            kv.remove(Table::Ip, &[3; 16])?;
            kv.put(Table::Ip, &[4; 16], b"d".to_vec())
        })
        .expect("relaxed");
        // Newest wins, the tombstone hides 3, the unflushed 4 is seen, other tables are not.
        assert_eq!(scan(&s), want);
    }
    assert_eq!(scan(&RedbStore::open(&path).expect("reopen")), want);
}

#[test]
fn scans_see_each_record_once_while_relaxed_writes_and_flushes_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RedbStore::open(&dir.path().join("w.redb")).expect("open");
    let key = |i: u16| {
        let mut k = [0u8; 16];
        k[..2].copy_from_slice(&i.to_le_bytes());
        k
    };
    let put = |s: &RedbStore, i: u16, round: u16| {
        s.write(Durability::Relaxed, &mut |kv| {
            kv.put(Table::Ip, &key(i), round.to_le_bytes().to_vec())
        })
        .expect("write");
    };
    for i in 0..100 {
        put(&store, i, 0);
        if i == 50 {
            store.flush().expect("flush"); // half in the file, half only in the overlay
        }
    }
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for round in 1..=20u16 {
                for i in 0..100 {
                    put(&store, i, round); // rewrites
                }
                put(&store, 1_000 + round, round); // new records
                store.flush().expect("flush");
            }
        });
        for _ in 0..20 {
            let mut seen = std::collections::HashMap::new();
            store
                .scan(Table::Ip, &mut |k, _| {
                    *seen.entry(u16::from_le_bytes([k[0], k[1]])).or_insert(0) += 1;
                    Ok(())
                })
                .expect("scan");
            for i in 0..100 {
                assert_eq!(seen.get(&i), Some(&1), "record {i} seen once");
            }
            assert!(seen.values().all(|&n| n == 1), "{seen:?}");
        }
    });
}

#[test]
fn concurrent_increments_survive_flushes_and_durable_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(RedbStore::open(&dir.path().join("c.redb")).expect("open"));
    let bump = |s: &RedbStore, d: Durability| {
        s.write(d, &mut |kv| {
            let n = kv
                .get(Table::Ip, &[9; 16])?
                .map_or(0u32, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            kv.put(Table::Ip, &[9; 16], (n + 1).to_le_bytes().to_vec())
        })
        .expect("write");
    };
    std::thread::scope(|scope| {
        for t in 0..2 {
            let s = Arc::clone(&store);
            scope.spawn(move || {
                for i in 0..400 {
                    let d = if t == 0 && i % 50 == 0 {
                        Durability::Durable
                    } else {
                        Durability::Relaxed
                    };
                    bump(&s, d);
                }
            });
        }
        let s = Arc::clone(&store);
        scope.spawn(move || {
            for _ in 0..20 {
                s.flush().expect("flush");
            }
        });
    });
    let read = |s: &RedbStore| {
        let mut n = 0u32;
        s.read(&mut |kv| {
            n = kv
                .get(Table::Ip, &[9; 16])?
                .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            Ok(())
        })
        .expect("read");
        n
    };
    assert_eq!(read(&store), 800);
    let path = dir.path().join("c.redb");
    drop(Arc::try_unwrap(store).expect("sole owner"));
    assert_eq!(
        read(&RedbStore::open(&path).expect("reopen")),
        800,
        "flushed on drop"
    );
}

#[test]
fn reads_after_a_checkpoint_see_the_committed_batch_not_an_older_file_snapshot() {
    // Pending evidence is not kept in the read cache after a checkpoint: it is read from the
    // file. A file snapshot taken before the commit (by a read that missed) must not survive
    // it, or the evidence would look absent (an id check failing open, an outcome refused).
    let dir = tempfile::tempdir().expect("tempdir");
    let s = RedbStore::open(&dir.path().join("v.redb")).expect("open");
    put(&s, Durability::Relaxed, Table::Pending, 1, b"first");
    assert_eq!(
        get(&s, Table::Pending, 9),
        None,
        "a miss opens the snapshot"
    );
    s.flush().expect("checkpoint");
    assert_eq!(
        get(&s, Table::Pending, 1).as_deref(),
        Some(&b"first"[..]),
        "read from the file after the checkpoint"
    );
    put(&s, Durability::Relaxed, Table::Pending, 2, b"second");
    s.flush().expect("second checkpoint");
    assert_eq!(get(&s, Table::Pending, 2).as_deref(), Some(&b"second"[..]));
    assert_eq!(get(&s, Table::Pending, 1).as_deref(), Some(&b"first"[..]));
}

#[test]
fn a_format_4_file_is_upgraded_with_its_profiles_readable() {
    use crate::store::records::UserProfile;
    use crate::store::upgrade::v4;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("four.redb");
    let old = v4::UserProfile {
        verified_count: 2,
        first_verified_ms: 5,
        last_verified_ms: 9,
        devices: vec![v4::KnownDevice {
            key: crate::privacy::Pseudonym([3; 16]),
            first_verified_ms: 5,
            last_verified_ms: 9,
            count: 2,
        }],
        places: Vec::new(),
        last_fix: None,
        home: None,
        hours: [0.0; 24],
        typing_desktop: None,
        typing_mobile: None,
    };
    {
        let db = Database::create(&path).expect("create");
        let txn = db.begin_write().expect("txn");
        txn.open_table(META)
            .expect("meta")
            .insert("format", 4)
            .expect("stamp");
        txn.open_table(def(Table::Profile))
            .expect("profiles")
            .insert(
                [1u8; 16].as_slice(),
                postcard::to_stdvec(&old).expect("v4").as_slice(),
            )
            .expect("insert");
        txn.commit().expect("commit");
    }
    let s = RedbStore::open(&path).expect("upgrade");
    let bytes = get(&s, Table::Profile, 1).expect("profile kept");
    let p: UserProfile = postcard::from_bytes(&bytes).expect("current profile");
    assert_eq!(p.verified_count, 2);
    assert_eq!(p.devices.len(), 1);
    assert_eq!(p.devices[0].fraud_ms, None);
    drop(s);
    let db = Database::create(&path).expect("open");
    let txn = db.begin_read().expect("read");
    let stamp = txn
        .open_table(META)
        .expect("meta")
        .get("format")
        .expect("get")
        .map(|v| v.value());
    assert_eq!(stamp, Some(STORE_FORMAT));
}

#[test]
fn a_format_5_file_is_upgraded_in_place_and_learns_attributes_after() {
    use crate::store::records::{KnownDevice, PendingEvidence, UserProfile};
    use crate::store::upgrade::v5;
    use crate::store::{
        LearnConfig, OutcomeEffect, OutcomeInput, ProfileStore, apply_outcome, load,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("five.redb");
    let user = crate::privacy::Pseudonym([1; 16]);
    let device = crate::privacy::Pseudonym([3; 16]);
    let old = v5::UserProfile {
        verified_count: 4,
        first_verified_ms: 5,
        last_verified_ms: 9,
        devices: vec![KnownDevice {
            key: device,
            first_verified_ms: 5,
            last_verified_ms: 9,
            count: 4,
            fraud_ms: Some(7),
        }],
        places: Vec::new(),
        last_fix: None,
        home: None,
        hours: [0.0; 24],
        typing_desktop: None,
        typing_mobile: None,
    };
    let pending = v5::PendingEvidence {
        user,
        at_ms: 1_000,
        device: Some(device),
        ip: None,
        fix: None,
        typing: None,
        hour: 0,
        learned: false,
        receipt: [0; 16],
        applied: 0,
        digest: [0; 16],
    };
    {
        let db = Database::create(&path).expect("create");
        let txn = db.begin_write().expect("txn");
        txn.open_table(META)
            .expect("meta")
            .insert("format", 5)
            .expect("stamp");
        txn.open_table(def(Table::Profile))
            .expect("profiles")
            .insert(
                user.0.as_slice(),
                postcard::to_stdvec(&old).expect("v5").as_slice(),
            )
            .expect("insert");
        txn.open_table(def(Table::Pending))
            .expect("pending")
            .insert(
                [2u8; 16].as_slice(),
                postcard::to_stdvec(&pending).expect("v5").as_slice(),
            )
            .expect("insert");
        txn.commit().expect("commit");
    }
    let s = RedbStore::open(&path).expect("upgrade");
    let mut p: Option<UserProfile> = None;
    let mut e: Option<PendingEvidence> = None;
    s.read(&mut |kv| {
        p = load(kv, Table::Profile, &user)?;
        e = load(kv, Table::Pending, &crate::privacy::Pseudonym([2; 16]))?;
        Ok(())
    })
    .expect("read");
    let p = p.expect("profile kept");
    assert_eq!((p.verified_count, p.devices[0].fraud_ms), (4, Some(7)));
    assert!(p.attributes.is_empty());
    assert_eq!(e.expect("pending kept").attributes, None);
    // The outcome of a request scored before the upgrade still teaches the profile.
    let input = OutcomeInput {
        request: crate::privacy::Pseudonym([2; 16]),
        user,
        outcome: crate::domain::OutcomeKind::OtpPassed,
        at_ms: 2_000,
        receipt: None,
    };
    let applied = apply_outcome(&s, &input, &LearnConfig::default())
        .expect("store")
        .expect("applied");
    assert_eq!(applied.effect, OutcomeEffect::Learned);
    drop(s);
    let db = Database::create(&path).expect("open");
    let txn = db.begin_read().expect("read");
    let stamp = txn
        .open_table(META)
        .expect("meta")
        .get("format")
        .expect("get")
        .map(|v| v.value());
    assert_eq!(stamp, Some(STORE_FORMAT));
    let bytes = txn
        .open_table(def(Table::Profile))
        .expect("profiles")
        .get(user.0.as_slice())
        .expect("get")
        .map(|v| v.value().to_vec())
        .expect("profile");
    let p: UserProfile = postcard::from_bytes(&bytes).expect("current format");
    assert_eq!(p.verified_count, 5);
}

#[test]
fn a_format_6_file_is_upgraded_with_only_its_typing_dropped() {
    use crate::keystroke::digraph::{DigraphProfile, DigraphSample, TypingKey};
    use crate::store::records::{PendingEvidence, UserProfile};
    use crate::store::upgrade::v6;
    use crate::store::{ProfileStore, load};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("six.redb");
    let user = crate::privacy::Pseudonym([1; 16]);
    let events: Vec<crate::domain::KeyEvent> = (0..12)
        .map(|i| crate::domain::KeyEvent {
            key: Some(format!("Key{}", char::from(b'A' + i as u8))),
            down_ms: 180.0 * f64::from(i),
            up_ms: 180.0 * f64::from(i) + 90.0,
        })
        .collect();
    let sample = DigraphSample::from_events(&events, &TypingKey::new([2; 16]));
    let mut typing = DigraphProfile::default();
    typing.enroll(&sample, 0.1);
    let old = v6::UserProfile {
        verified_count: 7,
        first_verified_ms: 5,
        last_verified_ms: 9,
        devices: Vec::new(),
        places: Vec::new(),
        last_fix: None,
        home: None,
        hours: [0.5; 24],
        typing_desktop: Some(typing),
        typing_mobile: None,
        attributes: Default::default(),
    };
    let pending = v6::PendingEvidence {
        user,
        at_ms: 1_000,
        device: None,
        ip: None,
        fix: None,
        typing: Some(v6::TypingEvidence {
            mobile: false,
            sample,
        }),
        hour: 3,
        learned: false,
        receipt: [6; 16],
        applied: 0,
        digest: [0; 16],
        attributes: None,
    };
    {
        let db = Database::create(&path).expect("create");
        let txn = db.begin_write().expect("txn");
        txn.open_table(META)
            .expect("meta")
            .insert("format", 6)
            .expect("stamp");
        txn.open_table(def(Table::Profile))
            .expect("profiles")
            .insert(
                user.0.as_slice(),
                postcard::to_stdvec(&old).expect("v6").as_slice(),
            )
            .expect("insert");
        txn.open_table(def(Table::Pending))
            .expect("pending")
            .insert(
                [2u8; 16].as_slice(),
                postcard::to_stdvec(&pending).expect("v6").as_slice(),
            )
            .expect("insert");
        txn.commit().expect("commit");
    }
    let s = RedbStore::open(&path).expect("upgrade");
    let mut p: Option<UserProfile> = None;
    let mut e: Option<PendingEvidence> = None;
    s.read(&mut |kv| {
        p = load(kv, Table::Profile, &user)?;
        e = load(kv, Table::Pending, &crate::privacy::Pseudonym([2; 16]))?;
        Ok(())
    })
    .expect("read");
    let p = p.expect("profile kept");
    assert_eq!((p.verified_count, p.hours), (7, [0.5; 24]));
    assert_eq!((p.typing_desktop, p.typing_mobile), (None, None));
    let e = e.expect("pending kept");
    assert_eq!(
        (e.user, e.hour, e.receipt, e.typing),
        (user, 3, [6; 16], None)
    );
    drop(s);
    let db = Database::create(&path).expect("open");
    let txn = db.begin_read().expect("read");
    let stamp = txn
        .open_table(META)
        .expect("meta")
        .get("format")
        .expect("get")
        .map(|v| v.value());
    assert_eq!(stamp, Some(STORE_FORMAT));
    assert_eq!(STORE_FORMAT, 7);
}
