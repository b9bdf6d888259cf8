//! Block propagation and transaction gossip between five `wes-node` nodes on 127.0.0.1
//! (`cargo bench -p wes-reference-chain --bench propagation`).
//!
//! Five nodes run in this process, each with its own sled ledger, URES and libp2p swarm,
//! connected over TCP + noise + yamux exactly as separate processes would be. Every round one
//! node (in turn) mines a block; the latency is from the moment the miner has imported it
//! until the last of the other four has it as its tip (imported and verified, not just
//! received), polled every 100 µs. Then 1,024 signed transfers are submitted to one node and
//! timed until all are in the last node's mempool (each receiver verifies every one), and a
//! block of them is timed to all nodes: gossiped compactly, rebuilt from their pools.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wes_core::{Input, Ledger, Lock, Output, TokenId, Transaction, ValidityWindow};
use wes_ledger::Limits;
use wes_reference_chain::chain::RefNode;
use wes_reference_chain::config::{Allocation, ChainSpec, NodeConfig};
use wes_reference_chain::keys::dev_key;

const NODES: usize = 5;
const TXS: usize = 1_024;

fn config(dir: &std::path::Path, i: usize) -> NodeConfig {
    let allocations = (0..TXS)
        .map(|k| Allocation {
            public_key: hex::encode(dev_key(&format!("k{k}")).public_key().0),
            amount: 1_000_000_000,
            token: None,
        })
        .collect();
    NodeConfig {
        data_dir: dir.join(format!("node-{i}")),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        // A producer for `produce_block`; nothing mines on its own (no producer thread).
        mine: true,
        miner_key: "miner".into(),
        connectors: Vec::new(),
        network: Default::default(),
        explorer_dir: None,
        call_validity_blocks: None,
        rpc: Default::default(),
        uploads: Default::default(),
        storage: Default::default(),
        chain: ChainSpec {
            chain_id: 4242,
            block_time_ms: 2_000,
            genesis_time_ms: 1_767_225_600_000,
            message: "propagation bench".into(),
            fee_per_byte: 1,
            fee_per_cu: 1,
            proof_systems: vec!["replay".into()],
            max_block_txs: Limits::default().max_block_txs,
            max_block_bytes: Limits::default().max_block_bytes,
            max_block_cu: Limits::default().max_block_cu,
            max_tx_cu: Limits::default().max_tx_cu,
            fee_tokens: Vec::new(),
            allocations,
            checkpoints: Vec::new(),
            min_chain_work: None,
        },
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    // `cargo bench` measures; `cargo test` (which runs benches once, without `--bench`) only
    // checks that it works, with fewer blocks.
    let measure = std::env::args().any(|a| a == "--bench");
    let rounds = if measure { 200 } else { 20 };
    let tmp = tempfile::tempdir().unwrap();
    let nodes: Vec<Arc<RefNode>> = (0..NODES)
        .map(|i| {
            let miner = dev_key(&format!("miner-{i}"));
            wes_reference_chain::chain::open(&config(tmp.path(), i), Some(&miner)).unwrap()
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    let first = runtime
        .block_on(wes_node::network::start(&nodes[0], &listen, &[]))
        .unwrap();
    let boot = first.listen_addrs();
    let mut nets = vec![first];
    for n in &nodes[1..] {
        nets.push(
            runtime
                .block_on(wes_node::network::start(n, &listen, &boot))
                .unwrap(),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while nets
        .iter()
        .any(|n| n.info_blocking().map_or(0, |i| i.peers.len()) < NODES - 1)
    {
        assert!(Instant::now() < deadline, "the nodes did not all connect");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let gossipsub build its mesh.
    std::thread::sleep(Duration::from_secs(2));

    let mut latencies = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let miner = &nodes[round % NODES];
        let (_, hash, _) = miner.produce_block().unwrap();
        let t0 = Instant::now();
        for n in &nodes {
            while n.status().best != hash {
                assert!(t0.elapsed() < Duration::from_secs(10), "block {round} lost");
                std::thread::sleep(Duration::from_micros(100));
            }
        }
        latencies.push(t0.elapsed());
    }
    latencies.sort();
    println!(
        "block propagation to all of {NODES} nodes ({rounds} blocks): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );

    // Transaction gossip: each allocation spent once, submitted to node 0.
    let genesis = config(tmp.path(), 0)
        .chain
        .genesis(wes_consensus::PowParams::devnet(wes_core::ChainId(4242)).pow_limit)
        .unwrap();
    let coinbase = genesis.coinbase();
    let txs: Vec<_> = (0..TXS)
        .map(|k| {
            let key = dev_key(&format!("k{k}"));
            Transaction {
                version: Transaction::VERSION,
                chain_id: wes_core::ChainId(4242),
                inputs: vec![Input::spend(coinbase.outpoint(k as u32))],
                outputs: vec![Output::asset(
                    Lock::key(dev_key(&format!("k{}", (k + 1) % TXS)).public_key()),
                    TokenId::Native,
                    1_000_000_000 - 10_000,
                )],
                validity: ValidityWindow::ALWAYS,
                execution: None,
            }
            .sign(&[&key])
        })
        .collect();
    let last = &nodes[NODES - 1];
    let t0 = Instant::now();
    for tx in txs {
        nodes[0].submit(tx).unwrap();
    }
    let submitted = t0.elapsed();
    while last.mempool().len() < TXS {
        assert!(t0.elapsed() < Duration::from_secs(120), "transactions lost");
        std::thread::sleep(Duration::from_millis(1));
    }
    let all = t0.elapsed();
    println!(
        "transaction gossip: {TXS} transfers submitted to node 0 in {:.0} ms, all in node {}'s mempool after {:.0} ms: {:.0} tx/s",
        submitted.as_secs_f64() * 1e3,
        NODES - 1,
        all.as_secs_f64() * 1e3,
        TXS as f64 / all.as_secs_f64()
    );

    // A block of those transfers, which every pool now holds: gossiped compactly, rebuilt
    // from the pools.
    let (_, hash, _) = nodes[0].produce_block().unwrap();
    let t0 = Instant::now();
    for n in &nodes {
        while n.status().best != hash {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "the full block was lost"
            );
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    let latency = t0.elapsed();
    let block = nodes[0].ledger().block(&hash).unwrap().unwrap();
    let fetched: u64 = nets
        .iter()
        .map(|n| n.info_blocking().unwrap().gossip.fetched_transactions)
        .sum();
    let batches: u64 = nets
        .iter()
        .map(|n| n.info_blocking().unwrap().gossip.tx_batches)
        .sum();
    println!(
        "block of {} transactions to all of {NODES} nodes: {:.2} ms; gossiped as {} bytes (whole: {} bytes); transactions fetched by all receivers: {fetched}; transaction batches received by all nodes: {batches}",
        block.transactions.len(),
        latency.as_secs_f64() * 1e3,
        wes_core::codec::encoded_len(&wes_net::CompactBlock::of(&block)),
        wes_core::codec::encoded_len(&block),
    );
    for n in &nets {
        n.shutdown();
    }
}
