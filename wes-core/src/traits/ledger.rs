//! The ledger: validity of transactions and blocks, and the UTXO state.

use std::collections::BTreeMap;

use crate::fault::Blame;
use crate::hash::{BlockHash, Hash, TxId};
use crate::types::block::{Block, BlockHeader};
use crate::types::output::Output;
use crate::types::token::{Amount, TokenId};
use crate::types::transaction::{OutPoint, SignedTransaction};

/// The block a ledger has applied last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainTip {
    /// Its hash.
    pub hash: BlockHash,
    /// Its height.
    pub height: u64,
    /// The state root after it.
    pub state_root: Hash,
}

/// Where a transaction is being checked: the block it would go into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockContext {
    /// Height of that block.
    pub height: u64,
    /// Time of that block, milliseconds since the Unix epoch.
    pub time_ms: u64,
}

/// What a valid transaction costs and pays.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxSummary {
    /// Fee per token: inputs minus outputs.
    pub fees: BTreeMap<TokenId, Amount>,
    /// Encoded size in bytes, witness included.
    pub size: usize,
    /// Compute units used by its execution, if any.
    pub cu_used: u64,
}

/// The EUTXO ledger of one chain: rules, state and block store.
///
/// Contract: [`apply_block`](Ledger::apply_block) is atomic (after a crash the ledger is at
/// the last whole block) and [`revert_tip`](Ledger::revert_tip) restores the exact previous
/// state, so the chain manager can reorganise by reverting to a common ancestor and applying
/// the other branch. Header validity (proof of work, timestamps) is the consensus engine's
/// job; the ledger checks the body against the header and the state.
pub trait Ledger: Send + Sync {
    /// The ledger's error; [`Blame`] tells an invalid block from a failing disk.
    type Error: std::error::Error + Blame + Send + Sync + 'static;

    /// The last applied block.
    fn tip(&self) -> Result<ChainTip, Self::Error>;

    /// The unspent output at `outpoint`, or `None` if it does not exist or is spent.
    fn unspent(&self, outpoint: &OutPoint) -> Result<Option<Output>, Self::Error>;

    /// A stored header, on any branch.
    fn header(&self, hash: &BlockHash) -> Result<Option<BlockHeader>, Self::Error>;

    /// A stored block, on any branch.
    fn block(&self, hash: &BlockHash) -> Result<Option<Block>, Self::Error>;

    /// The hash of the block at `height` on the applied chain.
    fn hash_at(&self, height: u64) -> Result<Option<BlockHash>, Self::Error>;

    /// The block of the applied chain holding transaction `txid`, and its height, from a
    /// persistent index; `None` when no applied block holds it. The default answers `None`
    /// always: a ledger without an index (chain managers then know only the transactions of
    /// blocks they saw since they started).
    fn transaction_location(&self, txid: &TxId) -> Result<Option<(BlockHash, u64)>, Self::Error> {
        let _ = txid;
        Ok(None)
    }

    /// Checks `tx` against the current state as if it went into a block at `ctx`, without
    /// changing anything (used by the mempool and block builders).
    fn check_transaction(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
    ) -> Result<TxSummary, Self::Error>;

    /// Checks `tx` as [`check_transaction`](Ledger::check_transaction) does, with the
    /// `unconfirmed` outputs (created by transactions not yet in a block, such as a pooled
    /// parent's) counted as unspent too. This is how a mempool admits chains of dependent
    /// transactions: a wallet can spend its change before the block that confirms it.
    ///
    /// The caller vouches for `unconfirmed` (the outputs of transactions it already
    /// checked); the ledger does not look them up. A ledger that does not support spending
    /// unconfirmed outputs may ignore them, as this default does: it then refuses such a
    /// transaction for spending a missing input.
    fn check_transaction_with(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
        unconfirmed: &[(OutPoint, Output)],
    ) -> Result<TxSummary, Self::Error> {
        let _ = unconfirmed;
        self.check_transaction(tx, ctx)
    }

