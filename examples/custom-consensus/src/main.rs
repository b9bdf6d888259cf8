//! The same chain — ledger, chain manager, block production — under two consensus engines.
//! The only line that differs is the one that builds the engine.
//!
//! Run with `cargo run -p wes-custom-consensus -- pow` or `-- authority`.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use wes_consensus::{ChainManager, PowParams, PowXorEngine, RoundRobinAuthority};
use wes_core::{
    ChainId, CompactTarget, ConsensusEngine, Genesis, Ledger, Lock, Output, SecretKey, TokenId,
};
use wes_ledger::{EutxoLedger, LedgerConfig, MemoryStore};

const CHAIN: ChainId = ChainId(77);

fn main() -> anyhow::Result<()> {
    let which = std::env::args().nth(1).unwrap_or_else(|| "pow".into());
    let key = SecretKey::from_seed([7; 32]);
    let params = PowParams::devnet(CHAIN);
    let genesis = Genesis {
        chain_id: CHAIN,
        time_ms: 1_700_000_000_000,
        // The PoW engine starts from the genesis target; authorities want zero.
        target: if which == "pow" {
            params.pow_limit
        } else {
            CompactTarget(0)
        },
        allocations: vec![Output::asset(
            Lock::key(key.public_key()),
            TokenId::Native,
            1_000,
        )],
        message: "custom-consensus example".into(),
    };
    let ledger = EutxoLedger::open(
        MemoryStore::new(),
        LedgerConfig::new(CHAIN),
        &genesis,
        Default::default(),
    )?;
    let genesis_header = ledger
        .header(&ledger.tip()?.hash)?
        .expect("genesis is stored");

    // ---- The swap: pick an engine. Everything below is the same for both. ----
    let engine: Arc<dyn ConsensusEngine> = match which.as_str() {
        "pow" => Arc::new(PowXorEngine::for_genesis(params.clone(), &genesis_header)?),
        "authority" => Arc::new(RoundRobinAuthority::instant_seal(CHAIN, key.clone())),
        other => anyhow::bail!("unknown engine {other:?}: use `pow` or `authority`"),
    };
    // ---------------------------------------------------------------------------

    let mut chain = ChainManager::new(ledger, engine.clone())?;
    let mut now = genesis.time_ms;
    for _ in 0..5 {
        now += params.block_time_ms;
        let mut block = chain.ledger().build_block(
            vec![],
            &Lock::key(key.public_key()),
            key.public_key(),
            now,
        )?;
        block.header.target = chain.next_target()?;
        block.header = engine
            .seal(block.header, &AtomicBool::new(false))?
            .expect("not cancelled");
        let outcome = chain.submit_block(block, now)?;
        println!("{}: {outcome:?}", engine.name());
    }
    let tip = chain.tip()?;
    println!("{}: height {} tip {}", engine.name(), tip.height, tip.hash);
    Ok(())
}
