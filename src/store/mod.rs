//! Per-user history and per-device / per-IP activity, behind one [`ProfileStore`] trait.
//!
//! Two kinds of state live here, with different write rules:
//! - **Profiles** ([`UserProfile`]: devices, places, hours, typing template) learn only through
//!   [`apply_outcome`], i.e. verified outcomes, and are otherwise only deleted ([`erase_user`],
//!   [`expire`]). `score()` never writes them, so an attacker cannot train a victim's profile by
//!   sending requests.
//! - **Population** ([`freeman::PopCount`]: per tenant, how often each attribute value was seen
//!   in verified events, for the Freeman et al. likelihood ratios) learns with the profiles,
//!   only in [`apply_outcome`], and is only read by scoring.
//! - **Activity** (velocity counters, distinct users per IP/device, timing vectors already seen,
//!   the evidence of pending requests) is written by [`record`] on every scored request. It can
//!   only ever raise risk, never trust.
//!
//! [`record`] counts a request and reads what scoring needs in the same transaction, so two
//! concurrent requests from one IP always see each other: the second one's counters include the
//! first, whatever the interleaving.
//!
//! Nothing is kept forever: [`expire`] applies the retention windows (activity, profiles,
//! pending evidence) and [`erase_user`] removes one user everywhere, both walking tables with
//! [`ProfileStore::scan`] ([`retention`]).
//!
//! Backends are plain byte key-value stores with transactions and a table scan ([`memory`],
//! [`redb`]); all the logic is in this module, [`records`] and [`retention`], so every backend
//! behaves the same. The memory backend also keeps records as values ([`Value`]): the logic's
//! `load` and `save` then copy and move records instead of decoding and encoding them, and its
//! byte interface reads exactly the bytes a byte backend would hold.

pub mod freeman;
pub mod memory;
pub mod records;
pub mod redb;
pub mod retention;
pub mod upgrade;
pub(crate) mod wal;

use std::sync::Arc;

use serde::{Serialize, de::DeserializeOwned};

use crate::domain::OutcomeKind;
use crate::privacy::Pseudonym;
pub use records::{
    DeviceActivity, GeoFix, IpActivity, KnownDevice, KnownPlace, LearnConfig, PendingEvidence,
    TimingSketch, TypingEvidence, UserActivity, UserProfile,
};
pub use retention::{
    Erasure, ExpiryStats, Retention, TableExpiry, erase_user, expire, expire_pending,
};

/// Which kind of record a key addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// [`UserProfile`] by user pseudonym.
    Profile,
    /// [`UserActivity`] by user pseudonym.
    UserActivity,
    /// [`DeviceActivity`] by device pseudonym.
    Device,
    /// [`IpActivity`] by IP pseudonym.
    Ip,
    /// [`PendingEvidence`] by request pseudonym.
    Pending,
    /// [`freeman::PopCount`] by attribute-value image ([`freeman::AttrKeys::population_key`]).
    Population,
}

impl Table {
    /// Every table.
    pub const ALL: [Table; 6] = [
        Table::Profile,
        Table::UserActivity,
        Table::Device,
        Table::Ip,
        Table::Pending,
        Table::Population,
    ];

    /// Stable name (redb table name).
    pub fn name(self) -> &'static str {
        match self {
            Table::Profile => "profile",
            Table::UserActivity => "user_activity",
            Table::Device => "device",
            Table::Ip => "ip",
            Table::Pending => "pending",
            Table::Population => "population",
        }
    }
}

/// Why the store failed. The engine turns any of these during scoring into `store_unavailable`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (I/O, corruption, lock poisoned).
    #[error("store backend: {0}")]
    Backend(String),
    /// A stored record could not be decoded.
    #[error("store record in table {table}: {problem}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// What went wrong.
        problem: String,
    },
    /// Opening the store failed.
    #[error("store at {path}: {problem}")]
    Open {
        /// Path of the store.
        path: String,
        /// What went wrong.
        problem: String,
    },
}

/// A callback that receives a stored value, borrowed.
pub type Visitor<'a> = dyn FnMut(Option<&[u8]>) -> Result<(), StoreError> + 'a;

/// Reads inside one consistent view.
pub trait KvRead {
    /// Calls `f` with the value under `key` in `table` (borrowed, no copy), or `None`.
    fn visit(
        &mut self,
        table: Table,
        key: &[u8; 16],
        f: &mut Visitor<'_>,
    ) -> Result<(), StoreError>;

    /// The value under `key` in `table`, copied.
    fn get(&mut self, table: Table, key: &[u8; 16]) -> Result<Option<Vec<u8>>, StoreError> {
        let mut out = None;
        self.visit(table, key, &mut |v| {
            out = v.map(<[u8]>::to_vec);
            Ok(())
        })?;
        Ok(out)
    }

