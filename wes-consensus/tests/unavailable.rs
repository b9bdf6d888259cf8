//! A block the ledger cannot check for now (its error's fault is `Unavailable`, e.g. a
//! resource not fetched yet) is forgotten, not condemned: submitted again later, it applies.

mod common;

use std::sync::Mutex;

use common::*;
use wes_consensus::{ChainError, ChainManager, Submitted};
use wes_core::*;
use wes_ledger::{EutxoLedger, LedgerError, MemoryStore};

/// The real ledger, except that applying `refuse` fails as unavailable.
struct Flaky {
    inner: EutxoLedger<MemoryStore>,
    refuse: Mutex<Option<BlockHash>>,
}

impl Flaky {
    fn refused(&self, block: &Block) -> Result<(), LedgerError> {
        if *self.refuse.lock().unwrap() == Some(block.hash()) {
            return Err(LedgerError::UnknownBlock(block.hash()));
        }
        Ok(())
    }
}

impl Ledger for Flaky {
    type Error = LedgerError;
    fn tip(&self) -> Result<ChainTip, LedgerError> {
        self.inner.tip()
    }
    fn unspent(&self, o: &OutPoint) -> Result<Option<Output>, LedgerError> {
        self.inner.unspent(o)
    }
    fn header(&self, h: &BlockHash) -> Result<Option<BlockHeader>, LedgerError> {
        self.inner.header(h)
    }
    fn block(&self, h: &BlockHash) -> Result<Option<Block>, LedgerError> {
        self.inner.block(h)
    }
    fn hash_at(&self, height: u64) -> Result<Option<BlockHash>, LedgerError> {
        self.inner.hash_at(height)
    }
    fn check_transaction(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
    ) -> Result<TxSummary, LedgerError> {
        self.inner.check_transaction(tx, ctx)
    }
    fn check_transaction_with(
        &self,
        tx: &SignedTransaction,
        ctx: &BlockContext,
        unconfirmed: &[(OutPoint, Output)],
    ) -> Result<TxSummary, LedgerError> {
        self.inner.check_transaction_with(tx, ctx, unconfirmed)
    }
    fn state_root_after(
        &self,
        txs: &[SignedTransaction],
        ctx: &BlockContext,
    ) -> Result<Hash, LedgerError> {
        self.inner.state_root_after(txs, ctx)
    }
    fn apply_block(&self, block: &Block) -> Result<ChainTip, LedgerError> {
        self.refused(block)?;
        self.inner.apply_block(block)
    }
    fn revert_tip(&self) -> Result<Block, LedgerError> {
        self.inner.revert_tip()
    }
    fn reorg(&self, fork: &BlockHash, branch: &[Block]) -> Result<ChainTip, LedgerError> {
        for b in branch {
            self.refused(b)?;
        }
        self.inner.reorg(fork, branch)
    }
}

#[test]
fn a_block_that_cannot_be_checked_now_is_forgotten_and_applies_when_submitted_again() {
    let g = genesis(target_for_work(16));
    let engine = pow_engine(&g);
    let flaky = Flaky {
        inner: ledger(&g),
        refuse: Mutex::new(None),
    };
    let mut chain = ChainManager::new(flaky, engine.clone()).unwrap();
    let helper = node(&g, engine);
    let block = mine_on(&helper, "m", T0 + 1_000);
    let hash = block.hash();

    *chain.ledger().refuse.lock().unwrap() = Some(hash);
    let err = chain.submit_block(block.clone(), T0 + 1_000).unwrap_err();
    assert!(matches!(err, ChainError::Ledger { .. }), "{err}");
    assert_eq!(err.fault(), Fault::Unavailable);
    assert!(
        !chain.knows(&hash),
        "forgotten, not kept as a block that never applies"
    );
    assert!(!chain.is_invalid(&hash));
    assert_eq!(chain.best_header().height, 0);

    // The resource arrived: the same block applies.
    *chain.ledger().refuse.lock().unwrap() = None;
    assert!(matches!(
        chain.submit_block(block, T0 + 1_000).unwrap(),
        Submitted::Extended { height: 1, .. }
    ));
    assert_eq!(chain.best_hash(), hash);
}
