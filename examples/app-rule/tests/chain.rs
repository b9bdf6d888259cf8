//! The chain's own ledger rule, run by the library: payments to addresses off the list are
//! refused with the rule's reason, only the governance key changes the list, the list
//! survives a restart, and reverting blocks restores it.

use std::sync::Arc;

use wes_app_rule::rule::{AllowListLedger, AppError};
use wes_app_rule::{coin_of, genesis, governance, land, memo, open, transfer};
use wes_core::{Ledger, Lock, SecretKey};
use wes_ledger::{EutxoLedger, LedgerConfig, MemoryStore};
use wes_node::ChainLedger;

#[test]
fn only_governance_opens_the_list_and_it_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path()).unwrap();
    let (alice, bob, gov) = (SecretKey::dev("alice"), SecretKey::dev("bob"), governance());
    let bob_lock = Lock::key(bob.public_key());
    let bob_at = bob_lock.address();

    let pay_bob = |node: &wes_app_rule::AppNode| {
        let coin = coin_of(node, &alice).unwrap();
        land(
            node,
            transfer(&alice, coin, &bob_at, bob_lock.clone(), 1_000),
        )
    };
    let err = pay_bob(&node).unwrap_err().to_string();
    assert!(err.contains("not on the allow-list"), "{err}");

    // Alice cannot allow bob: her memo spends no governance output.
    let err = land(
        &node,
        memo(
            &alice,
            coin_of(&node, &alice).unwrap(),
            &format!("allow {bob_at}"),
        ),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("without spending a governance output"),
        "{err}"
    );

    land(
        &node,
        memo(
            &gov,
            coin_of(&node, &gov).unwrap(),
            &format!("allow {bob_at}"),
        ),
    )
    .unwrap();
    pay_bob(&node).unwrap();
    assert!(node.ledger().is_allowed(&bob_at));

    // The list is derived from the chain: rebuilt on reopening.
    drop(node);
    let node = open(dir.path()).unwrap();
    assert!(node.ledger().is_allowed(&bob_at));
    pay_bob(&node).unwrap();
    land(
        &node,
        memo(
            &gov,
            coin_of(&node, &gov).unwrap(),
            &format!("deny {bob_at}"),
        ),
    )
    .unwrap();
    assert!(pay_bob(&node).is_err());
}

#[test]
fn reverting_a_block_restores_the_list() {
    let gov = governance();
    let ledger = AllowListLedger::open(
        EutxoLedger::open(
            MemoryStore::new(),
            LedgerConfig::new(wes_app_rule::CHAIN),
            &genesis(),
            Default::default(),
        )
        .unwrap(),
        gov.public_key(),
    )
    .unwrap();
    let ledger = Arc::new(ledger);
    let carol = Lock::key(SecretKey::dev("carol").public_key()).address();
    let coin = (genesis().coinbase().outpoint(1), 1_000_000);
    let tx = memo(&gov, coin, &format!("allow {carol}"));
    let sealer = SecretKey::dev("sealer");
    let tip = ledger.tip().unwrap();
    let time = ledger.header(&tip.hash).unwrap().unwrap().time_ms + 1_000;
    let block = ledger
        .build_block(
            vec![tx],
            &Lock::key(sealer.public_key()),
            sealer.public_key(),
            time,
        )
        .unwrap();
    ledger.apply_block(&block).unwrap();
    assert!(ledger.is_allowed(&carol));
    ledger.revert_tip().unwrap();
    assert!(!ledger.is_allowed(&carol));

    // A block that breaks the rule is refused as a whole, blaming the transaction.
    let alice = SecretKey::dev("alice");
    let bad = transfer(
        &alice,
        (genesis().coinbase().outpoint(0), 1_000_000),
        &carol,
        Lock::key(SecretKey::dev("carol").public_key()),
        5,
    );
    let err = ledger
        .build_block(
            vec![bad.clone()],
            &Lock::key(sealer.public_key()),
            sealer.public_key(),
            time,
        )
        .unwrap_err();
    assert!(matches!(err, AppError::NotAllowed { .. }));
    assert_eq!(
        <AllowListLedger<MemoryStore> as ChainLedger>::blamed_transaction(&err),
        Some(bad.id())
    );
}
