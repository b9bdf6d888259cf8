//! What the node needs of a ledger beyond [`wes_core::Ledger`]: building a block for its
//! producer, the fee policy its mempool prices by, and the cheap checks run before anything
//! is fetched for a peer's transaction.
//!
//! [`EutxoLedger`] implements it over any [`KvStore`]. A chain with its own rules wraps
//! `EutxoLedger` (or writes its own ledger) and implements this trait by delegation; the
//! `app-rule` example does exactly that.

use wes_core::Block;
use wes_core::{
    Address, BlockContext, BlockHash, ContractId, Ledger, Lock, OutPoint, Output, PublicKey,
    SignedTransaction, TxId,
};
use wes_ledger::{EutxoLedger, FeePolicy, KvStore, LedgerError, Limits};

/// A ledger a [`Node`](crate::Node) can run: [`Ledger`] plus block building.
///
/// Contract: everything [`Ledger`] promises, and [`Ledger::transaction_location`] answered
/// from an index that survives restarts (`wes_getTransaction`); [`build_block`](ChainLedger::build_block) must
/// produce a block that [`Ledger::apply_block`] accepts on the same tip (with the header's
/// seal fields still to be filled by the producer).
pub trait ChainLedger: Ledger + 'static {
    /// The hash of the genesis block.
    fn genesis_hash(&self) -> BlockHash;

    /// The fees the ledger accepts, by token: the mempool orders transactions by them.
    fn fee_policy(&self) -> FeePolicy;

    /// The chain's size, count and compute limits: the producer fills blocks up to them.
    fn limits(&self) -> Limits;

    /// Cheap checks that need no chain state (format, limits): the sender of a
    /// transaction that fails them is at fault on every chain. Signatures need not be
    /// verified here: the full check verifies them after the cheap rules of the state, and
    /// its error says when it holds on every chain (`Blame::invalid_everywhere`).
    fn check_stateless(&self, tx: &SignedTransaction) -> Result<(), Self::Error>;

    /// The checks of [`Ledger::check_transaction_with`] short of the execution proof, where
    /// a ledger can tell them apart: what a peer's transaction must pass before the node
    /// fetches the resources its proof needs. The default is [`Self::check_stateless`].
    fn check_unproven(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
        unconfirmed: &[(OutPoint, Output)],
    ) -> Result<(), Self::Error> {
        let _ = (ctx, unconfirmed);
        self.check_stateless(tx)
    }

    /// Whether a block could be applied now (see [`crate::storage`]): the ledger's refusal
    /// when its store could not write (too little disk space, an earlier failed write).
    /// The producer checks it before sealing. The default says yes.
    fn writable(&self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Verifies the signatures of many transactions together (batch verification) ahead
    /// of checking them one by one, keeping the verdicts so the single checks do not
    /// verify again. The default does nothing: each transaction is then verified alone.
    fn preverify(&self, txs: &[SignedTransaction]) {
        let _ = txs;
    }

    /// A block on the tip holding `transactions` (in order) after a coinbase that pays
    /// their fees to `reward`, produced by `producer` at `time_ms`. Target, nonce and seal
    /// are left for the producer.
    fn build_block(
        &self,
        transactions: Vec<SignedTransaction>,
        reward: &Lock,
        producer: PublicKey,
        time_ms: u64,
    ) -> Result<Block, Self::Error>;

    /// The unspent outputs `owner` can spend, in outpoint order (`wes_getUtxos`,
    /// `wes_getBalance`). Kept as an index that survives restarts: a node reads it, it
    /// never rebuilds it.
    fn outputs_of(&self, owner: &Address) -> Result<Vec<(OutPoint, Output)>, Self::Error>;

    /// A page of [`outputs_of`](ChainLedger::outputs_of): those after `after`, at most
    /// `limit`, in outpoint order. The default filters the whole list; a ledger with an
    /// ordered index reads only the page.
    fn outputs_page(
        &self,
        owner: &Address,
        after: Option<&OutPoint>,
        limit: usize,
    ) -> Result<Vec<(OutPoint, Output)>, Self::Error> {
        Ok(self
            .outputs_of(owner)?
            .into_iter()
            .filter(|(op, _)| after.is_none_or(|a| op > a))
            .take(limit)
            .collect())
    }

    /// The live State output of `contract` under `key` (for executions' chain view).
    fn state(
        &self,
        contract: &ContractId,
        key: &[u8],
    ) -> Result<Option<(OutPoint, Output)>, Self::Error>;

    /// The transaction an error of [`build_block`](ChainLedger::build_block) blames, so the
    /// producer can leave it out and try again. `None`: the error is not one transaction's.
    fn blamed_transaction(error: &Self::Error) -> Option<TxId>;

    /// [`build_block`](ChainLedger::build_block) from a producer's `candidates`, leaving
    /// out those that fail: the block, and the ids of the candidates that are invalid on
    /// the tip (the producer drops them from its pool). A candidate left out only because
    /// an earlier one was, or because the block is full, is in neither.
    ///
    /// The default builds, drops the transaction the error blames
    /// ([`blamed_transaction`](ChainLedger::blamed_transaction)) and builds again, which
    /// checks the rest again after each invalid one; an empty block when an error blames
    /// none. A ledger that can skip failures in one pass overrides it, as `EutxoLedger`
    /// does.
    ///
    /// # Errors
    /// The ledger's failure to build even an empty block.
    fn build_block_skipping(
        &self,
        mut candidates: Vec<SignedTransaction>,
        reward: &Lock,
        producer: PublicKey,
        time_ms: u64,
    ) -> Result<(Block, Vec<TxId>), Self::Error> {
        let mut invalid = Vec::new();
        loop {
            match self.build_block(candidates.clone(), reward, producer, time_ms) {
                Ok(block) => return Ok((block, invalid)),
                Err(e) if candidates.is_empty() => return Err(e),
                Err(e) => match Self::blamed_transaction(&e) {
                    Some(id) if candidates.iter().any(|t| t.id() == id) => {
                        candidates.retain(|t| t.id() != id);
                        invalid.push(id);
                    }
                    _ => candidates.clear(),
                },
            }
        }
    }
}

