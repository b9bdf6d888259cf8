//! The mempool: admission, conflicts and replacement by fee, ordering, bounds, and what
//! blocks do to it.

mod common;

use common::*;
use wes_core::*;
use wes_ledger::*;

fn pool() -> Mempool {
    Mempool::new(MempoolConfig::default(), config().fees)
}

fn bob_pays(fee: u128) -> SignedTransaction {
    sign(
        tx(
            vec![Input::spend(genesis_out(1))],
            vec![Output::asset(
                lock("carol"),
                TokenId::Native,
                1_000_000 - fee,
            )],
        ),
        &[&key("bob")],
    )
}

#[test]
fn admits_valid_transactions_once_and_refuses_invalid_ones() {
    let ledger = memory_ledger();
    let mut pool = pool();
    let ctx = next_ctx(&ledger);
    let t = alice_pays(lock("bob"), 100, 2_000);
    let id = pool.insert(&ledger, t.clone(), &ctx).unwrap();
    assert!(pool.contains(&id));
    assert!(matches!(
        pool.insert(&ledger, t, &ctx),
        Err(MempoolError::AlreadyKnown(_))
    ));
    let unsigned = sign(alice_pays(lock("bob"), 1, 2_000).tx, &[]);
    match pool.insert(&ledger, unsigned, &ctx) {
        Err(MempoolError::Invalid(e)) => {
            assert!(matches!(
                e.tx_error(),
                Some(TxError::MissingSignature { .. })
            ))
        }
        other => panic!("expected an invalid transaction, got {other:?}"),
    }
    assert_eq!(pool.len(), 1);
}

#[test]
fn a_conflict_replaces_only_by_paying_more() {
    let ledger = memory_ledger();
    let mut pool = pool();
    let ctx = next_ctx(&ledger);
    let first = pool
        .insert(&ledger, alice_pays(lock("bob"), 100, 2_000), &ctx)
        .unwrap();
    assert!(matches!(
        pool.insert(&ledger, alice_pays(lock("carol"), 100, 2_000), &ctx),
        Err(MempoolError::Conflict { with, .. }) if with == first
    ));
    let better = pool
        .insert(&ledger, alice_pays(lock("carol"), 100, 5_000), &ctx)
        .unwrap();
    assert!(!pool.contains(&first));
    assert!(pool.contains(&better));
    assert_eq!(pool.len(), 1);
}

#[test]
fn selection_is_by_priority_and_the_pool_is_bounded() {
    let ledger = memory_ledger();
    let ctx = next_ctx(&ledger);
    let mut pool = Mempool::new(
        MempoolConfig {
            max_txs: 2,
            max_bytes: 1 << 20,
        },
        config().fees,
    );
    let low = pool
        .insert(&ledger, alice_pays(lock("bob"), 100, 400), &ctx)
        .unwrap();
    let high = pool.insert(&ledger, bob_pays(9_000), &ctx).unwrap();
    let order: Vec<TxId> = pool.select(10, 1 << 20).iter().map(|p| p.tx.id()).collect();
    assert_eq!(order, vec![high, low]);
    // Full: a cheaper newcomer is refused, a better one evicts the cheapest.
    let carol_low = sign(
        tx(
            vec![Input::spend(genesis_out(2))],
            vec![Output::asset(lock("bob"), gold(), 500 - 450)],
        ),
        &[&key("carol")],
    );
    let carol_priority = pool.priority(&ledger.check_transaction(&carol_low, &ctx).unwrap());
    let low_priority = pool.get(&low).unwrap().priority;
    assert!(
        carol_priority > low_priority,
        "{carol_priority} vs {low_priority}"
    );
    let carol = pool.insert(&ledger, carol_low, &ctx).unwrap();
    assert!(!pool.contains(&low));
    assert!(pool.contains(&carol) && pool.contains(&high));
    assert!(matches!(
        pool.insert(&ledger, alice_pays(lock("bob"), 100, 390), &ctx),
        Err(MempoolError::Full(_))
    ));
    assert_eq!(pool.len(), 2);
    assert!(pool.select(1, 1 << 20).len() == 1);
}

