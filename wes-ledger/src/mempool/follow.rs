//! The pool following the chain: what applied and reverted blocks do to it.

use std::collections::HashSet;

use wes_core::{Block, BlockContext, InputMode, Ledger, SignedTransaction, TxId};

use super::Mempool;

impl Mempool {
    /// Updates the pool after `block` was applied: drops its transactions (their pooled
    /// children stay: what they spend is now confirmed), those spending or reading what it
    /// spent, those expired at `next` and those whose executions or state writes no longer
    /// check out against `ledger`, each with its descendants. Those are checked again
    /// without their proofs ([`Ledger::check_transaction_unproven`]), verified once at
    /// admission: a block costs the pool lookups, not a proof per pooled execution.
    pub fn block_applied<L: Ledger>(&mut self, ledger: &L, block: &Block, next: &BlockContext) {
        let mut spent = HashSet::new();
        for tx in &block.transactions {
            self.remove_one(&tx.id());
            spent.extend(
                tx.tx
                    .inputs
                    .iter()
                    .filter(|i| i.mode == InputMode::Spend)
                    .map(|i| i.prev),
            );
        }
        let stale: Vec<TxId> = self
            .entries
            .iter()
            .filter(|(_, e)| {
                let t = &e.tx.tx;
                !t.validity.contains(next.height)
                    || t.inputs.iter().any(|i| spent.contains(&i.prev))
            })
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.remove(&id);
        }
        // Executions and state writes depend on more than their inputs: check them again,
        // parents first.
        let recheck: Vec<TxId> = self
            .graph
            .in_order(self.entries.keys().copied())
            .into_iter()
            .filter(|id| {
                let t = &self.entries[id].tx.tx;
                t.execution.is_some() || t.outputs.iter().any(|o| o.as_state().is_some())
            })
            .collect();
        for id in recheck {
            let Some(entry) = self.entries.get(&id) else {
                continue; // left with an ancestor
            };
            let unconfirmed = self.unconfirmed_inputs(&entry.tx);
            if ledger
                .check_transaction_unproven(&entry.tx, next, &unconfirmed)
                .is_err()
            {
                self.remove(&id);
            }
        }
    }

    /// Updates the pool after a reorganisation: the best chain lost `reverted` (any order)
    /// and gained `applied` (oldest first); `ledger` is at the new tip. Everything the new
    /// branch does not include is admitted again against the new tip: the reverted blocks'
    /// transactions (but coinbases) first, oldest first, as the parents of what the pool
    /// held, then what it held, parents first. One check per transaction, whatever the
    /// depth (calling [`block_reverted`](Self::block_reverted) per block would check the
    /// whole pool once per block), and no proof verified again: each was verified when its
    /// transaction entered the pool or its block was imported.
    pub fn reorganized<L: Ledger>(
        &mut self,
        ledger: &L,
        reverted: &[Block],
        applied: &[Block],
        next: &BlockContext,
    ) {
        let included: HashSet<TxId> = applied
            .iter()
            .flat_map(|b| b.transactions.iter().map(|t| t.id()))
            .collect();
        let mut back: Vec<&Block> = reverted.iter().collect();
        back.sort_by_key(|b| b.header.height);
        let back = back
            .into_iter()
            .flat_map(|b| b.transactions.iter().skip(1).cloned());
        self.readmit(ledger, back.collect(), &included, next);
    }

    /// Updates the pool after `block` was reverted: its transactions (but the coinbase) come
    /// back if still valid, and everything held is checked again against `ledger` (without
    /// proofs, as [`reorganized`](Self::reorganized) does).
    pub fn block_reverted<L: Ledger>(&mut self, ledger: &L, block: &Block, next: &BlockContext) {
        let back = block.transactions.iter().skip(1).cloned().collect();
        self.readmit(ledger, back, &HashSet::new(), next);
    }

    /// Empties the pool and admits `back` then what it held, skipping `included`.
    fn readmit<L: Ledger>(
        &mut self,
        ledger: &L,
        back: Vec<SignedTransaction>,
        included: &HashSet<TxId>,
        next: &BlockContext,
    ) {
        let held = self.drain_in_order();
        for tx in back.into_iter().chain(held) {
            if included.contains(&tx.id()) {
                continue;
            }
            let unconfirmed = self.unconfirmed_inputs(&tx);
            if let Ok(summary) = ledger.check_transaction_unproven(&tx, next, &unconfirmed) {
                let _ = self.insert_checked::<L::Error>(tx, summary, &unconfirmed);
            }
        }
    }
}
