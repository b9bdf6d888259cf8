//! The best chain's indexes as the node reads them: unspent outputs by owner
//! (`wes_getBalance`, `wes_getUtxos`) and the block of each transaction
//! (`wes_getTransaction`). They are the ledger's own persistent indexes
//! ([`ChainLedger::outputs_of`], [`Ledger::transaction_location`](wes_core::Ledger::transaction_location)), written in the same
//! atomic batch as each block: a restart reads them as they are, whatever the history's
//! length, and never rebuilds them.

use std::sync::Arc;

use wes_core::{Address, BlockHash, OutPoint, Output, TxId};

use crate::ledger::ChainLedger;

/// Reads of a ledger's indexes, whatever the ledger type.
trait IndexReader: Send + Sync {
    fn outputs_of(&self, owner: &Address) -> Vec<(OutPoint, Output)>;
    fn outputs_page(
        &self,
        owner: &Address,
        after: Option<&OutPoint>,
        limit: usize,
    ) -> Vec<(OutPoint, Output)>;
    fn transaction(&self, txid: &TxId) -> Option<(BlockHash, u64)>;
}

impl<L: ChainLedger> IndexReader for L {
    fn outputs_of(&self, owner: &Address) -> Vec<(OutPoint, Output)> {
        ChainLedger::outputs_of(self, owner).unwrap_or_else(|e| {
            tracing::error!("reading the owner index of {owner}: {e}");
            Vec::new()
        })
    }

    fn outputs_page(
        &self,
        owner: &Address,
        after: Option<&OutPoint>,
        limit: usize,
    ) -> Vec<(OutPoint, Output)> {
        ChainLedger::outputs_page(self, owner, after, limit).unwrap_or_else(|e| {
            tracing::error!("reading the owner index of {owner}: {e}");
            Vec::new()
        })
    }

    fn transaction(&self, txid: &TxId) -> Option<(BlockHash, u64)> {
        self.transaction_location(txid).unwrap_or_else(|e| {
            tracing::error!("reading the location of {txid}: {e}");
            None
        })
    }
}

/// Unspent outputs by owner address and transactions by block, for the best chain, read
/// from the ledger's persistent indexes (lock-free: the ledger's store serves reads
/// concurrently with imports).
#[derive(Clone)]
pub struct ChainIndex {
    reader: Arc<dyn IndexReader>,
}

impl core::fmt::Debug for ChainIndex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChainIndex").finish_non_exhaustive()
    }
}

impl ChainIndex {
    /// The indexes of `ledger`.
    pub fn new<L: ChainLedger>(ledger: Arc<L>) -> Self {
        ChainIndex { reader: ledger }
    }

    /// The unspent outputs `owner` can spend, in outpoint order (empty, with the error
    /// logged, if the store fails).
    pub fn outputs_of(&self, owner: &Address) -> Vec<(OutPoint, Output)> {
        self.reader.outputs_of(owner)
    }

    /// A page of [`outputs_of`](Self::outputs_of): after `after`, at most `limit`, reading
    /// only the page when the ledger's index can.
    pub fn outputs_page(
        &self,
        owner: &Address,
        after: Option<&OutPoint>,
        limit: usize,
    ) -> Vec<(OutPoint, Output)> {
        self.reader.outputs_page(owner, after, limit)
    }

    /// The block of the best chain holding `txid`, and its height.
    pub fn transaction(&self, txid: &TxId) -> Option<(BlockHash, u64)> {
        self.reader.transaction(txid)
    }
}
