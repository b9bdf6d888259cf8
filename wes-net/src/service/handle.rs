//! [`NetworkHandle`]: how the node talks to the running network. Every method is a
//! `Command` sent to the swarm task over a bounded queue; what the task reports back
//! ([`NetInfo`], a response) comes on a oneshot channel.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use wes_core::{
    Block, BlockHash, BlockHeader, ResourceBody, ResourceStore, SignedTransaction, codec,
};
use wes_ures::{ChunkSource, FetchError, FetchReport, Fetcher};

use crate::compact::CompactBlock;
use crate::error::NetError;
use crate::fetch::PeerSource;
use crate::peers::Offence;
use crate::protocol::{Request, Response};

/// One connected peer, as [`NetworkHandle::info`] reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Its id.
    pub peer_id: String,
    /// Its score (0 is neutral, the ban threshold negative).
    pub score: i32,
    /// Its last status, once exchanged.
    pub height: Option<u64>,
    /// Its best tip.
    pub best: Option<String>,
}

/// The network's state, as [`NetworkHandle::info`] reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetInfo {
    /// This node's peer id.
    pub peer_id: String,
    /// Addresses it listens on, with `/p2p/<id>`.
    pub listen: Vec<String>,
    /// Connected peers.
    pub peers: Vec<PeerInfo>,
    /// Peers banned for misbehaviour.
    pub banned: Vec<String>,
    /// Peers blocked by the operator ([`NetworkHandle::block_peer`]).
    pub blocked: Vec<String>,
    /// The peer being synced from, if any.
    pub syncing_from: Option<String>,
    /// Candidate blocks received as the aggregator of their height.
    pub candidates_received: u64,
    /// What gossip brought.
    #[serde(default)]
    pub gossip: GossipStats,
}

/// What gossip brought this node: batches of transactions, and blocks announced compactly
/// with what had to be fetched to rebuild them. Fetches that stay rare mean the pools of
/// the network hold what its blocks include; transactions per batch show how well
/// gossip batches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GossipStats {
    /// Batches of transactions received (decoded, not yet imported).
    pub tx_batches: u64,
    /// Transactions in them.
    pub transactions: u64,
    /// Compact blocks received (with a valid header, new or not).
    pub compact_blocks: u64,
    /// Requests for transactions the pool lacked.
    pub fetches: u64,
    /// Transactions asked for in them.
    pub fetched_transactions: u64,
}

/// A peer's block this node heard of: its header passed the checks and the block was
/// queued for import, as [`NetworkHandle::heard_block`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeardBlock {
    /// Its height.
    pub height: u64,
    /// Its hash.
    pub hash: BlockHash,
    /// When its header arrived.
    pub at: Instant,
}

/// What the handle asks of the swarm task.
pub(super) enum Command {
    /// Transactions this node admitted, to gossip in its next batch.
    Relay(Vec<SignedTransaction>),
    /// A block this node produced, with its compact encoding for gossip.
    Announce {
        block: Block,
        compact: Vec<u8>,
    },
    Request {
        peer: PeerId,
        request: Request,
        reply: oneshot::Sender<Result<Response, NetError>>,
    },
    Penalise(PeerId, Offence),
    Info(oneshot::Sender<NetInfo>),
    SetBlocked(PeerId, bool),
    Dial(Multiaddr),
    Shutdown,
}

/// A cheap, cloneable handle to a running network.
#[derive(Clone)]
pub struct NetworkHandle {
    pub(super) commands: mpsc::Sender<Command>,
    pub(super) peer_id: PeerId,
    pub(super) listen: Arc<Mutex<Vec<Multiaddr>>>,
    /// The peers of this chain (those that exchanged a status), sorted.
    pub(super) chain_peers: Arc<Mutex<Vec<PeerId>>>,
    /// The last peer's block heard of.
    pub(super) heard: Arc<Mutex<Option<HeardBlock>>>,
}

impl std::fmt::Debug for NetworkHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkHandle")
            .field("peer_id", &self.peer_id)
            .finish()
    }
}

