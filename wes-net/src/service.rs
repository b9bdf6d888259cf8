//! The network service: one libp2p swarm driven by one task, a worker thread that imports
//! blocks and transactions in arrival order, and a [`NetworkHandle`] to talk to both.
//!
//! ```text
//!  peers ⇄ swarm task ──(bounded queue)──▶ import worker ──▶ ChainBackend
//!            ▲   │                              │
//!            │   └──spawn_blocking (serving)────┤
//!            └────────── feedback ◀─────────────┘
//! ```
//!
//! The swarm task never calls the backend for more than a cheap header check: serving peers'
//! requests runs on blocking threads (at most [`NetConfig::max_serving`] at once), imports on
//! the worker, and their results come back as feedback. Every queue is bounded; what does not
//! fit is dropped (a gossip message is ignored, a request refused) rather than buffered.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId, TopicHash};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent, dial_opts::DialOpts};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, allow_block_list, connection_limits, identify, kad,
    noise, tcp, yamux,
};
use serde::Serialize;
use tokio::sync::{Semaphore, mpsc, oneshot};
use wes_core::{
    Block, BlockHash, CandidateRouter, ChainId, ResourceBody, ResourceStore, SignedTransaction,
    codec,
};
use wes_ures::{ChunkSource, FetchError, FetchReport, Fetcher};

use crate::backend::{ChainBackend, Imported, Rejection};
use crate::codec::{FrameCodec, FrameTooLarge};
use crate::error::NetError;
use crate::fetch::PeerSource;
use crate::peers::{Offence, PeerBook, ScoreConfig, Verdict};
use crate::protocol::{
    IDENTIFY_PROTOCOL, KAD_PROTOCOL, Limits, PROTOCOL, Request, Response, Status, Topics,
    check_header_chain, message_id,
};

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
        }
    }
}

/// One connected peer, as [`NetworkHandle::info`] reports it.
#[derive(Clone, Debug, Serialize)]
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
#[derive(Clone, Debug, Serialize)]
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
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    limits: connection_limits::Behaviour,
    identify: identify::Behaviour,
    kad: kad::Behaviour<kad::store::MemoryStore>,
    gossipsub: gossipsub::Behaviour,
    rr: request_response::Behaviour<FrameCodec>,
}

enum Command {
    Publish {
        blocks: bool,
        data: Vec<u8>,
    },
    Announce(Block),
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

/// Where a block being imported came from.
enum Origin {
    Gossip(MessageId),
    Sync { epoch: u64, last: bool },
    Candidate(ResponseChannel<Vec<u8>>),
}

enum Job {
    Block {
        block: Block,
        from: PeerId,
        origin: Origin,
    },
    Tx {
        tx: SignedTransaction,
        from: PeerId,
        id: MessageId,
    },
}

enum Feedback {
    Block {
        from: PeerId,
        origin: Origin,
        result: Result<Imported, Rejection>,
    },
    Tx {
        from: PeerId,
        id: MessageId,
        result: Result<bool, Rejection>,
    },
    Headers {
        peer: PeerId,
        epoch: u64,
        result: HeadersChecked,
    },
    Respond {
        channel: ResponseChannel<Vec<u8>>,
        response: Response,
        /// Held until the response is handed to the swarm, so the serving limit also
        /// bounds responses waiting in the feedback queue.
        _permit: tokio::sync::OwnedSemaphorePermit,
    },
}

/// Unknown hashes to fetch and the cursor, or the offence the headers show.
type HeadersChecked = Result<(VecDeque<BlockHash>, BlockHash, u64), (Offence, String)>;

/// Checks a peer's headers: a chain starting on a known block, each passing the engine's
/// header checks. Returns those not known yet and the last hash.
fn check_headers(backend: &dyn ChainBackend, headers: &[wes_core::BlockHeader]) -> HeadersChecked {
    if let Err(i) = check_header_chain(headers, |h| backend.knows_block(h)) {
        return Err((
            Offence::BadSyncResponse,
            format!("headers do not form a chain at {i}"),
        ));
    }
    for h in headers {
        backend
            .check_header(h)
            .map_err(|e| (Offence::InvalidBlock, e.message))?;
    }
    let last = headers.last().map(|h| h.hash()).unwrap_or_default();
    let unknown = headers
        .iter()
        .map(|h| h.hash())
        .filter(|h| !backend.knows_block(h))
        .collect();
    let height = headers.last().map_or(0, |h| h.height);
    Ok((unknown, last, height))
}

enum Pending {
    Reply(oneshot::Sender<Result<Response, NetError>>),
    Status,
    Headers(u64),
    Blocks(u64, Vec<BlockHash>),
    Candidate,
}

struct SyncJob {
    peer: PeerId,
    /// Tells this sync's requests and imports from those of an abandoned one.
    epoch: u64,
    /// Hashes whose headers were checked and whose bodies are still to fetch.
    queue: VecDeque<BlockHash>,
    /// The last header received: the next headers request continues after it, so a branch
    /// longer than one batch is followed even while it has less work than ours.
    cursor: Option<BlockHash>,
    /// The cursor's height: every batch of headers must end above it.
    cursor_height: Option<u64>,
    /// Bodies asked for so far.
    fetched: usize,
    started: Instant,
}

/// A cheap, cloneable handle to a running network.
#[derive(Clone)]
pub struct NetworkHandle {
    commands: mpsc::Sender<Command>,
    peer_id: PeerId,
    listen: Arc<Mutex<Vec<Multiaddr>>>,
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

