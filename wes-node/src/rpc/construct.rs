//! Execution is construction: the node runs a contract call or a model inference once and
//! returns the transaction that carries its result and proof, for the caller to sign.

use jsonrpsee::types::ErrorObjectOwned;
use serde_json::{Value, json};
use wes_core::ExecutionOutcome;
use wes_core::{ContentId, Ledger, Lock, OutPoint, ResourceKind, TokenId, codec};
use wes_ispc::abi::ContractAbi;
use wes_ispc::halo2::{model_resource, prepare_model};
use wes_ispc::onnx::{INFER_ENTRY, InferenceResult, encode_input};
use wes_ispc::{
    CallRequest, ConstructError, WasmError, construct_call, construct_inference, contract_id,
};

use super::json::{outpoint, parse, parse_token, public_key, token_name, unhex};
use super::types::{
    CallParams, ConstructedTx, DeployedModel, ErrorData, InferParams, ModelRun, PaymentParams,
};
use super::{RpcResult, invalid, node_err, not_found, rejected};
use crate::ispc::{Contracts, Models};
use crate::ledger::ChainLedger;
use crate::node::Node;
use crate::uploads::Uploader;

fn call_request<L: ChainLedger>(
    node: &Node<L>,
    resource: ContentId,
    entry: String,
    args: Vec<u8>,
    pay: &PaymentParams,
) -> RpcResult<CallRequest> {
    let max = node
        .config()
        .max_call_cu
        .min(node.ledger().limits().max_tx_cu);
    if pay.cu_limit > max {
        return Err(invalid(
            "cu_limit",
            "out_of_range",
            format!("{} is above {max}", pay.cu_limit),
        ));
    }
    let ctx = node.next_context();
    let fee_token = match pay.fee_token.as_deref() {
        Some(t) => parse_token(t).map_err(|e| invalid("fee_token", "malformed", e))?,
        None => TokenId::Native,
    };
    if node.ledger().fee_policy().get(&fee_token).is_none() {
        return Err(invalid(
            "fee_token",
            "fee_token_not_accepted",
            format!(
                "the chain does not accept fees in {}",
                token_name(&fee_token)
            ),
        ));
    }
    let mut fee_inputs: Vec<OutPoint> = pay
        .fee_inputs
        .iter()
        .enumerate()
        .map(|(i, s)| outpoint(&format!("fee_inputs[{i}]"), s))
        .collect::<RpcResult<_>>()?;
    // A sponsor pool pays first, and takes the change back.
    let change_lock = match pay.sponsor.as_deref() {
        Some(pool) => {
            let at = outpoint("sponsor", pool)?;
            let out = node
                .ledger()
                .unspent(&at)
                .map_err(node_err)?
                .ok_or_else(|| not_found(format!("sponsor pool {at} is not unspent")))?;
            if !matches!(out.lock, Lock::SponsorPool(_)) {
                return Err(invalid(
                    "sponsor",
                    "not_a_sponsor_pool",
                    format!("{at} is not a sponsor pool"),
                ));
            }
            fee_inputs.insert(0, at);
            out.lock
        }
        None => {
            let change = pay
                .change
                .as_deref()
                .ok_or_else(|| invalid("change", "missing", "a change key, or a sponsor"))?;
            Lock::key(public_key(change).map_err(|e| invalid("change", "malformed", e))?)
        }
    };
    Ok(CallRequest {
        chain_id: node.chain_id(),
        resource,
        entry,
        args,
        cu_limit: pay.cu_limit,
        height: ctx.height,
        valid_until: ctx.height + node.config().call_validity_blocks,
        time_ms: ctx.time_ms,
        fee_inputs,
        change_lock,
        fee: parse("fee", &pay.fee)?,
        fee_token,
    })
}

fn constructed(call: wes_ispc::ConstructedCall, result: Value) -> ConstructedTx {
    ConstructedTx {
        txid: call.tx.id().to_string(),
        tx: hex::encode(codec::encode(&call.tx)),
        proof: hex::encode(&call.proof),
        cu_used: call.outcome.cu_used,
        return_data: hex::encode(&call.outcome.return_data),
        result,
    }
}

