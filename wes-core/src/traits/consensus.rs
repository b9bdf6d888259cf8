//! The consensus engine: which headers are valid and which chain is best.

use core::cmp::Ordering;
use core::ops::Add;
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use crate::fault::{Blame, Fault};
use crate::hash::BlockHash;
use crate::keys::PublicKey;
use crate::types::block::{BlockHeader, CompactTarget};
use crate::types::transaction::ChainId;

/// Amount of work a header (or a chain of headers) represents. For proof of work one block's
/// work is `2^256 / (target + 1)`, the expected number of hashes; that fits in 128 bits for
/// every target a machine could ever meet, and sums saturate instead of wrapping.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Work(pub u128);

impl Add for Work {
    type Output = Work;
    fn add(self, rhs: Work) -> Work {
        Work(self.0.saturating_add(rhs.0))
    }
}

/// Read access to headers the node already knows, for checks that look at ancestors
/// (median time past, difficulty windows).
pub trait HeaderSource {
    /// The header with this hash, if known.
    fn header(&self, hash: &BlockHash) -> Option<BlockHeader>;
}

impl HeaderSource for HashMap<BlockHash, BlockHeader> {
    fn header(&self, hash: &BlockHash) -> Option<BlockHeader> {
        self.get(hash).cloned()
    }
}

/// Why a header was rejected. Each variant carries the evidence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsensusError {
    /// The header is for another chain.
    #[error("header is for chain {got}, this chain is {expected}")]
    WrongChain {
        /// This chain.
        expected: ChainId,
        /// The header's.
        got: ChainId,
    },
    /// The header does not follow the given parent.
    #[error("header's parent is {got}, expected {expected}")]
    WrongParent {
        /// The parent it was checked against.
        expected: BlockHash,
        /// The header's parent field.
        got: BlockHash,
    },
    /// An ancestor needed for the check is not known.
    #[error("unknown ancestor {0}")]
    UnknownAncestor(BlockHash),
    /// The height is not parent height + 1.
    #[error("header height {got}, expected {expected}")]
    WrongHeight {
        /// Parent height + 1.
        expected: u64,
        /// The header's.
        got: u64,
    },
    /// The target is not the one the difficulty rule gives.
    #[error("header target {got}, the difficulty rule gives {expected}")]
    WrongTarget {
        /// What the rule gives.
        expected: CompactTarget,
        /// The header's.
        got: CompactTarget,
    },
    /// The target field is not a valid compact target.
    #[error("invalid compact target {0}")]
    InvalidTarget(CompactTarget),
    /// The header hash is above its target: the nonce does not solve the puzzle.
    #[error("block hash {hash} is above target {target}")]
    InsufficientWork {
        /// The header hash.
        hash: BlockHash,
        /// Its target.
        target: CompactTarget,
    },
    /// The time is not after the median of recent ancestors.
    #[error("time {time_ms} ms is not after the median time past {median_ms} ms")]
    TimeTooOld {
        /// The header's time.
        time_ms: u64,
        /// Median of the recent ancestors.
        median_ms: u64,
    },
    /// The time is too far ahead of the local clock.
    #[error("time {time_ms} ms is more than {max_drift_ms} ms ahead of local time {now_ms} ms")]
    TimeTooFarAhead {
        /// The header's time.
        time_ms: u64,
        /// Local clock.
        now_ms: u64,
        /// Allowed drift.
        max_drift_ms: u64,
    },
    /// The producer is not allowed to produce this block.
    #[error("producer {got} may not seal this block (expected {expected:?})")]
    WrongProducer {
        /// Who may, if the engine can say.
        expected: Option<PublicKey>,
        /// Who did.
        got: PublicKey,
    },
    /// The seal is malformed or its signature does not verify.
    #[error("bad seal: {0}")]
    BadSeal(String),
    /// A rule specific to a user-provided engine.
    #[error("{engine}: {reason}")]
    Other {
        /// The engine's name.
        engine: &'static str,
        /// What failed.
        reason: String,
    },
}

impl Blame for ConsensusError {
    fn fault(&self) -> Fault {
        match self {
            // A block from the future becomes valid once the local clock catches up.
            ConsensusError::UnknownAncestor(_) | ConsensusError::TimeTooFarAhead { .. } => {
                Fault::Unavailable
            }
            _ => Fault::Input,
        }
    }
}

/// A consensus engine: validity of headers, difficulty, fork choice and sealing, in the shape
/// of Substrate's `PowAlgorithm` and reth's `HeaderValidator`.
///
/// Everything except [`seal`](ConsensusEngine::seal) is a pure function of its arguments,
/// with time passed in (`now_ms`) rather than read, so simulations are deterministic.
/// The body of a block (roots, transactions) is checked by the ledger, not here.
pub trait ConsensusEngine: Send + Sync {
    /// A short name for logs and errors, e.g. `pow-xor`.
    fn name(&self) -> &'static str;

    /// Checks what can be checked on the header alone: the seal or proof of work, field
    /// ranges. Cheap enough to run before anything is stored.
    fn validate_header(&self, header: &BlockHeader) -> Result<(), ConsensusError>;

    /// Checks the header against its parent and, through `ancestors`, older headers:
    /// parent link, height, timestamps (median time past; at most a drift ahead of `now_ms`),
    /// the target the difficulty rule gives, the producer.
    fn validate_header_against_parent(
        &self,
        header: &BlockHeader,
        parent: &BlockHeader,
        ancestors: &dyn HeaderSource,
        now_ms: u64,
    ) -> Result<(), ConsensusError>;

    /// The target a child of `parent` must carry.
    fn next_target(
        &self,
        parent: &BlockHeader,
        ancestors: &dyn HeaderSource,
    ) -> Result<CompactTarget, ConsensusError>;

    /// The work `header` adds to its chain. The best chain is the one with most cumulative
    /// work; engines without work return `Work(1)` so the longest chain wins.
    fn work(&self, header: &BlockHeader) -> Work;

    /// Orders two tips of equal cumulative work: `Ordering::Greater` when `a` is preferred.
    /// Must be a total order that every node computes the same way, so that nodes facing the
    /// same candidates choose the same one without talking to each other.
    fn break_tie(&self, a: &BlockHeader, b: &BlockHeader) -> Ordering;

    /// Completes `header` (nonce, seal) so that it passes [`validate_header`]. Returns
    /// `Ok(None)` if `cancel` was set before it finished, e.g. because a better tip arrived.
    ///
    /// [`validate_header`]: ConsensusEngine::validate_header
    fn seal(
        &self,
        header: BlockHeader,
        cancel: &AtomicBool,
    ) -> Result<Option<BlockHeader>, ConsensusError>;
}

/// Where a node sends the blocks it produces besides gossiping them: the consensus's
/// candidate routing. Proof of work with XOR aggregation elects, for each height, the peer
/// closest to a height key, which collects the candidates and answers with its best tip; an
/// engine without such a role routes nowhere. The network layer calls it with the ids of the
/// peers it knows (this node's own id among them) and sends the block to the one chosen.
pub trait CandidateRouter: Send + Sync {
    /// The index in `peers` (byte encodings of peer ids, sorted) of the peer that collects
    /// candidates for `header`'s height, or `None` to rely on gossip alone. Every node with
    /// the same peer set must choose the same peer.
    fn aggregator(&self, header: &BlockHeader, peers: &[Vec<u8>]) -> Option<usize>;
}
