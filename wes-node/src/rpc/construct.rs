//! Execution is construction: the node runs a contract call or a model inference once and
//! returns the transaction that carries its result and proof, for the caller to sign.

use std::sync::Arc;

use jsonrpsee::RpcModule;
use jsonrpsee::core::RegisterMethodError;
use jsonrpsee::types::Params;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wes_core::{ContentId, Ledger, Lock, OutPoint, ResourceKind, codec};
use wes_ispc::halo2::{model_resource, prepare_model};
use wes_ispc::onnx::{INFER_ENTRY, InferenceResult, encode_input};
use wes_ispc::{CallRequest, construct_call, construct_inference};

use super::json::{outpoint, parse, public_key, unhex};
use super::{RpcResult, code, err, invalid, node_err, rejected};
use crate::ispc::{Contracts, Models};
use crate::ledger::ChainLedger;
use crate::node::Node;

/// Parameters of `wes_constructCall`.
#[derive(Debug, Deserialize, Serialize)]
pub struct CallParams {
    /// The contract's code resource id.
    pub resource: String,
    /// The entry function.
    pub entry: String,
    /// Arguments, hex.
    #[serde(default)]
    pub args: String,
    /// The caller's fee inputs (`txid:index`), the first one names the caller.
    pub fee_inputs: Vec<String>,
    /// The public key (hex) change goes to.
    pub change: String,
    /// The fee in native units.
    pub fee: String,
    /// Compute-unit limit.
    #[serde(default = "default_cu")]
    pub cu_limit: u64,
}

fn default_cu() -> u64 {
    1_000_000
}

/// Parameters of `wes_constructInference`.
#[derive(Debug, Deserialize, Serialize)]
pub struct InferParams {
    /// The model's Resource output (`txid:index`).
    pub model: String,
    /// One row of input.
    pub input: Vec<f32>,
    /// Fee inputs.
    pub fee_inputs: Vec<String>,
    /// The public key (hex) change goes to.
    pub change: String,
    /// The fee in native units.
    pub fee: String,
    /// Compute-unit limit.
    #[serde(default = "default_cu")]
    pub cu_limit: u64,
}

/// Who pays for a construction: fee inputs, change key, fee and compute limit.
struct Payment<'a> {
    fee_inputs: &'a [String],
    change: &'a str,
    fee: &'a str,
    cu_limit: u64,
}

fn call_request<L: ChainLedger>(
    node: &Node<L>,
    resource: ContentId,
    entry: String,
    args: Vec<u8>,
    pay: Payment<'_>,
) -> RpcResult<CallRequest> {
    let max = node.config().max_call_cu;
    if pay.cu_limit > max {
        return Err(invalid(format!("cu_limit {} is above {max}", pay.cu_limit)));
    }
    let ctx = node.next_context();
    let change = public_key(pay.change).map_err(invalid)?;
    Ok(CallRequest {
        chain_id: node.chain_id(),
        resource,
        entry,
        args,
        cu_limit: pay.cu_limit,
        height: ctx.height,
        valid_until: ctx.height + node.config().call_validity_blocks,
        time_ms: ctx.time_ms,
        fee_inputs: pay
            .fee_inputs
            .iter()
            .map(|s| outpoint(s))
            .collect::<RpcResult<_>>()?,
        change_lock: Lock::key(change),
        fee: parse("fee", pay.fee)?,
    })
}

fn constructed(call: wes_ispc::ConstructedCall, result: Value) -> Value {
    json!({
        "txid": call.tx.id().to_string(),
        "tx": hex::encode(codec::encode(&call.tx)),
        "proof": hex::encode(&call.proof),
        "cu_used": call.outcome.cu_used,
        "return_data": hex::encode(&call.outcome.return_data),
        "result": result,
    })
}

/// The content of the live Resource output at `at`.
fn resource_at<L: ChainLedger>(node: &Node<L>, at: &OutPoint) -> RpcResult<ContentId> {
    let out = node
        .ledger()
        .unspent(at)
        .map_err(node_err)?
        .ok_or_else(|| err(code::NOT_FOUND, format!("output {at} is not unspent")))?;
    out.as_resource()
        .map(|r| r.content)
        .ok_or_else(|| invalid(format!("{at} is not a Resource output")))
}

