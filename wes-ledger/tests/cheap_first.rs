//! A transaction's signatures are verified only once the cheap rules of the state allow it
//! (inputs exist, each claimed signer is a key a spent lock names, fees are paid), and its
//! proof only after its signatures: a transaction carrying thousands of signatures over
//! outputs it cannot spend costs a few lookups to refuse. The refusals that hold on every
//! chain say so, so that a peer relaying them can be charged.

mod common;

use common::*;
use wes_core::*;
use wes_ledger::*;

/// `t` signed by `real`, then `extra` signatures by other keys that verify nothing.
fn flooded(t: Transaction, real: &[&SecretKey], extra: usize) -> SignedTransaction {
    let mut s = sign(t, real);
    for i in 0..extra {
        let k = SecretKey::dev(&format!("flood-{i}"));
        s.witness.signatures.push(KeySignature {
            key: k.public_key(),
            signature: k.sign(b"not the sighash"),
        });
    }
    s
}

fn rule(ledger: &EutxoLedger<MemoryStore>, t: &SignedTransaction) -> TxError {
    let ctx = next_ctx(ledger);
    ledger
        .check_transaction(t, &ctx)
        .unwrap_err()
        .tx_error()
        .cloned()
        .expect("a transaction's error")
}

#[test]
fn thousands_of_signatures_over_outputs_that_do_not_exist_are_refused_unverified() {
    let ledger = memory_ledger();
    let nowhere = OutPoint {
        tx: TxId(Hash([7; 32])),
        index: 0,
    };
    let t = flooded(
        tx(
            vec![Input::spend(nowhere)],
            vec![Output::asset(lock("bob"), TokenId::Native, 1)],
        ),
        &[&key("alice")],
        2_000,
    );
    // Before signatures were checked after the state, this was `BadSignature`, found by
    // verifying up to 2,001 signatures.
    let e = rule(&ledger, &t);
    assert!(matches!(e, TxError::MissingInput { .. }), "{e}");
    assert!(!e.invalid_everywhere(), "another tip may hold the input");
    assert!(ledger.signature_cache().is_empty());
}

#[test]
fn signatures_no_lock_asks_for_are_refused_before_any_is_verified() {
    let ledger = memory_ledger();
    // Alice's real output, and a thousand signatures by keys none of its locks names.
    let mut t = alice_pays(lock("bob"), 100, 5_000);
    let extra = flooded(t.tx.clone(), &[], 1_000);
    t.witness.signatures.extend(extra.witness.signatures);
    let e = rule(&ledger, &t);
    assert!(matches!(e, TxError::UnneededSignature { .. }), "{e}");
    assert!(ledger.signature_cache().is_empty());
}

#[test]
fn a_fee_too_low_is_found_before_a_bad_signature() {
    let ledger = memory_ledger();
    let mut t = alice_pays(lock("bob"), 100, 1);
    t.witness.signatures[0].signature = key("alice").sign(b"not the sighash");
    let e = rule(&ledger, &t);
    assert!(matches!(e, TxError::FeeTooLow { .. }), "{e}");
}

#[test]
fn a_bad_signature_on_a_spendable_transaction_is_invalid_everywhere() {
    let ledger = memory_ledger();
    let mut t = alice_pays(lock("bob"), 100, 5_000);
    t.witness.signatures[0].signature = key("alice").sign(b"not the sighash");
    let e = rule(&ledger, &t);
    assert!(matches!(e, TxError::BadSignature { .. }), "{e}");
    assert!(e.invalid_everywhere());
    let ctx = next_ctx(&ledger);
    let err = ledger.check_transaction(&t, &ctx).unwrap_err();
    assert!(err.invalid_everywhere(), "the ledger's error says so too");
    // The stateless check is cheap: it verifies no signature, and passes this one.
    ledger.check_stateless(&t).unwrap();
    // A malformed transaction is invalid everywhere too.
    let mut wrong_chain = t.clone();
    wrong_chain.tx.chain_id = ChainId(CHAIN.0 + 1);
    assert!(
        ledger
            .check_stateless(&wrong_chain)
            .unwrap_err()
            .invalid_everywhere()
    );
}

#[test]
fn batch_preverification_verifies_only_signatures_the_inputs_locks_name() {
    let ledger = memory_ledger();
    // Alice pays Bob; Bob spends that output within the same batch (a chain); a third
    // transaction claims keys no lock of its input names.
    let first = alice_pays(lock("bob"), 100_000, 5_000);
    let second = sign(
        tx(
            vec![Input::spend(first.tx.outpoint(0))],
            vec![Output::asset(lock("carol"), TokenId::Native, 95_000)],
        ),
        &[&key("bob")],
    );
    let flood = flooded(
        tx(
            vec![Input::spend(genesis_out(1))],
            vec![Output::asset(lock("carol"), TokenId::Native, 1)],
        ),
        &[&key("bob")],
        500,
    );
    let verified = ledger.preverify(&[first.clone(), second.clone(), flood.clone()]);
    assert_eq!(verified, 2, "the chain of two, not the flood");
    let cache = ledger.signature_cache();
    assert!(cache.contains(&first.witness_commitment()));
    assert!(cache.contains(&second.witness_commitment()));
    assert!(!cache.contains(&flood.witness_commitment()));
}

#[test]
fn everything_but_the_proof_is_checked_before_a_node_fetches_for_it() {
    // What a node checks before fetching the resources a peer's transaction executes: a
    // transaction that spends nothing it may spend is refused without any fetch, one that
    // could be valid waits only for its proof.
    let ledger = memory_ledger();
    let ctx = next_ctx(&ledger);
    let mut t = tx(
        vec![Input::spend(genesis_out(6))],
        vec![Output::asset(lock("bob"), TokenId::Native, 8_000)],
    );
    t.execution = Some(execution(contract("app")));
    let mut forged_proof = sign(t.clone(), &[]);
    forged_proof.witness.proof = b"forged".to_vec();
    ledger
        .check_transaction_unproven(&forged_proof, &ctx, &[])
        .unwrap();
    assert!(matches!(
        ledger
            .check_transaction(&forged_proof, &ctx)
            .unwrap_err()
            .tx_error(),
        Some(TxError::Proof(_))
    ));

    let mut nowhere = t;
    nowhere.inputs[0].prev.index = 999;
    let e = ledger
        .check_transaction_unproven(&sign(nowhere, &[]), &ctx, &[])
        .unwrap_err();
    assert!(
        matches!(e.tx_error(), Some(TxError::MissingInput { .. })),
        "{e}"
    );
}
