//! The mempool: transactions valid against the tip, waiting for a block.
//!
//! * Accepts only transactions the ledger accepts at the next height, where the outputs of
//!   pooled transactions count as unspent: a wallet can spend its change (or a contract
//!   call's outputs) before the block that confirms them, so one key sends many
//!   transactions per block. A transaction spending or reading a pooled transaction's
//!   outputs is its *child*; chains are bounded in ancestors and descendants.
//! * A transaction spending an outpoint that a pooled transaction already spends is a
//!   conflict: it replaces the pooled ones (and their descendants, which depend on them)
//!   only if its priority beats each of theirs by the replacement bump
//!   ([`MempoolConfig::replacement_bump_percent`], 10 % by default, as geth asks): each
//!   replacement, which every peer verifies and relays again, costs its sender more.
//! * Ordered by priority: the fee paid as a multiple of the minimum the fee policy asks (the
//!   best over the accepted tokens), so fees in different tokens compare. Blocks take a
//!   transaction with the pooled ancestors it needs, parents first.
//! * Bounded in count and bytes: when full, the lowest priority goes first (with its
//!   descendants, unless one of them pays at least the newcomer's priority); a newcomer that
//!   would itself be the lowest is refused.
//! * When a block is applied, its transactions and everything conflicting with it or expired
//!   leave the pool (children of what it confirmed stay: their inputs are now confirmed);
//!   when blocks are reverted, their transactions come back ahead of what the pool held.
//!
//! The pool is a plain structure (`&mut self`); a node shares it behind a mutex.

mod follow;
mod graph;

use std::collections::{BTreeSet, HashMap, HashSet};

use wes_core::{
    Address, Blame, BlockContext, Fault, InputMode, Ledger, OutPoint, Output, SignedTransaction,
    TxId, TxSummary,
};

use crate::config::{FeePolicy, Limits};
use graph::Graph;

/// Mempool limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most bytes held (encoded transactions with witnesses).
    pub max_bytes: usize,
    /// Most pooled ancestors a transaction may have (the pooled transactions it depends on,
    /// directly or not).
    pub max_ancestors: usize,
    /// Most pooled descendants a transaction may have.
    pub max_descendants: usize,
    /// How much higher, in percent, a replacement's priority must be than that of each
    /// transaction it replaces (and always strictly higher).
    pub replacement_bump_percent: u32,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_txs: 50_000,
            max_bytes: 64 << 20,
            max_ancestors: 500,
            max_descendants: 500,
            replacement_bump_percent: 10,
        }
    }
}

/// How much a block may take from the pool: transactions (coinbase excluded), bytes of
/// transactions, and compute units of their executions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockBudget {
    /// Most transactions.
    pub txs: usize,
    /// Most bytes (encoded transactions with witnesses).
    pub bytes: usize,
    /// Most compute units, summed over the transactions' executions.
    pub cu: u64,
}

impl BlockBudget {
    /// Room for the block header and the coinbase within the chain's byte limit.
    pub const FRAME_BYTES: usize = 64 << 10;

    /// No limit.
    pub const UNLIMITED: BlockBudget = BlockBudget {
        txs: usize::MAX,
        bytes: usize::MAX,
        cu: u64::MAX,
    };

    /// `txs` transactions and `bytes` bytes, compute units unbounded.
    pub fn new(txs: usize, bytes: usize) -> Self {
        BlockBudget {
            txs,
            bytes,
            cu: u64::MAX,
        }
    }

    /// What a valid block of a chain with `limits` can take (room left for the coinbase,
    /// and for the header in bytes).
    pub fn of(limits: &Limits) -> Self {
        BlockBudget {
            txs: limits.max_block_txs.saturating_sub(1),
            bytes: limits.max_block_bytes.saturating_sub(Self::FRAME_BYTES),
            cu: limits.max_block_cu,
        }
    }

