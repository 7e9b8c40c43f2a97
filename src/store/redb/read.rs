//! Reads of [`super::RedbStore`]: the overlay first, then the file.

use std::sync::Arc;

use redb::Database;

use super::checkpoint::{FileView, Overlay};
use crate::store::{KvRead, StoreError, Table, Visitor};

/// Reads: overlay first, then the overlay's shared snapshot of the file (taken on the first
/// miss).
pub(super) struct Reader<'a> {
    overlay: &'a Overlay,
    db: &'a Database,
    view: Option<Arc<FileView>>,
    /// Keys absent from the overlay and the file. A write remembers them in `clean` as absent,
    /// so the next request for a user without a profile (say) does not open the file again.
    pub(super) misses: Vec<(u8, [u8; 16])>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(overlay: &'a Overlay, db: &'a Database) -> Self {
        Reader {
            overlay,
            db,
            view: None,
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
        if self.view.is_none() {
            self.view = Some(self.overlay.view(self.db)?);
        }
        let view = self
            .view
            .as_ref()
            .ok_or_else(|| super::backend("file view not open"))?;
        let guard = view
            .table(table)?
            .get(key.as_slice())
            .map_err(super::backend)?;
        if guard.is_none() && table != Table::Pending {
            self.misses.push((table as u8, *key));
        }
        f(guard.as_ref().map(|g| g.value()))
    }
}
