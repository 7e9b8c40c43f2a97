//! [`MemoryStore`]: the in-process backend for tests and for offline replay (`tessera train`),
//! where history must be rebuilt from nothing in time order. Nothing survives the process.
//!
//! Records written through the store's logic ([`super::record`], [`super::apply_outcome`], the
//! population counts) are kept as values ([`Value`]), not encoded: a read copies the record and
//! a write moves it in, with no postcard in between. Bytes written through [`KvWrite::put`]
//! are kept as bytes, and a record read through [`KvRead::visit`] is encoded on the way out,
//! so the byte interface reads exactly what a byte backend would hold.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{
    BuildKeyHasher, Durability, Key, KvRead, KvWrite, ProfileStore, ScanVisitor, StoreError, Table,
    Value, Visitor,
};

/// One table's records by key.
type TableMap = HashMap<[u8; 16], Value, BuildKeyHasher>;

/// The tables, indexed by `Table as usize`: one map each, so that a lookup in a small table
/// (users, devices, addresses) does not walk the cache lines of the large one (the pending
/// evidence of every request).
#[derive(Debug, Default)]
struct Map([TableMap; Table::ALL.len()]);

impl Map {
    fn get(&self, table: Table, key: &[u8; 16]) -> Option<&Value> {
        self.0.get(table as usize)?.get(key)
    }

    fn table_mut(&mut self, id: u8) -> Option<&mut TableMap> {
        self.0.get_mut(usize::from(id))
    }

    fn len(&self) -> usize {
        self.0.iter().map(HashMap::len).sum()
    }
}

/// Hash maps behind a reader-writer lock. Writes are atomic: a transaction works on a staged
/// copy of the keys it touches and commits only if it succeeds. A store made by
/// [`MemoryStore::in_place`] changes records where they lie instead.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: RwLock<Map>,
    in_place: bool,
    /// Set when a write of an in-place store failed: it refuses everything after.
    stopped: AtomicBool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// An empty store whose write transactions change records where they lie (no copy of a
    /// record to stage, none to write back): for offline replay, which stops at its first
    /// error. A failed transaction may leave part of its writes, so the store then refuses
    /// every later read, write and scan: nothing ever sees half of a transaction.
    pub fn in_place() -> Self {
        MemoryStore {
            in_place: true,
            ..MemoryStore::default()
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.stopped.load(Ordering::Acquire) {
            return Err(StoreError::Backend(
                "memory store stopped after a failed in-place write".into(),
            ));
        }
        Ok(())
    }

    /// Number of records held (all tables).
    pub fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn poisoned() -> StoreError {
    StoreError::Backend("memory store lock poisoned".into())
}

/// Calls `f` with the bytes of `value` (encoded when it is held as a record).
fn visit_value(table: Table, value: Option<&Value>, f: &mut Visitor<'_>) -> Result<(), StoreError> {
    match value {
        None => f(None),
        Some(Value::Bytes(b)) => f(Some(b)),
        Some(v) => f(Some(&v.encode(table)?)),
    }
}

/// The maps as they lie: a read view over `&Map` ([`Reader`]), or, over `&mut Map`, the write
/// transaction of an in-place store ([`InPlace`]). Both read the same way.
struct View<M> {
    map: M,
}

/// A read transaction.
type Reader<'a> = View<&'a Map>;

/// A write transaction of an in-place store: every write lands in the maps at once.
type InPlace<'a> = View<&'a mut Map>;

impl<M: std::borrow::Borrow<Map>> KvRead for View<M> {
    fn visit(
        &mut self,
        table: Table,
        key: &[u8; 16],
        f: &mut Visitor<'_>,
    ) -> Result<(), StoreError> {
        visit_value(table, self.map.borrow().get(table, key), f)
    }

    fn value(&mut self, table: Table, key: &[u8; 16]) -> Option<Option<&Value>> {
        Some(self.map.borrow().get(table, key))
    }
}

/// A write transaction: collects writes and reads its own writes first.
struct Writer<'a> {
    map: &'a Map,
    staged: Vec<(Key, Option<Value>)>,
}

impl Writer<'_> {
    fn find(&self, table: Table, key: &[u8; 16]) -> Option<&Value> {
        let k = (table as u8, *key);
        match self.staged.iter().rev().find(|(sk, _)| *sk == k) {
            Some((_, v)) => v.as_ref(),
            None => self.map.get(table, key),
        }
    }
}

