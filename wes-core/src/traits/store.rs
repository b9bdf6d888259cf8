//! Content-addressed resource storage (URES): contracts, models, files.

use std::io::Read;

use crate::fault::Blame;
use crate::hash::ContentId;
use crate::merkle::MerkleProof;
use crate::types::output::{ResourceBody, ResourceKind, ResourceMeta};

/// What a store knows about one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceStat {
    /// The content id.
    pub id: ContentId,
    /// Length in bytes.
    pub size: u64,
    /// Number of chunks.
    pub chunks: u64,
    /// Whether it is pinned (never garbage-collected).
    pub pinned: bool,
    /// What the content is, as described by the latest [`ResourceStore::put`] of it.
    pub kind: ResourceKind,
    /// Descriptive metadata, as given by the latest [`ResourceStore::put`] of it.
    pub meta: ResourceMeta,
}

impl ResourceStat {
    /// The body of a `Resource` output registering this content on chain: the same content
    /// id, size, kind and metadata.
    pub fn body(&self) -> ResourceBody {
        ResourceBody {
            content: self.id,
            kind: self.kind,
            size: self.size,
            meta: self.meta.clone(),
        }
    }
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
///
/// Metadata (kind, name, mime, verifying key) is not part of the content: a store keeps one
/// description per content id, the one given by the latest `put` of those bytes, and the
/// bytes themselves once.
///
/// Pins are counted: each `pin` is lifted by one `unpin`, so two live outputs referencing the
/// same content keep it pinned until both are gone. Content that is not stored yet may be
/// pinned (the ledger pins what it references before the bytes have been fetched); it is then
/// protected as soon as it arrives. To keep new content from being collected between its
/// `put` and its `pin`, pin first.
pub trait ResourceStore: Send + Sync {
    /// The store's error; [`Blame`] tells corruption and missing content from bad input.
    type Error: std::error::Error + Blame + Send + Sync + 'static;

    /// Stores the bytes read from `data` (streamed: memory use does not grow with size) under
    /// the description `kind` and `meta`, and returns what was stored. If the same bytes are
    /// stored already they are not stored again; the description is replaced.
    fn put(
        &self,
        kind: ResourceKind,
        meta: &ResourceMeta,
        data: &mut dyn Read,
    ) -> Result<ResourceStat, Self::Error>;

    /// A reader over the content, verified chunk by chunk as it is read. A chunk that fails
    /// verification makes `read` fail with an [`std::io::Error`] of kind `InvalidData` (whose
    /// inner error may be the store's `Error`), and none of that chunk's bytes are returned.
    fn open(&self, id: &ContentId) -> Result<Box<dyn Read + Send + '_>, Self::Error>;

    /// Whether the content is stored in full.
    fn has(&self, id: &ContentId) -> Result<bool, Self::Error>;

    /// Facts about stored content, `None` if absent.
    fn stat(&self, id: &ContentId) -> Result<Option<ResourceStat>, Self::Error>;

    /// Chunk `index` of the content with its proof.
    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, Self::Error>;

    /// Protects content from garbage collection (it is referenced by a live Resource output).
    /// Adds one to the content's pin count; the content need not be stored yet.
    fn pin(&self, id: &ContentId) -> Result<(), Self::Error>;

    /// Lifts one pin (subtracts one from the pin count). Unpinning content that is not pinned
    /// is an error.
    fn unpin(&self, id: &ContentId) -> Result<(), Self::Error>;

    /// Every pinned content id with its pin count (above zero), in no particular order,
    /// stored or not. The ledger reconciles the pins with its live outputs from it, after a
    /// crash left them behind (`wes_ledger::ResourcePins::reconcile`).
    fn pins(&self) -> Result<Vec<(ContentId, u64)>, Self::Error>;

    /// Removes all unpinned content.
    fn collect_garbage(&self) -> Result<GcReport, Self::Error>;
}
