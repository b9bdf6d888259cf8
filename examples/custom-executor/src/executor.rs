//! The user-written module: an [`Executor`] for `calc` programs (a resource kind of this
//! chain's, [`CALC`]) and its proof system, `calc-replay`: the prover records the result,
//! every verifier runs the program again against its own view of the chain and compares.
//! Nothing here is shipped by the SDK.

use wes_core::{
    Blame, ContractId, ExecutionOutcome, ExecutionRequest, Executor, Fault, Input, Lock, Output,
    OutputBody, ProofError, ProofSystemId, ProofVerifier, Prover, ResourceKind, SharedView,
    StateBody, TraceEntry, Transaction, ViewError, codec, trace_root,
};

use crate::calc::{self, CalcError};

/// The resource kind of `calc` programs on this chain.
pub const CALC: ResourceKind = ResourceKind::Custom(1);

/// The only entry point: `apply(x)` sets the stored value to the program's result.
pub const ENTRY: &str = "apply";

/// The state key the stored value lives under.
pub const KEY: &[u8] = b"s";

/// Compute units of a call, before the program's own.
pub const BASE_CU: u64 = 100;

/// The proof system's id.
pub fn calc_replay() -> ProofSystemId {
    ProofSystemId::new("calc-replay").expect("a valid id")
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CalcExecError {
    /// The program is bad, or its arithmetic failed: the caller's fault.
    #[error(transparent)]
    Program(#[from] CalcError),
    /// The call is malformed (entry, arguments, stored value).
    #[error("bad call: {0}")]
    BadCall(String),
    /// The call needs more compute units than it may use.
    #[error("needs {need} compute units, the limit is {limit}")]
    OutOfCompute {
        /// What the program needs.
        need: u64,
        /// The call's limit.
        limit: u64,
    },
    /// The chain could not be read.
    #[error(transparent)]
    View(#[from] ViewError),
}

impl Blame for CalcExecError {
    fn fault(&self) -> Fault {
        match self {
            CalcExecError::View(_) => Fault::Local,
            _ => Fault::Input,
        }
    }
}

/// Runs `calc` programs.
#[derive(Clone, Copy, Debug, Default)]
pub struct CalcExecutor;

impl Executor for CalcExecutor {
    type Error = CalcExecError;

    fn kind(&self) -> ResourceKind {
        CALC
    }

    fn validate(&self, code: &[u8]) -> Result<(), CalcExecError> {
        calc::parse(code)?;
        Ok(())
    }

    fn execute(
        &self,
        code: &[u8],
        request: &ExecutionRequest,
        view: &SharedView,
    ) -> Result<ExecutionOutcome, CalcExecError> {
        if request.entry != ENTRY {
            return Err(CalcExecError::BadCall(format!(
                "no entry {:?} (calc programs have `{ENTRY}`)",
                request.entry
            )));
        }
        let x = u64::from_le_bytes(request.args.as_slice().try_into().map_err(|_| {
            CalcExecError::BadCall(format!("{} argument bytes, not 8", request.args.len()))
        })?);
        let program = calc::parse(code)?;
        let need = BASE_CU + program.size();
        if need > request.cu_limit {
            return Err(CalcExecError::OutOfCompute {
                need,
                limit: request.cu_limit,
            });
        }
        let contract = request.context.contract;
        let live = view.state(&contract, KEY)?;
        let (s, version) = match &live {
            Some((_, out)) => {
                let state = out
                    .as_state()
                    .ok_or_else(|| CalcExecError::BadCall("state is not a State output".into()))?;
                let s = u64::from_le_bytes(state.data.as_slice().try_into().map_err(|_| {
                    CalcExecError::BadCall("the stored value is not 8 bytes".into())
                })?);
                (s, state.version.saturating_add(1))
            }
            None => (0, 0),
        };
        let result = program.eval(x, s)?;
        Ok(ExecutionOutcome {
            cu_used: need,
            inputs: live.iter().map(|(op, _)| Input::spend(*op)).collect(),
            outputs: vec![state_output(contract, result, version)],
            return_data: result.to_le_bytes().to_vec(),
            events: Vec::new(),
            trace: vec![TraceEntry {
                call: "state_read".into(),
                input: KEY.to_vec(),
                output: s.to_le_bytes().to_vec(),
                cu: 0,
            }],
        })
    }
}

fn state_output(contract: ContractId, value: u64, version: u64) -> Output {
    Output {
        lock: Lock::contract(contract),
        body: OutputBody::State(StateBody {
            contract,
            key: KEY.to_vec(),
            data: value.to_le_bytes().to_vec(),
            version,
        }),
    }
}

/// Proves a `calc` call: the proof is its result, which verifiers recompute.
#[derive(Clone, Copy, Debug, Default)]
pub struct CalcProver;

impl Prover for CalcProver {
    fn system(&self) -> ProofSystemId {
        calc_replay()
    }

    fn prove(
        &self,
        _tx: &Transaction,
        outcome: &ExecutionOutcome,
        _view: &SharedView,
    ) -> Result<Vec<u8>, ProofError> {
        let result: [u8; 8] =
            outcome
                .return_data
                .as_slice()
                .try_into()
                .map_err(|_| ProofError::Backend {
                    system: calc_replay(),
                    reason: "a calc result is 8 bytes".into(),
                })?;
        Ok(codec::encode(&u64::from_le_bytes(result)))
    }
}

/// Verifies `calc-replay` proofs by running the program again: the transaction's execution
/// must be exactly what the program gives on this chain — the contract its code, the
/// compute units, the trace, the state it replaces and writes (in front of the outputs,
/// which may go on only with the caller's own outputs) and the result the proof states.
#[derive(Clone, Copy, Debug, Default)]
pub struct CalcVerifier;

fn rejected(reason: impl Into<String>) -> ProofError {
    ProofError::Rejected {
        system: calc_replay(),
        reason: reason.into(),
    }
}

impl ProofVerifier for CalcVerifier {
    fn system(&self) -> ProofSystemId {
        calc_replay()
    }

    fn verify(&self, tx: &Transaction, proof: &[u8], view: &SharedView) -> Result<(), ProofError> {
        let exec = tx
            .execution
            .as_ref()
            .ok_or_else(|| ProofError::NoExecution(tx.id()))?;
        let claimed: u64 = codec::decode(proof).map_err(|e| ProofError::Malformed {
            system: calc_replay(),
            reason: e.to_string(),
        })?;
        if exec.contract != wes_ispc::contract_id(&exec.resource) || !exec.callees.is_empty() {
            return Err(rejected("the contract is not the code's"));
        }
        let code = view
            .resource(&exec.resource)
            .map_err(|e| ProofError::Backend {
                system: calc_replay(),
                reason: e.to_string(),
            })?
            .ok_or_else(|| ProofError::Unavailable {
                system: calc_replay(),
                what: format!("program {}", exec.resource),
            })?;
        let request = ExecutionRequest {
            context: wes_core::CallContext {
                chain_id: tx.chain_id,
                height: tx.validity.not_before,
                time_ms: 0,
                caller: Lock::contract(exec.contract).address(),
                contract: exec.contract,
                request: wes_core::Hash::ZERO,
            },
            resource: exec.resource,
            entry: exec.entry.clone(),
            args: exec.args.clone(),
            cu_limit: exec.cu_limit,
        };
        let outcome = CalcExecutor
            .execute(&code, &request, view)
            .map_err(|e| match e.fault() {
                Fault::Input => rejected(e.to_string()),
                _ => ProofError::Backend {
                    system: calc_replay(),
                    reason: e.to_string(),
                },
            })?;
        if outcome.return_data != claimed.to_le_bytes() {
            return Err(rejected("the result differs"));
        }
        if outcome.cu_used != exec.cu_used || trace_root(&outcome.trace) != exec.trace_root {
            return Err(rejected("compute units or trace differ"));
        }
        if !tx.outputs.starts_with(&outcome.outputs) {
            return Err(rejected("the state written differs"));
        }
        if !tx.inputs.ends_with(&outcome.inputs) {
            return Err(rejected("the state replaced differs"));
        }
        let contract_lock = Lock::contract(exec.contract);
        if tx.outputs[outcome.outputs.len()..]
            .iter()
            .any(|o| o.lock == contract_lock || o.as_state().is_some())
        {
            return Err(rejected("outputs beyond the program's claim the contract"));
        }
        Ok(())
    }
}
