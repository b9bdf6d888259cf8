//! Moves of the best chain, for what follows them outside the ledger: a
//! [`TipObserver`] hears which blocks were reverted and applied and which pooled
//! transactions left without being included. External-call settlement
//! ([`crate::settlement::Settlement`]) and the event index are two.

use wes_core::{Block, TxId};

/// What one move of the best chain did.
#[derive(Clone, Debug, Default)]
pub struct TipMoved {
    /// Blocks taken off the best chain, tip first (empty when the chain only grew).
    pub reverted: Vec<Block>,
    /// Blocks that became part of the best chain, parent first.
    pub applied: Vec<Block>,
    /// Transactions that left the mempool without being included (conflicting with the new
    /// tip, expired, or refused when a block was built).
    pub dropped: Vec<TxId>,
}

/// Told about every move of the best chain, after it happened and outside the node's
/// locks (so it may call out, e.g. to a connector). Called on the thread that imported.
pub trait TipObserver: Send + Sync {
    /// The best chain moved.
    fn tip_moved(&self, moved: &TipMoved);
}