impl NetworkHandle {
    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The connected peers of this chain (those that exchanged a status with this node),
    /// sorted: the peer set candidates are routed among, read without a round trip to the
    /// network task (a block producer asks it before each block).
    pub fn chain_peers(&self) -> Vec<PeerId> {
        self.chain_peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The last peer's block this node heard of (gossiped, or sent to it as the height's
    /// aggregator) whose header passed the checks and that was queued for import, read
    /// without a round trip. Its import may take a while under load (the block waits for
    /// the blocks queued before it, and a compact one for the transactions it lacks): a
    /// block producer that sees a block heard of above its tip can wait for it rather than
    /// make a rival for its height. A block found invalid, or whose missing transactions
    /// its sender did not send, is forgotten at once.
    pub fn heard_block(&self) -> Option<HeardBlock> {
        *self.heard.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `header` as the last block heard of.
    pub(super) fn set_heard_block(&self, header: &BlockHeader) {
        let heard = HeardBlock {
            height: header.height,
            hash: header.hash(),
            at: Instant::now(),
        };
        *self.heard.lock().unwrap_or_else(|e| e.into_inner()) = Some(heard);
    }

    /// Forgets the block heard of if it is `hash` (found invalid, or its transactions did
    /// not come): a producer waiting for it goes on at once.
    pub(super) fn forget_heard_block(&self, hash: &BlockHash) {
        let mut heard = self.heard.lock().unwrap_or_else(|e| e.into_inner());
        if heard.is_some_and(|h| h.hash == *hash) {
            *heard = None;
        }
    }

    /// Replaces the list [`chain_peers`](Self::chain_peers) returns.
    pub(super) fn set_chain_peers(&self, peers: impl Iterator<Item = PeerId>) {
        let mut peers: Vec<PeerId> = peers.collect();
        peers.sort();
        *self.chain_peers.lock().unwrap_or_else(|e| e.into_inner()) = peers;
    }

    /// The addresses the node listens on, each ending in `/p2p/<peer id>` (ready to be
    /// another node's bootnode).
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.listen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn send(&self, command: Command) -> Result<(), NetError> {
        self.commands.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => NetError::Busy,
            mpsc::error::TrySendError::Closed(_) => NetError::Stopped,
        })
    }

    /// Relays a transaction the node accepted (from a client) to the network, in the next
    /// batch of transactions it gossips.
    pub fn publish_transaction(&self, tx: &SignedTransaction) -> Result<(), NetError> {
        self.send(Command::Relay(vec![tx.clone()]))
    }

    /// [`publish_transaction`](Self::publish_transaction) for many, in order, with one
    /// command (a burst of single ones could fill the task's queue).
    pub fn publish_transactions(&self, txs: Vec<SignedTransaction>) -> Result<(), NetError> {
        if txs.is_empty() {
            return Ok(());
        }
        self.send(Command::Relay(txs))
    }

    /// Announces a block this node mined: gossiped to all compactly (its transaction ids and
    /// coinbase, encoded on the caller's thread), and sent whole as a candidate to the
    /// aggregator of its height.
    pub fn announce_block(&self, block: &Block) -> Result<(), NetError> {
        self.send(Command::Announce {
            block: block.clone(),
            compact: codec::encode(&CompactBlock::of(block)),
        })
    }

    /// Sends `request` to `peer` and waits for the answer.
    pub async fn request(&self, peer: PeerId, request: Request) -> Result<Response, NetError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Request {
                peer,
                request,
                reply,
            })
            .await
            .map_err(|_| NetError::Stopped)?;
        rx.await.map_err(|_| NetError::Stopped)?
    }

    /// [`request`](Self::request) from a thread outside the runtime (never call it from an
    /// async task: it blocks).
    pub fn request_blocking(&self, peer: PeerId, request: Request) -> Result<Response, NetError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .blocking_send(Command::Request {
                peer,
                request,
                reply,
            })
            .map_err(|_| NetError::Stopped)?;
        rx.blocking_recv().map_err(|_| NetError::Stopped)?
    }

    /// Charges `offence` to `peer` (for evidence the node found itself).
    pub fn penalise(&self, peer: PeerId, offence: Offence) -> Result<(), NetError> {
        self.send(Command::Penalise(peer, offence))
    }

    /// Peers, scores, bans.
    pub async fn info(&self) -> Result<NetInfo, NetError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Info(tx))
            .await
            .map_err(|_| NetError::Stopped)?;
        rx.await.map_err(|_| NetError::Stopped)
    }

    /// [`info`](Self::info) from a thread outside the runtime.
    pub fn info_blocking(&self) -> Result<NetInfo, NetError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .blocking_send(Command::Info(tx))
            .map_err(|_| NetError::Stopped)?;
        rx.blocking_recv().map_err(|_| NetError::Stopped)
    }

    /// Disconnects `peer` and refuses it until [`unblock_peer`](Self::unblock_peer) (an
    /// operator's control, e.g. to partition a test network).
    pub fn block_peer(&self, peer: PeerId) -> Result<(), NetError> {
        self.send(Command::SetBlocked(peer, true))
    }

    /// Lifts [`block_peer`](Self::block_peer) and dials the peer again.
    pub fn unblock_peer(&self, peer: PeerId) -> Result<(), NetError> {
        self.send(Command::SetBlocked(peer, false))
    }

    /// Dials an address.
    pub fn dial(&self, addr: Multiaddr) -> Result<(), NetError> {
        self.send(Command::Dial(addr))
    }

    /// Stops the network.
    pub fn shutdown(&self) {
        let _ = self.commands.try_send(Command::Shutdown);
    }

    /// Downloads the content `resource` registers from connected peers into `store`, each
    /// chunk verified against the content id; peers that serve bad chunks are penalised.
    /// Blocking: call it from the import worker or a blocking thread.
    pub fn fetch_resource<S: ResourceStore + ?Sized>(
        &self,
        resource: &ResourceBody,
        store: &S,
    ) -> Result<FetchReport, FetchError<S::Error>> {
        self.fetch(resource, store, None)
    }

    /// [`fetch_resource`](Self::fetch_resource), asking nothing after `deadline`.
    pub fn fetch_resource_until<S: ResourceStore + ?Sized>(
        &self,
        resource: &ResourceBody,
        store: &S,
        deadline: Instant,
    ) -> Result<FetchReport, FetchError<S::Error>> {
        self.fetch(resource, store, Some(deadline))
    }

    fn fetch<S: ResourceStore + ?Sized>(
        &self,
        resource: &ResourceBody,
        store: &S,
        deadline: Option<Instant>,
    ) -> Result<FetchReport, FetchError<S::Error>> {
        let mut peers = self.info_blocking().map(|i| i.peers).unwrap_or_default();
        peers.sort_by_key(|p| -p.score);
        let sources: Vec<PeerSource> = peers
            .iter()
            .filter_map(|p| p.peer_id.parse().ok())
            .map(|peer| {
                let source = PeerSource::new(self.clone(), peer);
                match deadline {
                    Some(d) => source.until(d),
                    None => source,
                }
            })
            .collect();
        let result =
            Fetcher::new(sources.iter().map(|s| s as &dyn ChunkSource)).fetch(resource, store);
        let faults = match &result {
            Ok(report) => report.faults.clone(),
            Err(e) => e.faults().to_vec(),
        };
        for fault in faults {
            if let Some(s) = sources.get(fault.peer) {
                tracing::warn!(peer = %s.peer(), chunk = fault.index, "bad chunk: {}", fault.error);
                let _ = self.penalise(s.peer(), Offence::InvalidChunk);
            }
        }
        result
    }
}

