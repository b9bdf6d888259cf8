//! Contract calls through the RPC: `wes_getState` reads a contract's live State output by
//! contract and key, following each write, with typed errors for what is absent or
//! malformed; and a construction is signed only if it is what the client asked for.

mod common;

use common::produce;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use wes_core::{ChainId, Lock, SecretKey, TokenId, Transaction, codec};
use wes_ispc::contract_id;
use wes_node::client::{ClientError, Expected};
use wes_node::rpc::WesApiClient;
use wes_node::rpc::types::OutputBodyInfo;

/// `bump` writes state "n" = one byte, one more than before (0 first).
const BUMPER: &str = r#"(module
  (import "wes" "state_get" (func $get (param i32 i32 i32 i32) (result i32)))
  (import "wes" "state_set" (func $set (param i32 i32 i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "n")
  (func (export "bump")
    (if (i32.ne (call $get (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 1)) (i32.const 1))
      (then (i32.store8 (i32.const 16) (i32.const 255))))
    (i32.store8 (i32.const 16) (i32.add (i32.load8_u (i32.const 16)) (i32.const 1)))
    (call $set (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 1))))"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_state_is_read_by_contract_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = common::genesis(ChainId(35), "wes-node state tests");
    let (running, client) = common::contract_node(&dir, genesis, None).await;
    let alice = SecretKey::dev("alice");

    let resource = common::deploy_wat(&client, &alice, BUMPER, "bumper").await;
    produce(&running).await;
    let contract = contract_id(&resource).to_string();
    let key = hex::encode(b"n");

    for expected in [0u8, 1] {
        let (_, constructed) = common::construct(&client, &alice, &resource, "bump").await;
        let txid = client.sign_and_send(&alice, &constructed).await.unwrap();
        produce(&running).await;

        let out = client
            .api()
            .get_state(contract.clone(), key.clone())
            .await
            .unwrap();
        assert_eq!(
            out.outpoint,
            format!("{txid}:0"),
            "the latest write's output"
        );
        match out.body {
            OutputBodyInfo::State {
                contract: c,
                key: k,
                data,
                version,
            } => {
                assert_eq!((c, k), (contract.clone(), key.clone()));
                assert_eq!(data, hex::encode([expected]));
                assert_eq!(version, u64::from(expected));
            }
            other => panic!("not a state output: {other:?}"),
        }
    }

    // Absent, malformed, too long: typed errors naming the parameter.
    let code = |e: jsonrpsee::core::client::Error| match e {
        jsonrpsee::core::client::Error::Call(e) => (e.code(), e.message().to_string()),
        other => panic!("{other}"),
    };
    let absent = client.api().get_state(contract.clone(), "ff".into()).await;
    assert_eq!(code(absent.unwrap_err()).0, -32001);
    for (contract, key) in [
        ("not-a-contract".to_string(), key.clone()),
        (contract.clone(), "zz".to_string()),
        (contract.clone(), "00".repeat(65)),
    ] {
        let err = client.api().get_state(contract, key).await.unwrap_err();
        assert_eq!(code(err).0, -32602);
    }
    // The method by name, as any client calls it.
    let raw: serde_json::Value = client
        .api()
        .request("wes_getState", rpc_params![contract, key])
        .await
        .unwrap();
    assert_eq!(raw["body"]["type"], "state");
}

/// A construction a dishonest node altered, or one that is not what was asked for, is not
/// signed; the honest one is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_construction_is_signed_only_if_it_is_what_was_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = common::genesis(ChainId(36), "wes-node checked constructions");
    let (running, client) = common::contract_node(&dir, genesis, None).await;
    let alice = SecretKey::dev("alice");
    let resource = common::deploy_wat(&client, &alice, BUMPER, "bumper").await;
    produce(&running).await;

    let (fee, constructed) = common::construct(&client, &alice, &resource, "bump").await;
    let expected = Expected {
        chain_id: ChainId(36),
        resource,
        entry: "bump".into(),
        args: vec![],
        fee_inputs: vec![(fee, client.output(&fee).await.unwrap())],
        change: Lock::key(alice.public_key()),
        fee_token: TokenId::Native,
        max_spend: 200_000,
    };
    let mismatch = |r: Result<_, ClientError>| match r {
        Err(ClientError::Mismatch { reason }) => reason,
        other => panic!("expected a mismatch, got {other:?}"),
    };

    // Not what was asked: another entry, a lower spending limit.
    let other_entry = Expected {
        entry: "drain".into(),
        ..expected.clone()
    };
    let reason = mismatch(
        client
            .sign_checked(&alice, &constructed, &other_entry)
            .await,
    );
    assert!(reason.contains("entry"), "{reason}");
    let cheaper = Expected {
        max_spend: 1_000,
        ..expected.clone()
    };
    let reason = mismatch(client.sign_checked(&alice, &constructed, &cheaper).await);
    assert!(reason.contains("would pay 200000"), "{reason}");

    // A node that sends the change to someone else, with a consistent id.
    let mut tx: Transaction = codec::decode(&hex::decode(&constructed.tx).unwrap()).unwrap();
    let bob = Lock::key(SecretKey::dev("bob").public_key());
    for out in &mut tx.outputs {
        if out.lock == expected.change {
            out.lock = bob.clone();
        }
    }
    let mut altered = constructed.clone();
    altered.tx = hex::encode(codec::encode(&tx));
    altered.txid = tx.id().to_string();
    let reason = mismatch(client.sign_checked(&alice, &altered, &expected).await);
    assert!(reason.contains("would pay"), "{reason}");
    // An id that does not match what is to be signed.
    let mut lying = constructed.clone();
    lying.txid = altered.txid.clone();
    mismatch(client.sign_checked(&alice, &lying, &expected).await);

    // The honest construction is signed and lands.
    let txid = client
        .sign_checked(&alice, &constructed, &expected)
        .await
        .unwrap();
    produce(&running).await;
    let out = client
        .api()
        .get_state(contract_id(&resource).to_string(), hex::encode(b"n"))
        .await
        .unwrap();
    assert_eq!(out.outpoint, format!("{txid}:0"));
}
