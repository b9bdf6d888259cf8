//! The in-memory store: for tests, light clients and caches.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use wes_core::{
    Chunk, ContentId, GcReport, Hash, MerkleTree, ResourceKind, ResourceMeta, ResourceStat,
    ResourceStore,
};

use crate::content::{
    CHUNK_SIZE, ContentDigest, TREE_DOMAINS, chunk_count, chunk_digest, content_id_from_digests,
};
use crate::error::StoreError;
use crate::util::{BATCH_CHUNKS, digests_while, read_full};

/// A [`ResourceStore`] in process memory.
///
/// Bytes are kept as chunks with their tree; every read re-hashes the chunk it returns, as the
/// trait requires. Readers from [`ResourceStore::open`] hold their own reference to the
/// content, so garbage collection never cuts a read short. Cheap to clone: clones share the
/// same content.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Default)]
struct Inner {
    content: HashMap<ContentId, Stored>,
    pins: HashMap<ContentId, u64>,
}

struct Stored {
    data: Arc<Data>,
    kind: ResourceKind,
    meta: ResourceMeta,
}

struct Data {
    id: ContentId,
    size: u64,
    chunks: Vec<Box<[u8]>>,
    digests: Vec<Hash>,
    tree: MerkleTree,
}

impl Data {
    /// Chunk `index`, re-hashed against its digest.
    fn verified(&self, index: usize) -> Result<&[u8], StoreError> {
        let bytes = &self.chunks[index];
        let got = chunk_digest(bytes);
        if got != self.digests[index] {
            return Err(StoreError::Corrupt {
                id: self.id,
                index: index as u64,
                expected: self.digests[index],
                got,
            });
        }
        Ok(bytes)
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The whole content, verified.
    pub fn get(&self, id: &ContentId) -> Result<Vec<u8>, StoreError> {
        let data = self.data(id)?;
        let mut out = Vec::with_capacity(usize::try_from(data.size).unwrap_or(0));
        for (b, batch) in data.chunks.chunks(BATCH_CHUNKS).enumerate() {
            let pieces: Vec<&[u8]> = batch.iter().map(|c| &c[..]).collect();
            let (digests, ()) = digests_while(&pieces, || ());
            for (i, got) in digests.into_iter().enumerate() {
                let index = b * BATCH_CHUNKS + i;
                if got != data.digests[index] {
                    return Err(StoreError::Corrupt {
                        id: *id,
                        index: index as u64,
                        expected: data.digests[index],
                        got,
                    });
                }
            }
            for chunk in batch {
                out.extend_from_slice(chunk);
            }
        }
        Ok(out)
    }

    /// How many pins the content has (0 if none).
    pub fn pin_count(&self, id: &ContentId) -> u64 {
        self.read().pins.get(id).copied().unwrap_or(0)
    }

    /// The ids of all stored content, in no particular order.
    pub fn ids(&self) -> Vec<ContentId> {
        self.read().content.keys().copied().collect()
    }

    /// Total bytes of content held (each distinct content counted once).
    pub fn stored_bytes(&self) -> u64 {
        self.read().content.values().map(|s| s.data.size).sum()
    }

    /// Flips one bit of a stored chunk, to test that corruption is detected. Returns whether
    /// there was such a byte.
    #[cfg(feature = "testing")]
    pub fn corrupt_for_testing(&self, id: &ContentId, offset: u64) -> bool {
        let mut inner = self.write();
        let Some(stored) = inner.content.get_mut(id) else {
            return false;
        };
        let index = (offset / CHUNK_SIZE as u64) as usize;
        let at = (offset % CHUNK_SIZE as u64) as usize;
        // Copy on write: readers already holding the content keep the good bytes.
        let mut chunks = stored.data.chunks.clone();
        let Some(byte) = chunks.get_mut(index).and_then(|c| c.get_mut(at)) else {
            return false;
        };
        *byte ^= 1;
        stored.data = Arc::new(Data {
            id: stored.data.id,
            size: stored.data.size,
            chunks,
            digests: stored.data.digests.clone(),
            tree: stored.data.tree.clone(),
        });
        true
    }

    fn data(&self, id: &ContentId) -> Result<Arc<Data>, StoreError> {
        self.read()
            .content
            .get(id)
            .map(|s| s.data.clone())
            .ok_or(StoreError::NotFound { id: *id })
    }

    // A panic while the lock is held cannot leave `Inner` half-updated (every update is a
    // single insert or remove), so a poisoned lock is safe to keep using.
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    fn stat_of(inner: &Inner, id: &ContentId) -> Option<ResourceStat> {
        inner.content.get(id).map(|s| ResourceStat {
            id: *id,
            size: s.data.size,
            chunks: s.data.chunks.len() as u64,
            pinned: inner.pins.get(id).is_some_and(|&n| n > 0),
            kind: s.kind,
            meta: s.meta.clone(),
        })
    }
}

impl ResourceStore for MemoryStore {
    type Error = StoreError;

