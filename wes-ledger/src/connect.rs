//! Block validation: header fields against the tip, body roots, limits, the coinbase, every
//! transaction in order, and the state root. Produces the block's effects without writing.

use std::collections::{BTreeMap, HashSet};

use rayon::prelude::*;
use wes_core::{
    Amount, Block, BlockContext, OutPoint, Output, OutputBody, SignedTransaction, TokenId,
    Transaction, TxId, codec,
};

use crate::error::{BlockError, CoinbaseError, TxError};
use crate::rules::state::{self, Env};
use crate::rules::{signatures, structure};
use crate::state_root::{Element, StateAccumulator};
use crate::store::tables::ChainMeta;
use crate::view::{Overlay, SharedUtxo};

/// The net effect of a valid block.
pub(crate) struct Connected {
    /// Outputs that existed before the block and are spent by it.
    pub spent: Vec<(OutPoint, Output)>,
    /// Outputs created by the block and still unspent after it.
    pub created: Vec<(OutPoint, Output)>,
    /// The accumulator after the block.
    pub accumulator: StateAccumulator,
}

/// Validates the transactions of a block body (coinbase first) on top of `base` and returns
/// the effects.
pub(crate) fn connect(
    env: &Env<'_>,
    transactions: &[SignedTransaction],
    txids: &[TxId],
    base: &SharedUtxo,
    parent: &StateAccumulator,
) -> Result<Connected, BlockError> {
    let (coinbase, body) = transactions.split_first().ok_or(CoinbaseError::Missing)?;
    check_frame(env, coinbase, transactions.len())?;

    let body_effects = validate_body(env, body, &txids[1..], base)?;
    settle(coinbase, txids[0], body_effects, parent)
}

/// Checks the block size limit and the coinbase's shape (what [`connect`] checks before the
/// body), for a producer that validated the body itself.
pub(crate) fn check_frame(
    env: &Env<'_>,
    coinbase: &SignedTransaction,
    count: usize,
) -> Result<(), BlockError> {
    let max = env.config.limits.max_block_txs;
    if count > max {
        return Err(BlockError::TooManyTransactions { got: count, max });
    }
    check_coinbase_shape(coinbase, env)?;
    Ok(())
}

/// The rest of [`connect`] once the body is validated: the coinbase must claim exactly the
/// body's fees; returns the block's net effects and the state after it.
pub(crate) fn settle(
    coinbase: &SignedTransaction,
    coinbase_id: TxId,
    body_effects: BodyEffects,
    parent: &StateAccumulator,
) -> Result<Connected, BlockError> {
    let (fees, mut spent_all, mut created_all) =
        (body_effects.fees, body_effects.spent, body_effects.created);

    // The coinbase claims exactly the fees.
    check_coinbase_amounts(&coinbase.tx, &fees)?;
    created_all.extend(coinbase.tx.outputs.iter().enumerate().map(|(i, o)| {
        (
            OutPoint {
                tx: coinbase_id,
                index: i as u32,
            },
            o.clone(),
        )
    }));

    // Net effects: outputs created and spent inside the block touch neither the store nor
    // the state root.
    let created_ops: HashSet<OutPoint> = created_all.iter().map(|(op, _)| *op).collect();
    let spent_ops: HashSet<OutPoint> = spent_all.iter().map(|(op, _)| *op).collect();
    spent_all.retain(|(op, _)| !created_ops.contains(op));
    created_all.retain(|(op, _)| !spent_ops.contains(op));

    let mut accumulator = parent.clone();
    accumulator.absorb(&sum(&created_all));
    accumulator.subtract(&sum(&spent_all));

    Ok(Connected {
        spent: spent_all,
        created: created_all,
        accumulator,
    })
}

/// What the non-coinbase transactions of a block do, in order.
pub(crate) struct BodyEffects {
    pub fees: BTreeMap<TokenId, Amount>,
    pub spent: Vec<(OutPoint, Output)>,
    pub created: Vec<(OutPoint, Output)>,
}

