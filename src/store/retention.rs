//! Erasure of one user ([`erase_user`]) and retention windows ([`expire`]): store-level logic
//! over [`ProfileStore::scan`] and [`ProfileStore::write`], so every backend behaves the same.
//!
//! Both work in two steps. A scan finds candidates without blocking scoring for its length;
//! then write transactions re-read each candidate and decide again on what they find, so a
//! record refreshed between the scan and the write is kept (or pruned, not dropped whole).
//!
//! Never logs: callers log the counts, never keys.

use serde::Serialize;

use super::freeman::PopCount;
use super::{
    DeviceActivity, Durability, IpActivity, KvWrite, PendingEvidence, ProfileStore, StoreError,
    Table, UserActivity, UserProfile, decode, encode,
};
use crate::privacy::Pseudonym;

/// What [`erase_user`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// The verified profile (devices, places, hours, typing templates) was deleted.
    pub profile: bool,
    /// The user's activity record (counters, seen timing sketches) was deleted.
    pub activity: bool,
    /// Pending evidence records of the user's scored requests deleted.
    pub pending: u32,
    /// Device activity records the user's pseudonym was removed from.
    pub devices: u32,
    /// IP activity records the user's pseudonym was removed from.
    pub ips: u32,
    /// Records that could not be decoded, so could not be checked (they may hold the user).
    pub unreadable: u32,
}

impl Erasure {
    /// True when anything about the user was held.
    pub fn any(&self) -> bool {
        self.profile || self.activity || self.pending + self.devices + self.ips > 0
    }
}

/// Keys of the records in `table` that decode as `T` and satisfy `hit`; records that do not
/// decode are counted in `unreadable`.
fn scan_keys<T: serde::de::DeserializeOwned>(
    store: &dyn ProfileStore,
    table: Table,
    unreadable: &mut u32,
    hit: impl Fn(&T) -> bool,
) -> Result<Vec<[u8; 16]>, StoreError> {
    let mut keys = Vec::new();
    store.scan(table, &mut |key, bytes| {
        match decode::<T>(table, bytes) {
            Ok(v) if hit(&v) => keys.push(*key),
            Ok(_) => {}
            Err(_) => *unreadable += 1,
        }
        Ok(())
    })?;
    Ok(keys)
}

/// Erases everything the store holds about `user`, in one durable write: the profile, the
/// activity record, the pending evidence of their scored requests, and their pseudonym in the
/// user sets of device and IP records (a record left empty is deleted).
///
/// Left behind, because they cannot be tied to the user: per-IP attempt and failure counts and
/// the tenant's population counts of attribute values (anonymous tallies) and fraud marks on devices and IPs (about the device or IP). User sets
/// hold the low 32 bits of the pseudonym, so another user sharing them (about one chance in 67
/// million per entry) would be removed too, lowering a distinct-user count by one.
///
/// Erasure is as of its scan: a request for the user scored while it runs may leave a record
/// made after the scan, as a request a moment after the erasure would.
pub fn erase_user(store: &dyn ProfileStore, user: &Pseudonym) -> Result<Erasure, StoreError> {
    let short = user.short();
    let mut unreadable = 0u32;
    let pending = scan_keys(
        store,
        Table::Pending,
        &mut unreadable,
        |p: &PendingEvidence| p.user == *user,
    )?;
    let devices = scan_keys(
        store,
        Table::Device,
        &mut unreadable,
        |d: &DeviceActivity| d.users.contains(short),
    )?;
    let ips = scan_keys(store, Table::Ip, &mut unreadable, |r: &IpActivity| {
        r.users.contains(short)
    })?;
    let mut out = Erasure::default();
    store.write(Durability::Durable, &mut |kv| {
        out = Erasure {
            unreadable,
            ..Erasure::default()
        };
        out.profile = remove_if_present(kv, Table::Profile, &user.0)?;
        out.activity = remove_if_present(kv, Table::UserActivity, &user.0)?;
        for key in &pending {
            if let Some(b) = kv.get(Table::Pending, key)?
                && decode::<PendingEvidence>(Table::Pending, &b)?.user == *user
            {
                kv.remove(Table::Pending, key)?;
                out.pending += 1;
            }
        }
        for key in &devices {
            if let Some(b) = kv.get(Table::Device, key)? {
                let mut d: DeviceActivity = decode(Table::Device, &b)?;
                if d.users.remove(short) {
                    put_or_remove(kv, Table::Device, key, &d)?;
                    out.devices += 1;
                }
            }
        }
        for key in &ips {
            if let Some(b) = kv.get(Table::Ip, key)? {
                let mut r: IpActivity = decode(Table::Ip, &b)?;
                if r.users.remove(short) {
                    put_or_remove(kv, Table::Ip, key, &r)?;
                    out.ips += 1;
                }
            }
        }
        Ok(())
    })?;
    Ok(out)
}

