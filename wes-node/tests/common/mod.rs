//! A development node for the tests: instant-seal blocks, JSON-RPC on a free port of
//! 127.0.0.1, and a client of it (shared by the test files; each uses part of it).
#![allow(dead_code)]

use tempfile::TempDir;
use wes_core::{
    ChainId, CompactTarget, ContentId, Genesis, Lock, OutPoint, Output, ResourceKind, SecretKey,
    TokenId,
};
use wes_ledger::{EutxoLedger, SledStore};
use wes_node::client::{ConstructedTx, resource_body};
use wes_node::rpc::WesApiClient;
use wes_node::rpc::types::{CallParams, PaymentParams};
use wes_node::{Client, Config, Consensus, LaunchOptions, NodeBuilder, RunningNode, launch};

/// A genesis for `chain` funding the dev key `alice` with 1,000,000 native.
pub fn genesis(chain: ChainId, message: &str) -> Genesis {
    Genesis {
        chain_id: chain,
        time_ms: 1_767_225_600_000,
        target: CompactTarget(0),
        allocations: vec![Output::asset(
            Lock::key(SecretKey::dev("alice").public_key()),
            TokenId::Native,
            1_000_000,
        )],
        message: message.into(),
    }
}

/// A node with `config` on `genesis`, sealing a block every `block_time_ms` with the dev
/// key `sealer` (instant seal), not launched.
pub fn instant_seal_node(
    config: Config,
    genesis: Genesis,
    block_time_ms: u64,
) -> std::sync::Arc<wes_node::Node<EutxoLedger<SledStore>>> {
    let chain = genesis.chain_id;
    NodeBuilder::new(config, genesis)
        .consensus(move |_| {
            Ok(Consensus::instant_seal(
                chain,
                SecretKey::dev("sealer"),
                block_time_ms,
            ))
        })
        .build()
        .unwrap()
}

/// A running node, its client, and the directory it lives in (removed when dropped).
pub struct DevNode {
    pub running: RunningNode<EutxoLedger<SledStore>>,
    pub client: Client,
    pub dir: TempDir,
}

/// Starts a node on `genesis` sealing a block every `block_time_ms` with the dev key
/// `sealer`; it produces on its own only when `produce` (otherwise the test calls
/// `produce_block`).
pub async fn dev_node(genesis: Genesis, block_time_ms: u64, produce: bool) -> DevNode {
    let dir = tempfile::tempdir().unwrap();
    let node = instant_seal_node(Config::new(dir.path()), genesis, block_time_ms);
    let running = launch(
        node,
        LaunchOptions {
            rpc: Some("127.0.0.1:0".parse().unwrap()),
            produce,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = Client::new(&format!("http://{}", running.rpc_addr.unwrap())).unwrap();
    DevNode {
        running,
        client,
        dir,
    }
}

/// Starts a node on `genesis` in `dir` with WASM contracts (verified by replay), the ledger
/// rules `ledger` (the defaults for the chain without), RPC on a free port, producing only
/// when the test calls `produce_block`; and a client of it.
pub async fn contract_node(
    dir: &TempDir,
    genesis: Genesis,
    ledger: Option<wes_ledger::LedgerConfig>,
) -> (RunningNode<EutxoLedger<SledStore>>, Client) {
    let chain = genesis.chain_id;
    let contracts =
        wes_node::Contracts::new(std::sync::Arc::new(wes_ispc::WasmExecutor::default()));
    let mut builder = NodeBuilder::new(Config::new(dir.path()), genesis)
        .consensus(move |_| {
            Ok(Consensus::instant_seal(
                chain,
                SecretKey::dev("sealer"),
                2_000,
            ))
        })
        .contracts(contracts.clone())
        .verifier(std::sync::Arc::new(contracts.verifier()));
    if let Some(config) = ledger {
        builder = builder.ledger_config(config);
    }
    let running = launch(
        builder.build().unwrap(),
        LaunchOptions {
            rpc: Some("127.0.0.1:0".parse().unwrap()),
            produce: false,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = Client::new(&format!("http://{}", running.rpc_addr.unwrap())).unwrap();
    (running, client)
}

/// Produces one block now; its height.
pub async fn produce(running: &RunningNode<EutxoLedger<SledStore>>) -> u64 {
    let node = running.node.clone();
    tokio::task::spawn_blocking(move || node.produce_block().unwrap().0)
        .await
        .unwrap()
}

/// Stores `wat` as a contract and registers it on chain as `alice` (mined at the next
/// block); its content id.
pub async fn deploy_wat(client: &Client, alice: &SecretKey, wat: &str, name: &str) -> ContentId {
    let code = wat::parse_str(wat).unwrap();
    let id: ContentId = client
        .api()
        .put_resource(hex::encode(&code), "wasm".into(), name.into())
        .await
        .unwrap()
        .parse()
        .unwrap();
    let body = resource_body(id, ResourceKind::Wasm, code.len() as u64, name);
    client.register_resource(alice, body, 10_000).await.unwrap();
    id
}

/// The node's construction of `entry()` of `resource` for `key`, paying a fee of 200,000,
/// and the fee input it was asked to spend.
pub async fn construct(
    client: &Client,
    key: &SecretKey,
    resource: &ContentId,
    entry: &str,
) -> (OutPoint, ConstructedTx) {
    let fee = client.fee_input(key, 300_000).await.unwrap();
    let constructed = client
        .api()
        .construct_call(CallParams {
            resource: resource.to_string(),
            entry: entry.into(),
            args: String::new(),
            typed_args: None,
            payment: PaymentParams {
                fee_inputs: vec![fee.to_string()],
                change: Some(hex::encode(key.public_key().0)),
                fee: "200000".into(),
                fee_token: None,
                sponsor: None,
                cu_limit: 1_000_000,
            },
        })
        .await
        .unwrap();
    (fee, constructed)
}