    /// The record under `key` in `table` as the backend holds it, for a backend that keeps
    /// records as values ([`memory::MemoryStore`]): `Some(None)` when there is none. `None`
    /// (the default) means this backend keeps bytes only: read them with [`KvRead::visit`].
    fn value(&mut self, _table: Table, _key: &[u8; 16]) -> Option<Option<&Value>> {
        None
    }
}

/// Reads and writes inside one atomic transaction.
pub trait KvWrite: KvRead {
    /// Sets `key` to `value`.
    fn put(&mut self, table: Table, key: &[u8; 16], value: Vec<u8>) -> Result<(), StoreError>;
    /// Removes `key`.
    fn remove(&mut self, table: Table, key: &[u8; 16]) -> Result<(), StoreError>;

    /// True when [`KvWrite::put_value`] keeps the value as it is, without encoding it.
    fn keeps_values(&self) -> bool {
        false
    }

    /// Sets `key` to the record `value`. The default encodes it (as [`KvWrite::put`] stores
    /// it); a backend that keeps values stores it as it is.
    fn put_value(&mut self, table: Table, key: &[u8; 16], value: Value) -> Result<(), StoreError> {
        let bytes = value.encode(table)?;
        self.put(table, key, bytes)
    }

    /// The record under `key` to change where it lies (`absent()` inserted first when there is
    /// none), for a backend that updates values in place ([`memory::MemoryStore::in_place`]).
    /// `None` (the default): read it and write it back instead.
    fn value_mut(
        &mut self,
        _table: Table,
        _key: &[u8; 16],
        _absent: &mut dyn FnMut() -> Value,
    ) -> Option<&mut Value> {
        None
    }
}

/// A record as a backend that keeps values holds it ([`memory::MemoryStore`]): decoded, of its
/// table's type, or bytes written through [`KvWrite::put`]. Either way it reads back as the
/// same record: [`Value::encode`] gives exactly the bytes a byte backend would hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Bytes written through [`KvWrite::put`] (decoded on each read).
    Bytes(Vec<u8>),
    /// A [`UserProfile`] (shared with the snapshots that read it).
    Profile(Arc<UserProfile>),
    /// A [`UserActivity`].
    UserActivity(Box<UserActivity>),
    /// A [`DeviceActivity`].
    Device(Box<DeviceActivity>),
    /// An [`IpActivity`].
    Ip(Box<IpActivity>),
    /// A [`PendingEvidence`].
    Pending(Box<PendingEvidence>),
    /// A [`freeman::PopCount`].
    Population(freeman::PopCount),
}

impl Value {
    /// The bytes a byte backend would hold for this record (postcard).
    pub fn encode(&self, table: Table) -> Result<Vec<u8>, StoreError> {
        match self {
            Value::Bytes(b) => Ok(b.clone()),
            Value::Profile(v) => encode(table, v.as_ref()),
            Value::UserActivity(v) => encode(table, v.as_ref()),
            Value::Device(v) => encode(table, v.as_ref()),
            Value::Ip(v) => encode(table, v.as_ref()),
            Value::Pending(v) => encode(table, v.as_ref()),
            Value::Population(v) => encode(table, v),
        }
    }

    /// The record as a `T`: a copy when it is held as one, else decoded from its bytes (as a
    /// byte backend would), so a mismatch fails the same way.
    fn read<T: Record>(&self, table: Table) -> Result<T, StoreError> {
        if let Some(v) = T::from_value(self) {
            return Ok(v.clone());
        }
        match self {
            Value::Bytes(b) => decode(table, b),
            other => decode(table, &other.encode(table)?),
        }
    }
}

/// A record type the store keeps, and how a [`Value`] holds it.
pub trait Record: Serialize + DeserializeOwned + Clone {
    /// Wraps the record.
    fn into_value(self) -> Value;
    /// The record, when `v` holds one of this type.
    fn from_value(v: &Value) -> Option<&Self>;
    /// The record to change, when `v` holds one of this type (a shared one is copied first).
    fn from_value_mut(v: &mut Value) -> Option<&mut Self>;
}

macro_rules! record_value {
    ($t:ty, $variant:ident, boxed) => {
        impl Record for $t {
            fn into_value(self) -> Value {
                Value::$variant(Box::new(self))
            }
            fn from_value(v: &Value) -> Option<&Self> {
                match v {
                    Value::$variant(r) => Some(r.as_ref()),
                    _ => None,
                }
            }
            fn from_value_mut(v: &mut Value) -> Option<&mut Self> {
                match v {
                    Value::$variant(r) => Some(r.as_mut()),
                    _ => None,
                }
            }
        }
    };
    ($t:ty, $variant:ident) => {
        impl Record for $t {
            fn into_value(self) -> Value {
                Value::$variant(self)
            }
            fn from_value(v: &Value) -> Option<&Self> {
                match v {
                    Value::$variant(r) => Some(r),
                    _ => None,
                }
            }
            fn from_value_mut(v: &mut Value) -> Option<&mut Self> {
                match v {
                    Value::$variant(r) => Some(r),
                    _ => None,
                }
            }
        }
    };
}

