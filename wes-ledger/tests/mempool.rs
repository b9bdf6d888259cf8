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
            ..MempoolConfig::default()
        },
        config().fees,
    );
    let low = pool
        .insert(&ledger, alice_pays(lock("bob"), 100, 400), &ctx)
        .unwrap();
    let high = pool.insert(&ledger, bob_pays(9_000), &ctx).unwrap();
    let order: Vec<TxId> = pool
        .select(BlockBudget::new(10, 1 << 20))
        .iter()
        .map(|p| p.tx.id())
        .collect();
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
    assert!(pool.select(BlockBudget::new(1, 1 << 20)).len() == 1);
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
fn a_replacement_must_outbid_by_the_bump() {
    // Paying one unit more than the pooled transaction used to replace it: every peer then
    // verified and relayed each such step. Now each step costs 10 % more.
    let ledger = memory_ledger();
    let mut pool = pool();
    let ctx = next_ctx(&ledger);
    let first = pool
        .insert(&ledger, alice_pays(lock("bob"), 100, 2_000), &ctx)
        .unwrap();
    for fee in [2_001, 2_100, 2_199] {
        let refused = pool.insert(&ledger, alice_pays(lock("carol"), 100, fee), &ctx);
        assert!(
            matches!(&refused, Err(MempoolError::Conflict { with, .. }) if *with == first),
            "fee {fee}: {refused:?}"
        );
    }
    // The two transactions are the same size, so priority follows the fee: 10 % more is
    // enough.
    let second = pool
        .insert(&ledger, alice_pays(lock("carol"), 100, 2_200), &ctx)
        .unwrap();
    assert!(pool.contains(&second) && !pool.contains(&first));

    // The bump is the pool's to set; 0 % still asks for a strictly higher priority.
    let mut lenient = Mempool::new(
        MempoolConfig {
            replacement_bump_percent: 0,
            ..MempoolConfig::default()
        },
        config().fees,
    );
    lenient
        .insert(&ledger, alice_pays(lock("bob"), 100, 2_000), &ctx)
        .unwrap();
    assert!(
        lenient
            .insert(&ledger, alice_pays(lock("carol"), 100, 2_000), &ctx)
            .is_err()
    );
    lenient
        .insert(&ledger, alice_pays(lock("carol"), 100, 2_001), &ctx)
        .unwrap();
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
            pool.select(BlockBudget::new(10, 1 << 20))
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

/// Alice pays bob 1 in each of `fees.len()` transactions, each spending the change of the
/// one before: a wallet sending several transactions before a block confirms any.
fn alice_chain(fees: &[u128]) -> Vec<SignedTransaction> {
    let mut out: Vec<SignedTransaction> = Vec::new();
    let mut coin = (genesis_out(0), 1_000_000u128);
    for fee in fees {
        let change = coin.1 - 1 - fee;
        let t = sign(
            tx(
                vec![Input::spend(coin.0)],
                vec![
                    Output::asset(lock("bob"), TokenId::Native, 1),
                    Output::asset(lock("alice"), TokenId::Native, change),
                ],
            ),
            &[&key("alice")],
        );
        coin = (t.tx.outpoint(1), change);
        out.push(t);
    }
    out
}

fn ids(txs: &[SignedTransaction]) -> Vec<TxId> {
    txs.iter().map(|t| t.id()).collect()
}

fn selected(pool: &Mempool) -> Vec<TxId> {
    pool.select(BlockBudget::UNLIMITED)
        .iter()
        .map(|p| p.tx.id())
        .collect()
}

#[test]
fn a_chain_of_dependent_transactions_enters_one_block_parents_first() {
    let ledger = memory_ledger();
    let mut pool = pool();
    let ctx = next_ctx(&ledger);
    // Later transactions pay more, so priority order alone would put children first.
    let fees: Vec<u128> = (0..30).map(|i| 2_000 + 100 * i).collect();
    let chain = alice_chain(&fees);
    for t in &chain {
        pool.insert(&ledger, t.clone(), &ctx).unwrap();
    }
    assert_eq!(pool.len(), 30);
    assert_eq!(pool.parents(&chain[5].id()), &[chain[4].id()]);
    assert_eq!(
        selected(&pool),
        ids(&chain),
        "every parent before its child"
    );

    // The wallet's view: the genesis coin is being spent, the last change is pending.
    let alice = lock("alice").address();
    assert_eq!(pool.spender(&genesis_out(0)), Some(chain[0].id()));
    let pending = pool.unspent_outputs_of(&alice);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].0, chain[29].tx.outpoint(1));

    let block = mine(
        &ledger,
        pool.select(BlockBudget::UNLIMITED)
            .into_iter()
            .map(|p| p.tx.clone())
            .collect(),
    );
    assert_eq!(block.transactions.len(), 31);
    pool.block_applied(&ledger, &block, &next_ctx(&ledger));
    assert!(pool.is_empty());
    assert!(pool.unspent_outputs_of(&alice).is_empty());
}

