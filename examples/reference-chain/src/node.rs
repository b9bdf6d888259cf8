//! The node: the SDK's parts composed through their public traits, and what the RPC needs.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use wes_consensus::{ChainError, ChainManager, PowParams, PowXorEngine, Submitted};
use wes_core::{
    Address, Block, BlockContext, BlockHash, ChainView, ContentId, ContractId, Ledger, Lock,
    OutPoint, Output, ResourceKind, ResourceMeta, ResourceStore, SecretKey, SignedTransaction,
    TxId, ViewError,
};
use wes_ispc::connectors::HttpConnector;
use wes_ispc::halo2::{Halo2Prover, Halo2Verifier, ParamsCache};
use wes_ispc::onnx::OnnxExecutor;
use wes_ispc::{ExternalSettlement, ReplayVerifier, WasmExecutor};
use wes_ledger::{
    EutxoLedger, LedgerError, LedgerObserver, Mempool, MempoolConfig, MempoolError,
    ResourceProvider, SledStore,
};
use wes_net::NetworkHandle;
use wes_ures::DiskStore;

use crate::config::NodeConfig;

/// The ledger type of this node.
pub type NodeLedger = EutxoLedger<SledStore>;

/// Unspent outputs by owner address: what `wes_getBalance` and `wes_getUtxos` read. Rebuilt
/// from the chain at start, then kept current as a ledger observer.
#[derive(Default)]
pub struct OwnerIndex {
    map: Mutex<HashMap<Address, HashMap<OutPoint, Output>>>,
}

impl OwnerIndex {
    fn lock(&self) -> MutexGuard<'_, HashMap<Address, HashMap<OutPoint, Output>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Removes `gone` and adds `new` in one step, so that readers never see half a block.
    fn update(&self, gone: &[(OutPoint, Output)], new: &[(OutPoint, Output)]) {
        let mut map = self.lock();
        for (op, out) in gone {
            if let Some(m) = map.get_mut(&out.lock.address()) {
                m.remove(op);
            }
        }
        for (op, out) in new {
            map.entry(out.lock.address())
                .or_default()
                .insert(*op, out.clone());
        }
    }

    /// The unspent outputs `owner` can spend, in outpoint order.
    pub fn of(&self, owner: &Address) -> Vec<(OutPoint, Output)> {
        let mut v: Vec<_> = self
            .lock()
            .get(owner)
            .map(|m| m.iter().map(|(o, out)| (*o, out.clone())).collect())
            .unwrap_or_default();
        v.sort_by_key(|(o, _)| *o);
        v
    }
}

impl LedgerObserver for OwnerIndex {
    fn block_applied(
        &self,
        _: &Block,
        spent: &[(OutPoint, Output)],
        created: &[(OutPoint, Output)],
    ) {
        self.update(spent, created);
    }

    fn block_reverted(
        &self,
        _: &Block,
        restored: &[(OutPoint, Output)],
        removed: &[(OutPoint, Output)],
    ) {
        self.update(removed, restored);
    }
}

/// URES as the ledger's and executors' resource source.
pub struct Ures(pub Arc<DiskStore>);

impl Ures {
    /// The bytes of `id`, verified chunk by chunk.
    pub fn read(&self, id: &ContentId) -> Result<Option<Vec<u8>>, ViewError> {
        if !self.0.has(id).map_err(|e| ViewError(e.to_string()))? {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        self.0
            .open(id)
            .map_err(|e| ViewError(e.to_string()))?
            .read_to_end(&mut bytes)
            .map_err(|e| ViewError(e.to_string()))?;
        Ok(Some(bytes))
    }
}

impl ResourceProvider for Ures {
    fn resource(&self, id: &ContentId) -> Result<Option<Vec<u8>>, ViewError> {
        self.read(id)
    }
}

/// The chain at the tip plus URES, for constructing executions.
pub struct TipView<'a> {
    ledger: &'a NodeLedger,
    ures: &'a Ures,
}

