//! A chain whose consensus the user wrote: proof of authority with a rotating committee
//! ([`engine`](mod@engine)), composed with the `wes-node` library in [`open`]. The library runs it like
//! any other engine: production through the engine's own [`BlockProducer`]
//! ([`engine::RotationProducer`]), import, fork choice, networking, RPC.
//!
//! [`BlockProducer`]: wes_node::BlockProducer

pub mod engine;

use std::path::Path;
use std::sync::Arc;

use wes_core::{ChainId, CompactTarget, Genesis, Lock, Output, PublicKey, SecretKey, TokenId};
use wes_ledger::{EutxoLedger, SledStore};
use wes_node::{Config, Consensus, Node, NodeBuilder, NodeError};

use engine::{RotatingAuthority, RotationProducer};

/// The example chain's id.
pub const CHAIN: ChainId = ChainId(4_711);

/// The authority pool: five dev keys.
pub fn pool() -> Vec<SecretKey> {
    (0..5)
        .map(|i| SecretKey::dev(&format!("authority-{i}")))
        .collect()
}

/// Committees of three, rotating every four blocks.
pub fn engine(local: &[SecretKey]) -> RotatingAuthority {
    let keys = pool().iter().map(SecretKey::public_key).collect();
    let mut engine = RotatingAuthority::new(CHAIN, keys, 3, 4).expect("a valid committee");
    for k in local {
        engine = engine.with_key(k.clone());
    }
    engine
}

/// The genesis: alice holds a million; no proof of work (target zero).
pub fn genesis() -> Genesis {
    Genesis {
        chain_id: CHAIN,
        time_ms: 1_767_225_600_000,
        target: CompactTarget(0),
        allocations: vec![Output::asset(
            Lock::key(SecretKey::dev("alice").public_key()),
            TokenId::Native,
            1_000_000,
        )],
        message: "rotating authorities".into(),
    }
}

/// A node of the chain in `dir`, sealing the turns of the `local` authority keys (none: a
/// follower), a block every `block_time_ms`, fees to `reward`.
///
/// # Errors
/// The node's.
pub fn open(
    dir: &Path,
    local: &[SecretKey],
    reward: PublicKey,
    block_time_ms: u64,
) -> Result<Arc<Node<EutxoLedger<SledStore>>>, NodeError> {
    let engine = Arc::new(engine(local));
    let producer = (!local.is_empty()).then(|| {
        Arc::new(RotationProducer::new(engine.clone(), reward, block_time_ms))
            as Arc<dyn wes_node::BlockProducer>
    });
    let mut config = Config::new(dir);
    config.block_time_ms = block_time_ms;
    // The swap: the library's defaults for everything, this consensus.
    NodeBuilder::new(config, genesis())
        .consensus(move |_| {
            Ok(Consensus {
                engine,
                producer,
                candidates: None,
            })
        })
        .build()
}
