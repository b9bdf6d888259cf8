//! The running node: the modules a chain chose (see [`NodeBuilder`](crate::NodeBuilder)),
//! and what every chain needs done with them — accepting transactions, importing blocks and
//! following the best chain (mempool, indexes, tip observers such as external settlement),
//! producing blocks through the chain's [`BlockProducer`].
//!
//! # Locking
//! Reads never wait behind an import or a proof: the ledger is shared (`Arc`) and read
//! without any node lock; the best tip is a [`ChainStatus`] snapshot; indexes have their own
//! short locks. Imports and production are serialised by the chain lock; the mempool has its
//! own lock, taken after the chain's and never while verifying a transaction.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use wes_consensus::{ChainError, ChainManager, Checkpoints, ForkPolicy, Submitted};
use wes_core::{
    Block, BlockContext, BlockHash, CandidateRouter, ConsensusEngine, ContentId, GcReport, Ledger,
    OutPoint, Output, ProofSystemId, Prover, ResourceKind, ResourceMeta, ResourceStore, SharedView,
    SignedTransaction, TxId, VerifierRegistry,
};
use wes_ledger::{Mempool, MempoolConfig, MempoolError};
use wes_net::NetworkHandle;

use crate::construct::{Call, ConstructError, Constructed};
use crate::error::NodeError;
use crate::events::EventIndex;
use crate::executors::Executors;
use crate::feed::NodeFeed;
use crate::index::ChainIndex;
use crate::ispc::{Contracts, Models};
use crate::ledger::ChainLedger;
use crate::metrics::NodeMetrics;
use crate::network::PrefetchPolicy;
use crate::producer::BlockProducer;
use crate::resources::Resources;
use crate::settlement::{Settlement, SettlementConfig};
use crate::status::ChainStatus;
use crate::storage::StorageConfig;
use crate::tip::{TipMoved, TipObserver};
use crate::uploads::{Leases, UploadConfig, Uploader};
use crate::view::NodeView;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// What a node does with its modules: limits and policies every chain sets.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the node keeps its files (ledger, resources, network identity…).
    pub data_dir: PathBuf,
    /// The block interval the chain aims at, in milliseconds (producers and the difficulty
    /// rule use their own copy; this one is reported to clients).
    pub block_time_ms: u64,
    /// The mempool's limits.
    pub mempool: MempoolConfig,
    /// The most transactions a produced block carries (coinbase excluded), if fewer than
    /// the chain's limits allow ([`ChainLedger::limits`], which always apply).
    pub max_block_txs: usize,
    /// The most bytes of transactions a produced block carries, if fewer than the chain's
    /// limits allow.
    pub max_block_bytes: usize,
    /// What a peer's block or transaction may make this node fetch before verifying it.
    pub prefetch: PrefetchPolicy,
    /// The most compute units a call constructed through the node may use.
    pub max_call_cu: u64,
    /// For how many blocks a constructed call stays valid.
    pub call_validity_blocks: u64,
    /// When external calls are committed, retried, given up and forgotten.
    pub settlement: SettlementConfig,
    /// How long uploads are kept before they are registered, how many bytes, and how often
    /// unpinned content is collected.
    pub uploads: UploadConfig,
    /// How much disk space the node's stores keep free
    /// ([`storage`](crate::storage): what happens when the disk fills up).
    pub storage: StorageConfig,
    /// How ties of equal work and deep reorganisations are settled (default: a late sibling
    /// does not replace the tip, [`DEFAULT_TIE_WINDOW_MS`]; no reorganisation deeper than
    /// [`DEFAULT_MAX_REORG_DEPTH`] blocks, so blocks that deep are final).
    pub fork_policy: ForkPolicy,
    /// How long each producer waits after the one before it in a height's order
    /// ([`Node::production_delay`]): the height's aggregator produces at its slot, the next
    /// this much later if no block came meanwhile, and so on (default
    /// [`DEFAULT_PRODUCER_STAGGER_MS`]; 0: every producer at its slot).
    pub producer_stagger_ms: u64,
    /// How long, at most, a producer waits for the import of a peer's block it heard of
    /// above its tip before making a rival for that height
    /// ([`Node::awaits_peer_block`]). Under load a peer's block can take seconds to
    /// import, far more than [`producer_stagger_ms`](Self::producer_stagger_ms), and
    /// every rival made meanwhile costs a reorganisation somewhere. Default
    /// [`DEFAULT_PEER_BLOCK_WAIT_MS`]; 0: never waits.
    pub peer_block_wait_ms: u64,
    /// Blocks the chain's operators vouch for: a block at a checkpoint's height must be the
    /// one named, and the best chain is final up to the highest one it has passed
    /// ([`wes_consensus::checkpoints`]). Default: none.
    pub checkpoints: Checkpoints,
    /// The least cumulative work a chain must carry before the node syncs its bodies from
    /// a peer or produces on it (the chain's `nMinimumChainWork`, raised with releases):
    /// a new node is neither led down a long cheap branch nor mining on genesis while the
    /// network is far ahead. Default: 0.
    pub min_chain_work: u128,
}

