//! [`TestChain`]: a mock chain in memory that natively compiled contracts run against.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use wes_core::{
    Address, Amount, ChainView, ContentId, ContractId, Domain, ExecutionOutcome, Guard, Hash,
    Input, InputMode, Lock, OutPoint, Output, OutputBody, SecretKey, TokenId, TxId, ViewError,
    codec, hash,
};

use super::guest::{Contracts, Entries, NativeGuest, TABLE, find_entry, run_entry};
use crate::connector::{Connector, ConnectorError, Connectors, ExternalOp, Outcome};
use crate::error::WasmError;
use crate::executor::WasmExecutor;
use crate::host::{Frame, HostState};

/// Why a [`TestChain`] call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The execution failed, as it would on the chain (`Abort` with the contract's message,
    /// `OutOfCu`, `Callee` for a failing nested call...).
    #[error(transparent)]
    Execution(#[from] WasmError),
    /// The call pays out more of `token` than it minted, released from its own outputs, or
    /// the caller's outputs hold: the chain's transaction could not balance.
    #[error(
        "the call pays out {needed} of {token:?} that nothing funds; the caller holds {available}"
    )]
    Unfunded {
        /// The token.
        token: TokenId,
        /// What the caller's outputs must supply.
        needed: Amount,
        /// What the caller's outputs hold.
        available: Amount,
    },
    /// A typed call's arguments do not fit the contract's ABI, or what it returned does not
    /// decode with it ([`TestChain::call_typed`]).
    #[error(transparent)]
    Abi(#[from] crate::abi::AbiError),
}

/// What a call's transaction takes from the caller: outputs spent and the change returned.
#[derive(Default)]
struct Funding {
    spent: Vec<OutPoint>,
    change: Vec<Output>,
}

/// The chain a [`TestChain`] call reads: its unspent outputs (state outputs among them) and
/// resources.
#[derive(Clone, Default)]
struct Ledger {
    utxos: HashMap<OutPoint, Output>,
    /// The live state output of each (contract, key).
    state: HashMap<(ContractId, Vec<u8>), OutPoint>,
    resources: HashMap<ContentId, Vec<u8>>,
}

impl ChainView for Ledger {
    fn unspent(&self, outpoint: &OutPoint) -> Result<Option<Output>, ViewError> {
        Ok(self.utxos.get(outpoint).cloned())
    }

    fn state(
        &self,
        contract: &ContractId,
        key: &[u8],
    ) -> Result<Option<(OutPoint, Output)>, ViewError> {
        Ok(self
            .state
            .get(&(*contract, key.to_vec()))
            .and_then(|op| Some((*op, self.utxos.get(op)?.clone()))))
    }

    fn resource(&self, id: &ContentId) -> Result<Option<Vec<u8>>, ViewError> {
        Ok(self.resources.get(id).cloned())
    }
}

/// A mock chain for contract unit tests: contracts compiled natively (their `ENTRIES`), state,
/// unspent outputs, resources, the height and the time, and connectors for external calls.
///
/// [`call`](Self::call) runs an entry point as a transaction would and, when it succeeds,
/// applies its effects at once (inputs spent, outputs created under a fresh transaction id),
/// as if a block had included it; [`simulate`](Self::simulate) runs without applying. As on
/// the chain, value is conserved: what a call pays out beyond what it mints
/// (`mint_asset`) or releases from the contract's own outputs (`utxo_spend`) comes from the
/// caller's asset outputs (those whose lock has the caller's address), with change back to
/// them, or the call fails with [`CallError::Unfunded`]. There are no fees. The
/// outcome is the executor's own [`ExecutionOutcome`]: return data, events, the inputs and
/// outputs, the trace, and the compute units of the host calls (see the module docs).
pub struct TestChain {
    ledger: Arc<Ledger>,
    contracts: Contracts,
    executor: WasmExecutor,
    height: u64,
    time_ms: u64,
    cu_limit: u64,
    /// Transactions applied so far (their ids are derived from it).
    applied: u64,
    /// Calls run so far, applied or not (call ids, and with them external op ids, are
    /// derived from it, so no two calls share one).
    calls: u64,
}

impl Default for TestChain {
    fn default() -> Self {
        Self::new()
    }
}

impl TestChain {
    /// The compute-unit limit of each call unless told otherwise: 10⁹.
    pub const DEFAULT_CU_LIMIT: u64 = 1_000_000_000;

    /// An empty chain at height 1, time 2023-11-14 22:13:20 UTC (1.7 × 10¹² ms).
    pub fn new() -> Self {
        wes_contract::sys::install(&TABLE);
        TestChain {
            ledger: Arc::default(),
            contracts: Arc::default(),
            executor: WasmExecutor::default(),
            height: 1,
            time_ms: 1_700_000_000_000,
            cu_limit: Self::DEFAULT_CU_LIMIT,
            applied: 0,
            calls: 0,
        }
    }

