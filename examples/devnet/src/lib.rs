//! A local development chain, composed only through the public crates: the EUTXO ledger on
//! sled in a data directory, the PoW + XOR engine on an easy target, a chain manager that
//! validates every block, and funded dev keys. Each block carries a transfer from `alice` to
//! `bob` and a coinbase paying its fee to `miner`. Stop it and start it again: it continues
//! from the data directory.
//!
//! The smallest chain loop; the reference node with JSON-RPC is `wes-node`
//! (`examples/reference-chain`), which the README's first command runs.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use wes_consensus::{ChainManager, PowParams, PowXorEngine, Submitted};
use wes_core::{
    ChainId, Domain, Genesis, Input, Ledger, Lock, OutPoint, Output, SecretKey, SignedTransaction,
    TokenId, Transaction, ValidityWindow, hash,
};
use wes_ledger::{EutxoLedger, LedgerConfig, SledStore};

/// The devnet's chain id.
pub const CHAIN: ChainId = ChainId(1337);

/// What alice sends bob in every block.
pub const TRANSFER: u128 = 1_000;

/// The fee of each transfer.
pub const FEE: u128 = 1_000;

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
    SecretKey::from_seed(*hash(Domain::new("wes/dev-key"), name).as_bytes())
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

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Alice's spendable coin: the change of her latest transfer, or her genesis allocation.
fn alice_coin<L: Ledger>(ledger: &L, genesis: &Genesis) -> Result<(OutPoint, u128)> {
    let alice = Lock::key(dev_key("alice").public_key());
    let tip = ledger.tip().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut hash = tip.hash;
    for _ in 0..tip.height {
        let block = ledger
            .block(&hash)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .context("applied block missing")?;
        for tx in block.transactions.iter().skip(1).rev() {
            for (i, out) in tx.tx.outputs.iter().enumerate() {
                let op = tx.tx.outpoint(i as u32);
                if out.lock == alice
                    && let Some(asset) = out.as_asset()
                    && ledger
                        .unspent(&op)
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                        .is_some()
                {
                    return Ok((op, asset.amount));
                }
            }
        }
        hash = block.header.parent;
    }
    Ok((genesis.coinbase().outpoint(0), 1_000_000_000))
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

/// Runs the devnet until `config.blocks` new blocks are mined (or forever).
pub fn run(config: &DevnetConfig) -> Result<DevnetSummary> {
    let mut params = PowParams::devnet(CHAIN);
    params.block_time_ms = config.block_time_ms.max(1);
    let genesis = genesis(&params);
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("create {}", config.data_dir.display()))?;
    let store = SledStore::open(config.data_dir.join("ledger"))?;
    let ledger = EutxoLedger::open(
        store,
        LedgerConfig::new(CHAIN),
        &genesis,
        Default::default(),
    )?;
    let genesis_header = ledger
        .header(&ledger.genesis_hash())?
        .context("genesis header missing")?;
    let engine = Arc::new(PowXorEngine::for_genesis(params.clone(), &genesis_header)?);
    let mut chain = ChainManager::new(ledger, engine.clone())?;
    let miner = dev_key("miner");
    let miner_lock = Lock::key(miner.public_key());

    if config.verbose {
        let tip = chain.tip()?;
        println!(
            "WES-rs devnet — chain {CHAIN}, data in {}",
            config.data_dir.display()
        );
        println!("  genesis  {}", chain.ledger().genesis_hash());
        println!("  tip      height {} ({})", tip.height, tip.hash);
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

    let mut mined = 0;
    while config.blocks.is_none_or(|n| mined < n) {
        let parent_time = chain.best_header().time_ms;
        let due = parent_time + params.block_time_ms;
        let now = now_ms();
        if now < due {
            std::thread::sleep(Duration::from_millis((due - now).min(60_000)));
        }
        let time_ms = now_ms().max(parent_time + 1);
        let coin = alice_coin(chain.ledger(), &genesis)?;
        let mut block = chain.ledger().build_block(
            vec![transfer(coin)],
            &miner_lock,
            miner.public_key(),
            time_ms,
        )?;
        block.header.target = chain.next_target()?;
        let (sealed, stats) = engine.seal_with_stats(block.header, &AtomicBool::new(false))?;
        block.header = sealed.context("mining cancelled")?;
        let hash = block.hash();
        match chain.submit_block(block, now_ms())? {
            Submitted::Extended { height, .. } => {
                mined += 1;
                if config.verbose {
                    println!(
                        "block {height:>6}  {hash}  1 transfer, fee {FEE}  ({} hashes, {:.0} H/s)",
                        stats.hashes,
                        stats.hash_rate()
                    );
                }
            }
            other => bail!("own block {hash} did not extend the chain: {other:?}"),
        }
    }
    let tip = chain.tip()?;
    Ok(DevnetSummary {
        height: tip.height,
        mined,
    })
}
