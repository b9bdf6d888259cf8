//! The node on the network: [`NodeBackend`] answers `wes-net` from the node's chain,
//! mempool and resource store, and fetches what a peer's block or transaction needs before
//! verifying it, within the [`PrefetchPolicy`]; [`start`] brings the network up with the
//! node's persistent identity.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wes_consensus::Submitted;
use wes_core::{
    Blame, Block, BlockHash, BlockHeader, Chunk, ContentId, Fault, Ledger, OutPoint, Output,
    OutputBody, ResourceBody, ResourceKind, ResourceStore, SignedTransaction, TxId,
};
use wes_ledger::MempoolError;
use wes_net::libp2p::Multiaddr;
use wes_net::libp2p::identity::Keypair;
use wes_net::{ChainBackend, Imported, NetConfig, NetworkHandle, Rejection, Status};
use wes_ures::{ChunkSource, SourceError, StoreSource};

use crate::error::NodeError;
use crate::ledger::ChainLedger;
use crate::node::Node;

/// What one block or transaction from a peer may make this node fetch (contracts, models,
/// circuit files) before it is verified. The sender pays with nothing but its reputation,
/// so the budget is small and the deadline short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefetchPolicy {
    /// The most bytes.
    pub max_bytes: u64,
    /// The most resources.
    pub max_count: usize,
    /// How long fetching may take (a slow peer must not hold the import of everything
    /// else).
    pub deadline: Duration,
}

impl Default for PrefetchPolicy {
    fn default() -> Self {
        PrefetchPolicy {
            max_bytes: 64 << 20,
            max_count: 8,
            deadline: Duration::from_secs(30),
        }
    }
}

/// `wes-net`'s view of a [`Node`].
pub struct NodeBackend<L: ChainLedger>(pub Arc<Node<L>>);

/// Content a transaction needs or registers: with its on-chain registration when there is
/// one, else by id only (an execution's code, a model's circuit file).
enum Needed {
    Registered(ResourceBody),
    ById(ContentId, ResourceKind),
}

impl<L: ChainLedger> NodeBackend<L> {
    /// [`ChainLedger::check_stateless`], as a rejection the sender is charged for.
    fn check_stateless(&self, tx: &SignedTransaction) -> Result<(), Rejection> {
        self.0
            .ledger()
            .check_stateless(tx)
            .map_err(|e| Rejection::from_error(&e))
    }

    /// What `txs` reference or execute that the store does not hold yet, and with
    /// `registrations` what they register too (a block's deployments are fetched so that
    /// later calls find the code; a pooled transaction's are not needed to verify it).
    fn missing_resources(&self, txs: &[SignedTransaction], registrations: bool) -> Vec<Needed> {
        missing_resources(&self.0, txs, registrations)
    }

    fn prefetch(&self, needed: Vec<Needed>, net: &NetworkHandle) {
        prefetch(&self.0, needed, net)
    }
}

/// Fetches from peers the content `block` registers that the store lacks: after this node
/// produced it (a node importing a peer's block fetches before verifying it), so that
/// calls to a contract deployed in its own block work here too.
pub(crate) fn fetch_registrations<L: ChainLedger>(
    node: &Node<L>,
    block: &Block,
    net: &NetworkHandle,
) {
    let needed = missing_resources(node, &block.transactions, true);
    if !needed.is_empty() {
        prefetch(node, needed, net);
    }
}