/// The default [`Config::producer_stagger_ms`]: a quarter of the default block time, far
/// more than a block takes to reach the peers of a network.
pub const DEFAULT_PRODUCER_STAGGER_MS: u64 = 500;

/// The default [`Config::peer_block_wait_ms`]: the default block time. A block heard of
/// and not imported within it was most likely refused.
pub const DEFAULT_PEER_BLOCK_WAIT_MS: u64 = 2_000;

/// The default [`ForkPolicy::tie_window_ms`] of a node: blocks of one height mined at once
/// reach every node well within it; a sibling released later does not replace the tip.
pub const DEFAULT_TIE_WINDOW_MS: u64 = 500;

/// The default [`ForkPolicy::max_reorg_depth`] of a node: blocks this deep are final.
pub const DEFAULT_MAX_REORG_DEPTH: u64 = 100;

impl Config {
    /// Defaults, with files under `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            block_time_ms: 2_000,
            mempool: MempoolConfig::default(),
            max_block_txs: usize::MAX,
            max_block_bytes: usize::MAX,
            prefetch: PrefetchPolicy::default(),
            max_call_cu: 50_000_000,
            call_validity_blocks: 100,
            settlement: SettlementConfig::default(),
            uploads: UploadConfig::default(),
            storage: StorageConfig::default(),
            fork_policy: ForkPolicy {
                tie_window_ms: Some(DEFAULT_TIE_WINDOW_MS),
                max_reorg_depth: Some(DEFAULT_MAX_REORG_DEPTH),
            },
            producer_stagger_ms: DEFAULT_PRODUCER_STAGGER_MS,
            peer_block_wait_ms: DEFAULT_PEER_BLOCK_WAIT_MS,
            checkpoints: Checkpoints::none(),
            min_chain_work: 0,
        }
    }
}

/// A running chain node over ledger type `L`. Built by [`NodeBuilder`](crate::NodeBuilder).
pub struct Node<L: ChainLedger> {
    pub(crate) config: Config,
    pub(crate) chain_id: wes_core::ChainId,
    pub(crate) ledger: Arc<L>,
    pub(crate) chain: Mutex<ChainManager<Arc<L>>>,
    pub(crate) mempool: Mutex<Mempool>,
    pub(crate) engine: Arc<dyn ConsensusEngine>,
    pub(crate) producer: Option<Arc<dyn BlockProducer>>,
    pub(crate) resources: Resources,
    pub(crate) executors: Executors,
    pub(crate) provers: BTreeMap<ProofSystemId, Arc<dyn Prover>>,
    pub(crate) verifiers: VerifierRegistry,
    pub(crate) index: Arc<ChainIndex>,
    pub(crate) contracts: Option<Contracts>,
    pub(crate) models: Option<Models>,
    pub(crate) candidates: Option<Arc<dyn CandidateRouter>>,
    pub(crate) tip_observers: Vec<Arc<dyn TipObserver>>,
    pub(crate) events: Option<Arc<EventIndex>>,
    pub(crate) settlement: Option<Arc<Settlement>>,
    pub(crate) feed: NodeFeed,
    pub(crate) status: RwLock<ChainStatus>,
    pub(crate) sealing: Mutex<Option<Arc<AtomicBool>>>,
    pub(crate) net: OnceLock<NetworkHandle>,
    pub(crate) stop: AtomicBool,
    pub(crate) produced: AtomicU64,
    pub(crate) metrics: Arc<NodeMetrics>,
    pub(crate) leases: Leases,
}

