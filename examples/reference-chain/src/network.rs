//! The node on the network: [`NodeBackend`] answers `wes-net` from the node's chain, mempool
//! and URES, and fetches the resources a peer's block or transaction needs before verifying
//! it; [`start`] brings the network up with the node's persistent identity.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use wes_core::{
    Blame, Block, BlockHash, BlockHeader, Chunk, ConsensusEngine, ContentId, Fault, Ledger,
    OutPoint, Output, OutputBody, ResourceBody, ResourceKind, ResourceStore, SignedTransaction,
};
use wes_ledger::MempoolError;
use wes_net::libp2p::Multiaddr;
use wes_net::libp2p::identity::Keypair;
use wes_net::{ChainBackend, Imported, NetConfig, NetworkHandle, Rejection, Status};
use wes_ures::{ChunkSource, SourceError, StoreSource};

use crate::node::Node;

/// The most bytes one block or transaction from a peer may make this node fetch (contracts,
/// models, circuit files) before it is verified.
pub const MAX_PREFETCH_BYTES: u64 = 64 << 20;

/// The most resources one block or transaction from a peer may make this node fetch.
pub const MAX_PREFETCH_COUNT: usize = 8;

/// How long fetching the resources of one block or transaction may take (a slow peer must
/// not hold the import of everything else).
pub const PREFETCH_TIME: std::time::Duration = std::time::Duration::from_secs(30);

/// `wes-net`'s view of a [`Node`].
pub struct NodeBackend(pub Arc<Node>);

/// Content a transaction needs or registers: with its on-chain registration when there is
/// one, else by id only (an execution's code, a model's circuit file).
enum Needed {
    Registered(ResourceBody),
    ById(ContentId, ResourceKind),
}

impl NodeBackend {
    /// [`EutxoLedger::check_stateless`](wes_ledger::EutxoLedger::check_stateless), as a
    /// rejection the sender is charged for.
    fn check_stateless(&self, tx: &SignedTransaction) -> Result<(), Rejection> {
        self.0
            .lock()
            .chain
            .ledger()
            .check_stateless(tx)
            .map_err(|e| Rejection::from_error(&e))
    }

    /// What `txs` reference or execute that URES does not hold yet, and with
    /// `registrations` what they register too (a block's deployments are fetched so that
    /// later calls find the code; a pooled transaction's are not needed to verify it).
    fn missing_resources(&self, txs: &[SignedTransaction], registrations: bool) -> Vec<Needed> {
        let node = &self.0;
        let mut needed = Vec::new();
        let mut seen = HashSet::new();
        {
            let inner = node.lock();
            let ledger = inner.chain.ledger();
            let mut created: HashMap<OutPoint, &Output> = HashMap::new();
            for tx in txs {
                for (i, out) in tx.tx.outputs.iter().enumerate() {
                    created.insert(tx.tx.outpoint(i as u32), out);
                }
            }
            let mut consider = |body: &ResourceBody, needed: &mut Vec<Needed>| {
                if body.kind != ResourceKind::File
                    && body.size <= MAX_PREFETCH_BYTES
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
        }
        let store = &node.ures.0;
        needed.retain(|n| {
            let id = match n {
                Needed::Registered(b) => b.content,
                Needed::ById(id, _) => *id,
            };
            !store.has(&id).unwrap_or(true)
        });
        needed
    }

    /// Fetches `needed` from peers. Failures are logged, not returned: verification
    /// then reports the resource as unavailable (not the sender's fault), and the block or
    /// transaction can be tried again.
    fn prefetch(&self, needed: Vec<Needed>, net: &NetworkHandle) {
        let store = &*self.0.ures.0;
        let mut budget = MAX_PREFETCH_BYTES;
        let deadline = std::time::Instant::now() + PREFETCH_TIME;
        for need in needed.into_iter().take(MAX_PREFETCH_COUNT) {
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
            let result = net.fetch_resource_until(&body, store, deadline);
            match result {
                Ok(report) => tracing::info!(
                    content = %report.stat.id,
                    bytes = report.stat.size,
                    "resource fetched from peers"
                ),
                Err(e) => tracing::warn!("resource not fetched: {e}"),
            }
        }
    }
}

impl ChainBackend for NodeBackend {
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
        let inner = self.0.lock();
        let ledger = inner.chain.ledger();
        let on_best = |hash: &BlockHash| {
            let header = ledger.header(hash).ok().flatten()?;
            (ledger.hash_at(header.height).ok().flatten()? == *hash).then_some(header.height)
        };
        let start = locator.iter().find_map(on_best).unwrap_or(0);
        let tip = inner.chain.best_header().height;
        (start + 1..=tip.min(start.saturating_add(max as u64)))
            .map_while(|h| {
                let hash = ledger.hash_at(h).ok().flatten()?;
                ledger.header(&hash).ok().flatten()
            })
            .collect()
    }

