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
//!
//! The swarm task's state is one `Service`; its methods are split by concern:
//!
//! | module       | concern |
//! |--------------|---------|
//! | `config`     | [`NetConfig`] and its defaults |
//! | `handle`     | [`NetworkHandle`], the commands it sends the task, [`NetInfo`] |
//! | `swarm`      | the libp2p behaviour and transport, the chain's gossip topics, listening |
//! | `event_loop` | the task's loop: swarm events, commands, feedback and ticks dispatched |
//! | `peering`    | the peer book applied to the swarm: penalties, bans, connections, dials |
//! | `gossip`     | incoming blocks (compact, rebuilt from the pool) and transaction batches, validated before they are relayed |
//! | `relay`      | transactions the node admitted, gossiped in batches |
//! | `candidates` | blocks sent to (and received as) the height's aggregator |
//! | `requests`   | requests this node sends, and routing their answers and failures |
//! | `serve`      | answering peers' requests, at most `max_serving` at once |
//! | `sync`       | block sync: status, locator, headers, bodies (`sync::state`: epochs, cursor, backoff) |
//! | `import`     | the import queue (bounded by count and bytes) and the worker |

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use libp2p::identity::Keypair;
use libp2p::request_response::OutboundRequestId;
use libp2p::{Multiaddr, PeerId, Swarm};
use tokio::sync::{Semaphore, mpsc};
use wes_core::{Block, BlockHash};

use crate::backend::ChainBackend;
use crate::error::NetError;
use crate::peers::PeerBook;
use crate::protocol::Status;

mod candidates;
mod config;
mod event_loop;
mod gossip;
mod handle;
mod import;
mod peering;
mod relay;
mod requests;
mod serve;
mod swarm;
mod sync;
#[cfg(test)]
mod testing;

pub use config::NetConfig;
pub use handle::{GossipStats, HeardBlock, NetInfo, NetworkHandle, PeerInfo};

use event_loop::Feedback;
use import::{ImportQueue, Job};
use requests::Pending;
use swarm::{Behaviour, GossipTopics};
use sync::SyncState;

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
    let (mut swarm, topics) = swarm::build(&config, keypair)?;
    let listen = swarm::listen(&mut swarm, &config).await?;
    for addr in &config.bootnodes {
        if let Err(e) = swarm.dial(addr.clone()) {
            tracing::warn!(%addr, "cannot dial bootnode: {e}");
        }
    }
    let (commands, command_rx) = mpsc::channel(1024);
    let (import_tx, import_rx) = import::queue(config.import_queue, config.import_queue_bytes);
    let (feedback_tx, feedback_rx) = mpsc::channel(1024);
    let handle = NetworkHandle {
        commands,
        peer_id: *swarm.local_peer_id(),
        listen: Arc::new(Mutex::new(listen)),
        chain_peers: Arc::new(Mutex::new(Vec::new())),
        heard: Arc::new(Mutex::new(None)),
    };
    import::spawn_worker(
        import_rx,
        backend.clone(),
        handle.clone(),
        feedback_tx.clone(),
    )?;
    let outbox = relay::Outbox::new(config.max_tx_batch, config.limits.max_gossip_bytes);
    let service = Service {
        serving: Arc::new(Semaphore::new(config.max_serving.max(1))),
        book: PeerBook::new(config.scores),
        // A peer a sync gave nothing new from is not synced from for five status rounds.
        sync: SyncState::new(5 * config.status_interval),
        config,
        swarm,
        backend,
        topics,
        handle: handle.clone(),
        import_tx,
        feedback_tx,
        pending: HashMap::new(),
        statuses: HashMap::new(),
        addresses: HashMap::new(),
        admin_blocked: HashSet::new(),
        candidates_received: 0,
        gossip: GossipStats::default(),
        outbox,
        announced: VecDeque::new(),
    };
    tokio::spawn(service.run(command_rx, feedback_rx));
    Ok(handle)
}

/// Everything the swarm task owns. Each concern's methods live in its module.
struct Service {
    config: NetConfig,
    swarm: Swarm<Behaviour>,
    backend: Arc<dyn ChainBackend>,
    topics: GossipTopics,
    handle: NetworkHandle,
    import_tx: ImportQueue<Job>,
    feedback_tx: mpsc::Sender<Feedback>,
    serving: Arc<Semaphore>,
    book: PeerBook,
    pending: HashMap<OutboundRequestId, Pending>,
    statuses: HashMap<PeerId, Status>,
    addresses: HashMap<PeerId, Vec<Multiaddr>>,
    admin_blocked: HashSet<PeerId>,
    sync: SyncState,
    candidates_received: u64,
    gossip: GossipStats,
    outbox: relay::Outbox,
    /// The blocks this node announced last (at most [`ANNOUNCED_KEPT`]), newest last: a
    /// producer announces its block before importing it, and peers rebuilding it ask for
    /// the transactions they lack at once.
    announced: VecDeque<(BlockHash, Block)>,
}

/// How many of its own announced blocks a node keeps to serve their transactions from
/// memory.
const ANNOUNCED_KEPT: usize = 8;

impl Service {
    fn now() -> Instant {
        Instant::now()
    }

    fn our_status(&self) -> Status {
        // Only used on the event loop for cheap comparisons; the backend answers from memory.
        self.backend.status()
    }
}