    /// The smaller of the two budgets, limit by limit.
    pub fn min(self, other: BlockBudget) -> Self {
        BlockBudget {
            txs: self.txs.min(other.txs),
            bytes: self.bytes.min(other.bytes),
            cu: self.cu.min(other.cu),
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
    /// It spends what a pooled transaction spends, without outbidding it and its
    /// descendants by the replacement bump (or that transaction is one of its own
    /// ancestors).
    #[error(
        "transaction {txid} conflicts with pooled {with} and does not outbid it by the replacement bump"
    )]
    Conflict {
        /// The newcomer.
        txid: TxId,
        /// A pooled transaction it would have to replace.
        with: TxId,
    },
    /// The pool is full of transactions that pay more.
    #[error("mempool full: transaction {0} pays less than everything held")]
    Full(TxId),
    /// It was checked against an output of a pooled transaction that has left the pool
    /// since (replaced or evicted).
    #[error("transaction {txid} spends {outpoint}, whose pooled transaction has left the pool")]
    ParentGone {
        /// The newcomer.
        txid: TxId,
        /// The unconfirmed output it relied on.
        outpoint: OutPoint,
    },
    /// It depends on too many pooled transactions.
    #[error("transaction {txid} has {ancestors} unconfirmed ancestors; the limit is {limit}")]
    TooManyAncestors {
        /// The newcomer.
        txid: TxId,
        /// How many it would have.
        ancestors: usize,
        /// The pool's limit.
        limit: usize,
    },
    /// Admitting it would give a pooled transaction too many descendants.
    #[error("transaction {txid} would give pooled {ancestor} more than {limit} descendants")]
    TooManyDescendants {
        /// The newcomer.
        txid: TxId,
        /// The pooled ancestor over the limit.
        ancestor: TxId,
        /// The pool's limit.
        limit: usize,
    },
}

