//! [`RoundRobinAuthority`]: a second engine through the same trait — a fixed set of
//! authorities takes turns, each block signed by the authority whose turn it is. With one
//! authority it is an instant-seal development engine.

use core::cmp::Ordering;
use std::sync::atomic::AtomicBool;

use wes_core::{
    BlockHeader, ChainId, CompactTarget, ConsensusEngine, ConsensusError, HeaderSource, PublicKey,
    SecretKey, Signature, Work,
};

use crate::pow::{check_link, check_not_future};

/// The name [`RoundRobinAuthority`] reports.
pub const ROUND_ROBIN_ENGINE: &str = "round-robin-authority";

/// Round-robin authority consensus.
///
/// - The producer of height `h` is `authorities[h % n]`; its seal is its Ed25519 signature
///   over [`BlockHeader::seal_hash`] (64 bytes), checked with [`wes_core::verify`].
/// - Target and nonce are zero (no proof of work); a block's time is after its parent's and
///   at most `max_future_drift_ms` ahead of the local clock.
/// - Every block is worth `Work(1)`, so the longest chain wins; equal lengths prefer the
///   smaller block hash.
/// - [`seal`](ConsensusEngine::seal) signs at once if this node holds the producer's key.
///
/// A chain stalls while the authority whose turn it is is offline: this engine is for
/// development, tests and permissioned networks, not for open ones.
pub struct RoundRobinAuthority {
    chain_id: ChainId,
    authorities: Vec<PublicKey>,
    keys: Vec<SecretKey>,
    max_future_drift_ms: u64,
}

impl core::fmt::Debug for RoundRobinAuthority {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RoundRobinAuthority")
            .field("chain_id", &self.chain_id)
            .field("authorities", &self.authorities)
            .field("local_keys", &self.keys.len())
            .finish()
    }
}

impl RoundRobinAuthority {
    /// An engine that validates blocks of `authorities` (taking turns in this order) and
    /// seals none; add keys with [`with_key`](Self::with_key). Allows 60 s of clock drift.
    ///
    /// # Errors
    /// [`ConsensusError::Other`] if `authorities` is empty.
    pub fn new(chain_id: ChainId, authorities: Vec<PublicKey>) -> Result<Self, ConsensusError> {
        if authorities.is_empty() {
            return Err(ConsensusError::Other {
                engine: ROUND_ROBIN_ENGINE,
                reason: "the authority set is empty".into(),
            });
        }
        Ok(RoundRobinAuthority {
            chain_id,
            authorities,
            keys: Vec::new(),
            max_future_drift_ms: 60_000,
        })
    }

    /// An instant-seal development engine: `key` is the only authority and seals every block.
    pub fn instant_seal(chain_id: ChainId, key: SecretKey) -> Self {
        RoundRobinAuthority {
            chain_id,
            authorities: vec![key.public_key()],
            keys: vec![key],
            max_future_drift_ms: 60_000,
        }
    }

    /// Lets this node seal the turns of `key`.
    pub fn with_key(mut self, key: SecretKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Sets the allowed clock drift.
    pub fn with_max_future_drift_ms(mut self, drift_ms: u64) -> Self {
        self.max_future_drift_ms = drift_ms;
        self
    }

    /// The authority whose turn `height` is.
    pub fn producer_at(&self, height: u64) -> PublicKey {
        // `new` guarantees a non-empty set.
        let n = self.authorities.len() as u64;
        self.authorities[(height % n) as usize]
    }
}

impl ConsensusEngine for RoundRobinAuthority {
    fn name(&self) -> &'static str {
        ROUND_ROBIN_ENGINE
    }

    /// Chain id, zero target, the producer whose turn it is, and its signature in the seal.
    fn validate_header(&self, header: &BlockHeader) -> Result<(), ConsensusError> {
        if header.chain_id != self.chain_id {
            return Err(ConsensusError::WrongChain {
                expected: self.chain_id,
                got: header.chain_id,
            });
        }
        if header.target != CompactTarget(0) {
            return Err(ConsensusError::WrongTarget {
                expected: CompactTarget(0),
                got: header.target,
            });
        }
        let expected = self.producer_at(header.height);
        if header.producer != expected {
            return Err(ConsensusError::WrongProducer {
                expected: Some(expected),
                got: header.producer,
            });
        }
        let bytes: [u8; 64] = header.seal.as_slice().try_into().map_err(|_| {
            ConsensusError::BadSeal(format!(
                "expected a 64-byte signature, got {} bytes",
                header.seal.len()
            ))
        })?;
        wes_core::verify(
            &header.producer,
            header.seal_hash().as_bytes(),
            &Signature(bytes),
        )
        .map_err(|e| ConsensusError::BadSeal(e.to_string()))
    }

    /// Parent link, height, time strictly after the parent's and not too far ahead.
    fn validate_header_against_parent(
        &self,
        header: &BlockHeader,
        parent: &BlockHeader,
        _ancestors: &dyn HeaderSource,
        now_ms: u64,
    ) -> Result<(), ConsensusError> {
        check_link(header, parent)?;
        check_not_future(header, now_ms, self.max_future_drift_ms)?;
        if header.time_ms <= parent.time_ms {
            return Err(ConsensusError::TimeTooOld {
                time_ms: header.time_ms,
                median_ms: parent.time_ms,
            });
        }
        Ok(())
    }

    fn next_target(
        &self,
        _parent: &BlockHeader,
        _ancestors: &dyn HeaderSource,
    ) -> Result<CompactTarget, ConsensusError> {
        Ok(CompactTarget(0))
    }

    fn work(&self, _header: &BlockHeader) -> Work {
        Work(1)
    }

    /// The smaller block hash wins.
    fn break_tie(&self, a: &BlockHeader, b: &BlockHeader) -> Ordering {
        b.hash().cmp(&a.hash())
    }

    /// Signs `header` with the key of the authority whose turn it is (setting the producer).
    ///
    /// # Errors
    /// [`ConsensusError::WrongProducer`] if this node does not hold that key.
    fn seal(
        &self,
        mut header: BlockHeader,
        _cancel: &AtomicBool,
    ) -> Result<Option<BlockHeader>, ConsensusError> {
        let producer = self.producer_at(header.height);
        let key = self
            .keys
            .iter()
            .find(|k| k.public_key() == producer)
            .ok_or(ConsensusError::WrongProducer {
                expected: Some(producer),
                got: header.producer,
            })?;
        header.producer = producer;
        header.target = CompactTarget(0);
        header.seal.clear();
        let signature = key.sign(header.seal_hash().as_bytes());
        header.seal = signature.0.to_vec();
        Ok(Some(header))
    }
}
