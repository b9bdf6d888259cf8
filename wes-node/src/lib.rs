//! # wes-node
//!
//! The library that turns a chain's chosen modules into a running node. A chain picks its
//! [`ConsensusEngine`](wes_core::ConsensusEngine) and how it produces blocks
//! ([`BlockProducer`]), its [`Ledger`](wes_core::Ledger) ([`ChainLedger`]: the SDK's
//! EUTXO ledger over any key-value store, or its own), its
//! [`ResourceStore`](wes_core::ResourceStore), executors per resource kind, provers and
//! the proof systems it accepts, observers and RPC methods, in a [`NodeBuilder`]; the
//! library runs what every chain needs and no chain should rewrite:
//!
//! - **production**: building blocks from the mempool, sealing through the producer
//!   without holding any lock, cancelling the seal when the tip moves ([`Node::produce_block`],
//!   [`Node::produce_forever`]);
//! - **import and tip following**: the chain manager's fork choice, then the status
//!   snapshot, the mempool, the indexes and the [`TipObserver`]s (external-call settlement)
//!   follow every move of the best chain, reorganisations included ([`Node::import_block`]);
//! - **transactions**: admission with signatures and proofs checked outside the mempool's
//!   lock ([`Node::submit`], [`Node::accept`]);
//! - **peers** ([`network`]): `wes-net`'s backend, with resources fetched before a peer's
//!   block or transaction is verified, within a [`PrefetchPolicy`];
//! - **JSON-RPC** ([`rpc`]): the built-in `wes_*` methods and the chain's own, and the
//!   Rust [`Client`] with the wallet operations (coins, paying, signing constructions);
//! - **lifecycle** ([`launch()`]): services started together and stopped gracefully.
//!
//! Reads (RPC, the network's status) never wait behind an import or a proof: see
//! [`node`]'s locking notes.
//!
//! ```no_run
//! # async fn run() -> Result<(), wes_node::NodeError> {
//! use wes_consensus::PowParams;
//! use wes_core::{ChainId, Genesis, SecretKey};
//! use wes_node::{Config, LaunchOptions, NodeBuilder, launch};
//!
//! let genesis = Genesis {
//!     chain_id: ChainId(7),
//!     time_ms: 1_767_225_600_000,
//!     target: PowParams::devnet(ChainId(7)).pow_limit,
//!     allocations: vec![],
//!     message: "my chain".into(),
//! };
//! let miner = SecretKey::from_seed([1; 32]);
//! let node = NodeBuilder::new(Config::new("my-chain-data"), genesis)
//!     .pow(PowParams::devnet(ChainId(7)), Some(miner.public_key()))
//!     .build()?;
//! let running = launch(node, LaunchOptions {
//!     rpc: Some("127.0.0.1:8645".parse().unwrap()),
//!     produce: true,
//!     ..Default::default()
//! }).await?;
//! // … until Ctrl-C:
//! running.stop().await;
//! # Ok(()) }
//! ```

pub mod builder;
pub mod client;
pub mod construct;
pub mod error;
pub mod events;
pub mod executors;
pub mod feed;
pub mod index;
pub mod ispc;
pub mod launch;
pub mod ledger;
pub mod metrics;
pub mod network;
pub mod node;
pub mod pending;
pub mod producer;
pub mod production;
pub mod resources;
pub mod rpc;
pub mod saga;
pub mod settlement;
pub mod status;
pub mod storage;
pub mod tip;
pub mod uploads;
pub mod view;

pub use builder::{Consensus, ConsensusContext, LedgerContext, NodeBuilder};
pub use client::{Client, ClientError};
pub use construct::{Call, Constructed};
pub use error::NodeError;
pub use events::{EventIndex, EventIndexError, LogEntry, LogMatch, LogPosition};
pub use executors::{DynExecutor, ExecutorError, Executors};
pub use feed::NodeFeed;
pub use index::ChainIndex;
pub use ispc::{Contracts, Models};
pub use launch::{LaunchOptions, RunningNode, launch};
pub use ledger::ChainLedger;
pub use metrics::NodeMetrics;
pub use network::{NodeBackend, PrefetchPolicy};
pub use node::{
    Config, DEFAULT_MAX_REORG_DEPTH, DEFAULT_PRODUCER_STAGGER_MS, DEFAULT_TIE_WINDOW_MS, Node,
    now_ms,
};
pub use pending::{OwnedOutput, ReadTag};
pub use producer::{BlockProducer, PowProducer, SealProducer};
pub use production::producer_rank;
pub use resources::{ResourceError, Resources};
pub use settlement::{Settlement, SettlementConfig, SettlementError};
pub use status::ChainStatus;
pub use storage::{DEFAULT_LEDGER_CACHE_BYTES, StorageConfig};
pub use tip::{TipMoved, TipObserver};
pub use uploads::{UploadConfig, Uploader};
pub use view::NodeView;
