//! Execution is construction, for any executor: the node runs a call once with the executor
//! of the resource's kind, assembles the transaction that carries its outcome, and proves it
//! with the chosen proof system. What the WASM path (`wes_ispc::construct_call`) does for
//! contracts, this does for a kind a chain adds (see the `custom-executor` example).
//!
//! The assembled transaction spends the fee inputs first, then the execution's inputs; its
//! outputs are the execution's, then the change of the fee inputs. Executions that mint or
//! move their own assets need an executor-specific assembly (as WASM has).

use std::collections::BTreeMap;

use wes_core::{
    Amount, CallContext, ContentId, Execution, ExecutionOutcome, ExecutionRequest, Guard, Input,
    Lock, OutPoint, OutputBody, ProofError, ProofSystemId, Prover, ResourceKind, SharedView,
    TokenId, Transaction, ValidityWindow, ViewError, trace_root,
};

use crate::executors::{DynExecutor, ExecutorError};

/// A call to construct: what runs, for whom, and who pays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The code resource.
    pub resource: ContentId,
    /// The entry point.
    pub entry: String,
    /// Arguments.
    pub args: Vec<u8>,
    /// The most compute units the call may use.
    pub cu_limit: u64,
    /// Outputs that pay the fee; the first one's owner is the caller.
    pub fee_inputs: Vec<OutPoint>,
    /// The fee, in the native token.
    pub fee: Amount,
    /// Where the change goes.
    pub change: Lock,
    /// The proof system to prove it with.
    pub proof_system: ProofSystemId,
}

/// A constructed call: the transaction to sign, its proof and what the execution gave.
#[derive(Clone, Debug)]
pub struct Constructed {
    /// The unsigned transaction.
    pub tx: Transaction,
    /// The proof for its witness.
    pub proof: Vec<u8>,
    /// The execution's outcome (return data, events, trace).
    pub outcome: ExecutionOutcome,
}

/// Why a call could not be constructed.
#[derive(Debug, thiserror::Error)]
pub enum ConstructError {
    /// The chain has no executor for the resource's kind.
    #[error("no executor for resources of kind {0:?}")]
    NoExecutor(ResourceKind),
    /// The chain has no prover for the proof system.
    #[error("no prover for proof system {0}")]
    NoProver(ProofSystemId),
    /// The resource is not stored.
    #[error("resource {0} is not stored")]
    MissingResource(ContentId),
    /// A fee input is not unspent.
    #[error("fee input {0} is not unspent")]
    MissingInput(OutPoint),
    /// A fee input belongs to a contract or is contract state.
    #[error("fee input {0} is owned by a contract")]
    ContractOwnedInput(OutPoint),
    /// The call has no fee input (it names the caller).
    #[error("a call needs at least one fee input")]
    NoFeeInput,
    /// The fee inputs do not cover the fee.
    #[error("fee inputs hold {have} of the native token, the fee is {need}")]
    InsufficientFunds {
        /// What the fee inputs hold.
        have: Amount,
        /// The fee.
        need: Amount,
    },
    /// The execution failed (the contract's fault or the executor's).
    #[error("execution: {0}")]
    Execution(#[from] ExecutorError),
    /// A WASM contract call failed in the contract runtime's construction
    /// (`wes_ispc::construct_call`): its execution, its balance or its proof.
    #[error("contract call: {0}")]
    Contract(wes_ispc::ConstructError),
    /// The prover failed.
    #[error("proof: {0}")]
    Proof(#[from] ProofError),
    /// The chain could not be read.
    #[error(transparent)]
    View(#[from] ViewError),
}

/// Runs `call` at `height` / `time_ms` with `executor` (whose kind the resource has),
/// assembles the transaction and proves it with `prover`. The contract is the code: its id
/// is `wes_ispc::contract_id(resource)`.
///
/// # Errors
/// See [`ConstructError`].
#[allow(clippy::too_many_arguments)]
pub fn construct(
    executor: &dyn DynExecutor,
    prover: &dyn Prover,
    chain_id: wes_core::ChainId,
    call: &Call,
    height: u64,
    time_ms: u64,
    valid_until: u64,
    view: &SharedView,
) -> Result<Constructed, ConstructError> {
    let first = *call.fee_inputs.first().ok_or(ConstructError::NoFeeInput)?;
    let mut brought: BTreeMap<TokenId, Amount> = BTreeMap::new();
    let mut caller = None;
    for op in &call.fee_inputs {
        let output = view.unspent(op)?.ok_or(ConstructError::MissingInput(*op))?;
        if output.as_state().is_some() || matches!(output.lock.guard(), Guard::Contract(_)) {
            return Err(ConstructError::ContractOwnedInput(*op));
        }
        caller.get_or_insert(output.lock.address());
        if let OutputBody::Asset(a) = &output.body {
            let sum = brought.entry(a.token).or_default();
            *sum = sum.saturating_add(a.amount);
        }
    }
    let native = brought.get(&TokenId::Native).copied().unwrap_or(0);
    if native < call.fee {
        return Err(ConstructError::InsufficientFunds {
            have: native,
            need: call.fee,
        });
    }
    let code = view
        .resource(&call.resource)?
        .ok_or(ConstructError::MissingResource(call.resource))?;
    let contract = wes_ispc::contract_id(&call.resource);
    let request = ExecutionRequest {
        context: CallContext {
            chain_id,
            height,
            time_ms,
            caller: caller.unwrap_or_else(|| Lock::contract(contract).address()),
            contract,
            request: wes_ispc::call_id(chain_id, &first, &contract, &call.entry, &call.args),
        },
        resource: call.resource,
        entry: call.entry.clone(),
        args: call.args.clone(),
        cu_limit: call.cu_limit,
    };
    let outcome = executor.execute(&code, &request, view)?;
    let mut inputs: Vec<Input> = call.fee_inputs.iter().map(|op| Input::spend(*op)).collect();
    inputs.extend(outcome.inputs.iter().copied());
    let mut outputs = outcome.outputs.clone();
    for (token, amount) in brought {
        let change = if token == TokenId::Native {
            amount - call.fee
        } else {
            amount
        };
        if change > 0 {
            outputs.push(wes_core::Output::asset(call.change.clone(), token, change));
        }
    }
    let tx = Transaction {
        version: Transaction::VERSION,
        chain_id,
        inputs,
        outputs,
        validity: ValidityWindow {
            not_before: height,
            not_after: valid_until,
        },
        execution: Some(Execution {
            contract,
            callees: Vec::new(),
            resource: call.resource,
            entry: call.entry.clone(),
            args: call.args.clone(),
            cu_limit: call.cu_limit,
            cu_used: outcome.cu_used,
            trace_root: trace_root(&outcome.trace),
            proof_system: prover.system(),
        }),
    };
    let proof = prover.prove(&tx, &outcome, view)?;
    Ok(Constructed { tx, proof, outcome })
}
