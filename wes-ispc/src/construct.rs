//! Execution is construction: run a call and assemble the transaction that carries its result.

use std::collections::BTreeMap;

use wes_core::{
    Amount, Blame, CallContext, ChainId, ContentId, ContractId, Execution, ExecutionOutcome,
    ExecutionRequest, Fault, Guard, Input, Lock, OutPoint, Output, OutputBody, ProofError, Prover,
    SecretKey, SharedView, SignedTransaction, TokenId, Transaction, ValidityWindow, ViewError,
    trace_root,
};

use crate::connector::PendingExternal;
use crate::error::WasmError;
#[cfg(feature = "wasm")]
use crate::executor::WasmExecutor;
use crate::plain::add;

/// A call to run and turn into a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRequest {
    /// The chain.
    pub chain_id: ChainId,
    /// The code resource of the contract called (the contract id is
    /// [`contract_id`](crate::contract_id) of it).
    pub resource: ContentId,
    /// The exported `() -> ()` entry function.
    pub entry: String,
    /// Arguments, read by the guest with `args`.
    pub args: Vec<u8>,
    /// The most compute units the caller pays for.
    pub cu_limit: u64,
    /// The height the call is meant for: the guest's `height`, and the first height the
    /// transaction is valid at (`validity.not_before`).
    pub height: u64,
    /// The last height the transaction is valid at.
    pub valid_until: u64,
    /// The block time the guest sees through `time_ms` (recorded in the trace; see HOSTABI.md
    /// on why verifiers cannot check it yet).
    pub time_ms: u64,
    /// The caller's inputs paying the fee (and whatever the execution's asset outputs take
    /// beyond what it spends of its own); the first one's lock is the caller.
    pub fee_inputs: Vec<OutPoint>,
    /// Where the change goes.
    pub change_lock: Lock,
    /// The fee, in `fee_token`.
    pub fee: Amount,
    /// The token the fee is paid in (one the chain's fee policy accepts).
    pub fee_token: TokenId,
}

/// A constructed call: the unsigned transaction, its proof and the executor's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConstructedCall {
    /// The transaction; its id commits to the execution record.
    pub tx: Transaction,
    /// The proof for `Witness.proof`.
    pub proof: Vec<u8>,
    /// What the execution produced (return data and events included).
    pub outcome: ExecutionOutcome,
    /// External calls the execution prepared: hand them to the settlement
    /// (`wes_node::settlement::Settlement::track`) so they are committed once the transaction
    /// is deep enough, or aborted when it can no longer be included.
    pub external: Vec<PendingExternal>,
}

impl ConstructedCall {
    /// Signs with `keys` (those authorising the fee inputs) and attaches the proof.
    pub fn sign(self, keys: &[&SecretKey]) -> SignedTransaction {
        let mut signed = self.tx.sign(keys);
        signed.witness.proof = self.proof;
        signed
    }
}