    fn put(
        &self,
        kind: ResourceKind,
        meta: &ResourceMeta,
        data: &mut dyn Read,
    ) -> Result<ResourceStat, StoreError> {
        let mut chunks: Vec<Box<[u8]>> = Vec::new();
        let mut digests = Vec::new();
        let mut size = 0u64;
        let mut end = false;
        while !end {
            // A batch of chunks, hashed on worker threads.
            let mut batch = Vec::with_capacity(BATCH_CHUNKS);
            while batch.len() < BATCH_CHUNKS && !end {
                let mut buf = vec![0u8; CHUNK_SIZE];
                let n =
                    read_full(data, &mut buf).map_err(|source| StoreError::Source { source })?;
                end = n < CHUNK_SIZE;
                if n > 0 {
                    buf.truncate(n);
                    size += n as u64;
                    batch.push(buf.into_boxed_slice());
                }
            }
            let pieces: Vec<&[u8]> = batch.iter().map(|c| &c[..]).collect();
            digests.extend(digests_while(&pieces, || ()).0);
            chunks.extend(batch);
        }
        let digest = ContentDigest {
            id: content_id_from_digests(size, &digests),
            size,
            digests,
        };
        let id = digest.id;
        let mut inner = self.write();
        match inner.content.get_mut(&id) {
            // Stored already: the bytes are dropped, the description replaced.
            Some(stored) => {
                stored.kind = kind;
                stored.meta = meta.clone();
            }
            None => {
                let tree = MerkleTree::with_domains(TREE_DOMAINS, &digest.digests);
                let data = Data {
                    id,
                    size: digest.size,
                    chunks,
                    digests: digest.digests,
                    tree,
                };
                inner.content.insert(
                    id,
                    Stored {
                        data: Arc::new(data),
                        kind,
                        meta: meta.clone(),
                    },
                );
            }
        }
        Ok(Self::stat_of(&inner, &id).expect("inserted above"))
    }

    fn open(&self, id: &ContentId) -> Result<Box<dyn Read + Send + '_>, StoreError> {
        Ok(Box::new(MemoryReader {
            data: self.data(id)?,
            index: 0,
            pos: 0,
            verified: false,
        }))
    }

    fn has(&self, id: &ContentId) -> Result<bool, StoreError> {
        Ok(self.read().content.contains_key(id))
    }

    fn stat(&self, id: &ContentId) -> Result<Option<ResourceStat>, StoreError> {
        Ok(Self::stat_of(&self.read(), id))
    }

    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, StoreError> {
        let data = self.data(id)?;
        let chunks = chunk_count(data.size);
        let out_of_range = StoreError::ChunkOutOfRange {
            id: *id,
            index,
            chunks,
        };
        let Some(i) = usize::try_from(index)
            .ok()
            .filter(|&i| i < data.chunks.len())
        else {
            return Err(out_of_range);
        };
        let bytes = data.verified(i)?.to_vec();
        let proof = data.tree.proof(i).ok_or(out_of_range)?;
        Ok(Chunk {
            index,
            bytes,
            proof,
        })
    }

    fn pin(&self, id: &ContentId) -> Result<(), StoreError> {
        let mut inner = self.write();
        let count = inner.pins.entry(*id).or_insert(0);
        *count = count.saturating_add(1);
        Ok(())
    }

    fn unpin(&self, id: &ContentId) -> Result<(), StoreError> {
        let mut inner = self.write();
        match inner.pins.get_mut(id) {
            Some(count) if *count > 1 => *count -= 1,
            Some(_) => {
                inner.pins.remove(id);
            }
            None => return Err(StoreError::NotPinned { id: *id }),
        }
        Ok(())
    }

    fn pins(&self) -> Result<Vec<(ContentId, u64)>, StoreError> {
        Ok(self.read().pins.iter().map(|(id, n)| (*id, *n)).collect())
    }

    fn collect_garbage(&self) -> Result<GcReport, StoreError> {
        let mut inner = self.write();
        let Inner { content, pins } = &mut *inner;
        let mut report = GcReport::default();
        content.retain(|id, stored| {
            let keep = pins.get(id).is_some_and(|&n| n > 0);
            if !keep {
                report.removed += 1;
                report.bytes_freed += stored.data.size;
            }
            keep
        });
        Ok(report)
    }
}

/// Reads content from memory, re-hashing each chunk before handing out any of its bytes.
struct MemoryReader {
    data: Arc<Data>,
    index: usize,
    pos: usize,
    verified: bool,
}

impl Read for MemoryReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let Some(chunk) = self.data.chunks.get(self.index) else {
            return Ok(0);
        };
        if !self.verified {
            self.data
                .verified(self.index)
                .map_err(StoreError::into_io)?;
            self.verified = true;
        }
        let n = (chunk.len() - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&chunk[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == chunk.len() {
            self.index += 1;
            self.pos = 0;
            self.verified = false;
        }
        Ok(n)
    }
}