/// What `txs` reference or execute that the store does not hold yet, and with
/// `registrations` what they register too (a block's deployments are fetched so that
/// later calls find the code; a pooled transaction's are not needed to verify it).
fn missing_resources<L: ChainLedger>(
    node: &Node<L>,
    txs: &[SignedTransaction],
    registrations: bool,
) -> Vec<Needed> {
    let policy = node.config().prefetch;
    let ledger = node.ledger();
    let mut needed = Vec::new();
    let mut seen = HashSet::new();
    let mut created: HashMap<OutPoint, &Output> = HashMap::new();
    for tx in txs {
        for (i, out) in tx.tx.outputs.iter().enumerate() {
            created.insert(tx.tx.outpoint(i as u32), out);
        }
    }
    let mut consider = |body: &ResourceBody, needed: &mut Vec<Needed>| {
        if body.kind != ResourceKind::File
            && body.size <= policy.max_bytes
            && seen.insert(body.content)
        {
            needed.push(Needed::Registered(body.clone()));
        }
        if let Some(vk) = body.meta.verifying_key.map(ContentId)
            && seen.insert(vk)
        {
            needed.push(Needed::ById(vk, ResourceKind::File));
        }
    };
    for tx in txs {
        for input in &tx.tx.inputs {
            let out = match created.get(&input.prev) {
                Some(o) => Some((*o).clone()),
                None => ledger.unspent(&input.prev).ok().flatten(),
            };
            if let Some(Output {
                body: OutputBody::Resource(body),
                ..
            }) = out
            {
                consider(&body, &mut needed);
            }
        }
        if registrations {
            for out in &tx.tx.outputs {
                if let OutputBody::Resource(body) = &out.body {
                    consider(body, &mut needed);
                }
            }
        }
    }
    for tx in txs {
        if let Some(exec) = &tx.tx.execution
            && seen.insert(exec.resource)
        {
            needed.push(Needed::ById(exec.resource, ResourceKind::Wasm));
        }
    }
    let store = node.resources();
    needed.retain(|n| {
        let id = match n {
            Needed::Registered(b) => b.content,
            Needed::ById(id, _) => *id,
        };
        !store.has(&id).unwrap_or(true)
    });
    needed
}

/// Fetches `needed` from peers. Failures are logged, not returned: verification then
/// reports the resource as unavailable (not the sender's fault), and the block or
/// transaction can be tried again.
fn prefetch<L: ChainLedger>(node: &Node<L>, needed: Vec<Needed>, net: &NetworkHandle) {
    let store = node.resources();
    let policy = node.config().prefetch;
    let mut budget = policy.max_bytes;
    let deadline = Instant::now() + policy.deadline;
    for need in needed.into_iter().take(policy.max_count) {
        let body = match need {
            Needed::Registered(body) => body,
            Needed::ById(content, kind) => match net.content_size(&content) {
                Some(size) => ResourceBody {
                    content,
                    kind,
                    size,
                    meta: Default::default(),
                },
                None => {
                    tracing::warn!(%content, "no peer has the resource");
                    continue;
                }
            },
        };
        if body.size > budget {
            tracing::warn!(content = %body.content, size = body.size, "resource over the prefetch budget");
            continue;
        }
        budget -= body.size;
        match net.fetch_resource_until(&body, store, deadline) {
            Ok(report) => tracing::info!(
                content = %report.stat.id,
                bytes = report.stat.size,
                "resource fetched from peers"
            ),
            Err(e) => tracing::warn!("resource not fetched: {e}"),
        }
    }
}

impl<L: ChainLedger> ChainBackend for NodeBackend<L> {
    fn status(&self) -> Status {
        let s = self.0.status();
        Status {
            genesis: s.genesis,
            best: s.best,
            height: s.height,
            work: s.work,
        }
    }

    fn locator(&self) -> Vec<BlockHash> {
        self.0.status().locator
    }

    fn headers_after(&self, locator: &[BlockHash], max: usize) -> Vec<BlockHeader> {
        let ledger = self.0.ledger();
        let on_best = |hash: &BlockHash| {
            let header = ledger.header(hash).ok().flatten()?;
            (ledger.hash_at(header.height).ok().flatten()? == *hash).then_some(header.height)
        };
        let start = locator.iter().find_map(on_best).unwrap_or(0);
        let tip = self.0.status().height;
        (start + 1..=tip.min(start.saturating_add(max as u64)))
            .map_while(|h| {
                let hash = ledger.hash_at(h).ok().flatten()?;
                ledger.header(&hash).ok().flatten()
            })
            .collect()
    }