/// The content of the live Resource output at `at`.
fn resource_at<L: ChainLedger>(node: &Node<L>, at: &OutPoint) -> RpcResult<ContentId> {
    let out = node
        .ledger()
        .unspent(at)
        .map_err(node_err)?
        .ok_or_else(|| not_found(format!("output {at} is not unspent")))?;
    out.as_resource().map(|r| r.content).ok_or_else(|| {
        invalid(
            "model",
            "not_a_resource",
            format!("{at} is not a Resource output"),
        )
    })
}

fn contracts<L: ChainLedger>(node: &Node<L>) -> RpcResult<&Contracts> {
    node.contracts()
        .ok_or_else(|| not_found("this chain runs no WASM contracts"))
}

fn models<L: ChainLedger>(node: &Node<L>) -> RpcResult<&Models> {
    node.models()
        .ok_or_else(|| not_found("this chain runs no ONNX models"))
}

pub(super) fn call<L: ChainLedger>(node: &Node<L>, c: CallParams) -> RpcResult<ConstructedTx> {
    let contracts = contracts(node)?;
    let resource: ContentId = parse("resource", &c.resource)?;
    let abi = abi_of(node, &resource)?;
    let args = match (&c.typed_args, c.args.is_empty()) {
        (None, _) => unhex("args", &c.args)?,
        (Some(_), false) => {
            return Err(invalid(
                "typed_args",
                "ambiguous_args",
                "give args or typed_args, not both",
            ));
        }
        (Some(typed), true) => abi
            .as_ref()
            .ok_or_else(|| {
                invalid(
                    "typed_args",
                    "no_abi",
                    format!("contract {resource} carries no ABI: give args in hex"),
                )
            })?
            .encode_args(&c.entry, typed)
            .map_err(|e| invalid("typed_args", "abi_mismatch", e.to_string()))?,
    };
    let entry = c.entry.clone();
    let req = call_request(node, resource, c.entry, args, &c.payment)?;
    // Executed against a view that takes no lock of the node's.
    let call = construct_call(&contracts.wasm, &*contracts.prover, &req, &node.view())
        .map_err(|e| call_rejected(&e, abi.as_ref()))?;
    // Its external calls follow it: committed once it is deep enough, aborted when it can
    // no longer be included.
    if let Some(settlement) = node.settlement() {
        settlement.track(&call.tx, &call.external).map_err(|e| {
            contracts.wasm.connectors().abandon(&call.external);
            node_err(e)
        })?;
    }
    let result = match &abi {
        Some(abi) => decoded_outcome(abi, &entry, &resource, &call.outcome),
        None => Value::Null,
    };
    Ok(constructed(call, result))
}

/// The ABI the contract module `resource` carries, if it is stored and carries one (a module
/// that passed the deploy checks has a well-formed one, or none).
fn abi_of<L: ChainLedger>(node: &Node<L>, resource: &ContentId) -> RpcResult<Option<ContractAbi>> {
    let Some(code) = node.resources().read(resource).map_err(node_err)? else {
        return Ok(None);
    };
    Ok(ContractAbi::from_module(&code).ok().flatten())
}

/// `wes_getContractAbi`: the ABI a stored contract module carries (`None` if it has none).
pub(super) fn contract_abi<L: ChainLedger>(
    node: &Node<L>,
    resource: &str,
) -> RpcResult<Option<ContractAbi>> {
    let id: ContentId = parse("resource", resource)?;
    let code = node
        .resources()
        .read(&id)
        .map_err(node_err)?
        .ok_or_else(|| not_found(format!("no resource {id}")))?;
    ContractAbi::from_module(&code).map_err(|e| {
        invalid(
            "resource",
            "bad_abi",
            format!("resource {id} is not a contract with a readable ABI: {e}"),
        )
    })
}

/// A refused call, with the contract's declared error decoded when it failed with one.
fn call_rejected(e: &ConstructError, abi: Option<&ContractAbi>) -> ErrorObjectOwned {
    let mut err = rejected(e);
    let decoded = match (e, abi) {
        (ConstructError::Execution(WasmError::Abort(message)), Some(abi)) => {
            abi.decode_error(message)
        }
        _ => None,
    };
    if let Some(decoded) = decoded {
        let mut data: ErrorData = err
            .data()
            .and_then(|d| serde_json::from_str(d.get()).ok())
            .unwrap_or_default();
        data.contract_error = Some(decoded);
        err = super::error(err.code(), err.message().to_string(), data);
    }
    err
}

