//! Who may call what on a node's RPC port, and how often (`wes_node::rpc::access`), against
//! a running node on 127.0.0.1: operator methods need the node's token over HTTP and
//! WebSocket, compute methods too where the operator says so, clients past their rate are
//! refused while the operator is not, batches are bounded and charged per entry, and
//! browsers of other origins get no CORS headers unless allowed.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use jsonrpsee::core::ClientError as RpcError;
use jsonrpsee::ws_client::WsClientBuilder;
use serde_json::{Value, json};
use wes_core::ChainId;
use wes_ledger::{EutxoLedger, SledStore};
use wes_node::rpc::{Access, RateLimit, RpcConfig, RpcToken, WesApiClient, code, types::ErrorData};
use wes_node::{Client, Config, LaunchOptions, RunningNode, launch};

const CHAIN: ChainId = ChainId(41);

/// A node serving RPC on 127.0.0.1 under `config`.
async fn node_with(
    dir: &tempfile::TempDir,
    config: RpcConfig,
) -> RunningNode<EutxoLedger<SledStore>> {
    let node = common::instant_seal_node(
        Config::new(dir.path()),
        common::genesis(CHAIN, "wes-node access tests"),
        2_000,
    );
    launch(
        node,
        LaunchOptions {
            rpc: Some("127.0.0.1:0".parse().unwrap()),
            rpc_config: config,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// The code and rule of a refused call.
fn refusal(err: RpcError) -> (i32, Option<String>) {
    match err {
        RpcError::Call(object) => {
            let data: ErrorData = object
                .data()
                .map(|d| serde_json::from_str(d.get()).unwrap())
                .unwrap_or_default();
            (object.code(), data.rule)
        }
        other => panic!("expected an error object, got {other:?}"),
    }
}

/// A raw HTTP request to `addr`; the status line, the headers (lower-cased names) and the
/// body.
fn http(addr: SocketAddr, head: &str, body: &str) -> (String, Vec<(String, String)>, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let request = format!(
        "{head}\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

/// The code of the error a deployment of a model that is not ONNX gets: `UNAUTHORIZED`
/// when the access check stops it, the model parser's refusal when it gets through.
async fn deploy_refusal(client: &Client) -> i32 {
    refusal(
        client
            .api()
            .deploy_model("00".into(), "m".into())
            .await
            .unwrap_err(),
    )
    .0
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_methods_need_the_token_over_http_and_websocket() {
    let dir = tempfile::tempdir().unwrap();
    let token = RpcToken::generate();
    let running = node_with(
        &dir,
        RpcConfig {
            token: Some(token.clone()),
            compute: Some(Access::Token),
            ..RpcConfig::default()
        },
    )
    .await;
    let addr = running.rpc_addr.unwrap();
    let url = format!("http://{addr}");
    let stranger = Client::new(&url).unwrap();
    let operator = Client::with_token(&url, &token).unwrap();
    let forger = Client::with_token(&url, &RpcToken::generate()).unwrap();
    let peer = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN".to_string();

    // Public methods are open to all.
    assert_eq!(stranger.api().chain_id().await.unwrap(), CHAIN.0);
    // Admin methods: refused without the token or with another, answered with it.
    for client in [&stranger, &forger] {
        let (code, rule) = refusal(client.api().settlements(None).await.unwrap_err());
        assert_eq!(
            (code, rule.as_deref()),
            (code::UNAUTHORIZED, Some("unauthorized"))
        );
        let (code, _) = refusal(client.api().net_block_peer(peer.clone()).await.unwrap_err());
        assert_eq!(code, code::UNAUTHORIZED);
    }
    // With it, the call reaches the method (this node runs no contracts to settle).
    let (code, _) = refusal(operator.api().settlements(None).await.unwrap_err());
    assert_eq!(code, code::NOT_FOUND);
    // Past the access check: this node runs no network.
    let (code, _) = refusal(
        operator
            .api()
            .net_block_peer(peer.clone())
            .await
            .unwrap_err(),
    );
    assert_ne!(code, code::UNAUTHORIZED);
    // Compute methods, guarded here by configuration: a model upload is never generated
    // keys for unless the caller holds the token.
    assert_eq!(deploy_refusal(&stranger).await, code::UNAUTHORIZED);
    assert_ne!(
        deploy_refusal(&operator).await,
        code::UNAUTHORIZED,
        "the operator reaches the method"
    );

    // The same over WebSocket: the token goes on the upgrade request.
    let ws = WsClientBuilder::default()
        .build(format!("ws://{addr}"))
        .await
        .unwrap();
    let (code, _) = refusal(ws.settlements(None).await.unwrap_err());
    assert_eq!(code, code::UNAUTHORIZED);
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, token.bearer().parse().unwrap());
    let ws = WsClientBuilder::default()
        .set_headers(headers)
        .build(format!("ws://{addr}"))
        .await
        .unwrap();
    let (code, _) = refusal(ws.settlements(None).await.unwrap_err());
    assert_eq!(code, code::NOT_FOUND);

    // Every entry of a batch is checked: the public one answers, the admin one is refused.
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "wes_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "wes_settlements", "params": []},
    ]);
    let (_, _, body) = http(
        addr,
        "POST / HTTP/1.1\r\nContent-Type: application/json",
        &batch.to_string(),
    );
    let answers: Vec<Value> = serde_json::from_str(&body).unwrap();
    let by_id = |id: u64| answers.iter().find(|a| a["id"] == id).unwrap();
    assert_eq!(by_id(1)["result"], CHAIN.0);
    assert_eq!(by_id(2)["error"]["code"], code::UNAUTHORIZED);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_admin_methods_are_off_and_compute_follows_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let running = node_with(&dir, RpcConfig::default()).await;
    let client = Client::new(&format!("http://{}", running.rpc_addr.unwrap())).unwrap();
    let err = client.api().settlements(None).await.unwrap_err();
    assert!(err.to_string().contains("no RPC token"), "{err}");
    // On 127.0.0.1 compute methods are open: the call reaches the model parser.
    assert_ne!(deploy_refusal(&client).await, code::UNAUTHORIZED);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_past_their_rate_are_refused_and_batches_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let token = RpcToken::generate();
    let running = node_with(
        &dir,
        RpcConfig {
            token: Some(token.clone()),
            // A refill of one unit an hour: the burst is all a client has in this test.
            rate_limit: RateLimit::per_second(1).map(|_| RateLimit {
                per_second: std::num::NonZeroU32::new(1).unwrap(),
                burst: std::num::NonZeroU32::new(8).unwrap(),
            }),
            max_batch: 4,
            ..RpcConfig::default()
        },
    )
    .await;
    let addr = running.rpc_addr.unwrap();
    let url = format!("http://{addr}");
    let client = Client::new(&url).unwrap();

    // A batch above the limit is refused whole, and costs nothing.
    let call = |id: u64| json!({"jsonrpc": "2.0", "id": id, "method": "wes_chainId", "params": []});
    let big: Vec<Value> = (0..5).map(call).collect();
    let (_, _, body) = http(
        addr,
        "POST / HTTP/1.1\r\nContent-Type: application/json",
        &Value::from(big).to_string(),
    );
    assert!(
        body.contains("-32010") || body.to_lowercase().contains("batch"),
        "{body}"
    );

    // A batch of 4 spends 4 units: entry by entry.
    let four: Vec<Value> = (0..4).map(call).collect();
    let (_, _, body) = http(
        addr,
        "POST / HTTP/1.1\r\nContent-Type: application/json",
        &Value::from(four).to_string(),
    );
    let answers: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert!(answers.iter().all(|a| a["result"] == CHAIN.0), "{body}");
    // 4 single calls spend the rest of the burst (give or take the refill of a second)...
    let mut answered = 0;
    let mut limited = None;
    for _ in 0..8 {
        match client.api().chain_id().await {
            Ok(_) => answered += 1,
            Err(e) => {
                limited = Some(refusal(e));
                break;
            }
        }
    }
    assert!((4..=6).contains(&answered), "{answered} calls answered");
    assert_eq!(
        limited,
        Some((code::LIMITED, Some("rate_limited".to_string())))
    );
    // ... while the operator's own tools are not limited.
    let operator = Client::with_token(&url, &token).unwrap();
    for _ in 0..20 {
        operator.api().chain_id().await.unwrap();
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_of_other_origins_get_cors_headers_only_when_allowed() {
    let preflight = "OPTIONS / HTTP/1.1\r\nOrigin: https://app.example\r\n\
                     Access-Control-Request-Method: POST\r\n\
                     Access-Control-Request-Headers: content-type";
    let post = "POST / HTTP/1.1\r\nContent-Type: application/json\r\nOrigin: https://app.example";
    let body =
        json!({"jsonrpc": "2.0", "id": 1, "method": "wes_chainId", "params": []}).to_string();

    // Off by default.
    let dir = tempfile::tempdir().unwrap();
    let running = node_with(&dir, RpcConfig::default()).await;
    let addr = running.rpc_addr.unwrap();
    let (_, headers, _) = http(addr, preflight, "");
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    let (_, headers, answer) = http(addr, post, &body);
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    assert!(
        answer.contains("result"),
        "same-origin tools still work: {answer}"
    );
    running.stop().await;

    // Allowed for the origins configured, and those only.
    let dir = tempfile::tempdir().unwrap();
    let running = node_with(
        &dir,
        RpcConfig {
            cors: vec!["https://app.example".into()],
            ..RpcConfig::default()
        },
    )
    .await;
    let addr = running.rpc_addr.unwrap();
    let (status, headers, _) = http(addr, preflight, "");
    assert!(status.contains("200"), "{status}");
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some("https://app.example")
    );
    let (_, headers, _) = http(addr, post, &body);
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some("https://app.example")
    );
    let (_, headers, _) = http(addr, &preflight.replace("app.example", "evil.example"), "");
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    running.stop().await;
}
