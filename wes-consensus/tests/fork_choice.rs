//! Fork choice: equal-work ties resolve by the XOR rule identically whatever the arrival
//! order; more work beats the tie-break; orphans connect; confirmations follow the chain.

mod common;

use common::*;
use wes_consensus::{Submitted, tie_key, xor_tie_break};
use wes_core::*;

#[test]
fn equal_work_siblings_resolve_identically_in_any_arrival_order() {
    let g = genesis(target_for_work(64));
    let engine = pow_engine(&g);
    let maker = node(&g, engine.clone());
    let a = mine_on(&maker, "alice", T0 + 1_000);
    let b = mine_on(&maker, "bob", T0 + 1_000);
    assert_eq!(engine.work(&a.header), engine.work(&b.header));
    let expected = if tie_key(&a.header) < tie_key(&b.header) {
        a.hash()
    } else {
        b.hash()
    };
    assert_eq!(
        xor_tie_break(&a.header, &b.header),
        xor_tie_break(&b.header, &a.header).reverse()
    );

    let mut first_a = node(&g, engine.clone());
    first_a.submit_block(a.clone(), T0 + 1_000).unwrap();
    first_a.submit_block(b.clone(), T0 + 1_000).unwrap();
    let mut first_b = node(&g, engine.clone());
    first_b.submit_block(b.clone(), T0 + 1_000).unwrap();
    first_b.submit_block(a.clone(), T0 + 1_000).unwrap();
    assert_eq!(first_a.best_hash(), expected);
    assert_eq!(first_b.best_hash(), expected);
    assert_eq!(first_a.ledger().tip().unwrap().hash, expected);
}

#[test]
fn more_work_beats_the_tie_break_and_reorgs_the_ledger() {
    let g = genesis(target_for_work(64));
    let engine = pow_engine(&g);
    let mut n = node(&g, engine.clone());
    let mut other = node(&g, engine.clone());
    let a1 = mine_on(&n, "alice", T0 + 1_000);
    n.submit_block(a1.clone(), T0 + 1_000).unwrap();
    let b1 = mine_on(&other, "bob", T0 + 1_100);
    other.submit_block(b1.clone(), T0 + 1_100).unwrap();
    let b2 = mine_on(&other, "bob", T0 + 2_000);
    other.submit_block(b2.clone(), T0 + 2_000).unwrap();

    let coinbase_a1 = a1.transactions[0].id();
    assert_eq!(n.confirmations(&a1.hash()), Some(1));
    // b2 arrives before its parent: an orphan.
    assert_eq!(
        n.submit_block(b2.clone(), T0 + 2_000).unwrap(),
        Submitted::Orphan {
            missing_parent: b1.hash()
        }
    );
    let out = n.submit_block(b1.clone(), T0 + 2_000).unwrap();
    assert_eq!(
        out,
        Submitted::Reorganized {
            from: a1.hash(),
            to: b2.hash(),
            fork_point: a1.header.parent,
            reverted: 1
        }
    );
    assert_eq!(n.ledger().tip().unwrap().hash, b2.hash());
    assert_eq!(n.confirmations(&a1.hash()), None);
    assert_eq!(n.confirmations(&b1.hash()), Some(2));
    assert!(n.is_tx_final(&b1.transactions[0].id(), 2));
    // a1's coinbase is identical to b1's (no fees, same height): both blocks hold it.
    assert_eq!(n.tx_confirmations(&coinbase_a1), Some(2));
    // The losing branch can win again: extend it by two.
    let mut side = node(&g, engine.clone());
    side.submit_block(a1.clone(), T0 + 1_000).unwrap();
    for t in [3_000, 4_000] {
        let b = mine_on(&side, "carol", T0 + t);
        side.submit_block(b.clone(), T0 + t).unwrap();
        n.submit_block(b, T0 + t).unwrap();
    }
    assert_eq!(n.best_hash(), side.best_hash());
    assert_eq!(n.ledger().tip().unwrap().hash, side.best_hash());
}

#[test]
fn a_restarted_manager_reloads_the_applied_chain() {
    let g = genesis(target_for_work(64));
    let engine = pow_engine(&g);
    let mut n = node(&g, engine.clone());
    let mut coinbases = Vec::new();
    for t in 1..=3u64 {
        let b = mine_on(&n, "m", T0 + t * 1_000);
        coinbases.push(b.transactions[0].id());
        n.submit_block(b, T0 + t * 1_000).unwrap();
    }
    let best = n.best_hash();
    let work = n.cumulative_work(&best);
    let ledger = n.into_ledger();
    let again = wes_consensus::ChainManager::new(ledger, engine).unwrap();
    assert_eq!(again.best_hash(), best);
    assert_eq!(again.cumulative_work(&best), work);
    // Transactions of blocks applied before the restart are found through the ledger's
    // index (the manager read no block body).
    assert_eq!(again.tx_confirmations(&coinbases[0]), Some(3));
    assert_eq!(again.tx_confirmations(&coinbases[2]), Some(1));
    assert!(again.is_tx_final(&coinbases[1], 2));
}