    /// The address of a development key named `name` (`SecretKey::dev`): a caller for tests.
    pub fn address(name: &str) -> Address {
        Self::lock(name).address()
    }

    /// The lock of a development key named `name`.
    pub fn lock(name: &str) -> Lock {
        Lock::key(SecretKey::dev(name).public_key())
    }

    /// Deploys a natively compiled contract under a resource id made from `name`, and returns
    /// that id. Its contract id (what `contract()` returns inside it) is
    /// [`contract_id`](crate::contract_id) of the resource id, as on the chain.
    pub fn deploy(&mut self, name: &str, entries: Entries) -> ContentId {
        let id = ContentId(hash(Domain::new("wes-ispc/offchain-contract"), name));
        self.deploy_as(id, entries);
        id
    }

    /// Deploys a natively compiled contract under the resource id `id`: the id of its WASM
    /// build, say, so that callers that name it find it, and its trace is the chain's.
    pub fn deploy_as(&mut self, id: ContentId, entries: Entries) {
        Arc::make_mut(&mut self.contracts).insert(id, entries);
    }

    /// Stores a resource (a file or an ONNX model for `resource_read` and `model_infer`)
    /// under `id`.
    pub fn add_resource(&mut self, id: ContentId, bytes: Vec<u8>) {
        Arc::make_mut(&mut self.ledger).resources.insert(id, bytes);
    }

    /// Creates an unspent output (an asset for a wallet, say) and returns its outpoint.
    pub fn add_output(&mut self, output: Output) -> OutPoint {
        let txid = self.next_txid();
        self.insert(OutPoint { tx: txid, index: 0 }, output)
    }

    /// Creates an output of `amount` of `token` locked by `lock`.
    pub fn fund(&mut self, lock: Lock, token: TokenId, amount: Amount) -> OutPoint {
        self.add_output(Output::asset(lock, token, amount))
    }

    /// The connectors `external_call` reaches (register scripted ones here, see
    /// [`ScriptedConnector`]). A call that succeeds commits its external ops; one that fails
    /// aborts them.
    pub fn connectors(&self) -> &Arc<Connectors> {
        self.executor.connectors()
    }

    /// The height calls are made for.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Sets the height calls are made for.
    pub fn set_height(&mut self, height: u64) {
        self.height = height;
    }

    /// The block time calls see, in milliseconds.
    pub fn time_ms(&self) -> u64 {
        self.time_ms
    }

    /// Sets the block time calls see.
    pub fn set_time_ms(&mut self, time_ms: u64) {
        self.time_ms = time_ms;
    }

    /// Sets the compute-unit limit of each call (host calls are what is counted).
    pub fn set_cu_limit(&mut self, cu_limit: u64) {
        self.cu_limit = cu_limit;
    }

    /// The call id the next call gets (what `call_id()` returns inside it).
    pub fn next_call_id(&self) -> Hash {
        hash(
            Domain::new("wes-ispc/offchain-call"),
            codec::encode(&self.calls),
        )
    }

    /// The id of the transaction applied last: the outputs of the last call that succeeded
    /// (or of the last output added) are at its outpoints `0..`.
    pub fn last_txid(&self) -> TxId {
        Self::txid(self.applied)
    }

    /// The value of contract `resource`'s state under `key`.
    pub fn state(&self, resource: &ContentId, key: &[u8]) -> Option<Vec<u8>> {
        let contract = crate::contract_id(resource);
        let (_, output) = self.ledger.state(&contract, key).ok()??;
        output.as_state().map(|s| s.data.clone())
    }

    /// The unspent output at `outpoint`.
    pub fn unspent(&self, outpoint: &OutPoint) -> Option<&Output> {
        self.ledger.utxos.get(outpoint)
    }

    /// The unspent asset outputs locked by `lock`, with their outpoints (in outpoint order).
    pub fn assets_of(&self, lock: &Lock) -> Vec<(OutPoint, TokenId, Amount)> {
        let mut assets: Vec<_> = self
            .ledger
            .utxos
            .iter()
            .filter(|(_, o)| o.lock == *lock)
            .filter_map(|(op, o)| match &o.body {
                OutputBody::Asset(a) => Some((*op, a.token, a.amount)),
                _ => None,
            })
            .collect();
        assets.sort_by_key(|(op, _, _)| *op);
        assets
    }

