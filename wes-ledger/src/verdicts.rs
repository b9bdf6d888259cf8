//! Signature verdicts remembered from admission to block import, so that a node verifies
//! each transaction's signatures once: a transaction checked when it entered the mempool
//! is not verified again when a block holding that exact transaction is built (by this node)
//! or imported (from a peer).
//!
//! The key is the transaction's witness commitment, `H(txid ‖ witness)`: it binds the signed
//! message (the id) and every signature byte, so a block carrying the same transaction with
//! another witness misses the cache and is verified in full. Only positive verdicts are kept,
//! and only cryptographic verification is skipped: the structure, the signer set and the
//! locks are checked every time.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use wes_core::Hash;

/// How many verdicts a ledger remembers by default: more than a full mempool holds
/// (50 000), about 7 MB.
pub const SIGNATURE_CACHE_ENTRIES: usize = 100_000;

#[derive(Debug, Default)]
struct Entries {
    keys: HashSet<Hash>,
    order: VecDeque<Hash>,
}

/// Witness commitments whose signatures verified; bounded, the oldest forgotten first.
/// Only the ledger records verdicts, after verifying.
#[derive(Debug)]
pub struct SignatureCache {
    entries: Mutex<Entries>,
    capacity: usize,
    hits: AtomicU64,
}

impl Default for SignatureCache {
    fn default() -> Self {
        SignatureCache::new(SIGNATURE_CACHE_ENTRIES)
    }
}

impl SignatureCache {
    /// A cache of at most `capacity` verdicts (0 remembers nothing).
    pub fn new(capacity: usize) -> Self {
        SignatureCache {
            entries: Mutex::default(),
            capacity,
            hits: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // Plain sets: a panic while the lock was held cannot leave them torn.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the signatures of the transaction with this witness commitment verified.
    pub fn contains(&self, commitment: &Hash) -> bool {
        self.lock().keys.contains(commitment)
    }

    /// Whether the signatures are known to verify, counting a hit when they are (a
    /// verification spared).
    pub(crate) fn verified(&self, commitment: &Hash) -> bool {
        let hit = self.contains(commitment);
        if hit {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// How many times a transaction's signatures were not verified again because a verdict
    /// was held (admission re-checks, block building and block import all count).
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Remembers that the signatures of the transaction with this witness commitment
    /// verified, forgetting the oldest verdict when full.
    pub(crate) fn insert(&self, commitment: Hash) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        if !entries.keys.insert(commitment) {
            return;
        }
        entries.order.push_back(commitment);
        while entries.order.len() > self.capacity {
            if let Some(old) = entries.order.pop_front() {
                entries.keys.remove(&old);
            }
        }
    }

    /// How many verdicts are held.
    pub fn len(&self) -> usize {
        self.lock().keys.len()
    }

    /// Whether no verdict is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every verdict.
    pub fn clear(&self) {
        *self.lock() = Entries::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_up_to_its_capacity_and_forgets_the_oldest_first() {
        let cache = SignatureCache::new(2);
        let (a, b, c) = (Hash([1; 32]), Hash([2; 32]), Hash([3; 32]));
        cache.insert(a);
        cache.insert(b);
        cache.insert(a); // already held: not a new entry
        assert_eq!(cache.len(), 2);
        cache.insert(c);
        assert!(!cache.contains(&a) && cache.contains(&b) && cache.contains(&c));
        cache.clear();
        assert!(cache.is_empty());
        let none = SignatureCache::new(0);
        none.insert(a);
        assert!(!none.contains(&a));
    }
}
