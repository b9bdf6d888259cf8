//! Block production: how a chain's consensus seals the blocks this node builds. The node
//! owns the loop (when to build, what to include, cancelling a seal when the tip moves,
//! importing and announcing the result); a [`BlockProducer`] supplies the consensus part:
//! when this node may produce the next block and how it is sealed.
//!
//! [`SealProducer`] fits every [`ConsensusEngine`] whose `seal` completes a header (PoW
//! mining, an authority's signature). [`PowProducer`] is the same for
//! [`PowXorEngine`] and reports the hash rate. A user's engine
//! brings its own producer when it needs more (a slot schedule, a VRF lottery).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use wes_consensus::PowXorEngine;
use wes_core::{BlockHeader, ConsensusEngine, ConsensusError, Lock, PublicKey};

/// The consensus side of producing blocks on this node.
///
/// Contract: [`seal`](BlockProducer::seal) returns a header that the chain's engine accepts
/// (`validate_header` and `validate_header_against_parent`), or `None` once `cancel` is set.
/// It may take long (mining) and is called without any lock of the node's held.
pub trait BlockProducer: Send + Sync {
    /// The key written into the header's `producer` field.
    fn producer(&self) -> PublicKey;

    /// Where the block's fees go: the coinbase outputs' lock.
    fn reward_lock(&self) -> Lock {
        Lock::key(self.producer())
    }

    /// The earliest local time (milliseconds since the Unix epoch) at which this node should
    /// produce the child of `parent`; `None` if it may not produce it at all (not its turn).
    fn next_slot(&self, parent: &BlockHeader) -> Option<u64>;

    /// Completes `header` (target filled in by the node) with the engine's seal.
    fn seal(
        &self,
        header: BlockHeader,
        cancel: &AtomicBool,
    ) -> Result<Option<BlockHeader>, ConsensusError>;

    /// Hashes per second of the last seal, for engines that hash (0 otherwise).
    fn hash_rate(&self) -> u64 {
        0
    }
}

/// Produces a block every `block_time_ms` after its parent and seals it with the engine's
/// [`ConsensusEngine::seal`]: the producer for engines whose seal needs nothing else.
/// An authority engine that holds no key for a height's turn fails the seal; give such an
/// engine a producer that knows the schedule (see the `custom-consensus` example).
pub struct SealProducer {
    engine: Arc<dyn ConsensusEngine>,
    key: PublicKey,
    reward: Lock,
    block_time_ms: u64,
}

impl SealProducer {
    /// Seals with `engine` as `key`, fees to `key`'s single-signature lock, a block every
    /// `block_time_ms`.
    pub fn new(engine: Arc<dyn ConsensusEngine>, key: PublicKey, block_time_ms: u64) -> Self {
        SealProducer {
            engine,
            key,
            reward: Lock::key(key),
            block_time_ms,
        }
    }

    /// The engine it seals with.
    pub fn engine(&self) -> &Arc<dyn ConsensusEngine> {
        &self.engine
    }

    /// Pays the fees to `reward` instead.
    pub fn with_reward(mut self, reward: Lock) -> Self {
        self.reward = reward;
        self
    }
}

impl BlockProducer for SealProducer {
    fn producer(&self) -> PublicKey {
        self.key
    }
    fn reward_lock(&self) -> Lock {
        self.reward.clone()
    }
    fn next_slot(&self, parent: &BlockHeader) -> Option<u64> {
        Some(parent.time_ms + self.block_time_ms)
    }
    fn seal(
        &self,
        header: BlockHeader,
        cancel: &AtomicBool,
    ) -> Result<Option<BlockHeader>, ConsensusError> {
        self.engine.seal(header, cancel)
    }
}

/// Mines with [`PowXorEngine`] (its multi-threaded miner), a block every `block_time_ms`
/// after the parent (the difficulty rule aims at the same interval), and remembers the
/// hash rate of the last block.
pub struct PowProducer {
    engine: Arc<PowXorEngine>,
    key: PublicKey,
    block_time_ms: u64,
    hash_rate: AtomicU64,
}

impl PowProducer {
    /// Mines with `engine` as `key` (fees to its single-signature lock).
    pub fn new(engine: Arc<PowXorEngine>, key: PublicKey, block_time_ms: u64) -> Self {
        PowProducer {
            engine,
            key,
            block_time_ms,
            hash_rate: AtomicU64::new(0),
        }
    }
}

impl BlockProducer for PowProducer {
    fn producer(&self) -> PublicKey {
        self.key
    }
    fn next_slot(&self, parent: &BlockHeader) -> Option<u64> {
        Some(parent.time_ms + self.block_time_ms)
    }
    fn seal(
        &self,
        header: BlockHeader,
        cancel: &AtomicBool,
    ) -> Result<Option<BlockHeader>, ConsensusError> {
        let (sealed, stats) = self.engine.seal_with_stats(header, cancel)?;
        self.hash_rate
            .store(stats.hash_rate() as u64, Ordering::Relaxed);
        Ok(sealed)
    }
    fn hash_rate(&self) -> u64 {
        self.hash_rate.load(Ordering::Relaxed)
    }
}
