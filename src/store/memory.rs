//! [`MemoryStore`]: the in-process backend for tests and for offline replay (`tessera train`),
//! where history must be rebuilt from nothing in time order. Nothing survives the process.

use std::sync::RwLock;

use super::{
    Durability, KeyMap, KvRead, KvWrite, ProfileStore, ScanVisitor, Staging, StoreError, Table,
    Visitor,
};

type Map = KeyMap<Vec<u8>>;

/// A hash map behind a reader-writer lock. Writes are atomic: a transaction works on a staged
/// copy of the keys it touches and commits only if it succeeds.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: RwLock<Map>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
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

struct Reader<'a> {
    map: &'a Map,
}

impl KvRead for Reader<'_> {
    fn visit(
        &mut self,
        table: Table,
        key: &[u8; 16],
        f: &mut Visitor<'_>,
    ) -> Result<(), StoreError> {
        f(self.map.get(&(table as u8, *key)).map(Vec::as_slice))
    }
}

impl ProfileStore for MemoryStore {
    fn scan(&self, table: Table, f: &mut ScanVisitor<'_>) -> Result<(), StoreError> {
        let map = self.map.read().map_err(|_| poisoned())?;
        let id = table as u8;
        for ((t, key), value) in map.iter() {
            if *t == id {
                f(key, value)?;
            }
        }
        Ok(())
    }

    fn read(
        &self,
        f: &mut dyn FnMut(&mut dyn KvRead) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let map = self.map.read().map_err(|_| poisoned())?;
        f(&mut Reader { map: &map })
    }

    fn write(
        &self,
        _durability: Durability,
        f: &mut dyn FnMut(&mut dyn KvWrite) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut map = self.map.write().map_err(|_| poisoned())?;
        let staged = {
            let mut w = Staging {
                under: Reader { map: &map },
                staged: Vec::new(),
            };
            f(&mut w)?;
            w.staged
        };
        for (k, v) in staged {
            match v {
                Some(v) => {
                    map.insert(k, v);
                }
                None => {
                    map.remove(&k);
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
