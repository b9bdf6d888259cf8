//! Where the best chain stands, kept current for readers that must not wait for an import
//! (RPC reads, the network's event loop answering peers' status requests).

use wes_consensus::ChainManager;
use wes_core::{BlockHash, BlockHeader, Ledger};

/// A snapshot of the best chain, replaced whole each time the tip moves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainStatus {
    /// The genesis hash.
    pub genesis: BlockHash,
    /// The best tip.
    pub best: BlockHash,
    /// Its header.
    pub header: BlockHeader,
    /// Its height.
    pub height: u64,
    /// Cumulative work of the best chain.
    pub work: u128,
    /// The height at and below which the best chain is final: this node makes no
    /// reorganisation that reverts it ([`wes_consensus::ForkPolicy::max_reorg_depth`]).
    pub finalized: u64,
    /// Hashes of the best chain at `wes_net::protocol::locator_heights(height)`.
    pub locator: Vec<BlockHash>,
}

impl ChainStatus {
    /// The status of `chain`'s best tip, on a chain whose genesis is `genesis`.
    pub fn of<L: Ledger>(chain: &ChainManager<L>, genesis: BlockHash) -> ChainStatus {
        let ledger = chain.ledger();
        let best = chain.best_hash();
        let header = chain.best_header().clone();
        let height = header.height;
        ChainStatus {
            genesis,
            best,
            height,
            header,
            work: chain.cumulative_work(&best).map_or(0, |w| w.0),
            finalized: chain.finalized_height(),
            locator: wes_net::protocol::locator_heights(height)
                .into_iter()
                .filter_map(|h| ledger.hash_at(h).ok().flatten())
                .collect(),
        }
    }

    /// How deep a block at `height` of the best chain is (1 for the tip).
    pub fn confirmations(&self, height: u64) -> u64 {
        (self.height + 1).saturating_sub(height)
    }

    /// Whether a block at `height` of the best chain is final.
    pub fn is_final(&self, height: u64) -> bool {
        height <= self.finalized
    }
}
