//! Test doubles for fetching (feature `testing`): peers that serve honestly, serve wrong
//! chunks or proofs, lack chunks, cannot be reached, or lie about sizes.
//!
//! ```
//! use wes_core::{ResourceKind, ResourceMeta, ResourceStore};
//! use wes_ures::testing::{Behaviour, TestPeer};
//! use wes_ures::{ChunkSource, Fetcher, MemoryStore};
//!
//! let seed = MemoryStore::new();
//! let stat = seed.put(ResourceKind::File, &ResourceMeta::default(), &mut &b"hello"[..]).unwrap();
//! let liar = TestPeer::new(seed.clone(), Behaviour::CorruptChunk(None));
//! let honest = TestPeer::new(seed, Behaviour::Honest);
//! let local = MemoryStore::new();
//! let report = Fetcher::new([&liar as &dyn ChunkSource, &honest]).fetch(&stat.body(), &local).unwrap();
//! assert_eq!(report.faults[0].peer, 0); // the liar is named
//! assert_eq!(local.get(&stat.id).unwrap(), b"hello");
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use wes_core::{Chunk, ContentId, ResourceStore};

use crate::fetch::{ChunkSource, SourceError, StoreSource};
use crate::memory::MemoryStore;

/// How a [`TestPeer`] misbehaves. `Some(index)` applies to that chunk only, `None` to all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Serves what its store has.
    Honest,
    /// Flips a bit of the chunk's first byte (the proof is left as is).
    CorruptChunk(Option<u64>),
    /// Serves the right bytes with a damaged proof.
    WrongProof(Option<u64>),
    /// Serves the chunk one byte short.
    Truncate(Option<u64>),
    /// Answers that it does not have the chunk.
    Missing(Option<u64>),
    /// Cannot be reached.
    Unreachable,
    /// Serves honestly but claims every content has this size.
    ClaimSize(u64),
}

/// A peer serving the content of a [`MemoryStore`], misbehaving as told. Counts the chunk
/// requests it receives.
pub struct TestPeer {
    store: MemoryStore,
    behaviour: Behaviour,
    requests: AtomicU64,
}

impl TestPeer {
    /// A peer serving `store`'s content (clones of a `MemoryStore` share content).
    pub fn new(store: MemoryStore, behaviour: Behaviour) -> Self {
        TestPeer {
            store,
            behaviour,
            requests: AtomicU64::new(0),
        }
    }

    /// Chunk requests received so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

fn applies(which: Option<u64>, index: u64) -> bool {
    which.is_none_or(|i| i == index)
}

impl ChunkSource for TestPeer {
    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, SourceError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match self.behaviour {
            Behaviour::Unreachable => {
                return Err(SourceError::Failed {
                    reason: "connection refused".into(),
                });
            }
            Behaviour::Missing(which) if applies(which, index) => {
                return Err(SourceError::Missing { id: *id, index });
            }
            _ => {}
        }
        let mut chunk = StoreSource(&self.store).chunk(id, index)?;
        match self.behaviour {
            Behaviour::CorruptChunk(which) if applies(which, index) => {
                if let Some(b) = chunk.bytes.first_mut() {
                    *b ^= 1;
                }
            }
            Behaviour::WrongProof(which) if applies(which, index) => {
                match chunk.proof.siblings.first_mut() {
                    Some(sibling) => sibling.0[0] ^= 1,
                    None => chunk.proof.leaf_count += 1,
                }
            }
            Behaviour::Truncate(which) if applies(which, index) => {
                chunk.bytes.pop();
            }
            _ => {}
        }
        Ok(chunk)
    }

    fn size(&self, id: &ContentId) -> Result<u64, SourceError> {
        match self.behaviour {
            Behaviour::ClaimSize(size) => Ok(size),
            Behaviour::Unreachable => Err(SourceError::Failed {
                reason: "connection refused".into(),
            }),
            _ => match self.store.stat(id) {
                Ok(Some(stat)) => Ok(stat.size),
                _ => Err(SourceError::Missing { id: *id, index: 0 }),
            },
        }
    }
}