    fn block(&self, hash: &BlockHash) -> Option<Block> {
        self.0.ledger().block(hash).ok().flatten()
    }

    fn knows_block(&self, hash: &BlockHash) -> bool {
        self.0.chain().knows(hash)
    }

    fn check_header(&self, header: &BlockHeader) -> Result<(), Rejection> {
        self.0
            .engine()
            .validate_header(header)
            .map_err(|e| Rejection::from_error(&e))
    }

    fn import_block(&self, block: Block, net: &NetworkHandle) -> Result<Imported, Rejection> {
        let hash = block.hash();
        {
            let chain = self.0.chain();
            if chain.knows(&hash) {
                return Ok(Imported::Duplicate);
            }
            // Blocks out of nowhere are not kept (an orphan pool fed by gossip is memory
            // anyone can fill): the network syncs from the sender instead, in order.
            if !chain.knows(&block.header.parent) {
                return Ok(Imported::Orphan {
                    missing_parent: block.header.parent,
                });
            }
        }
        let needed = self.missing_resources(&block.transactions, true);
        if !needed.is_empty() {
            // Nothing is fetched for a block whose body does not match its header (the
            // chain checks the body anyway; this is only worth doing before a download).
            block
                .check_body()
                .map_err(|e| Rejection::invalid(format!("block {hash}: {e}")))?;
            self.prefetch(needed, net);
        }
        match self.0.import_block(block) {
            Ok(outcome) => Ok(match outcome {
                Submitted::Extended { tip, height } => {
                    tracing::info!(height, %tip, "block from the network");
                    Imported::NewTip { tip, height }
                }
                Submitted::Reorganized { to, .. } => {
                    let height = self.0.status().height;
                    tracing::info!(height, tip = %to, "reorganised to a peer's branch");
                    Imported::NewTip { tip: to, height }
                }
                Submitted::SideBranch => Imported::SideBranch,
                Submitted::Orphan { missing_parent } => Imported::Orphan { missing_parent },
                Submitted::Duplicate => Imported::Duplicate,
            }),
            Err(e) => Err(Rejection::from_error(&e)),
        }
    }

    fn import_transaction(
        &self,
        tx: SignedTransaction,
        net: &NetworkHandle,
    ) -> Result<bool, Rejection> {
        if self.0.mempool().contains(&tx.id()) {
            return Ok(false);
        }
        // What is invalid on every chain (format, signatures) is the sender's fault. A
        // transaction whose execution needs resources we lack has its form checked before
        // anything is fetched for it; any other is checked once, and classified only if it
        // fails. Signatures are verified only once inputs, locks and fees allow the
        // transaction; a bad one is then charged to the sender too.
        let needed = if tx.tx.execution.is_some() {
            self.missing_resources(std::slice::from_ref(&tx), false)
        } else {
            Vec::new()
        };
        let checked_early = !needed.is_empty();
        if checked_early {
            // Everything but the proof first (inputs, locks, fees, signatures): a
            // transaction that could never be valid makes the node fetch nothing.
            self.check_stateless(&tx)?;
            self.0.check_unproven(&tx).map_err(|e| rejection(&e))?;
            self.prefetch(needed, net);
        }
        match self.0.accept(tx.clone()) {
            Ok(_) => Ok(true),
            Err(MempoolError::AlreadyKnown(_)) => Ok(false),
            Err(MempoolError::Invalid(l))
                if l.fault() == Fault::Local || l.invalid_everywhere() =>
            {
                Err(Rejection::from_error(&l))
            }
            Err(e) => {
                if !checked_early {
                    self.check_stateless(&tx)?;
                }
                // Refused against our chain: a peer may know another tip, so not its fault.
                Err(Rejection {
                    fault: Fault::Unavailable,
                    message: e.to_string(),
                })
            }
        }
    }

