//! The mempool: transactions valid against the tip, waiting for a block.
//!
//! * Accepts only transactions the ledger accepts at the next height.
//! * A transaction spending an outpoint that a pooled transaction already spends is a
//!   conflict: it replaces the pooled ones only if it pays a strictly higher priority.
//! * Ordered by priority: the fee paid as a multiple of the minimum the fee policy asks (the
//!   best over the accepted tokens), so fees in different tokens compare.
//! * Bounded in count and bytes: when full, the lowest priority goes first; a newcomer that
//!   would itself be the lowest is refused.
//! * When a block is applied, its transactions and everything conflicting with it or expired
//!   leave the pool; when a block is reverted, its transactions come back.
//!
//! The pool is a plain structure (`&mut self`); a node shares it behind a mutex.

use std::collections::{BTreeSet, HashMap};

use wes_core::{
    Block, BlockContext, InputMode, Ledger, OutPoint, SignedTransaction, TxId, TxSummary,
};

use crate::config::FeePolicy;

/// Mempool limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most bytes held (encoded transactions with witnesses).
    pub max_bytes: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_txs: 50_000,
            max_bytes: 64 << 20,
        }
    }
}

/// Why the mempool refused a transaction.
#[derive(Debug, thiserror::Error)]
pub enum MempoolError<E: std::error::Error + 'static> {
    /// Already in the pool.
    #[error("transaction {0} is already in the mempool")]
    AlreadyKnown(TxId),
    /// The ledger rejects it.
    #[error(transparent)]
    Invalid(E),
    /// It spends what a pooled transaction spends, without paying more.
    #[error("transaction {txid} conflicts with pooled {with} and does not pay a higher priority")]
    Conflict {
        /// The newcomer.
        txid: TxId,
        /// A pooled transaction it conflicts with.
        with: TxId,
    },
    /// The pool is full of transactions that pay more.
    #[error("mempool full: transaction {0} pays less than everything held")]
    Full(TxId),
}

/// A pooled transaction.
#[derive(Clone, Debug)]
pub struct PooledTx {
    /// The transaction.
    pub tx: SignedTransaction,
    /// What the ledger computed for it.
    pub summary: TxSummary,
    /// Its priority (fee as a multiple of the minimum, in millionths).
    pub priority: u128,
}

/// The mempool.
#[derive(Debug)]
pub struct Mempool {
    config: MempoolConfig,
    fees: FeePolicy,
    entries: HashMap<TxId, PooledTx>,
    by_priority: BTreeSet<(u128, TxId)>,
    spends: HashMap<OutPoint, TxId>,
    /// Pooled transactions reading (referencing) each outpoint: a block cannot hold one of
    /// them after a transaction spending it, so spending and reading conflict like two spends.
    reads: HashMap<OutPoint, Vec<TxId>>,
    bytes: usize,
}

impl Mempool {
    /// An empty pool that ranks fees by `fees` (the ledger's fee policy).
    pub fn new(config: MempoolConfig, fees: FeePolicy) -> Self {
        Mempool {
            config,
            fees,
            entries: HashMap::new(),
            by_priority: BTreeSet::new(),
            spends: HashMap::new(),
            reads: HashMap::new(),
            bytes: 0,
        }
    }

    /// Number of transactions held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether `txid` is held.
    pub fn contains(&self, txid: &TxId) -> bool {
        self.entries.contains_key(txid)
    }

    /// A pooled transaction.
    pub fn get(&self, txid: &TxId) -> Option<&PooledTx> {
        self.entries.get(txid)
    }

    /// The priority of a transaction with these fees and size: the fee as a multiple of the
    /// policy's minimum (in millionths), the best over the accepted tokens.
    pub fn priority(&self, summary: &TxSummary) -> u128 {
        self.fees
            .accepted()
            .map(|(token, fee)| {
                let paid = summary.fees.get(token).copied().unwrap_or(0);
                let need = fee.required(summary.size, summary.cu_used).max(1);
                paid.saturating_mul(1_000_000) / need
            })
            .max()
            .unwrap_or(0)
    }

