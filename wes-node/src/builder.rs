//! [`NodeBuilder`]: a chain chooses its modules and gets a running [`Node`].
//!
//! Shaped after reth's `ComponentsBuilder`, smaller: each module is either a value (a
//! resource store, an executor, a verifier) or a closure that builds it from what the node
//! has decided before it (the ledger gets the data directory, genesis, verifiers, resource
//! store and observers; the consensus gets the genesis header). Everything not chosen has a
//! default: sled ledger, URES on disk, no executors, no producer.
//!
//! ```no_run
//! # fn run() -> Result<(), wes_node::NodeError> {
//! use wes_consensus::PowParams;
//! use wes_core::{ChainId, Genesis, SecretKey};
//! use wes_node::{Config, NodeBuilder};
//!
//! let chain = ChainId(7);
//! let genesis = Genesis {
//!     chain_id: chain,
//!     time_ms: 1_767_225_600_000,
//!     target: PowParams::devnet(chain).pow_limit,
//!     allocations: vec![],
//!     message: "my chain".into(),
//! };
//! let miner = SecretKey::from_seed([1; 32]);
//! let node = NodeBuilder::new(Config::new("my-chain-data"), genesis)
//!     .pow(PowParams::devnet(chain), Some(miner.public_key()))
//!     .build()?;
//! let (height, hash, _) = node.produce_block()?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use wes_consensus::{ChainManager, PowParams, PowXorEngine, RoundRobinAuthority, XorAggregator};
use wes_core::{
    BlockHeader, CandidateRouter, ChainId, ConsensusEngine, Genesis, Ledger, ProofSystemId,
    ProofVerifier, Prover, PublicKey, ResourceStore, SecretKey, VerifierRegistry,
};
use wes_ledger::{
    EutxoLedger, KvStore, LedgerConfig, LedgerObserver, Mempool, PinChanges, ResourcePins,
    SledStore,
};

use crate::error::NodeError;
use crate::events::EventIndex;
use crate::executors::{DynExecutor, Executors};
use crate::index::ChainIndex;
use crate::ispc::{Contracts, Models};
use crate::ledger::ChainLedger;
use crate::metrics::NodeMetrics;
use crate::node::{Config, Node};
use crate::producer::{BlockProducer, PowProducer, SealProducer};
use crate::resources::Resources;
use crate::settlement::Settlement;
use crate::status::ChainStatus;
use crate::tip::TipObserver;

/// What a ledger is built from: handed to the closure given to
/// [`NodeBuilder::ledger`].
pub struct LedgerContext<'a> {
    /// The node's data directory (a ledger on disk lives under it).
    pub data_dir: &'a Path,
    /// The genesis the ledger must start from (or hold already).
    pub genesis: &'a Genesis,
    /// The ledger rules' configuration (chain id, fees, limits).
    pub config: LedgerConfig,
    /// The proof systems the chain accepts.
    pub verifiers: VerifierRegistry,
    /// The node's resource store, for verifiers that read code or models.
    pub resources: Resources,
    /// Observers of applied and reverted blocks (the chain's indexers, if any).
    pub observers: Vec<Arc<dyn LedgerObserver>>,
    /// The free space a ledger on disk keeps
    /// ([`StorageConfig::ledger_reserve`](crate::StorageConfig::ledger_reserve)).
    pub reserve_bytes: u64,
    /// The page cache of a ledger store that has one
    /// ([`StorageConfig::ledger_cache_bytes`](crate::StorageConfig::ledger_cache_bytes)).
    pub cache_bytes: u64,
}