    fn import_transactions(
        &self,
        txs: &[SignedTransaction],
        net: &NetworkHandle,
    ) -> Vec<Result<bool, Rejection>> {
        // Signatures of the batch verified together first (their verdicts kept for the
        // single checks), skipping what the pool holds already.
        let fresh: Vec<SignedTransaction> = {
            let pool = self.0.mempool();
            txs.iter()
                .filter(|tx| !pool.contains(&tx.id()))
                .cloned()
                .collect()
        };
        self.0.ledger().preverify(&fresh);
        txs.iter()
            .map(|tx| self.import_transaction(tx.clone(), net))
            .collect()
    }

    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, SourceError> {
        StoreSource(self.0.resources()).chunk(id, index)
    }

    fn content_size(&self, id: &ContentId) -> Result<u64, SourceError> {
        StoreSource(self.0.resources()).size(id)
    }

    fn work_at(&self, hash: &BlockHash) -> Option<u128> {
        self.0.chain().cumulative_work(hash).map(|w| w.0)
    }

    fn header_work(&self, header: &BlockHeader) -> Option<u128> {
        Some(self.0.engine().work(header).0)
    }

    fn pooled_transactions(&self, ids: &[TxId]) -> Vec<Option<SignedTransaction>> {
        let pool = self.0.mempool();
        ids.iter()
            .map(|id| pool.get(id).map(|p| p.tx.clone()))
            .collect()
    }
}

/// A peer's transaction refused by the ledger: the peer's fault if it is invalid on every
/// chain, ours if the node failed, and otherwise nobody's (the peer may know another tip).
fn rejection<E: Blame + std::fmt::Display>(e: &E) -> Rejection {
    if e.fault() == Fault::Local || e.invalid_everywhere() {
        Rejection::from_error(e)
    } else {
        Rejection {
            fault: Fault::Unavailable,
            message: e.to_string(),
        }
    }
}

/// The node's libp2p identity, kept in `dir/p2p-key` (readable by its owner only) so its
/// peer id, and so its address as a bootnode, survives restarts.
///
/// # Errors
/// A key file that is not a libp2p key, or one that cannot be written.
pub fn identity(dir: &Path) -> Result<Keypair, NodeError> {
    let path = dir.join("p2p-key");
    if let Ok(bytes) = std::fs::read(&path) {
        return Keypair::from_protobuf_encoding(&bytes).map_err(|e| {
            NodeError::Config(format!("{} is not a libp2p key: {e}", path.display()))
        });
    }
    let key = Keypair::generate_ed25519();
    let bytes = key
        .to_protobuf_encoding()
        .map_err(|e| NodeError::Config(format!("encode the p2p key: {e}")))?;
    write_private(&path, &bytes)?;
    Ok(key)
}

/// Writes `bytes` to `path`, readable and writable by the owner only (keys).
///
/// # Errors
/// The file cannot be written.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), NodeError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(NodeError::io(format!("open {}", path.display())))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(NodeError::io(format!("write {}", path.display())))
}

/// Starts the network for `node` on the current tokio runtime and attaches it: listening
/// on `listen`, dialling `bootnodes`, with the chain's candidate routing.
///
/// # Errors
/// The identity cannot be read or the swarm cannot listen.
pub async fn start<L: ChainLedger>(
    node: &Arc<Node<L>>,
    listen: &[Multiaddr],
    bootnodes: &[Multiaddr],
) -> Result<NetworkHandle, NodeError> {
    let mut config = NetConfig::new(node.chain_id(), node.status().genesis, listen.to_vec());
    config.bootnodes = bootnodes.to_vec();
    config.candidates = node.candidate_router().cloned();
    config.min_chain_work = node.config().min_chain_work;
    let key = identity(&node.config().data_dir)?;
    let net = wes_net::start(config, key, Arc::new(NodeBackend(node.clone()))).await?;
    node.attach_network(net.clone());
    Ok(net)
}
