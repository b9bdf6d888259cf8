//! After a reorganisation the ledger could not finish nor undo (its store stopped writing
//! half-way), the chain manager's best block is the ledger's tip: the node never reports
//! one chain while its ledger holds another.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use wes_consensus::{ChainError, ChainManager};
use wes_core::*;
use wes_ledger::{
    Batch, EutxoLedger, KeyValues, KvStore, LedgerConfig, LedgerError, MemoryStore, StoreError,
};

/// A memory store whose writes fail from the `n`-th one after [`fail_writes_from`] on.
#[derive(Default)]
struct FailingStore {
    inner: MemoryStore,
    writes: AtomicUsize,
    fail_writes_from: AtomicUsize,
}

impl FailingStore {
    fn fail_writes_from(&self, n: usize) {
        self.writes.store(0, Ordering::SeqCst);
        self.fail_writes_from.store(n, Ordering::SeqCst);
    }
}

impl KvStore for FailingStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }

    fn apply(&self, batch: Batch) -> Result<(), StoreError> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        let from = self.fail_writes_from.load(Ordering::SeqCst);
        if from != 0 && n >= from {
            return Err(StoreError::Backend(format!("write {n} failed (injected)")));
        }
        self.inner.apply(batch)
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<KeyValues, StoreError> {
        self.inner.scan_prefix(prefix)
    }
}

#[test]
fn a_reorganisation_stopped_half_way_leaves_the_best_block_at_the_ledgers_tip() {
    let g = genesis(target_for_work(16));
    let engine = pow_engine(&g);
    let ledger = EutxoLedger::open(
        FailingStore::default(),
        LedgerConfig::new(CHAIN),
        &g,
        VerifierRegistry::new(),
    )
    .unwrap();
    let mut chain = ChainManager::new(ledger, engine.clone()).unwrap();

    // The chain: two blocks by "a".
    let a = node(&g, engine.clone());
    let mut a = a;
    let mut old = Vec::new();
    for i in 1..=2 {
        let block = mine_on(&a, "a", T0 + i * 1_000);
        a.submit_block(block.clone(), T0 + i * 1_000).unwrap();
        chain.submit_block(block.clone(), T0 + i * 1_000).unwrap();
        old.push(block);
    }
    assert_eq!(chain.best_hash(), old[1].hash());

    // A heavier branch by "b". Switching to it reverts the old tip (write 1); the next
    // write fails, and so does every later one: the ledger can neither finish nor go back.
    let mut b = node(&g, engine);
    let mut branch = Vec::new();
    for i in 1..=3 {
        let block = mine_on(&b, "b", T0 + i * 1_000 + 500);
        b.submit_block(block.clone(), T0 + i * 1_000 + 500).unwrap();
        branch.push(block);
    }
    chain.ledger().store().fail_writes_from(2);
    let mut failed = None;
    for block in branch {
        if let Err(e) = chain.submit_block(block, T0 + 10_000) {
            failed = Some(e);
            break;
        }
    }
    let err = failed.expect("the switch fails");
    assert!(
        matches!(
            &err,
            ChainError::Ledger {
                source: LedgerError::ReorgUnrestored { .. },
                ..
            }
        ),
        "{err}"
    );
    let tip = chain.ledger().tip().unwrap();
    assert_eq!(
        tip.hash,
        old[0].hash(),
        "the ledger stopped after one revert"
    );
    assert_eq!(
        chain.best_hash(),
        tip.hash,
        "the best block is where the ledger is"
    );
    assert_eq!(chain.best_header().height, tip.height);
}
