//! The content id: a SHA3-256 Merkle root over fixed-size chunks, committing to the length.
//!
//! ```text
//! chunk i     = bytes[i·CHUNK_SIZE .. min((i+1)·CHUNK_SIZE, size)]     (the last may be short)
//! digest i    = H("wes/ures/chunk", chunk i)
//! merkle_root = the wes-core Merkle tree over [digest 0, …, digest n-1] in TREE_DOMAINS
//!               (leaf "wes/ures/leaf", node "wes/ures/node", empty "wes/ures/empty")
//! content id  = H("wes/ures/content", size as u64 little-endian ‖ merkle_root)
//! ```
//!
//! `H(tag, data)` is wes-core's domain-separated SHA3-256, `SHA3-256(len(tag) ‖ tag ‖ data)`.
//! The empty resource has no chunks and the id `H("wes/ures/content", 0u64 ‖ empty root)`; a
//! resource of at most [`CHUNK_SIZE`] bytes is one chunk.
//!
//! Because the id commits to the size, the size fixes the number of chunks and the length of
//! each: a chunk received from an untrusted peer is checked on its own with
//! [`verify_chunk`], and a peer cannot make a verifier accept a different size, chunk count or
//! chunk length without breaking SHA3-256.

use wes_core::merkle::MerkleError;
use wes_core::{
    Blame, ContentId, Domain, Fault, Hash, Hasher, MerkleProof, MerkleTree, TreeDomains,
};

/// Size of every chunk but the last, in bytes: 256 KiB.
///
/// Large enough that a 1 GiB model has 4,096 chunks (128 KiB of digests, proofs of 12
/// siblings), small enough that one chunk is a cheap unit to fetch, verify and re-request.
pub const CHUNK_SIZE: usize = 256 * 1024;

/// [`CHUNK_SIZE`] as a `u64`.
const CHUNK: u64 = CHUNK_SIZE as u64;

/// Domain of chunk digests, the items of the content tree.
pub const CHUNK_DOMAIN: Domain = Domain::new("wes/ures/chunk");

/// Domain of the content id, which binds the Merkle root to the length.
pub const CONTENT_DOMAIN: Domain = Domain::new("wes/ures/content");

/// The domains of the content tree, apart from every other tree in WES.
pub const TREE_DOMAINS: TreeDomains = TreeDomains {
    leaf: Domain::new("wes/ures/leaf"),
    node: Domain::new("wes/ures/node"),
    empty: Domain::new("wes/ures/empty"),
};

/// Number of chunks of content of `size` bytes: `ceil(size / CHUNK_SIZE)`, 0 for empty content.
pub const fn chunk_count(size: u64) -> u64 {
    size.div_ceil(CHUNK)
}

/// Length of chunk `index` of content of `size` bytes, `None` if there is no such chunk.
pub fn chunk_len(size: u64, index: u64) -> Option<usize> {
    if index >= chunk_count(size) {
        return None;
    }
    // index < chunk_count, so index · CHUNK < size and the subtraction cannot underflow.
    let rest = size - index * CHUNK;
    Some(rest.min(CHUNK) as usize)
}

/// Byte offset of chunk `index` (not checked against any size).
pub const fn chunk_offset(index: u64) -> u64 {
    index.saturating_mul(CHUNK)
}

/// The digest of one chunk's bytes: the item the content tree is built over.
pub fn chunk_digest(bytes: &[u8]) -> Hash {
    wes_core::hash(CHUNK_DOMAIN, bytes)
}

/// The content id of `size` bytes whose chunk tree has the root `merkle_root`.
pub fn content_id_from_root(size: u64, merkle_root: &Hash) -> ContentId {
    let mut h = Hasher::new(CONTENT_DOMAIN);
    h.update(size.to_le_bytes()).update(merkle_root);
    ContentId(h.finalize())
}

/// The content id of `size` bytes with the given chunk digests (one per chunk, in order).
pub fn content_id_from_digests(size: u64, digests: &[Hash]) -> ContentId {
    content_id_from_root(
        size,
        &wes_core::merkle::merkle_root_in(TREE_DOMAINS, digests),
    )
}

