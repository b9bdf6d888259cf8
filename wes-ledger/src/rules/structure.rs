//! Rules on a transaction alone.

use std::collections::{HashMap, HashSet};

use wes_core::{InputMode, OutputBody, SignedTransaction, Transaction, TxId, codec};

use crate::config::LedgerConfig;
use crate::error::TxError;

/// What the structural checks compute and later phases reuse.
#[derive(Clone, Debug)]
pub(crate) struct Checked {
    pub txid: TxId,
    pub size: usize,
}

/// Format, limits and internal consistency of a non-coinbase transaction.
pub(crate) fn check(
    tx: &SignedTransaction,
    txid: TxId,
    config: &LedgerConfig,
) -> Result<Checked, TxError> {
    let t = &tx.tx;
    if t.version != Transaction::VERSION {
        return Err(TxError::WrongVersion {
            expected: Transaction::VERSION,
            got: t.version,
        });
    }
    if t.chain_id != config.chain_id {
        return Err(TxError::WrongChain {
            expected: config.chain_id,
            got: t.chain_id,
        });
    }
    let limits = &config.limits;
    if t.inputs.len() > limits.max_inputs {
        return Err(TxError::TooManyInputs {
            got: t.inputs.len(),
            max: limits.max_inputs,
        });
    }
    if t.outputs.len() > limits.max_outputs {
        return Err(TxError::TooManyOutputs {
            got: t.outputs.len(),
            max: limits.max_outputs,
        });
    }
    let size = codec::encoded_len(tx);
    if size > limits.max_tx_bytes {
        return Err(TxError::TooLarge {
            size,
            max: limits.max_tx_bytes,
        });
    }
    if !t.inputs.iter().any(|i| i.mode == InputMode::Spend) {
        return Err(TxError::NoSpentInput);
    }
    let mut seen: HashMap<_, (usize, InputMode)> = HashMap::with_capacity(t.inputs.len());
    for (index, input) in t.inputs.iter().enumerate() {
        if let Some(&(first, mode)) = seen.get(&input.prev) {
            return Err(if mode == input.mode {
                TxError::DuplicateInput {
                    outpoint: input.prev,
                    first,
                    second: index,
                }
            } else {
                TxError::SpendAndReference {
                    outpoint: input.prev,
                }
            });
        }
        seen.insert(input.prev, (index, input.mode));
    }
    check_outputs(t, config)?;
    if let Some(exec) = &t.execution {
        if exec.cu_used > exec.cu_limit {
            return Err(TxError::CuOverLimit {
                used: exec.cu_used,
                limit: exec.cu_limit,
            });
        }
        if exec.cu_used > config.limits.max_tx_cu {
            return Err(TxError::ComputeOverChainLimit {
                used: exec.cu_used,
                max: config.limits.max_tx_cu,
            });
        }
        check_callees(exec)?;
    } else if !tx.witness.proof.is_empty() {
        return Err(TxError::UnexpectedProof);
    }
    Ok(Checked { txid, size })
}

/// Callees are distinct, exclude the called contract, and are at most `MAX_CALLEES`.
fn check_callees(exec: &wes_core::Execution) -> Result<(), TxError> {
    let bad = |reason: String| Err(TxError::BadCallees { reason });
    if exec.callees.len() > wes_core::Execution::MAX_CALLEES {
        return bad(format!(
            "{} callees, at most {}",
            exec.callees.len(),
            wes_core::Execution::MAX_CALLEES
        ));
    }
    let mut seen = HashSet::new();
    for callee in &exec.callees {
        if *callee == exec.contract {
            return bad(format!(
                "the called contract {callee} is listed as a callee"
            ));
        }
        if !seen.insert(callee) {
            return bad(format!("callee {callee} listed twice"));
        }
    }
    Ok(())
}

/// Outputs have satisfiable locks, non-zero assets and fields within limits.
pub(crate) fn check_outputs(t: &Transaction, config: &LedgerConfig) -> Result<(), TxError> {
    let limits = &config.limits;
    let too_long = |index, field, got: usize, max: usize| {
        if got > max {
            Err(TxError::OutputFieldTooLong {
                index,
                field,
                got,
                max,
            })
        } else {
            Ok(())
        }
    };
    for (index, output) in t.outputs.iter().enumerate() {
        output
            .lock
            .validate()
            .map_err(|source| TxError::InvalidLock { index, source })?;
        match &output.body {
            OutputBody::Asset(a) if a.amount == 0 => {
                return Err(TxError::ZeroAmount {
                    index,
                    token: a.token,
                });
            }
            OutputBody::Asset(_) => {}
            OutputBody::Resource(r) => {
                too_long(
                    index,
                    "resource name",
                    r.meta.name.len(),
                    limits.max_meta_text,
                )?;
                too_long(
                    index,
                    "resource mime",
                    r.meta.mime.len(),
                    limits.max_meta_text,
                )?;
            }
            OutputBody::State(s) => {
                too_long(index, "state key", s.key.len(), limits.max_state_key)?;
                too_long(index, "state data", s.data.len(), limits.max_state_data)?;
            }
        }
    }
    Ok(())
}