    /// How much of `token` the outputs locked by `lock` hold.
    pub fn balance(&self, lock: &Lock, token: &TokenId) -> Amount {
        self.assets_of(lock)
            .into_iter()
            .filter(|(_, t, _)| t == token)
            .map(|(_, _, a)| a)
            .sum()
    }

    /// Calls `entry` of contract `resource` with `args`, as `caller`, and applies what it did.
    /// Fails with the executor's error (`Abort` with the contract's message, a bad host
    /// call, `OutOfCu`...) or for want of funds, leaving the chain as it was.
    pub fn call(
        &mut self,
        resource: &ContentId,
        entry: &str,
        args: &[u8],
        caller: Address,
    ) -> Result<ExecutionOutcome, CallError> {
        let (outcome, funding) = self.run(resource, entry, args, caller, true)?;
        self.apply(&outcome, funding);
        Ok(outcome)
    }

    /// [`call`](Self::call) without applying its effects (nor committing its external ops:
    /// they are aborted), as a node answers a read-only query.
    pub fn simulate(
        &mut self,
        resource: &ContentId,
        entry: &str,
        args: &[u8],
        caller: Address,
    ) -> Result<ExecutionOutcome, CallError> {
        self.run(resource, entry, args, caller, false)
            .map(|(outcome, _)| outcome)
    }

    fn run(
        &mut self,
        resource: &ContentId,
        entry: &str,
        args: &[u8],
        caller: Address,
        commit: bool,
    ) -> Result<(ExecutionOutcome, Funding), CallError> {
        let entries = *self
            .contracts
            .get(resource)
            .ok_or(WasmError::ResourceUnavailable(*resource))?;
        let function = find_entry(entries, entry)
            .ok_or_else(|| WasmError::NoEntry(entry.chars().take(64).collect()))?;
        let call_id = self.next_call_id();
        self.calls += 1;
        let top = Frame {
            contract: crate::contract_id(resource),
            caller,
            call_id,
            args: args.to_vec(),
            return_data: Vec::new(),
        };
        let limit = self.cu_limit;
        let mut guest = NativeGuest {
            host: HostState::new(self.height, self.time_ms, top, None),
            view: self.ledger.clone(),
            shared: self.executor.shared().clone(),
            left: limit,
            contracts: self.contracts.clone(),
        };
        let result = run_entry(&mut guest, function);
        let mut host = guest.host;
        let connectors = self.executor.connectors();
        if let Err(e) = result {
            connectors.abandon(&host.external);
            return Err(match e {
                WasmError::OutOfCu { .. } => WasmError::OutOfCu { limit },
                other => other,
            }
            .into());
        }
        let effects = host.effects();
        let funding = match self.fund_call(&effects.inputs, &effects.outputs, &host, caller) {
            Ok(funding) => funding,
            Err(e) => {
                connectors.abandon(&host.external);
                return Err(e);
            }
        };
        for op in &host.external {
            let outcome = if commit {
                Outcome::Commit
            } else {
                Outcome::Abort
            };
            // A connector that refuses the outcome is the test's to see in its own records.
            let _ = connectors.settle(op, outcome);
        }
        let outcome = host.outcome(effects, limit.saturating_sub(guest.left));
        Ok((outcome, funding))
    }

    /// The caller's outputs that pay for what `outputs` hold beyond what the execution minted
    /// or may release from its contracts' outputs (the ledger's balance rule), with change.
    fn fund_call(
        &self,
        inputs: &[Input],
        outputs: &[Output],
        host: &HostState,
        caller: Address,
    ) -> Result<Funding, CallError> {
        let mut owed: BTreeMap<TokenId, Amount> = BTreeMap::new();
        for output in outputs {
            if let OutputBody::Asset(a) = &output.body {
                let e = owed.entry(a.token).or_default();
                *e = e.saturating_add(a.amount);
            }
        }
        let spendable = host.spendable();
        let touched: std::collections::HashSet<OutPoint> = inputs.iter().map(|i| i.prev).collect();
        let mut funding = Funding::default();
        for (token, total) in owed {
            let free = host
                .minted
                .get(&token)
                .copied()
                .unwrap_or(0)
                .saturating_add(spendable.get(&token).copied().unwrap_or(0));
            let needed = total.saturating_sub(free);
            if needed == 0 {
                continue;
            }
            let mut held: Vec<(OutPoint, Lock, Amount)> = self
                .ledger
                .utxos
                .iter()
                // As the transaction constructor: never a contract's output, nor one the
                // execution itself reads or spends.
                .filter(|(op, o)| {
                    o.lock.address() == caller
                        && !matches!(o.lock.guard(), Guard::Contract(_))
                        && !touched.contains(op)
                })
                .filter_map(|(op, o)| match &o.body {
                    OutputBody::Asset(a) if a.token == token => {
                        Some((*op, o.lock.clone(), a.amount))
                    }
                    _ => None,
                })
                .collect();
            held.sort_by_key(|(op, _, _)| *op);
            let available: Amount = held.iter().map(|(_, _, a)| *a).sum();
            if available < needed {
                return Err(CallError::Unfunded {
                    token,
                    needed,
                    available,
                });
            }
            let mut taken: Amount = 0;
            let mut change_lock = None;
            for (op, lock, amount) in held {
                if taken >= needed {
                    break;
                }
                taken = taken.saturating_add(amount);
                funding.spent.push(op);
                change_lock = Some(lock);
            }
            if let Some(lock) = change_lock
                && taken > needed
            {
                funding
                    .change
                    .push(Output::asset(lock, token, taken - needed));
            }
        }
        Ok(funding)
    }