fn contracts<L: ChainLedger>(node: &Node<L>) -> RpcResult<&Contracts> {
    node.contracts()
        .ok_or_else(|| err(code::NOT_FOUND, "this chain runs no WASM contracts"))
}

fn models<L: ChainLedger>(node: &Node<L>) -> RpcResult<&Models> {
    node.models()
        .ok_or_else(|| err(code::NOT_FOUND, "this chain runs no ONNX models"))
}

pub(super) fn register<L: ChainLedger>(
    m: &mut RpcModule<Arc<Node<L>>>,
) -> Result<(), RegisterMethodError> {
    m.register_blocking_method(
        "wes_constructCall",
        |p: Params, node, _| -> RpcResult<Value> {
            let (c,): (CallParams,) = p.parse()?;
            let contracts = contracts(&node)?;
            let req = call_request(
                &node,
                parse("resource", &c.resource)?,
                c.entry,
                unhex("args", &c.args)?,
                Payment {
                    fee_inputs: &c.fee_inputs,
                    change: &c.change,
                    fee: &c.fee,
                    cu_limit: c.cu_limit,
                },
            )?;
            // Executed against a view that takes no lock of the node's.
            let call = construct_call(&contracts.wasm, &*contracts.prover, &req, &node.view())
                .map_err(rejected)?;
            // Its external calls are committed when it is included, aborted when it expires.
            contracts.settlement.track(
                call.tx.id(),
                call.tx.validity.not_after,
                call.external.clone(),
            );
            Ok(constructed(call, Value::Null))
        },
    )?;
    m.register_blocking_method(
        "wes_deployModel",
        |p: Params, node, _| -> RpcResult<Value> {
            let (data, name): (String, String) = p.parse()?;
            let models = models(&node)?;
            let bytes = unhex("model", &data)?;
            let (keys, circuit) = prepare_model(&bytes, &models.params).map_err(rejected)?;
            let model = node
                .put_resource(&bytes, ResourceKind::Onnx, &name)
                .map_err(rejected)?;
            let circuit_id = node
                .put_resource(&circuit, ResourceKind::File, &format!("{name}.circuit"))
                .map_err(rejected)?;
            models.prover.insert_keys(model, circuit_id, keys);
            let body = model_resource(model, bytes.len() as u64, &name, circuit_id);
            Ok(json!({
                "model": model.to_string(),
                "circuit": circuit_id.to_string(),
                "resource_body": hex::encode(codec::encode(&body)),
            }))
        },
    )?;
    m.register_blocking_method(
        "wes_constructInference",
        |p: Params, node, _| -> RpcResult<Value> {
            let (c,): (InferParams,) = p.parse()?;
            let models = models(&node)?;
            let at = outpoint(&c.model)?;
            let model = resource_at(&node, &at)?;
            let req = call_request(
                &node,
                model,
                INFER_ENTRY.into(),
                encode_input(&c.input),
                Payment {
                    fee_inputs: &c.fee_inputs,
                    change: &c.change,
                    fee: &c.fee,
                    cu_limit: c.cu_limit,
                },
            )?;
            let call = construct_inference(&models.onnx, &*models.prover, &req, at, &node.view())
                .map_err(rejected)?;
            let result: InferenceResult =
                codec::decode(&call.outcome.return_data).map_err(node_err)?;
            let result = json!({"outputs": result.row_f32(0), "labels": result.labels});
            Ok(constructed(call, result))
        },
    )?;
    m.register_blocking_method("wes_callModel", |p: Params, node, _| -> RpcResult<Value> {
        let (model, input): (String, Vec<f32>) = p.parse()?;
        let models = models(&node)?;
        let id: ContentId = if model.contains(':') {
            resource_at(&node, &outpoint(&model)?)?
        } else {
            parse("content id", &model)?
        };
        let bytes = node.resources().read(&id).map_err(node_err)?
            .ok_or_else(|| err(code::NOT_FOUND, format!("no resource {id}")))?;
        let loaded = models.onnx.load(&id, &bytes).map_err(rejected)?;
        let outputs = loaded.model.run(&input).map_err(rejected)?;
        Ok(json!({"model": id.to_string(), "outputs": outputs, "note": "f32 on candle, off chain (not proven)"}))
    })?;
    Ok(())
}
