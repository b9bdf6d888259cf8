//! Witness signatures: each must verify over the transaction's sighash, and no key may sign
//! twice. Checked with batch verification, which accepts exactly what single verification
//! accepts (see `wes_core::keys`), in parallel over chunks of a block.

use std::collections::HashSet;

use rayon::prelude::*;
use wes_core::{BatchVerifier, Hash, PublicKey, SignedTransaction, TxId, sighash, verify};

use crate::error::TxError;

/// Signatures per batch: large enough for batching to pay, small enough to spread a block
/// over all cores.
const CHUNK_TXS: usize = 128;

/// Checks that no key signs twice, and returns the signers.
pub(crate) fn signers(tx: &SignedTransaction) -> Result<Vec<PublicKey>, TxError> {
    let mut seen = HashSet::with_capacity(tx.witness.signatures.len());
    let mut keys = Vec::with_capacity(tx.witness.signatures.len());
    for s in &tx.witness.signatures {
        if !seen.insert(s.key) {
            return Err(TxError::DuplicateSigner { key: s.key });
        }
        keys.push(s.key);
    }
    Ok(keys)
}

/// Verifies every signature of one transaction, naming the first bad one.
pub(crate) fn verify_one(tx: &SignedTransaction, txid: &TxId) -> Result<(), TxError> {
    let msg = sighash(txid);
    for (index, s) in tx.witness.signatures.iter().enumerate() {
        verify(&s.key, msg.as_bytes(), &s.signature)
            .map_err(|source| TxError::BadSignature { index, source })?;
    }
    Ok(())
}

/// Verifies the signatures of many transactions: batches of [`CHUNK_TXS`] transactions on
/// all cores; a failing batch is re-checked transaction by transaction to name the culprit.
/// Returns the first failure as `(position, error)`.
pub(crate) fn verify_all(txs: &[(&SignedTransaction, TxId)]) -> Result<(), Box<(usize, TxError)>> {
    txs.par_chunks(CHUNK_TXS)
        .enumerate()
        .map(|(chunk_index, chunk)| {
            let sighashes: Vec<Hash> = chunk.iter().map(|(_, id)| sighash(id)).collect();
            let mut batch = BatchVerifier::with_capacity(chunk.len());
            for ((tx, _), msg) in chunk.iter().zip(&sighashes) {
                for s in &tx.witness.signatures {
                    batch.push(s.key, msg.as_bytes(), s.signature);
                }
            }
            if batch.verify().is_ok() {
                return Ok(());
            }
            for (offset, (tx, id)) in chunk.iter().enumerate() {
                verify_one(tx, id).map_err(|e| Box::new((chunk_index * CHUNK_TXS + offset, e)))?;
            }
            Ok(())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .find(Result::is_err)
        .unwrap_or(Ok(()))
}
