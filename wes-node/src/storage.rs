//! What the node does when its disk fills up.
//!
//! A store whose write fails half-way cannot be trusted until it is reopened (sled cannot go
//! on after a failed write, nor even open on a full disk). So the node's stores keep a
//! reserve of free space and refuse a write that would eat into it *before* making it, with
//! a typed error (rule `disk_full`), staying usable:
//!
//! - content (uploads, resources fetched for peers' transactions) stops first, at twice the
//!   reserve: `wes_putResource` answers `disk_full`;
//! - blocks stop at the reserve: the producer stops sealing (no work is spent on a block that
//!   cannot be stored), peers' blocks are refused as a local failure (the peer is not
//!   blamed, and sync brings them again later), `GET /health` reports `disk_full` (HTTP 503);
//! - the indexes (events, the settlement journal) stop last, at half the reserve, so they can
//!   follow every block the ledger wrote.
//!
//! Reads and the RPC keep working throughout. Once space is freed, everything resumes
//! without a restart. A write that fails anyway (the space was taken between the check and
//! the write) leaves the ledger refusing writes until the node restarts, at the last whole
//! block; `GET /health` then reports `storage_failed`.

/// How much disk space the node keeps free (see the [module docs](self)), and how much
/// memory the ledger's store may cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageConfig {
    /// Free space below which the ledger writes no block (default 64 MiB). Content stops
    /// at twice this, the indexes at half.
    pub reserve_bytes: u64,
    /// The page cache of the default ledger store (sled), in bytes (default
    /// [`DEFAULT_LEDGER_CACHE_BYTES`]). sled treats it as a soft bound: under writes its real
    /// use grows to several times this (see BENCHMARKS.md, *Soak*).
    pub ledger_cache_bytes: u64,
}

/// The default [`StorageConfig::ledger_cache_bytes`]: 32 MiB. Measured on a five-node devnet
/// under 400 transfers a second (BENCHMARKS.md, *Soak*): a larger cache bought no throughput
/// and cost memory that kept growing.
pub const DEFAULT_LEDGER_CACHE_BYTES: u64 = 32 << 20;

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            reserve_bytes: 64 << 20,
            ledger_cache_bytes: DEFAULT_LEDGER_CACHE_BYTES,
        }
    }
}

impl StorageConfig {
    /// The free space the ledger's store keeps.
    pub fn ledger_reserve(&self) -> u64 {
        self.reserve_bytes
    }

    /// The free space the resource store keeps: content stops before blocks do.
    pub fn content_reserve(&self) -> u64 {
        self.reserve_bytes.saturating_mul(2)
    }

    /// The free space the event index and settlement journal keep: they follow every block
    /// the ledger could write.
    pub fn index_reserve(&self) -> u64 {
        self.reserve_bytes / 2
    }
}