impl<L: ChainLedger> core::fmt::Debug for Node<L> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let status = self.status();
        f.debug_struct("Node")
            .field("chain_id", &self.chain_id)
            .field("engine", &self.engine.name())
            .field("height", &status.height)
            .field("best", &status.best)
            .field("executors", &self.executors)
            .field("verifiers", &self.verifiers)
            .finish_non_exhaustive()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<L: ChainLedger> Node<L> {
    /// The node's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The chain id.
    pub fn chain_id(&self) -> wes_core::ChainId {
        self.chain_id
    }

    /// The ledger, for reads (lock-free; the tip may move between two reads).
    pub fn ledger(&self) -> &Arc<L> {
        &self.ledger
    }

    /// The chain manager, locked: for what only it knows (side branches, cumulative work,
    /// confirmations of any block). Imports wait while it is held; prefer
    /// [`status`](Node::status), [`ledger`](Node::ledger) and [`index`](Node::index).
    pub fn chain(&self) -> MutexGuard<'_, ChainManager<Arc<L>>> {
        lock(&self.chain)
    }

    /// The mempool, locked (briefly: no verification happens under this lock).
    pub fn mempool(&self) -> MutexGuard<'_, Mempool> {
        lock(&self.mempool)
    }

    /// The consensus engine.
    pub fn engine(&self) -> &Arc<dyn ConsensusEngine> {
        &self.engine
    }

    /// The block producer, if this node produces blocks.
    pub fn producer(&self) -> Option<&Arc<dyn BlockProducer>> {
        self.producer.as_ref()
    }

    /// The resource store.
    pub fn resources(&self) -> &Resources {
        &self.resources
    }

    /// The executors by resource kind.
    pub fn executors(&self) -> &Executors {
        &self.executors
    }

    /// The prover registered for `system`.
    pub fn prover(&self, system: &ProofSystemId) -> Option<&Arc<dyn Prover>> {
        self.provers.get(system)
    }

    /// The proof systems the chain accepts.
    pub fn verifiers(&self) -> &VerifierRegistry {
        &self.verifiers
    }

    /// The node's Prometheus metrics (served at `GET /metrics` by the RPC server).
    pub fn metrics(&self) -> &Arc<NodeMetrics> {
        &self.metrics
    }

    /// Unspent outputs by owner and transactions by block, for the best chain.
    pub fn index(&self) -> &ChainIndex {
        &self.index
    }

    /// WASM contracts (executor and prover), if the chain runs contracts.
    pub fn contracts(&self) -> Option<&Contracts> {
        self.contracts.as_ref()
    }

    /// ONNX models and their halo2 prover, if the chain runs models.
    pub fn models(&self) -> Option<&Models> {
        self.models.as_ref()
    }

    /// The candidate routing the network uses for produced blocks (the consensus's).
    pub fn candidate_router(&self) -> Option<&Arc<dyn CandidateRouter>> {
        self.candidates.as_ref()
    }

    /// A view of the tip for executors and verifiers; it takes no lock of the node's.
    pub fn view(&self) -> SharedView {
        Arc::new(NodeView::new(self.ledger.clone(), self.resources.clone()))
    }

    /// Where the best chain stands (a snapshot; never waits for an import).
    pub fn status(&self) -> ChainStatus {
        self.status
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The context of the next block: one above the tip, now (and after the tip's time).
    pub fn next_context(&self) -> BlockContext {
        let s = self.status();
        BlockContext {
            height: s.height + 1,
            time_ms: now_ms().max(s.header.time_ms + 1),
        }
    }

    /// Attaches the network: produced blocks are announced and client transactions relayed.
    pub fn attach_network(&self, net: NetworkHandle) {
        let _ = self.net.set(net);
    }

    /// The network, once attached.
    pub fn network(&self) -> Option<&NetworkHandle> {
        self.net.get()
    }

    /// Validates a client's `tx` against the tip, adds it to the mempool and relays it to
    /// the network.
    ///
    /// # Errors
    /// [`NodeError::Rejected`] with the ledger's or mempool's reason.
    pub fn submit(&self, tx: SignedTransaction) -> Result<TxId, NodeError> {
        let id = self
            .accept(tx.clone())
            .map_err(|e| NodeError::rejected(&e))?;
        if let Some(net) = self.network()
            && let Err(e) = net.publish_transaction(&tx)
        {
            tracing::warn!("relaying {id}: {e}");
        }
        Ok(id)
    }

    /// [`submit`](Self::submit) for many transactions, in order (so a transaction may spend
    /// the outputs of one before it in the list): their signatures are verified together
    /// first, in batches on all cores, then each is admitted on its own, and those admitted
    /// are relayed together. One result per transaction.
    pub fn submit_many(&self, txs: Vec<SignedTransaction>) -> Vec<Result<TxId, NodeError>> {
        self.ledger.preverify(&txs);
        let mut admitted = Vec::new();
        let results = txs
            .into_iter()
            .map(|tx| {
                let id = self
                    .accept(tx.clone())
                    .map_err(|e| NodeError::rejected(&e))?;
                admitted.push(tx);
                Ok(id)
            })
            .collect();
        if let Some(net) = self.network()
            && let Err(e) = net.publish_transactions(admitted)
        {
            tracing::warn!("relaying a batch: {e}");
        }
        results
    }

    /// Validates `tx` against the tip and adds it to the mempool (a peer's transaction:
    /// the network relays it, the node does not). Signatures and proofs are verified without
    /// holding the mempool's lock.
    pub fn accept(&self, tx: SignedTransaction) -> Result<TxId, MempoolError<L::Error>> {
        let result = self.admit(tx);
        if let Ok(id) = &result {
            self.metrics.txs_admitted.inc();
            self.feed.admitted(*id);
        } else {
            self.metrics.txs_refused.inc();
        }
        result
    }

    /// Checks `tx` against the tip and the pool as [`Node::accept`] would, short of its
    /// execution proof (`ChainLedger::check_unproven`): what must hold before the node
    /// fetches the resources the proof needs.
    ///
    /// # Errors
    /// The ledger's refusal.
    pub fn check_unproven(&self, tx: &SignedTransaction) -> Result<(), L::Error> {
        let unconfirmed = self.mempool().unconfirmed_inputs(tx);
        self.ledger
            .check_unproven(tx, &self.next_context(), &unconfirmed)
    }

    fn admit(&self, tx: SignedTransaction) -> Result<TxId, MempoolError<L::Error>> {
        let id = tx.id();
        let unconfirmed = {
            let pool = self.mempool();
            if pool.contains(&id) {
                return Err(MempoolError::AlreadyKnown(id));
            }
            // Outputs of pooled transactions it spends or reads (a wallet's pending change).
            pool.unconfirmed_inputs(&tx)
        };
        let best = self.status().best;
        let ctx = self.next_context();
        let started = Instant::now();
        let checked = self.ledger.check_transaction_with(&tx, &ctx, &unconfirmed);
        self.metrics
            .tx_check_seconds
            .observe(started.elapsed().as_secs_f64());
        let summary = checked.map_err(MempoolError::Invalid)?;
        let mut pool = self.mempool();
        if self.status().best != best {
            // The tip moved while the transaction was checked: check it again, now that the
            // pool follows the new tip.
            return pool.insert(&*self.ledger, tx, &self.next_context());
        }
        pool.insert_checked(tx, summary, &unconfirmed)
    }

    /// Stores `bytes` in the resource store as `kind` after its executor checked them (a
    /// WASM module or ONNX model must load; plain files are stored as they are), leased as
    /// the operator's upload ([`put_resource_as`](Self::put_resource_as)).
    ///
    /// # Errors
    /// As [`put_resource_as`](Self::put_resource_as).
    pub fn put_resource(
        &self,
        bytes: &[u8],
        kind: ResourceKind,
        name: &str,
    ) -> Result<ContentId, NodeError> {
        self.put_resource_as(&Uploader::Operator, bytes, kind, name)
    }

    /// Stores `bytes` as [`put_resource`](Self::put_resource) does, leased for
    /// `uploader` ([`uploads`](crate::uploads)): pinned until the transaction registering
    /// it is mined or the lease ends, within the node's quota and the client's share.
    ///
    /// # Errors
    /// [`NodeError::InvalidResource`] with the executor's reason;
    /// [`NodeError::UploadQuota`] or [`NodeError::ClientUploadQuota`]; the store's failure.
    pub fn put_resource_as(
        &self,
        uploader: &Uploader,
        bytes: &[u8],
        kind: ResourceKind,
        name: &str,
    ) -> Result<ContentId, NodeError> {
        self.executors
            .validate(kind, bytes)
            .map_err(|e| NodeError::InvalidResource {
                kind,
                reason: e.message,
            })?;
        let meta = ResourceMeta {
            name: name.into(),
            mime: String::new(),
            verifying_key: None,
        };
        // Leased (pinned) before it is stored, so that no collection can remove it before
        // the transaction registering it is mined.
        let id = wes_ures::content_id(bytes);
        self.leases.take(
            &self.resources,
            id,
            bytes.len() as u64,
            Instant::now(),
            uploader,
        )?;
        match self.resources.put(kind, &meta, &mut &bytes[..]) {
            Ok(stat) => Ok(stat.id),
            Err(e) => {
                let _ = self.leases.release(&self.resources, &id);
                Err(e.into())
            }
        }
    }

    /// Lifts the upload leases that ended, then removes every content no live output or
    /// lease pins. The running node does it every
    /// [`UploadConfig::gc_interval`](crate::UploadConfig::gc_interval).
    ///
    /// # Errors
    /// The store's failure.
    pub fn collect_garbage(&self) -> Result<GcReport, NodeError> {
        let expired = self.leases.expire(&self.resources, Instant::now())?;
        let report = self.resources.collect_garbage()?;
        tracing::debug!(
            expired,
            removed = report.removed,
            bytes_freed = report.bytes_freed,
            leased_bytes = self.leases.held_bytes(),
            "collected unpinned resources"
        );
        Ok(report)
    }

    /// Executes `call` once with the executor of its resource's kind and returns the
    /// transaction carrying the outcome, proven with `call.proof_system`'s prover, for the
    /// caller to sign ([`construct`](mod@crate::construct)). Runs against a lock-free view.
    ///
    /// A WASM contract proven by the chain's [`Contracts`] prover is assembled by the
    /// contract runtime (`wes_ispc::construct_call`), as `wes_constructCall` does: nested
    /// calls name their callees, minted and contract-held assets are balanced.
    ///
    /// # Errors
    /// [`NodeError::Construct`]: no executor or prover, a failed execution or proof.
    pub fn construct(&self, call: &Call) -> Result<Constructed, NodeError> {
        let kind = self
            .resources
            .stat(&call.resource)?
            .ok_or(ConstructError::MissingResource(call.resource))?
            .kind;
        if let Some(contracts) = &self.contracts
            && kind == ResourceKind::Wasm
            && call.proof_system == contracts.prover.system()
        {
            return self.construct_contract_call(call, contracts);
        }
        let executor = self
            .executors
            .get(kind)
            .ok_or(ConstructError::NoExecutor(kind))?;
        let prover = self
            .provers
            .get(&call.proof_system)
            .ok_or_else(|| ConstructError::NoProver(call.proof_system.clone()))?;
        let ctx = self.next_context();
        // Fee inputs may be pending change: outputs of pooled transactions.
        let unconfirmed: Vec<(OutPoint, Output)> = {
            let pool = self.mempool();
            call.fee_inputs
                .iter()
                .filter_map(|op| pool.output(op).map(|o| (*op, o.clone())))
                .collect()
        };
        let view: SharedView = Arc::new(
            NodeView::new(self.ledger.clone(), self.resources.clone())
                .with_unconfirmed(unconfirmed),
        );
        let started = Instant::now();
        let constructed = crate::construct::construct(
            &**executor,
            &**prover,
            self.chain_id,
            call,
            ctx.height,
            ctx.time_ms,
            ctx.height + self.config.call_validity_blocks,
            &view,
        );
        self.metrics
            .construct_seconds
            .observe(started.elapsed().as_secs_f64());
        let constructed = constructed?;
        // External calls the execution prepared follow the transaction from now on. (Had
        // the proof failed, the journal aborts them as orphans.)
        if let Some(settlement) = &self.settlement {
            let external = wes_ispc::connector::external_calls(&constructed.outcome.trace);
            if let Err(e) = settlement.track(&constructed.tx, &external) {
                if let Some(contracts) = &self.contracts {
                    contracts.wasm.connectors().abandon(&external);
                }
                return Err(e.into());
            }
        }
        Ok(constructed)
    }

    /// [`construct`](Self::construct) for a WASM contract of the chain's [`Contracts`].
    fn construct_contract_call(
        &self,
        call: &Call,
        contracts: &Contracts,
    ) -> Result<Constructed, NodeError> {
        let ctx = self.next_context();
        let request = wes_ispc::CallRequest {
            chain_id: self.chain_id,
            resource: call.resource,
            entry: call.entry.clone(),
            args: call.args.clone(),
            cu_limit: call.cu_limit,
            height: ctx.height,
            valid_until: ctx.height + self.config.call_validity_blocks,
            time_ms: ctx.time_ms,
            fee_inputs: call.fee_inputs.clone(),
            change_lock: call.change.clone(),
            fee: call.fee,
            fee_token: wes_core::TokenId::Native,
        };
        let started = Instant::now();
        let constructed =
            wes_ispc::construct_call(&contracts.wasm, &*contracts.prover, &request, &self.view());
        self.metrics
            .construct_seconds
            .observe(started.elapsed().as_secs_f64());
        let constructed = constructed.map_err(ConstructError::Contract)?;
        if let Some(settlement) = &self.settlement
            && let Err(e) = settlement.track(&constructed.tx, &constructed.external)
        {
            contracts.wasm.connectors().abandon(&constructed.external);
            return Err(e.into());
        }
        Ok(Constructed {
            tx: constructed.tx,
            proof: constructed.proof,
            outcome: constructed.outcome,
        })
    }

    /// [`construct`](Self::construct) as a job off the node's async threads, on tokio's
    /// blocking pool: the executor and the prover may block (a remote prover waiting on the
    /// network, a proof taking seconds) while the node's networking, import and RPC tasks go
    /// on. This is the path for modules that wait on the outside world; the traits stay
    /// synchronous.
    ///
    /// # Errors
    /// As [`construct`](Self::construct); [`NodeError::Job`] when called outside a tokio
    /// runtime or if the job panicked.
    pub async fn construct_async(self: &Arc<Self>, call: Call) -> Result<Constructed, NodeError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| NodeError::Job(format!("construction needs a tokio runtime: {e}")))?;
        let node = self.clone();
        runtime
            .spawn_blocking(move || node.construct(&call))
            .await
            .map_err(|e| NodeError::Job(format!("construction: {e}")))?
    }

    /// Submits a block (produced here or from a peer) to the chain, and brings the status,
    /// the mempool and the tip observers along when the best chain changes,
    /// reorganisations included.
    ///
    /// The chain may move even when the submission fails (orphans it connected applied
    /// before one of them failed): what follows is decided by where the best chain is
    /// afterwards, not by the outcome.
    pub fn import_block(&self, block: Block) -> Result<Submitted, ChainError<L::Error>> {
        let mut chain = self.chain();
        let old_best = chain.best_hash();
        let started = Instant::now();
        let result = chain.submit_block(block, now_ms());
        if matches!(
            result,
            Ok(Submitted::Extended { .. } | Submitted::Reorganized { .. })
        ) {
            self.metrics.blocks_imported.inc();
            self.metrics
                .block_import_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        if matches!(result, Ok(Submitted::Reorganized { .. })) {
            self.metrics.reorgs.inc();
        }
        if chain.best_hash() != old_best {
            let moved = self.follow_tip(&chain, old_best);
            drop(chain);
            if !moved.reverted.is_empty() {
                tracing::info!(reverted = moved.reverted.len(), "chain reorganised");
            }
            self.announce(moved);
        }
        result
    }

    /// Tells the tip observers and the feed's subscribers what the move did.
    pub(crate) fn announce(&self, moved: TipMoved) {
        for observer in &self.tip_observers {
            observer.tip_moved(&moved);
        }
        self.feed.moved(moved);
    }

    /// The settlement of external calls, when the node runs contracts.
    pub fn settlement(&self) -> Option<&Arc<Settlement>> {
        self.settlement.as_ref()
    }

    /// The index of contract events, unless the node keeps none
    /// ([`NodeBuilder::without_event_index`](crate::NodeBuilder::without_event_index)).
    pub fn events(&self) -> Option<&Arc<EventIndex>> {
        self.events.as_ref()
    }

    /// The node's feed of events (moves of the best chain, admitted transactions), for
    /// subscriptions.
    pub fn feed(&self) -> &NodeFeed {
        &self.feed
    }

    /// After the best chain moved away from `old_best`: the status, the seal in progress
    /// and the mempool follow; returns what the tip observers must hear.
    fn follow_tip(&self, chain: &ChainManager<Arc<L>>, old_best: BlockHash) -> TipMoved {
        *self.status.write().unwrap_or_else(|e| e.into_inner()) =
            ChainStatus::of(chain, self.ledger.genesis_hash());
        // A block being sealed on the old tip is wasted work now.
        if let Some(cancel) = &*lock(&self.sealing) {
            cancel.store(true, Ordering::SeqCst);
        }
        let ledger = &*self.ledger;
        let on_best = |b: &Block| ledger.hash_at(b.header.height).ok().flatten() == Some(b.hash());
        // The old branch back to the fork point (empty when the chain only grew).
        let mut reverted = Vec::new();
        let mut at = old_best;
        let fork_height = loop {
            match ledger.block(&at) {
                Ok(Some(b)) if on_best(&b) => break Some(b.header.height),
                Ok(Some(b)) => {
                    at = b.header.parent;
                    reverted.push(b);
                }
                _ => break None,
            }
        };
        let tip = chain.best_header().height;
        let applied: Vec<Block> = fork_height
            .map(|f| {
                (f + 1..=tip)
                    .filter_map(|h| {
                        let hash = ledger.hash_at(h).ok().flatten()?;
                        ledger.block(&hash).ok().flatten()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let next = self.next_context();
        let mut mempool = self.mempool();
        let before: HashSet<TxId> = mempool.ids().copied().collect();
        if fork_height.is_some() && reverted.is_empty() {
            for b in &applied {
                mempool.block_applied(ledger, b, &next);
            }
        } else {
            // A reorganisation (or a branch we could not walk: then everything held is
            // checked against the new tip).
            mempool.reorganized(ledger, &reverted, &applied, &next);
        }
        // Pooled transactions that left without being included.
        let included: HashSet<TxId> = applied
            .iter()
            .flat_map(|b| b.transactions.iter().map(|t| t.id()))
            .collect();
        let dropped = before
            .into_iter()
            .filter(|id| !mempool.contains(id) && !included.contains(id))
            .collect();
        TipMoved {
            reverted,
            applied,
            dropped,
        }
    }

    /// Asks the producer to stop (and cancels a seal in progress).
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(cancel) = &*lock(&self.sealing) {
            cancel.store(true, Ordering::SeqCst);
        }
    }

    /// Whether the ledger could write a block now: the ledger's refusal otherwise (its
    /// disk too full, rule `disk_full`; or an earlier failed write, until a restart). See
    /// [`storage`](crate::storage).
    ///
    /// # Errors
    /// The ledger's ([`ChainLedger::writable`]).
    pub fn writable(&self) -> Result<(), NodeError> {
        self.ledger.writable().map_err(NodeError::ledger)
    }

    /// Whether the node is stopping.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Whether this node produces blocks (it has a producer and is not stopping).
    pub fn producing(&self) -> bool {
        self.producer.is_some() && !self.stopping()
    }

    /// Blocks produced by this process.
    pub fn produced(&self) -> u64 {
        self.produced.load(Ordering::Relaxed)
    }
}
