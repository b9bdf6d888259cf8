//! Witness signatures: each must verify over the transaction's sighash, and no key may sign
//! twice. Checked with batch verification, which accepts exactly what single verification
//! accepts (see `wes_core::keys`), in parallel over chunks of a block.

use std::collections::HashSet;

use rayon::prelude::*;
use wes_core::{
    BatchVerifier, Guard, Hash, Lock, PublicKey, SignedTransaction, TxId, sighash, verify,
};

use crate::error::TxError;

/// The fewest transactions worth a batch of their own.
const MIN_CHUNK_TXS: usize = 64;

/// Transactions per batch: one batch per core (larger batches verify faster per signature),
/// but no batch smaller than [`MIN_CHUNK_TXS`].
fn chunk_size(n: usize) -> usize {
    n.div_ceil(rayon::current_num_threads()).max(MIN_CHUNK_TXS)
}

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

/// The keys whose signatures a spend of an output locked by `lock` can use: no other
/// signature is needed ([`TxError::UnneededSignature`]).
pub(crate) fn lock_keys(lock: &Lock) -> Vec<PublicKey> {
    let guard = match lock {
        Lock::Guarded(guard) | Lock::TimeLocked { guard, .. } => guard,
        Lock::SponsorPool(pool) => &pool.owner,
    };
    match guard {
        Guard::Key(key) => vec![*key],
        Guard::MultiSig(m) => m.keys.clone(),
        Guard::Contract(_) => Vec::new(),
    }
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

/// Verifies the signatures of many transactions: one batch per core; a failing batch is
/// re-checked transaction by transaction to name the culprit.
/// Returns the first failure as `(position, error)`.
pub(crate) fn verify_all(txs: &[(&SignedTransaction, TxId)]) -> Result<(), Box<(usize, TxError)>> {
    let chunk_txs = chunk_size(txs.len());
    txs.par_chunks(chunk_txs)
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
                verify_one(tx, id).map_err(|e| Box::new((chunk_index * chunk_txs + offset, e)))?;
            }
            Ok(())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .find(Result::is_err)
        .unwrap_or(Ok(()))
}