impl LedgerContext<'_> {
    /// The SDK's [`EutxoLedger`] over `store`, wired to the verifiers, resources and
    /// observers.
    ///
    /// The resource store's pins follow the live `Resource` outputs ([`ResourcePins`]), so
    /// that garbage collection never removes what the chain refers to; they are reconciled
    /// with the ledger here first, since a crash can leave them a block behind.
    ///
    /// # Errors
    /// The ledger's: a store holding another chain, a failing store; the resource store's.
    pub fn eutxo<S: KvStore>(self, store: S) -> Result<EutxoLedger<S>, NodeError> {
        let pins = Arc::new(ResourcePins::new(self.resources.clone()));
        let mut ledger = EutxoLedger::open(store, self.config, self.genesis, self.verifiers)
            .map_err(NodeError::ledger)?
            .with_resources(Arc::new(self.resources));
        let live = ledger.live_resources().map_err(NodeError::ledger)?;
        let changes = pins.reconcile(&live)?;
        if changes != PinChanges::default() {
            tracing::warn!(
                pinned = changes.pinned,
                unpinned = changes.unpinned,
                "resource pins were behind the ledger (a crash after a block); reconciled"
            );
        }
        ledger = ledger.with_observer(pins);
        for observer in self.observers {
            ledger = ledger.with_observer(observer);
        }
        Ok(ledger)
    }

    /// The default: [`EutxoLedger`] on sled in `<data_dir>/ledger`, keeping
    /// [`reserve_bytes`](Self::reserve_bytes) free, with a page cache of
    /// [`cache_bytes`](Self::cache_bytes).
    ///
    /// # Errors
    /// The store cannot be opened, or the ledger's.
    pub fn eutxo_sled(self) -> Result<EutxoLedger<SledStore>, NodeError> {
        let store = SledStore::with_cache(self.data_dir.join("ledger"), self.cache_bytes)
            .map_err(NodeError::ledger)?
            .with_reserve(self.reserve_bytes);
        self.eutxo(store)
    }
}

/// What a consensus is built from: handed to the closure given to
/// [`NodeBuilder::consensus`].
pub struct ConsensusContext<'a> {
    /// The chain.
    pub chain_id: ChainId,
    /// The stored genesis header (difficulty anchors, authority sets start there).
    pub genesis: &'a BlockHeader,
    /// The node's configuration (block time, data directory).
    pub config: &'a Config,
}

/// A chain's consensus as the node runs it: the engine that judges headers and chooses
/// the best chain, how this node produces blocks (if it does), and where produced blocks
/// are routed besides gossip.
#[derive(Clone)]
pub struct Consensus {
    /// Header validity, difficulty, fork choice.
    pub engine: Arc<dyn ConsensusEngine>,
    /// This node's block production; `None` to follow the chain only.
    pub producer: Option<Arc<dyn BlockProducer>>,
    /// Candidate routing for the network (`None`: gossip only).
    pub candidates: Option<Arc<dyn CandidateRouter>>,
}

impl Consensus {
    /// A single authority that seals every block at once with `key`, a block every
    /// `block_time_ms` after its parent: a development chain, or a test's.
    pub fn instant_seal(chain_id: ChainId, key: SecretKey, block_time_ms: u64) -> Consensus {
        let producer = SealProducer::new(
            Arc::new(RoundRobinAuthority::instant_seal(chain_id, key.clone())),
            key.public_key(),
            block_time_ms,
        );
        Consensus {
            engine: producer.engine().clone(),
            producer: Some(Arc::new(producer)),
            candidates: None,
        }
    }

    /// Proof of work with XOR tie-breaking and aggregator routing, from `genesis`; mining as
    /// `miner` (fees to its key) every `params.block_time_ms` if given.
    ///
    /// # Errors
    /// The parameters do not fit the genesis header.
    pub fn pow(
        params: PowParams,
        genesis: &BlockHeader,
        miner: Option<PublicKey>,
    ) -> Result<Consensus, NodeError> {
        let chain = params.chain_id;
        let block_time_ms = params.block_time_ms;
        let engine = Arc::new(PowXorEngine::for_genesis(params, genesis)?);
        Ok(Consensus {
            producer: miner.map(|key| {
                Arc::new(PowProducer::new(engine.clone(), key, block_time_ms))
                    as Arc<dyn BlockProducer>
            }),
            engine,
            candidates: Some(Arc::new(XorAggregator { chain })),
        })
    }
}