impl NetworkHandle {
    /// The size connected peers claim for content `id` (the first answer), for content
    /// nothing on chain describes (e.g. a model's circuit file). Only a claim: build a
    /// [`ResourceBody`] with it, check it against your limits, and
    /// [`fetch_resource`](Self::fetch_resource) verifies every chunk against the id, so a
    /// wrong size only makes the fetch fail. Blocking.
    pub fn content_size(&self, id: &wes_core::ContentId) -> Option<u64> {
        let peers = self.info_blocking().map(|i| i.peers).unwrap_or_default();
        peers
            .iter()
            .filter_map(|p| p.peer_id.parse().ok())
            .find_map(|peer| PeerSource::new(self.clone(), peer).size(id).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wes_core::ContentId;

    fn handle(capacity: usize) -> (NetworkHandle, mpsc::Receiver<Command>) {
        let (commands, rx) = mpsc::channel(capacity);
        let net = NetworkHandle {
            commands,
            peer_id: PeerId::random(),
            listen: Arc::new(Mutex::new(Vec::new())),
            chain_peers: Arc::new(Mutex::new(Vec::new())),
            heard: Arc::new(Mutex::new(None)),
        };
        (net, rx)
    }

    #[test]
    fn a_full_queue_is_busy_and_a_stopped_task_is_stopped() {
        let (net, mut rx) = handle(1);
        let peer = PeerId::random();
        assert_eq!(net.penalise(peer, Offence::Malformed), Ok(()));
        assert_eq!(net.block_peer(peer), Err(NetError::Busy));
        assert!(matches!(rx.try_recv(), Ok(Command::Penalise(p, Offence::Malformed)) if p == peer));
        assert_eq!(net.unblock_peer(peer), Ok(()));
        assert!(matches!(rx.try_recv(), Ok(Command::SetBlocked(p, false)) if p == peer));
        drop(rx);
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        assert_eq!(net.dial(addr), Err(NetError::Stopped));
        assert_eq!(net.info_blocking().unwrap_err(), NetError::Stopped);
        let size = Request::Size {
            id: ContentId::default(),
        };
        assert_eq!(
            net.request_blocking(peer, size).unwrap_err(),
            NetError::Stopped
        );
        // Without the task there are no peers to ask.
        assert_eq!(net.content_size(&ContentId::default()), None);
        net.shutdown();
    }

    #[test]
    fn blocking_calls_return_the_task_s_answers() {
        let (net, mut rx) = handle(4);
        let peer = PeerId::random();
        let task = std::thread::spawn(move || {
            let Some(Command::Info(reply)) = rx.blocking_recv() else {
                panic!("info expected")
            };
            let _ = reply.send(NetInfo {
                peer_id: "me".into(),
                listen: Vec::new(),
                peers: Vec::new(),
                banned: vec!["them".into()],
                blocked: Vec::new(),
                syncing_from: None,
                candidates_received: 3,
                gossip: GossipStats::default(),
            });
            let Some(Command::Request {
                peer: to, reply, ..
            }) = rx.blocking_recv()
            else {
                panic!("request expected")
            };
            let _ = reply.send(Ok(Response::Size(Some(7))));
            to
        });
        let info = net.info_blocking().unwrap();
        assert_eq!((info.banned.len(), info.candidates_received), (1, 3));
        let size = Request::Size {
            id: ContentId::default(),
        };
        assert_eq!(
            net.request_blocking(peer, size),
            Ok(Response::Size(Some(7)))
        );
        assert_eq!(task.join().unwrap(), peer);
    }
}
