//! The [`Prover`] / [`ProofVerifier`] conformance suite (feature `testing`): what the ledger
//! relies on when it accepts a proof system, checked against any pair. Construct one honest
//! execution with your executor, then:
//!
//! ```ignore
//! wes_core::conformance::check_proof_system(&my_prover, &my_verifier, &tx, &outcome, &view);
//! ```
//!
//! It panics (like `assert!`) on the first broken promise: prover and verifier name the same
//! system; the honest proof verifies; mangled proofs (empty, truncated, flipped bytes,
//! trailing bytes, a large garbage blob) are refused as the sender's fault and never panic;
//! the honest proof does not verify a transaction whose claim was changed into a false one
//! (compute units, an entry the code lacks, the trace, a forged state output, an output put
//! before the execution's). Other arguments are not checked: a call may give the same result
//! for other arguments, and then the changed claim is true.

use crate::fault::{Blame, Fault};
use crate::keys::PublicKey;
use crate::traits::executor::{ExecutionOutcome, SharedView};
use crate::traits::prover::{ProofVerifier, Prover};
use crate::types::lock::Lock;
use crate::types::output::{Output, OutputBody, StateBody};
use crate::types::token::TokenId;
use crate::types::transaction::Transaction;

/// Proves `tx`'s execution with `prover` and checks that the proof verifies.
///
/// # Panics
/// If the systems differ, proving fails or the honest proof is refused.
pub fn honest_proof_verifies(
    prover: &dyn Prover,
    verifier: &dyn ProofVerifier,
    tx: &Transaction,
    outcome: &ExecutionOutcome,
    view: &SharedView,
) -> Vec<u8> {
    assert_eq!(
        prover.system(),
        verifier.system(),
        "prover and verifier name different proof systems"
    );
    assert!(
        tx.execution
            .as_ref()
            .is_some_and(|e| e.proof_system == prover.system()),
        "the transaction's execution must name the prover's system"
    );
    let proof = prover
        .prove(tx, outcome, view)
        .unwrap_or_else(|e| panic!("proving an honest execution failed: {e}"));
    verifier
        .verify(tx, &proof, view)
        .unwrap_or_else(|e| panic!("the honest proof was refused: {e}"));
    proof
}

/// Mangled versions of `proof` are refused, as the input's fault.
///
/// # Panics
/// If one is accepted, or refused as the node's own failure.
pub fn mangled_proofs_are_refused(
    verifier: &dyn ProofVerifier,
    tx: &Transaction,
    proof: &[u8],
    view: &SharedView,
) {
    let mut mangled: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), Vec::new()),
        ("truncated".into(), proof[..proof.len() / 2].to_vec()),
        ("with trailing bytes".into(), [proof, &[0u8; 7]].concat()),
        ("a 1 MiB garbage blob".into(), vec![0xA5; 1 << 20]),
    ];
    for at in [0, proof.len() / 2, proof.len().saturating_sub(1)] {
        if at < proof.len() {
            let mut p = proof.to_vec();
            p[at] ^= 0x01;
            mangled.push((format!("byte {at} flipped"), p));
        }
    }
    for (what, bad) in mangled {
        match verifier.verify(tx, &bad, view) {
            Ok(()) => panic!("a proof {what} was accepted"),
            Err(e) => assert_eq!(
                e.fault(),
                Fault::Input,
                "a proof {what} was refused as {:?}, not as the sender's fault: {e}",
                e.fault()
            ),
        }
    }
}

/// The honest proof of `tx` does not verify a transaction whose execution claims something
/// else.
///
/// # Panics
/// If a changed claim verifies.
pub fn changed_claims_are_refused(
    verifier: &dyn ProofVerifier,
    tx: &Transaction,
    proof: &[u8],
    view: &SharedView,
) {
    type Change = fn(&mut Transaction);
    let changes: [(&str, Change); 5] = [
        ("more compute units", |t| {
            if let Some(e) = &mut t.execution {
                e.cu_used += 1;
            }
        }),
        ("an entry the code does not have", |t| {
            if let Some(e) = &mut t.execution {
                e.entry.push_str("_no_such_entry");
            }
        }),
        ("another trace root", |t| {
            if let Some(e) = &mut t.execution {
                e.trace_root = crate::hash::hash(crate::hash::Domain::new("test/other"), b"x");
            }
        }),
        ("a forged state output of the contract", |t| {
            if let Some(contract) = t.execution.as_ref().map(|e| e.contract) {
                t.outputs.insert(
                    0,
                    Output {
                        lock: Lock::contract(contract),
                        body: OutputBody::State(StateBody {
                            contract,
                            key: b"forged".to_vec(),
                            data: vec![1],
                            version: 0,
                        }),
                    },
                );
            }
        }),
        ("an extra asset output to someone else", |t| {
            t.outputs.insert(
                0,
                Output::asset(Lock::key(PublicKey([7; 32])), TokenId::Native, 1),
            )
        }),
    ];
    for (what, change) in changes {
        let mut t = tx.clone();
        change(&mut t);
        assert!(
            verifier.verify(&t, proof, view).is_err(),
            "the proof also verified a transaction with {what}"
        );
    }
}

/// Every check of this suite on one honest execution: `tx` carries `outcome` (as the node's
/// construction assembled it), its execution naming the prover's system.
pub fn check_proof_system(
    prover: &dyn Prover,
    verifier: &dyn ProofVerifier,
    tx: &Transaction,
    outcome: &ExecutionOutcome,
    view: &SharedView,
) {
    let proof = honest_proof_verifies(prover, verifier, tx, outcome, view);
    mangled_proofs_are_refused(verifier, tx, &proof, view);
    changed_claims_are_refused(verifier, tx, &proof, view);
}
