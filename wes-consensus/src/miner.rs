//! The proof-of-work miner: a nonce search over a pre-encoded header, split across threads,
//! cancellable, reporting its hash rate.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wes_core::{BlockHash, BlockHeader, ConsensusError, Domain, Hasher, codec};

use crate::target::U256;

/// Nonces a thread tries between two looks at the cancel flag.
const BATCH: u64 = 4_096;

/// A header encoded once for mining: the hash state after the bytes before the nonce, and
/// the bytes after it. Hashing a nonce clones the state and absorbs only the 8 nonce bytes
/// and the tail, instead of re-encoding the header; the result is exactly
/// [`BlockHeader::hash`] of the header with that nonce ([`new`](Self::new) checks it).
#[derive(Clone)]
pub struct HeaderTemplate {
    header: BlockHeader,
    prefix: Hasher,
    suffix: Vec<u8>,
    nonce_offset: usize,
}

impl core::fmt::Debug for HeaderTemplate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HeaderTemplate")
            .field("header", &self.header)
            .field("nonce_offset", &self.nonce_offset)
            .finish()
    }
}

impl HeaderTemplate {
    /// Encodes `header` and locates its nonce: the canonical encoding is fixed-width
    /// little-endian, so the nonce is the 8 bytes before the seal's 8-byte length and bytes.
    ///
    /// # Errors
    /// [`ConsensusError::Other`] if the patched encoding does not reproduce
    /// [`BlockHeader::hash`] (the header format changed and this code was not updated).
    pub fn new(header: &BlockHeader) -> Result<Self, ConsensusError> {
        let bytes = codec::encode(header);
        let broken = || ConsensusError::Other {
            engine: crate::pow::POW_XOR_ENGINE,
            reason: "cannot locate the nonce in the header encoding".into(),
        };
        let nonce_offset = bytes
            .len()
            .checked_sub(header.seal.len() + 16)
            .ok_or_else(broken)?;
        let mut prefix = Hasher::new(Domain::BLOCK_HEADER);
        prefix.update(&bytes[..nonce_offset]);
        let template = HeaderTemplate {
            header: header.clone(),
            prefix,
            suffix: bytes[nonce_offset + 8..].to_vec(),
            nonce_offset,
        };
        if bytes[nonce_offset..nonce_offset + 8] != header.nonce.to_le_bytes()
            || template.hash_with(header.nonce) != header.hash()
        {
            return Err(broken());
        }
        Ok(template)
    }

    /// Byte offset of the nonce in the canonical encoding of the header.
    pub fn nonce_offset(&self) -> usize {
        self.nonce_offset
    }

    /// The block hash of the header with `nonce`.
    pub fn hash_with(&self, nonce: u64) -> BlockHash {
        let mut h = self.prefix.clone();
        h.update(nonce.to_le_bytes());
        h.update(&self.suffix);
        BlockHash(h.finalize())
    }

    /// The header with `nonce`.
    pub fn header_with(&self, nonce: u64) -> BlockHeader {
        let mut header = self.header.clone();
        header.nonce = nonce;
        header
    }

    /// Tries `count` nonces from `start` (wrapping) on one thread. Returns the first nonce
    /// whose hash is at most `target` (big-endian bytes), if any, and the hashes computed.
    pub fn search(&self, target: &[u8; 32], start: u64, count: u64) -> (Option<u64>, u64) {
        for i in 0..count {
            let nonce = start.wrapping_add(i);
            if self.hash_with(nonce).as_bytes() <= target {
                return (Some(nonce), i + 1);
            }
        }
        (None, count)
    }
}

/// What a mining run did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MinerStats {
    /// Hashes computed, over all threads.
    pub hashes: u64,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// Threads used.
    pub threads: usize,
}

impl MinerStats {
    /// Hashes per second (0 for an instantaneous run).
    pub fn hash_rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.hashes as f64 / secs
        } else {
            0.0
        }
    }
}

/// A multi-threaded nonce search. Thread `i` of `n` searches the `i`-th of `n` equal
/// slices of the nonce space, starting from the header's nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Miner {
    threads: usize,
}

impl Default for Miner {
    /// One thread per available core.
    fn default() -> Self {
        Miner::new(
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1),
        )
    }
}

impl Miner {
    /// A miner with `threads` threads (at least one).
    pub fn new(threads: usize) -> Self {
        Miner {
            threads: threads.max(1),
        }
    }

