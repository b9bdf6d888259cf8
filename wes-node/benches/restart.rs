//! How long a node takes to start on a long chain (`cargo bench -p wes-node --bench
//! restart`; `WES_RESTART_TXS=10000,100000,1000000` picks the history lengths).
//!
//! A generator writes a chain of transfers straight into a sled ledger (1,000 keys, one
//! transfer each per block, to a random one of them), then the node is built on it, as at
//! every restart: `NodeBuilder::build` opens the stores and the chain manager and is ready
//! to serve. Beside it, in the same run, the anchor: the index rebuild every start did
//! before the indexes were persistent (every block read, every output looked up).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use wes_core::{
    Address, BlockHash, ChainId, CompactTarget, Genesis, Input, Ledger, Lock, OutPoint, Output,
    SecretKey, TokenId, Transaction, TxId, ValidityWindow, VerifierRegistry,
};
use wes_ledger::{EutxoLedger, LedgerConfig, SledStore};
use wes_node::{Config, Consensus, NodeBuilder};

const CHAIN: ChainId = ChainId(77);
const KEYS: usize = 1_000;

fn genesis(keys: &[SecretKey]) -> Genesis {
    Genesis {
        chain_id: CHAIN,
        time_ms: 1_767_225_600_000,
        target: CompactTarget(0),
        allocations: keys
            .iter()
            .map(|k| Output::asset(Lock::key(k.public_key()), TokenId::Native, 1 << 60))
            .collect(),
        message: "restart bench".into(),
    }
}

fn open_ledger(dir: &Path, genesis: &Genesis) -> EutxoLedger<SledStore> {
    EutxoLedger::open(
        SledStore::open(dir.join("ledger")).unwrap(),
        LedgerConfig::new(CHAIN),
        genesis,
        VerifierRegistry::new(),
    )
    .unwrap()
}

/// Writes `txs` transfers (in blocks of `KEYS`) into a sled ledger under `dir/ledger`.
fn generate(dir: &Path, keys: &[SecretKey], genesis: &Genesis, txs: usize) {
    let ledger = open_ledger(dir, genesis);
    let coinbase = genesis.coinbase();
    let mut coins: Vec<(OutPoint, u128)> = (0..KEYS)
        .map(|i| (coinbase.outpoint(i as u32), 1u128 << 60))
        .collect();
    let mut seed = 7u64;
    let mut written = 0;
    let mut time_ms = genesis.time_ms;
    while written < txs {
        let n = KEYS.min(txs - written);
        let block_txs: Vec<_> = (0..n)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let to = Lock::key(keys[seed as usize % KEYS].public_key());
                let (coin, amount) = coins[i];
                let change = amount - 1 - 1_000;
                let tx = Transaction {
                    version: Transaction::VERSION,
                    chain_id: CHAIN,
                    inputs: vec![Input::spend(coin)],
                    outputs: vec![
                        Output::asset(to, TokenId::Native, 1),
                        Output::asset(Lock::key(keys[i].public_key()), TokenId::Native, change),
                    ],
                    validity: ValidityWindow::ALWAYS,
                    execution: None,
                };
                coins[i] = (tx.outpoint(1), change);
                tx.sign(&[&keys[i]])
            })
            .collect();
        time_ms += 2_000;
        let reward = Lock::key(keys[0].public_key());
        let block = ledger
            .build_block(block_txs, &reward, keys[0].public_key(), time_ms)
            .unwrap();
        ledger.apply_block(&block).unwrap();
        written += n;
    }
}

/// The index every start rebuilt before: owners' outputs and transactions' blocks, from the
/// whole applied chain.
fn old_rebuild<L: Ledger>(ledger: &L) -> usize {
    let mut owners: HashMap<Address, HashMap<OutPoint, Output>> = HashMap::new();
    let mut txs: HashMap<TxId, (BlockHash, u64)> = HashMap::new();
    for height in 0..=ledger.tip().unwrap().height {
        let hash = ledger.hash_at(height).unwrap().unwrap();
        let block = ledger.block(&hash).unwrap().unwrap();
        for tx in &block.transactions {
            for i in 0..tx.tx.outputs.len() as u32 {
                let op = tx.tx.outpoint(i);
                if let Some(out) = ledger.unspent(&op).unwrap() {
                    owners
                        .entry(out.lock.address())
                        .or_default()
                        .insert(op, out);
                }
            }
            txs.insert(tx.id(), (hash, height));
        }
    }
    owners.len() + txs.len()
}

/// Builds the node on `dir`, as a restart does; returns how long that took.
fn start(dir: &Path, genesis: &Genesis) -> Duration {
    let started = Instant::now();
    let node = NodeBuilder::new(Config::new(dir), genesis.clone())
        .consensus(|_| {
            Ok(Consensus::instant_seal(
                CHAIN,
                SecretKey::dev("sealer"),
                2_000,
            ))
        })
        .build()
        .unwrap();
    let took = started.elapsed();
    assert!(node.index().transaction(&genesis.coinbase().id()).is_some());
    took
}

fn main() {
    // `cargo bench` measures; `cargo test` runs it once, small, to check that it works.
    let measure = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = match std::env::var("WES_RESTART_TXS") {
        Ok(list) => list
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
        Err(_) if measure => vec![10_000, 100_000],
        Err(_) => vec![2_000],
    };
    let keys: Vec<SecretKey> = (0..KEYS)
        .map(|i| SecretKey::dev(&format!("restart {i}")))
        .collect();
    let genesis = genesis(&keys);
    println!(
        "| transactions of history | node start (persistent indexes) | index rebuild every start did before | ratio |"
    );
    println!("|---:|---:|---:|---:|");
    for txs in sizes {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), &keys, &genesis, txs);
        start(dir.path(), &genesis); // the first open after generation
        let new = (0..3).map(|_| start(dir.path(), &genesis)).min().unwrap();
        let ledger = open_ledger(dir.path(), &genesis);
        let began = Instant::now();
        std::hint::black_box(old_rebuild(&ledger));
        let old = began.elapsed();
        println!(
            "| {txs} | {:.3} s | {:.3} s | {:.1} × |",
            new.as_secs_f64(),
            old.as_secs_f64(),
            old.as_secs_f64() / new.as_secs_f64()
        );
    }
}