/// Validates the transactions after the coinbase (`body[i]` is block transaction `i + 1`).
pub(crate) fn validate_body(
    env: &Env<'_>,
    body: &[SignedTransaction],
    txids: &[TxId],
    base: &SharedUtxo,
) -> Result<BodyEffects, BlockError> {
    let tx_error =
        |index: usize, tx: &SignedTransaction, source: TxError| BlockError::Transaction {
            index,
            txid: tx.id(),
            source: Box::new(source),
        };

    // Phase 1 and 2, state-independent, on all cores.
    let checked: Vec<structure::Checked> = body
        .par_iter()
        .enumerate()
        .map(|(i, tx)| {
            structure::check(tx, txids[i], env.config).map_err(|e| tx_error(i + 1, tx, e))
        })
        .collect::<Result<_, _>>()?;
    let signers: Vec<Vec<wes_core::PublicKey>> = body
        .iter()
        .enumerate()
        .map(|(i, tx)| signatures::signers(tx).map_err(|e| tx_error(i + 1, tx, e)))
        .collect::<Result<_, _>>()?;
    // Signatures verified at admission (the same id and witness) are not verified again.
    let (positions, pairs): (Vec<usize>, Vec<(&SignedTransaction, wes_core::TxId)>) = body
        .par_iter()
        .zip(&checked)
        .enumerate()
        .filter(|(_, (tx, c))| !env.verified.verified(&tx.witness_commitment_for(&c.txid)))
        .map(|(i, (tx, c))| (i, (tx, c.txid)))
        .unzip();
    signatures::verify_all(&pairs).map_err(|failed| {
        let (at, e) = *failed;
        let i = positions[at];
        tx_error(i + 1, &body[i], e)
    })?;

    // Phase 3. The result must be that of checking each transaction in order against the
    // effects of the earlier ones. Most transactions of a block do not read anything an
    // earlier one changed: those are checked against the tip's state on all cores. The others
    // (reading an output created or spent earlier in the block, or executing contracts, whose
    // proofs may read any state) are checked in order against the block's running overlay.
    let dependent = in_block_dependencies(body, txids);
    let independent: Vec<Option<Result<state::Effects, TxError>>> = body
        .par_iter()
        .enumerate()
        .map(|(i, tx)| {
            // The block's signatures were verified above, together.
            (!dependent[i]).then(|| {
                state::check(
                    env,
                    tx,
                    &checked[i],
                    &signers[i],
                    base,
                    || Ok(()),
                    state::Proof::Verify,
                )
            })
        })
        .collect();
    let overlay = Overlay::new(base.clone());
    let overlay_view: SharedUtxo = overlay.clone();
    let mut fees: BTreeMap<TokenId, Amount> = BTreeMap::new();
    let mut cu_used: u64 = 0;
    let max_cu = env.config.limits.max_block_cu;
    let mut spent_all = Vec::new();
    let mut created_all = Vec::new();
    for (i, (tx, early)) in body.iter().zip(independent).enumerate() {
        let effects = match early {
            Some(result) => result,
            None => state::check(
                env,
                tx,
                &checked[i],
                &signers[i],
                &overlay_view,
                || Ok(()),
                state::Proof::Verify,
            ),
        }
        .map_err(|e| tx_error(i + 1, tx, e))?;
        cu_used = cu_used.saturating_add(effects.summary.cu_used);
        if cu_used > max_cu {
            return Err(BlockError::TooMuchCompute {
                used: cu_used,
                max: max_cu,
            });
        }
        for (token, fee) in &effects.summary.fees {
            let entry = fees.entry(*token).or_insert(0);
            *entry = entry
                .checked_add(*fee)
                .ok_or_else(|| tx_error(i + 1, tx, TxError::AmountOverflow { token: *token }))?;
        }
        for (op, output) in &effects.spent {
            overlay.spend(op, output);
        }
        for (op, output) in &effects.created {
            overlay.create(*op, output.clone());
        }
        spent_all.extend(effects.spent);
        created_all.extend(effects.created);
    }

    Ok(BodyEffects {
        fees,
        spent: spent_all,
        created: created_all,
    })
}

/// What [`select_body`] kept of a producer's candidates, and what it left.
pub(crate) struct Selection {
    /// The effects of the kept candidates, in order.
    pub effects: BodyEffects,
    /// The indices of the kept candidates, in order.
    pub kept: Vec<usize>,
    /// Candidates that are invalid on the tip, with why.
    pub invalid: Vec<(usize, TxError)>,
}