    fn block(&self, hash: &BlockHash) -> Option<Block> {
        self.0.lock().chain.ledger().block(hash).ok().flatten()
    }

    fn knows_block(&self, hash: &BlockHash) -> bool {
        self.0.lock().chain.knows(hash)
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
            let inner = self.0.lock();
            if inner.chain.knows(&hash) {
                return Ok(Imported::Duplicate);
            }
            // Blocks out of nowhere are not kept (an orphan pool fed by gossip is memory
            // anyone can fill): the network syncs from the sender instead, in order.
            if !inner.chain.knows(&block.header.parent) {
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
                wes_consensus::Submitted::Extended { tip, height } => {
                    tracing::info!(height, %tip, "block from the network");
                    Imported::NewTip { tip, height }
                }
                wes_consensus::Submitted::Reorganized { to, .. } => {
                    let height = self.0.lock().chain.best_header().height;
                    tracing::info!(height, tip = %to, "reorganised to a peer's branch");
                    Imported::NewTip { tip: to, height }
                }
                wes_consensus::Submitted::SideBranch => Imported::SideBranch,
                wes_consensus::Submitted::Orphan { missing_parent } => {
                    Imported::Orphan { missing_parent }
                }
                wes_consensus::Submitted::Duplicate => Imported::Duplicate,
            }),
            Err(e) => Err(Rejection::from_error(&e)),
        }
    }

    fn import_transaction(
        &self,
        tx: SignedTransaction,
        net: &NetworkHandle,
    ) -> Result<bool, Rejection> {
        if self.0.lock().mempool.contains(&tx.id()) {
            return Ok(false);
        }
        // What is invalid on every chain (format, signatures) is the sender's fault. A
        // transaction whose execution needs resources we lack is checked for that before
        // anything is fetched for it; any other is checked once, and classified only if it
        // fails.
        let needed = if tx.tx.execution.is_some() {
            self.missing_resources(std::slice::from_ref(&tx), false)
        } else {
            Vec::new()
        };
        let checked_early = !needed.is_empty();
        if checked_early {
            self.check_stateless(&tx)?;
            self.prefetch(needed, net);
        }
        match self.0.accept(tx.clone()) {
            Ok(_) => Ok(true),
            Err(MempoolError::AlreadyKnown(_)) => Ok(false),
            Err(MempoolError::Invalid(l)) if l.fault() == Fault::Local => {
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

    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, SourceError> {
        StoreSource(&*self.0.ures.0).chunk(id, index)
    }

    fn content_size(&self, id: &ContentId) -> Result<u64, SourceError> {
        StoreSource(&*self.0.ures.0).size(id)
    }
}

/// The node's libp2p identity, kept in `dir/p2p-key` so its peer id (and so its address as
/// a bootnode) survives restarts.
pub fn identity(dir: &Path) -> Result<Keypair> {
    let path = dir.join("p2p-key");
    if let Ok(bytes) = std::fs::read(&path) {
        return Keypair::from_protobuf_encoding(&bytes)
            .with_context(|| format!("{} is not a libp2p key", path.display()));
    }
    let key = Keypair::generate_ed25519();
    let bytes = key.to_protobuf_encoding().context("encode the p2p key")?;
    crate::keys::write_private(&path, &bytes)?;
    Ok(key)
}

/// Starts the network for `node` (on the current tokio runtime) and attaches it.
pub async fn start(
    node: &Arc<Node>,
    listen: &[Multiaddr],
    bootnodes: &[Multiaddr],
) -> Result<NetworkHandle> {
    let (chain_id, genesis) = {
        let inner = node.lock();
        (
            node.config.chain.chain_id(),
            inner.chain.ledger().genesis_hash(),
        )
    };
    let mut config = NetConfig::new(chain_id, genesis, listen.to_vec());
    config.bootnodes = bootnodes.to_vec();
    let key = identity(&node.config.data_dir)?;
    let net = wes_net::start(config, key, Arc::new(NodeBackend(node.clone())))
        .await
        .context("start the network")?;
    node.attach_network(net.clone());
    Ok(net)
}