/// The content id of `bytes`. For content that does not fit in memory use [`ContentHasher`].
pub fn content_id(bytes: &[u8]) -> ContentId {
    let mut hasher = ContentHasher::new();
    hasher.update(bytes);
    hasher.finalize().id
}

/// The id of the empty resource.
pub fn empty_content_id() -> ContentId {
    content_id(&[])
}

/// Computes a content id from bytes fed in pieces of any size.
///
/// Memory use is one running hash plus 32 bytes per chunk (the digests, needed to produce
/// chunk proofs): 128 KiB for 1 GiB of content.
#[derive(Clone)]
pub struct ContentHasher {
    current: Hasher,
    in_chunk: usize,
    size: u64,
    digests: Vec<Hash>,
}

impl Default for ContentHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl ContentHasher {
    /// A hasher that has seen no bytes.
    pub fn new() -> Self {
        ContentHasher {
            current: Hasher::new(CHUNK_DOMAIN),
            in_chunk: 0,
            size: 0,
            digests: Vec::new(),
        }
    }

    /// Absorbs the next bytes of the content.
    pub fn update(&mut self, mut data: &[u8]) -> &mut Self {
        while !data.is_empty() {
            let take = (CHUNK_SIZE - self.in_chunk).min(data.len());
            self.current.update(&data[..take]);
            self.in_chunk += take;
            self.size += take as u64;
            data = &data[take..];
            if self.in_chunk == CHUNK_SIZE {
                let done = std::mem::replace(&mut self.current, Hasher::new(CHUNK_DOMAIN));
                self.digests.push(done.finalize());
                self.in_chunk = 0;
            }
        }
        self
    }

    /// Bytes absorbed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The id, size and chunk digests of the content absorbed.
    pub fn finalize(mut self) -> ContentDigest {
        if self.in_chunk > 0 {
            self.digests.push(self.current.finalize());
        }
        ContentDigest {
            id: content_id_from_digests(self.size, &self.digests),
            size: self.size,
            digests: self.digests,
        }
    }
}

/// What [`ContentHasher`] computed: everything needed to serve chunks with proofs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentDigest {
    /// The content id.
    pub id: ContentId,
    /// The content's length in bytes.
    pub size: u64,
    /// The digest of each chunk, in order ([`chunk_digest`]).
    pub digests: Vec<Hash>,
}

impl ContentDigest {
    /// Number of chunks.
    pub fn chunks(&self) -> u64 {
        self.digests.len() as u64
    }

    /// The chunk tree, for producing proofs of many chunks.
    pub fn tree(&self) -> MerkleTree {
        MerkleTree::with_domains(TREE_DOMAINS, &self.digests)
    }

    /// The proof of chunk `index`, `None` if there is no such chunk. Builds the whole tree:
    /// to prove many chunks, keep [`ContentDigest::tree`] instead.
    pub fn proof(&self, index: u64) -> Option<MerkleProof> {
        let index = usize::try_from(index).ok()?;
        self.tree().proof(index)
    }
}

/// Why a chunk does not belong to a content id. Always the fault of whoever supplied the
/// chunk ([`Fault::Input`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// Content of this size has no chunk at this index.
    #[error("content of {size} bytes has {chunks} chunks, there is no chunk {index}")]
    IndexOutOfRange {
        /// The chunk asked for.
        index: u64,
        /// The content's size.
        size: u64,
        /// Its number of chunks.
        chunks: u64,
    },
    /// The proof is for another position.
    #[error("proof is for chunk {got}, expected chunk {expected}")]
    ProofIndex {
        /// The chunk asked for.
        expected: u64,
        /// The index the proof names.
        got: u64,
    },
    /// The proof is for a tree of another size, so for content of another length.
    #[error("proof is for {got} chunks, content of this size has {expected}")]
    LeafCount {
        /// Chunks of content of the expected size.
        expected: u64,
        /// The leaf count the proof names.
        got: u64,
    },
    /// The chunk has the wrong length for its position.
    #[error("chunk {index} is {got} bytes, expected {expected}")]
    Length {
        /// The chunk.
        index: u64,
        /// Its length at this position.
        expected: usize,
        /// Its length as received.
        got: usize,
    },
    /// The proof is malformed for its position.
    #[error("chunk proof: {0}")]
    Proof(#[from] MerkleError),
    /// The chunk and proof lead to another content id: the bytes or the proof are wrong.
    #[error("chunk {index} with its proof leads to content id {got}, expected {expected}")]
    Mismatch {
        /// The chunk.
        index: u64,
        /// The content id asked for.
        expected: ContentId,
        /// The id the chunk and proof lead to.
        got: ContentId,
    },
}

