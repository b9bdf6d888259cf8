//! # wes-ures
//!
//! URES, content-addressed storage for WASM contracts, ONNX models and files: chunked Merkle
//! content ids, reads verified chunk by chunk, pinning and garbage collection, and fetching
//! content from untrusted peers with every chunk checked on arrival. The ledger only registers
//! resources (`Resource` outputs, whose `content` is a [`ContentId`] computed here).
//!
//! | module | what it holds |
//! |---|---|
//! | [`content`] | the content id: [`CHUNK_SIZE`] (256 KiB) chunks, their Merkle root bound to the length; [`ContentHasher`] for streams; [`verify_chunk`] |
//! | [`memory`] | [`MemoryStore`], a [`ResourceStore`] in memory |
//! | [`disk`] | [`DiskStore`], a [`ResourceStore`] on disk: one file per resource, metadata and pins in sled |
//! | [`fetch`] | [`ChunkSource`] (what a peer serves, implemented by `wes-net`) and [`Fetcher`] |
//! | [`error`] | [`StoreError`], which says whose fault it is ([`wes_core::Blame`]) |
//! | `testing` | (feature `testing`) peers that serve wrong chunks, for tests |
//!
//! ```
//! use wes_core::{ResourceKind, ResourceMeta, ResourceStore};
//! use wes_ures::{DiskStore, verify_chunk};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = DiskStore::open(dir.path()).unwrap();
//! let meta = ResourceMeta { name: "hello.wasm".into(), mime: "application/wasm".into(), verifying_key: None };
//! let wasm = b"\0asm\x01\0\0\0".to_vec();
//!
//! // Store (streaming from any reader), pin (it is referenced on chain), read back verified.
//! let stat = store.put(ResourceKind::Wasm, &meta, &mut wasm.as_slice()).unwrap();
//! assert_eq!(stat.id, wes_ures::content_id(&wasm));
//! store.pin(&stat.id).unwrap();
//! assert_eq!(store.get(&stat.id).unwrap(), wasm);
//!
//! // A chunk with its proof, as a peer would receive it, checks on its own.
//! let chunk = store.chunk(&stat.id, 0).unwrap();
//! verify_chunk(&stat.id, stat.size, 0, &chunk.bytes, &chunk.proof).unwrap();
//!
//! // The body of the on-chain Resource output registering it.
//! let body = stat.body();
//! assert_eq!((body.content, body.size), (stat.id, 8));
//!
//! // Pinned content survives garbage collection.
//! assert_eq!(store.collect_garbage().unwrap().removed, 0);
//! ```
//!
//! To keep resources somewhere else (S3, IPFS, a database), implement
//! [`wes_core::ResourceStore`]; the content id functions here let any store compute ids and
//! proofs that every WES node agrees on (see the crate README).

#[cfg(feature = "testing")]
pub mod conformance;
pub mod content;
pub mod disk;
pub mod error;
pub mod fetch;
pub mod memory;
#[cfg(feature = "testing")]
pub mod testing;
mod util;

pub use content::{
    CHUNK_DOMAIN, CHUNK_SIZE, CONTENT_DOMAIN, ChunkError, ContentDigest, ContentHasher,
    TREE_DOMAINS, chunk_count, chunk_digest, chunk_len, content_id, content_id_from_digests,
    content_id_from_root, empty_content_id, verify_chunk,
};
pub use disk::{DISK_FORMAT, DiskStore, Durability};
pub use error::StoreError;
pub use fetch::{
    Attempt, AttemptOutcome, ChunkSource, FetchError, FetchReport, Fetcher, PeerFault, SourceError,
    StoreSource,
};
pub use memory::MemoryStore;
pub use wes_core::{Chunk, ContentId, GcReport, ResourceStat, ResourceStore};