/// Checks a producer's `candidates` (in order) on top of `base` as [`validate_body`] would,
/// leaving out what fails instead of refusing the whole: each candidate is checked once,
/// whatever the others do. A candidate that spends or reads an output of one left out is
/// left out too, and is not counted invalid (its parent was); one that would take the block
/// past its compute limit is left out, valid, for a later block.
pub(crate) fn select_body(
    env: &Env<'_>,
    candidates: &[SignedTransaction],
    txids: &[TxId],
    base: &SharedUtxo,
) -> Selection {
    let n = candidates.len();
    let mut failed: Vec<Option<TxError>> = vec![None; n];
    let checked: Vec<Result<structure::Checked, TxError>> = candidates
        .par_iter()
        .enumerate()
        .map(|(i, tx)| structure::check(tx, txids[i], env.config))
        .collect();
    let signers: Vec<Result<Vec<wes_core::PublicKey>, TxError>> =
        candidates.iter().map(signatures::signers).collect();
    for i in 0..n {
        if let Err(e) = &checked[i] {
            failed[i] = Some(e.clone());
        } else if let Err(e) = &signers[i] {
            failed[i] = Some(e.clone());
        }
    }
    // Signatures not verified at admission: in one batch, or one by one if the batch fails.
    let unverified: Vec<(usize, (&SignedTransaction, TxId))> = (0..n)
        .filter(|&i| failed[i].is_none())
        .filter(|&i| {
            !env.verified
                .verified(&candidates[i].witness_commitment_for(&txids[i]))
        })
        .map(|i| (i, (&candidates[i], txids[i])))
        .collect();
    let pairs: Vec<(&SignedTransaction, TxId)> = unverified.iter().map(|(_, p)| *p).collect();
    if signatures::verify_all(&pairs).is_err() {
        let verdicts: Vec<Result<(), TxError>> = pairs
            .par_iter()
            .map(|(tx, id)| signatures::verify_one(tx, id))
            .collect();
        for ((i, _), verdict) in unverified.iter().zip(verdicts) {
            if let Err(e) = verdict {
                failed[*i] = Some(e);
            }
        }
    }

    let dependent = in_block_dependencies(candidates, txids);
    let independent: Vec<Option<Result<state::Effects, TxError>>> = candidates
        .par_iter()
        .enumerate()
        .map(|(i, tx)| match (&checked[i], &signers[i]) {
            (Ok(checked), Ok(signers)) if failed[i].is_none() && !dependent[i] => {
                Some(state::check(
                    env,
                    tx,
                    checked,
                    signers,
                    base,
                    || Ok(()),
                    state::Proof::Verify,
                ))
            }
            _ => None,
        })
        .collect();
    let overlay = Overlay::new(base.clone());
    let overlay_view: SharedUtxo = overlay.clone();
    let mut fees: BTreeMap<TokenId, Amount> = BTreeMap::new();
    let mut cu_used: u64 = 0;
    let max_cu = env.config.limits.max_block_cu;
    let (mut spent_all, mut created_all) = (Vec::new(), Vec::new());
    let (mut kept, mut invalid) = (Vec::new(), Vec::new());
    let mut left_out: HashSet<TxId> = HashSet::new();
    for (i, (tx, early)) in candidates.iter().zip(independent).enumerate() {
        let after_one_left_out = tx.tx.inputs.iter().any(|x| left_out.contains(&x.prev.tx));
        let result = match (failed[i].take(), early, &checked[i], &signers[i]) {
            (Some(e), _, _, _) => Err(e),
            (None, Some(result), _, _) => result,
            (None, None, Ok(checked), Ok(signers)) => state::check(
                env,
                tx,
                checked,
                signers,
                &overlay_view,
                || Ok(()),
                state::Proof::Verify,
            ),
            // Marked failed above: not reached.
            (None, None, _, _) => continue,
        };
        let effects = match result {
            Ok(effects) if cu_used.saturating_add(effects.summary.cu_used) <= max_cu => effects,
            Ok(_) => {
                left_out.insert(txids[i]);
                continue;
            }
            Err(e) => {
                left_out.insert(txids[i]);
                if !after_one_left_out {
                    invalid.push((i, e));
                }
                continue;
            }
        };
        let mut sums = fees.clone();
        let overflow = effects.summary.fees.iter().find_map(|(token, fee)| {
            let entry = sums.entry(*token).or_insert(0);
            match entry.checked_add(*fee) {
                Some(total) => {
                    *entry = total;
                    None
                }
                None => Some(*token),
            }
        });
        if let Some(token) = overflow {
            left_out.insert(txids[i]);
            invalid.push((i, TxError::AmountOverflow { token }));
            continue;
        }
        fees = sums;
        cu_used = cu_used.saturating_add(effects.summary.cu_used);
        for (op, output) in &effects.spent {
            overlay.spend(op, output);
        }
        for (op, output) in &effects.created {
            overlay.create(*op, output.clone());
        }
        spent_all.extend(effects.spent);
        created_all.extend(effects.created);
        kept.push(i);
    }
    Selection {
        effects: BodyEffects {
            fees,
            spent: spent_all,
            created: created_all,
        },
        kept,
        invalid,
    }
}