/// Why a call could not be constructed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConstructError {
    /// No fee input was given.
    #[error("a call needs at least one fee input")]
    NoFeeInput,
    /// A fee input is not unspent.
    #[error("fee input {0} is not unspent")]
    MissingInput(OutPoint),
    /// A fee input is contract-owned (State, or guarded by a contract).
    #[error("fee input {0} is contract-owned")]
    ContractOwnedInput(OutPoint),
    /// The execution reads or spends one of the fee inputs.
    #[error("the execution touches fee input {0}")]
    FeeInputTouched(OutPoint),
    /// The code resource is not available.
    #[error("resource {0} unavailable")]
    ResourceUnavailable(ContentId),
    /// The execution failed.
    #[error("execution: {0}")]
    Execution(#[from] WasmError),
    /// The model inference failed.
    #[cfg(feature = "onnx")]
    #[error("model: {0}")]
    Model(#[from] crate::onnx::OnnxError),
    /// The output given as the model's deployment is not that model's Resource output.
    #[error("output {0} is not the Resource output of the model called")]
    NotTheModel(OutPoint),
    /// The inputs do not cover the outputs and the fee.
    #[error("insufficient {token}: have {have}, need {need}")]
    InsufficientFunds {
        /// The token.
        token: TokenId,
        /// What the fee inputs hold.
        have: Amount,
        /// What the execution's outputs and the fee take.
        need: Amount,
    },
    /// The prover failed.
    #[error("proof: {0}")]
    Proof(#[from] ProofError),
    /// The chain view failed.
    #[error(transparent)]
    View(#[from] ViewError),
}

impl Blame for ConstructError {
    fn fault(&self) -> Fault {
        match self {
            ConstructError::Execution(e) => e.fault(),
            #[cfg(feature = "onnx")]
            ConstructError::Model(e) => e.fault(),
            ConstructError::Proof(e) => e.fault(),
            ConstructError::View(_) => Fault::Local,
            ConstructError::ResourceUnavailable(_) => Fault::Unavailable,
            _ => Fault::Input,
        }
    }
}

/// What an execution reports beyond its [`ExecutionOutcome`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Contracts entered by nested calls, in first-call order (`Execution::callees`).
    pub callees: Vec<ContractId>,
    /// Units created by `mint_asset`, per token.
    pub minted: BTreeMap<TokenId, Amount>,
    /// Per token, what the execution's `utxo_spend`s may fund: value each contract spent, up
    /// to what that contract's own frames placed with `output_asset`. The transaction's
    /// outputs of a token may total at most fee inputs + `minted` + `spendable`.
    pub spendable: BTreeMap<TokenId, Amount>,
}

/// Runs `req` with `executor` against `view` (the chain state the transaction will spend from)
/// and builds the transaction: inputs = fee inputs, then the execution's inputs; outputs = the
/// execution's outputs, then one change output per token left over; `Execution` record with the
/// used compute units, the callees, the trace root and `prover`'s system; the proof from
/// `prover`.
///
/// The whole call, nested calls included, is one atomic container: it becomes one transaction
/// or nothing. If construction fails after the execution prepared external calls, their
/// connectors are told to abort before the error is returned.
#[cfg(feature = "wasm")]
pub fn construct_call(
    executor: &WasmExecutor,
    prover: &dyn Prover,
    req: &CallRequest,
    view: &SharedView,
) -> Result<ConstructedCall, ConstructError> {
    let contract = crate::contract_id(&req.resource);
    let (outcome, report) = execute(executor, req, contract, view)?;
    let external = crate::connector::external_calls(&outcome.trace);
    match assemble(req, contract, outcome, report, prover, view) {
        Ok((tx, proof, outcome)) => Ok(ConstructedCall {
            tx,
            proof,
            outcome,
            external,
        }),
        Err(e) => {
            executor.connectors().abandon(&external);
            Err(e)
        }
    }
}

#[cfg(feature = "wasm")]
type Executed = (ExecutionOutcome, RunReport);

#[cfg(feature = "wasm")]
fn execute(
    executor: &WasmExecutor,
    req: &CallRequest,
    contract: ContractId,
    view: &SharedView,
) -> Result<Executed, ConstructError> {
    let (code, request) = prepare(req, contract, view)?;
    executor
        .execute_detailed(&code, &request, view)
        .map_err(Into::into)
}

/// The resource's bytes and the execution request of `req`.
#[cfg_attr(not(any(feature = "wasm", feature = "onnx")), allow(dead_code))]
fn prepare(
    req: &CallRequest,
    contract: ContractId,
    view: &SharedView,
) -> Result<(Vec<u8>, ExecutionRequest), ConstructError> {
    let first = req.fee_inputs.first().ok_or(ConstructError::NoFeeInput)?;
    let caller = view
        .unspent(first)?
        .ok_or(ConstructError::MissingInput(*first))?
        .lock
        .address();
    let code = view
        .resource(&req.resource)?
        .ok_or(ConstructError::ResourceUnavailable(req.resource))?;
    let request = ExecutionRequest {
        context: CallContext {
            chain_id: req.chain_id,
            height: req.height,
            time_ms: req.time_ms,
            caller,
            contract,
            request: crate::call_id(req.chain_id, first, &contract, &req.entry, &req.args),
        },
        resource: req.resource,
        entry: req.entry.clone(),
        args: req.args.clone(),
        cu_limit: req.cu_limit,
    };
    Ok((code, request))
}

/// Runs an inference of the ONNX model deployed at `model` (its Resource output, which the
/// transaction references so verifiers find the model's verifying key) and builds the
/// transaction, as [`construct_call`] does for contracts: `req.resource` is the model,
/// `req.entry` is [`INFER_ENTRY`](crate::onnx::INFER_ENTRY) and `req.args` the input
/// ([`encode_input`](crate::onnx::encode_input)). The execution's one output is a State of the
/// model's contract holding the [`InferenceResult`](crate::onnx::InferenceResult); `prover` is
/// typically the [`Halo2Prover`](crate::halo2::Halo2Prover).
#[cfg(feature = "onnx")]
pub fn construct_inference(
    executor: &crate::onnx::OnnxExecutor,
    prover: &dyn Prover,
    req: &CallRequest,
    model: OutPoint,
    view: &SharedView,
) -> Result<ConstructedCall, ConstructError> {
    use wes_core::{Executor, ResourceKind};
    let deployed = view
        .unspent(&model)?
        .ok_or(ConstructError::MissingInput(model))?;
    match &deployed.body {
        OutputBody::Resource(r) if r.content == req.resource && r.kind == ResourceKind::Onnx => {}
        _ => return Err(ConstructError::NotTheModel(model)),
    }
    let contract = crate::contract_id(&req.resource);
    let (code, request) = prepare(req, contract, view)?;
    let mut outcome = executor.execute(&code, &request, view)?;
    outcome.inputs.push(Input::reference(model));
    let (tx, proof, outcome) =
        assemble(req, contract, outcome, RunReport::default(), prover, view)?;
    Ok(ConstructedCall {
        tx,
        proof,
        outcome,
        external: Vec::new(),
    })
}

#[cfg_attr(not(any(feature = "wasm", feature = "onnx")), allow(dead_code))]
fn assemble(
    req: &CallRequest,
    contract: ContractId,
    outcome: ExecutionOutcome,
    report: RunReport,
    prover: &dyn Prover,
    view: &SharedView,
) -> Result<(Transaction, Vec<u8>, ExecutionOutcome), ConstructError> {
    // Per token: what the fee inputs bring, what the execution minted and what its spends may
    // fund (`RunReport::spendable`), and what its outputs and the fee take. The execution's
    // outputs are funded first by its mints and spends, then by the fee inputs; only
    // fee-input value comes back as change (value spent but not placed by its spender is a
    // fee, or a burn of the spender's own token).
    let mut fee_in: BTreeMap<TokenId, Amount> = BTreeMap::new();
    for op in &req.fee_inputs {
        let output = view.unspent(op)?.ok_or(ConstructError::MissingInput(*op))?;
        if output.as_state().is_some() || matches!(output.lock.guard(), Guard::Contract(_)) {
            return Err(ConstructError::ContractOwnedInput(*op));
        }
        if outcome.inputs.iter().any(|i| i.prev == *op) {
            return Err(ConstructError::FeeInputTouched(*op));
        }
        if let OutputBody::Asset(a) = &output.body {
            add(&mut fee_in, a.token, a.amount);
        }
    }
    let mut own: BTreeMap<TokenId, Amount> = report.minted.clone();
    for (token, amount) in &report.spendable {
        add(&mut own, *token, *amount);
    }
    let mut need: BTreeMap<TokenId, Amount> = BTreeMap::new();
    add(&mut need, req.fee_token, req.fee);
    for output in &outcome.outputs {
        if let OutputBody::Asset(a) = &output.body {
            add(&mut need, a.token, a.amount);
        }
    }
    let mut outputs = outcome.outputs.clone();
    let tokens: std::collections::BTreeSet<TokenId> =
        fee_in.keys().chain(need.keys()).copied().collect();
    for token in tokens {
        let get = |m: &BTreeMap<TokenId, Amount>| m.get(&token).copied().unwrap_or(0);
        let (brought, need) = (get(&fee_in), get(&need).saturating_sub(get(&own)));
        if brought > need {
            outputs.push(Output::asset(
                req.change_lock.clone(),
                token,
                brought - need,
            ));
        } else if brought < need {
            return Err(ConstructError::InsufficientFunds {
                token,
                have: brought,
                need,
            });
        }
    }
    let mut inputs: Vec<Input> = req.fee_inputs.iter().map(|op| Input::spend(*op)).collect();
    inputs.extend(outcome.inputs.iter().copied());
    let tx = Transaction {
        version: Transaction::VERSION,
        chain_id: req.chain_id,
        inputs,
        outputs,
        validity: ValidityWindow {
            not_before: req.height,
            not_after: req.valid_until,
        },
        execution: Some(Execution {
            contract,
            callees: report.callees,
            resource: req.resource,
            entry: req.entry.clone(),
            args: req.args.clone(),
            cu_limit: req.cu_limit,
            cu_used: outcome.cu_used,
            trace_root: trace_root(&outcome.trace),
            proof_system: prover.system(),
        }),
    };
    let proof = prover.prove(&tx, &outcome, view)?;
    Ok((tx, proof, outcome))
}