impl Record for UserProfile {
    fn into_value(self) -> Value {
        Value::Profile(Arc::new(self))
    }
    fn from_value(v: &Value) -> Option<&Self> {
        match v {
            Value::Profile(p) => Some(p.as_ref()),
            _ => None,
        }
    }
    fn from_value_mut(v: &mut Value) -> Option<&mut Self> {
        match v {
            // Copied only while a snapshot still shares it.
            Value::Profile(p) => Some(Arc::make_mut(p)),
            _ => None,
        }
    }
}
record_value!(UserActivity, UserActivity, boxed);
record_value!(DeviceActivity, Device, boxed);
record_value!(IpActivity, Ip, boxed);
record_value!(PendingEvidence, Pending, boxed);
record_value!(freeman::PopCount, Population);

/// A record's address in a byte store: table id and 16-byte key.
pub(crate) type Key = (u8, [u8; 16]);

/// A hash map over [`Key`]s. Keys are keyed-hash pseudonyms (uniform, and not choosable by a
/// client without the secret key), so a cheap multiplicative mix is enough: SipHash's defence
/// against chosen collisions buys nothing here and cost a tenth of `score`.
pub(crate) type KeyMap<V> = std::collections::HashMap<Key, V, BuildKeyHasher>;

/// Builds [`KeyHasher`]s.
pub(crate) type BuildKeyHasher = std::hash::BuildHasherDefault<KeyHasher>;

/// Folds the bytes of a [`Key`] 8 at a time with a 64-bit multiplicative mix.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0 ^ u64::from_le_bytes(word))
                .rotate_left(23)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

/// Collects writes and reads its own writes first.
pub(crate) struct Staging<R> {
    pub(crate) under: R,
    pub(crate) staged: Vec<(Key, Option<Vec<u8>>)>,
}

impl<R: KvRead> KvRead for Staging<R> {
    fn visit(
        &mut self,
        table: Table,
        key: &[u8; 16],
        f: &mut Visitor<'_>,
    ) -> Result<(), StoreError> {
        let k = (table as u8, *key);
        if let Some((_, v)) = self.staged.iter().rev().find(|(sk, _)| *sk == k) {
            return f(v.as_deref());
        }
        self.under.visit(table, key, f)
    }
}

impl<R: KvRead> KvWrite for Staging<R> {
    fn put(&mut self, table: Table, key: &[u8; 16], value: Vec<u8>) -> Result<(), StoreError> {
        self.staged.push(((table as u8, *key), Some(value)));
        Ok(())
    }

    fn remove(&mut self, table: Table, key: &[u8; 16]) -> Result<(), StoreError> {
        self.staged.push(((table as u8, *key), None));
        Ok(())
    }
}

/// How durable a write must be before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// On stable storage before returning (profile learning).
    Durable,
    /// Returns at once (velocity counters, pending evidence); on stable storage within a short
    /// while, and before [`ProfileStore::on_durable`] reports. Lost in a crash only if nobody
    /// waited for it.
    Relaxed,
}

/// Called once by [`ProfileStore::on_durable`]: `Ok` when every write before the call is on
/// stable storage, or the failure.
pub type DurableDone = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// A callback that receives one record of a scan: its key and its value, borrowed.
pub type ScanVisitor<'a> = dyn FnMut(&[u8; 16], &[u8]) -> Result<(), StoreError> + 'a;