impl ChainView for TipView<'_> {
    fn unspent(&self, outpoint: &OutPoint) -> Result<Option<Output>, ViewError> {
        self.ledger
            .unspent(outpoint)
            .map_err(|e| ViewError(e.to_string()))
    }

    fn state(
        &self,
        contract: &ContractId,
        key: &[u8],
    ) -> Result<Option<(OutPoint, Output)>, ViewError> {
        self.ledger
            .state(contract, key)
            .map_err(|e| ViewError(e.to_string()))
    }

    fn resource(&self, id: &ContentId) -> Result<Option<Vec<u8>>, ViewError> {
        self.ures.read(id)
    }
}

/// The tip plus URES, taking the node's lock for each read only: long executions (contract
/// calls, proving) run without holding up the miner and the other RPC calls. The tip may move
/// meanwhile; the transaction is then refused at submission, like any stale one.
pub struct LockedView<'a>(&'a Node);

impl ChainView for LockedView<'_> {
    fn unspent(&self, outpoint: &OutPoint) -> Result<Option<Output>, ViewError> {
        let inner = self.0.lock();
        self.0.view(&inner).unspent(outpoint)
    }

    fn state(
        &self,
        contract: &ContractId,
        key: &[u8],
    ) -> Result<Option<(OutPoint, Output)>, ViewError> {
        let inner = self.0.lock();
        self.0.view(&inner).state(contract, key)
    }

    fn resource(&self, id: &ContentId) -> Result<Option<Vec<u8>>, ViewError> {
        self.0.ures.read(id)
    }
}

/// Where the best chain stands, kept current for readers that must not wait for the node's
/// lock (the network's event loop answers peers' status requests from it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainStatus {
    /// The genesis hash.
    pub genesis: BlockHash,
    /// The best tip.
    pub best: BlockHash,
    /// Its height.
    pub height: u64,
    /// Cumulative work of the best chain.
    pub work: u128,
    /// Hashes of the best chain at `wes_net::protocol::locator_heights(height)`.
    pub locator: Vec<BlockHash>,
}

impl ChainStatus {
    fn of(chain: &ChainManager<NodeLedger>) -> ChainStatus {
        let ledger = chain.ledger();
        let best = chain.best_hash();
        let height = chain.best_header().height;
        ChainStatus {
            genesis: ledger.genesis_hash(),
            best,
            height,
            work: chain.cumulative_work(&best).map_or(0, |w| w.0),
            locator: wes_net::protocol::locator_heights(height)
                .into_iter()
                .filter_map(|h| ledger.hash_at(h).ok().flatten())
                .collect(),
        }
    }
}

/// What the chain and the mempool hold, behind one lock.
pub struct Inner {
    /// The chain manager (ledger inside).
    pub chain: ChainManager<NodeLedger>,
    /// Transactions waiting for a block.
    pub mempool: Mempool,
}