impl<S: KvStore + 'static> ChainLedger for EutxoLedger<S> {
    fn genesis_hash(&self) -> BlockHash {
        EutxoLedger::genesis_hash(self)
    }

    fn fee_policy(&self) -> FeePolicy {
        self.config().fees.clone()
    }

    fn limits(&self) -> Limits {
        self.config().limits
    }

    fn check_stateless(&self, tx: &SignedTransaction) -> Result<(), LedgerError> {
        EutxoLedger::check_stateless(self, tx)
    }

    fn check_unproven(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
        unconfirmed: &[(OutPoint, Output)],
    ) -> Result<(), LedgerError> {
        EutxoLedger::check_transaction_unproven(self, tx, ctx, unconfirmed).map(|_| ())
    }

    fn preverify(&self, txs: &[SignedTransaction]) {
        EutxoLedger::preverify(self, txs);
    }

    fn writable(&self) -> Result<(), LedgerError> {
        EutxoLedger::writable(self)
    }

    fn outputs_of(&self, owner: &Address) -> Result<Vec<(OutPoint, Output)>, LedgerError> {
        EutxoLedger::outputs_of(self, owner)
    }

    fn outputs_page(
        &self,
        owner: &Address,
        after: Option<&OutPoint>,
        limit: usize,
    ) -> Result<Vec<(OutPoint, Output)>, LedgerError> {
        EutxoLedger::outputs_page(self, owner, after, limit)
    }

    fn build_block(
        &self,
        transactions: Vec<SignedTransaction>,
        reward: &Lock,
        producer: PublicKey,
        time_ms: u64,
    ) -> Result<Block, LedgerError> {
        EutxoLedger::build_block(self, transactions, reward, producer, time_ms)
    }

    fn build_block_skipping(
        &self,
        candidates: Vec<SignedTransaction>,
        reward: &Lock,
        producer: PublicKey,
        time_ms: u64,
    ) -> Result<(Block, Vec<TxId>), LedgerError> {
        let (block, invalid) =
            EutxoLedger::build_block_skipping(self, candidates, reward, producer, time_ms)?;
        for (id, e) in &invalid {
            tracing::debug!(%id, error = %e, "left an invalid transaction out of a block");
        }
        Ok((block, invalid.into_iter().map(|(id, _)| id).collect()))
    }

    fn state(
        &self,
        contract: &ContractId,
        key: &[u8],
    ) -> Result<Option<(OutPoint, Output)>, LedgerError> {
        EutxoLedger::state(self, contract, key)
    }

    fn blamed_transaction(error: &LedgerError) -> Option<TxId> {
        use wes_ledger::BlockError;
        match error {
            LedgerError::Transaction { txid, .. } => Some(*txid),
            LedgerError::Block { source, .. } => match &**source {
                BlockError::Transaction { txid, .. } => Some(*txid),
                _ => None,
            },
            _ => None,
        }
    }
}