    /// Relays a transaction the node accepted (from a client) to the network.
    pub fn publish_transaction(&self, tx: &SignedTransaction) -> Result<(), NetError> {
        self.send(Command::Publish {
            blocks: false,
            data: codec::encode(tx),
        })
    }

    /// Announces a block this node mined: gossiped to all, and sent as a candidate to the
    /// aggregator of its height.
    pub fn announce_block(&self, block: &Block) -> Result<(), NetError> {
        self.send(Command::Announce(block.clone()))
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

/// Starts the network on the current tokio runtime: listens, dials the bootnodes, and
/// returns once the listen addresses are known.
///
/// # Errors
/// [`NetError::Transport`] if the transport cannot be built or an address cannot be
/// listened on.
pub async fn start(
    config: NetConfig,
    keypair: Keypair,
    backend: Arc<dyn ChainBackend>,
) -> Result<NetworkHandle, NetError> {
    let topics = Topics::new(config.chain_id, &config.genesis);
    let mut swarm = build_swarm(&config, keypair)?;
    let blocks_topic = IdentTopic::new(topics.blocks.clone());
    let txs_topic = IdentTopic::new(topics.transactions.clone());
    let gs = &mut swarm.behaviour_mut().gossipsub;
    gs.subscribe(&blocks_topic)
        .map_err(|e| NetError::Transport(e.to_string()))?;
    gs.subscribe(&txs_topic)
        .map_err(|e| NetError::Transport(e.to_string()))?;
    for addr in &config.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| NetError::Transport(format!("listen on {addr}: {e}")))?;
    }
    let peer_id = *swarm.local_peer_id();
    // Wait for the listeners to report their addresses (port 0 resolved).
    let mut listen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while listen.len() < config.listen.len() {
        match tokio::time::timeout_at(deadline, swarm.select_next_some()).await {
            Ok(SwarmEvent::NewListenAddr { address, .. }) => {
                listen.push(address.with_p2p(peer_id).unwrap_or_else(|a| a));
            }
            Ok(SwarmEvent::ListenerError { error, .. }) => {
                return Err(NetError::Transport(error.to_string()));
            }
            Ok(_) => {}
            Err(_) => return Err(NetError::Transport("no listen address after 10 s".into())),
        }
    }
    for addr in &config.bootnodes {
        if let Err(e) = swarm.dial(addr.clone()) {
            tracing::warn!(%addr, "cannot dial bootnode: {e}");
        }
    }
    let (commands, command_rx) = mpsc::channel(1024);
    let (import_tx, import_rx) = mpsc::channel(config.import_queue.max(1));
    let import_tx = ImportQueue {
        jobs: import_tx,
        bytes: Arc::new(AtomicUsize::new(0)),
        max_bytes: config.import_queue_bytes,
    };
    let (feedback_tx, feedback_rx) = mpsc::channel(1024);
    let handle = NetworkHandle {
        commands,
        peer_id,
        listen: Arc::new(Mutex::new(listen)),
    };
    {
        let backend = backend.clone();
        let handle = handle.clone();
        let feedback = feedback_tx.clone();
        let queued = import_tx.bytes.clone();
        std::thread::Builder::new()
            .name("wes-net-import".into())
            .spawn(move || import_worker(import_rx, queued, backend, handle, feedback))
            .map_err(|e| NetError::Transport(format!("spawn the import worker: {e}")))?;
    }
    let service = Service {
        serving: Arc::new(Semaphore::new(config.max_serving.max(1))),
        book: PeerBook::new(config.scores),
        config,
        swarm,
        backend,
        topics: (blocks_topic.hash(), txs_topic.hash()),
        handle: handle.clone(),
        import_tx,
        feedback_tx,
        pending: HashMap::new(),
        statuses: HashMap::new(),
        addresses: HashMap::new(),
        admin_blocked: HashSet::new(),
        sync: None,
        epochs: 0,
        backoff: HashMap::new(),
        candidates_received: 0,
    };
    tokio::spawn(service.run(command_rx, feedback_rx));
    Ok(handle)
}

fn build_swarm(config: &NetConfig, keypair: Keypair) -> Result<Swarm<Behaviour>, NetError> {
    let limits = config.limits;
    let timeout = config.request_timeout;
    let max_serving = config.max_serving;
    let max_peers = u32::try_from(config.max_peers).unwrap_or(u32::MAX);
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NetError::Transport(e.to_string()))?
        .with_behaviour(|key| {
            let peer_id = key.public().to_peer_id();
            let gossip_config = gossipsub::ConfigBuilder::default()
                .validation_mode(gossipsub::ValidationMode::Strict)
                .validate_messages()
                .max_transmit_size(limits.max_gossip_bytes)
                .heartbeat_interval(Duration::from_millis(500))
                .message_id_fn(|m| MessageId::from(message_id(&m.data).as_bytes().to_vec()))
                .build()?;
            let gossipsub = gossipsub::Behaviour::new(
                gossipsub::MessageAuthenticity::Signed(key.clone()),
                gossip_config,
            )?;
            let mut kad_config = kad::Config::new(StreamProtocol::new(KAD_PROTOCOL));
            kad_config.set_query_timeout(Duration::from_secs(30));
            let mut kad = kad::Behaviour::with_config(
                peer_id,
                kad::store::MemoryStore::new(peer_id),
                kad_config,
            );
            kad.set_mode(Some(kad::Mode::Server));
            let rr = request_response::Behaviour::with_codec(
                FrameCodec {
                    max_request: limits.max_request_bytes,
                    max_response: limits.max_response_bytes,
                },
                [(StreamProtocol::new(PROTOCOL), ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(timeout)
                    .with_max_concurrent_streams(max_serving * 4),
            );
            let limits = connection_limits::ConnectionLimits::default()
                .with_max_established(Some(max_peers))
                .with_max_established_per_peer(Some(2))
                .with_max_pending_incoming(Some(32));
            Ok(Behaviour {
                blocked: Default::default(),
                limits: connection_limits::Behaviour::new(limits),
                identify: identify::Behaviour::new(identify::Config::new(
                    IDENTIFY_PROTOCOL.into(),
                    key.public(),
                )),
                kad,
                gossipsub,
                rr,
            })
        })
        .map_err(|e| NetError::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    Ok(swarm)
}

/// The queue to the import worker, bounded by count and by bytes: a flood of small
/// transactions and a few huge blocks are both held to a fixed memory.
struct ImportQueue {
    jobs: mpsc::Sender<(Job, usize)>,
    bytes: Arc<AtomicUsize>,
    max_bytes: usize,
}

impl ImportQueue {
    /// Queues `job` of `size` bytes; `false` if it does not fit (then it is dropped).
    fn push(&self, job: Job, size: usize) -> bool {
        let before = self.bytes.fetch_add(size, AtomicOrdering::SeqCst);
        if before.saturating_add(size) > self.max_bytes || self.jobs.try_send((job, size)).is_err()
        {
            self.bytes.fetch_sub(size, AtomicOrdering::SeqCst);
            return false;
        }
        true
    }
}

fn import_worker(
    mut jobs: mpsc::Receiver<(Job, usize)>,
    queued: Arc<AtomicUsize>,
    backend: Arc<dyn ChainBackend>,
    handle: NetworkHandle,
    feedback: mpsc::Sender<Feedback>,
) {
    while let Some((job, size)) = jobs.blocking_recv() {
        queued.fetch_sub(size, AtomicOrdering::SeqCst);
        let fb = match job {
            Job::Block {
                block,
                from,
                origin,
            } => Feedback::Block {
                from,
                origin,
                result: backend.import_block(block, &handle),
            },
            Job::Tx { tx, from, id } => Feedback::Tx {
                from,
                id,
                result: backend.import_transaction(tx, &handle),
            },
        };
        if feedback.blocking_send(fb).is_err() {
            return;
        }
    }
}

struct Service {
    config: NetConfig,
    swarm: Swarm<Behaviour>,
    backend: Arc<dyn ChainBackend>,
    topics: (TopicHash, TopicHash),
    handle: NetworkHandle,
    import_tx: ImportQueue,
    feedback_tx: mpsc::Sender<Feedback>,
    serving: Arc<Semaphore>,
    book: PeerBook,
    pending: HashMap<OutboundRequestId, Pending>,
    statuses: HashMap<PeerId, Status>,
    addresses: HashMap<PeerId, Vec<Multiaddr>>,
    admin_blocked: HashSet<PeerId>,
    sync: Option<SyncJob>,
    epochs: u64,
    /// Peers a sync gave nothing new from, not synced from again before the instant.
    backoff: HashMap<PeerId, Instant>,
    candidates_received: u64,
}

impl Service {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut feedback: mpsc::Receiver<Feedback>,
    ) {
        let mut tick = tokio::time::interval(self.config.status_interval);
        let mut ticks = 0u64;
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm(event),
                command = commands.recv() => match command {
                    Some(Command::Shutdown) | None => break,
                    Some(c) => self.on_command(c),
                },
                Some(fb) = feedback.recv() => self.on_feedback(fb),
                _ = tick.tick() => {
                    ticks += 1;
                    self.on_tick(ticks);
                }
            }
        }
        tracing::debug!("network stopped");
    }

