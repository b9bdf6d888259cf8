//! Block production on the node: building a block from the pool, sealing it without the
//! chain lock, importing and announcing it; the producer loop; and the order in which the
//! producers of a height take turns.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::TryLockError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wes_consensus::Submitted;
use wes_core::{BlockHash, BlockHeader, CandidateRouter, SignedTransaction, TxId};
use wes_ledger::BlockBudget;

use crate::error::NodeError;
use crate::ledger::ChainLedger;
use crate::node::{Node, lock, now_ms};
use crate::tip::TipMoved;

impl<L: ChainLedger> Node<L> {
    /// Builds a block on the tip from the mempool, seals it with the producer, imports and
    /// announces it. Returns its height, hash and number of transactions (coinbase
    /// excluded).
    ///
    /// # Errors
    /// [`NodeError::NoProducer`]; [`NodeError::BelowMinimumWork`] before the node has
    /// synced a chain with the chain's minimum work; [`NodeError::LostRace`] when another
    /// block took the height meanwhile, or a peer's block for it was heard of
    /// ([`awaits_peer_block`](Self::awaits_peer_block)); [`NodeError::Cancelled`] at
    /// shutdown; the ledger's or engine's failure.
    pub fn produce_block(&self) -> Result<(u64, BlockHash, usize), NodeError> {
        let producer = self.producer.clone().ok_or(NodeError::NoProducer)?;
        // No work is spent on a block the ledger could not store, nor on a chain the network
        // has long left.
        self.writable()?;
        let work = self.status().work;
        if work < self.config.min_chain_work {
            return Err(NodeError::BelowMinimumWork {
                work,
                minimum: self.config.min_chain_work,
            });
        }
        let chain = self.chain();
        let ctx = self.next_context();
        let txs: Vec<SignedTransaction> = self
            .mempool()
            .select(BlockBudget::of(&self.ledger.limits()).min(BlockBudget::new(
                self.config.max_block_txs,
                self.config.max_block_bytes,
            )))
            .into_iter()
            .map(|p| p.tx.clone())
            .collect();
        let reward = producer.reward_lock();
        let key = producer.producer();
        // Pooled transactions that no longer fit the tip are left out in one pass, and leave
        // the pool with their descendants, which need them.
        let (mut block, invalid) = self
            .ledger
            .build_block_skipping(txs, &reward, key, ctx.time_ms)
            .map_err(NodeError::ledger)?;
        let mut dropped: Vec<TxId> = Vec::new();
        if !invalid.is_empty() {
            tracing::warn!(
                count = invalid.len(),
                "left pooled transactions that are invalid on the tip out of a block"
            );
            let mut gone: HashSet<TxId> = HashSet::new();
            let mut pool = self.mempool();
            for id in invalid {
                gone.insert(id);
                gone.extend(pool.remove(&id).iter().map(|p| p.tx.id()));
            }
            dropped.extend(gone);
        }
        block.header.target = chain.next_target().map_err(NodeError::chain)?;
        // Seal without the chain lock: peers' blocks keep arriving meanwhile, and one that
        // moves the tip cancels this seal (as does shutdown).
        let cancel = Arc::new(AtomicBool::new(false));
        *lock(&self.sealing) = Some(cancel.clone());
        let parent = chain.best_header().clone();
        drop(chain);
        if !dropped.is_empty() {
            self.announce(TipMoved {
                dropped,
                ..TipMoved::default()
            });
        }
        // Building takes seconds under load: a peer's block for this height heard of
        // meanwhile (the height's aggregator's, most likely) would have this one as a rival.
        let rival = self.awaits_peer_block(&parent);
        if self.stopping() || rival {
            cancel.store(true, Ordering::SeqCst);
        }
        let sealed = producer.seal(block.header.clone(), &cancel);
        {
            let mut slot = lock(&self.sealing);
            if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, &cancel)) {
                *slot = None;
            }
        }
        let Some(header) = sealed? else {
            if self.stopping() {
                return Err(NodeError::Cancelled);
            }
            let outcome = if rival {
                "a peer's block for this height was heard of while building"
            } else {
                "the tip moved while sealing"
            };
            return Err(NodeError::LostRace {
                hash: BlockHash::default(),
                outcome: outcome.into(),
            });
        };
        block.header = header;
        let hash = block.hash();
        if self.awaits_peer_block(&parent) {
            return Err(NodeError::LostRace {
                hash,
                outcome: "a peer's block for this height was heard of while sealing".into(),
            });
        }
        let n = block.transactions.len() - 1;
        // Announced before this node's own import, which takes a while for a large block
        // (as BIP 152 relays a block before validating it): the block was built on the
        // ledger's tip from checked transactions, so it is valid on its parent, and the
        // producers after this one in the height's order hear of it sooner (see
        // `awaits_peer_block`). The network serves its transactions from memory meanwhile.
        // A block whose parent is no longer the tip is not announced: it would only be a
        // rival (its import below says so).
        if let Some(net) = self.network()
            && self.status().best == parent.hash()
            && let Err(e) = net.announce_block(&block)
        {
            tracing::warn!("announcing {hash}: {e}");
        }
        match self.import_block(block.clone()).map_err(NodeError::chain)? {
            Submitted::Extended { .. } | Submitted::Reorganized { .. } => {
                if let Some(net) = self.network() {
                    // What the block registers and this node lacks (a deployment relayed
                    // to it): fetched now, as a node importing the block does.
                    crate::network::fetch_registrations(self, &block, net);
                }
                self.produced.fetch_add(1, Ordering::Relaxed);
                self.metrics.blocks_produced.inc();
                Ok((block.header.height, hash, n))
            }
            other => Err(NodeError::LostRace {
                hash,
                outcome: format!("{other:?}"),
            }),
        }
    }

    /// How long after its slot this node waits before producing the child of `parent`: its
    /// rank in the height's producer order times [`Config::producer_stagger_ms`](crate::Config::producer_stagger_ms).
    ///
    /// The order is the consensus's candidate routing
    /// ([`CandidateRouter`]; for PoW + XOR, the XOR distance of each peer to the height's
    /// key) over this node and its chain's connected peers: the aggregator the network
    /// already sends the height's candidates to comes first and produces at the slot; the
    /// next produces only if no block came within a stagger, and so on. Nodes that would all
    /// produce at the same instant (every devnet node at every tick) take turns instead, so
    /// few heights are contested, and a silent aggregator costs one stagger. 0 without a
    /// network, a router, peers or a stagger. A politeness of honest producers, not a rule
    /// blocks are checked against.
    pub fn production_delay(&self, parent: &BlockHeader) -> u64 {
        let stagger = self.config.producer_stagger_ms;
        let (Some(router), Some(net)) = (self.candidates.as_ref(), self.network()) else {
            return 0;
        };
        if stagger == 0 {
            return 0;
        }
        let me = net.peer_id().to_bytes();
        let mut peers: Vec<Vec<u8>> = net.chain_peers().iter().map(|p| p.to_bytes()).collect();
        peers.push(me.clone());
        peers.sort();
        peers.dedup();
        let header = BlockHeader {
            height: parent.height + 1,
            parent: parent.hash(),
            ..parent.clone()
        };
        producer_rank(&**router, &header, peers, &me).saturating_mul(stagger)
    }

    /// Whether a peer's block above `parent` (this node's tip) was heard of less than
    /// [`Config::peer_block_wait_ms`](crate::Config::peer_block_wait_ms) ago and is not
    /// known yet ([`NetworkHandle::heard_block`](wes_net::NetworkHandle::heard_block)): a
    /// producer waits for its import rather than make a rival for its height. A block that
    /// is refused, or never comes, holds production back by the wait at most; one whose
    /// header fails the checks (its proof of work) holds nothing back.
    pub fn awaits_peer_block(&self, parent: &BlockHeader) -> bool {
        let wait = Duration::from_millis(self.config.peer_block_wait_ms);
        let Some(heard) = self.network().and_then(|net| net.heard_block()) else {
            return false;
        };
        if heard.height <= parent.height || heard.at.elapsed() >= wait {
            return false;
        }
        // Not waiting for the chain's lock: while an import holds it, the block is not
        // known yet.
        let known = match self.chain.try_lock() {
            Ok(chain) => chain.knows(&heard.hash),
            Err(TryLockError::Poisoned(chain)) => chain.into_inner().knows(&heard.hash),
            Err(TryLockError::WouldBlock) => false,
        };
        !known
    }

    /// Produces blocks until [`shutdown`](Node::shutdown), each at the producer's next slot
    /// (after [`production_delay`](Node::production_delay)). Returns at once if the node has
    /// no producer.
    pub fn produce_forever(&self) {
        let Some(producer) = self.producer.clone() else {
            return;
        };
        // Repeated failures (a full disk) are logged every half minute, not every try.
        let mut logged: Option<Instant> = None;
        while !self.stopping() {
            let parent = self.status().header;
            let Some(slot) = producer.next_slot(&parent) else {
                // Not this node's turn: wait for the tip to move.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            };
            let due = slot.saturating_add(self.production_delay(&parent));
            let now = now_ms();
            if now < due {
                std::thread::sleep(Duration::from_millis((due - now).min(200)));
                continue;
            }
            if self.awaits_peer_block(&parent) {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            match self.produce_block() {
                Ok((height, hash, n)) => {
                    if logged.take().is_some() {
                        tracing::info!("block production resumed");
                    }
                    tracing::info!(height, %hash, txs = n, "produced block")
                }
                Err(e) if self.stopping() => tracing::debug!("production stopped: {e}"),
                Err(e @ NodeError::LostRace { .. }) => tracing::debug!("{e}"),
                Err(e @ NodeError::BelowMinimumWork { .. }) => {
                    if logged.is_none_or(|at| at.elapsed() >= Duration::from_secs(30)) {
                        tracing::info!("{e}");
                        logged = Some(Instant::now());
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => {
                    if logged.is_none_or(|at| at.elapsed() >= Duration::from_secs(30)) {
                        tracing::error!("block production failed: {e}");
                        logged = Some(Instant::now());
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
    }
}

/// The rank of `me` among `peers` (byte encodings of peer ids, sorted, `me` among them) in
/// `router`'s order for `header`'s height: the aggregator it elects is 0, the one it elects
/// among the rest 1, and so on; 0 when it elects nobody.
pub fn producer_rank(
    router: &dyn CandidateRouter,
    header: &BlockHeader,
    mut peers: Vec<Vec<u8>>,
    me: &[u8],
) -> u64 {
    let mut rank = 0;
    loop {
        match router.aggregator(header, &peers) {
            Some(i) if i < peers.len() => {
                if peers[i] == *me {
                    return rank;
                }
                peers.remove(i);
                rank += 1;
            }
            _ => return 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use wes_consensus::{XorAggregator, elect_aggregator, height_key};
    use wes_core::ChainId;

    use super::*;

    fn header(height: u64) -> BlockHeader {
        BlockHeader {
            version: 1,
            chain_id: ChainId(7),
            parent: BlockHash::default(),
            height,
            time_ms: 0,
            tx_root: Default::default(),
            witness_root: Default::default(),
            state_root: Default::default(),
            producer: wes_core::PublicKey([0; 32]),
            target: wes_core::CompactTarget(0),
            nonce: 0,
            seal: Vec::new(),
        }
    }

    #[test]
    fn the_producers_of_a_height_take_turns_in_the_routers_order() {
        let router = XorAggregator { chain: ChainId(7) };
        let mut peers: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 38]).collect();
        peers.sort();
        let mut leaders = HashSet::new();
        for height in 1..=40 {
            let header = header(height);
            let mut ranks: Vec<u64> = peers
                .iter()
                .map(|me| producer_rank(&router, &header, peers.clone(), me))
                .collect();
            // The aggregator the network sends the height's candidates to goes first.
            let aggregator = elect_aggregator(&peers, &height_key(ChainId(7), height)).unwrap();
            assert_eq!(ranks[aggregator], 0);
            leaders.insert(aggregator);
            ranks.sort();
            assert_eq!(ranks, [0, 1, 2, 3, 4], "height {height}: one turn each");
        }
        assert_eq!(leaders.len(), 5, "every producer leads some heights");
    }

    #[test]
    fn a_router_that_elects_nobody_gives_no_order() {
        struct Nobody;
        impl CandidateRouter for Nobody {
            fn aggregator(&self, _: &BlockHeader, _: &[Vec<u8>]) -> Option<usize> {
                None
            }
        }
        let peers = vec![vec![1u8], vec![2u8]];
        let header = header(1);
        assert_eq!(producer_rank(&Nobody, &header, peers.clone(), &peers[1]), 0);
    }
}