/// A transactional byte store. Implementations: [`memory::MemoryStore`], [`redb::RedbStore`].
pub trait ProfileStore: Send + Sync {
    /// Calls `f` once for every record in `table` (in no set order) as of one consistent view
    /// taken when the scan starts; an error from `f` stops the scan and is returned. For finding
    /// candidates only: act on them in a [`ProfileStore::write`] that re-reads each one. `f`
    /// must not call back into the store. Writes are not blocked for the whole scan, except on
    /// the memory backend.
    fn scan(&self, table: Table, f: &mut ScanVisitor<'_>) -> Result<(), StoreError>;
    /// Runs `f` against a consistent read view.
    fn read(
        &self,
        f: &mut dyn FnMut(&mut dyn KvRead) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Runs `f` in one atomic write transaction; on error nothing is written.
    fn write(
        &self,
        durability: Durability,
        f: &mut dyn FnMut(&mut dyn KvWrite) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Calls `done` (perhaps from another thread, perhaps before returning) once every write
    /// that returned before this call is on stable storage, relaxed ones included, or with the
    /// failure. Never blocks: async callers wait on a channel. The default is for backends whose
    /// writes are durable (or never durable, like the memory store) when `write` returns.
    fn on_durable(&self, done: DurableDone) {
        done(Ok(()));
    }
    /// `Err` naming the problem while the store refuses writes (e.g. after a failed log sync).
    fn health(&self) -> Result<(), String> {
        Ok(())
    }
}

/// The keys of the subjects one request touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubjectKeys {
    /// The claimed user.
    pub user: Pseudonym,
    /// The client device, when given.
    pub device: Option<Pseudonym>,
    /// The client IP, when given.
    pub ip: Option<Pseudonym>,
}

/// What the store knew about a request's subjects at scoring time, with the request itself
/// already counted in the activity records. Read-only to feature extraction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileSnapshot {
    /// Verified profile; `None` when the user has no verified history. Shared with the memory
    /// store, which keeps it as it is (a snapshot does not copy it).
    pub profile: Option<Arc<UserProfile>>,
    /// Recent activity on the user, including this request.
    pub user_activity: UserActivity,
    /// Recent activity on the device, including this request (default when no device id).
    pub device: DeviceActivity,
    /// Recent activity on the IP, including this request (default when no IP).
    pub ip: IpActivity,
    /// Distance from this request's timing sketch to the closest one seen for the user before
    /// it, ms (`None`: no sketch, or nothing comparable seen).
    pub replay_distance_ms: Option<f32>,
    /// The tenant's decayed counts, over verified events, of this request's attribute values
    /// (index `freeman::Level as usize`; all 0 when the request has no attribute keys).
    pub population: [f64; freeman::N_LEVELS],
}

fn decode<T: DeserializeOwned>(table: Table, bytes: &[u8]) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt {
        table: table.name(),
        problem: e.to_string(),
    })
}

