//! What operators read from a running node on 127.0.0.1: `GET /health` and `GET /metrics`
//! on the RPC port, beside JSON-RPC.

mod common;

use std::net::SocketAddr;

use common::{DevNode, dev_node};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wes_core::{ChainId, Genesis, Lock, Output, SecretKey, TokenId};

const CHAIN: ChainId = ChainId(33);

fn genesis() -> Genesis {
    common::genesis(CHAIN, "wes-node ops tests")
}

/// A plain HTTP/1.1 GET: the status code and the body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    // The body may come chunked: keep only what looks like content.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

fn value(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_are_served_beside_json_rpc() {
    let DevNode {
        running,
        client,
        dir: _dir,
    } = dev_node(genesis(), 2_000, false).await;
    let addr = running.rpc_addr.unwrap();

    let (status, body) = get(addr, "/health").await;
    assert_eq!(status, 200, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["height"], 0);
    assert_eq!(health["peers"], Value::Null, "no networking");

    // Work the node does shows in its metrics: a payment admitted, a block produced and
    // imported, RPC calls by method (unknown methods under one label).
    let alice = SecretKey::dev("alice");
    let pay = Output::asset(Lock::key(alice.public_key()), TokenId::Native, 5);
    client
        .pay(&alice, vec![pay], 1_000, TokenId::Native)
        .await
        .unwrap();
    let node = running.node.clone();
    tokio::task::spawn_blocking(move || node.produce_block())
        .await
        .unwrap()
        .unwrap();
    let height: u64 = client.call("wes_blockNumber", vec![]).await.unwrap();
    assert_eq!(height, 1);
    for method in ["no_such_method", "another_one"] {
        assert!(client.call::<Value>(method, vec![json!(1)]).await.is_err());
    }

    let (status, metrics) = get(addr, "/metrics").await;
    assert_eq!(status, 200, "{metrics}");
    assert_eq!(value(&metrics, "wes_height"), Some(1.0), "{metrics}");
    assert_eq!(value(&metrics, "wes_mempool_transactions"), Some(0.0));
    assert_eq!(value(&metrics, "wes_blocks_produced_total"), Some(1.0));
    assert_eq!(value(&metrics, "wes_blocks_imported_total"), Some(1.0));
    assert_eq!(value(&metrics, "wes_block_import_seconds_count"), Some(1.0));
    assert_eq!(
        value(&metrics, "wes_transactions_admitted_total"),
        Some(1.0)
    );
    assert_eq!(
        value(&metrics, "wes_transaction_check_seconds_count"),
        Some(1.0)
    );
    assert_eq!(
        value(
            &metrics,
            "wes_rpc_seconds_count{method=\"wes_blockNumber\"}"
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        value(&metrics, "wes_rpc_seconds_count{method=\"unknown\"}"),
        Some(2.0),
        "{metrics}"
    );
    assert!(!metrics.contains("no_such_method"));

    // Anything else still goes to JSON-RPC, which answers GETs with an error.
    let (status, _) = get(addr, "/other").await;
    assert_ne!(status, 200);

    running.node.shutdown();
    let (status, body) = get(addr, "/health").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("stopping"));
    running.stop().await;
}