impl KvRead for Writer<'_> {
    fn visit(
        &mut self,
        table: Table,
        key: &[u8; 16],
        f: &mut Visitor<'_>,
    ) -> Result<(), StoreError> {
        visit_value(table, self.find(table, key), f)
    }

    fn value(&mut self, table: Table, key: &[u8; 16]) -> Option<Option<&Value>> {
        Some(self.find(table, key))
    }
}

impl KvWrite for Writer<'_> {
    fn put(&mut self, table: Table, key: &[u8; 16], value: Vec<u8>) -> Result<(), StoreError> {
        self.staged
            .push(((table as u8, *key), Some(Value::Bytes(value))));
        Ok(())
    }

    fn remove(&mut self, table: Table, key: &[u8; 16]) -> Result<(), StoreError> {
        self.staged.push(((table as u8, *key), None));
        Ok(())
    }

    fn keeps_values(&self) -> bool {
        true
    }

    fn put_value(&mut self, table: Table, key: &[u8; 16], value: Value) -> Result<(), StoreError> {
        self.staged.push(((table as u8, *key), Some(value)));
        Ok(())
    }
}

impl InPlace<'_> {
    fn table(&mut self, table: Table) -> Result<&mut TableMap, StoreError> {
        self.map
            .table_mut(table as u8)
            .ok_or_else(|| StoreError::Backend(format!("no table {}", table.name())))
    }
}

impl KvWrite for InPlace<'_> {
    fn put(&mut self, table: Table, key: &[u8; 16], value: Vec<u8>) -> Result<(), StoreError> {
        self.table(table)?.insert(*key, Value::Bytes(value));
        Ok(())
    }

    fn remove(&mut self, table: Table, key: &[u8; 16]) -> Result<(), StoreError> {
        self.table(table)?.remove(key);
        Ok(())
    }

    fn keeps_values(&self) -> bool {
        true
    }

    fn put_value(&mut self, table: Table, key: &[u8; 16], value: Value) -> Result<(), StoreError> {
        self.table(table)?.insert(*key, value);
        Ok(())
    }

    fn value_mut(
        &mut self,
        table: Table,
        key: &[u8; 16],
        absent: &mut dyn FnMut() -> Value,
    ) -> Option<&mut Value> {
        let records = self.map.table_mut(table as u8)?;
        Some(records.entry(*key).or_insert_with(absent))
    }
}

impl ProfileStore for MemoryStore {
    fn scan(&self, table: Table, f: &mut ScanVisitor<'_>) -> Result<(), StoreError> {
        self.check()?;
        let map = self.map.read().map_err(|_| poisoned())?;
        let Some(records) = map.0.get(table as usize) else {
            return Ok(());
        };
        for (key, value) in records {
            match value {
                Value::Bytes(b) => f(key, b)?,
                v => f(key, &v.encode(table)?)?,
            }
        }
        Ok(())
    }

    fn read(
        &self,
        f: &mut dyn FnMut(&mut dyn KvRead) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.check()?;
        let map = self.map.read().map_err(|_| poisoned())?;
        f(&mut Reader { map: &map })
    }

    fn write(
        &self,
        _durability: Durability,
        f: &mut dyn FnMut(&mut dyn KvWrite) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.check()?;
        let mut map = self.map.write().map_err(|_| poisoned())?;
        if self.in_place {
            let done = f(&mut InPlace { map: &mut map });
            if done.is_err() {
                self.stopped.store(true, Ordering::Release);
            }
            return done;
        }
        let staged = {
            let mut w = Writer {
                map: &map,
                staged: Vec::new(),
            };
            f(&mut w)?;
            w.staged
        };
        for ((id, key), v) in staged {
            let Some(records) = map.table_mut(id) else {
                continue;
            };
            match v {
                Some(v) => {
                    records.insert(key, v);
                }
                None => {
                    records.remove(&key);
                }
            }
        }
        Ok(())
    }

