//! Fork choice: equal-work ties resolve by the XOR rule identically whatever the arrival
//! order; more work beats the tie-break; orphans connect; confirmations follow the chain.

mod common;

use common::*;
use wes_consensus::{ChainError, Checkpoints, ForkPolicy, Submitted, tie_key, xor_tie_break};
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

/// Two siblings of equal work, `(winner, loser)` by the XOR rule.
fn siblings(n: &Node) -> (Block, Block) {
    let a = mine_on(n, "alice", T0 + 1_000);
    let b = mine_on(n, "bob", T0 + 1_000);
    if xor_tie_break(&a.header, &b.header) == std::cmp::Ordering::Greater {
        (a, b)
    } else {
        (b, a)
    }
}

#[test]
fn a_late_sibling_does_not_replace_the_tip_at_equal_work() {
    let g = genesis(target_for_work(64));
    let engine = pow_engine(&g);
    let policy = ForkPolicy {
        tie_window_ms: Some(500),
        max_reorg_depth: None,
    };
    let maker = node(&g, engine.clone());
    let (winner, loser) = siblings(&maker);

    // The tie-break's winner arrives 2 s after the tip: the first seen stays.
    let mut late = node(&g, engine.clone()).with_policy(policy);
    late.submit_block(loser.clone(), T0 + 1_000).unwrap();
    assert_eq!(
        late.submit_block(winner.clone(), T0 + 3_000).unwrap(),
        Submitted::SideBranch
    );
    assert_eq!(late.best_hash(), loser.hash());
    assert_eq!(late.confirmations(&loser.hash()), Some(1));

    // Within the window the tie-break decides, as without the policy.
    let mut close = node(&g, engine.clone()).with_policy(policy);
    close.submit_block(loser.clone(), T0 + 1_000).unwrap();
    close.submit_block(winner.clone(), T0 + 1_400).unwrap();
    assert_eq!(close.best_hash(), winner.hash());

    // More work always wins, however late: a child of the late sibling.
    let mut on_winner = node(&g, engine.clone());
    on_winner.submit_block(winner.clone(), T0 + 1_000).unwrap();
    let child = mine_on(&on_winner, "carol", T0 + 2_000);
    late.submit_block(child.clone(), T0 + 9_000).unwrap();
    assert_eq!(late.best_hash(), child.hash());
    assert_eq!(late.ledger().tip().unwrap().hash, child.hash());

    // A restarted manager counts its tip as seen first: a later equal sibling stays aside.
    let mut restarted = node(&g, engine.clone());
    restarted.submit_block(loser.clone(), T0 + 1_000).unwrap();
    let mut restarted = wes_consensus::ChainManager::new(restarted.into_ledger(), engine.clone())
        .unwrap()
        .with_policy(policy);
    restarted.submit_block(winner, T0 + 1_100).unwrap();
    assert_eq!(restarted.best_hash(), loser.hash());
}

#[test]
fn reorganisations_stop_at_the_final_height_and_branches_below_it_are_dropped() {
    let g = genesis(target_for_work(64));
    let engine = pow_engine(&g);
    // The tie window keeps the side block below aside whatever its hash.
    let policy = ForkPolicy {
        tie_window_ms: Some(0),
        max_reorg_depth: Some(2),
    };
    let mut n = node(&g, engine.clone()).with_policy(policy);
    // A side block on genesis, kept while it could still win.
    let mut side = node(&g, engine.clone());
    let early = mine_on(&side, "mallory", T0 + 900);
    side.submit_block(early.clone(), T0 + 900).unwrap();

    let mut main = Vec::new();
    for t in 1..=4u64 {
        let b = mine_on(&n, "alice", T0 + t * 1_000);
        n.submit_block(b.clone(), T0 + t * 1_000).unwrap();
        main.push(b);
        if t == 1 {
            assert_eq!(
                n.submit_block(early.clone(), T0 + 1_500).unwrap(),
                Submitted::SideBranch
            );
            assert!(n.knows(&early.hash()));
        }
    }
    assert_eq!(n.finalized_height(), 2);
    // The branch leaving at genesis can no longer be followed: dropped from memory.
    assert!(!n.knows(&early.hash()));

    // A branch leaving below the final height is refused, whatever its work.
    let mut fork_low = node(&g, engine.clone());
    fork_low.submit_block(main[0].clone(), T0).unwrap();
    let low = mine_on(&fork_low, "mallory", T0 + 2_100);
    let refused = n.submit_block(low.clone(), T0 + 5_000).unwrap_err();
    assert!(
        matches!(
            refused,
            wes_consensus::ChainError::BeyondFinality {
                fork_height: 1,
                finalized: 2,
                ..
            }
        ),
        "{refused}"
    );
    assert_eq!(refused.fault(), Fault::Unavailable);
    assert!(!n.knows(&low.hash()));

    // A branch leaving at the final height or above still wins with more work.
    let mut fork_ok = node(&g, engine.clone());
    for (i, b) in main[..2].iter().enumerate() {
        fork_ok
            .submit_block(b.clone(), T0 + (i as u64 + 1) * 1_000)
            .unwrap();
    }
    let mut branch = Vec::new();
    for t in [3_100, 4_100, 5_100] {
        let b = mine_on(&fork_ok, "bob", T0 + t);
        fork_ok.submit_block(b.clone(), T0 + t).unwrap();
        branch.push(b);
    }
    for b in &branch {
        n.submit_block(b.clone(), T0 + 6_000).unwrap();
    }
    assert_eq!(n.best_hash(), fork_ok.best_hash());
    assert_eq!(n.ledger().tip().unwrap().hash, fork_ok.best_hash());
    assert_eq!(n.finalized_height(), 3);
}

