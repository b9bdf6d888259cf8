//! Contract events on a running node with WASM contracts: the index a node keeps
//! (`wes_getLogs`, filtered and paginated, surviving a restart), the log subscription, and
//! the attribution of each event to the contract that emitted it, nested calls included.

mod common;

use std::time::Duration;

use common::produce;
use jsonrpsee::ws_client::WsClientBuilder;
use tempfile::TempDir;
use wes_core::{ChainId, ContentId, Genesis, SecretKey};
use wes_ispc::contract_id;
use wes_ledger::{EutxoLedger, SledStore};
use wes_node::rpc::types::LogFilter;
use wes_node::rpc::{WesApiClient, WesPubSubApiClient};
use wes_node::{Client, RunningNode};

const CHAIN: ChainId = ChainId(34);

/// `ping` emits `pong` with data `b`.
const CALLEE: &str = r#"(module
  (import "wes" "emit_event" (func $emit (param i32 i32 i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "pong")
  (data (i32.const 16) "b")
  (func (export "ping")
    (call $emit (i32.const 0) (i32.const 4) (i32.const 16) (i32.const 1))))"#;

/// `log` emits `greet` with data `hi`, then calls the callee's `ping`.
fn caller(callee: &ContentId) -> String {
    let id: String = callee.0.0.iter().map(|b| format!("\\{b:02x}")).collect();
    format!(
        r#"(module
  (import "wes" "emit_event" (func $emit (param i32 i32 i32 i32)))
  (import "wes" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "greet")
  (data (i32.const 16) "hi")
  (data (i32.const 32) "ping")
  (data (i32.const 64) "{id}")
  (func (export "log")
    (call $emit (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 2))
    (drop (call $call (i32.const 64) (i32.const 32) (i32.const 4) (i32.const 0) (i32.const 0)
                      (i32.const 256) (i32.const 64)))))"#
    )
}

fn genesis() -> Genesis {
    common::genesis(CHAIN, "wes-node event tests")
}

async fn start(dir: &TempDir) -> (RunningNode<EutxoLedger<SledStore>>, Client) {
    common::contract_node(dir, genesis(), None).await
}

/// Stores `wat` as a contract and registers it on chain; its content id.
async fn deploy(client: &Client, alice: &SecretKey, wat: &str, name: &str) -> ContentId {
    common::deploy_wat(client, alice, wat, name).await
}

/// Calls `entry` of `resource` as `alice`.
async fn call(client: &Client, alice: &SecretKey, resource: &ContentId, entry: &str) {
    let (_, constructed) = common::construct(client, alice, resource, entry).await;
    client.sign_and_send(alice, &constructed).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_indexed_attributed_filtered_paginated_and_followed() {
    let dir = tempfile::tempdir().unwrap();
    let (running, client) = start(&dir).await;
    let alice = SecretKey::dev("alice");
    let callee = deploy(&client, &alice, CALLEE, "callee").await;
    let caller = deploy(&client, &alice, &caller(&callee), "caller").await;
    produce(&running).await;

    let ws = WsClientBuilder::default()
        .build(format!("ws://{}", running.rpc_addr.unwrap()))
        .await
        .unwrap();
    let mut pongs = ws
        .subscribe_logs(LogFilter {
            topics: vec!["pong".into()],
            ..LogFilter::default()
        })
        .await
        .unwrap();

    call(&client, &alice, &caller, "log").await;
    let height = produce(&running).await;

    // The subscription hears the callee's event only.
    let pong = tokio::time::timeout(Duration::from_secs(10), pongs.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong.topic, "pong");
    assert_eq!(pong.contract, contract_id(&callee).to_string());
    assert_eq!(
        (pong.height, pong.data.as_str(), pong.removed),
        (height, "62", false)
    );

    // Both events, in order, each with its emitter.
    let all = LogFilter {
        from_block: Some(0),
        ..LogFilter::default()
    };
    let page = client.api().get_logs(all.clone()).await.unwrap();
    let seen: Vec<(String, String)> = page
        .logs
        .iter()
        .map(|l| (l.contract.clone(), l.topic.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (contract_id(&caller).to_string(), "greet".to_string()),
            (contract_id(&callee).to_string(), "pong".to_string()),
        ]
    );
    assert_eq!(page.logs[0].txid, page.logs[1].txid);
    assert_eq!((page.logs[0].log_index, page.logs[1].log_index), (0, 1));
    assert_eq!(page.logs[0].data, hex::encode("hi"));
    assert_eq!(page.next, None);

    // Filters: by contract, by topic.
    let by_contract = client
        .api()
        .get_logs(LogFilter {
            contracts: vec![contract_id(&caller).to_string()],
            ..all.clone()
        })
        .await
        .unwrap();
    assert_eq!(by_contract.logs.len(), 1);
    assert_eq!(by_contract.logs[0].topic, "greet");
    let none = client
        .api()
        .get_logs(LogFilter {
            topics: vec!["nothing".into()],
            ..all.clone()
        })
        .await
        .unwrap();
    assert!(none.logs.is_empty());

    // Pages of one.
    let first = client
        .api()
        .get_logs(LogFilter {
            limit: Some(1),
            ..all.clone()
        })
        .await
        .unwrap();
    assert_eq!(first.logs, page.logs[..1]);
    let second = client
        .api()
        .get_logs(LogFilter {
            limit: Some(1),
            after: first.next.clone(),
            ..all.clone()
        })
        .await
        .unwrap();
    assert_eq!(second.logs, page.logs[1..]);
    assert_eq!(second.next, None);

    // A range too large, a contract that does not parse.
    assert!(
        client
            .api()
            .get_logs(LogFilter {
                from_block: Some(0),
                to_block: Some(LogFilter::MAX_RANGE),
                ..LogFilter::default()
            })
            .await
            .is_err()
    );
    assert!(
        client
            .api()
            .get_logs(LogFilter {
                contracts: vec!["zz".into()],
                ..all.clone()
            })
            .await
            .is_err()
    );

    // After a restart the index is there, not rebuilt.
    running.stop().await;
    drop(ws);
    let (running, client) = start(&dir).await;
    assert_eq!(
        running.node.events().unwrap().indexed_height().unwrap(),
        Some(height)
    );
    assert_eq!(client.api().get_logs(all).await.unwrap().logs, page.logs);
    running.stop().await;
}
