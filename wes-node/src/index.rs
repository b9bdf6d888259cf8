//! Indexes the node keeps current as blocks are applied and reverted: unspent outputs by
//! owner (`wes_getBalance`, `wes_getUtxos`) and the block of each transaction on the best
//! chain (`wes_getTransaction`). Readers take a short lock of their own, never the chain's.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use wes_core::{Address, Block, BlockHash, Ledger, OutPoint, Output, TxId};
use wes_ledger::LedgerObserver;

#[derive(Default)]
struct Maps {
    owners: HashMap<Address, HashMap<OutPoint, Output>>,
    txs: HashMap<TxId, (BlockHash, u64)>,
}

/// Unspent outputs by owner address and transactions by block, for the best chain.
///
/// It is a [`LedgerObserver`]: give it to the ledger (the builder does) and it follows
/// every applied and reverted block; [`rebuild`](ChainIndex::rebuild) fills it from a
/// ledger at start.
#[derive(Default)]
pub struct ChainIndex {
    maps: Mutex<Maps>,
}

impl core::fmt::Debug for ChainIndex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let maps = self.lock();
        f.debug_struct("ChainIndex")
            .field("owners", &maps.owners.len())
            .field("transactions", &maps.txs.len())
            .finish()
    }
}

impl ChainIndex {
    fn lock(&self) -> MutexGuard<'_, Maps> {
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Removes `gone` and adds `new` in one step, so that readers never see half a block.
    fn update(&self, gone: &[(OutPoint, Output)], new: &[(OutPoint, Output)]) {
        let mut maps = self.lock();
        for (op, out) in gone {
            if let Some(m) = maps.owners.get_mut(&out.lock.address()) {
                m.remove(op);
            }
        }
        for (op, out) in new {
            maps.owners
                .entry(out.lock.address())
                .or_default()
                .insert(*op, out.clone());
        }
    }

    /// Fills the index from `ledger`'s applied chain (at start).
    ///
    /// # Errors
    /// The ledger's, or a block of the applied chain that is missing.
    pub fn rebuild<L: Ledger>(&self, ledger: &L) -> Result<(), crate::NodeError> {
        let tip = ledger.tip().map_err(crate::NodeError::ledger)?;
        for height in 0..=tip.height {
            let missing = || crate::NodeError::Config(format!("block at height {height} missing"));
            let hash = ledger
                .hash_at(height)
                .map_err(crate::NodeError::ledger)?
                .ok_or_else(missing)?;
            let block = ledger
                .block(&hash)
                .map_err(crate::NodeError::ledger)?
                .ok_or_else(missing)?;
            let mut live = Vec::new();
            for tx in &block.transactions {
                for i in 0..tx.tx.outputs.len() {
                    let op = tx.tx.outpoint(i as u32);
                    if let Some(out) = ledger.unspent(&op).map_err(crate::NodeError::ledger)? {
                        live.push((op, out));
                    }
                }
            }
            self.update(&[], &live);
            self.index_txs(&block, true);
        }
        Ok(())
    }

    fn index_txs(&self, block: &Block, applied: bool) {
        let hash = block.hash();
        let mut maps = self.lock();
        for tx in &block.transactions {
            if applied {
                maps.txs.insert(tx.id(), (hash, block.header.height));
            } else if maps.txs.get(&tx.id()).is_some_and(|(b, _)| *b == hash) {
                maps.txs.remove(&tx.id());
            }
        }
    }

    /// The unspent outputs `owner` can spend, in outpoint order.
    pub fn outputs_of(&self, owner: &Address) -> Vec<(OutPoint, Output)> {
        let mut v: Vec<_> = self
            .lock()
            .owners
            .get(owner)
            .map(|m| m.iter().map(|(o, out)| (*o, out.clone())).collect())
            .unwrap_or_default();
        v.sort_by_key(|(o, _)| *o);
        v
    }

    /// The block of the best chain holding `txid`, and its height.
    pub fn transaction(&self, txid: &TxId) -> Option<(BlockHash, u64)> {
        self.lock().txs.get(txid).copied()
    }
}

impl LedgerObserver for ChainIndex {
    fn block_applied(
        &self,
        block: &Block,
        spent: &[(OutPoint, Output)],
        created: &[(OutPoint, Output)],
    ) {
        self.update(spent, created);
        self.index_txs(block, true);
    }

    fn block_reverted(
        &self,
        block: &Block,
        restored: &[(OutPoint, Output)],
        removed: &[(OutPoint, Output)],
    ) {
        self.update(removed, restored);
        self.index_txs(block, false);
    }
}
