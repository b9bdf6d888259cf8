//! The same chain manager and ledger under another engine: round-robin authorities (and
//! instant seal). What `examples/custom-consensus` shows, tested.

mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use common::*;
use wes_consensus::{ChainError, ChainManager, RoundRobinAuthority};
use wes_core::*;

fn authorities() -> Vec<SecretKey> {
    vec![key("auth-0"), key("auth-1"), key("auth-2")]
}

fn engine_with_all_keys() -> RoundRobinAuthority {
    let keys = authorities();
    let mut e =
        RoundRobinAuthority::new(CHAIN, keys.iter().map(|k| k.public_key()).collect()).unwrap();
    for k in keys {
        e = e.with_key(k);
    }
    e
}

#[test]
fn round_robin_authorities_drive_the_same_manager_and_ledger() {
    let g = genesis(CompactTarget(0));
    let engine = Arc::new(engine_with_all_keys());
    // The swap: the same `ChainManager::new`, another engine.
    let mut n = ChainManager::new(ledger(&g), engine.clone()).unwrap();
    let cancel = AtomicBool::new(false);
    for i in 1..=6u64 {
        let producer = engine.producer_at(i);
        let mut block = n
            .ledger()
            .build_block(vec![], &Lock::key(producer), producer, T0 + i * 1_000)
            .unwrap();
        block.header = engine.seal(block.header, &cancel).unwrap().unwrap();
        n.submit_block(block, T0 + i * 1_000).unwrap();
    }
    assert_eq!(n.best_header().height, 6);
    assert_eq!(n.ledger().tip().unwrap().height, 6);
}

#[test]
fn wrong_producer_and_bad_seal_are_rejected() {
    let g = genesis(CompactTarget(0));
    let engine = Arc::new(engine_with_all_keys());
    let mut n = ChainManager::new(ledger(&g), engine.clone()).unwrap();
    let cancel = AtomicBool::new(false);
    let wrong = key("auth-2");
    let mut block = n
        .ledger()
        .build_block(
            vec![],
            &Lock::key(wrong.public_key()),
            wrong.public_key(),
            T0 + 1_000,
        )
        .unwrap();
    // Height 1 is auth-1's turn; auth-2 signs anyway.
    block.header.seal = wrong.sign(block.header.seal_hash().as_bytes()).0.to_vec();
    let err = n.submit_block(block.clone(), T0 + 1_000).unwrap_err();
    assert!(
        matches!(
            err,
            ChainError::Header { source: ConsensusError::WrongProducer { expected: Some(p), .. }, .. }
                if p == key("auth-1").public_key()
        ),
        "{err}"
    );
    let mut sealed = engine.seal(block.header.clone(), &cancel).unwrap().unwrap();
    sealed.seal[0] ^= 1;
    assert!(matches!(
        engine.validate_header(&sealed),
        Err(ConsensusError::BadSeal(_))
    ));
    // An engine without the producer's key cannot seal.
    let observer = RoundRobinAuthority::new(
        CHAIN,
        authorities().iter().map(|k| k.public_key()).collect(),
    )
    .unwrap();
    assert!(matches!(
        observer.seal(block.header, &cancel),
        Err(ConsensusError::WrongProducer { .. })
    ));
}

#[test]
fn instant_seal_mines_immediately() {
    let g = genesis(CompactTarget(0));
    let dev = key("dev");
    let engine = Arc::new(RoundRobinAuthority::instant_seal(CHAIN, dev.clone()));
    let mut n = ChainManager::new(ledger(&g), engine.clone()).unwrap();
    let mut block = n
        .ledger()
        .build_block(
            vec![],
            &Lock::key(dev.public_key()),
            dev.public_key(),
            T0 + 1,
        )
        .unwrap();
    block.header = engine
        .seal(block.header, &AtomicBool::new(false))
        .unwrap()
        .unwrap();
    n.submit_block(block, T0 + 1).unwrap();
    assert_eq!(n.best_header().height, 1);
}