    /// Spends the outcome's spent inputs and the funding, and creates the outcome's outputs
    /// and the change under a fresh transaction id.
    fn apply(&mut self, outcome: &ExecutionOutcome, funding: Funding) {
        let txid = self.next_txid();
        let ledger = Arc::make_mut(&mut self.ledger);
        for op in &funding.spent {
            ledger.utxos.remove(op);
        }
        for input in &outcome.inputs {
            if input.mode == InputMode::Spend
                && let Some(output) = ledger.utxos.remove(&input.prev)
                && let Some(state) = output.as_state()
            {
                ledger.state.remove(&(state.contract, state.key.clone()));
            }
        }
        for (index, output) in outcome.outputs.iter().chain(&funding.change).enumerate() {
            self.insert(
                OutPoint {
                    tx: txid,
                    index: index as u32,
                },
                output.clone(),
            );
        }
    }

    fn insert(&mut self, outpoint: OutPoint, output: Output) -> OutPoint {
        let ledger = Arc::make_mut(&mut self.ledger);
        if let Some(state) = output.as_state() {
            ledger
                .state
                .insert((state.contract, state.key.clone()), outpoint);
        }
        ledger.utxos.insert(outpoint, output);
        outpoint
    }

    fn next_txid(&mut self) -> TxId {
        self.applied += 1;
        Self::txid(self.applied)
    }

    fn txid(n: u64) -> TxId {
        TxId(hash(Domain::new("wes-ispc/offchain-tx"), codec::encode(&n)))
    }
}

/// How a [`ScriptedConnector`] answers a request.
type Answer = Box<dyn Fn(&[u8]) -> Result<Vec<u8>, String> + Send + Sync>;

/// One op a [`ScriptedConnector`] prepared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptedOp {
    /// The contract's request.
    pub request: Vec<u8>,
    /// What the chain decided (`None` while undecided).
    pub outcome: Option<Outcome>,
}

/// A connector that answers from a script: a function of the request, and a record of what
/// the chain told it (prepared, committed, aborted ops).
pub struct ScriptedConnector {
    answer: Answer,
    log: Mutex<BTreeMap<Hash, ScriptedOp>>,
}

impl ScriptedConnector {
    /// A connector whose response to a request is `answer(request)`; an `Err` fails the
    /// external call.
    pub fn new(answer: impl Fn(&[u8]) -> Result<Vec<u8>, String> + Send + Sync + 'static) -> Self {
        ScriptedConnector {
            answer: Box::new(answer),
            log: Mutex::default(),
        }
    }

    /// The ops prepared so far, by op id.
    pub fn ops(&self) -> BTreeMap<Hash, ScriptedOp> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn decide(&self, id: &Hash, outcome: Outcome) {
        if let Ok(mut log) = self.log.lock()
            && let Some(entry) = log.get_mut(id)
        {
            entry.outcome = Some(outcome);
        }
    }
}

impl Connector for ScriptedConnector {
    fn prepare(&self, op: &ExternalOp) -> Result<Vec<u8>, ConnectorError> {
        let response = (self.answer)(&op.request).map_err(ConnectorError)?;
        if let Ok(mut log) = self.log.lock() {
            log.insert(
                op.id,
                ScriptedOp {
                    request: op.request.clone(),
                    outcome: None,
                },
            );
        }
        Ok(response)
    }

    fn commit(&self, id: &Hash) -> Result<(), ConnectorError> {
        self.decide(id, Outcome::Commit);
        Ok(())
    }

    fn abort(&self, id: &Hash) -> Result<(), ConnectorError> {
        self.decide(id, Outcome::Abort);
        Ok(())
    }

    fn compensate(&self, id: &Hash) -> Result<(), ConnectorError> {
        self.decide(id, Outcome::Compensate);
        Ok(())
    }
}