/// A running node's parts.
pub struct Node {
    inner: Mutex<Inner>,
    /// Its configuration.
    pub config: NodeConfig,
    engine: Arc<PowXorEngine>,
    /// Resources.
    pub ures: Arc<Ures>,
    /// WASM contracts.
    pub wasm: Arc<WasmExecutor>,
    /// ONNX models.
    pub onnx: Arc<OnnxExecutor>,
    /// halo2 proofs of inference.
    pub prover: Halo2Prover,
    /// IPA parameters (cached in the data directory).
    pub params: Arc<ParamsCache>,
    /// Owners' unspent outputs.
    pub index: Arc<OwnerIndex>,
    /// External calls of constructed transactions, committed when they are mined and
    /// aborted when they expire.
    pub settlement: ExternalSettlement,
    miner: Option<SecretKey>,
    status: Mutex<ChainStatus>,
    /// Set to abandon the block being sealed (its parent is no longer the tip).
    sealing: Mutex<Option<Arc<AtomicBool>>>,
    net: OnceLock<NetworkHandle>,
    stop: AtomicBool,
    mined: AtomicU64,
    hash_rate: AtomicU64,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Node {
    /// Opens (or creates) the node's data directory under `config`.
    pub fn open(config: NodeConfig, miner: Option<SecretKey>) -> Result<Arc<Node>> {
        let dir = &config.data_dir;
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let mut pow = PowParams::devnet(config.chain.chain_id());
        pow.block_time_ms = config.chain.block_time_ms;
        let genesis = config.chain.genesis(pow.pow_limit)?;
        let ures = Arc::new(Ures(Arc::new(
            DiskStore::open(dir.join("resources")).context("open the resource store")?,
        )));
        let wasm = Arc::new(WasmExecutor::default());
        for c in &config.connectors {
            wasm.connectors()
                .register(&c.name, Arc::new(HttpConnector::new(&c.url)), None);
        }
        let settlement = ExternalSettlement::new(wasm.connectors().clone());
        let onnx = Arc::new(OnnxExecutor::new());
        let params = Arc::new(ParamsCache::on_disk(dir.join("halo2-params")));
        let mut verifiers = wes_core::VerifierRegistry::new();
        for system in &config.chain.proof_systems {
            match system.as_str() {
                "replay" => verifiers.register(Arc::new(ReplayVerifier::new(wasm.clone()))),
                "halo2-ipa" => {
                    verifiers.register(Arc::new(Halo2Verifier::new(params.clone(), onnx.clone())))
                }
                other => bail!("unknown proof system {other}"),
            };
        }
        let index = Arc::new(OwnerIndex::default());
        let store = SledStore::open(dir.join("ledger")).context("open the ledger store")?;
        let ledger = EutxoLedger::open(store, config.chain.ledger_config(), &genesis, verifiers)?
            .with_resources(ures.clone())
            .with_observer(index.clone());
        // The index starts from the chain as it is.
        let tip = ledger.tip()?;
        for height in 0..=tip.height {
            let hash = ledger.hash_at(height)?.context("missing block hash")?;
            let block = ledger.block(&hash)?.context("missing block")?;
            let mut live = Vec::new();
            for tx in &block.transactions {
                for i in 0..tx.tx.outputs.len() {
                    let op = tx.tx.outpoint(i as u32);
                    if let Some(out) = ledger.unspent(&op)? {
                        live.push((op, out));
                    }
                }
            }
            index.update(&[], &live);
        }
        let header = ledger
            .header(&ledger.genesis_hash())?
            .context("genesis header")?;
        let engine = Arc::new(PowXorEngine::for_genesis(pow, &header)?);
        let chain = ChainManager::new(ledger, engine.clone())?;
        let status = Mutex::new(ChainStatus::of(&chain));
        let mempool = Mempool::new(MempoolConfig::default(), config.chain.ledger_config().fees);
        Ok(Arc::new(Node {
            inner: Mutex::new(Inner { chain, mempool }),
            prover: Halo2Prover::new(params.clone(), onnx.clone()),
            config,
            engine,
            ures,
            wasm,
            onnx,
            params,
            index,
            settlement,
            miner,
            status,
            sealing: Mutex::new(None),
            net: OnceLock::new(),
            stop: AtomicBool::new(false),
            mined: AtomicU64::new(0),
            hash_rate: AtomicU64::new(0),
        }))
    }

    /// The chain and mempool, locked.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A view of the tip for reading while `inner` is locked.
    pub fn view<'a>(&'a self, inner: &'a Inner) -> TipView<'a> {
        TipView {
            ledger: inner.chain.ledger(),
            ures: &self.ures,
        }
    }

    /// A view of the tip for long work (executions, proofs): it locks per read.
    pub fn locked_view(&self) -> LockedView<'_> {
        LockedView(self)
    }