#[test]
fn blocks_remove_what_they_confirm_or_conflict_with_and_reverts_bring_it_back() {
    let ledger = memory_ledger();
    let mut pool = pool();
    let ctx = next_ctx(&ledger);
    let confirmed = alice_pays(lock("bob"), 100, 2_000);
    let other = bob_pays(2_000);
    pool.insert(&ledger, other.clone(), &ctx).unwrap();
    // A transaction that the block's conflicting spend will invalidate.
    let mut conflicting_pool = Mempool::new(MempoolConfig::default(), config().fees);
    conflicting_pool
        .insert(&ledger, alice_pays(lock("carol"), 100, 2_000), &ctx)
        .unwrap();

    let block = mine(&ledger, vec![confirmed.clone()]);
    let next = next_ctx(&ledger);
    pool.block_applied(&ledger, &block, &next);
    conflicting_pool.block_applied(&ledger, &block, &next);
    assert!(pool.contains(&other.id()));
    assert!(conflicting_pool.is_empty());

    let reverted = ledger.revert_tip().unwrap();
    pool.block_reverted(&ledger, &reverted, &next_ctx(&ledger));
    assert!(pool.contains(&confirmed.id()));
    assert!(pool.contains(&other.id()));
    assert_eq!(pool.len(), 2);
}

#[test]
fn expired_transactions_leave_the_pool() {
    let ledger = memory_ledger();
    let mut pool = pool();
    let mut t = alice_pays(lock("bob"), 100, 2_000).tx;
    t.validity = ValidityWindow {
        not_before: 0,
        not_after: 1,
    };
    pool.insert(&ledger, sign(t, &[&key("alice")]), &next_ctx(&ledger))
        .unwrap();
    let block = mine(&ledger, vec![]);
    pool.block_applied(&ledger, &block, &next_ctx(&ledger));
    assert!(pool.is_empty());
}

/// Bob pays carol and reads (references) alice's genesis coin.
fn bob_reads_alice(fee: u128) -> SignedTransaction {
    sign(
        tx(
            vec![
                Input::spend(genesis_out(1)),
                Input::reference(genesis_out(0)),
            ],
            vec![Output::asset(
                lock("carol"),
                TokenId::Native,
                1_000_000 - fee,
            )],
        ),
        &[&key("bob")],
    )
}

#[test]
fn reading_and_spending_one_output_conflict() {
    // A block cannot hold a read of an output after its spend: the pool keeps at most one.
    let ledger = memory_ledger();
    let mut pool = pool();
    let ctx = next_ctx(&ledger);
    let reader = pool.insert(&ledger, bob_reads_alice(5_000), &ctx).unwrap();
    assert!(matches!(
        pool.insert(&ledger, alice_pays(lock("bob"), 100, 1_000), &ctx),
        Err(MempoolError::Conflict { with, .. }) if with == reader
    ));
    let spender = pool
        .insert(&ledger, alice_pays(lock("bob"), 100, 50_000), &ctx)
        .unwrap();
    assert!(
        !pool.contains(&reader),
        "the better spend replaced the read"
    );
    assert!(matches!(
        pool.insert(&ledger, bob_reads_alice(6_000), &ctx),
        Err(MempoolError::Conflict { with, .. }) if with == spender
    ));
    // Once the spender leaves, reads are admitted again.
    pool.remove(&spender);
    pool.insert(&ledger, bob_reads_alice(6_000), &ctx).unwrap();
    let block = ledger
        .build_block(
            pool.select(10, 1 << 20)
                .into_iter()
                .map(|p| p.tx.clone())
                .collect(),
            &lock("miner"),
            key("miner").public_key(),
            ctx.time_ms,
        )
        .unwrap();
    assert_eq!(block.transactions.len(), 2);
}

#[test]
fn a_reorganisation_is_one_pass_that_keeps_exactly_what_the_new_branch_lacks() {
    let ledger = memory_ledger();
    let mut pool = pool();
    let ctx = next_ctx(&ledger);
    let on_old_branch = alice_pays(lock("bob"), 100, 2_000);
    let on_new_branch = bob_pays(2_000);
    pool.insert(&ledger, on_new_branch.clone(), &ctx).unwrap();
    let old = mine(&ledger, vec![on_old_branch.clone()]);
    pool.block_applied(&ledger, &old, &next_ctx(&ledger));
    assert_eq!(pool.len(), 1);

    // The node switches to a branch holding the other transaction, two blocks long.
    ledger.revert_tip().unwrap();
    let new1 = mine(&ledger, vec![on_new_branch.clone()]);
    let new2 = mine(&ledger, vec![]);
    pool.reorganized(&ledger, &[old], &[new1, new2], &next_ctx(&ledger));
    assert!(
        pool.contains(&on_old_branch.id()),
        "reverted, still valid: back"
    );
    assert!(
        !pool.contains(&on_new_branch.id()),
        "mined on the new branch: gone"
    );
    assert_eq!(pool.len(), 1);
    assert_eq!(
        pool.ids().copied().collect::<Vec<_>>(),
        vec![on_old_branch.id()]
    );
}
