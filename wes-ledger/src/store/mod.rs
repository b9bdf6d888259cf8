//! Storage: a small key-value trait with two backends, and the ledger's tables on top of it.
//!
//! The trait asks for exactly what the ledger needs to be crash-safe: point reads and an
//! **atomic, durable batch** of writes. Every block is applied (or reverted) as one batch, so
//! after a crash the store is at the last whole block. To keep the ledger somewhere else
//! (RocksDB, a cloud database), implement [`KvStore`].

mod memory;
mod sled_store;
pub(crate) mod tables;

pub use memory::MemoryStore;
pub use sled_store::SledStore;

use crate::error::StoreError;

/// A set of writes applied together or not at all.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((key, Some(value)));
    }

    /// Removes `key`.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.ops.push((key, None));
    }

    /// The writes, in order (a later write to the same key wins).
    pub fn ops(&self) -> &[(Vec<u8>, Option<Vec<u8>>)] {
        &self.ops
    }

    /// Number of writes.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether there are no writes.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// A key-value store with atomic, durable batches.
///
/// Contract: [`apply`](KvStore::apply) returns only once the whole batch is durable, and a
/// crash at any point leaves either all of it or none of it. Reads see every applied batch.
///
/// Keys and their values, in key order (what [`KvStore::scan_prefix`] returns).
pub type KeyValues = Vec<(Vec<u8>, Vec<u8>)>;

/// A store owns its data (`'static`): the ledger hands shared handles on it to proof
/// verifiers, which may read it from other threads while they run.
pub trait KvStore: Send + Sync + 'static {
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Applies `batch` atomically and durably.
    ///
    /// A store that refuses a batch before writing any of it (too little disk space left:
    /// [`StoreError::DiskFull`]) stays usable; any other error may leave it unusable until
    /// reopened, and the ledger then refuses further writes.
    fn apply(&self, batch: Batch) -> Result<(), StoreError>;

    /// Whether a write could be made now: `Err(`[`StoreError::DiskFull`]`)` when too little
    /// space is left. Checked before work that ends in a write (a block producer calls it
    /// before sealing, so no proof of work is spent on a block that cannot be stored). The
    /// default says yes.
    fn writable(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Every key starting with `prefix` and its value, in key order (the ledger's
    /// persistent indexes, e.g. the outputs of one owner, are read this way).
    fn scan_prefix(&self, prefix: &[u8]) -> Result<KeyValues, StoreError>;

    /// One page of [`scan_prefix`](Self::scan_prefix): the keys after `after` (all when
    /// `None`), at most `limit`, in key order (pages of one owner's outputs). The default
    /// scans the whole prefix; a store with ordered ranges reads only the page.
    fn scan_prefix_page(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<KeyValues, StoreError> {
        Ok(self
            .scan_prefix(prefix)?
            .into_iter()
            .filter(|(k, _)| after.is_none_or(|a| k.as_slice() > a))
            .take(limit)
            .collect())
    }
}