    /// The context of the next block.
    pub fn next_context(inner: &Inner) -> Result<BlockContext> {
        let tip = inner.chain.tip()?;
        Ok(BlockContext {
            height: tip.height + 1,
            time_ms: now_ms().max(inner.chain.best_header().time_ms + 1),
        })
    }

    /// Validates a client's `tx` against the tip, adds it to the mempool and relays it to
    /// the network.
    pub fn submit(&self, tx: SignedTransaction) -> Result<TxId> {
        let id = self.accept(tx.clone()).map_err(|e| anyhow!("{e}"))?;
        if let Some(net) = self.network()
            && let Err(e) = net.publish_transaction(&tx)
        {
            tracing::warn!("relaying {id}: {e}");
        }
        Ok(id)
    }

    /// Validates `tx` against the tip and adds it to the mempool (a peer's transaction:
    /// gossip relays it, the node does not).
    pub fn accept(&self, tx: SignedTransaction) -> Result<TxId, MempoolError<LedgerError>> {
        let mut inner = self.lock();
        let ctx = Self::next_context(&inner).map_err(|e| {
            MempoolError::Invalid(LedgerError::Store(wes_ledger::StoreError::Backend(
                e.to_string(),
            )))
        })?;
        let Inner { chain, mempool } = &mut *inner;
        mempool.insert(chain.ledger(), tx, &ctx)
    }