#[test]
fn checkpoints_refuse_other_blocks_at_their_height_and_make_what_they_pass_final() {
    let g = genesis(target_for_work(64));
    let engine = pow_engine(&g);
    // The real chain, three blocks, and a rival branch from genesis with more work.
    let mut real = node(&g, engine.clone());
    let mut main = Vec::new();
    for t in 1..=3u64 {
        let b = mine_on(&real, "alice", T0 + t * 1_000);
        real.submit_block(b.clone(), T0 + t * 1_000).unwrap();
        main.push(b);
    }
    let mut rival = node(&g, engine.clone());
    let mut branch = Vec::new();
    for t in 1..=5u64 {
        let b = mine_on(&rival, "mallory", T0 + t * 1_000 + 1);
        rival.submit_block(b.clone(), T0 + t * 1_000 + 1).unwrap();
        branch.push(b);
    }
    let checkpoints: Checkpoints = [(2, main[1].hash())].into_iter().collect();

    // A new node syncing: the rival's block at the checkpoint's height is refused, the
    // rival's first block is not (nothing says it is wrong yet), and the real chain wins
    // although the rival branch carries more work.
    let mut fresh = node(&g, engine.clone())
        .with_checkpoints(checkpoints.clone())
        .unwrap();
    fresh.submit_block(branch[0].clone(), T0 + 1_001).unwrap();
    let refused = fresh
        .submit_block(branch[1].clone(), T0 + 2_001)
        .unwrap_err();
    assert!(
        matches!(refused, ChainError::Checkpoint { height: 2, expected, .. } if expected == main[1].hash()),
        "{refused}"
    );
    assert_eq!(refused.fault(), Fault::Input);
    // What builds on the refused block never connects.
    for b in &branch[2..] {
        assert!(matches!(
            fresh.submit_block(b.clone(), T0 + 6_000),
            Ok(Submitted::Orphan { .. })
        ));
    }
    for b in &main {
        fresh.submit_block(b.clone(), T0 + 6_000).unwrap();
    }
    assert_eq!(fresh.best_hash(), real.best_hash());
    // Passed, the checkpoint is final: a branch leaving below it is refused.
    assert_eq!(fresh.finalized_height(), 2);
    let late = mine_on(&node(&g, engine.clone()), "mallory", T0 + 2_500);
    assert!(matches!(
        fresh.submit_block(late, T0 + 7_000),
        Err(ChainError::BeyondFinality {
            fork_height: 0,
            finalized: 2,
            ..
        })
    ));

    // A node whose own chain contradicts a checkpoint is told so at start.
    let wrong: Checkpoints = [(2, branch[1].hash())].into_iter().collect();
    let err = real.with_checkpoints(wrong).unwrap_err();
    assert!(
        matches!(err, ChainError::Checkpoint { height: 2, hash, .. } if hash == main[1].hash()),
        "{err}"
    );
}

#[test]
fn the_applied_chains_transactions_are_left_to_the_ledgers_index() {
    let g = genesis(target_for_work(64));
    let engine = pow_engine(&g);
    let mut n = node(&g, engine.clone());
    let other = node(&g, engine);
    let mut coinbases = Vec::new();
    for t in 1..=3u64 {
        let b = mine_on(&n, "m", T0 + t * 1_000);
        coinbases.push(b.transactions[0].id());
        n.submit_block(b, T0 + t * 1_000).unwrap();
    }
    // Memory does not grow with the history: the ledger answers for applied blocks.
    assert_eq!(n.tracked_transactions(), 0);
    assert_eq!(n.tx_confirmations(&coinbases[0]), Some(3));
    assert_eq!(n.tx_confirmations(&coinbases[2]), Some(1));
    // A block off the applied chain is tracked in memory.
    let side = mine_on(&other, "s", T0 + 1_500);
    assert_eq!(
        n.submit_block(side, T0 + 1_500).unwrap(),
        Submitted::SideBranch
    );
    assert_eq!(n.tracked_transactions(), 1);
}
