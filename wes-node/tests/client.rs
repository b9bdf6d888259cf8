//! The library's RPC client against a running node on 127.0.0.1: coins, paying with change,
//! the node's refusals and the client's own, each as a typed error.

mod common;

use std::time::Duration;

use common::{DevNode, dev_node};
use serde_json::json;
use wes_core::{ChainId, ContractId, Genesis, Hash, Lock, Output, SecretKey, TokenId, TxId};
use wes_node::client::Utxo;
use wes_node::rpc::code;
use wes_node::{Client, ClientError};

const CHAIN: ChainId = ChainId(32);

fn genesis() -> Genesis {
    common::genesis(CHAIN, "wes-node client tests")
}

fn native(utxos: &[Utxo]) -> Vec<u128> {
    let mut amounts: Vec<u128> = utxos
        .iter()
        .filter_map(|u| u.output.as_asset())
        .filter(|a| a.token == TokenId::Native)
        .map(|a| a.amount)
        .collect();
    amounts.sort();
    amounts
}

/// Whether `txid` is included within 10 s.
async fn wait_included(client: &Client, txid: &TxId) -> bool {
    for _ in 0..200 {
        let answer: serde_json::Value = client
            .call("wes_getTransaction", vec![json!(txid.to_string())])
            .await
            .unwrap();
        if answer["status"] == "included" {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_pays_with_change_and_every_refusal_is_typed() {
    let DevNode {
        running,
        client,
        dir: _dir,
    } = dev_node(genesis(), 100, true).await;
    let (alice, bob) = (SecretKey::dev("alice"), SecretKey::dev("bob"));

    assert_eq!(client.chain_id().await.unwrap(), CHAIN);
    assert_eq!(
        native(&client.utxos(&alice.public_key()).await.unwrap()),
        [1_000_000]
    );

    // What the key does not have is refused before anything is sent.
    let short = client
        .coins(&alice.public_key(), TokenId::Native, 2_000_000)
        .await
        .unwrap_err();
    assert!(
        matches!(
            short,
            ClientError::Insufficient {
                have: 1_000_000,
                need: 2_000_000,
                ..
            }
        ),
        "{short}"
    );
    let issued = TokenId::Issued {
        contract: ContractId(Hash([7; 32])),
        tag: Hash([8; 32]),
    };
    let other = Output::asset(Lock::key(bob.public_key()), issued, 5);
    let err = client
        .pay(&alice, vec![other], 1_000, TokenId::Native)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Insufficient { have: 0, need: 5, token } if token.len() > 6),
        "{err}"
    );
    assert!(matches!(
        client.fee_input(&alice, 1_000_001).await,
        Err(ClientError::NoSingleCoin { need: 1_000_001 })
    ));
    assert_eq!(
        client.fee_input(&alice, 1_000).await.unwrap(),
        genesis().coinbase().outpoint(0)
    );

    // A payment: bob's coin and alice's change, once a block includes it.
    let pay = Output::asset(Lock::key(bob.public_key()), TokenId::Native, 300_000);
    let txid = client
        .pay(&alice, vec![pay], 1_000, TokenId::Native)
        .await
        .unwrap();
    // Until then the wallet sees the change as pending, the genesis coin as being spent.
    assert_eq!(
        native(&client.utxos(&alice.public_key()).await.unwrap()),
        [699_000]
    );
    assert!(
        wait_included(&client, &txid).await,
        "{txid} was not included"
    );
    let bobs = client.utxos(&bob.public_key()).await.unwrap();
    assert_eq!(native(&bobs), [300_000]);
    assert!(!bobs[0].pending);
    assert_eq!(
        native(&client.utxos(&alice.public_key()).await.unwrap()),
        [699_000]
    );

    // The node's refusal keeps its error code: the genesis coin is spent now.
    let spent = wes_core::Transaction {
        version: wes_core::Transaction::VERSION,
        chain_id: CHAIN,
        inputs: vec![wes_core::Input::spend(genesis().coinbase().outpoint(0))],
        outputs: vec![],
        validity: wes_core::ValidityWindow::ALWAYS,
        execution: None,
    }
    .sign(&[&alice]);
    let refusal = client.send(&spent).await.unwrap_err();
    assert_eq!(
        refusal.rule().as_deref(),
        Some("missing_input"),
        "{refusal}"
    );
    match refusal {
        ClientError::Call {
            method,
            source: jsonrpsee::core::ClientError::Call(object),
        } => {
            assert_eq!(method, "wes_sendRawTransaction");
            assert_eq!(object.code(), code::REJECTED, "{}", object.message());
        }
        other => panic!("expected the node's refusal, got {other}"),
    }
    running.stop().await;

    // A stopped node is unreachable, not a refusal.
    let err = client.chain_id().await.unwrap_err();
    assert_eq!(err.rule(), None);
    assert!(
        matches!(
            &err,
            ClientError::Call {
                source: jsonrpsee::core::ClientError::Transport(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        Client::new("not a url"),
        Err(ClientError::Url { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_sends_a_hundred_transfers_that_one_block_includes() {
    // The node produces only when the test says so: all 100 are sent within one block time.
    let DevNode {
        running,
        client,
        dir: _dir,
    } = dev_node(genesis(), 2_000, false).await;
    let alice = SecretKey::dev("alice");
    let recipients: Vec<SecretKey> = (0..100)
        .map(|i| SecretKey::dev(&format!("recipient {i}")))
        .collect();
    let mut sent = Vec::new();
    for (i, to) in recipients.iter().enumerate() {
        let pay = Output::asset(
            Lock::key(to.public_key()),
            TokenId::Native,
            1_000 + i as u128,
        );
        // Each payment spends the change of the one before, still pending.
        sent.push(
            client
                .pay(&alice, vec![pay], 1_000, TokenId::Native)
                .await
                .unwrap_or_else(|e| panic!("transfer {i}: {e}")),
        );
    }
    let change = client.utxos(&alice.public_key()).await.unwrap();
    assert_eq!(change.len(), 1);
    assert!(change[0].pending);
    assert_eq!(running.node.mempool().len(), 100);

    let (height, _, count) = tokio::task::spawn_blocking({
        let node = running.node.clone();
        move || node.produce_block()
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!((height, count), (1, 100));
    for txid in &sent {
        assert!(
            wait_included(&client, txid).await,
            "{txid} was not included"
        );
    }
    for (i, to) in recipients.iter().enumerate() {
        let coins = client.utxos(&to.public_key()).await.unwrap();
        assert_eq!(native(&coins), [1_000 + i as u128]);
        assert!(!coins[0].pending);
    }
    let paid: u128 = (0..100).map(|i| 1_000 + i + 1_000).sum();
    let change = client.utxos(&alice.public_key()).await.unwrap();
    assert_eq!(native(&change), [1_000_000 - paid]);
    assert!(running.node.mempool().is_empty());
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_admitted_in_order_with_one_result_per_transaction() {
    let DevNode {
        running,
        client,
        dir: _dir,
    } = dev_node(genesis(), 2_000, false).await;
    let alice = SecretKey::dev("alice");
    let bob = Lock::key(SecretKey::dev("bob").public_key());

    // 50 transfers, each spending the change of the one before, then one badly signed.
    let mut coin = (genesis().coinbase().outpoint(0), 1_000_000u128);
    let mut txs = Vec::new();
    for _ in 0..51 {
        let change = coin.1 - 1 - 1_000;
        let tx = wes_core::Transaction {
            version: wes_core::Transaction::VERSION,
            chain_id: CHAIN,
            inputs: vec![wes_core::Input::spend(coin.0)],
            outputs: vec![
                Output::asset(bob.clone(), TokenId::Native, 1),
                Output::asset(Lock::key(alice.public_key()), TokenId::Native, change),
            ],
            validity: wes_core::ValidityWindow::ALWAYS,
            execution: None,
        };
        coin = (tx.outpoint(1), change);
        txs.push(tx.sign(&[&alice]));
    }
    txs[50].witness.signatures[0].signature = alice.sign(b"not the sighash");
    let results = client.send_many(&txs).await.unwrap();
    assert_eq!(results.len(), 51);
    for (tx, result) in txs.iter().zip(&results).take(50) {
        assert_eq!(result.as_ref().unwrap(), &tx.id());
    }
    assert!(
        results[50].as_ref().unwrap_err().contains("signature"),
        "{results:?}"
    );
    // Verified together up front: admission found every verdict already there.
    assert!(running.node.ledger().signature_cache().hits() >= 50);

    // An entry that does not decode gets its own error; the others are not affected.
    let answer: serde_json::Value = client
        .call(
            "wes_sendRawTransactions",
            vec![json!(["zz", hex::encode(wes_core::codec::encode(&txs[0]))])],
        )
        .await
        .unwrap();
    assert_eq!(answer[0]["error"]["code"], -32602, "{answer}");
    assert!(
        answer[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already"),
        "{answer}"
    );

    let node = running.node.clone();
    let (_, _, count) = tokio::task::spawn_blocking(move || node.produce_block())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count, 50);
    running.stop().await;
}