/// Which transactions of a block body must be checked against the effects of the earlier
/// ones: those with an input created or used (spent or read) by an earlier transaction of
/// the block, and those that execute a contract or write contract state.
fn in_block_dependencies(body: &[SignedTransaction], txids: &[TxId]) -> Vec<bool> {
    let created: std::collections::HashMap<TxId, usize> =
        txids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut used: HashSet<OutPoint> = HashSet::new();
    body.iter()
        .enumerate()
        .map(|(i, tx)| {
            let t = &tx.tx;
            let mut dependent =
                t.execution.is_some() || t.outputs.iter().any(|o| o.as_state().is_some());
            for input in &t.inputs {
                if created.get(&input.prev.tx).is_some_and(|&j| j < i) || used.contains(&input.prev)
                {
                    dependent = true;
                }
            }
            used.extend(t.inputs.iter().map(|input| input.prev));
            dependent
        })
        .collect()
}

/// The ids of `transactions`, computed on all cores.
pub(crate) fn tx_ids(transactions: &[SignedTransaction]) -> Vec<TxId> {
    transactions.par_iter().map(SignedTransaction::id).collect()
}

/// The lane-wise sum of the elements of `utxos`, computed on all cores.
pub(crate) fn sum(utxos: &[(OutPoint, Output)]) -> StateAccumulator {
    utxos
        .par_iter()
        .fold(StateAccumulator::default, |mut acc, (op, o)| {
            acc.insert(&Element::new(op, o));
            acc
        })
        .reduce(StateAccumulator::default, |mut a, b| {
            a.absorb(&b);
            a
        })
}

/// Header fields that tie the block to the tip, limits and roots.
pub(crate) fn check_header(
    env: &Env<'_>,
    block: &Block,
    txids: &[TxId],
    parent: &ChainMeta,
) -> Result<(), BlockError> {
    let h = &block.header;
    if h.chain_id != env.config.chain_id {
        return Err(BlockError::WrongChain {
            expected: env.config.chain_id,
            got: h.chain_id,
        });
    }
    if h.parent != parent.tip {
        return Err(BlockError::NotOnTip {
            expected: parent.tip,
            got: h.parent,
        });
    }
    if h.height != parent.height + 1 {
        return Err(BlockError::WrongHeight {
            expected: parent.height + 1,
            got: h.height,
        });
    }
    let size = codec::encoded_len(block);
    if size > env.config.limits.max_block_bytes {
        return Err(BlockError::TooLarge {
            size,
            max: env.config.limits.max_block_bytes,
        });
    }
    block.check_body_with(txids)?;
    Ok(())
}

fn check_coinbase_shape(coinbase: &SignedTransaction, env: &Env<'_>) -> Result<(), CoinbaseError> {
    let BlockContext { height, .. } = env.ctx;
    let tx = &coinbase.tx;
    if !coinbase.witness.signatures.is_empty() || !coinbase.witness.proof.is_empty() {
        return Err(CoinbaseError::Malformed("has a witness"));
    }
    if tx.version != Transaction::VERSION || tx.chain_id != env.config.chain_id {
        return Err(CoinbaseError::Malformed("wrong version or chain id"));
    }
    if !tx.inputs.is_empty() {
        return Err(CoinbaseError::Malformed("has inputs"));
    }
    if tx.execution.is_some() {
        return Err(CoinbaseError::Malformed("has an execution"));
    }
    if tx.validity.not_before != height || tx.validity.not_after != height {
        return Err(CoinbaseError::Malformed(
            "validity window is not exactly the block height",
        ));
    }
    for (index, output) in tx.outputs.iter().enumerate() {
        match &output.body {
            OutputBody::Asset(a) if a.amount > 0 && output.lock.validate().is_ok() => {}
            _ => return Err(CoinbaseError::NotAnAsset { index }),
        }
    }
    Ok(())
}

fn check_coinbase_amounts(
    tx: &Transaction,
    fees: &BTreeMap<TokenId, Amount>,
) -> Result<(), CoinbaseError> {
    let mut claimed: BTreeMap<TokenId, Amount> = BTreeMap::new();
    for output in &tx.outputs {
        if let Some(a) = output.as_asset() {
            let entry = claimed.entry(a.token).or_insert(0);
            *entry = entry.saturating_add(a.amount);
        }
    }
    let tokens: std::collections::BTreeSet<&TokenId> = claimed.keys().chain(fees.keys()).collect();
    for token in tokens {
        let (c, f) = (
            claimed.get(token).copied().unwrap_or(0),
            fees.get(token).copied().unwrap_or(0),
        );
        if c != f {
            return Err(CoinbaseError::WrongAmount {
                token: *token,
                fees: f,
                claimed: c,
            });
        }
    }
    Ok(())
}
