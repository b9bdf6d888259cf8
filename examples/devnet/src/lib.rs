//! A local development chain composed with the `wes-node` library: the defaults (the EUTXO
//! ledger on sled in a data directory, URES on disk), PoW + XOR on an easy target, and funded
//! dev keys. The library's producer mines; a [`TipObserver`] keeps one transfer from `alice`
//! to `bob` waiting for every block, and a coinbase pays its fee to `miner`. Stop it and
//! start it again: it continues from the data directory.
//!
//! The smallest chain on the library; the reference node with JSON-RPC is `wes-node`
//! (`examples/reference-chain`), which the README's first command runs.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use anyhow::{Context, Result};
use wes_consensus::PowParams;
use wes_core::{
    ChainId, Domain, Genesis, Input, Lock, OutPoint, Output, SecretKey, SignedTransaction, TokenId,
    Transaction, ValidityWindow, hash,
};
use wes_ledger::{EutxoLedger, SledStore};
use wes_node::{Config, Node, NodeBuilder, TipMoved, TipObserver};

/// The devnet's chain id.
pub const CHAIN: ChainId = ChainId(1337);

/// What alice sends bob in every block.
pub const TRANSFER: u128 = 1_000;

/// The fee of each transfer.
pub const FEE: u128 = 1_000;

/// The devnet's node.
pub type DevNode = Node<EutxoLedger<SledStore>>;

/// How to run the devnet.
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// Where the ledger lives.
    pub data_dir: PathBuf,
    /// Stop after this many new blocks (`None`: run until killed).
    pub blocks: Option<u64>,
    /// Time between blocks, in milliseconds.
    pub block_time_ms: u64,
    /// Print a line per block.
    pub verbose: bool,
}

/// Where a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevnetSummary {
    /// Height of the tip.
    pub height: u64,
    /// Blocks mined by this run.
    pub mined: u64,
}

/// A dev key, derived from its name so every run (and every reader) gets the same one.
pub fn dev_key(name: &str) -> SecretKey {
    SecretKey::dev(name)
}

/// The devnet genesis: alice and bob hold a billion units each.
pub fn genesis(params: &PowParams) -> Genesis {
    Genesis {
        chain_id: CHAIN,
        // Fixed, so that every run of every checkout builds the same genesis.
        time_ms: 1_767_225_600_000,
        target: params.pow_limit,
        allocations: vec![
            Output::asset(
                Lock::key(dev_key("alice").public_key()),
                TokenId::Native,
                1_000_000_000,
            ),
            Output::asset(
                Lock::key(dev_key("bob").public_key()),
                TokenId::Native,
                1_000_000_000,
            ),
        ],
        message: "WES-rs devnet".into(),
    }
}

/// Alice's largest spendable coin, from the node's owner index.
fn alice_coin(node: &DevNode) -> Option<(OutPoint, u128)> {
    node.index()
        .outputs_of(&Lock::key(dev_key("alice").public_key()).address())
        .into_iter()
        .filter_map(|(op, out)| out.as_asset().map(|a| (op, a.amount)))
        .max_by_key(|(_, amount)| *amount)
}

fn transfer(coin: (OutPoint, u128)) -> SignedTransaction {
    let alice = dev_key("alice");
    Transaction {
        version: Transaction::VERSION,
        chain_id: CHAIN,
        inputs: vec![Input::spend(coin.0)],
        outputs: vec![
            Output::asset(
                Lock::key(dev_key("bob").public_key()),
                TokenId::Native,
                TRANSFER,
            ),
            Output::asset(
                Lock::key(alice.public_key()),
                TokenId::Native,
                coin.1 - TRANSFER - FEE,
            ),
        ],
        validity: ValidityWindow::ALWAYS,
        execution: None,
    }
    .sign(&[&alice])
}

/// The devnet's workload as a tip observer: after each block, alice's next transfer waits
/// in the mempool for the next one; after `stop_after` blocks the node is asked to stop.
struct Workload {
    node: OnceLock<Weak<DevNode>>,
    blocks: AtomicU64,
    stop_after: Option<u64>,
    verbose: bool,
}

impl Workload {
    fn send_next(&self, node: &DevNode) {
        if let Some(coin) = alice_coin(node)
            && let Err(e) = node.submit(transfer(coin))
        {
            eprintln!("devnet: the next transfer was refused: {e}");
        }
    }
}

impl TipObserver for Workload {
    fn tip_moved(&self, moved: &TipMoved) {
        let Some(node) = self.node.get().and_then(Weak::upgrade) else {
            return;
        };
        for block in &moved.applied {
            let n = self.blocks.fetch_add(1, Ordering::SeqCst) + 1;
            if self.verbose {
                println!(
                    "block {:>6}  {}  {} transfer(s), fee {FEE} each",
                    block.header.height,
                    block.hash(),
                    block.transactions.len() - 1,
                );
            }
            if self.stop_after.is_some_and(|max| n >= max) {
                node.shutdown();
                return;
            }
        }
        if !moved.applied.is_empty() {
            self.send_next(&node);
        }
    }
}

/// Runs the devnet until `config.blocks` new blocks are mined (or forever).
///
/// # Errors
/// The data directory or the ledger cannot be opened.
pub fn run(config: &DevnetConfig) -> Result<DevnetSummary> {
    let mut params = PowParams::devnet(CHAIN);
    params.block_time_ms = config.block_time_ms.max(1);
    let miner = dev_key("miner");
    let workload = Arc::new(Workload {
        node: OnceLock::new(),
        blocks: AtomicU64::new(0),
        stop_after: config.blocks,
        verbose: config.verbose,
    });
    let mut settings = Config::new(&config.data_dir);
    settings.block_time_ms = params.block_time_ms;
    let node = NodeBuilder::new(settings, genesis(&params))
        .pow(params.clone(), Some(miner.public_key()))
        .tip_observer(workload.clone())
        .build()
        .context("open the devnet")?;
    let _ = workload.node.set(Arc::downgrade(&node));

    if config.verbose {
        let status = node.status();
        println!(
            "WES-rs devnet — chain {CHAIN}, data in {}",
            config.data_dir.display()
        );
        println!("  genesis  {}", status.genesis);
        println!("  tip      height {} ({})", status.height, status.best);
        for name in ["alice", "bob", "miner"] {
            let key = dev_key(name);
            println!(
                "  {name:<8} {}  (dev key seed {})",
                Lock::key(key.public_key()).address(),
                hash(Domain::new("wes/dev-key"), name)
            );
        }
        println!(
            "  mining a block every {} ms; Ctrl-C to stop\n",
            params.block_time_ms
        );
    }

    if config.blocks != Some(0) {
        workload.send_next(&node);
        // The library's production loop, on this thread, until the workload stops it.
        node.produce_forever();
    }
    Ok(DevnetSummary {
        height: node.status().height,
        mined: node.produced(),
    })
}
