//! Content-addressed resource storage (URES): contracts, models, files.

use std::io::Read;

use crate::fault::Blame;
use crate::hash::ContentId;
use crate::merkle::MerkleProof;

/// What a store knows about one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceStat {
    /// The content id.
    pub id: ContentId,
    /// Length in bytes.
    pub size: u64,
    /// Number of chunks.
    pub chunks: u64,
    /// Whether it is pinned (never garbage-collected).
    pub pinned: bool,
}

/// One chunk of a resource with the proof that it belongs to the content id, so a chunk from
/// an untrusted peer can be checked on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Chunk index.
    pub index: u64,
    /// The chunk's bytes.
    pub bytes: Vec<u8>,
    /// Inclusion proof against the content id.
    pub proof: MerkleProof,
}

/// What garbage collection removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Resources removed.
    pub removed: u64,
    /// Bytes freed.
    pub bytes_freed: u64,
}

/// A content-addressed store. Implement it to keep resources elsewhere (S3, IPFS…).
///
/// Contract: every read is verified against the content id; corrupted bytes are reported as
/// an error, never returned. Storing the same bytes twice stores them once. Pinned content is
/// never collected.
pub trait ResourceStore: Send + Sync {
    /// The store's error; [`Blame`] tells corruption and missing content from bad input.
    type Error: std::error::Error + Blame + Send + Sync + 'static;

    /// Stores the bytes read from `data` (streamed: memory use does not grow with size) and
    /// returns what was stored.
    fn put(&self, data: &mut dyn Read) -> Result<ResourceStat, Self::Error>;

    /// A reader over the content, verified chunk by chunk as it is read.
    fn open(&self, id: &ContentId) -> Result<Box<dyn Read + Send + '_>, Self::Error>;

    /// Whether the content is stored in full.
    fn has(&self, id: &ContentId) -> Result<bool, Self::Error>;

    /// Facts about stored content, `None` if absent.
    fn stat(&self, id: &ContentId) -> Result<Option<ResourceStat>, Self::Error>;

    /// Chunk `index` of the content with its proof.
    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, Self::Error>;

    /// Protects content from garbage collection (it is referenced by a live Resource output).
    fn pin(&self, id: &ContentId) -> Result<(), Self::Error>;

    /// Lifts a pin.
    fn unpin(&self, id: &ContentId) -> Result<(), Self::Error>;

    /// Removes all unpinned content.
    fn collect_garbage(&self) -> Result<GcReport, Self::Error>;
}
