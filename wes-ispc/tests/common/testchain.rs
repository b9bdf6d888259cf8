//! A ledger-backed test chain: an `EutxoLedger` in memory, the resources it knows, a shared
//! `WasmExecutor` whose replay verifier the ledger uses, and helpers to construct calls and
//! blocks.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use wes_core::*;
use wes_ispc::*;
use wes_ledger::*;

use super::{CHAIN, T0, key, lock};

/// Resources by id (the URES of the test).
#[derive(Default)]
pub struct Resources(pub RwLock<HashMap<ContentId, Vec<u8>>>);

impl Resources {
    pub fn add(&self, code: &[u8]) -> ContentId {
        let id = wes_ures::content_id(code);
        self.0.write().unwrap().insert(id, code.to_vec());
        id
    }
}

impl ResourceProvider for Resources {
    fn resource(&self, id: &ContentId) -> Result<Option<Vec<u8>>, ViewError> {
        Ok(self.0.read().unwrap().get(id).cloned())
    }
}

/// The chain view a caller constructs against: the ledger's tip plus the resources.
pub struct TipView {
    pub ledger: Arc<EutxoLedger<MemoryStore>>,
    pub resources: Arc<Resources>,
}

impl ChainView for TipView {
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
        self.resources.resource(id)
    }
}

/// Native-token fees: 1 per byte and 1 per compute unit.
pub fn config() -> LedgerConfig {
    let mut c = LedgerConfig::new(CHAIN);
    c.fees = FeePolicy::native(TokenFee {
        per_byte: 1,
        per_cu: 1,
    });
    c
}

/// A genesis with these allocations.
pub fn genesis_with(allocations: Vec<Output>) -> Genesis {
    Genesis {
        chain_id: CHAIN,
        time_ms: T0,
        target: CompactTarget(0),
        allocations,
        message: "wes-ispc tests".into(),
    }
}

pub struct Chain {
    pub ledger: Arc<EutxoLedger<MemoryStore>>,
    pub resources: Arc<Resources>,
    pub executor: Arc<WasmExecutor>,
}

impl Chain {
    /// A chain from `genesis` knowing the resources `codes`.
    pub fn open(genesis: &Genesis, codes: &[&[u8]]) -> Self {
        Self::open_with(genesis, codes, Vec::new())
    }

    /// A chain that accepts the `extra` proof systems besides replay.
    #[allow(dead_code)]
    pub fn open_with(
        genesis: &Genesis,
        codes: &[&[u8]],
        extra: Vec<Arc<dyn ProofVerifier>>,
    ) -> Self {
        Self::open_with_limits(genesis, codes, extra, WasmLimits::default())
    }

    /// A chain whose executor checks modules and calls against `limits`.
    #[allow(dead_code)]
    pub fn open_with_limits(
        genesis: &Genesis,
        codes: &[&[u8]],
        extra: Vec<Arc<dyn ProofVerifier>>,
        limits: WasmLimits,
    ) -> Self {
        let resources = Arc::new(Resources::default());
        for code in codes {
            resources.add(code);
        }
        let executor = Arc::new(WasmExecutor::new(limits));
        let mut verifiers = VerifierRegistry::new();
        verifiers.register(Arc::new(ReplayVerifier::new(executor.clone())));
        for v in extra {
            verifiers.register(v);
        }
        let ledger = EutxoLedger::open(MemoryStore::new(), config(), genesis, verifiers)
            .unwrap()
            .with_resources(resources.clone());
        Chain {
            ledger: Arc::new(ledger),
            resources,
            executor,
        }
    }

    pub fn view(&self) -> SharedView {
        Arc::new(TipView {
            ledger: self.ledger.clone(),
            resources: self.resources.clone(),
        })
    }

    pub fn next_height(&self) -> u64 {
        self.ledger.tip().unwrap().height + 1
    }

    /// A call request for the next block, paid from `fee_inputs`, change to `payer`.
    pub fn request(
        &self,
        resource: ContentId,
        entry: &str,
        args: Vec<u8>,
        fee_inputs: Vec<OutPoint>,
        payer: &str,
    ) -> CallRequest {
        let height = self.next_height();
        CallRequest {
            chain_id: CHAIN,
            resource,
            entry: entry.into(),
            args,
            cu_limit: 150_000,
            height,
            valid_until: height + 10,
            time_ms: T0 + height * 1000,
            fee_inputs,
            change_lock: lock(payer),
            fee: 200_000,
            fee_token: TokenId::Native,
        }
    }

    /// Constructs a call.
    pub fn construct(&self, req: &CallRequest) -> Result<ConstructedCall, ConstructError> {
        construct_call(&self.executor, &ReplayProver, req, &self.view())
    }

    pub fn block(&self, txs: Vec<SignedTransaction>) -> Block {
        let height = self.next_height();
        self.ledger
            .build_block(
                txs,
                &lock("miner"),
                key("miner").public_key(),
                T0 + height * 1000,
            )
            .unwrap()
    }

    pub fn state(&self, contract: &ContractId, key: &[u8]) -> Option<Vec<u8>> {
        self.ledger
            .state(contract, key)
            .unwrap()
            .map(|(_, o)| o.as_state().unwrap().data.clone())
    }
}

/// The outpoint of `tx`'s first asset output locked by `owner`.
pub fn change_of(tx: &Transaction, owner: &str) -> OutPoint {
    let index = tx
        .outputs
        .iter()
        .position(|o| o.lock == lock(owner) && o.as_asset().is_some())
        .expect("a change output");
    tx.outpoint(index as u32)
}
