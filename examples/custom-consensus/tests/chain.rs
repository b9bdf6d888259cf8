//! The user-written engine passes the SDK's consensus conformance suite, and runs a chain:
//! two nodes on 127.0.0.1 holding different authority keys take turns, and a transfer sent
//! to one is included and seen by the other.

use std::time::{Duration, Instant};

use wes_core::{Input, Ledger, Lock, Output, SecretKey, TokenId, Transaction, ValidityWindow};
use wes_custom_consensus::{CHAIN, engine, genesis, open, pool};
use wes_node::{LaunchOptions, launch};

#[test]
fn rotating_authority_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path(), &[], SecretKey::dev("x").public_key(), 1_000).unwrap();
    let genesis_header = node
        .ledger()
        .header(&node.status().genesis)
        .unwrap()
        .unwrap();
    let engine = engine(&pool());
    wes_consensus::conformance::check_engine(&engine, &genesis_header, &|h| engine.producer_at(h));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_take_turns_and_include_a_transfer() {
    let dir = tempfile::tempdir().unwrap();
    let keys = pool();
    let reward = SecretKey::dev("treasury").public_key();
    let a = open(&dir.path().join("a"), &keys[..3], reward, 100).unwrap();
    let b = open(&dir.path().join("b"), &keys[3..], reward, 100).unwrap();
    let listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    let a = launch(
        a,
        LaunchOptions {
            listen: listen.clone(),
            produce: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let boot = a.network.as_ref().unwrap().listen_addrs();
    let b = launch(
        b,
        LaunchOptions {
            listen,
            bootnodes: boot,
            produce: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // A transfer from alice to bob, sent to node a.
    let alice = SecretKey::dev("alice");
    let bob = Lock::key(SecretKey::dev("bob").public_key());
    let tx = Transaction {
        version: Transaction::VERSION,
        chain_id: CHAIN,
        inputs: vec![Input::spend(genesis().coinbase().outpoint(0))],
        outputs: vec![Output::asset(bob.clone(), TokenId::Native, 900_000)],
        validity: ValidityWindow::ALWAYS,
        execution: None,
    }
    .sign(&[&alice]);
    let txid = a.node.submit(tx).unwrap();

    // Both nodes' turns are needed: heights past one epoch mean they took turns.
    let deadline = Instant::now() + Duration::from_secs(60);
    while b.node.status().height < 9 || b.node.index().transaction(&txid).is_none() {
        assert!(
            Instant::now() < deadline,
            "stalled at a {} / b {}",
            a.node.status().height,
            b.node.status().height
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ledger = b.node.ledger();
    let engine = engine(&[]);
    let mut sealed_by_a = 0;
    let mut sealed_by_b = 0;
    for h in 1..=9 {
        let header = ledger
            .header(&ledger.hash_at(h).unwrap().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(header.producer, engine.producer_at(h), "height {h}");
        let i = keys
            .iter()
            .position(|k| k.public_key() == header.producer)
            .unwrap();
        if i < 3 {
            sealed_by_a += 1;
        } else {
            sealed_by_b += 1;
        }
    }
    assert!(
        sealed_by_a > 0 && sealed_by_b > 0,
        "{sealed_by_a} / {sealed_by_b}"
    );
    let bob_balance: u128 = b
        .node
        .index()
        .outputs_of(&bob.address())
        .iter()
        .filter_map(|(_, o)| o.as_asset().map(|a| a.amount))
        .sum();
    assert_eq!(bob_balance, 900_000);
    a.stop().await;
    b.stop().await;
}