    /// Its thread count.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Searches for a nonce whose header hash is at most `target`. Returns the solved header,
    /// or `None` if `cancel` was set first (each thread looks at it every few thousand
    /// hashes, so cancelling takes effect within a few milliseconds); in both cases the
    /// statistics of the run.
    ///
    /// # Errors
    /// [`ConsensusError::Other`] if the whole nonce space was searched in vain (change the
    /// time or the coinbase and mine again), or the header cannot be templated.
    pub fn mine(
        &self,
        header: BlockHeader,
        target: &U256,
        cancel: &AtomicBool,
    ) -> Result<(Option<BlockHeader>, MinerStats), ConsensusError> {
        let started = Instant::now();
        let template = HeaderTemplate::new(&header)?;
        let target = target.to_be_bytes::<32>();
        let slice = u64::MAX / self.threads as u64;
        let found = AtomicBool::new(false);
        let winner = Mutex::new(None);
        let hashes = AtomicU64::new(0);
        std::thread::scope(|scope| {
            for i in 0..self.threads {
                let (template, found, winner, hashes) = (&template, &found, &winner, &hashes);
                scope.spawn(move || {
                    let mut nonce = header.nonce.wrapping_add(slice.wrapping_mul(i as u64));
                    let mut remaining = slice;
                    let mut done = 0;
                    while remaining > 0
                        && !found.load(Ordering::Relaxed)
                        && !cancel.load(Ordering::Relaxed)
                    {
                        let batch = remaining.min(BATCH);
                        let (hit, n) = template.search(&target, nonce, batch);
                        done += n;
                        if let Some(hit) = hit {
                            let mut w = winner.lock().unwrap_or_else(|p| p.into_inner());
                            w.get_or_insert(hit);
                            found.store(true, Ordering::Relaxed);
                            break;
                        }
                        nonce = nonce.wrapping_add(batch);
                        remaining -= batch;
                    }
                    hashes.fetch_add(done, Ordering::Relaxed);
                });
            }
        });
        let stats = MinerStats {
            hashes: hashes.into_inner(),
            elapsed: started.elapsed(),
            threads: self.threads,
        };
        let winner = winner.into_inner().unwrap_or_else(|p| p.into_inner());
        match winner {
            Some(nonce) => Ok((Some(template.header_with(nonce)), stats)),
            None if cancel.load(Ordering::Relaxed) => Ok((None, stats)),
            None => Err(ConsensusError::Other {
                engine: crate::pow::POW_XOR_ENGINE,
                reason: "nonce space exhausted".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wes_core::{ChainId, CompactTarget, Hash, PublicKey};

    fn header(seal: Vec<u8>) -> BlockHeader {
        BlockHeader {
            version: BlockHeader::VERSION,
            chain_id: ChainId(3),
            parent: BlockHash(Hash([1; 32])),
            height: 9,
            time_ms: 123_456,
            tx_root: Hash([2; 32]),
            witness_root: Hash([3; 32]),
            state_root: Hash([4; 32]),
            producer: PublicKey([5; 32]),
            target: CompactTarget(0x207f_ffff),
            nonce: 0x0102_0304_0506_0708,
            seal,
        }
    }

    #[test]
    fn patched_nonce_hashes_like_the_header() {
        for seal in [vec![], vec![7; 40]] {
            let h = header(seal);
            let t = HeaderTemplate::new(&h).unwrap();
            let bytes = codec::encode(&h);
            assert_eq!(
                &bytes[t.nonce_offset()..t.nonce_offset() + 8],
                &h.nonce.to_le_bytes()
            );
            for nonce in [0, 1, u64::MAX, 0xdead_beef] {
                assert_eq!(t.hash_with(nonce), t.header_with(nonce).hash());
            }
        }
    }

    #[test]
    fn threads_find_a_valid_nonce_and_count_hashes() {
        let h = header(vec![]);
        let target = U256::MAX >> 10; // ~1024 hashes
        let (found, stats) = Miner::new(2)
            .mine(h, &target, &AtomicBool::new(false))
            .unwrap();
        let found = found.unwrap();
        assert!(crate::target::meets_target(&found.hash(), &target));
        assert!(stats.hashes >= 1 && stats.threads == 2);
    }

    #[test]
    fn cancel_stops_the_search() {
        let cancel = AtomicBool::new(true);
        let (found, _) = Miner::new(2)
            .mine(header(vec![]), &U256::from(1u8), &cancel)
            .unwrap();
        assert!(found.is_none());
        // Cancelled from another thread while searching an unreachable target.
        let cancel = AtomicBool::new(false);
        let (found, stats) = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                cancel.store(true, Ordering::Relaxed);
            });
            Miner::new(2)
                .mine(header(vec![]), &U256::from(1u8), &cancel)
                .unwrap()
        });
        assert!(found.is_none());
        assert!(stats.hashes > 0 && stats.hash_rate() > 0.0);
    }
}
