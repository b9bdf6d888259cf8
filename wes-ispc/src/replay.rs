//! The `replay` proof system: the proof is the execution trace, and a verifier re-runs the
//! contract against it.
//!
//! **This is verification by re-execution, not zero knowledge.** Every verifier runs the whole
//! computation again; what the trace saves is calling the outside world twice (the block time
//! and connector receipts are taken from it) and it pins down exactly which host call diverged
//! when a proof is false.

use std::collections::BTreeMap;
use std::sync::Arc;

use wes_core::{
    Amount, CallContext, ContractId, Event, ExecutionOutcome, ExecutionRequest, InputMode,
    ProofError, ProofSystemId, ProofVerifier, Prover, SharedView, TokenId, TraceEntry, Transaction,
    codec, trace_root,
};

use crate::error::WasmError;
use crate::executor::WasmExecutor;
use crate::plain::{add, check_plain_part};

/// The proof-system id of replay proofs.
pub const REPLAY_SYSTEM: &str = "replay";
/// The version of the replay proof encoding.
pub const REPLAY_PROOF_VERSION: u16 = 1;
/// Largest replay proof accepted, in bytes.
pub const MAX_REPLAY_PROOF: usize = 1 << 20;

/// The `replay` system id.
pub fn replay_system() -> ProofSystemId {
    // The literal satisfies the naming rule, so this cannot fail.
    ProofSystemId::new(REPLAY_SYSTEM).unwrap_or_else(|_| unreachable!("valid literal"))
}

/// Encodes a replay proof: `codec::encode(&(REPLAY_PROOF_VERSION, trace))`.
pub fn encode_replay_proof(trace: &[TraceEntry]) -> Vec<u8> {
    codec::encode(&(REPLAY_PROOF_VERSION, trace))
}

/// Decodes a replay proof into its trace.
pub fn decode_replay_proof(proof: &[u8]) -> Result<Vec<TraceEntry>, ProofError> {
    let (version, trace): (u16, Vec<TraceEntry>) =
        codec::decode_with_limit(proof, MAX_REPLAY_PROOF).map_err(|e| ProofError::Malformed {
            system: replay_system(),
            reason: e.to_string(),
        })?;
    if version != REPLAY_PROOF_VERSION {
        return Err(ProofError::Malformed {
            system: replay_system(),
            reason: format!("version {version}, expected {REPLAY_PROOF_VERSION}"),
        });
    }
    Ok(trace)
}

/// The events a transaction's execution emitted, in order, read from its `replay` proof
/// (each `emit_event` entry of the trace names its emitter). Empty for a transaction
/// without an execution, and for an execution proven by another system: its proof is not
/// a trace, and such executions publish no events. A proof that does not decode gives no
/// events (a verified transaction's always decodes).
///
/// What it reads is authentic once the transaction is verified: the trace's root is the
/// execution record's, which the transaction id commits to, and replay reproduced it.
pub fn events_of(tx: &wes_core::SignedTransaction) -> Vec<Event> {
    let Some(execution) = &tx.tx.execution else {
        return Vec::new();
    };
    if execution.proof_system != replay_system() {
        return Vec::new();
    }
    let Ok(trace) = decode_replay_proof(&tx.witness.proof) else {
        return Vec::new();
    };
    trace
        .iter()
        .filter(|e| e.call == "emit_event")
        .filter_map(|e| {
            let (contract, topic, data): (ContractId, Vec<u8>, Vec<u8>) =
                codec::decode(&e.input).ok()?;
            Some(Event {
                contract,
                topic: String::from_utf8(topic).ok()?,
                data,
            })
        })
        .collect()
}

/// Produces `replay` proofs: the encoded trace of the outcome.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReplayProver;

impl Prover for ReplayProver {
    fn system(&self) -> ProofSystemId {
        replay_system()
    }

    fn prove(
        &self,
        tx: &Transaction,
        outcome: &ExecutionOutcome,
        _view: &SharedView,
    ) -> Result<Vec<u8>, ProofError> {
        let execution = tx
            .execution
            .as_ref()
            .ok_or_else(|| ProofError::NoExecution(tx.id()))?;
        if trace_root(&outcome.trace) != execution.trace_root
            || outcome.cu_used != execution.cu_used
        {
            return Err(ProofError::Rejected {
                system: replay_system(),
                reason: "the outcome does not match the transaction's execution record".into(),
            });
        }
        Ok(encode_replay_proof(&outcome.trace))
    }
}