fn encode<T: Serialize>(table: Table, value: &T) -> Result<Vec<u8>, StoreError> {
    thread_local! {
        // Encoding grows this once per thread; each record then costs one exact allocation.
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with_borrow_mut(|scratch| {
        scratch.clear();
        let buf = std::mem::take(scratch);
        let out = postcard::to_extend(value, buf).map_err(|e| StoreError::Corrupt {
            table: table.name(),
            problem: e.to_string(),
        });
        match out {
            Ok(buf) => {
                let bytes = buf.clone();
                *scratch = buf;
                Ok(bytes)
            }
            Err(e) => Err(e),
        }
    })
}

fn load<T: Record>(
    kv: &mut dyn KvRead,
    table: Table,
    key: &Pseudonym,
) -> Result<Option<T>, StoreError> {
    load_at(kv, table, &key.0)
}

/// The record under `key`: copied from a backend that keeps values, decoded from one that
/// keeps bytes.
fn load_at<T: Record>(
    kv: &mut dyn KvRead,
    table: Table,
    key: &[u8; 16],
) -> Result<Option<T>, StoreError> {
    if let Some(found) = kv.value(table, key) {
        return found.map(|v| v.read(table)).transpose();
    }
    let mut out = None;
    kv.visit(table, key, &mut |bytes| {
        out = match bytes {
            Some(b) => Some(decode(table, b)?),
            None => None,
        };
        Ok(())
    })?;
    Ok(out)
}

/// The user's profile, shared with a backend that keeps values (no copy), else decoded.
fn load_profile(
    kv: &mut dyn KvRead,
    user: &Pseudonym,
) -> Result<Option<Arc<UserProfile>>, StoreError> {
    if let Some(Some(Value::Profile(p))) = kv.value(Table::Profile, &user.0) {
        return Ok(Some(Arc::clone(p)));
    }
    Ok(load::<UserProfile>(kv, Table::Profile, user)?.map(Arc::new))
}

fn save<T: Record>(
    kv: &mut dyn KvWrite,
    table: Table,
    key: &Pseudonym,
    value: &T,
) -> Result<(), StoreError> {
    save_at(kv, table, &key.0, value)
}

/// Writes `value` under `key`: a copy to a backend that keeps values, its bytes to one that
/// keeps bytes.
fn save_at<T: Record>(
    kv: &mut dyn KvWrite,
    table: Table,
    key: &[u8; 16],
    value: &T,
) -> Result<(), StoreError> {
    if kv.keeps_values() {
        return kv.put_value(table, key, value.clone().into_value());
    }
    let bytes = encode(table, value)?;
    kv.put(table, key, bytes)
}

/// [`save`] for a value the caller is done with: a backend that keeps values takes it as it is.
fn save_owned<T: Record>(
    kv: &mut dyn KvWrite,
    table: Table,
    key: &Pseudonym,
    value: T,
) -> Result<(), StoreError> {
    save_owned_at(kv, table, &key.0, value)
}

/// [`save_owned`] under a raw key.
fn save_owned_at<T: Record>(
    kv: &mut dyn KvWrite,
    table: Table,
    key: &[u8; 16],
    value: T,
) -> Result<(), StoreError> {
    if kv.keeps_values() {
        return kv.put_value(table, key, value.into_value());
    }
    let bytes = encode(table, &value)?;
    kv.put(table, key, bytes)
}

/// Changes the record under `key` (the default record when there is none) with `f`: where it
/// lies on a backend that updates in place, else read, changed and written back.
fn update<T: Record + Default, R>(
    kv: &mut dyn KvWrite,
    table: Table,
    key: &[u8; 16],
    f: impl FnOnce(&mut T) -> R,
) -> Result<R, StoreError> {
    if let Some(v) = kv.value_mut(table, key, &mut || T::default().into_value())
        && let Some(record) = T::from_value_mut(v)
    {
        return Ok(f(record));
    }
    let mut record: T = load_at(kv, table, key)?.unwrap_or_default();
    let out = f(&mut record);
    save_owned_at(kv, table, key, record)?;
    Ok(out)
}

/// Reads what the store knows about `keys` in one consistent view, without counting anything
/// (for inspection and reports; scoring uses [`record`]).
pub fn snapshot(
    store: &dyn ProfileStore,
    keys: &SubjectKeys,
) -> Result<ProfileSnapshot, StoreError> {
    let mut snap = ProfileSnapshot::default();
    store.read(&mut |kv| {
        snap.profile = load_profile(kv, &keys.user)?;
        snap.user_activity = load(kv, Table::UserActivity, &keys.user)?.unwrap_or_default();
        if let Some(d) = &keys.device {
            snap.device = load(kv, Table::Device, d)?.unwrap_or_default();
        }
        if let Some(ip) = &keys.ip {
            snap.ip = load(kv, Table::Ip, ip)?.unwrap_or_default();
        }
        Ok(())
    })?;
    Ok(snap)
}

/// What one scored request adds to the activity ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation<'a> {
    /// The subjects.
    pub keys: SubjectKeys,
    /// Event time, ms since the epoch.
    pub at_ms: i64,
    /// The session already had failed attempts.
    pub failed: bool,
    /// The request's timing sketch, remembered for replay detection.
    pub sketch: Option<&'a TimingSketch>,
    /// Pseudonym of the request id, under which the pending evidence is kept.
    pub request: Pseudonym,
    /// The engine generated the request id (the request carried none). Its evidence is then
    /// always written: a record already under that id can only have been planted by a caller
    /// who predicted the id, and must not be what the outcome teaches. Also spares the lookup.
    pub generated_id: bool,
    /// Evidence to learn from if a verified outcome arrives.
    pub pending: &'a PendingEvidence,
}

/// What [`record`] found under the request id.
#[derive(Debug, Clone, PartialEq)]
// Returned by value once per scored request and matched at once: boxing the snapshot would
// cost an allocation per score for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Recorded {
    /// A new request: counted, its evidence kept; the snapshot scoring reads (this request
    /// included in the activity).
    Fresh(ProfileSnapshot),
    /// An identical retry (same request digest under the same id): nothing was counted again;
    /// the caller answers it with the first answer if it still holds it.
    Retry,
    /// The id is already bound to another user, device or network: nothing was written.
    Conflict,
}

