//! A reorganisation that fails half-way leaves the ledger consistent:
//! - when reverting the old branch fails (an undo record cannot be read), the blocks
//!   already reverted are applied again: the old chain is the chain, and the same
//!   reorganisation succeeds once the store reads again;
//! - when even that is impossible (the store stopped writing), the error says so and names
//!   the tip the ledger stopped at, which is what `tip()` reports.

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use wes_core::*;
use wes_ledger::*;

/// A memory store that can be told to fail reading one key, or every write from the n-th on.
#[derive(Default)]
struct FailingStore {
    inner: MemoryStore,
    unreadable: Mutex<Option<Vec<u8>>>,
    writes: AtomicUsize,
    fail_writes_from: AtomicUsize,
}

impl FailingStore {
    /// Fails reads of `key` (`None`: none).
    fn unreadable(&self, key: Option<Vec<u8>>) {
        *self.unreadable.lock().unwrap() = key;
    }

    /// Fails the `n`-th write from now and every later one.
    fn fail_writes_from(&self, n: usize) {
        self.writes.store(0, Ordering::SeqCst);
        self.fail_writes_from.store(n, Ordering::SeqCst);
    }
}

impl KvStore for FailingStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if self.unreadable.lock().unwrap().as_deref() == Some(key) {
            return Err(StoreError::Backend("read failed (injected)".into()));
        }
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

fn failing_ledger() -> EutxoLedger<FailingStore> {
    EutxoLedger::open(FailingStore::default(), config(), &genesis(), verifiers()).unwrap()
}

/// Mines `n` blocks on `ledger`, the first holding `first`.
fn mine_n<S: KvStore>(
    ledger: &EutxoLedger<S>,
    n: usize,
    mut first: Vec<SignedTransaction>,
) -> Vec<Block> {
    (0..n)
        .map(|_| mine(ledger, std::mem::take(&mut first)))
        .collect()
}

/// The branch that replaces the old chain: longer, with Alice's payment in its first block.
fn other_branch(n: usize) -> Vec<Block> {
    mine_n(
        &memory_ledger(),
        n,
        vec![alice_pays(lock("bob"), 100, 2_000)],
    )
}

/// Where the ledger keeps a block's undo record (`R ‖ hash`, see `store/tables.rs`).
fn undo_key(block: &Block) -> Vec<u8> {
    [b"R".as_slice(), block.hash().as_bytes()].concat()
}

#[test]
fn a_reorganisation_that_fails_while_reverting_restores_the_old_chain() {
    let ledger = failing_ledger();
    let genesis_hash = ledger.tip().unwrap().hash;
    let old = mine_n(&ledger, 3, vec![]);
    let before = ledger.tip().unwrap();
    let branch = other_branch(4);

    // The old tip reverts; its parent's undo record cannot be read.
    ledger.store().unreadable(Some(undo_key(&old[1])));
    let err = ledger.reorg(&genesis_hash, &branch).unwrap_err();
    assert!(
        matches!(err, LedgerError::Store(StoreError::Backend(_))),
        "the store's error: {err}"
    );
    assert_eq!(
        ledger.tip().unwrap(),
        before,
        "the old chain is the chain again"
    );
    for (height, block) in old.iter().enumerate() {
        assert_eq!(
            ledger.hash_at(height as u64 + 1).unwrap(),
            Some(block.hash())
        );
    }
    assert!(
        ledger.unspent(&genesis_out(0)).unwrap().is_some(),
        "Alice's coin is unspent on the old chain"
    );

    // The store reads again: the same reorganisation goes through.
    ledger.store().unreadable(None);
    let tip = ledger.reorg(&genesis_hash, &branch).unwrap();
    assert_eq!(tip.hash, branch[3].hash());
    assert!(ledger.unspent(&genesis_out(0)).unwrap().is_none());
}

#[test]
fn a_reorganisation_that_cannot_restore_names_the_tip_it_stopped_at() {
    let ledger = failing_ledger();
    let genesis_hash = ledger.tip().unwrap().hash;
    let old = mine_n(&ledger, 2, vec![]);
    let branch = other_branch(3);

    // Write 1 reverts the old tip; write 2 (its parent's revert) fails, and with it every
    // later write, so the old tip cannot be applied again.
    ledger.store().fail_writes_from(2);
    let err = ledger.reorg(&genesis_hash, &branch).unwrap_err();
    match &err {
        LedgerError::ReorgUnrestored {
            error,
            restore,
            tip,
        } => {
            assert!(matches!(
                **error,
                LedgerError::Store(StoreError::Backend(_))
            ));
            assert!(matches!(**restore, LedgerError::Store(_)), "{restore}");
            assert_eq!(*tip, old[0].hash(), "stopped after reverting one block");
        }
        other => panic!("expected ReorgUnrestored, got {other}"),
    }
    assert_eq!(err.fault(), Fault::Local);
    assert_eq!(ledger.tip().unwrap().hash, old[0].hash(), "tip() agrees");
}
