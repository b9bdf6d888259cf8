//! Errors of the chain manager.

use wes_core::{Blame, BlockHash, BodyError, ConsensusError, Fault};

/// Why the [`ChainManager`](crate::ChainManager) did not accept a block, or failed. `E` is
/// the ledger's error type. Each variant names the block and carries the cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError<E: std::error::Error + 'static> {
    /// The consensus engine rejected the header.
    #[error("block {hash}: header rejected: {source}")]
    Header {
        /// The block.
        hash: BlockHash,
        /// The engine's reason.
        source: ConsensusError,
    },
    /// The body does not match the header's roots (the header itself may be fine, so the
    /// hash is not marked invalid: another peer may send the right body).
    #[error("block {hash}: body does not match the header: {source}")]
    Body {
        /// The block.
        hash: BlockHash,
        /// The mismatch.
        source: BodyError,
    },
    /// The block descends from a block known to be invalid.
    #[error("block {hash} descends from invalid block {ancestor}")]
    InvalidAncestor {
        /// The block.
        hash: BlockHash,
        /// Its invalid ancestor (its parent).
        ancestor: BlockHash,
    },
    /// The block was already found invalid.
    #[error("block {0} is known to be invalid")]
    KnownInvalid(BlockHash),
    /// The ledger rejected the block (transaction rules, state root), or failed.
    #[error("block {hash}: ledger: {source}")]
    Ledger {
        /// The block being applied (or the block that triggered a failing read).
        hash: BlockHash,
        /// The ledger's error.
        source: E,
    },
    /// A block the manager needs is neither kept in memory nor in the ledger.
    #[error("block {0} is needed but not stored")]
    MissingBlock(BlockHash),
    /// The block's branch leaves the best chain deeper than the manager reorganises
    /// ([`ForkPolicy::max_reorg_depth`](crate::ForkPolicy::max_reorg_depth)): it could
    /// never be followed, so it is not kept. Not a fault of the block's: its sender may have
    /// been cut off from the network for long.
    #[error(
        "block {hash} forks from the best chain at height {fork_height}, below the final height {finalized}"
    )]
    BeyondFinality {
        /// The block.
        hash: BlockHash,
        /// Where its branch leaves the best chain.
        fork_height: u64,
        /// The best chain's final height.
        finalized: u64,
    },
    /// A block at a checkpoint's height is not the block the checkpoint names
    /// ([`Checkpoints`](crate::Checkpoints)): it is on a branch this chain's nodes never
    /// follow. At start, the node's own chain contradicting a checkpoint.
    #[error("block {hash} at height {height} contradicts the checkpoint {expected}")]
    Checkpoint {
        /// The block.
        hash: BlockHash,
        /// Its height.
        height: u64,
        /// The block the checkpoint names.
        expected: BlockHash,
    },
    /// Too many blocks with unknown parents are pending; this one was dropped.
    #[error("orphan pool full ({limit} blocks); block {hash} dropped")]
    OrphanPoolFull {
        /// The dropped block.
        hash: BlockHash,
        /// The pool's capacity.
        limit: usize,
    },
}

impl<E: std::error::Error + Blame + 'static> Blame for ChainError<E> {
    fn fault(&self) -> Fault {
        match self {
            ChainError::Header { source, .. } => source.fault(),
            ChainError::Body { .. }
            | ChainError::InvalidAncestor { .. }
            | ChainError::KnownInvalid(_)
            | ChainError::Checkpoint { .. } => Fault::Input,
            ChainError::Ledger { source, .. } => source.fault(),
            ChainError::MissingBlock(_) => Fault::Local,
            ChainError::OrphanPoolFull { .. } | ChainError::BeyondFinality { .. } => {
                Fault::Unavailable
            }
        }
    }
}
