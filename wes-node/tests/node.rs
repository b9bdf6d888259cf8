//! The library on its own: reads that never wait behind the chain lock, the built-in RPC
//! beside a chain's own methods, production and tip observers, a builder without a
//! consensus refused.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jsonrpsee::RpcModule;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::rpc_params;
use wes_consensus::PowParams;
use wes_core::{
    ChainId, Genesis, Input, Lock, Output, SecretKey, TokenId, Transaction, ValidityWindow,
};
use wes_node::{Config, LaunchOptions, NodeBuilder, NodeError, TipMoved, TipObserver, launch};

const CHAIN: ChainId = ChainId(31);

fn genesis() -> Genesis {
    Genesis {
        chain_id: CHAIN,
        time_ms: 1_767_225_600_000,
        target: PowParams::devnet(CHAIN).pow_limit,
        allocations: vec![Output::asset(
            Lock::key(SecretKey::dev("alice").public_key()),
            TokenId::Native,
            1_000_000,
        )],
        message: "wes-node tests".into(),
    }
}

fn transfer() -> wes_core::SignedTransaction {
    Transaction {
        version: Transaction::VERSION,
        chain_id: CHAIN,
        inputs: vec![Input::spend(genesis().coinbase().outpoint(0))],
        outputs: vec![Output::asset(
            Lock::key(SecretKey::dev("bob").public_key()),
            TokenId::Native,
            900_000,
        )],
        validity: ValidityWindow::ALWAYS,
        execution: None,
    }
    .sign(&[&SecretKey::dev("alice")])
}

#[derive(Default)]
struct Moves(Mutex<Vec<u64>>);

impl TipObserver for Moves {
    fn tip_moved(&self, moved: &TipMoved) {
        let mut heights = self.0.lock().unwrap();
        heights.extend(moved.applied.iter().map(|b| b.header.height));
    }
}

#[test]
fn produced_blocks_include_transactions_and_reach_tip_observers() {
    let dir = tempfile::tempdir().unwrap();
    let moves = Arc::new(Moves::default());
    let node = NodeBuilder::new(Config::new(dir.path()), genesis())
        .pow(
            PowParams::devnet(CHAIN),
            Some(SecretKey::dev("miner").public_key()),
        )
        .tip_observer(moves.clone())
        .build()
        .unwrap();
    let txid = node.submit(transfer()).unwrap();
    let (height, hash, n) = node.produce_block().unwrap();
    assert_eq!((height, n), (1, 1));
    assert_eq!(node.status().best, hash);
    assert_eq!(node.index().transaction(&txid), Some((hash, 1)));
    assert!(node.mempool().is_empty());
    node.produce_block().unwrap();
    assert_eq!(*moves.0.lock().unwrap(), vec![1, 2]);
    let bob = Lock::key(SecretKey::dev("bob").public_key()).address();
    assert_eq!(node.index().outputs_of(&bob).len(), 1);
}

#[test]
fn reads_and_admission_do_not_wait_behind_the_chain_lock() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeBuilder::new(Config::new(dir.path()), genesis())
        .pow(PowParams::devnet(CHAIN), None)
        .build()
        .unwrap();
    // An import in progress holds the chain lock (here: for as long as the test wants).
    let chain = node.chain();
    let (done, finished) = mpsc::channel();
    let reader = node.clone();
    std::thread::spawn(move || {
        let status = reader.status();
        let tip = wes_core::Ledger::tip(&**reader.ledger()).unwrap();
        let alice = Lock::key(SecretKey::dev("alice").public_key()).address();
        let outputs = reader.index().outputs_of(&alice).len();
        let admitted = reader.accept(transfer()).is_ok();
        done.send((status.height, tip.height, outputs, admitted))
            .unwrap();
    });
    let got = finished
        .recv_timeout(Duration::from_secs(20))
        .expect("reads and admission waited for the chain lock");
    assert_eq!(got, (0, 0, 1, true));
    drop(chain);
}