/// `{returns, events}` of a call, decoded with the contract's ABI: the return value, and each
/// event with its `fields` when this contract emitted it and the ABI declares it.
fn decoded_outcome(
    abi: &ContractAbi,
    entry: &str,
    resource: &ContentId,
    outcome: &ExecutionOutcome,
) -> Value {
    let me = contract_id(resource);
    let returns = abi
        .decode_return(entry, &outcome.return_data)
        .unwrap_or(Value::Null);
    let events: Vec<Value> = outcome
        .events
        .iter()
        .map(|event| {
            let mut v = json!({
                "contract": event.contract.to_string(),
                "topic": event.topic,
                "data": hex::encode(&event.data),
            });
            if event.contract == me
                && let Some(Ok(fields)) = abi.decode_event(&event.topic, &event.data)
            {
                v["fields"] = fields;
            }
            v
        })
        .collect();
    json!({"returns": returns, "events": events})
}

pub(super) fn deploy_model<L: ChainLedger>(
    node: &Node<L>,
    uploader: &Uploader,
    data: &str,
    name: &str,
) -> RpcResult<DeployedModel> {
    let models = models(node)?;
    let bytes = unhex("data", data)?;
    let (keys, circuit) = prepare_model(&bytes, &models.params).map_err(|e| rejected(&e))?;
    let model = node
        .put_resource_as(uploader, &bytes, ResourceKind::Onnx, name)
        .map_err(|e| rejected(&e))?;
    let circuit_id = node
        .put_resource_as(
            uploader,
            &circuit,
            ResourceKind::File,
            &format!("{name}.circuit"),
        )
        .map_err(|e| rejected(&e))?;
    models.prover.insert_keys(model, circuit_id, keys);
    let body = model_resource(model, bytes.len() as u64, name, circuit_id);
    Ok(DeployedModel {
        model: model.to_string(),
        circuit: circuit_id.to_string(),
        resource_body: hex::encode(codec::encode(&body)),
    })
}

pub(super) fn inference<L: ChainLedger>(
    node: &Node<L>,
    c: InferParams,
) -> RpcResult<ConstructedTx> {
    let models = models(node)?;
    let at = outpoint("model", &c.model)?;
    let model = resource_at(node, &at)?;
    let req = call_request(
        node,
        model,
        INFER_ENTRY.into(),
        encode_input(&c.input),
        &c.payment,
    )?;
    let call = construct_inference(&models.onnx, &*models.prover, &req, at, &node.view())
        .map_err(|e| rejected(&e))?;
    let result: InferenceResult = codec::decode(&call.outcome.return_data).map_err(node_err)?;
    let result = json!({"outputs": result.row_f32(0), "labels": result.labels});
    Ok(constructed(call, result))
}

pub(super) fn call_model<L: ChainLedger>(
    node: &Node<L>,
    model: &str,
    input: &[f32],
) -> RpcResult<ModelRun> {
    let models = models(node)?;
    let id: ContentId = if model.contains(':') {
        resource_at(node, &outpoint("model", model)?)?
    } else {
        parse("model", model)?
    };
    let bytes = node
        .resources()
        .read(&id)
        .map_err(node_err)?
        .ok_or_else(|| not_found(format!("no resource {id}")))?;
    let loaded = models.onnx.load(&id, &bytes).map_err(|e| rejected(&e))?;
    let outputs = loaded.model.run(input).map_err(|e| rejected(&e))?;
    Ok(ModelRun {
        model: id.to_string(),
        outputs,
        note: "f32 on candle, off chain (not proven)".into(),
    })
}

/// The tokens the chain accepts fees in, with their minimums.
pub(super) fn fee_tokens<L: ChainLedger>(node: &Node<L>) -> Vec<super::types::FeeToken> {
    node.ledger()
        .fee_policy()
        .accepted()
        .map(|(token, fee)| super::types::FeeToken {
            token: token_name(token),
            per_byte: fee.per_byte.to_string(),
            per_cu: fee.per_cu.to_string(),
        })
        .collect()
}