    fn now() -> Instant {
        Instant::now()
    }

    fn penalise(&mut self, peer: PeerId, offence: Offence, why: &str) {
        match self.book.penalise(peer, offence, Self::now()) {
            Verdict::Keep(score) => {
                tracing::info!(%peer, ?offence, score, "peer penalised: {why}");
            }
            Verdict::Ban(_) => {
                tracing::warn!(%peer, ?offence, "peer banned: {why}");
                self.swarm.behaviour_mut().blocked.block_peer(peer);
                self.swarm.behaviour_mut().gossipsub.blacklist_peer(&peer);
                self.forget(&peer);
            }
            Verdict::AlreadyBanned => {}
        }
    }

    fn forget(&mut self, peer: &PeerId) {
        self.statuses.remove(peer);
        if self.syncing_from(peer) {
            self.sync = None;
        }
    }

    fn syncing_from(&self, peer: &PeerId) -> bool {
        self.sync.as_ref().is_some_and(|s| s.peer == *peer)
    }

    /// Whether `epoch` is the running sync's, with `peer`.
    fn current_sync(&self, peer: &PeerId, epoch: u64) -> bool {
        self.sync
            .as_ref()
            .is_some_and(|s| s.peer == *peer && s.epoch == epoch)
    }

    fn our_status(&self) -> Status {
        // Only used on the event loop for cheap comparisons; the backend answers from memory.
        self.backend.status()
    }

