//! The persistent indexes (unspent outputs by owner, the block of each transaction) equal a
//! rebuild from the chain after every apply, revert and reorganisation; they survive a
//! reopen; and a store written before they existed gets them on open.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;
use wes_core::*;
use wes_ledger::*;

const NAMES: [&str; 4] = ["alice", "bob", "carol", "miner"];

/// Unspent outputs by owner, and the block and height of each transaction.
type Indexes = (
    BTreeMap<Address, BTreeSet<OutPoint>>,
    BTreeMap<TxId, (BlockHash, u64)>,
);

/// The indexes rebuilt the slow way: every output of the applied chain that is still
/// unspent, by owner; every transaction of the applied chain, by block.
fn rebuilt<S: KvStore>(ledger: &EutxoLedger<S>) -> Indexes {
    let mut owners: BTreeMap<Address, BTreeSet<OutPoint>> = BTreeMap::new();
    let mut locations = BTreeMap::new();
    for height in 0..=ledger.tip().unwrap().height {
        let hash = ledger.hash_at(height).unwrap().unwrap();
        let block = ledger.block(&hash).unwrap().unwrap();
        for tx in &block.transactions {
            locations.insert(tx.id(), (hash, height));
            for i in 0..tx.tx.outputs.len() as u32 {
                let op = tx.tx.outpoint(i);
                if let Some(out) = ledger.unspent(&op).unwrap() {
                    owners.entry(out.lock.address()).or_default().insert(op);
                }
            }
        }
    }
    (owners, locations)
}

fn assert_indexes_match<S: KvStore>(ledger: &EutxoLedger<S>, gone: &[TxId]) {
    let (owners, locations) = rebuilt(ledger);
    for name in NAMES {
        let address = lock(name).address();
        let indexed: BTreeSet<OutPoint> = ledger
            .outputs_of(&address)
            .unwrap()
            .into_iter()
            .map(|(op, out)| {
                assert_eq!(out.lock.address(), address);
                op
            })
            .collect();
        assert_eq!(
            indexed,
            owners.get(&address).cloned().unwrap_or_default(),
            "{name}"
        );
    }
    for (txid, at) in &locations {
        assert_eq!(ledger.transaction_location(txid).unwrap(), Some(*at));
    }
    for txid in gone {
        assert_eq!(ledger.transaction_location(txid).unwrap(), None, "{txid}");
    }
}

/// A chain of a few blocks moving coins between the names, with reverts and a reorg.
fn exercise<S: KvStore>(ledger: &EutxoLedger<S>) {
    assert_indexes_match(ledger, &[]);
    let first = mine(ledger, vec![alice_pays(lock("bob"), 100, 2_000)]);
    assert_indexes_match(ledger, &[]);
    // Bob spends the coin he just got together with his genesis coin.
    let bob_spends = sign(
        tx(
            vec![
                Input::spend(first.transactions[1].tx.outpoint(0)),
                Input::spend(genesis_out(1)),
            ],
            vec![
                Output::asset(lock("carol"), TokenId::Native, 500_000),
                Output::asset(lock("bob"), TokenId::Native, 1_000_100 - 500_000 - 3_000),
            ],
        ),
        &[&key("bob")],
    );
    let second = mine(ledger, vec![bob_spends.clone()]);
    assert_indexes_match(ledger, &[]);
    // Reverted: bob's coins come back, carol's go, the transaction has no block.
    ledger.revert_tip().unwrap();
    assert_indexes_match(ledger, &[bob_spends.id(), second.transactions[0].id()]);
    // A reorganisation to another branch of two blocks.
    let tip = ledger.tip().unwrap().hash;
    let other = build(ledger, vec![]);
    ledger.apply_block(&other).unwrap();
    let third = mine(ledger, vec![bob_spends.clone()]);
    ledger.revert_tip().unwrap();
    ledger.revert_tip().unwrap();
    ledger.reorg(&tip, &[other, third]).unwrap();
    assert_indexes_match(ledger, &[second.transactions[0].id()]);
}

#[test]
fn the_indexes_equal_a_rebuild_through_applies_reverts_and_reorgs() {
    exercise(&memory_ledger());
}

fn open(dir: &std::path::Path) -> EutxoLedger<SledStore> {
    EutxoLedger::open(
        SledStore::open(dir).unwrap(),
        config(),
        &genesis(),
        verifiers(),
    )
    .unwrap()
}

#[test]
fn the_indexes_survive_a_reopen_and_old_stores_get_them_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    exercise(&ledger);
    let before = rebuilt(&ledger);
    drop(ledger);
    let ledger = open(dir.path());
    assert_eq!(rebuilt(&ledger), before);
    assert_indexes_match(&ledger, &[]);
    drop(ledger);

    // A store written before the indexes existed: no `I`, `O`, `L` or `h` keys.
    let tip = ledger_tip(dir.path());
    {
        let store = SledStore::open(dir.path()).unwrap();
        let mut batch = Batch::new();
        for prefix in [&b"O"[..], b"L", b"I", b"h"] {
            for (key, _) in store.scan_prefix(prefix).unwrap() {
                batch.delete(key);
            }
        }
        assert!(!batch.is_empty());
        store.apply(batch).unwrap();
    }
    let ledger = open(dir.path());
    assert_indexes_match(&ledger, &[]);
    let alice = ledger.outputs_of(&lock("alice").address()).unwrap();
    assert_eq!(alice.len(), 1, "alice's change");
    // Headers are read from their own table again, the same as the blocks'.
    for height in 0..=tip {
        let hash = ledger.hash_at(height).unwrap().unwrap();
        assert_eq!(
            ledger.header(&hash).unwrap().unwrap(),
            ledger.block(&hash).unwrap().unwrap().header
        );
    }
}

/// The applied chain's height of the ledger in `dir` (opened and closed).
fn ledger_tip(dir: &Path) -> u64 {
    open(dir).tip().unwrap().height
}