    /// Nothing here is ever on stable storage: reports at once.
    fn on_durable(&self, done: super::DurableDone) {
        done(Ok(()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_in_place_store_updates_where_records_lie_and_stops_after_a_failed_write() {
        use crate::store::{IpActivity, load_at, update};
        let s = MemoryStore::in_place();
        for at in [60_000, 120_000] {
            s.write(Durability::Durable, &mut |kv| {
                update(kv, Table::Ip, &[7; 16], |ip: &mut IpActivity| {
                    ip.fraud_ms = Some(at)
                })
            })
            .expect("write");
        }
        let mut seen = None;
        s.read(&mut |kv| {
            seen = load_at::<IpActivity>(kv, Table::Ip, &[7; 16])?;
            Ok(())
        })
        .expect("read");
        assert_eq!(seen.and_then(|ip| ip.fraud_ms), Some(120_000));
        let failed = s.write(Durability::Durable, &mut |kv| {
            kv.put(Table::Ip, &[8; 16], b"half".to_vec())?;
            Err(StoreError::Backend("abort".into()))
        });
        assert!(failed.is_err());
        // Half a transaction may be in the maps: nothing may read it, or write after it.
        assert!(s.read(&mut |_| Ok(())).is_err());
        assert!(s.write(Durability::Durable, &mut |_| Ok(())).is_err());
        assert!(s.scan(Table::Ip, &mut |_, _| Ok(())).is_err());
    }

    #[test]
    fn failed_transaction_writes_nothing() {
        let s = MemoryStore::new();
        s.write(Durability::Durable, &mut |kv| {
            kv.put(Table::Ip, &[1; 16], b"a".to_vec())
        })
        .expect("write");
        let r = s.write(Durability::Durable, &mut |kv| {
            kv.put(Table::Ip, &[1; 16], b"b".to_vec())?;
            kv.put(Table::Ip, &[2; 16], b"c".to_vec())?;
            Err(StoreError::Backend("abort".into()))
        });
        assert!(r.is_err());
        let mut got = Vec::new();
        s.read(&mut |kv| {
            got.push(kv.get(Table::Ip, &[1; 16])?);
            got.push(kv.get(Table::Ip, &[2; 16])?);
            Ok(())
        })
        .expect("read");
        assert_eq!(got, vec![Some(b"a".to_vec()), None]);
    }

    #[test]
    fn values_read_back_as_the_bytes_a_byte_backend_holds() {
        use crate::store::{IpActivity, load_at, save_at};
        let s = MemoryStore::new();
        let mut ip = IpActivity::default();
        ip.attempts.push(1_000);
        ip.fraud_ms = Some(7);
        let bytes = postcard::to_stdvec(&ip).expect("encode");
        s.write(Durability::Relaxed, &mut |kv| {
            save_at(kv, Table::Ip, &[1; 16], &ip)?;
            // Read its own typed write back, as a value and as bytes.
            assert_eq!(
                load_at::<IpActivity>(kv, Table::Ip, &[1; 16])?,
                Some(ip.clone())
            );
            assert_eq!(kv.get(Table::Ip, &[1; 16])?, Some(bytes.clone()));
            kv.put(Table::Ip, &[2; 16], bytes.clone())
        })
        .expect("write");
        s.read(&mut |kv| {
            assert_eq!(kv.get(Table::Ip, &[1; 16])?, Some(bytes.clone()));
            // Bytes put through the byte interface decode as the record.
            assert_eq!(
                load_at::<IpActivity>(kv, Table::Ip, &[2; 16])?,
                Some(ip.clone())
            );
            Ok(())
        })
        .expect("read");
        let mut seen = Vec::new();
        s.scan(Table::Ip, &mut |k, v| {
            seen.push((k[0], v.to_vec()));
            Ok(())
        })
        .expect("scan");
        seen.sort();
        assert_eq!(seen, vec![(1, bytes.clone()), (2, bytes.clone())]);
        // A failed transaction leaves typed records as they were.
        let r = s.write(Durability::Relaxed, &mut |kv| {
            save_at(kv, Table::Ip, &[1; 16], &IpActivity::default())?;
            kv.remove(Table::Ip, &[2; 16])?;
            Err(StoreError::Backend("abort".into()))
        });
        assert!(r.is_err());
        s.read(&mut |kv| {
            assert_eq!(
                load_at::<IpActivity>(kv, Table::Ip, &[1; 16])?,
                Some(ip.clone())
            );
            assert_eq!(
                load_at::<IpActivity>(kv, Table::Ip, &[2; 16])?,
                Some(ip.clone())
            );
            Ok(())
        })
        .expect("read");
    }

    #[test]
    fn scan_visits_one_table_only() {
        let s = MemoryStore::new();
        s.write(Durability::Relaxed, &mut |kv| {
            kv.put(Table::Ip, &[1; 16], b"a".to_vec())?;
            kv.put(Table::Ip, &[2; 16], b"b".to_vec())?;
            kv.put(Table::Device, &[3; 16], b"c".to_vec())
        })
        .expect("write");
        let mut seen = Vec::new();
        s.scan(Table::Ip, &mut |k, v| {
            seen.push((k[0], v.to_vec()));
            Ok(())
        })
        .expect("scan");
        seen.sort();
        assert_eq!(seen, vec![(1, b"a".to_vec()), (2, b"b".to_vec())]);
    }
}