#[test]
fn a_paying_child_brings_its_parent_into_the_block() {
    let ledger = memory_ledger();
    let mut pool = pool();
    let ctx = next_ctx(&ledger);
    let chain = alice_chain(&[1_000, 90_000]);
    let other = bob_pays(5_000);
    for t in chain.iter().chain([&other]) {
        pool.insert(&ledger, t.clone(), &ctx).unwrap();
    }
    let order: Vec<TxId> = pool
        .select(BlockBudget::new(2, 1 << 20))
        .iter()
        .map(|p| p.tx.id())
        .collect();
    assert_eq!(
        order,
        ids(&chain),
        "the child's package goes first, parent ahead"
    );
    // A package that does not fit is passed over for what does.
    let order: Vec<TxId> = pool
        .select(BlockBudget::new(1, 1 << 20))
        .iter()
        .map(|p| p.tx.id())
        .collect();
    assert_eq!(order, vec![other.id()]);
}

#[test]
fn a_parent_leaves_with_its_descendants_and_is_replaced_only_by_outpaying_them() {
    let ledger = memory_ledger();
    let mut pool = pool();
    let ctx = next_ctx(&ledger);
    let chain = alice_chain(&[2_000, 2_000, 60_000]);
    for t in &chain {
        pool.insert(&ledger, t.clone(), &ctx).unwrap();
    }
    // Pays more than the parent but less than a descendant: refused.
    assert!(matches!(
        pool.insert(&ledger, alice_pays(lock("carol"), 100, 10_000), &ctx),
        Err(MempoolError::Conflict { with, .. }) if with == chain[2].id()
    ));
    assert_eq!(pool.len(), 3);
    // Outpaying all of them replaces the three.
    let better = pool
        .insert(&ledger, alice_pays(lock("carol"), 100, 200_000), &ctx)
        .unwrap();
    assert_eq!(pool.ids().copied().collect::<Vec<_>>(), vec![better]);

    // Removing a parent removes what depends on it.
    let mut pool = self::pool();
    for t in &chain {
        pool.insert(&ledger, t.clone(), &ctx).unwrap();
    }
    let gone: Vec<TxId> = pool
        .remove(&chain[1].id())
        .iter()
        .map(|p| p.tx.id())
        .collect();
    assert_eq!(gone, vec![chain[1].id(), chain[2].id()]);
    assert_eq!(pool.ids().copied().collect::<Vec<_>>(), vec![chain[0].id()]);
    assert!(pool.output(&chain[1].tx.outpoint(1)).is_none());
}