fn remove_if_present(
    kv: &mut dyn KvWrite,
    table: Table,
    key: &[u8; 16],
) -> Result<bool, StoreError> {
    let mut here = false;
    kv.visit(table, key, &mut |v| {
        here = v.is_some();
        Ok(())
    })?;
    if here {
        kv.remove(table, key)?;
    }
    Ok(here)
}

/// Saves `value`, or removes the record when `value` is the empty default (which is what a
/// missing record reads as anyway).
fn put_or_remove<T: Serialize + Default + PartialEq>(
    kv: &mut dyn KvWrite,
    table: Table,
    key: &[u8; 16],
    value: &T,
) -> Result<(), StoreError> {
    if *value == T::default() {
        kv.remove(table, key)
    } else {
        kv.put(table, key, encode(table, value)?)
    }
}

/// Retention windows, ms (see `[retention]` in [`crate::config`]). A record is expired when it
/// was last touched strictly before `now_ms - window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Activity records (user counters and seen timing sketches, device and IP activity) not
    /// touched for this long are deleted; sightings older than this are pruned from the user
    /// sets of the device and IP records kept. Default 30 days.
    pub activity_ms: i64,
    /// Profiles with no verified event for this long are deleted, and so are the tenant's
    /// population counts of attribute values not seen in a verified event for this long.
    /// Default 365 days.
    pub profile_ms: i64,
    /// Pending evidence older than this is deleted (its outcome is refused as expired anyway:
    /// the same value is `LearnConfig::pending_ttl_ms`). Default 7 days.
    pub pending_ms: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            activity_ms: 30 * 86_400_000,
            profile_ms: 365 * 86_400_000,
            pending_ms: 7 * 86_400_000,
        }
    }
}

/// What one table lost to [`expire`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TableExpiry {
    /// Records deleted.
    pub deleted: u32,
    /// Records kept with old entries pruned.
    pub pruned: u32,
}

/// What [`expire`] did, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExpiryStats {
    /// User profiles.
    pub profile: TableExpiry,
    /// User activity records.
    pub user_activity: TableExpiry,
    /// Device activity records.
    pub device: TableExpiry,
    /// IP activity records.
    pub ip: TableExpiry,
    /// Pending evidence.
    pub pending: TableExpiry,
    /// Population counts of attribute values.
    pub population: TableExpiry,
    /// Records that could not be decoded (left alone).
    pub unreadable: u32,
}