/// Records one scored request in the activity ledger and returns the snapshot scoring reads,
/// in one transaction: the returned activity includes this request. Never touches profiles.
///
/// A request id binds its evidence to the request (user, device, network and the digest of
/// everything else but the timestamp, caller included) — the keys are already per tenant.
/// Under an id the caller gave that already holds evidence, an identical retry counts nothing
/// and gets the first answer back, and any other request is a [`Recorded::Conflict`]
/// (first writer wins, and the second is told so instead of being silently dropped).
/// An id the engine generated is never looked up (see [`Observation::generated_id`]).
pub fn record(
    store: &dyn ProfileStore,
    obs: &Observation<'_>,
    cfg: &LearnConfig,
) -> Result<Recorded, StoreError> {
    let mut out = Recorded::Conflict;
    store.write(Durability::Relaxed, &mut |kv| {
        let user = obs.keys.user;
        if !obs.generated_id
            && let Some(first) = load::<PendingEvidence>(kv, Table::Pending, &obs.request)?
        {
            let same = first.user == user
                && first.device == obs.keys.device
                && first.ip == obs.keys.ip
                && first.digest == obs.pending.digest;
            out = if same {
                Recorded::Retry
            } else {
                Recorded::Conflict
            };
            return Ok(());
        }
        let mut snap = ProfileSnapshot {
            profile: load_profile(kv, &user)?,
            ..ProfileSnapshot::default()
        };
        if let Some(keys) = &obs.pending.attributes {
            snap.population = freeman::read_population(kv, keys, obs.at_ms)?;
        }
        (snap.replay_distance_ms, snap.user_activity) = update(
            kv,
            Table::UserActivity,
            &user.0,
            |act: &mut UserActivity| {
                let distance = act.observe(obs.at_ms, obs.failed, obs.sketch, cfg);
                (distance, act.clone())
            },
        )?;
        if let Some(d) = &obs.keys.device {
            snap.device = update(kv, Table::Device, &d.0, |dev: &mut DeviceActivity| {
                dev.observe(user.short(), obs.at_ms, cfg);
                dev.clone()
            })?;
        }
        if let Some(ip) = &obs.keys.ip {
            snap.ip = update(kv, Table::Ip, &ip.0, |rec: &mut IpActivity| {
                rec.observe(user.short(), obs.at_ms, obs.failed, cfg);
                rec.clone()
            })?;
        }
        save(kv, Table::Pending, &obs.request, obs.pending)?;
        out = Recorded::Fresh(snap);
        Ok(())
    })?;
    Ok(out)
}

/// What a recorded outcome changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeEffect {
    /// The profile learned from the request's evidence.
    Learned,
    /// Failure counters were raised.
    CountedFailure,
    /// The device and IP were marked as fraud-linked and the evidence unlearned.
    MarkedFraud,
}

impl OutcomeEffect {
    /// The effect an outcome of `kind` has (and a replay of it reports).
    pub fn of(kind: OutcomeKind) -> OutcomeEffect {
        if kind.is_verified_genuine() {
            OutcomeEffect::Learned
        } else if kind.is_failure() {
            OutcomeEffect::CountedFailure
        } else {
            OutcomeEffect::MarkedFraud
        }
    }

    /// Stable lower-case name (`learned`, `countedfailure`, `markedfraud`), as the API answers.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeEffect::Learned => "learned",
            OutcomeEffect::CountedFailure => "countedfailure",
            OutcomeEffect::MarkedFraud => "markedfraud",
        }
    }
}

/// Why an outcome could not be applied (besides store failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeRejection {
    /// No pending request with that id (never scored, or expired).
    UnknownRequest,
    /// The outcome names another user than the scored request.
    UserMismatch,
    /// The outcome is dated before the request it verifies.
    BeforeRequest,
    /// The outcome's receipt is not the one the request's answer carried.
    ReceiptMismatch,
}

/// One outcome to apply: which request, whose, what, when, and with which receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeInput {
    /// Pseudonym of the request id.
    pub request: Pseudonym,
    /// Pseudonym of the user the outcome names.
    pub user: Pseudonym,
    /// What was verified.
    pub outcome: OutcomeKind,
    /// When, ms: the server's receive time live, the outcome's own time in offline replay.
    pub at_ms: i64,
    /// The receipt echoed from the score answer (checked when given).
    pub receipt: Option<[u8; 16]>,
}

/// What applying an outcome did (or, for [`check_outcome`], would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The effect (the first application's, for a replay).
    pub effect: OutcomeEffect,
    /// This (request, outcome kind) was applied before: nothing changed.
    pub replayed: bool,
}

/// The checks every outcome passes, on a read view: the pending evidence it applies to, or why
/// it is refused. Expired evidence reads as unknown.
fn judge_outcome(
    kv: &mut dyn KvRead,
    input: &OutcomeInput,
    cfg: &LearnConfig,
) -> Result<Result<PendingEvidence, OutcomeRejection>, StoreError> {
    let Some(pending): Option<PendingEvidence> = load(kv, Table::Pending, &input.request)? else {
        return Ok(Err(OutcomeRejection::UnknownRequest));
    };
    // The receipt first: without the answer's receipt a caller learns nothing more about the
    // request (not even whose it is).
    if let Some(r) = input.receipt
        && !constant_time_eq(&r, &pending.receipt)
    {
        return Ok(Err(OutcomeRejection::ReceiptMismatch));
    }
    if pending.user != input.user {
        return Ok(Err(OutcomeRejection::UserMismatch));
    }
    if input.at_ms < pending.at_ms {
        return Ok(Err(OutcomeRejection::BeforeRequest));
    }
    if input.at_ms.saturating_sub(pending.at_ms) > cfg.pending_ttl_ms {
        return Ok(Err(OutcomeRejection::UnknownRequest));
    }
    Ok(Ok(pending))
}