    /// Validates `tx` against `ledger` at `ctx` (the next block) and adds it.
    pub fn insert<L: Ledger>(
        &mut self,
        ledger: &L,
        tx: SignedTransaction,
        ctx: &BlockContext,
    ) -> Result<TxId, MempoolError<L::Error>> {
        let txid = tx.id();
        if self.entries.contains_key(&txid) {
            return Err(MempoolError::AlreadyKnown(txid));
        }
        let summary = ledger
            .check_transaction(&tx, ctx)
            .map_err(MempoolError::Invalid)?;
        self.insert_checked(tx, summary)
    }

    /// Adds `tx`, which the caller has checked against the tip (`summary` is what
    /// [`Ledger::check_transaction`] returned). This lets a node verify signatures and proofs
    /// without holding the pool: only the conflict and room rules run here. The caller must
    /// check again (or drop the transaction) if the tip moved in between; the node does so
    /// when it applies the next block.
    pub fn insert_checked<E: std::error::Error + 'static>(
        &mut self,
        tx: SignedTransaction,
        summary: TxSummary,
    ) -> Result<TxId, MempoolError<E>> {
        let txid = tx.id();
        if self.entries.contains_key(&txid) {
            return Err(MempoolError::AlreadyKnown(txid));
        }
        let priority = self.priority(&summary);

        // A spend conflicts with pooled spends and reads of the outpoint; a read with spends.
        let mut conflicts: Vec<TxId> = spent_outpoints(&tx)
            .flat_map(|op| {
                let readers = self.reads.get(&op).into_iter().flatten().copied();
                self.spends.get(&op).copied().into_iter().chain(readers)
            })
            .chain(read_outpoints(&tx).filter_map(|op| self.spends.get(&op).copied()))
            .collect();
        conflicts.sort();
        conflicts.dedup();
        if let Some(&with) = conflicts
            .iter()
            .find(|c| self.entries.get(c).is_some_and(|e| e.priority >= priority))
        {
            return Err(MempoolError::Conflict { txid, with });
        }

        // Room: evict the cheapest while over the limits, never for a cheaper newcomer.
        let size = summary.size;
        let freed: usize = conflicts
            .iter()
            .filter_map(|c| self.entries.get(c))
            .map(|e| e.summary.size)
            .sum();
        let mut count = self.entries.len() - conflicts.len() + 1;
        let mut bytes = self.bytes - freed + size;
        let mut evict = Vec::new();
        for (p, id) in self.by_priority.iter() {
            if count <= self.config.max_txs && bytes <= self.config.max_bytes {
                break;
            }
            if conflicts.contains(id) {
                continue;
            }
            if *p >= priority {
                return Err(MempoolError::Full(txid));
            }
            evict.push(*id);
            count -= 1;
            bytes -= self.entries[id].summary.size;
        }
        if count > self.config.max_txs || bytes > self.config.max_bytes {
            return Err(MempoolError::Full(txid));
        }
        for id in conflicts.iter().chain(&evict) {
            self.remove(id);
        }
        for op in spent_outpoints(&tx) {
            self.spends.insert(op, txid);
        }
        for op in read_outpoints(&tx) {
            self.reads.entry(op).or_default().push(txid);
        }
        self.by_priority.insert((priority, txid));
        self.bytes += size;
        self.entries.insert(
            txid,
            PooledTx {
                tx,
                summary,
                priority,
            },
        );
        Ok(txid)
    }

    /// Removes a transaction, returning it.
    pub fn remove(&mut self, txid: &TxId) -> Option<PooledTx> {
        let entry = self.entries.remove(txid)?;
        self.by_priority.remove(&(entry.priority, *txid));
        for op in spent_outpoints(&entry.tx) {
            if self.spends.get(&op) == Some(txid) {
                self.spends.remove(&op);
            }
        }
        for op in read_outpoints(&entry.tx) {
            if let Some(readers) = self.reads.get_mut(&op) {
                readers.retain(|r| r != txid);
                if readers.is_empty() {
                    self.reads.remove(&op);
                }
            }
        }
        self.bytes -= entry.summary.size;
        Some(entry)
    }

    /// The highest-priority transactions that fit in `max_txs` and `max_bytes`, best first.
    /// They never conflict with each other.
    pub fn select(&self, max_txs: usize, max_bytes: usize) -> Vec<&PooledTx> {
        let mut out = Vec::new();
        let mut bytes = 0;
        for (_, id) in self.by_priority.iter().rev() {
            if out.len() == max_txs {
                break;
            }
            let entry = &self.entries[id];
            if bytes + entry.summary.size > max_bytes {
                continue;
            }
            bytes += entry.summary.size;
            out.push(entry);
        }
        out
    }

    /// Updates the pool after `block` was applied: drops its transactions, those spending or
    /// reading what it spent, those expired at `next` and those whose executions or state
    /// writes no longer check out against `ledger`.
    pub fn block_applied<L: Ledger>(&mut self, ledger: &L, block: &Block, next: &BlockContext) {
        let mut spent = std::collections::HashSet::new();
        for tx in &block.transactions {
            self.remove(&tx.id());
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
        // Executions and state writes depend on more than their inputs: check them again.
        let recheck: Vec<TxId> = self
            .entries
            .iter()
            .filter(|(_, e)| {
                e.tx.tx.execution.is_some()
                    || e.tx.tx.outputs.iter().any(|o| o.as_state().is_some())
            })
            .map(|(id, _)| *id)
            .collect();
        for id in recheck {
            if ledger
                .check_transaction(&self.entries[&id].tx, next)
                .is_err()
            {
                self.remove(&id);
            }
        }
    }

    /// Updates the pool after a reorganisation: the best chain lost `reverted` (any order)
    /// and gained `applied` (oldest first); `ledger` is at the new tip. Transactions the new
    /// branch includes leave the pool, everything held is checked once against the new tip,
    /// and the reverted blocks' transactions (but coinbases) come back if still valid. One
    /// pass, whatever the depth: calling [`block_reverted`](Self::block_reverted) per block
    /// would check the whole pool once per block.
    pub fn reorganized<L: Ledger>(
        &mut self,
        ledger: &L,
        reverted: &[Block],
        applied: &[Block],
        next: &BlockContext,
    ) {
        for block in applied {
            for tx in &block.transactions {
                self.remove(&tx.id());
            }
        }
        self.recheck_all(ledger, next);
        let mut back: Vec<&Block> = reverted.iter().collect();
        back.sort_by_key(|b| b.header.height);
        for block in back {
            for tx in block.transactions.iter().skip(1) {
                let _ = self.insert(ledger, tx.clone(), next);
            }
        }
    }

    /// Checks everything held against `ledger` at `next`, dropping what fails.
    fn recheck_all<L: Ledger>(&mut self, ledger: &L, next: &BlockContext) {
        let held: Vec<TxId> = self.entries.keys().copied().collect();
        for id in held {
            if ledger
                .check_transaction(&self.entries[&id].tx, next)
                .is_err()
            {
                self.remove(&id);
            }
        }
    }

    /// The ids of the pooled transactions, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = &TxId> + '_ {
        self.entries.keys()
    }

    /// Updates the pool after `block` was reverted: its transactions (but the coinbase) come
    /// back if still valid, and everything held is checked again against `ledger`.
    pub fn block_reverted<L: Ledger>(&mut self, ledger: &L, block: &Block, next: &BlockContext) {
        self.recheck_all(ledger, next);
        for tx in block.transactions.iter().skip(1) {
            let _ = self.insert(ledger, tx.clone(), next);
        }
    }
}

fn read_outpoints(tx: &SignedTransaction) -> impl Iterator<Item = OutPoint> + '_ {
    tx.tx
        .inputs
        .iter()
        .filter(|i| i.mode == InputMode::Reference)
        .map(|i| i.prev)
}

fn spent_outpoints(tx: &SignedTransaction) -> impl Iterator<Item = OutPoint> + '_ {
    tx.tx
        .inputs
        .iter()
        .filter(|i| i.mode == InputMode::Spend)
        .map(|i| i.prev)
}
