//! Execution is construction, end to end: a counter contract deployed as a resource, calls
//! constructed into transactions on one ledger and verified by replay on another; tampered
//! proofs rejected.

mod common;

use common::*;
use wes_core::*;
use wes_ispc::*;
use wes_ledger::*;

/// The counter contract's id: derived from its code.
fn counter() -> ContractId {
    contract_id(&wes_ures::content_id(&wasm(COUNTER)))
}

fn genesis() -> Genesis {
    testchain::genesis_with(vec![
        Output::asset(lock("alice"), TokenId::Native, 1_000_000),
        Output::asset(lock("bob"), TokenId::Native, 1_000_000),
        // Owned by the counter contract: only its executions may spend it.
        Output::asset(Lock::contract(counter()), TokenId::Native, 10_000),
    ])
}

struct Chain(testchain::Chain);

impl std::ops::Deref for Chain {
    type Target = testchain::Chain;
    fn deref(&self) -> &testchain::Chain {
        &self.0
    }
}

impl Chain {
    fn open(code: &[u8]) -> (Self, ContentId) {
        let chain = testchain::Chain::open(&genesis(), &[code]);
        (Chain(chain), wes_ures::content_id(code))
    }

    fn call(
        &self,
        id: ContentId,
        entry: &str,
        args: Vec<u8>,
        fee_input: OutPoint,
    ) -> ConstructedCall {
        let mut req = self.request(id, entry, args, vec![fee_input], "alice");
        req.cu_limit = 200_000;
        req.fee = 50_000;
        self.construct(&req).unwrap()
    }

    fn counter(&self) -> Option<(u64, u64)> {
        self.ledger
            .state(&counter(), b"count")
            .unwrap()
            .map(|(_, o)| {
                let s = o.as_state().unwrap();
                (
                    u64::from_le_bytes(s.data.clone().try_into().unwrap()),
                    s.version,
                )
            })
    }
}

#[test]
fn counter_constructed_on_one_ledger_verified_by_replay_on_another() {
    let code = wasm(COUNTER);
    let (a, id) = Chain::open(&code);
    let (b, _) = Chain::open(&code);
    let alice0 = genesis().coinbase().outpoint(0);

    // First call: creates the state.
    let call = a.call(id, "increment", vec![], alice0);
    assert_eq!(call.outcome.return_data, 1u64.to_le_bytes());
    let exec = call.tx.execution.clone().unwrap();
    assert_eq!(exec.proof_system.as_str(), "replay");
    assert_eq!(exec.trace_root, trace_root(&call.outcome.trace));
    let signed = call.sign(&[&key("alice")]);
    let change = testchain::change_of(&signed.tx, "alice");
    let block = a.block(vec![signed]);
    a.ledger.apply_block(&block).unwrap();
    b.ledger.apply_block(&block).unwrap(); // B verifies by replay on its own.
    assert_eq!(a.counter(), Some((1, 0)));
    assert_eq!(b.counter(), Some((1, 0)));

    // Second call: spends the live state (replacement) and bumps the version.
    let call = a.call(id, "increment", vec![], change);
    assert_eq!(call.tx.inputs.len(), 2);
    assert_eq!(call.tx.inputs[1].mode, InputMode::Spend);
    let block = a.block(vec![call.sign(&[&key("alice")])]);
    a.ledger.apply_block(&block).unwrap();
    b.ledger.apply_block(&block).unwrap();
    assert_eq!(b.counter(), Some((2, 1)));
    assert_eq!(a.ledger.tip().unwrap(), b.ledger.tip().unwrap());
}

