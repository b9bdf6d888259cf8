//! A development node for the tests: instant-seal blocks, JSON-RPC on a free port of
//! 127.0.0.1, and a client of it (shared by the test files; each uses part of it).
#![allow(dead_code)]

use tempfile::TempDir;
use wes_core::{ChainId, CompactTarget, Genesis, Lock, Output, SecretKey, TokenId};
use wes_ledger::{EutxoLedger, SledStore};
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
    let chain = genesis.chain_id;
    let node = NodeBuilder::new(Config::new(dir.path()), genesis)
        .consensus(move |_| {
            Ok(Consensus::instant_seal(
                chain,
                SecretKey::dev("sealer"),
                block_time_ms,
            ))
        })
        .build()
        .unwrap();
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
