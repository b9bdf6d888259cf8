//! The persistent backend on sled.
//!
//! One sled tree holds every table (under one-byte prefixes), so a block's batch is a single
//! `apply_batch`, which sled makes atomic; the batch is flushed to disk before `apply`
//! returns, so nothing acknowledged is lost in a crash.
//!
//! **A full disk.** sled cannot recover from a failed write without being reopened (and
//! cannot even be opened on a full disk). So the store keeps a reserve of free space: a
//! batch that would leave less than [`SledStore::reserve`] free is refused before anything is
//! written ([`StoreError::DiskFull`]), and the store keeps working once space is freed.

use std::path::{Path, PathBuf};

use super::{Batch, KeyValues, KvStore};
use crate::error::StoreError;

/// A [`KvStore`] in a sled database directory.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
    path: PathBuf,
    reserve: u64,
}

fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SledStore {
    /// The free space a store leaves on its file system unless told otherwise
    /// ([`with_reserve`](Self::with_reserve)): 64 MiB, room for sled's log segments and a
    /// few of the largest blocks.
    pub const DEFAULT_RESERVE: u64 = 64 << 20;

    /// Opens (creating if needed) the database in directory `path`, with a page cache of
    /// 256 MiB.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::with_cache(path, 256 << 20)
    }

    /// [`open`](Self::open) with a page cache of `cache_bytes`.
    pub fn with_cache(path: impl AsRef<Path>, cache_bytes: u64) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let config = sled::Config::new().path(&path).cache_capacity(cache_bytes);
        // sled's background flusher keeps a dropped database locked for a moment: wait for
        // the lock (up to two seconds) so that reopening right after closing works.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let db = loop {
            match config.open() {
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other.map_err(backend)?,
            }
        };
        Ok(SledStore {
            db,
            path,
            reserve: Self::DEFAULT_RESERVE,
        })
    }

    /// Keeps `bytes` free on the file system: a batch that would leave less is refused
    /// with [`StoreError::DiskFull`] (default [`DEFAULT_RESERVE`](Self::DEFAULT_RESERVE)).
    pub fn with_reserve(mut self, bytes: u64) -> Self {
        self.reserve = bytes;
        self
    }

    /// The free space this store keeps on its file system.
    pub fn reserve(&self) -> u64 {
        self.reserve
    }

    /// The database's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses a write of `size` bytes that would leave less than the reserve free. Space
    /// that cannot be measured is not a reason to refuse: the write then tells.
    fn check_space(&self, size: u64) -> Result<(), StoreError> {
        let Ok(available) = fs2::available_space(&self.path) else {
            return Ok(());
        };
        let needed = self.reserve.saturating_add(size);
        if available < needed {
            return Err(StoreError::DiskFull {
                path: self.path.display().to_string(),
                available,
                needed,
            });
        }
        Ok(())
    }

    /// Bytes used on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(backend)
    }
}

impl KvStore for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(key).map_err(backend)?.map(|v| v.to_vec()))
    }

    fn apply(&self, batch: Batch) -> Result<(), StoreError> {
        // sled appends the batch to its log, and later rewrites pages: twice its size.
        let size: u64 = batch
            .ops
            .iter()
            .map(|(k, v)| (k.len() + v.as_ref().map_or(0, Vec::len)) as u64)
            .sum();
        self.check_space(size.saturating_mul(2))?;
        let mut sled_batch = sled::Batch::default();
        for (key, value) in batch.ops {
            match value {
                Some(v) => sled_batch.insert(key, v),
                None => sled_batch.remove(key),
            }
        }
        self.db.apply_batch(sled_batch).map_err(backend)?;
        self.db.flush().map_err(backend)?;
        Ok(())
    }

    fn writable(&self) -> Result<(), StoreError> {
        self.check_space(0)
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<KeyValues, StoreError> {
        self.db
            .scan_prefix(prefix)
            .map(|entry| {
                let (k, v) = entry.map_err(backend)?;
                Ok((k.to_vec(), v.to_vec()))
            })
            .collect()
    }

    fn scan_prefix_page(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<KeyValues, StoreError> {
        // Reads only the page: a range from just after `after` (or the prefix), while the
        // keys keep the prefix.
        let start = match after {
            Some(a) if a >= prefix => [a, &[0][..]].concat(),
            _ => prefix.to_vec(),
        };
        let mut out = Vec::new();
        for entry in self.db.range(start..) {
            let (k, v) = entry.map_err(backend)?;
            if !k.starts_with(prefix) || out.len() == limit {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }
}