impl ExpiryStats {
    /// Each table's counts under its field name (`profile`, `user_activity`, `device`, `ip`,
    /// `pending`, `population`), in that order: the keys of a `retention` audit record.
    pub fn tables(&self) -> [(&'static str, TableExpiry); 6] {
        [
            ("profile", self.profile),
            ("user_activity", self.user_activity),
            ("device", self.device),
            ("ip", self.ip),
            ("pending", self.pending),
            ("population", self.population),
        ]
    }

    /// Records deleted across all tables.
    pub fn deleted(&self) -> u32 {
        self.tables().iter().map(|(_, t)| t.deleted).sum()
    }
}

/// What retention does to one record.
enum Verdict {
    Keep,
    Delete,
    Replace(Vec<u8>),
}

/// Decides one record's fate at `now_ms`.
fn verdict(table: Table, bytes: &[u8], now_ms: i64, r: &Retention) -> Result<Verdict, StoreError> {
    let stale =
        |last: Option<i64>, window: i64| last.is_none_or(|t| t < now_ms.saturating_sub(window));
    let activity_cutoff = now_ms.saturating_sub(r.activity_ms);
    Ok(match table {
        Table::Profile => {
            let p: UserProfile = decode(table, bytes)?;
            if stale(Some(p.last_verified_ms), r.profile_ms) {
                Verdict::Delete
            } else {
                Verdict::Keep
            }
        }
        Table::UserActivity => {
            let a: UserActivity = decode(table, bytes)?;
            if stale(a.last_ms(), r.activity_ms) {
                Verdict::Delete
            } else {
                Verdict::Keep
            }
        }
        Table::Device => {
            let mut d: DeviceActivity = decode(table, bytes)?;
            if stale(d.last_ms(), r.activity_ms) {
                Verdict::Delete
            } else if d.users.forget_before(activity_cutoff) {
                Verdict::Replace(encode(table, &d)?)
            } else {
                Verdict::Keep
            }
        }
        Table::Ip => {
            let mut rec: IpActivity = decode(table, bytes)?;
            if stale(rec.last_ms(), r.activity_ms) {
                Verdict::Delete
            } else if rec.users.forget_before(activity_cutoff) {
                Verdict::Replace(encode(table, &rec)?)
            } else {
                Verdict::Keep
            }
        }
        Table::Pending => {
            let p: PendingEvidence = decode(table, bytes)?;
            if stale(Some(p.at_ms), r.pending_ms) {
                Verdict::Delete
            } else {
                Verdict::Keep
            }
        }
        Table::Population => {
            let c: PopCount = decode(table, bytes)?;
            if stale(Some(c.as_of_ms), r.profile_ms) {
                Verdict::Delete
            } else {
                Verdict::Keep
            }
        }
    })
}

/// Candidates re-checked per write transaction: scoring waits for at most one batch.
const BATCH: usize = 512;

/// Applies the retention windows at `now_ms`: deletes records not touched within their window
/// and prunes old sightings from the device and IP records kept. Each table is scanned for
/// candidates, then each candidate is re-read and decided again inside the write that deletes
/// it, so a record refreshed meanwhile is kept. Writes are relaxed: a crash may undo the last
/// few seconds of deletions, which the next sweep redoes. Undecodable records are counted and
/// left alone.
pub fn expire(
    store: &dyn ProfileStore,
    now_ms: i64,
    r: &Retention,
) -> Result<ExpiryStats, StoreError> {
    expire_tables(
        store,
        now_ms,
        r,
        &[
            Table::Pending,
            Table::UserActivity,
            Table::Device,
            Table::Ip,
            Table::Profile,
            Table::Population,
        ],
    )
}

/// Deletes the pending evidence older than `r.pending_ms` at `now_ms`, and nothing else:
/// what scoring can never read again (an outcome for it is refused as expired), so an offline
/// replay that sweeps only this decides exactly as one that never sweeps, in memory bounded by
/// the pending window instead of growing with every request.
pub fn expire_pending(
    store: &dyn ProfileStore,
    now_ms: i64,
    r: &Retention,
) -> Result<ExpiryStats, StoreError> {
    expire_tables(store, now_ms, r, &[Table::Pending])
}

fn expire_tables(
    store: &dyn ProfileStore,
    now_ms: i64,
    r: &Retention,
    tables: &[Table],
) -> Result<ExpiryStats, StoreError> {
    let mut stats = ExpiryStats::default();
    for &table in tables {
        let mut candidates = Vec::new();
        store.scan(table, &mut |key, bytes| {
            match verdict(table, bytes, now_ms, r) {
                Ok(Verdict::Keep) => {}
                Ok(_) => candidates.push(*key),
                Err(_) => stats.unreadable += 1,
            }
            Ok(())
        })?;
        let mut done = TableExpiry::default();
        for batch in candidates.chunks(BATCH) {
            let mut here = TableExpiry::default();
            store.write(Durability::Relaxed, &mut |kv| {
                here = TableExpiry::default();
                for key in batch {
                    let Some(bytes) = kv.get(table, key)? else {
                        continue; // gone meanwhile
                    };
                    match verdict(table, &bytes, now_ms, r) {
                        Ok(Verdict::Delete) => {
                            kv.remove(table, key)?;
                            here.deleted += 1;
                        }
                        Ok(Verdict::Replace(v)) => {
                            kv.put(table, key, v)?;
                            here.pruned += 1;
                        }
                        Ok(Verdict::Keep) | Err(_) => {}
                    }
                }
                Ok(())
            })?;
            done.deleted += here.deleted;
            done.pruned += here.pruned;
        }
        match table {
            Table::Profile => stats.profile = done,
            Table::UserActivity => stats.user_activity = done,
            Table::Device => stats.device = done,
            Table::Ip => stats.ip = done,
            Table::Pending => stats.pending = done,
            Table::Population => stats.population = done,
        }
    }
    Ok(stats)
}
