//! # wes-net
//!
//! libp2p networking for WES chains: TCP + noise + yamux transport, identify and Kademlia
//! for discovery, gossipsub topics per chain for blocks and transactions (message ids by
//! content hash, size limits, validation before relaying; blocks announced compactly, see
//! [`compact`]), and one request-response
//! protocol for block sync (status → locator → headers → bodies), resource chunks (the URES
//! fetch interface, every chunk verified) and candidate blocks for the height's XOR-elected
//! aggregator. Peers that send garbage, oversize frames, invalid blocks or bad chunks lose
//! score and are banned for a while; every queue is bounded.
//!
//! A node plugs in by implementing [`ChainBackend`] and calling [`start`]:
//!
//! ```no_run
//! # async fn run(backend: std::sync::Arc<dyn wes_net::ChainBackend>, genesis: wes_core::BlockHash) -> Result<(), wes_net::NetError> {
//! use wes_net::{NetConfig, libp2p::identity::Keypair};
//! let mut config = NetConfig::new(wes_core::ChainId(1), genesis, vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()]);
//! config.bootnodes = vec![/* "/ip4/127.0.0.1/tcp/30333/p2p/12D3…".parse()? */];
//! let net = wes_net::start(config, Keypair::generate_ed25519(), backend).await?;
//! println!("listening on {:?}", net.listen_addrs());
//! # Ok(()) }
//! ```
//!
//! Then give the node the [`NetworkHandle`]: it announces the blocks it mines
//! ([`NetworkHandle::announce_block`]) and relays the transactions clients send it
//! ([`NetworkHandle::publish_transaction`], gossiped in batches); blocks and transactions
//! from peers arrive through [`ChainBackend::import_block`] and
//! [`ChainBackend::import_transactions`].

pub mod backend;
pub mod codec;
pub mod compact;
pub mod error;
pub mod fetch;
pub mod peers;
pub mod protocol;
pub mod service;

pub use backend::{ChainBackend, Imported, Rejection};
pub use compact::{CompactBlock, CompactError, PartialBlock, Prefilled, Rebuilt};
pub use error::NetError;
pub use fetch::PeerSource;
pub use peers::{Offence, PeerBook, ScoreConfig, Verdict};
pub use protocol::{Limits, Request, Response, Status, Topics};
pub use service::{GossipStats, HeardBlock, NetConfig, NetInfo, NetworkHandle, PeerInfo, start};

/// The libp2p version this crate is built on, for code that talks to its swarm directly
/// (identities, multiaddresses, test peers).
pub use libp2p;
