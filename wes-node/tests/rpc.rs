//! The typed `wes_*` API against a running node on 127.0.0.1: the same definition answers
//! over HTTP and WebSocket on one port, every error carries machine-readable data, lists
//! that grow come in pages, and subscriptions follow the chain.

mod common;

use common::{DevNode, dev_node};
use jsonrpsee::core::ClientError as RpcError;
use jsonrpsee::ws_client::WsClientBuilder;
use wes_core::{
    ChainId, Genesis, Input, Lock, Output, SecretKey, TokenId, Transaction, ValidityWindow,
};
use wes_node::rpc::types::{ErrorData, OutputBodyInfo, Page, Watched};
use wes_node::rpc::{WesApiClient, WesPubSubApiClient, code};

const CHAIN: ChainId = ChainId(33);

fn genesis() -> Genesis {
    common::genesis(CHAIN, "wes-node rpc tests")
}

/// The error object of a failed call, with its data decoded.
fn refusal(err: RpcError) -> (i32, String, ErrorData) {
    match err {
        RpcError::Call(object) => {
            let data = object
                .data()
                .map(|d| serde_json::from_str(d.get()).unwrap())
                .unwrap_or_default();
            (object.code(), object.message().to_owned(), data)
        }
        other => panic!("expected an error object, got {other:?}"),
    }
}

