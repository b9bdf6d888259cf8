//! # wes-consensus
//!
//! Consensus for WES chains, through the [`wes_core::ConsensusEngine`] trait:
//!
//! - [`PowXorEngine`]: SHA3-256 proof of work under Bitcoin-style compact targets
//!   ([`target`]), difficulty retargeted every block by ASERT ([`asert`]), median-time-past
//!   and future-drift limits, fork choice by cumulative work `Σ 2^256/(target+1)` and
//!   equal-work ties broken by XOR distance ([`xor`]); a multi-threaded, cancellable
//!   [`Miner`] that reports its hash rate.
//! - [`RoundRobinAuthority`]: a second engine (signed round-robin authority set, or instant
//!   seal with one key) — swap it in where the PoW engine goes.
//! - [`ChainManager`]: the validation pipeline (header → body → ledger → state root), branch
//!   tracking, fork choice, reorgs through [`wes_core::Ledger::reorg`], confirmations.
//! - [`elect_aggregator`]: the peer XOR-closest to a height key, for `wes-net` to collect a
//!   height's candidates.
//!
//! ```
//! use std::sync::atomic::AtomicBool;
//! use wes_consensus::{PowParams, PowXorEngine};
//! use wes_core::{BlockHash, BlockHeader, ChainId, CompactTarget, ConsensusEngine, Hash, PublicKey};
//!
//! let params = PowParams::devnet(ChainId(1));
//! let genesis = BlockHeader {
//!     version: BlockHeader::VERSION, chain_id: ChainId(1), parent: BlockHash(Hash::ZERO),
//!     height: 0, time_ms: 1_700_000_000_000, tx_root: Hash::ZERO, witness_root: Hash::ZERO,
//!     state_root: Hash::ZERO, producer: PublicKey([0; 32]), target: params.pow_limit,
//!     nonce: 0, seal: vec![],
//! };
//! let engine = PowXorEngine::for_genesis(params, &genesis).unwrap().with_threads(1);
//! let mut child = BlockHeader { parent: genesis.hash(), height: 1,
//!     time_ms: genesis.time_ms + 5_000, ..genesis.clone() };
//! child.target = engine.next_target(&genesis, &std::collections::HashMap::new()).unwrap();
//! let sealed = engine.seal(child, &AtomicBool::new(false)).unwrap().unwrap();
//! engine.validate_header(&sealed).unwrap();
//! ```

pub mod asert;
pub mod authority;
pub mod chain;
pub mod checkpoints;
#[cfg(feature = "testing")]
pub mod conformance;
pub mod error;
pub mod miner;
pub mod pow;
pub mod target;
pub mod xor;

pub use authority::{ROUND_ROBIN_ENGINE, RoundRobinAuthority};
pub use chain::{ChainManager, DEFAULT_MAX_ORPHANS, ForkPolicy, Submitted};
pub use checkpoints::Checkpoints;
pub use error::ChainError;
pub use miner::{HeaderTemplate, Miner, MinerStats};
pub use pow::{AsertAnchor, POW_XOR_ENGINE, PowParams, PowXorEngine, median_time_past};
pub use target::{U256, decode_compact, encode_compact, meets_target, work_of};
pub use xor::{XorAggregator, elect_aggregator, height_key, peer_key, tie_key, xor_tie_break};
