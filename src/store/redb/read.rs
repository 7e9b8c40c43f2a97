//! Reads of [`super::RedbStore`]: the overlay first, then the file.

use redb::{Database, ReadableDatabase};

use super::checkpoint::Overlay;
use super::{backend, def};
use crate::store::{KvRead, StoreError, Table, Visitor};

/// Reads: overlay first, then the file. The read transaction and each table are opened only on
/// the first overlay miss that needs them.
pub(super) struct Reader<'a> {
    overlay: &'a Overlay,
    db: &'a Database,
    txn: Option<redb::ReadTransaction>,
    tables: [Option<redb::ReadOnlyTable<&'static [u8], &'static [u8]>>; 5],
    /// Keys absent from the overlay and the file. A write remembers them in `clean` as absent,
    /// so the next request for a user without a profile (say) does not open the file again.
    pub(super) misses: Vec<(u8, [u8; 16])>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(overlay: &'a Overlay, db: &'a Database) -> Self {
        Reader {
            overlay,
            db,
            txn: None,
            tables: [None, None, None, None, None],
            misses: Vec::new(),
        }
    }
}

impl KvRead for Reader<'_> {
    fn visit(
        &mut self,
        table: Table,
        key: &[u8; 16],
        f: &mut Visitor<'_>,
    ) -> Result<(), StoreError> {
        if let Some(v) = self.overlay.get(&(table as u8, *key)) {
            return f(v.as_deref());
        }
        let slot = &mut self.tables[table as usize];
        if slot.is_none() {
            if self.txn.is_none() {
                self.txn = Some(self.db.begin_read().map_err(backend)?);
            }
            if let Some(txn) = &self.txn {
                *slot = Some(txn.open_table(def(table)).map_err(backend)?);
            }
        }
        match slot {
            Some(t) => {
                let guard = t.get(key.as_slice()).map_err(backend)?;
                if guard.is_none() && table != Table::Pending {
                    self.misses.push((table as u8, *key));
                }
                f(guard.as_ref().map(|g| g.value()))
            }
            None => Err(backend("table not open")),
        }
    }
}
