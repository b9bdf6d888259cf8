//! The caller's part of an execution transaction, checked the same way by every proof
//! system: fee inputs (all inputs before the execution's) and change outputs (all outputs
//! after the execution's).

use std::collections::BTreeMap;

use wes_core::{
    Amount, Guard, InputMode, OutputBody, ProofError, ProofSystemId, SharedView, TokenId,
    Transaction,
};

/// Adds `amount` of `token` to `sums`.
#[cfg_attr(not(any(feature = "wasm", feature = "onnx")), allow(dead_code))]
pub(crate) fn add(sums: &mut BTreeMap<TokenId, Amount>, token: TokenId, amount: Amount) {
    let e = sums.entry(token).or_insert(0);
    *e = e.saturating_add(amount);
}

/// Checks that `tx`'s fee inputs (all but its last `exec_inputs`) are not contract-owned,
/// that its change outputs (all but its first `exec_outputs`) are assets, and that the change
/// of every token holds no more than the fee inputs bring. Returns what the fee inputs bring.
#[cfg_attr(not(any(feature = "wasm", feature = "halo2")), allow(dead_code))]
pub(crate) fn check_plain_part(
    tx: &Transaction,
    view: &SharedView,
    exec_inputs: usize,
    exec_outputs: usize,
    system: &ProofSystemId,
) -> Result<BTreeMap<TokenId, Amount>, ProofError> {
    let rejected = |reason: String| ProofError::Rejected {
        system: system.clone(),
        reason,
    };
    if tx.inputs.len() < exec_inputs + 1 || tx.outputs.len() < exec_outputs {
        return Err(rejected(
            "too few inputs or outputs for the execution and a fee input".into(),
        ));
    }
    let fee_part = tx.inputs.len() - exec_inputs;
    let mut fee_in: BTreeMap<TokenId, Amount> = BTreeMap::new();
    for (index, input) in tx.inputs.iter().enumerate() {
        let output = view
            .unspent(&input.prev)
            .map_err(|e| ProofError::Backend {
                system: system.clone(),
                reason: e.to_string(),
            })?
            .ok_or_else(|| rejected(format!("input {index} is not unspent")))?;
        if index >= fee_part {
            continue;
        }
        if output.as_state().is_some() || matches!(output.lock.guard(), Guard::Contract(_)) {
            return Err(rejected(format!(
                "fee input {index} is contract-owned: only the execution may use it"
            )));
        }
        if let (Some(a), InputMode::Spend) = (output.as_asset(), input.mode) {
            add(&mut fee_in, a.token, a.amount);
        }
    }
    let mut change: BTreeMap<TokenId, Amount> = BTreeMap::new();
    for (index, output) in tx.outputs[exec_outputs..].iter().enumerate() {
        let OutputBody::Asset(a) = &output.body else {
            return Err(rejected(format!(
                "change output {} is not an asset",
                exec_outputs + index
            )));
        };
        add(&mut change, a.token, a.amount);
    }
    for (token, out) in &change {
        if *out > fee_in.get(token).copied().unwrap_or(0) {
            return Err(rejected(format!(
                "the change holds more {token} than the fee inputs bring"
            )));
        }
    }
    Ok(fee_in)
}