    fn send_request(&mut self, peer: PeerId, request: &Request, pending: Pending) {
        let id = self
            .swarm
            .behaviour_mut()
            .rr
            .send_request(&peer, codec::encode(request));
        self.pending.insert(id, pending);
    }

    // ----- swarm events -------------------------------------------------------------------

    fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(e)) => self.on_gossip(e),
            SwarmEvent::Behaviour(BehaviourEvent::Rr(e)) => self.on_rr(e),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                if info.protocol_version != IDENTIFY_PROTOCOL {
                    return;
                }
                let addrs: Vec<Multiaddr> = info.listen_addrs.into_iter().take(8).collect();
                for a in &addrs {
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer_id, a.clone());
                }
                if self.addresses.len() < 4 * self.config.max_peers
                    || self.addresses.contains_key(&peer_id)
                {
                    self.addresses.insert(peer_id, addrs);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer, ..
            })) => self.maybe_dial(peer),
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                endpoint,
                ..
            } => {
                let now = Self::now();
                if self.book.is_banned(&peer_id, now) || self.admin_blocked.contains(&peer_id) {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                if self.swarm.connected_peers().count() > self.config.max_peers {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                if endpoint.is_dialer() {
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer_id, endpoint.get_remote_address().clone());
                }
                if num_established.get() == 1 {
                    tracing::debug!(peer = %peer_id, "connected");
                    let status = self.our_status();
                    self.send_request(peer_id, &Request::Status(status), Pending::Status);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                tracing::debug!(peer = %peer_id, "disconnected");
                self.forget(&peer_id);
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                let addr = address.with_p2p(self.handle.peer_id).unwrap_or_else(|a| a);
                let mut l = self.handle.listen.lock().unwrap_or_else(|e| e.into_inner());
                if !l.contains(&addr) {
                    l.push(addr);
                }
            }
            _ => {}
        }
    }

    fn maybe_dial(&mut self, peer: PeerId) {
        let now = Self::now();
        if peer == self.handle.peer_id
            || self.swarm.is_connected(&peer)
            || self.book.is_banned(&peer, now)
            || self.admin_blocked.contains(&peer)
            || self.swarm.connected_peers().count() >= self.config.max_peers
        {
            return;
        }
        let addrs = self.addresses.get(&peer).cloned().unwrap_or_default();
        let opts = DialOpts::peer_id(peer).addresses(addrs).build();
        if let Err(e) = self.swarm.dial(opts) {
            tracing::debug!(%peer, "dial failed: {e}");
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source: from,
            message_id: id,
            message,
        } = event
        else {
            return;
        };
        let max = self.config.limits.max_gossip_bytes;
        if message.topic == self.topics.0 {
            let block: Block = match codec::decode_with_limit(&message.data, max) {
                Ok(b) => b,
                Err(e) => return self.reject_gossip(from, &id, Offence::Malformed, &e.to_string()),
            };
            if let Err(e) = self.backend.check_header(&block.header) {
                return self.reject_gossip(from, &id, Offence::InvalidBlock, &e.message);
            }
            let job = Job::Block {
                block,
                from,
                origin: Origin::Gossip(id.clone()),
            };
            if !self.import_tx.push(job, message.data.len()) {
                self.report(&id, &from, MessageAcceptance::Ignore);
            }
        } else if message.topic == self.topics.1 {
            let tx: SignedTransaction = match codec::decode_with_limit(&message.data, max) {
                Ok(t) => t,
                Err(e) => return self.reject_gossip(from, &id, Offence::Malformed, &e.to_string()),
            };
            let job = Job::Tx {
                tx,
                from,
                id: id.clone(),
            };
            if !self.import_tx.push(job, message.data.len()) {
                self.report(&id, &from, MessageAcceptance::Ignore);
            }
        } else {
            self.report(&id, &from, MessageAcceptance::Ignore);
        }
    }

    fn report(&mut self, id: &MessageId, from: &PeerId, acceptance: MessageAcceptance) {
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(id, from, acceptance);
    }

    fn reject_gossip(&mut self, from: PeerId, id: &MessageId, offence: Offence, why: &str) {
        self.report(id, &from, MessageAcceptance::Reject);
        self.penalise(from, offence, why);
    }

    fn on_rr(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => self.on_request(peer, &request, channel),
            Event::Message {
                peer,
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some(pending) = self.pending.remove(&request_id) else {
                    return;
                };
                let limit = self.config.limits.max_response_bytes;
                match codec::decode_with_limit::<Response>(&response, limit) {
                    Ok(r) => self.on_response(peer, pending, r),
                    Err(e) => {
                        self.penalise(peer, Offence::Malformed, &e.to_string());
                        self.fail(peer, pending, NetError::Decode(e.to_string()));
                    }
                }
            }
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                match &error {
                    request_response::OutboundFailure::Io(e) if is_oversize(e) => {
                        self.penalise(peer, Offence::Oversize, &e.to_string())
                    }
                    // Only requests a peer answers at once count: a candidate waits for the
                    // aggregator's import, a chunk may be large on a slow link.
                    request_response::OutboundFailure::Timeout
                        if matches!(
                            self.pending.get(&request_id),
                            Some(Pending::Status | Pending::Headers(_) | Pending::Blocks(..))
                        ) =>
                    {
                        self.penalise(peer, Offence::Unresponsive, "request timed out")
                    }
                    _ => {}
                }
                if let Some(p) = self.pending.remove(&request_id) {
                    self.fail(peer, p, NetError::Request(error.to_string()));
                }
            }
            Event::InboundFailure { peer, error, .. } => {
                if let request_response::InboundFailure::Io(e) = &error
                    && is_oversize(e)
                {
                    self.penalise(peer, Offence::Oversize, &e.to_string());
                }
            }
            Event::ResponseSent { .. } => {}
        }
    }

    fn fail(&mut self, peer: PeerId, pending: Pending, error: NetError) {
        match pending {
            Pending::Reply(reply) => {
                let _ = reply.send(Err(error));
            }
            Pending::Headers(epoch) | Pending::Blocks(epoch, _) => {
                tracing::debug!(%peer, "sync request failed: {error}");
                if self.current_sync(&peer, epoch) {
                    self.abandon_sync(peer);
                }
            }
            Pending::Status | Pending::Candidate => {}
        }
    }

    fn on_request(&mut self, peer: PeerId, bytes: &[u8], channel: ResponseChannel<Vec<u8>>) {
        let size = bytes.len();
        let request: Request =
            match codec::decode_with_limit(bytes, self.config.limits.max_request_bytes) {
                Ok(r) => r,
                Err(e) => return self.penalise(peer, Offence::Malformed, &e.to_string()),
            };
        match request {
            Request::Status(status) => {
                let ours = self.our_status();
                self.respond(channel, &Response::Status(ours));
                self.on_status(peer, status);
            }
            Request::Candidate(block) => {
                self.candidates_received += 1;
                if let Err(e) = self.backend.check_header(&block.header) {
                    return self.penalise(peer, Offence::InvalidBlock, &e.message);
                }
                let job = Job::Block {
                    block,
                    from: peer,
                    origin: Origin::Candidate(channel),
                };
                self.import_tx.push(job, size);
            }
            other => self.serve(peer, other, channel),
        }
    }

    /// Answers a read request on a blocking thread.
    fn serve(&mut self, peer: PeerId, request: Request, channel: ResponseChannel<Vec<u8>>) {
        let Ok(permit) = self.serving.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "busy: request refused");
            return;
        };
        let backend = self.backend.clone();
        let feedback = self.feedback_tx.clone();
        let limits = self.config.limits;
        tokio::task::spawn_blocking(move || {
            let response = match request {
                Request::Headers { locator, max } => Response::Headers(backend.headers_after(
                    &locator[..locator.len().min(64)],
                    max.min(limits.max_headers) as usize,
                )),
                Request::Blocks { hashes } => {
                    let mut blocks = Vec::new();
                    let mut size = 64;
                    for h in hashes.iter().take(limits.max_blocks) {
                        let Some(b) = backend.block(h) else { break };
                        size += codec::encoded_len(&b);
                        if size > limits.max_response_bytes && !blocks.is_empty() {
                            break;
                        }
                        blocks.push(b);
                    }
                    Response::Blocks(blocks)
                }
                Request::Chunk { id, index } => {
                    Response::Chunk(backend.chunk(&id, index).ok().map(Into::into))
                }
                Request::Size { id } => Response::Size(backend.content_size(&id).ok()),
                Request::Status(_) | Request::Candidate(_) => return,
            };
            let _ = feedback.blocking_send(Feedback::Respond {
                channel,
                response,
                _permit: permit,
            });
        });
    }

    fn respond(&mut self, channel: ResponseChannel<Vec<u8>>, response: &Response) {
        let _ = self
            .swarm
            .behaviour_mut()
            .rr
            .send_response(channel, codec::encode(response));
    }

    fn on_response(&mut self, peer: PeerId, pending: Pending, response: Response) {
        match (pending, response) {
            (Pending::Reply(reply), r) => {
                let _ = reply.send(Ok(r));
            }
            (Pending::Status, Response::Status(s)) => self.on_status(peer, s),
            (Pending::Headers(epoch), Response::Headers(headers)) => {
                if self.current_sync(&peer, epoch) {
                    self.on_headers(peer, headers)
                }
            }
            (Pending::Blocks(epoch, asked), Response::Blocks(blocks)) => {
                if self.current_sync(&peer, epoch) {
                    self.on_blocks(peer, asked, blocks)
                }
            }
            (Pending::Candidate, Response::Candidate { best }) => {
                let ours = self.our_status();
                let ahead = self.statuses.get(&peer).is_some_and(|s| s.work > ours.work);
                if best != ours.best && ahead {
                    // The aggregator prefers another block and has more work: get it.
                    self.start_sync(peer);
                }
            }
            (_, other) => self.penalise(
                peer,
                Offence::BadSyncResponse,
                &format!("unexpected response {}", response_kind(&other)),
            ),
        }
    }

    // ----- sync ---------------------------------------------------------------------------

    fn on_status(&mut self, peer: PeerId, status: Status) {
        if status.genesis != self.config.genesis {
            return self.penalise(peer, Offence::WrongChain, "another genesis");
        }
        self.statuses.insert(peer, status);
        let ours = self.our_status();
        if status.work > ours.work {
            self.start_sync(peer);
        }
    }

    fn start_sync(&mut self, peer: PeerId) {
        if self
            .backoff
            .get(&peer)
            .is_some_and(|until| *until > Instant::now())
        {
            return;
        }
        if let Some(s) = &self.sync {
            // One sync at a time; a stalled one is abandoned after a minute.
            if s.started.elapsed() < Duration::from_secs(60) {
                return;
            }
        }
        tracing::debug!(%peer, "syncing");
        self.epochs += 1;
        self.sync = Some(SyncJob {
            peer,
            epoch: self.epochs,
            queue: VecDeque::new(),
            cursor: None,
            cursor_height: None,
            fetched: 0,
            started: Instant::now(),
        });
        self.request_headers(peer);
    }

    fn request_headers(&mut self, peer: PeerId) {
        let Some(s) = &self.sync else { return };
        let epoch = s.epoch;
        let mut locator: Vec<BlockHash> = s.cursor.into_iter().collect();
        locator.extend(self.backend.locator());
        locator.truncate(64);
        let request = Request::Headers {
            locator,
            max: self.config.limits.max_headers,
        };
        self.send_request(peer, &request, Pending::Headers(epoch));
    }

    fn on_headers(&mut self, peer: PeerId, headers: Vec<wes_core::BlockHeader>) {
        let Some(epoch) = self
            .sync
            .as_ref()
            .filter(|s| s.peer == peer)
            .map(|s| s.epoch)
        else {
            return;
        };
        if headers.len() > self.config.limits.max_headers as usize {
            self.sync = None;
            return self.penalise(peer, Offence::BadSyncResponse, "too many headers");
        }
        if headers.is_empty() {
            return self.finish_sync(peer);
        }
        // Checking up to 512 headers against the chain reads the node's state: off the loop.
        let backend = self.backend.clone();
        let feedback = self.feedback_tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = check_headers(&*backend, &headers);
            let _ = feedback.blocking_send(Feedback::Headers {
                peer,
                epoch,
                result,
            });
        });
    }

    fn on_headers_checked(&mut self, peer: PeerId, epoch: u64, result: HeadersChecked) {
        if !self.current_sync(&peer, epoch) {
            return;
        }
        match result {
            Err((offence, why)) => {
                self.sync = None;
                self.penalise(peer, offence, &why);
            }
            Ok((queue, cursor, height)) => {
                let Some(s) = &mut self.sync else { return };
                // Each batch must move on: a peer answering the same headers again would
                // hold the sync slot forever. (Not charged: a peer that reorganised meanwhile
                // answers from our locator again, honestly.)
                if s.cursor_height.is_some_and(|c| height <= c) {
                    return self.abandon_sync(peer);
                }
                s.fetched += queue.len();
                s.queue = queue;
                s.cursor = Some(cursor);
                s.cursor_height = Some(height);
                s.started = Instant::now();
                // Bodies of the unknown ones, then the next headers after the cursor.
                self.request_bodies(peer);
            }
        }
    }

    /// The peer has no headers after ours: done. A peer that claimed more work and gave
    /// nothing is not synced from again for a while.
    fn finish_sync(&mut self, peer: PeerId) {
        if let Some(s) = self.sync.take()
            && s.fetched == 0
        {
            self.back_off(peer);
        }
        tracing::debug!(%peer, "in sync");
    }

    /// Ends the running sync with `peer` without progress: not synced from for a while.
    fn abandon_sync(&mut self, peer: PeerId) {
        if self.syncing_from(&peer) {
            self.sync = None;
            self.back_off(peer);
        }
    }

    fn back_off(&mut self, peer: PeerId) {
        self.backoff
            .insert(peer, Instant::now() + 5 * self.config.status_interval);
    }

    fn request_bodies(&mut self, peer: PeerId) {
        let max = self.config.limits.max_blocks;
        let Some(s) = &mut self.sync else { return };
        if s.queue.is_empty() {
            // The batch of headers is done: ask for more until the peer has none.
            return self.request_headers(peer);
        }
        let hashes: Vec<BlockHash> = s.queue.iter().take(max).copied().collect();
        s.started = Instant::now();
        let epoch = s.epoch;
        self.send_request(
            peer,
            &Request::Blocks {
                hashes: hashes.clone(),
            },
            Pending::Blocks(epoch, hashes),
        );
    }

    fn on_blocks(&mut self, peer: PeerId, asked: Vec<BlockHash>, blocks: Vec<Block>) {
        if !self.syncing_from(&peer) {
            return;
        }
        let matches = !blocks.is_empty()
            && blocks.len() <= asked.len()
            && blocks.iter().zip(&asked).all(|(b, h)| b.hash() == *h);
        if !matches {
            self.sync = None;
            return self.penalise(peer, Offence::BadSyncResponse, "blocks other than asked");
        }
        let n = blocks.len();
        let Some(s) = &mut self.sync else { return };
        // The answer must be the front of what is still to fetch (one request in flight).
        if !s.queue.iter().take(n).eq(asked.iter().take(n)) {
            self.sync = None;
            return;
        }
        s.queue.drain(..n);
        let epoch = s.epoch;
        for (i, block) in blocks.into_iter().enumerate() {
            let size = codec::encoded_len(&block);
            let job = Job::Block {
                block,
                from: peer,
                origin: Origin::Sync {
                    epoch,
                    last: i + 1 == n,
                },
            };
            if !self.import_tx.push(job, size) {
                // The import queue is full: give up this round, the next tick resumes.
                self.sync = None;
                return;
            }
        }
    }

    // ----- feedback from the worker and the serving threads ----------------------------

    fn on_feedback(&mut self, feedback: Feedback) {
        match feedback {
            Feedback::Respond {
                channel, response, ..
            } => self.respond(channel, &response),
            Feedback::Headers {
                peer,
                epoch,
                result,
            } => self.on_headers_checked(peer, epoch, result),
            Feedback::Tx { from, id, result } => match result {
                Ok(true) => self.report(&id, &from, MessageAcceptance::Accept),
                Ok(false) => self.report(&id, &from, MessageAcceptance::Ignore),
                // The backend says `Input` only for what is invalid on every chain.
                Err(e) if e.fault == wes_core::Fault::Input => {
                    self.reject_gossip(from, &id, Offence::InvalidTransaction, &e.message)
                }
                // Refused against our chain: not relayed, not charged (an honest peer may be
                // ahead of us or on another branch).
                Err(e) => {
                    tracing::debug!(peer = %from, "transaction refused: {}", e.message);
                    self.report(&id, &from, MessageAcceptance::Ignore)
                }
            },
            Feedback::Block {
                from,
                origin,
                result,
            } => self.on_imported(from, origin, result),
        }
    }

    fn on_imported(&mut self, from: PeerId, origin: Origin, result: Result<Imported, Rejection>) {
        let invalid = matches!(&result, Err(e) if e.fault == wes_core::Fault::Input);
        if let Err(e) = &result {
            if invalid {
                self.penalise(from, Offence::InvalidBlock, &e.message);
            } else {
                tracing::debug!(peer = %from, "block not imported: {}", e.message);
            }
        }
        match origin {
            Origin::Gossip(id) => {
                let acceptance = match &result {
                    Ok(Imported::NewTip { .. } | Imported::SideBranch) => MessageAcceptance::Accept,
                    Ok(Imported::Orphan { .. } | Imported::Duplicate) => MessageAcceptance::Ignore,
                    Err(_) if invalid => MessageAcceptance::Reject,
                    Err(_) => MessageAcceptance::Ignore,
                };
                self.report(&id, &from, acceptance);
                if let Ok(Imported::Orphan { .. }) = result {
                    self.start_sync(from);
                }
            }
            Origin::Candidate(channel) => {
                let best = self.our_status().best;
                self.respond(channel, &Response::Candidate { best });
            }
            Origin::Sync { epoch, last } => {
                if !self.current_sync(&from, epoch) {
                    return;
                }
                if let Some(s) = &mut self.sync {
                    // Imports are progress: a slow one is not a stalled sync.
                    s.started = Instant::now();
                }
                if result.is_err() {
                    // Invalid: charged above. Not checkable now: try later, from anyone.
                    self.abandon_sync(from);
                } else if last {
                    self.request_bodies(from);
                }
            }
        }
    }

    // ----- commands ------------------------------------------------------------------------

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { blocks, data } => {
                let topic = if blocks {
                    &self.topics.0
                } else {
                    &self.topics.1
                };
                if let Err(e) = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(topic.clone(), data)
                {
                    tracing::debug!("publish: {e}");
                }
            }
            Command::Announce(block) => self.announce(block),
            Command::Request {
                peer,
                request,
                reply,
            } => {
                if !self.swarm.is_connected(&peer) {
                    let _ = reply.send(Err(NetError::NotConnected(peer.to_string())));
                    return;
                }
                self.send_request(peer, &request, Pending::Reply(reply));
            }
            Command::Penalise(peer, offence) => {
                self.penalise(peer, offence, "reported by the node")
            }
            Command::Info(reply) => {
                let _ = reply.send(self.info());
            }
            Command::SetBlocked(peer, blocked) => {
                if blocked {
                    self.admin_blocked.insert(peer);
                    self.swarm.behaviour_mut().blocked.block_peer(peer);
                    self.forget(&peer);
                } else {
                    self.admin_blocked.remove(&peer);
                    if !self.book.is_banned(&peer, Self::now()) {
                        self.swarm.behaviour_mut().blocked.unblock_peer(peer);
                        self.maybe_dial(peer);
                    }
                }
            }
            Command::Dial(addr) => {
                if let Err(e) = self.swarm.dial(addr) {
                    tracing::warn!("dial: {e}");
                }
            }
            Command::Shutdown => {}
        }
    }

    fn announce(&mut self, block: Block) {
        let data = codec::encode(&block);
        if let Err(e) = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(self.topics.0.clone(), data)
        {
            tracing::debug!("publish block: {e}");
        }
        // Candidate collection, when the consensus routes candidates: the peer it elects
        // (for PoW + XOR, the one closest to the height's key) gets the block directly.
        // Peers that never exchanged a status (other chains) do not count. If we are the
        // one elected, or it is absent, gossip and the fork-choice rule alone decide, which
        // is the rule the aggregator applies too.
        let Some(router) = self.config.candidates.clone() else {
            return;
        };
        let mut ids: Vec<PeerId> = self.statuses.keys().copied().collect();
        ids.push(self.handle.peer_id);
        ids.sort();
        let bytes: Vec<Vec<u8>> = ids.iter().map(|p| p.to_bytes()).collect();
        if let Some(i) = router.aggregator(&block.header, &bytes)
            && i < ids.len()
            && ids[i] != self.handle.peer_id
        {
            let aggregator = ids[i];
            self.send_request(aggregator, &Request::Candidate(block), Pending::Candidate);
        }
    }

    fn info(&self) -> NetInfo {
        let now = Self::now();
        let mut peers: Vec<PeerInfo> = self
            .swarm
            .connected_peers()
            .map(|p| {
                let s = self.statuses.get(p);
                PeerInfo {
                    peer_id: p.to_string(),
                    score: self.book.score(p),
                    height: s.map(|s| s.height),
                    best: s.map(|s| s.best.to_string()),
                }
            })
            .collect();
        peers.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        NetInfo {
            peer_id: self.handle.peer_id.to_string(),
            listen: self
                .handle
                .listen_addrs()
                .iter()
                .map(|a| a.to_string())
                .collect(),
            peers,
            banned: self
                .book
                .bans()
                .filter(|(_, until)| **until > now)
                .map(|(p, _)| p.to_string())
                .collect(),
            blocked: self.admin_blocked.iter().map(|p| p.to_string()).collect(),
            syncing_from: self.sync.as_ref().map(|s| s.peer.to_string()),
            candidates_received: self.candidates_received,
        }
    }

    fn on_tick(&mut self, ticks: u64) {
        for peer in self.book.tick(Self::now()) {
            if !self.admin_blocked.contains(&peer) {
                self.swarm.behaviour_mut().blocked.unblock_peer(peer);
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .remove_blacklisted_peer(&peer);
            }
        }
        let now = Self::now();
        self.backoff.retain(|_, until| *until > now);
        // Refresh statuses: a peer that got ahead without us hearing its blocks is found
        // here, and sync starts from it.
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        let status = self.our_status();
        for peer in peers {
            self.send_request(peer, &Request::Status(status), Pending::Status);
        }
        if self.swarm.connected_peers().next().is_none() {
            for addr in self.config.bootnodes.clone() {
                let _ = self.swarm.dial(addr);
            }
        }
        if ticks % 15 == 1 {
            let _ = self.swarm.behaviour_mut().kad.bootstrap();
        }
        if let Some(s) = &self.sync
            && s.started.elapsed() > Duration::from_secs(60)
        {
            let peer = s.peer;
            self.abandon_sync(peer);
        }
    }
}

fn is_oversize(e: &std::io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<FrameTooLarge>())
        .is_some()
}

fn response_kind(r: &Response) -> &'static str {
    match r {
        Response::Status(_) => "status",
        Response::Headers(_) => "headers",
        Response::Blocks(_) => "blocks",
        Response::Chunk(_) => "chunk",
        Response::Size(_) => "size",
        Response::Candidate { .. } => "candidate",
    }
}