#[test]
fn a_transaction_cannot_replace_its_own_ancestor() {
    let ledger = memory_ledger();
    let mut pool = pool();
    let ctx = next_ctx(&ledger);
    let chain = alice_chain(&[2_000]);
    pool.insert(&ledger, chain[0].clone(), &ctx).unwrap();
    // Spends the parent's change and, again, the genesis coin the parent spends.
    let greedy = sign(
        tx(
            vec![
                Input::spend(chain[0].tx.outpoint(1)),
                Input::spend(genesis_out(0)),
            ],
            vec![Output::asset(lock("bob"), TokenId::Native, 1_000)],
        ),
        &[&key("alice")],
    );
    match pool.insert(&ledger, greedy, &ctx) {
        Err(MempoolError::Conflict { with, .. }) => assert_eq!(with, chain[0].id()),
        other => panic!("expected a conflict with the ancestor, got {other:?}"),
    }
}

#[test]
fn confirming_a_parent_keeps_its_children_and_reverting_it_restores_the_link() {
    let ledger = memory_ledger();
    let mut pool = pool();
    let ctx = next_ctx(&ledger);
    let chain = alice_chain(&[2_000, 2_000, 2_000]);
    for t in &chain {
        pool.insert(&ledger, t.clone(), &ctx).unwrap();
    }
    let block = mine(&ledger, vec![chain[0].clone()]);
    pool.block_applied(&ledger, &block, &next_ctx(&ledger));
    assert_eq!(pool.len(), 2);
    assert!(
        pool.parents(&chain[1].id()).is_empty(),
        "its input is confirmed"
    );
    assert_eq!(selected(&pool), ids(&chain[1..]));

    let reverted = ledger.revert_tip().unwrap();
    pool.block_reverted(&ledger, &reverted, &next_ctx(&ledger));
    assert_eq!(
        pool.len(),
        3,
        "the reverted parent is back, ahead of its children"
    );
    assert_eq!(pool.parents(&chain[1].id()), &[chain[0].id()]);
    assert_eq!(selected(&pool), ids(&chain));

    // A conflicting spend in a block removes the parent and everything after it.
    let block = mine(&ledger, vec![alice_pays(lock("carol"), 5, 2_000)]);
    pool.block_applied(&ledger, &block, &next_ctx(&ledger));
    assert!(pool.is_empty());
}

#[test]
fn chains_are_bounded_in_ancestors_and_descendants() {
    let ledger = memory_ledger();
    let ctx = next_ctx(&ledger);
    let chain = alice_chain(&[2_000; 4]);
    let limited = |ancestors, descendants| {
        Mempool::new(
            MempoolConfig {
                max_ancestors: ancestors,
                max_descendants: descendants,
                ..MempoolConfig::default()
            },
            config().fees,
        )
    };
    let mut pool = limited(2, 100);
    for t in &chain[..3] {
        pool.insert(&ledger, t.clone(), &ctx).unwrap();
    }
    assert!(matches!(
        pool.insert(&ledger, chain[3].clone(), &ctx),
        Err(MempoolError::TooManyAncestors {
            ancestors: 3,
            limit: 2,
            ..
        })
    ));
    let mut pool = limited(100, 2);
    for t in &chain[..3] {
        pool.insert(&ledger, t.clone(), &ctx).unwrap();
    }
    assert!(matches!(
        pool.insert(&ledger, chain[3].clone(), &ctx),
        Err(MempoolError::TooManyDescendants { ancestor, limit: 2, .. }) if ancestor == chain[0].id()
    ));
}

#[test]
fn a_transaction_checked_against_a_parent_that_left_is_refused() {
    let ledger = memory_ledger();
    let mut pool = pool();
    let ctx = next_ctx(&ledger);
    let chain = alice_chain(&[2_000, 2_000]);
    pool.insert(&ledger, chain[0].clone(), &ctx).unwrap();
    // A node checks the child without holding the pool...
    let unconfirmed = pool.unconfirmed_inputs(&chain[1]);
    assert_eq!(unconfirmed.len(), 1);
    let summary = ledger
        .check_transaction_with(&chain[1], &ctx, &unconfirmed)
        .unwrap();
    // ... while the parent is removed.
    pool.remove(&chain[0].id());
    assert!(matches!(
        pool.insert_checked::<LedgerError>(chain[1].clone(), summary, &unconfirmed),
        Err(MempoolError::ParentGone { outpoint, .. }) if outpoint == chain[0].tx.outpoint(1)
    ));
    // Without the pool's outputs the ledger refuses the child outright.
    assert!(ledger.check_transaction(&chain[1], &ctx).is_err());
}

