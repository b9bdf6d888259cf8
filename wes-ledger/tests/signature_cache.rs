//! Each transaction's signatures are verified once per node: at admission. A block holding
//! that exact transaction (same id, same witness) is built and imported without verifying
//! them again; any other witness is verified in full.

mod common;

use common::*;
use wes_core::*;
use wes_ledger::*;

fn forged(mut t: SignedTransaction) -> SignedTransaction {
    t.witness.signatures[0].signature = key("alice").sign(b"not the sighash");
    t
}

/// A block of `txs` with the roots sealed, built without the ledger (which would refuse it).
fn block_of(ledger: &EutxoLedger<MemoryStore>, txs: Vec<SignedTransaction>) -> Block {
    let valid = build(ledger, vec![alice_pays(lock("bob"), 100, 2_000)]);
    let mut block = valid.clone();
    block.transactions.truncate(1);
    block.transactions.extend(txs);
    block.seal_roots();
    block
}

#[test]
fn admission_keeps_the_verdict_and_import_trusts_only_that_exact_witness() {
    let ledger = memory_ledger();
    let ctx = next_ctx(&ledger);
    let t = alice_pays(lock("bob"), 100, 2_000);
    let cache = ledger.signature_cache();
    assert!(cache.is_empty());
    ledger.check_transaction(&t, &ctx).unwrap();
    assert!(cache.contains(&t.witness_commitment()));

    // A bad signature is refused at admission and leaves no verdict.
    let bad = forged(t.clone());
    assert!(matches!(
        ledger.check_transaction(&bad, &ctx).unwrap_err().tx_error(),
        Some(TxError::BadSignature { .. })
    ));
    assert!(!cache.contains(&bad.witness_commitment()));
    assert_eq!(cache.len(), 1);

    // The same transaction with another witness is verified in full at import.
    let err = ledger
        .apply_block(&block_of(&ledger, vec![bad]))
        .unwrap_err();
    assert!(
        matches!(err.tx_error(), Some(TxError::BadSignature { .. })),
        "{err}"
    );
    // The admitted one imports.
    mine(&ledger, vec![t]);
}

#[test]
fn a_block_of_admitted_transactions_is_built_and_imported_without_verifying_them_again() {
    let ledger = memory_ledger();
    let ctx = next_ctx(&ledger);
    let txs: Vec<SignedTransaction> = vec![
        alice_pays(lock("bob"), 100, 2_000),
        sign(
            tx(
                vec![Input::spend(genesis_out(1))],
                vec![Output::asset(lock("carol"), TokenId::Native, 990_000)],
            ),
            &[&key("bob")],
        ),
    ];
    // Not admitted: building and importing verify every signature.
    let cold = build(&ledger, txs.clone());
    ledger.apply_block(&cold).unwrap();
    assert_eq!(ledger.signature_cache().hits(), 0);
    ledger.revert_tip().unwrap();

    // Admitted first: building and importing each skip both transactions.
    for t in &txs {
        ledger.check_transaction(t, &ctx).unwrap();
    }
    let block = build(&ledger, txs.clone());
    assert_eq!(ledger.signature_cache().hits(), 2);
    ledger.apply_block(&block).unwrap();
    assert_eq!(ledger.signature_cache().hits(), 4);
}