#[test]
fn a_chain_without_consensus_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = NodeBuilder::new(Config::new(dir.path()), genesis())
        .build()
        .unwrap_err();
    assert!(matches!(err, NodeError::Config(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_serves_the_built_in_methods_and_the_chains_own() {
    let dir = tempfile::tempdir().unwrap();
    let node = NodeBuilder::new(Config::new(dir.path()), genesis())
        .pow(
            PowParams::devnet(CHAIN),
            Some(SecretKey::dev("miner").public_key()),
        )
        .build()
        .unwrap();
    let mut mine = RpcModule::new(());
    mine.register_method("myChain_hello", |_, _, _| "hello")
        .unwrap();
    let running = launch(
        node,
        LaunchOptions {
            rpc: Some("127.0.0.1:0".parse().unwrap()),
            rpc_methods: vec![mine.into()],
            produce: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let url = format!("http://{}", running.rpc_addr.unwrap());
    let client = HttpClientBuilder::default().build(&url).unwrap();
    let chain: u32 = client.request("wes_chainId", rpc_params![]).await.unwrap();
    assert_eq!(chain, CHAIN.0);
    let hello: String = client
        .request("myChain_hello", rpc_params![])
        .await
        .unwrap();
    assert_eq!(hello, "hello");
    // The producer runs: the chain grows (PoW devnet blocks every 2 s by default).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let height: u64 = client
            .request("wes_blockNumber", rpc_params![])
            .await
            .unwrap();
        if height >= 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no block produced");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let err = client
        .request::<serde_json::Value, _>("wes_constructCall", rpc_params![serde_json::json!({})])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("Invalid params") || err.to_string().contains("no WASM"),
        "{err}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_past_the_reorganisation_limit_are_reported_final() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    config.fork_policy.max_reorg_depth = Some(2);
    let node = NodeBuilder::new(config, genesis())
        .pow(
            PowParams::devnet(CHAIN),
            Some(SecretKey::dev("miner").public_key()),
        )
        .build()
        .unwrap();
    let txid = node.submit(transfer()).unwrap();
    let producer = node.clone();
    let produce = move || {
        let producer = producer.clone();
        tokio::task::spawn_blocking(move || producer.produce_block().unwrap())
    };
    produce().await.unwrap();
    let running = launch(
        node.clone(),
        LaunchOptions {
            rpc: Some("127.0.0.1:0".parse().unwrap()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = HttpClientBuilder::default()
        .build(format!("http://{}", running.rpc_addr.unwrap()))
        .unwrap();
    let info = |client: &jsonrpsee::http_client::HttpClient| {
        let client = client.clone();
        let txid = txid.to_string();
        async move {
            let info: serde_json::Value = client
                .request("wes_getTransaction", rpc_params![txid])
                .await
                .unwrap();
            (
                info["confirmations"].as_u64().unwrap(),
                info["finalized"].as_bool().unwrap(),
            )
        }
    };
    assert_eq!(node.status().finalized, 0);
    assert_eq!(info(&client).await, (1, false));
    produce().await.unwrap();
    assert_eq!(info(&client).await, (2, false));
    produce().await.unwrap();
    // Height 3: blocks at height 1 and below are two deep, beyond any reorganisation.
    assert_eq!(node.status().finalized, 1);
    assert_eq!(info(&client).await, (3, true));
    let (_, health) = wes_node::rpc::ops::health(&node).await;
    assert_eq!(health["finalized"], 1);
    running.stop().await;
}

#[test]
fn a_node_keeps_to_its_checkpoints_and_does_not_produce_below_the_minimum_work() {
    let dir = tempfile::tempdir().unwrap();
    let build = |config: Config| {
        NodeBuilder::new(config, genesis())
            .pow(
                PowParams::devnet(CHAIN),
                Some(SecretKey::dev("miner").public_key()),
            )
            .build()
    };
    let node = build(Config::new(dir.path())).unwrap();
    let (_, first, _) = node.produce_block().unwrap();
    let work = node.status().work;
    node.produce_block().unwrap();
    let (_, third, _) = node.produce_block().unwrap();
    drop(node);

    // Restarted with a checkpoint on its own chain: blocks up to it are final.
    let mut config = Config::new(dir.path());
    config.checkpoints = [(1, first)].into_iter().collect();
    let node = build(config).unwrap();
    assert_eq!(node.status().best, third);
    assert_eq!(node.status().finalized, 1);
    drop(node);

    // A checkpoint its chain contradicts: the node says so and does not start.
    let mut config = Config::new(dir.path());
    config.checkpoints = [(2, first)].into_iter().collect();
    let Err(err) = build(config) else {
        panic!("a node started on a chain that contradicts its checkpoint");
    };
    assert!(
        err.to_string().contains("contradicts the checkpoint"),
        "{err}"
    );

    // A minimum above the chain's work: the node follows the chain but produces nothing.
    let mut config = Config::new(dir.path());
    config.min_chain_work = work * 100;
    let node = build(config).unwrap();
    let err = node.produce_block().unwrap_err();
    assert!(matches!(err, NodeError::BelowMinimumWork { .. }), "{err}");
    assert_eq!(wes_core::Blame::rule(&err), Some("below_minimum_work"));
    assert_eq!(node.status().best, third, "nothing produced");
}