type LedgerFactory<L> = Box<dyn FnOnce(LedgerContext<'_>) -> Result<L, NodeError>>;
type ConsensusFactory = Box<dyn FnOnce(&ConsensusContext<'_>) -> Result<Consensus, NodeError>>;

/// Chooses a chain's modules and builds its [`Node`]. See the [module](self) documentation.
pub struct NodeBuilder<L> {
    config: Config,
    genesis: Genesis,
    ledger_config: LedgerConfig,
    ledger: LedgerFactory<L>,
    consensus: Option<ConsensusFactory>,
    resources: Option<Resources>,
    executors: Executors,
    provers: BTreeMap<ProofSystemId, Arc<dyn Prover>>,
    verifiers: VerifierRegistry,
    contracts: Option<Contracts>,
    models: Option<Models>,
    observers: Vec<Arc<dyn LedgerObserver>>,
    tip_observers: Vec<Arc<dyn TipObserver>>,
    events: EventStore,
    settlement_store: Option<Arc<dyn KvStore>>,
}

/// Where the node keeps its index of contract events.
enum EventStore {
    /// sled, under `<data dir>/events`.
    Default,
    /// A store of the chain's choosing.
    Store(Arc<dyn KvStore>),
    /// No index: `wes_getLogs` answers that the node keeps none.
    Off,
}

/// The cache of the default event index's sled database.
const EVENT_CACHE_BYTES: u64 = 32 << 20;

/// The cache of the default settlement journal's sled database (a few records per call).
const SETTLEMENT_CACHE_BYTES: u64 = 4 << 20;

impl NodeBuilder<EutxoLedger<SledStore>> {
    /// A chain starting from `genesis`, with the defaults: [`EutxoLedger`] on sled and URES
    /// on disk under `config.data_dir`, ledger rules [`LedgerConfig::new`] for the genesis'
    /// chain id, no executors, no verifiers, and no consensus yet (choose one with
    /// [`consensus`](Self::consensus) or [`pow`](Self::pow)).
    pub fn new(config: Config, genesis: Genesis) -> Self {
        NodeBuilder {
            ledger_config: LedgerConfig::new(genesis.chain_id),
            config,
            genesis,
            ledger: Box::new(|ctx| ctx.eutxo_sled()),
            consensus: None,
            resources: None,
            executors: Executors::new(),
            provers: BTreeMap::new(),
            verifiers: VerifierRegistry::new(),
            contracts: None,
            models: None,
            observers: Vec::new(),
            tip_observers: Vec::new(),
            events: EventStore::Default,
            settlement_store: None,
        }
    }
}

impl<L: ChainLedger> NodeBuilder<L> {
    /// The ledger: a closure that builds it from the [`LedgerContext`]. E.g. the
    /// `EutxoLedger` on a store of one's own: `.ledger(|ctx| ctx.eutxo(MyStore::open(..)?))`;
    /// or a ledger that wraps it with extra rules.
    pub fn ledger<L2: ChainLedger>(
        self,
        build: impl FnOnce(LedgerContext<'_>) -> Result<L2, NodeError> + 'static,
    ) -> NodeBuilder<L2> {
        NodeBuilder {
            config: self.config,
            genesis: self.genesis,
            ledger_config: self.ledger_config,
            ledger: Box::new(build),
            consensus: self.consensus,
            resources: self.resources,
            executors: self.executors,
            provers: self.provers,
            verifiers: self.verifiers,
            contracts: self.contracts,
            models: self.models,
            observers: self.observers,
            tip_observers: self.tip_observers,
            events: self.events,
            settlement_store: self.settlement_store,
        }
    }

    /// The ledger rules (fees, limits) the ledger is built with.
    pub fn ledger_config(mut self, config: LedgerConfig) -> Self {
        self.ledger_config = config;
        self
    }

    /// The consensus: a closure that builds it from the genesis header.
    pub fn consensus(
        mut self,
        build: impl FnOnce(&ConsensusContext<'_>) -> Result<Consensus, NodeError> + 'static,
    ) -> Self {
        self.consensus = Some(Box::new(build));
        self
    }

    /// Proof of work + XOR ([`Consensus::pow`]), mining as `miner` if given.
    pub fn pow(self, params: PowParams, miner: Option<PublicKey>) -> Self {
        self.consensus(move |ctx| Consensus::pow(params, ctx.genesis, miner))
    }

    /// The resource store (default: `wes_ures::DiskStore` in `<data_dir>/resources`).
    pub fn resource_store<S: ResourceStore + 'static>(mut self, store: S) -> Self {
        self.resources = Some(Resources::new(store));
        self
    }

    /// The resource store, already shared.
    pub fn resources(mut self, resources: Resources) -> Self {
        self.resources = Some(resources);
        self
    }

    /// Runs resources of the executor's kind with it (replacing any executor of that
    /// kind).
    pub fn executor(mut self, executor: Arc<dyn DynExecutor>) -> Self {
        self.executors.register(executor);
        self
    }

    /// Produces proofs of its system for calls constructed on this node.
    pub fn prover(mut self, prover: Arc<dyn Prover>) -> Self {
        self.provers.insert(prover.system(), prover);
        self
    }

    /// Accepts proofs of the verifier's system in blocks and transactions.
    pub fn verifier(mut self, verifier: Arc<dyn ProofVerifier>) -> Self {
        self.verifiers.register(verifier);
        self
    }

    /// WASM contracts: their executor and the `replay` prover; the node settles their
    /// external calls ([`crate::settlement`], journaled under `<data dir>/settlement`
    /// unless [`settlement_store`](Self::settlement_store) says otherwise). The `replay`
    /// verifier is the chain's choice: add it with [`verifier`](Self::verifier) and
    /// [`Contracts::verifier`].
    pub fn contracts(mut self, contracts: Contracts) -> Self {
        self.executors.register(contracts.wasm.clone());
        self.provers.insert(
            wes_ispc::replay_system(),
            contracts.prover.clone() as Arc<dyn Prover>,
        );
        self.contracts = Some(contracts);
        self
    }

    /// Keeps the settlement journal of external calls in `store` instead of the default,
    /// sled under `<data dir>/settlement`. It must be durable: it is what makes an effect
    /// happen once across crashes.
    pub fn settlement_store(mut self, store: Arc<dyn KvStore>) -> Self {
        self.settlement_store = Some(store);
        self
    }

    /// ONNX models: their executor and the `halo2-ipa` prover (the verifier, as for
    /// contracts, is added with [`verifier`](Self::verifier) and [`Models::verifier`]).
    pub fn models(mut self, models: Models) -> Self {
        self.executors.register(models.onnx.clone());
        self.provers.insert(
            wes_ispc::halo2::halo2_system(),
            models.prover.clone() as Arc<dyn Prover>,
        );
        self.models = Some(models);
        self
    }

    /// Tells `observer` about every block the ledger applies or reverts (an indexer).
    pub fn observer(mut self, observer: Arc<dyn LedgerObserver>) -> Self {
        self.observers.push(observer);
        self
    }

    /// Tells `observer` about every move of the best chain.
    pub fn tip_observer(mut self, observer: Arc<dyn TipObserver>) -> Self {
        self.tip_observers.push(observer);
        self
    }

    /// Keeps the index of contract events ([`EventIndex`], read by `wes_getLogs`) in
    /// `store` instead of the default, sled under `<data dir>/events`.
    pub fn event_store(mut self, store: Arc<dyn KvStore>) -> Self {
        self.events = EventStore::Store(store);
        self
    }

    /// Keeps no index of contract events (`wes_getLogs` then answers "not found"; log
    /// subscriptions still work, from the blocks as they come).
    pub fn without_event_index(mut self) -> Self {
        self.events = EventStore::Off;
        self
    }

    /// Opens (or creates) the chain and returns the node, ready to produce, import and
    /// serve; [`launch`](crate::launch()) starts its RPC server, network and producer.
    ///
    /// # Errors
    /// No consensus was chosen; the data directory, the store or the ledger cannot be
    /// opened; the store holds another chain.
    pub fn build(self) -> Result<Arc<Node<L>>, NodeError> {
        let config = self.config;
        let dir: PathBuf = config.data_dir.clone();
        std::fs::create_dir_all(&dir)
            .map_err(NodeError::io(format!("create {}", dir.display())))?;
        let resources = match self.resources {
            Some(r) => r,
            None => Resources::new(
                wes_ures::DiskStore::open(dir.join("resources"))
                    .map_err(|e| NodeError::Config(format!("open the resource store: {e}")))?
                    .with_reserve(config.storage.content_reserve()),
            ),
        };
        let observers: Vec<Arc<dyn LedgerObserver>> = self.observers;
        let ledger = (self.ledger)(LedgerContext {
            data_dir: &dir,
            genesis: &self.genesis,
            config: self.ledger_config,
            verifiers: self.verifiers.clone(),
            resources: resources.clone(),
            observers,
            reserve_bytes: config.storage.ledger_reserve(),
            cache_bytes: config.storage.ledger_cache_bytes,
        })?;
        let ledger = Arc::new(ledger);
        let index = Arc::new(ChainIndex::new(ledger.clone()));
        let event_store: Option<Arc<dyn KvStore>> = match self.events {
            EventStore::Off => None,
            EventStore::Store(store) => Some(store),
            EventStore::Default => Some(Arc::new(
                SledStore::with_cache(dir.join("events"), EVENT_CACHE_BYTES)
                    .map_err(|e| NodeError::Config(format!("open the event index: {e}")))?
                    .with_reserve(config.storage.index_reserve()),
            )),
        };
        let mut tip_observers = self.tip_observers;
        let events = match event_store {
            Some(store) => {
                let events = Arc::new(
                    EventIndex::open(store, ledger.clone())
                        .map_err(|e| NodeError::Config(e.to_string()))?,
                );
                tip_observers.push(events.clone());
                Some(events)
            }
            None => None,
        };
        let metrics = Arc::new(NodeMetrics::default());
        let settlement = match &self.contracts {
            Some(contracts) => {
                let store: Arc<dyn KvStore> = match self.settlement_store {
                    Some(store) => store,
                    None => Arc::new(
                        SledStore::with_cache(dir.join("settlement"), SETTLEMENT_CACHE_BYTES)
                            .map_err(|e| {
                                NodeError::Config(format!("open the settlement journal: {e}"))
                            })?
                            .with_reserve(config.storage.index_reserve()),
                    ),
                };
                let settlement = Settlement::open(
                    store,
                    ledger.clone(),
                    contracts.wasm.connectors().clone(),
                    config.settlement.clone(),
                    metrics.settlement.clone(),
                )?;
                tip_observers.push(settlement.clone());
                Some(settlement)
            }
            None => None,
        };
        let genesis_hash = ledger.genesis_hash();
        let genesis = ledger
            .header(&genesis_hash)
            .map_err(NodeError::ledger)?
            .ok_or_else(|| NodeError::Config("the ledger has no genesis header".into()))?;
        let build_consensus = self.consensus.ok_or_else(|| {
            NodeError::Config("no consensus chosen (NodeBuilder::consensus or ::pow)".into())
        })?;
        let consensus = build_consensus(&ConsensusContext {
            chain_id: self.genesis.chain_id,
            genesis: &genesis,
            config: &config,
        })?;
        let chain = ChainManager::new(ledger.clone(), consensus.engine.clone())
            .map_err(NodeError::chain)?
            .with_policy(config.fork_policy)
            .with_checkpoints(config.checkpoints.clone())
            .map_err(NodeError::chain)?;
        let status = ChainStatus::of(&chain, genesis_hash);
        let mempool = Mempool::new(config.mempool, ledger.fee_policy());
        let leases = crate::uploads::Leases::new(config.uploads.clone());
        Ok(Arc::new(Node {
            chain_id: self.genesis.chain_id,
            config,
            ledger,
            chain: Mutex::new(chain),
            mempool: Mutex::new(mempool),
            engine: consensus.engine,
            producer: consensus.producer,
            resources,
            executors: self.executors,
            provers: self.provers,
            verifiers: self.verifiers,
            index,
            contracts: self.contracts,
            models: self.models,
            candidates: consensus.candidates,
            tip_observers,
            events,
            settlement,
            feed: crate::feed::NodeFeed::new(),
            status: RwLock::new(status),
            sealing: Mutex::new(None),
            net: OnceLock::new(),
            stop: AtomicBool::new(false),
            produced: AtomicU64::new(0),
            metrics,
            leases,
        }))
    }
}
