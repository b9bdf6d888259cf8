//! [`NetConfig`]: how a network is set up, and its defaults.

use std::sync::Arc;
use std::time::Duration;

use libp2p::Multiaddr;
use wes_core::{BlockHash, CandidateRouter, ChainId};

use crate::peers::ScoreConfig;
use crate::protocol::Limits;

/// How a network is set up.
#[derive(Clone)]
pub struct NetConfig {
    /// Addresses to listen on (`/ip4/127.0.0.1/tcp/0` picks a free port).
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start (and again when the node has no peers).
    pub bootnodes: Vec<Multiaddr>,
    /// The chain.
    pub chain_id: ChainId,
    /// Its genesis hash: peers on another genesis are refused.
    pub genesis: BlockHash,
    /// Message size limits.
    pub limits: Limits,
    /// Peer scoring.
    pub scores: ScoreConfig,
    /// Blocks and transactions waiting for import, at most (beyond it, gossip is ignored).
    pub import_queue: usize,
    /// Bytes of blocks and transactions waiting for import, at most.
    pub import_queue_bytes: usize,
    /// Requests from peers served at once (beyond it, requests are refused).
    pub max_serving: usize,
    /// Connected peers at most.
    pub max_peers: usize,
    /// How long a request may take.
    pub request_timeout: Duration,
    /// How often peers' statuses are refreshed (and sync started from a peer ahead).
    pub status_interval: Duration,
    /// Where produced blocks go besides gossip (the consensus's aggregator election);
    /// `None`: gossip only.
    pub candidates: Option<Arc<dyn CandidateRouter>>,
    /// The least cumulative work a chain must carry before sync fetches any of its bodies
    /// (the chain's `nMinimumChainWork`, raised with releases as the chain grows): a new
    /// node is not led down a long, cheap branch. 0: any chain with more work than ours.
    pub min_chain_work: u128,
    /// How long an admitted transaction waits for others to be gossiped with, at most.
    pub tx_batch_interval: Duration,
    /// Transactions per gossiped batch, at most (its bytes are bounded by
    /// [`Limits::max_gossip_bytes`]).
    pub max_tx_batch: usize,
}

impl std::fmt::Debug for NetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetConfig")
            .field("listen", &self.listen)
            .field("bootnodes", &self.bootnodes)
            .field("chain_id", &self.chain_id)
            .field("genesis", &self.genesis)
            .field("limits", &self.limits)
            .field("max_peers", &self.max_peers)
            .field("candidate_routing", &self.candidates.is_some())
            .finish_non_exhaustive()
    }
}

impl NetConfig {
    /// Defaults for chain `chain_id` with genesis `genesis`, listening on `listen`.
    pub fn new(chain_id: ChainId, genesis: BlockHash, listen: Vec<Multiaddr>) -> Self {
        NetConfig {
            listen,
            bootnodes: Vec::new(),
            chain_id,
            genesis,
            limits: Limits::default(),
            scores: ScoreConfig::default(),
            import_queue: 16_384,
            import_queue_bytes: 64 << 20,
            max_serving: 16,
            max_peers: 50,
            request_timeout: Duration::from_secs(10),
            status_interval: Duration::from_secs(2),
            candidates: None,
            min_chain_work: 0,
            tx_batch_interval: Duration::from_millis(20),
            max_tx_batch: 1_024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_queues_hold_the_largest_messages() {
        let c = NetConfig::new(ChainId(1), BlockHash::default(), Vec::new());
        // A queue smaller than one message would drop every block of the largest size.
        assert!(c.import_queue_bytes >= c.limits.max_gossip_bytes);
        assert!(c.import_queue_bytes >= c.limits.max_response_bytes);
        assert!(c.max_serving > 0 && c.max_peers > 0);
        assert!(format!("{c:?}").contains("candidate_routing: false"));
    }
}