/// Verifies `replay` proofs by re-running the contract with a [`WasmExecutor`].
///
/// The transaction's layout is fixed by construction (see `construct_call`): the fee inputs
/// come first (the first one is the caller, and must be spent), the execution's inputs are the
/// suffix of `tx.inputs`; the execution's outputs are the prefix of `tx.outputs`, the change
/// follows. The verifier accepts only if
///
/// - the proof decodes and its trace root is the record's `trace_root`;
/// - re-running `entry(args)` of the resource, with the context derived from the transaction
///   (contract = the record's, caller = the address of the first input's lock, height =
///   `validity.not_before`, block time = the recorded `time_ms`), makes exactly the recorded
///   host calls with the recorded inputs, results and costs, state reads answered from the
///   chain state *before* the transaction;
/// - the re-derived `cu_used`, inputs and outputs equal the transaction's;
/// - the non-execution part is plain: fee inputs are neither State outputs nor guarded by a
///   contract, change outputs are assets, and the change holds no more of any token than the
///   fee inputs bring;
/// - every token's outputs total at most what the fee inputs bring, plus what the execution
///   minted (`mint_asset`, each frame only its own token), plus what contracts spent and
///   placed themselves; and the callees are exactly those the replay entered.
///
/// When the view names the block the transaction is checked for
/// ([`ChainView::block`](wes_core::ChainView::block)),
/// every time the execution read (`time_ms`, recorded in the trace) must lie within
/// [`TimeBounds`] of that block's time: the constructor chooses the time a contract sees, and
/// the block that includes the transaction bounds it.
#[derive(Clone, Debug)]
pub struct ReplayVerifier {
    executor: Arc<WasmExecutor>,
    time: TimeBounds,
}

/// How far the time an execution saw (`time_ms`) may be from the time of the block that
/// includes it. A contract can rely on `block time − behind_ms ≤ time_ms ≤ block time +
/// ahead_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeBounds {
    /// How much earlier than the block's time the execution may have seen: how long a
    /// constructed call may wait for a block.
    pub behind_ms: u64,
    /// How much later than the block's time: the clock skew allowed between the node that
    /// constructed and the one that produced the block.
    pub ahead_ms: u64,
}

impl Default for TimeBounds {
    /// Ten minutes behind (a call constructed for a validity window of 100 two-second blocks
    /// has three), one minute ahead.
    fn default() -> Self {
        TimeBounds {
            behind_ms: 10 * 60_000,
            ahead_ms: 60_000,
        }
    }
}

impl TimeBounds {
    /// Whether an execution that saw `seen` may be included in a block of time `block`.
    pub fn admit(&self, seen: u64, block: u64) -> bool {
        seen >= block.saturating_sub(self.behind_ms) && seen <= block.saturating_add(self.ahead_ms)
    }
}

impl ReplayVerifier {
    /// A verifier running contracts with `executor` (share it to share the module cache),
    /// with the default [`TimeBounds`].
    pub fn new(executor: Arc<WasmExecutor>) -> Self {
        ReplayVerifier {
            executor,
            time: TimeBounds::default(),
        }
    }

    /// The same verifier binding time with `bounds` instead (every node of a chain must use
    /// the same: it decides which blocks are valid).
    pub fn with_time_bounds(mut self, bounds: TimeBounds) -> Self {
        self.time = bounds;
        self
    }

    /// The time bounds this verifier applies.
    pub fn time_bounds(&self) -> TimeBounds {
        self.time
    }
}

/// Checks every `time_ms` the trace records against the block's time.
fn check_times(
    trace: &[wes_core::TraceEntry],
    block: &wes_core::BlockContext,
    bounds: TimeBounds,
) -> Result<(), ProofError> {
    for (index, entry) in trace
        .iter()
        .enumerate()
        .filter(|(_, e)| e.call == "time_ms")
    {
        let seen = <[u8; 8]>::try_from(entry.output.as_slice())
            .map(u64::from_le_bytes)
            .map_err(|_| {
                rejected(format!(
                    "trace entry {index}: time_ms output is not 8 bytes"
                ))
            })?;
        if !bounds.admit(seen, block.time_ms) {
            return Err(rejected(format!(
                "the execution saw time {seen} ms, outside the bounds of the including block's \
                 time {} ms (−{} ms, +{} ms)",
                block.time_ms, bounds.behind_ms, bounds.ahead_ms
            )));
        }
    }
    Ok(())
}

fn rejected(reason: impl Into<String>) -> ProofError {
    ProofError::Rejected {
        system: replay_system(),
        reason: reason.into(),
    }
}

fn backend(reason: impl Into<String>) -> ProofError {
    ProofError::Backend {
        system: replay_system(),
        reason: reason.into(),
    }
}

/// The innermost error of a failed nested call: a node fault inside a callee is still a node
/// fault, not an invalid transaction.
fn root_cause(e: WasmError) -> WasmError {
    match e {
        WasmError::Callee { source, .. } => root_cause(*source),
        other => other,
    }
}

impl ProofVerifier for ReplayVerifier {
    fn system(&self) -> ProofSystemId {
        replay_system()
    }