fn constant_time_eq(a: &[u8; 16], b: &[u8; 16]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What [`apply_outcome`] would do now, without writing: the server calls it to refuse a bad
/// outcome before writing its audit record and label line, then applies it (which checks again).
pub fn check_outcome(
    store: &dyn ProfileStore,
    input: &OutcomeInput,
    cfg: &LearnConfig,
) -> Result<Result<Applied, OutcomeRejection>, StoreError> {
    let mut result = Err(OutcomeRejection::UnknownRequest);
    store.read(&mut |kv| {
        result = judge_outcome(kv, input, cfg)?.map(|p| Applied {
            effect: OutcomeEffect::of(input.outcome),
            replayed: p.applied & crate::domain::OutcomeRecord::bit(input.outcome) != 0,
        });
        Ok(())
    })?;
    Ok(result)
}

/// Applies a verified outcome to the profile of the request it verifies. This is the only
/// function that writes profiles (erasure and retention only delete them). One effect per
/// (request, outcome kind): a replay answers as the first did and changes nothing.
pub fn apply_outcome(
    store: &dyn ProfileStore,
    input: &OutcomeInput,
    cfg: &LearnConfig,
) -> Result<Result<Applied, OutcomeRejection>, StoreError> {
    let mut result = Err(OutcomeRejection::UnknownRequest);
    let (request, user, outcome, at_ms) = (input.request, input.user, input.outcome, input.at_ms);
    let bit = crate::domain::OutcomeRecord::bit(outcome);
    store.write(Durability::Durable, &mut |kv| {
        let mut pending = match judge_outcome(kv, input, cfg)? {
            Ok(p) => p,
            Err(why) => {
                if why == OutcomeRejection::UnknownRequest
                    && load::<PendingEvidence>(kv, Table::Pending, &request)?.is_some()
                {
                    kv.remove(Table::Pending, &request.0)?; // expired
                }
                result = Err(why);
                return Ok(());
            }
        };
        let effect = OutcomeEffect::of(outcome);
        if pending.applied & bit != 0 {
            result = Ok(Applied {
                effect,
                replayed: true,
            });
            return Ok(());
        }
        pending.applied |= bit;
        match effect {
            OutcomeEffect::Learned => {
                if !pending.learned {
                    update(kv, Table::Profile, &user.0, |profile: &mut UserProfile| {
                        profile.learn(&pending, cfg)
                    })?;
                    if let Some(keys) = &pending.attributes {
                        freeman::add_population(kv, keys, pending.at_ms, 1.0)?;
                    }
                    pending.learned = true;
                }
            }
            OutcomeEffect::CountedFailure => {
                update(
                    kv,
                    Table::UserActivity,
                    &user.0,
                    |act: &mut UserActivity| act.failures.push(at_ms),
                )?;
                if let Some(ip) = &pending.ip {
                    update(kv, Table::Ip, &ip.0, |rec: &mut IpActivity| {
                        rec.failures.push(at_ms)
                    })?;
                }
            }
            OutcomeEffect::MarkedFraud => {
                // Fraud from the victim's own context (their verified device: a remote-access
                // trojan, a SIM swap) marks that device for this user only, so the victim is
                // not locked out of their own phone and home network for everyone's sake. Fraud
                // from anywhere else marks the device and the address for the whole tenant.
                // Either way, take back anything the request taught.
                let mut profile = load::<UserProfile>(kv, Table::Profile, &user)?;
                let own = match (&profile, &pending.device) {
                    (Some(p), Some(d)) => p.owned_before(d, pending.at_ms),
                    _ => false,
                };
                if own {
                    if let (Some(p), Some(d)) = (profile.as_mut(), &pending.device) {
                        p.mark_own_device(d, at_ms);
                    }
                } else {
                    if let Some(d) = &pending.device {
                        update(kv, Table::Device, &d.0, |dev: &mut DeviceActivity| {
                            dev.fraud_ms = Some(at_ms)
                        })?;
                    }
                    if let Some(ip) = &pending.ip {
                        update(kv, Table::Ip, &ip.0, |rec: &mut IpActivity| {
                            rec.fraud_ms = Some(at_ms)
                        })?;
                    }
                }
                if let Some(mut p) = profile {
                    p.unlearn(&pending);
                    save_owned(kv, Table::Profile, &user, p)?;
                }
                if pending.learned
                    && let Some(keys) = &pending.attributes
                {
                    freeman::add_population(kv, keys, pending.at_ms, -1.0)?;
                }
            }
        }
        save_owned(kv, Table::Pending, &request, pending)?;
        result = Ok(Applied {
            effect,
            replayed: false,
        });
        Ok(())
    })?;
    Ok(result)
}

/// What Tessera holds about one user, for a data-subject export: verified devices, places,
/// active hours and a summary of the typing template. Never raw key timings.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ProfileExport {
    /// Verified events learned from.
    pub verified_count: u32,
    /// First and last verified event, ms since the epoch (0 when none).
    pub first_verified_ms: i64,
    /// Last verified event, ms since the epoch.
    pub last_verified_ms: i64,
    /// Verified devices (pseudonymised ids) with first/last verification and count.
    pub devices: Vec<ExportedDevice>,
    /// Verified places (country, city, coordinates rounded to 0.1°).
    pub places: Vec<ExportedPlace>,
    /// Relative activity per UTC hour, 0–1 weights.
    pub hours: Vec<f32>,
    /// Keyboard typing profile: verified samples behind it (absent when none).
    pub typing_desktop_samples: Option<u32>,
    /// Phone typing profile: verified samples behind it (absent when none).
    pub typing_mobile_samples: Option<u32>,
    /// Timing entries (keyed-hash-named holds and digraphs) kept across both profiles; the
    /// entries themselves are not exported, since their names only mean something to the key.
    pub typing_entries: usize,
    /// Attribute values (country, AS, address, browser, OS: keyed 32-bit images with decayed
    /// counts, for the Freeman likelihood ratios) kept; like typing entries, not exported one
    /// by one, since their names only mean something to the key.
    pub attribute_values: usize,
    /// Scored requests counted for the user in the last 30 days.
    pub recent_attempts: u32,
    /// Failed challenges counted for the user in the last 30 days.
    pub recent_failures: u32,
}

