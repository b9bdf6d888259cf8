//! The user-written part: a proof-of-authority engine whose committee rotates, and the
//! producer that seals this node's turns. Nothing here is shipped by the SDK; it is written
//! against `wes_core::ConsensusEngine` and `wes_node::BlockProducer` only.

use std::cmp::Ordering;
use std::sync::atomic::AtomicBool;

use wes_core::{
    BlockHeader, ChainId, CompactTarget, ConsensusEngine, ConsensusError, HeaderSource, PublicKey,
    SecretKey, Signature, Work, verify,
};
use wes_node::BlockProducer;

/// The engine's name in logs and errors.
pub const ENGINE: &str = "rotating-authority";

/// How far ahead of the local clock a block's time may be.
const MAX_DRIFT_MS: u64 = 10_000;

/// Proof of authority with a rotating committee.
///
/// - `keys` is the authority pool. Epoch `e` (heights `e·epoch_len .. (e+1)·epoch_len`) is
///   run by a committee of `committee` keys, the pool rotated by `e` places; within an
///   epoch the committee members take turns: height `h` belongs to member `h % committee`.
/// - A block is sealed by its producer's Ed25519 signature over the header's seal hash
///   (64 bytes in `seal`); target and nonce are zero; every block is worth one unit of
///   work, so the longest chain wins, and equal lengths prefer the smaller hash.
#[derive(Debug)]
pub struct RotatingAuthority {
    chain_id: ChainId,
    pool: Vec<PublicKey>,
    committee: usize,
    epoch_len: u64,
    local: Vec<SecretKey>,
}

fn other(reason: impl Into<String>) -> ConsensusError {
    ConsensusError::Other {
        engine: ENGINE,
        reason: reason.into(),
    }
}

impl RotatingAuthority {
    /// An engine over the authority `pool`, committees of `committee` keys, epochs of
    /// `epoch_len` blocks. It seals nothing until given keys ([`with_key`](Self::with_key)).
    ///
    /// # Errors
    /// An empty pool, a committee larger than the pool or empty, or empty epochs.
    pub fn new(
        chain_id: ChainId,
        pool: Vec<PublicKey>,
        committee: usize,
        epoch_len: u64,
    ) -> Result<Self, ConsensusError> {
        if committee == 0 || committee > pool.len() || epoch_len == 0 {
            return Err(other(format!(
                "a committee of {committee} from a pool of {} with epochs of {epoch_len}",
                pool.len()
            )));
        }
        Ok(RotatingAuthority {
            chain_id,
            pool,
            committee,
            epoch_len,
            local: Vec::new(),
        })
    }

    /// Lets this node seal the turns of `key`.
    pub fn with_key(mut self, key: SecretKey) -> Self {
        self.local.push(key);
        self
    }

    /// The committee of the epoch holding `height`.
    pub fn committee_at(&self, height: u64) -> Vec<PublicKey> {
        let epoch = (height / self.epoch_len) as usize;
        (0..self.committee)
            .map(|i| self.pool[(epoch + i) % self.pool.len()])
            .collect()
    }

    /// Who produces the block at `height`.
    pub fn producer_at(&self, height: u64) -> PublicKey {
        self.committee_at(height)[(height % self.committee as u64) as usize]
    }

    /// The local key for `height`, if this node holds it.
    fn local_key(&self, height: u64) -> Option<&SecretKey> {
        let who = self.producer_at(height);
        self.local.iter().find(|k| k.public_key() == who)
    }
}

impl ConsensusEngine for RotatingAuthority {
    fn name(&self) -> &'static str {
        ENGINE
    }

    fn validate_header(&self, header: &BlockHeader) -> Result<(), ConsensusError> {
        if header.chain_id != self.chain_id {
            return Err(ConsensusError::WrongChain {
                expected: self.chain_id,
                got: header.chain_id,
            });
        }
        if header.version != BlockHeader::VERSION {
            return Err(other(format!("header version {}", header.version)));
        }
        if header.target != CompactTarget(0) || header.nonce != 0 {
            return Err(other("authority blocks carry no proof of work"));
        }
        let expected = self.producer_at(header.height);
        if header.producer != expected {
            return Err(ConsensusError::WrongProducer {
                expected: Some(expected),
                got: header.producer,
            });
        }
        let seal: [u8; 64] =
            header.seal.as_slice().try_into().map_err(|_| {
                ConsensusError::BadSeal(format!("{} bytes, not 64", header.seal.len()))
            })?;
        verify(
            &header.producer,
            header.seal_hash().as_bytes(),
            &Signature(seal),
        )
        .map_err(|e| ConsensusError::BadSeal(e.to_string()))
    }

    fn validate_header_against_parent(
        &self,
        header: &BlockHeader,
        parent: &BlockHeader,
        _ancestors: &dyn HeaderSource,
        now_ms: u64,
    ) -> Result<(), ConsensusError> {
        if header.parent != parent.hash() {
            return Err(ConsensusError::WrongParent {
                expected: parent.hash(),
                got: header.parent,
            });
        }
        if header.height != parent.height + 1 {
            return Err(ConsensusError::WrongHeight {
                expected: parent.height + 1,
                got: header.height,
            });
        }
        if header.time_ms <= parent.time_ms {
            return Err(ConsensusError::TimeTooOld {
                time_ms: header.time_ms,
                median_ms: parent.time_ms,
            });
        }
        if header.time_ms > now_ms.saturating_add(MAX_DRIFT_MS) {
            return Err(ConsensusError::TimeTooFarAhead {
                time_ms: header.time_ms,
                now_ms,
                max_drift_ms: MAX_DRIFT_MS,
            });
        }
        self.validate_header(header)
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

    fn break_tie(&self, a: &BlockHeader, b: &BlockHeader) -> Ordering {
        b.hash().cmp(&a.hash())
    }

    fn seal(
        &self,
        mut header: BlockHeader,
        _cancel: &AtomicBool,
    ) -> Result<Option<BlockHeader>, ConsensusError> {
        let key = self
            .local_key(header.height)
            .ok_or_else(|| ConsensusError::WrongProducer {
                expected: Some(self.producer_at(header.height)),
                got: header.producer,
            })?;
        header.producer = key.public_key();
        header.seal = key.sign(header.seal_hash().as_bytes()).0.to_vec();
        Ok(Some(header))
    }
}

/// Produces this node's turns: the next block is due `block_time_ms` after its parent when
/// one of this node's keys is that height's producer; other heights are left to the others.
pub struct RotationProducer {
    engine: std::sync::Arc<RotatingAuthority>,
    block_time_ms: u64,
    reward: PublicKey,
}

impl RotationProducer {
    /// Seals with `engine`'s local keys; fees go to `reward`'s key.
    pub fn new(
        engine: std::sync::Arc<RotatingAuthority>,
        reward: PublicKey,
        block_time_ms: u64,
    ) -> Self {
        RotationProducer {
            engine,
            block_time_ms,
            reward,
        }
    }
}

impl BlockProducer for RotationProducer {
    /// The header's producer field is set by the seal to the key whose turn it is; this is
    /// the reward key until then.
    fn producer(&self) -> PublicKey {
        self.reward
    }

    fn next_slot(&self, parent: &BlockHeader) -> Option<u64> {
        self.engine
            .local_key(parent.height + 1)
            .map(|_| parent.time_ms + self.block_time_ms)
    }

    fn seal(
        &self,
        header: BlockHeader,
        cancel: &AtomicBool,
    ) -> Result<Option<BlockHeader>, ConsensusError> {
        self.engine.seal(header, cancel)
    }
}