    fn verify(&self, tx: &Transaction, proof: &[u8], view: &SharedView) -> Result<(), ProofError> {
        let execution = tx
            .execution
            .as_ref()
            .ok_or_else(|| ProofError::NoExecution(tx.id()))?;
        let trace = decode_replay_proof(proof)?;
        if trace_root(&trace) != execution.trace_root {
            return Err(rejected(
                "the proof's trace does not hash to the trace root",
            ));
        }
        if let Some(block) = view.block() {
            check_times(&trace, &block, self.time)?;
        }
        if execution.cu_used > execution.cu_limit {
            return Err(rejected("cu_used exceeds cu_limit"));
        }
        let contract = crate::contract_id(&execution.resource);
        if execution.contract != contract {
            return Err(rejected(format!(
                "contract {} is not the contract of resource {} ({contract})",
                execution.contract, execution.resource
            )));
        }
        let first = tx
            .inputs
            .first()
            .ok_or_else(|| rejected("no fee input: the first input names the caller"))?;
        if first.mode != InputMode::Spend {
            return Err(rejected("the first input (the caller's) must be spent"));
        }
        let caller_output = view
            .unspent(&first.prev)
            .map_err(|e| backend(e.to_string()))?
            .ok_or_else(|| rejected(format!("first input {} is not unspent", first.prev)))?;
        let code = view
            .resource(&execution.resource)
            .map_err(|e| backend(e.to_string()))?
            .ok_or_else(|| ProofError::Unavailable {
                system: replay_system(),
                what: format!("resource {}", execution.resource),
            })?;
        let request = ExecutionRequest {
            context: CallContext {
                chain_id: tx.chain_id,
                height: tx.validity.not_before,
                time_ms: 0,
                caller: caller_output.lock.address(),
                contract,
                request: crate::call_id(
                    tx.chain_id,
                    &first.prev,
                    &contract,
                    &execution.entry,
                    &execution.args,
                ),
            },
            resource: execution.resource,
            entry: execution.entry.clone(),
            args: execution.args.clone(),
            // Replay within what the transaction claims and pays for, not its (possibly huge)
            // limit: an execution that needs more than `cu_used` is rejected after at most
            // `cu_used` units of work, so a false claim costs the verifier no more than it
            // costs the sender.
            cu_limit: execution.cu_used,
        };
        let (outcome, report) = self
            .executor
            .replay_detailed(&code, &request, view, trace)
            .map_err(|e| match root_cause(e) {
                WasmError::TraceMismatch { index, reason } => {
                    rejected(format!("trace entry {index}: {reason}"))
                }
                WasmError::View(e) => backend(e.to_string()),
                WasmError::Engine(e) => backend(e),
                WasmError::UnknownConnector(e) => backend(format!("unknown connector {e}")),
                WasmError::ResourceUnavailable(id) => ProofError::Unavailable {
                    system: replay_system(),
                    what: format!("resource {id}"),
                },
                WasmError::OutOfCu { .. } => rejected(format!(
                    "the execution needs more than its cu_used of {}",
                    execution.cu_used
                )),
                other => rejected(format!("the execution fails on replay: {other}")),
            })?;
        if outcome.cu_used != execution.cu_used {
            return Err(rejected(format!(
                "cu_used is {}, replay used {}",
                execution.cu_used, outcome.cu_used
            )));
        }
        if report.callees != execution.callees {
            return Err(rejected(format!(
                "the execution lists callees {:?}, replay called {:?}",
                execution.callees, report.callees
            )));
        }
        let n_in = outcome.inputs.len();
        if tx.inputs.len() < n_in + 1 || tx.inputs[tx.inputs.len() - n_in..] != outcome.inputs[..] {
            return Err(rejected(
                "the transaction's trailing inputs are not the execution's inputs",
            ));
        }
        let n_out = outcome.outputs.len();
        if tx.outputs.len() < n_out || tx.outputs[..n_out] != outcome.outputs[..] {
            return Err(rejected(
                "the transaction's leading outputs are not the execution's outputs",
            ));
        }
        // The plain part (fee inputs, change outputs) is the caller's: fee inputs are not
        // contract-owned, change outputs are assets, and the change of every token holds no
        // more than the fee inputs bring (value the execution spent or minted is placed by the
        // execution's outputs only).
        let fee_in = check_plain_part(tx, view, n_in, n_out, &replay_system())?;
        // Value: every token's outputs are paid by the fee inputs, by `mint_asset` (only of a
        // frame's own token), or by what a contract spent and placed itself.
        let mut out_total: BTreeMap<TokenId, Amount> = BTreeMap::new();
        for a in tx.outputs.iter().filter_map(|o| o.as_asset()) {
            add(&mut out_total, a.token, a.amount);
        }
        for (token, out) in out_total {
            let get = |m: &BTreeMap<TokenId, Amount>| m.get(&token).copied().unwrap_or(0);
            let funded = get(&fee_in)
                .saturating_add(get(&report.minted))
                .saturating_add(get(&report.spendable));
            if out > funded {
                return Err(rejected(format!(
                    "the transaction's {token} outputs total {out}, but fee inputs, mints and \
                     the contracts' own spends fund only {funded}"
                )));
            }
        }
        Ok(())
    }
}