impl Blame for ChunkError {
    fn fault(&self) -> Fault {
        Fault::Input
    }
}

/// Checks that `bytes` are chunk `index` of the content `id` of `size` bytes, using `proof`.
///
/// The size comes from a trusted place (the on-chain `Resource` output) or is itself checked by
/// this call: the id commits to it, so a wrong size fails here like a wrong chunk does. The
/// proof must name exactly `index` and the chunk count of `size`, and the chunk must have the
/// length its position requires.
pub fn verify_chunk(
    id: &ContentId,
    size: u64,
    index: u64,
    bytes: &[u8],
    proof: &MerkleProof,
) -> Result<(), ChunkError> {
    let chunks = chunk_count(size);
    let Some(expected_len) = chunk_len(size, index) else {
        return Err(ChunkError::IndexOutOfRange {
            index,
            size,
            chunks,
        });
    };
    if proof.index != index {
        return Err(ChunkError::ProofIndex {
            expected: index,
            got: proof.index,
        });
    }
    if proof.leaf_count != chunks {
        return Err(ChunkError::LeafCount {
            expected: chunks,
            got: proof.leaf_count,
        });
    }
    if bytes.len() != expected_len {
        return Err(ChunkError::Length {
            index,
            expected: expected_len,
            got: bytes.len(),
        });
    }
    let root = proof.compute_root_in(TREE_DOMAINS, &chunk_digest(bytes))?;
    let got = content_id_from_root(size, &root);
    if &got != id {
        return Err(ChunkError::Mismatch {
            index,
            expected: *id,
            got,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_arithmetic_at_the_boundaries() {
        assert_eq!(chunk_count(0), 0);
        assert_eq!(chunk_count(1), 1);
        assert_eq!(chunk_count(CHUNK - 1), 1);
        assert_eq!(chunk_count(CHUNK), 1);
        assert_eq!(chunk_count(CHUNK + 1), 2);
        assert_eq!(chunk_count(u64::MAX), u64::MAX / CHUNK + 1);
        assert_eq!(chunk_len(0, 0), None);
        assert_eq!(chunk_len(CHUNK + 1, 0), Some(CHUNK_SIZE));
        assert_eq!(chunk_len(CHUNK + 1, 1), Some(1));
        assert_eq!(chunk_len(CHUNK + 1, 2), None);
        assert_eq!(chunk_len(u64::MAX, u64::MAX), None);
        assert_eq!(chunk_len(u64::MAX, u64::MAX / CHUNK), Some(CHUNK_SIZE - 1));
    }

    #[test]
    fn piecewise_hashing_matches_one_shot() {
        let data: Vec<u8> = (0..(2 * CHUNK_SIZE + 7)).map(|i| (i % 251) as u8).collect();
        let mut h = ContentHasher::new();
        for piece in data.chunks(1000) {
            h.update(piece);
        }
        let digest = h.finalize();
        assert_eq!(digest.id, content_id(&data));
        assert_eq!(digest.size, data.len() as u64);
        assert_eq!(digest.chunks(), 3);
        assert_eq!(digest.digests[2], chunk_digest(&data[2 * CHUNK_SIZE..]));
    }

    #[test]
    fn the_id_commits_to_the_length() {
        // Same Merkle root, different claimed sizes: different ids.
        let digests = [chunk_digest(b"abc")];
        assert_ne!(
            content_id_from_digests(3, &digests),
            content_id_from_digests(4, &digests)
        );
        assert_eq!(content_id_from_digests(3, &digests), content_id(b"abc"));
    }

    #[test]
    fn the_empty_resource_has_a_fixed_id_and_no_chunks() {
        assert_eq!(empty_content_id(), content_id(&[]));
        assert_ne!(empty_content_id(), content_id(&[0]));
        assert_eq!(ContentHasher::new().finalize().chunks(), 0);
    }
}
