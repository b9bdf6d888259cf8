//! Shared fixtures: a real `EutxoLedger<MemoryStore>` per node, a PoW engine with a
//! 1-second block time, and block building + mining.
#![allow(dead_code)]

use std::sync::Arc;

use wes_consensus::{ChainManager, HeaderTemplate, PowParams, PowXorEngine, U256, encode_compact};
use wes_core::*;
use wes_ledger::{EutxoLedger, LedgerConfig, MemoryStore};

pub const CHAIN: ChainId = ChainId(9);
pub const T0: u64 = 1_700_000_000_000;
pub type Node = ChainManager<EutxoLedger<MemoryStore>>;

pub fn key(name: &str) -> SecretKey {
    SecretKey::dev(name)
}

/// 1 s blocks, 36 s half-life, limit about 2^255.
pub fn params() -> PowParams {
    PowParams {
        block_time_ms: 1_000,
        half_life_ms: 36_000,
        max_future_drift_ms: 10_000,
        ..PowParams::devnet(CHAIN)
    }
}

/// A target of about `2^256 / work`.
pub fn target_for_work(work: u64) -> CompactTarget {
    encode_compact(U256::MAX / U256::from(work))
}

pub fn genesis(target: CompactTarget) -> Genesis {
    Genesis {
        chain_id: CHAIN,
        time_ms: T0,
        target,
        allocations: vec![Output::asset(
            Lock::key(key("alice").public_key()),
            TokenId::Native,
            1_000_000,
        )],
        message: "wes-consensus tests".into(),
    }
}

pub fn ledger(genesis: &Genesis) -> EutxoLedger<MemoryStore> {
    EutxoLedger::open(
        MemoryStore::new(),
        LedgerConfig::new(CHAIN),
        genesis,
        VerifierRegistry::new(),
    )
    .unwrap()
}

pub fn genesis_header(genesis: &Genesis) -> BlockHeader {
    let l = ledger(genesis);
    l.header(&l.tip().unwrap().hash).unwrap().unwrap()
}

pub fn pow_engine(genesis: &Genesis) -> Arc<PowXorEngine> {
    Arc::new(
        PowXorEngine::for_genesis(params(), &genesis_header(genesis))
            .unwrap()
            .with_threads(1),
    )
}

pub fn node(genesis: &Genesis, engine: Arc<dyn ConsensusEngine>) -> Node {
    ChainManager::new(ledger(genesis), engine).unwrap()
}

/// Solves `header` on this thread (targets in tests are easy).
pub fn solve(mut header: BlockHeader) -> BlockHeader {
    let target = wes_consensus::decode_compact(header.target)
        .unwrap()
        .to_be_bytes::<32>();
    header.nonce = 0;
    let template = HeaderTemplate::new(&header).unwrap();
    let (nonce, _) = template.search(&target, 0, u64::MAX);
    template.header_with(nonce.unwrap())
}

/// A coinbase-only block on `node`'s best tip by `producer` at `time_ms`, with the right
/// target, mined.
pub fn mine_on(node: &Node, producer: &str, time_ms: u64) -> Block {
    let mut block = unsolved_on(node, producer, time_ms);
    block.header = solve(block.header);
    block
}

/// As [`mine_on`] but not solved (nonce 0).
pub fn unsolved_on(node: &Node, producer: &str, time_ms: u64) -> Block {
    let k = key(producer);
    let mut block = node
        .ledger()
        .build_block(vec![], &Lock::key(k.public_key()), k.public_key(), time_ms)
        .unwrap();
    block.header.target = node.next_target().unwrap();
    block
}