    /// Where the best chain stands (without taking the node's lock).
    pub fn status(&self) -> ChainStatus {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Attaches the network: mined blocks are announced and client transactions relayed.
    pub fn attach_network(&self, net: NetworkHandle) {
        let _ = self.net.set(net);
    }

    /// The network, once attached.
    pub fn network(&self) -> Option<&NetworkHandle> {
        self.net.get()
    }

    /// The consensus engine (header checks for the network).
    pub fn engine(&self) -> &PowXorEngine {
        &self.engine
    }

    /// Submits a block (mined here or from a peer) to the chain, and brings the mempool and
    /// external-call settlement along when the best chain changes, reorganisations included.
    ///
    /// The chain may move even when the submission fails (orphans it connected applied
    /// before one of them failed): what follows is decided by where the best chain is
    /// afterwards, not by the outcome.
    pub fn import_block(&self, block: Block) -> Result<Submitted, ChainError<LedgerError>> {
        let mut inner = self.lock();
        let old_best = inner.chain.best_hash();
        let result = inner.chain.submit_block(block, now_ms());
        if inner.chain.best_hash() != old_best {
            let moved = self.follow_tip(&mut inner, old_best);
            drop(inner);
            if !moved.reverted.is_empty() {
                tracing::info!(reverted = moved.reverted.len(), "chain reorganised");
            }
            for id in &moved.dropped {
                self.settlement.dropped(id);
            }
            for b in &moved.applied {
                let settled = self.settlement.block(b);
                for (op, e) in &settled.failures {
                    tracing::warn!(op = %op.op, "connector did not hear the outcome: {e}");
                }
            }
        }
        result
    }

    /// After the best chain moved away from `old_best`: the cached status, the seal in
    /// progress and the mempool follow; returns what settlement must hear.
    fn follow_tip(&self, inner: &mut Inner, old_best: BlockHash) -> TipMoved {
        *self.status.lock().unwrap_or_else(|e| e.into_inner()) = ChainStatus::of(&inner.chain);
        // A block being sealed on the old tip is wasted work now.
        if let Some(cancel) = &*self.sealing.lock().unwrap_or_else(|e| e.into_inner()) {
            cancel.store(true, Ordering::SeqCst);
        }
        let ledger = inner.chain.ledger();
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
        let tip = inner.chain.best_header().height;
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
        let next = match Self::next_context(inner) {
            Ok(next) => next,
            Err(e) => {
                tracing::error!("cannot update the mempool for the new tip: {e:#}");
                return TipMoved {
                    reverted,
                    applied,
                    dropped: Vec::new(),
                };
            }
        };
        let Inner { chain, mempool } = inner;
        let before: HashSet<TxId> = mempool.ids().copied().collect();
        if fork_height.is_some() && reverted.is_empty() {
            for b in &applied {
                mempool.block_applied(chain.ledger(), b, &next);
            }
        } else {
            // A reorganisation (or a branch we could not walk: then everything held is
            // checked against the new tip).
            mempool.reorganized(chain.ledger(), &reverted, &applied, &next);
        }
        // Pooled transactions that left without being mined: their external calls are
        // aborted now rather than at expiry.
        let mined: HashSet<TxId> = applied
            .iter()
            .flat_map(|b| b.transactions.iter().map(|t| t.id()))
            .collect();
        let dropped = before
            .into_iter()
            .filter(|id| !mempool.contains(id) && !mined.contains(id))
            .collect();
        TipMoved {
            reverted,
            applied,
            dropped,
        }
    }

    /// Stores `bytes` in URES after checking them as `kind` (a WASM module or ONNX model is
    /// validated by its executor first).
    pub fn put_resource(&self, bytes: &[u8], kind: ResourceKind, name: &str) -> Result<ContentId> {
        match kind {
            ResourceKind::Wasm => wes_core::Executor::validate(&*self.wasm, bytes)
                .map_err(|e| anyhow!("invalid WASM contract: {e}"))?,
            ResourceKind::Onnx => wes_core::Executor::validate(&*self.onnx, bytes)
                .map_err(|e| anyhow!("invalid ONNX model: {e}"))?,
            ResourceKind::File => {}
        }
        let meta = ResourceMeta {
            name: name.into(),
            mime: String::new(),
            verifying_key: None,
        };
        let stat = self.ures.0.put(kind, &meta, &mut &bytes[..])?;
        Ok(stat.id)
    }

    /// Asks the miner to stop.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(cancel) = &*self.sealing.lock().unwrap_or_else(|e| e.into_inner()) {
            cancel.store(true, Ordering::SeqCst);
        }
    }

    /// Whether the node is stopping.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Blocks mined by this process, and the last hash rate seen.
    pub fn mining_stats(&self) -> (u64, u64) {
        (
            self.mined.load(Ordering::Relaxed),
            self.hash_rate.load(Ordering::Relaxed),
        )
    }

    /// Whether this node mines.
    pub fn mining(&self) -> bool {
        self.miner.is_some() && self.config.mine
    }

    /// Mines one block on the tip from the mempool. Returns its height and hash.
    pub fn mine_one(&self) -> Result<(u64, BlockHash, usize)> {
        let miner = self.miner.as_ref().context("no miner key")?;
        let mut inner = self.lock();
        let ctx = Self::next_context(&inner)?;
        let mut txs: Vec<SignedTransaction> = inner
            .mempool
            .select(1_000, 4 << 20)
            .into_iter()
            .map(|p| p.tx.clone())
            .collect();
        let lock = Lock::key(miner.public_key());
        let mut built =
            inner
                .chain
                .ledger()
                .build_block(txs.clone(), &lock, miner.public_key(), ctx.time_ms);
        let mut dropped = Vec::new();
        let mut block = loop {
            match built {
                Ok(b) => break b,
                Err(e) => {
                    // A pooled transaction no longer fits the tip (or conflicts with another
                    // in the block): drop the one the ledger names and try again; anything
                    // else, mine an empty block.
                    if txs.is_empty() {
                        bail!("cannot build even an empty block: {e}");
                    }
                    let bad = failing_tx(&e);
                    tracing::warn!("building a block from the mempool failed: {e}");
                    let Inner { chain, mempool } = &mut *inner;
                    match bad {
                        Some(id) if txs.iter().any(|t| t.id() == id) => {
                            txs.retain(|t| t.id() != id);
                            mempool.remove(&id);
                            dropped.push(id);
                        }
                        _ => txs.clear(),
                    }
                    built = chain.ledger().build_block(
                        txs.clone(),
                        &lock,
                        miner.public_key(),
                        ctx.time_ms,
                    );
                }
            }
        };
        block.header.target = inner.chain.next_target()?;
        // Seal without the lock: peers' blocks keep arriving meanwhile, and one that moves
        // the tip cancels this seal (as does shutdown).
        let cancel = Arc::new(AtomicBool::new(false));
        *self.sealing.lock().unwrap_or_else(|e| e.into_inner()) = Some(cancel.clone());
        drop(inner);
        // Connectors hear about dropped transactions outside the node's lock.
        for id in &dropped {
            self.settlement.dropped(id);
        }
        if self.stopping() {
            cancel.store(true, Ordering::SeqCst);
        }
        let sealed = self.engine.seal_with_stats(block.header, &cancel);
        {
            let mut slot = self.sealing.lock().unwrap_or_else(|e| e.into_inner());
            if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, &cancel)) {
                *slot = None;
            }
        }
        let (sealed, stats) = sealed?;
        let Some(header) = sealed else {
            if self.stopping() {
                bail!("mining cancelled");
            }
            return Err(LostRace {
                hash: BlockHash::default(),
                outcome: "the tip moved while sealing".into(),
            }
            .into());
        };
        block.header = header;
        self.hash_rate
            .store(stats.hash_rate() as u64, Ordering::Relaxed);
        let hash = block.hash();
        let n = block.transactions.len() - 1;
        match self.import_block(block.clone())? {
            Submitted::Extended { .. } | Submitted::Reorganized { .. } => {
                if let Some(net) = self.network()
                    && let Err(e) = net.announce_block(&block)
                {
                    tracing::warn!("announcing {hash}: {e}");
                }
                self.mined.fetch_add(1, Ordering::Relaxed);
                Ok((block.header.height, hash, n))
            }
            other => Err(LostRace {
                hash,
                outcome: format!("{other:?}"),
            }
            .into()),
        }
    }

    /// Mines until [`shutdown`](Node::shutdown), a block every `block_time_ms`.
    pub fn mine_forever(&self) {
        let block_time = self.config.chain.block_time_ms;
        while !self.stopping() {
            let due = self.lock().chain.best_header().time_ms + block_time;
            let now = now_ms();
            if now < due {
                std::thread::sleep(Duration::from_millis((due - now).min(200)));
                continue;
            }
            match self.mine_one() {
                Ok((height, hash, n)) => tracing::info!(height, %hash, txs = n, "mined block"),
                Err(e) if self.stopping() => tracing::debug!("mining stopped: {e}"),
                Err(e) if e.downcast_ref::<LostRace>().is_some() => tracing::debug!("{e}"),
                Err(e) => {
                    tracing::error!("mining failed: {e:#}");
                    std::thread::sleep(Duration::from_millis(block_time));
                }
            }
        }
    }
}

/// What a move of the best chain did, for settlement.
struct TipMoved {
    reverted: Vec<Block>,
    applied: Vec<Block>,
    dropped: Vec<TxId>,
}

/// A block this node mined did not become the tip: a peer's block for the same height won
/// (arrived first with more work, or won the XOR tie-break). Normal with several miners.
#[derive(Debug, thiserror::Error)]
#[error("own block {hash} is not the tip ({outcome}): a peer's block won")]
pub struct LostRace {
    /// The block mined.
    pub hash: BlockHash,
    /// What the chain made of it.
    pub outcome: String,
}

/// The transaction a ledger error blames, if any.
fn failing_tx(e: &wes_ledger::LedgerError) -> Option<TxId> {
    use wes_ledger::{BlockError, LedgerError};
    match e {
        LedgerError::Transaction { txid, .. } => Some(*txid),
        LedgerError::Block { source, .. } => match &**source {
            BlockError::Transaction { txid, .. } => Some(*txid),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `dir` holds a node's data already.
pub fn initialised(dir: &Path) -> bool {
    dir.join("ledger").exists()
}
