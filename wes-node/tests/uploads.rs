//! Uploads and garbage collection on a running node: content uploaded for a transaction is
//! kept while its lease lasts, then collected unless a live output registered it; uploads
//! past the quota are refused until leases end; a client past its share is refused while
//! the operator still uploads; registered content survives collection.

mod common;

use std::time::Duration;

use common::{deploy_wat, produce};
use jsonrpsee::core::ClientError as RpcError;
use tempfile::TempDir;
use wes_core::{ChainId, ContentId, ResourceStore, SecretKey};
use wes_ledger::{EutxoLedger, SledStore};
use wes_node::rpc::types::ErrorData;
use wes_node::rpc::{RpcConfig, RpcToken, WesApiClient};
use wes_node::{
    Client, Config, Consensus, LaunchOptions, NodeBuilder, RunningNode, UploadConfig, launch,
};

const CHAIN: ChainId = ChainId(61);

/// A module exporting `name`: different names, different content.
fn module(name: &str) -> String {
    format!(r#"(module (memory (export "memory") 1 1) (func (export "{name}")))"#)
}

async fn start(
    dir: &TempDir,
    uploads: UploadConfig,
) -> (RunningNode<EutxoLedger<SledStore>>, Client) {
    start_with(dir, uploads, RpcConfig::default()).await
}

async fn start_with(
    dir: &TempDir,
    uploads: UploadConfig,
    rpc_config: RpcConfig,
) -> (RunningNode<EutxoLedger<SledStore>>, Client) {
    let mut config = Config::new(dir.path());
    config.uploads = uploads;
    let contracts =
        wes_node::Contracts::new(std::sync::Arc::new(wes_ispc::WasmExecutor::default()));
    let builder = NodeBuilder::new(config, common::genesis(CHAIN, "uploads"))
        .consensus(|_| {
            Ok(Consensus::instant_seal(
                CHAIN,
                SecretKey::dev("sealer"),
                2_000,
            ))
        })
        .contracts(contracts.clone())
        .verifier(std::sync::Arc::new(contracts.verifier()));
    let running = launch(
        builder.build().unwrap(),
        LaunchOptions {
            rpc: Some("127.0.0.1:0".parse().unwrap()),
            rpc_config,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = Client::new(&format!("http://{}", running.rpc_addr.unwrap())).unwrap();
    (running, client)
}

async fn upload(client: &Client, wat: &str) -> Result<ContentId, RpcError> {
    let code = wat::parse_str(wat).unwrap();
    let id = client
        .api()
        .put_resource(hex::encode(&code), "wasm".into(), "upload".into())
        .await?;
    Ok(id.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn unregistered_uploads_are_collected_once_their_lease_ends() {
    let dir = tempfile::tempdir().unwrap();
    let lease = Duration::from_millis(500);
    let (running, client) = start(
        &dir,
        UploadConfig {
            lease,
            max_leased_bytes: 1 << 20,
            gc_interval: None,
            ..UploadConfig::default()
        },
    )
    .await;
    let store = running.node.resources().clone();
    let alice = SecretKey::dev("alice");
    let kept = deploy_wat(&client, &alice, &module("kept"), "kept").await;
    let dropped = upload(&client, &module("dropped")).await.unwrap();

    // Within the lease both stay, registered or not.
    assert_eq!(running.node.collect_garbage().unwrap().removed, 0);
    produce(&running).await;
    tokio::time::sleep(lease).await;
    let report = running.node.collect_garbage().unwrap();
    assert_eq!(report.removed, 1, "{report:?}");
    assert!(store.has(&kept).unwrap(), "a live output pins it");
    assert!(!store.has(&dropped).unwrap());
    assert_eq!(store.pins().unwrap(), [(kept, 1)]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_past_the_quota_wait_for_leases_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let size = wat::parse_str(module("a")).unwrap().len() as u64;
    let lease = Duration::from_millis(300);
    let (running, client) = start(
        &dir,
        UploadConfig {
            lease,
            max_leased_bytes: 2 * size,
            gc_interval: Some(Duration::from_millis(100)),
            ..UploadConfig::default()
        },
    )
    .await;
    upload(&client, &module("a")).await.unwrap();
    upload(&client, &module("b")).await.unwrap();
    // The same bytes again extend their lease; new ones are over the quota.
    upload(&client, &module("a")).await.unwrap();
    let RpcError::Call(refused) = upload(&client, &module("c")).await.unwrap_err() else {
        panic!("expected the node's refusal");
    };
    let data: ErrorData = serde_json::from_str(refused.data().unwrap().get()).unwrap();
    assert_eq!(
        data.rule.as_deref(),
        Some("upload_quota"),
        "{}",
        refused.message()
    );
    assert_eq!(data.fault.as_deref(), Some("unavailable"));

    // The running node's collector ends the leases and frees the quota.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while upload(&client, &module("c")).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the quota never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.stop().await;
}

/// The rule in a node's refusal.
fn rule_of(e: RpcError) -> Option<String> {
    let RpcError::Call(refused) = e else {
        panic!("expected the node's refusal, got {e}");
    };
    let data: ErrorData = serde_json::from_str(refused.data().unwrap().get()).unwrap();
    data.rule
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_past_its_share_is_refused_while_the_operator_still_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let size = wat::parse_str(module("a")).unwrap().len() as u64;
    let token = RpcToken::generate();
    let (running, client) = start_with(
        &dir,
        UploadConfig {
            max_leased_bytes: 10 * size,
            max_leased_bytes_per_client: 2 * size,
            gc_interval: None,
            ..UploadConfig::default()
        },
        RpcConfig {
            token: Some(token.clone()),
            ..RpcConfig::default()
        },
    )
    .await;
    upload(&client, &module("a")).await.unwrap();
    upload(&client, &module("b")).await.unwrap();
    let refused = upload(&client, &module("c")).await.unwrap_err();
    assert_eq!(rule_of(refused).as_deref(), Some("client_upload_quota"));
    // The operator's client (the token) is held to the whole quota only.
    let url = format!("http://{}", running.rpc_addr.unwrap());
    let operator = Client::with_token(&url, &token).unwrap();
    for name in ["c", "d", "e", "f"] {
        upload(&operator, &module(name)).await.unwrap();
    }
    // Content the client already leased is only extended, not counted again.
    upload(&client, &module("a")).await.unwrap();
    running.stop().await;
}