#[test]
fn eviction_spares_a_cheap_parent_whose_child_pays_more_than_the_newcomer() {
    let ledger = memory_ledger();
    let ctx = next_ctx(&ledger);
    let mut pool = Mempool::new(
        MempoolConfig {
            max_txs: 2,
            ..MempoolConfig::default()
        },
        config().fees,
    );
    let chain = alice_chain(&[1_000, 90_000]);
    for t in &chain {
        pool.insert(&ledger, t.clone(), &ctx).unwrap();
    }
    // Pays more than the parent, less than the child: evicting the parent would take the
    // child with it.
    assert!(matches!(
        pool.insert(&ledger, bob_pays(5_000), &ctx),
        Err(MempoolError::Full(_))
    ));
    assert_eq!(pool.len(), 2);
    // Outpaying both evicts the pair... but room is needed for one: the parent goes with
    // its child.
    let rich = pool.insert(&ledger, bob_pays(300_000), &ctx).unwrap();
    assert_eq!(pool.ids().copied().collect::<Vec<_>>(), vec![rich]);
}

#[test]
fn blocks_and_reorganisations_do_not_verify_pooled_proofs_again() {
    let (ledger, count) = counting_ledger();
    let mut pool = pool();
    let mut call = tx(
        vec![Input::spend(genesis_out(6))],
        vec![Output::asset(lock("bob"), TokenId::Native, 10_000 - 5_000)],
    );
    call.execution = Some(execution(contract("app")));
    let call = sign(call, &[]);
    pool.insert(&ledger, call.clone(), &next_ctx(&ledger))
        .unwrap();
    assert_eq!(count.get(), 1, "verified at admission");

    // Ten blocks that leave it alone, and a reorganisation of the last three.
    let mut blocks = Vec::new();
    for i in 0..10u128 {
        let block = mine(&ledger, vec![alice_chain_step(i)]);
        pool.block_applied(&ledger, &block, &next_ctx(&ledger));
        blocks.push(block);
    }
    let reverted: Vec<Block> = (0..3).map(|_| ledger.revert_tip().unwrap()).collect();
    pool.reorganized(&ledger, &reverted, &[], &next_ctx(&ledger));
    assert!(pool.contains(&call.id()));
    assert_eq!(count.get(), 1, "a moving tip costs the pool no proof");

    // Still checked: a block that spends its input removes it.
    let mut rival = tx(
        vec![Input::spend(genesis_out(6))],
        vec![Output::asset(
            lock("carol"),
            TokenId::Native,
            10_000 - 5_000,
        )],
    );
    rival.execution = Some(execution(contract("app")));
    let block = mine(&ledger, vec![sign(rival, &[])]);
    pool.block_applied(&ledger, &block, &next_ctx(&ledger));
    assert!(!pool.contains(&call.id()));
}

/// Alice's `i`-th transfer in a chain of her change, one per block (fee 2,000 each).
fn alice_chain_step(i: u128) -> SignedTransaction {
    let fee = 2_000;
    let input = if i == 0 {
        genesis_out(0)
    } else {
        alice_chain_step(i - 1).tx.outpoint(1)
    };
    let left = 1_000_000 - (i + 1) * (100 + fee);
    sign(
        tx(
            vec![Input::spend(input)],
            vec![
                Output::asset(lock("bob"), TokenId::Native, 100),
                Output::asset(lock("alice"), TokenId::Native, left),
            ],
        ),
        &[&key("alice")],
    )
}