#[test]
fn read_only_call_references_the_state_and_mint_is_the_contracts() {
    let code = wasm(COUNTER);
    let (a, id) = Chain::open(&code);
    let (b, _) = Chain::open(&code);
    let call = a.call(id, "increment", vec![], genesis().coinbase().outpoint(0));
    let signed = call.sign(&[&key("alice")]);
    let change = testchain::change_of(&signed.tx, "alice");
    let block = a.block(vec![signed]);
    a.ledger.apply_block(&block).unwrap();
    b.ledger.apply_block(&block).unwrap();

    let read = a.call(id, "read", vec![], change);
    assert_eq!(read.tx.inputs[1].mode, InputMode::Reference);
    assert_eq!(read.outcome.return_data, 1u64.to_le_bytes());

    // Bob mints 100 of the counter's own token to himself.
    let token = TokenId::Issued {
        contract: counter(),
        tag: Hash::ZERO,
    };
    let lock_bytes = codec::encode(&lock("bob"));
    let mut args = (lock_bytes.len() as u32).to_le_bytes().to_vec();
    args.extend_from_slice(&lock_bytes);
    args.extend_from_slice(Hash::ZERO.as_bytes());
    let mint = a.call(id, "mint", args, genesis().coinbase().outpoint(1));
    assert_eq!(mint.tx.outputs[0], Output::asset(lock("bob"), token, 100));

    let block = a.block(vec![read.sign(&[&key("alice")]), mint.sign(&[&key("bob")])]);
    a.ledger.apply_block(&block).unwrap();
    b.ledger.apply_block(&block).unwrap();
    assert_eq!(b.counter(), Some((1, 0)), "the read left the state alone");
}