/// A device in a [`ProfileExport`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExportedDevice {
    /// Keyed-hash pseudonym of the device id, hex.
    pub device: String,
    /// First verified use, ms since the epoch.
    pub first_verified_ms: i64,
    /// Last verified use, ms since the epoch.
    pub last_verified_ms: i64,
    /// Verified uses.
    pub count: u32,
}

/// A place in a [`ProfileExport`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExportedPlace {
    /// ISO country code.
    pub country: String,
    /// City name.
    pub city: String,
    /// Latitude, degrees, rounded to 0.1.
    pub lat: f64,
    /// Longitude, degrees, rounded to 0.1.
    pub lon: f64,
    /// Last verified visit, ms since the epoch.
    pub last_ms: i64,
    /// Verified visits.
    pub count: u32,
}

/// Exports what the store holds about `user`; `None` when it holds nothing.
pub fn export_profile(
    store: &dyn ProfileStore,
    user: &Pseudonym,
    now_ms: i64,
) -> Result<Option<ProfileExport>, StoreError> {
    let mut profile: Option<UserProfile> = None;
    let mut activity: Option<UserActivity> = None;
    store.read(&mut |kv| {
        profile = load(kv, Table::Profile, user)?;
        activity = load(kv, Table::UserActivity, user)?;
        Ok(())
    })?;
    if profile.is_none() && activity.is_none() {
        return Ok(None);
    }
    let p = profile.unwrap_or_default();
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let total: f32 = p.hours.iter().sum();
    Ok(Some(ProfileExport {
        verified_count: p.verified_count,
        first_verified_ms: p.first_verified_ms,
        last_verified_ms: p.last_verified_ms,
        devices: p
            .devices
            .iter()
            .map(|d| ExportedDevice {
                device: d.key.to_hex(),
                first_verified_ms: d.first_verified_ms,
                last_verified_ms: d.last_verified_ms,
                count: d.count,
            })
            .collect(),
        places: p
            .places
            .iter()
            .map(|pl| ExportedPlace {
                country: pl.country.clone(),
                city: pl.city.clone(),
                lat: round(pl.lat),
                lon: round(pl.lon),
                last_ms: pl.last_ms,
                count: pl.count,
            })
            .collect(),
        hours: p
            .hours
            .iter()
            .map(|h| if total > 0.0 { h / total } else { 0.0 })
            .collect(),
        typing_desktop_samples: p.typing_desktop.as_ref().map(|t| t.samples),
        typing_mobile_samples: p.typing_mobile.as_ref().map(|t| t.samples),
        typing_entries: p.typing_desktop.as_ref().map_or(0, |t| t.len())
            + p.typing_mobile.as_ref().map_or(0, |t| t.len()),
        attribute_values: p.attributes.len(),
        recent_attempts: activity.as_ref().map_or(0, |a| {
            a.attempts
                .count_between(now_ms - 30 * 86_400_000, now_ms.saturating_add(1))
        }),
        recent_failures: activity.as_ref().map_or(0, |a| {
            a.failures
                .count_between(now_ms - 30 * 86_400_000, now_ms.saturating_add(1))
        }),
    }))
}