impl<E: std::error::Error + Blame + 'static> Blame for MempoolError<E> {
    fn invalid_everywhere(&self) -> bool {
        matches!(self, MempoolError::Invalid(e) if e.invalid_everywhere())
    }

    fn fault(&self) -> Fault {
        match self {
            MempoolError::Invalid(e) => e.fault(),
            // The same transaction may be admitted later (a pool with room, a parent back).
            MempoolError::Full(_)
            | MempoolError::ParentGone { .. }
            | MempoolError::TooManyAncestors { .. }
            | MempoolError::TooManyDescendants { .. } => Fault::Unavailable,
            MempoolError::AlreadyKnown(_) | MempoolError::Conflict { .. } => Fault::Input,
        }
    }

    fn rule(&self) -> Option<&'static str> {
        Some(match self {
            MempoolError::Invalid(e) => return e.rule(),
            MempoolError::AlreadyKnown(_) => "already_known",
            MempoolError::Conflict { .. } => "conflict",
            MempoolError::Full(_) => "mempool_full",
            MempoolError::ParentGone { .. } => "parent_gone",
            MempoolError::TooManyAncestors { .. } => "too_many_ancestors",
            MempoolError::TooManyDescendants { .. } => "too_many_descendants",
        })
    }
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
    /// Which pooled transactions depend on which.
    graph: Graph,
    /// The outputs pooled transactions create (spent by another pooled one or not).
    outputs: HashMap<OutPoint, Output>,
    /// Those outputs by owner address, for wallets' reads.
    owners: HashMap<Address, BTreeSet<OutPoint>>,
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
            graph: Graph::default(),
            outputs: HashMap::new(),
            owners: HashMap::new(),
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

    /// The ids of the pooled transactions, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = &TxId> + '_ {
        self.entries.keys()
    }

    /// The pooled transactions `txid` spends or reads outputs of.
    pub fn parents(&self, txid: &TxId) -> &[TxId] {
        self.graph.parents_of(txid)
    }

    /// The pooled transaction spending `outpoint`, if any.
    pub fn spender(&self, outpoint: &OutPoint) -> Option<TxId> {
        self.spends.get(outpoint).copied()
    }

    /// An output a pooled transaction creates, whether or not another pooled one spends it.
    pub fn output(&self, outpoint: &OutPoint) -> Option<&Output> {
        self.outputs.get(outpoint)
    }

    /// The outputs of pooled transactions owned by `owner` that no pooled transaction
    /// spends, in outpoint order: what a wallet can spend next besides its confirmed coins.
    pub fn unspent_outputs_of(&self, owner: &Address) -> Vec<(OutPoint, Output)> {
        self.owners
            .get(owner)
            .into_iter()
            .flatten()
            .filter(|op| !self.spends.contains_key(op))
            .filter_map(|op| self.outputs.get(op).map(|o| (*op, o.clone())))
            .collect()
    }

    /// The outputs of pooled transactions that `tx` spends or reads: what the ledger must
    /// count as unspent to check it ([`Ledger::check_transaction_with`]).
    pub fn unconfirmed_inputs(&self, tx: &SignedTransaction) -> Vec<(OutPoint, Output)> {
        tx.tx
            .inputs
            .iter()
            .filter_map(|i| self.outputs.get(&i.prev).map(|o| (i.prev, o.clone())))
            .collect()
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

    /// Validates `tx` against `ledger` at `ctx` (the next block), with the pooled
    /// transactions' outputs counted as unspent, and adds it.
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
        let unconfirmed = self.unconfirmed_inputs(&tx);
        let summary = ledger
            .check_transaction_with(&tx, ctx, &unconfirmed)
            .map_err(MempoolError::Invalid)?;
        self.insert_checked(tx, summary, &unconfirmed)
    }

    /// Adds `tx`, which the caller has checked against the tip with the `unconfirmed`
    /// outputs that [`unconfirmed_inputs`](Self::unconfirmed_inputs) gave (`summary` is
    /// what [`Ledger::check_transaction_with`] returned). This lets a node verify
    /// signatures and proofs without holding the pool: only the dependency, conflict and
    /// room rules run here, and [`MempoolError::ParentGone`] refuses the transaction if
    /// an output it was checked with has left the pool meanwhile. The caller must check
    /// again (or drop the transaction) if the tip moved in between; the node does so when
    /// it applies the next block.
    pub fn insert_checked<E: std::error::Error + 'static>(
        &mut self,
        tx: SignedTransaction,
        summary: TxSummary,
        unconfirmed: &[(OutPoint, Output)],
    ) -> Result<TxId, MempoolError<E>> {
        let txid = tx.id();
        if self.entries.contains_key(&txid) {
            return Err(MempoolError::AlreadyKnown(txid));
        }
        if let Some((outpoint, _)) = unconfirmed
            .iter()
            .find(|(op, _)| !self.outputs.contains_key(op))
        {
            return Err(MempoolError::ParentGone {
                txid,
                outpoint: *outpoint,
            });
        }
        let priority = self.priority(&summary);
        let mut parents: Vec<TxId> = tx
            .tx
            .inputs
            .iter()
            .map(|i| i.prev.tx)
            .filter(|p| self.entries.contains_key(p))
            .collect();
        parents.sort();
        parents.dedup();
        let ancestors = self.check_chain_limits(txid, &parents)?;

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
        if let Some(&with) = conflicts.iter().find(|c| ancestors.contains(c)) {
            // Replacing one's own ancestor would leave the newcomer without its inputs.
            return Err(MempoolError::Conflict { txid, with });
        }
        let mut replaced: HashSet<TxId> = HashSet::new();
        for c in &conflicts {
            replaced.insert(*c);
            replaced.extend(self.graph.descendants(c));
        }
        let bump = u128::from(self.config.replacement_bump_percent);
        if let Some(&with) = replaced.iter().find(|r| {
            let held = self.entries[*r].priority;
            priority <= held || priority < held.saturating_mul(100 + bump) / 100
        }) {
            return Err(MempoolError::Conflict { txid, with });
        }
        let evicted = self.make_room(txid, priority, summary.size, &replaced, &ancestors)?;
        for id in replaced.iter().chain(&evicted) {
            self.remove_one(id);
        }
        self.add(txid, tx, summary, priority, parents);
        Ok(txid)
    }

    /// The newcomer's pooled ancestors, if within the limits on ancestors and on every
    /// ancestor's descendants.
    fn check_chain_limits<E: std::error::Error + 'static>(
        &self,
        txid: TxId,
        parents: &[TxId],
    ) -> Result<HashSet<TxId>, MempoolError<E>> {
        let ancestors = self.graph.ancestors(parents);
        if ancestors.len() > self.config.max_ancestors {
            return Err(MempoolError::TooManyAncestors {
                txid,
                ancestors: ancestors.len(),
                limit: self.config.max_ancestors,
            });
        }
        // An ancestor's descendants include those of its own descendants: the most are
        // under the ancestors that have no pooled parents.
        for root in ancestors
            .iter()
            .filter(|a| self.graph.parents_of(a).is_empty())
        {
            if self.graph.descendants(root).len() + 1 > self.config.max_descendants {
                return Err(MempoolError::TooManyDescendants {
                    txid,
                    ancestor: *root,
                    limit: self.config.max_descendants,
                });
            }
        }
        Ok(ancestors)
    }

    /// What to evict (cheapest first, each with its descendants) so that a newcomer of
    /// `priority` and `size` fits once `replaced` is gone; never the newcomer's
    /// `ancestors`, nor a descendant paying at least the newcomer's priority.
    fn make_room<E: std::error::Error + 'static>(
        &self,
        txid: TxId,
        priority: u128,
        size: usize,
        replaced: &HashSet<TxId>,
        ancestors: &HashSet<TxId>,
    ) -> Result<HashSet<TxId>, MempoolError<E>> {
        let freed: usize = replaced.iter().map(|c| self.entries[c].summary.size).sum();
        let mut count = self.entries.len() - replaced.len() + 1;
        let mut bytes = self.bytes - freed + size;
        let mut evict: HashSet<TxId> = HashSet::new();
        let over = |count: usize, bytes: usize| {
            count > self.config.max_txs || bytes > self.config.max_bytes
        };
        for (p, id) in self.by_priority.iter() {
            if !over(count, bytes) {
                break;
            }
            if replaced.contains(id) || evict.contains(id) || ancestors.contains(id) {
                continue;
            }
            if *p >= priority {
                return Err(MempoolError::Full(txid));
            }
            let mut subtree = vec![*id];
            subtree.extend(
                self.graph
                    .descendants(id)
                    .into_iter()
                    .filter(|d| !replaced.contains(d) && !evict.contains(d)),
            );
            if subtree.iter().any(|d| self.entries[d].priority >= priority) {
                continue;
            }
            for d in subtree {
                count -= 1;
                bytes -= self.entries[&d].summary.size;
                evict.insert(d);
            }
        }
        if over(count, bytes) {
            return Err(MempoolError::Full(txid));
        }
        Ok(evict)
    }

    fn add(
        &mut self,
        txid: TxId,
        tx: SignedTransaction,
        summary: TxSummary,
        priority: u128,
        parents: Vec<TxId>,
    ) {
        for op in spent_outpoints(&tx) {
            self.spends.insert(op, txid);
        }
        for op in read_outpoints(&tx) {
            self.reads.entry(op).or_default().push(txid);
        }
        for (index, output) in tx.tx.outputs.iter().enumerate() {
            let op = OutPoint {
                tx: txid,
                index: index as u32,
            };
            self.owners
                .entry(output.lock.address())
                .or_default()
                .insert(op);
            self.outputs.insert(op, output.clone());
        }
        self.graph.add(txid, parents);
        self.by_priority.insert((priority, txid));
        self.bytes += summary.size;
        self.entries.insert(
            txid,
            PooledTx {
                tx,
                summary,
                priority,
            },
        );
    }

    /// Removes a transaction and every pooled transaction depending on it (they spend or
    /// read its outputs, so no block can hold them without it). Returns what left, the
    /// transaction first; nothing if it is not held.
    pub fn remove(&mut self, txid: &TxId) -> Vec<PooledTx> {
        if !self.entries.contains_key(txid) {
            return Vec::new();
        }
        let mut gone = vec![*txid];
        gone.extend(self.graph.descendants(txid));
        gone.iter().filter_map(|id| self.remove_one(id)).collect()
    }

    /// Removes one transaction, leaving its children (the caller removes them too, or they
    /// no longer need it: it was confirmed).
    fn remove_one(&mut self, txid: &TxId) -> Option<PooledTx> {
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
        for (index, output) in entry.tx.tx.outputs.iter().enumerate() {
            let op = OutPoint {
                tx: *txid,
                index: index as u32,
            };
            self.outputs.remove(&op);
            let owner = output.lock.address();
            if let Some(ops) = self.owners.get_mut(&owner) {
                ops.remove(&op);
                if ops.is_empty() {
                    self.owners.remove(&owner);
                }
            }
        }
        self.graph.detach(txid);
        self.bytes -= entry.summary.size;
        Some(entry)
    }

    /// The highest-priority transactions that fit in `budget`, in an order a block can
    /// hold them: each comes with the pooled ancestors it needs, after them. They never
    /// conflict with each other.
    pub fn select(&self, budget: BlockBudget) -> Vec<&PooledTx> {
        let mut chosen: HashSet<TxId> = HashSet::new();
        let mut out = Vec::new();
        let (mut bytes, mut cu) = (0usize, 0u64);
        for (_, id) in self.by_priority.iter().rev() {
            if out.len() >= budget.txs {
                break;
            }
            if chosen.contains(id) {
                continue;
            }
            let package = self.graph.with_ancestors_in_order(*id, &chosen);
            let (size, work) = package.iter().fold((0usize, 0u64), |(b, c), p| {
                let s = &self.entries[p].summary;
                (b + s.size, c.saturating_add(s.cu_used))
            });
            if out.len() + package.len() > budget.txs
                || bytes + size > budget.bytes
                || cu.saturating_add(work) > budget.cu
            {
                continue;
            }
            bytes += size;
            cu = cu.saturating_add(work);
            for p in package {
                chosen.insert(p);
                out.push(&self.entries[&p]);
            }
        }
        out
    }

    /// Empties the pool, returning what it held with every transaction after its parents.
    fn drain_in_order(&mut self) -> Vec<SignedTransaction> {
        let order = self.graph.in_order(self.entries.keys().copied());
        let mut entries = std::mem::take(&mut self.entries);
        *self = Mempool::new(self.config, self.fees.clone());
        order
            .into_iter()
            .filter_map(|id| entries.remove(&id))
            .map(|e| e.tx)
            .collect()
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