fn reject_reason(chain: &Chain, tx: &Transaction, proof: &[u8]) -> String {
    let verifier = ReplayVerifier::new(chain.executor.clone());
    match verifier.verify(tx, proof, &chain.view()) {
        Err(e @ ProofError::Rejected { .. }) => e.to_string(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn tampered_proofs_and_records_are_rejected() {
    let code = wasm(COUNTER);
    let (a, id) = Chain::open(&code);
    let call = a.call(id, "increment", vec![], genesis().coinbase().outpoint(0));
    let verifier = ReplayVerifier::new(a.executor.clone());
    verifier.verify(&call.tx, &call.proof, &a.view()).unwrap();

    // A changed output.
    let mut tx = call.tx.clone();
    if let OutputBody::State(s) = &mut tx.outputs[0].body {
        s.data = 41u64.to_le_bytes().to_vec();
    }
    assert!(reject_reason(&a, &tx, &call.proof).contains("outputs"));

    // A changed cu_used.
    let mut tx = call.tx.clone();
    tx.execution.as_mut().unwrap().cu_used -= 1;
    assert!(reject_reason(&a, &tx, &call.proof).contains("cu_used"));

    // A changed trace entry (with a matching trace root, so only replay can catch it).
    let mut trace = call.outcome.trace.clone();
    trace[2].input = codec::encode(&(b"incremented".to_vec(), 99u64.to_le_bytes().to_vec()));
    let mut tx = call.tx.clone();
    tx.execution.as_mut().unwrap().trace_root = trace_root(&trace);
    let reason = reject_reason(&a, &tx, &encode_replay_proof(&trace));
    assert!(reason.contains("trace entry 2"), "{reason}");

    // A trace that claims a state read the chain does not have.
    let mut trace = call.outcome.trace.clone();
    trace[0].output = [&[1u8][..], &7u64.to_le_bytes()].concat();
    let mut tx = call.tx.clone();
    tx.execution.as_mut().unwrap().trace_root = trace_root(&trace);
    let reason = reject_reason(&a, &tx, &encode_replay_proof(&trace));
    assert!(reason.contains("trace entry 0"), "{reason}");

    // A truncated trace.
    let trace = call.outcome.trace[..3].to_vec();
    let mut tx = call.tx.clone();
    tx.execution.as_mut().unwrap().trace_root = trace_root(&trace);
    assert!(reject_reason(&a, &tx, &encode_replay_proof(&trace)).contains("trace entry 3"));

    // A trace root that does not match the proof.
    let mut tx = call.tx.clone();
    tx.execution.as_mut().unwrap().trace_root = Hash::ZERO;
    reject_reason(&a, &tx, &call.proof);

    // Garbage.
    assert!(matches!(
        verifier.verify(&call.tx, b"garbage", &a.view()),
        Err(ProofError::Malformed { .. })
    ));

    // A change output that mints the contract's token outside the execution.
    let mut tx = call.tx.clone();
    tx.outputs.push(Output::asset(
        lock("alice"),
        TokenId::Issued {
            contract: counter(),
            tag: Hash::ZERO,
        },
        5,
    ));
    assert!(reject_reason(&a, &tx, &call.proof).contains("change holds more"));

    // A fee part that spends the contract's own funds (the ledger alone would allow it,
    // since the transaction executes the contract).
    let mut tx = call.tx.clone();
    tx.inputs
        .insert(1, Input::spend(genesis().coinbase().outpoint(2)));
    tx.outputs
        .push(Output::asset(lock("alice"), TokenId::Native, 10_000));
    let reason = reject_reason(&a, &tx, &call.proof);
    assert!(reason.contains("contract-owned"), "{reason}");

    // And the ledger refuses a tampered transaction as a proof failure.
    let mut tx = call.tx.clone();
    tx.execution.as_mut().unwrap().cu_used -= 1;
    let mut signed = tx.sign(&[&key("alice")]);
    signed.witness.proof = call.proof.clone();
    let err = a
        .ledger
        .check_transaction(
            &signed,
            &BlockContext {
                height: 1,
                time_ms: T0 + 1000,
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err.tx_error(),
            Some(TxError::Proof(ProofError::Rejected { .. }))
        ),
        "{err}"
    );
}

#[test]
fn missing_resource_is_unavailable() {
    let code = wasm(COUNTER);
    let (a, id) = Chain::open(&code);
    let call = a.call(id, "increment", vec![], genesis().coinbase().outpoint(0));
    let (other, _) = Chain::open(b"different bytes");
    let verifier = ReplayVerifier::new(other.executor.clone());
    let err = verifier
        .verify(&call.tx, &call.proof, &other.view())
        .unwrap_err();
    assert_eq!(err.fault(), Fault::Unavailable);
}

/// The public proof-system conformance suite on `replay`: the honest proof of a call
/// verifies; mangled proofs and changed claims do not.
#[test]
fn replay_passes_the_proof_system_conformance_suite() {
    let code = wasm(COUNTER);
    let (a, id) = Chain::open(&code);
    let call = a.call(id, "increment", vec![], genesis().coinbase().outpoint(0));
    let verifier = ReplayVerifier::new(a.executor.clone());
    wes_core::conformance::check_proof_system(
        &ReplayProver,
        &verifier,
        &call.tx,
        &call.outcome,
        &a.view(),
    );
}

#[test]
fn the_time_a_contract_saw_is_bound_to_the_block_that_includes_it() {
    let code = wasm(COUNTER);
    let (a, id) = Chain::open(&code);
    let seen = T0 + 3_600_000;
    let mut req = a.request(
        id,
        "ctx",
        vec![],
        vec![genesis().coinbase().outpoint(0)],
        "alice",
    );
    req.time_ms = seen;
    let call = a.construct(&req).unwrap();
    assert_eq!(call.outcome.return_data[8..16], seen.to_le_bytes());
    let signed = call.sign(&[&key("alice")]);
    let at = |time_ms: u64| {
        a.ledger
            .check_transaction(&signed, &BlockContext { height: 1, time_ms })
    };
    let bounds = TimeBounds::default();
    // Within the bounds of the including block's time: valid.
    for block in [seen, seen + bounds.behind_ms, seen - bounds.ahead_ms] {
        at(block).unwrap_or_else(|e| panic!("a block at {block}: {e}"));
    }
    // A block too late for what the contract saw, or a time from the block's future.
    for block in [seen + bounds.behind_ms + 1, seen - bounds.ahead_ms - 1] {
        let err = at(block).unwrap_err();
        assert!(
            matches!(
                err.tx_error(),
                Some(TxError::Proof(ProofError::Rejected { reason, .. })) if reason.contains("outside the bounds")
            ),
            "a block at {block}: {err}"
        );
    }
    // A view of the tip alone names no block: nothing to bind against.
    let verifier = ReplayVerifier::new(a.executor.clone());
    verifier
        .verify(&signed.tx, &signed.witness.proof, &a.view())
        .unwrap();
    // The chain chooses the bounds.
    let wide = TimeBounds {
        behind_ms: 2 * 3_600_000,
        ..bounds
    };
    assert!(wide.admit(seen, seen + 3_600_000));
    assert!(!bounds.admit(seen, seen + 3_600_000));
    assert_eq!(verifier.with_time_bounds(wide).time_bounds(), wide);
}