fn transfer(spend: wes_core::OutPoint, outputs: Vec<Output>) -> Transaction {
    Transaction {
        version: Transaction::VERSION,
        chain_id: CHAIN,
        inputs: vec![Input::spend(spend)],
        outputs,
        validity: ValidityWindow::ALWAYS,
        execution: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_definition_answers_over_http_and_websocket_with_typed_errors() {
    let DevNode {
        running,
        client,
        dir: _dir,
    } = dev_node(genesis(), 2_000, false).await;
    let addr = running.rpc_addr.unwrap();
    let ws = WsClientBuilder::default()
        .build(format!("ws://{addr}"))
        .await
        .unwrap();
    let http = client.api();

    assert_eq!(http.chain_id().await.unwrap(), CHAIN.0);
    assert_eq!(ws.chain_id().await.unwrap(), CHAIN.0);
    let by_height = ws.get_block_by_height(0).await.unwrap();
    let by_hash = http
        .get_block_by_hash(by_height.hash.clone())
        .await
        .unwrap();
    assert_eq!(by_height, by_hash);
    assert_eq!(by_height.confirmations, Some(1));
    assert_eq!(
        by_height.transactions,
        [genesis().coinbase().id().to_string()]
    );
    let alice = SecretKey::dev("alice");
    let balance = ws
        .get_balance(hex::encode(alice.public_key().0), None)
        .await
        .unwrap();
    assert_eq!(balance["native"], "1000000");

    // A parameter that is not hex: which parameter, which rule.
    let (code, message, data) = refusal(http.send_raw_transaction("zz".into()).await.unwrap_err());
    assert_eq!(
        code,
        jsonrpsee::types::error::INVALID_PARAMS_CODE,
        "{message}"
    );
    assert_eq!(data.param.as_deref(), Some("tx"));
    assert_eq!(data.rule.as_deref(), Some("not_hex"));
    assert_eq!(data.fault.as_deref(), Some("input"));

    // A transaction the ledger refuses: the rule, not only the text.
    let missing = wes_core::OutPoint {
        tx: wes_core::TxId(wes_core::Hash([9; 32])),
        index: 0,
    };
    let bad = transfer(missing, vec![]).sign(&[&alice]);
    let raw = hex::encode(wes_core::codec::encode(&bad));
    let (code, message, data) = refusal(ws.send_raw_transaction(raw).await.unwrap_err());
    assert_eq!(code, code::REJECTED, "{message}");
    assert_eq!(data.rule.as_deref(), Some("missing_input"), "{message}");
    assert_eq!(data.fault.as_deref(), Some("input"));

    // The same in a batch entry.
    let answers = http
        .send_raw_transactions(vec![hex::encode(wes_core::codec::encode(&bad))])
        .await
        .unwrap();
    match &answers[0] {
        wes_node::rpc::types::SendResult::Refused { error } => {
            assert_eq!(error.code, code::REJECTED);
            assert_eq!(
                error.data.as_ref().unwrap().rule.as_deref(),
                Some("missing_input")
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    // Nothing there; a tag that does not exist.
    let (code, _, data) = refusal(http.get_block_by_height(99).await.unwrap_err());
    assert_eq!(
        (code, data.rule.as_deref()),
        (code::NOT_FOUND, Some("not_found"))
    );
    let (_, _, data) = refusal(
        ws.get_utxos(hex::encode(alice.public_key().0), Some("safe".into()), None)
            .await
            .unwrap_err(),
    );
    assert_eq!(data.param.as_deref(), Some("tag"));
    assert_eq!(data.rule.as_deref(), Some("unknown_tag"));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utxos_come_in_pages_that_list_every_output_once() {
    let DevNode {
        running,
        client,
        dir: _dir,
    } = dev_node(genesis(), 2_000, false).await;
    let (alice, bob) = (SecretKey::dev("alice"), SecretKey::dev("bob"));
    let bob_lock = Lock::key(bob.public_key());
    let bob_hex = hex::encode(bob.public_key().0);

    // 25 confirmed outputs for bob, then 3 pending ones.
    let mut outputs: Vec<Output> = (1..=25)
        .map(|i| Output::asset(bob_lock.clone(), TokenId::Native, i))
        .collect();
    let spent: u128 = (1..=25).sum();
    outputs.push(Output::asset(
        Lock::key(alice.public_key()),
        TokenId::Native,
        1_000_000 - spent - 5_000,
    ));
    let first = transfer(genesis().coinbase().outpoint(0), outputs);
    client.send(&first.clone().sign(&[&alice])).await.unwrap();
    let node = running.node.clone();
    tokio::task::spawn_blocking(move || node.produce_block())
        .await
        .unwrap()
        .unwrap();
    let change = first.outpoint(25);
    let second = transfer(
        change,
        vec![
            Output::asset(bob_lock.clone(), TokenId::Native, 100),
            Output::asset(bob_lock.clone(), TokenId::Native, 200),
            Output::asset(bob_lock.clone(), TokenId::Native, 300),
            Output::asset(
                Lock::key(alice.public_key()),
                TokenId::Native,
                1_000_000 - spent - 10_000 - 600,
            ),
        ],
    );
    client.send(&second.clone().sign(&[&alice])).await.unwrap();

    for (tag, expected) in [("latest", 25), ("pending", 28)] {
        let mut listed = Vec::new();
        let mut after = None;
        loop {
            let page = client
                .api()
                .get_utxos(
                    bob_hex.clone(),
                    Some(tag.into()),
                    Some(Page {
                        after: after.take(),
                        limit: Some(10),
                    }),
                )
                .await
                .unwrap();
            assert!(page.len() <= 10);
            after = page.last().map(|o| o.outpoint.clone());
            let done = page.len() < 10;
            listed.extend(page);
            if done {
                break;
            }
        }
        assert_eq!(listed.len(), expected, "{tag}");
        let outpoints: Vec<wes_core::OutPoint> = listed
            .iter()
            .map(|o| wes_node::rpc::parse_outpoint(&o.outpoint).unwrap())
            .collect();
        assert!(outpoints.windows(2).all(|w| w[0] < w[1]), "{tag}: order");
        let pending = listed.iter().filter(|o| o.pending).count();
        assert_eq!(pending, expected - 25, "{tag}");
        for o in listed.iter().filter(|o| o.pending) {
            assert!(o.outpoint.starts_with(&second.id().to_string()));
            assert!(matches!(o.body, OutputBodyInfo::Asset { .. }));
        }
        // Without a page: the same list (it fits in the default page).
        let whole = client
            .api()
            .get_utxos(bob_hex.clone(), Some(tag.into()), None)
            .await
            .unwrap();
        assert_eq!(whole, listed, "{tag}");
    }
    // The wallet's view pages through the same.
    assert_eq!(client.utxos(&bob.public_key()).await.unwrap().len(), 28);

    for limit in [0, Page::MAX_LIMIT + 1] {
        let (_, _, data) = refusal(
            client
                .api()
                .get_utxos(
                    bob_hex.clone(),
                    None,
                    Some(Page {
                        after: None,
                        limit: Some(limit),
                    }),
                )
                .await
                .unwrap_err(),
        );
        assert_eq!(data.param.as_deref(), Some("page.limit"));
        assert_eq!(data.rule.as_deref(), Some("out_of_range"));
    }
    running.stop().await;
}

/// The next notification of `sub`, within 10 s.
async fn next<T: serde::de::DeserializeOwned>(
    sub: &mut jsonrpsee::core::client::Subscription<T>,
) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(10), sub.next())
        .await
        .expect("a notification within 10 s")
        .expect("the subscription is open")
        .expect("a notification that decodes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_follow_new_heads_and_a_transaction_to_its_confirmations() {
    let DevNode {
        running,
        client,
        dir: _dir,
    } = dev_node(genesis(), 2_000, false).await;
    let ws = WsClientBuilder::default()
        .build(format!("ws://{}", running.rpc_addr.unwrap()))
        .await
        .unwrap();
    let alice = SecretKey::dev("alice");
    let tx = transfer(
        genesis().coinbase().outpoint(0),
        vec![
            Output::asset(
                Lock::key(SecretKey::dev("bob").public_key()),
                TokenId::Native,
                1_000,
            ),
            Output::asset(Lock::key(alice.public_key()), TokenId::Native, 994_000),
        ],
    )
    .sign(&[&alice]);
    let txid = tx.id().to_string();

    let mut heads = ws.subscribe_new_heads().await.unwrap();
    let mut watched = ws.subscribe_transaction(txid.clone()).await.unwrap();
    let first = next(&mut watched).await;
    assert_eq!(
        (first.txid.as_str(), first.status),
        (txid.as_str(), Watched::Unknown)
    );

    client.send(&tx).await.unwrap();
    assert_eq!(next(&mut watched).await.status, Watched::Pending);

    let produce = || {
        let node = running.node.clone();
        tokio::task::spawn_blocking(move || node.produce_block().unwrap())
    };
    let (_, hash, _) = produce().await.unwrap();
    let head = next(&mut heads).await;
    assert_eq!((head.height, head.transactions), (1, 2));
    assert_eq!(head.hash, hash.to_string());
    assert!(head.reverted.is_empty());
    let included = next(&mut watched).await;
    assert_eq!(included.status, Watched::Included);
    assert_eq!(included.block.as_deref(), Some(hash.to_string().as_str()));
    assert_eq!((included.height, included.confirmations), (Some(1), 1));

    produce().await.unwrap();
    let head = next(&mut heads).await;
    assert_eq!((head.height, head.parent), (2, hash.to_string()));
    assert_eq!(next(&mut watched).await.confirmations, 2);

    // A txid that does not parse is refused with the parameter named.
    let err = ws.subscribe_transaction("zz".into()).await.unwrap_err();
    let (_, _, data) = refusal(err);
    assert_eq!(data.param.as_deref(), Some("txid"));
    running.stop().await;
}