    /// Checks `tx` as [`check_transaction_with`](Ledger::check_transaction_with) does, short
    /// of its execution proof: for a transaction whose proof this ledger already verified
    /// (at admission, or in a block since reverted), which a mempool checks again when the
    /// tip moves. A proof stands for the transaction and what its inputs hold; a block that
    /// changes those spends the inputs, which this check still finds. The default verifies
    /// the proof too.
    fn check_transaction_unproven(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
        unconfirmed: &[(OutPoint, Output)],
    ) -> Result<TxSummary, Self::Error> {
        self.check_transaction_with(tx, ctx, unconfirmed)
    }

    /// The state root that applying `transactions` (coinbase first) on the tip at `ctx`
    /// would give, for a producer filling in a new header. Changes nothing.
    fn state_root_after(
        &self,
        transactions: &[SignedTransaction],
        ctx: &BlockContext,
    ) -> Result<Hash, Self::Error>;

    /// Validates `block` as the child of the tip and applies it atomically.
    fn apply_block(&self, block: &Block) -> Result<ChainTip, Self::Error>;

    /// Undoes the tip block and returns it. Genesis cannot be reverted.
    fn revert_tip(&self) -> Result<Block, Self::Error>;

    /// Switches to another branch: reverts to `fork_point` (a block on the applied chain) and
    /// applies `branch` (its descendants, parent first). If any block of `branch` is invalid,
    /// or reverting or applying fails otherwise, the ledger is restored to the chain it had
    /// before and the error is returned. A ledger that cannot restore either (its store
    /// stopped writing) stops between the branches and says so in its error; callers follow
    /// [`tip`](Ledger::tip) afterwards, as the chain manager does.
    fn reorg(&self, fork_point: &BlockHash, branch: &[Block]) -> Result<ChainTip, Self::Error>;
}

/// A shared ledger is a ledger: the node keeps one `Arc` for lock-free reads (RPC, network)
/// and gives another to the chain manager, which applies blocks.
impl<T: Ledger + ?Sized> Ledger for std::sync::Arc<T> {
    type Error = T::Error;

    fn tip(&self) -> Result<ChainTip, Self::Error> {
        (**self).tip()
    }

    fn unspent(&self, outpoint: &OutPoint) -> Result<Option<Output>, Self::Error> {
        (**self).unspent(outpoint)
    }

    fn header(&self, hash: &BlockHash) -> Result<Option<BlockHeader>, Self::Error> {
        (**self).header(hash)
    }

    fn block(&self, hash: &BlockHash) -> Result<Option<Block>, Self::Error> {
        (**self).block(hash)
    }

    fn hash_at(&self, height: u64) -> Result<Option<BlockHash>, Self::Error> {
        (**self).hash_at(height)
    }

    fn transaction_location(&self, txid: &TxId) -> Result<Option<(BlockHash, u64)>, Self::Error> {
        (**self).transaction_location(txid)
    }

    fn check_transaction(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
    ) -> Result<TxSummary, Self::Error> {
        (**self).check_transaction(tx, ctx)
    }

    fn check_transaction_with(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
        unconfirmed: &[(OutPoint, Output)],
    ) -> Result<TxSummary, Self::Error> {
        (**self).check_transaction_with(tx, ctx, unconfirmed)
    }

    fn check_transaction_unproven(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
        unconfirmed: &[(OutPoint, Output)],
    ) -> Result<TxSummary, Self::Error> {
        (**self).check_transaction_unproven(tx, ctx, unconfirmed)
    }

    fn state_root_after(
        &self,
        transactions: &[SignedTransaction],
        ctx: &BlockContext,
    ) -> Result<Hash, Self::Error> {
        (**self).state_root_after(transactions, ctx)
    }

    fn apply_block(&self, block: &Block) -> Result<ChainTip, Self::Error> {
        (**self).apply_block(block)
    }

    fn revert_tip(&self) -> Result<Block, Self::Error> {
        (**self).revert_tip()
    }

    fn reorg(&self, fork_point: &BlockHash, branch: &[Block]) -> Result<ChainTip, Self::Error> {
        (**self).reorg(fork_point, branch)
    }
}
