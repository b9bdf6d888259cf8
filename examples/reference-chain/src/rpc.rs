//! The JSON-RPC server (jsonrpsee, HTTP, `wes_` namespace). Every method is documented in
//! `RPC.md`. Binary values (transactions, blocks, resources) travel as hex of their canonical
//! encoding; ids as hex; addresses as bech32m; amounts as decimal strings.

use std::net::SocketAddr;
use std::sync::Arc;

use jsonrpsee::RpcModule;
use jsonrpsee::server::{Server, ServerHandle};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wes_core::{
    Address, BlockHash, ContentId, Lock, OutPoint, OutputBody, ResourceKind, SignedTransaction,
    TokenId, TxId, codec,
};
use wes_ispc::halo2::{model_resource, prepare_model};
use wes_ispc::onnx::{INFER_ENTRY, InferenceResult, encode_input};
use wes_ispc::{CallRequest, ReplayProver, construct_call, construct_inference};

use crate::node::Node;

/// The most compute units a construction may ask for (about 50 ms of WASM here).
pub const MAX_CALL_CU: u64 = 50_000_000;

/// Largest request body (a model or contract upload, hex-encoded).
pub const MAX_REQUEST_BYTES: u32 = 32 << 20;

/// JSON-RPC error codes beyond the standard ones.
pub mod code {
    /// The request is well-formed but refused (invalid transaction, failed execution…).
    pub const REJECTED: i32 = -32000;
    /// Something asked for does not exist.
    pub const NOT_FOUND: i32 = -32001;
    /// The node failed (storage, …).
    pub const NODE: i32 = -32002;
}

type RpcResult<T> = Result<T, ErrorObjectOwned>;

fn err(code: i32, msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, msg.into(), None::<()>)
}

fn rejected(e: impl std::fmt::Display) -> ErrorObjectOwned {
    err(code::REJECTED, e.to_string())
}

fn node_err(e: impl std::fmt::Display) -> ErrorObjectOwned {
    err(code::NODE, e.to_string())
}

fn invalid(e: impl std::fmt::Display) -> ErrorObjectOwned {
    err(jsonrpsee::types::error::INVALID_PARAMS_CODE, e.to_string())
}

fn parse<T: std::str::FromStr>(what: &str, s: &str) -> RpcResult<T>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| invalid(format!("{what} {s:?}: {e}")))
}

/// Parses `txid:index`.
pub fn parse_outpoint(s: &str) -> Result<OutPoint, String> {
    let (tx, index) = s.split_once(':').ok_or("expected txid:index")?;
    Ok(OutPoint {
        tx: tx.parse().map_err(|e| format!("txid: {e}"))?,
        index: index.parse().map_err(|e| format!("index: {e}"))?,
    })
}

fn outpoint(s: &str) -> RpcResult<OutPoint> {
    parse_outpoint(s).map_err(|e| invalid(format!("outpoint {s:?}: {e}")))
}

fn unhex(what: &str, s: &str) -> RpcResult<Vec<u8>> {
    hex::decode(s.trim_start_matches("0x")).map_err(|e| invalid(format!("{what}: not hex: {e}")))
}

/// An owner given as a bech32m address (`wes1…`) or an Ed25519 public key in hex.
pub fn owner_address(s: &str) -> Result<Address, String> {
    if s.starts_with("wes1") {
        s.parse().map_err(|e| format!("address {s:?}: {e}"))
    } else {
        crate::config::public_key(s)
            .map(|k| Lock::key(k).address())
            .map_err(|e| format!("{e:#}"))
    }
}

fn token_name(t: &TokenId) -> String {
    match t {
        TokenId::Native => "native".into(),
        other => hex::encode(codec::encode(other)),
    }
}

/// An output as JSON.
pub fn output_json(op: &OutPoint, out: &wes_core::Output) -> Value {
    let body = match &out.body {
        OutputBody::Asset(a) => {
            json!({"type": "asset", "token": token_name(&a.token), "amount": a.amount.to_string()})
        }
        OutputBody::Resource(r) => {
            json!({"type": "resource", "content": r.content.to_string(), "kind": format!("{:?}", r.kind), "size": r.size, "name": r.meta.name, "verifying_key": r.meta.verifying_key.map(|h| h.to_string())})
        }
        OutputBody::State(s) => {
            json!({"type": "state", "contract": s.contract.to_string(), "key": hex::encode(&s.key), "data": hex::encode(&s.data), "version": s.version})
        }
    };
    json!({"outpoint": op.to_string(), "owner": out.lock.address().to_string(), "body": body, "encoded": hex::encode(codec::encode(out))})
}

/// The content of the live Resource output at `at`.
fn resource_at(node: &Node, at: &OutPoint) -> RpcResult<ContentId> {
    let out = wes_core::Ledger::unspent(node.lock().chain.ledger(), at)
        .map_err(node_err)?
        .ok_or_else(|| err(code::NOT_FOUND, format!("output {at} is not unspent")))?;
    out.as_resource()
        .map(|r| r.content)
        .ok_or_else(|| invalid(format!("{at} is not a Resource output")))
}

fn block_json(node: &Node, hash: &BlockHash) -> RpcResult<Value> {
    let inner = node.lock();
    let block = wes_core::Ledger::block(inner.chain.ledger(), hash)
        .map_err(node_err)?
        .ok_or_else(|| err(code::NOT_FOUND, format!("no block {hash}")))?;
    Ok(json!({
        "hash": hash.to_string(),
        "height": block.header.height,
        "parent": block.header.parent.to_string(),
        "time_ms": block.header.time_ms,
        "confirmations": inner.chain.confirmations(hash),
        "transactions": block.transactions.iter().map(|t| t.id().to_string()).collect::<Vec<_>>(),
        "encoded": hex::encode(codec::encode(&block)),
    }))
}

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

fn call_request(
    node: &Node,
    resource: ContentId,
    entry: String,
    args: Vec<u8>,
    pay: Payment<'_>,
) -> RpcResult<CallRequest> {
    let Payment {
        fee_inputs,
        change,
        fee,
        cu_limit,
    } = pay;
    if cu_limit > MAX_CALL_CU {
        return Err(invalid(format!(
            "cu_limit {cu_limit} is above {MAX_CALL_CU}"
        )));
    }
    let ctx = Node::next_context(&node.lock()).map_err(node_err)?;
    let change = crate::config::public_key(change).map_err(invalid)?;
    Ok(CallRequest {
        chain_id: node.config.chain.chain_id(),
        resource,
        entry,
        args,
        cu_limit,
        height: ctx.height,
        valid_until: ctx.height + 100,
        time_ms: ctx.time_ms,
        fee_inputs: fee_inputs
            .iter()
            .map(|s| outpoint(s))
            .collect::<RpcResult<_>>()?,
        change_lock: Lock::key(change),
        fee: parse("fee", fee)?,
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

/// Builds the RPC module over `node`.
pub fn module(
    node: Arc<Node>,
) -> Result<RpcModule<Arc<Node>>, jsonrpsee::core::RegisterMethodError> {
    let mut m = RpcModule::new(node);

    m.register_method("wes_chainId", |_, node, _| -> RpcResult<u32> {
        Ok(node.config.chain.chain_id)
    })?;
    m.register_blocking_method("wes_blockNumber", |_, node, _| -> RpcResult<u64> {
        Ok(node.lock().chain.tip().map_err(node_err)?.height)
    })?;
    m.register_blocking_method(
        "wes_getBlockByHeight",
        |p: Params, node, _| -> RpcResult<Value> {
            let (height,): (u64,) = p.parse()?;
            let hash = wes_core::Ledger::hash_at(node.lock().chain.ledger(), height)
                .map_err(node_err)?
                .ok_or_else(|| err(code::NOT_FOUND, format!("no block at height {height}")))?;
            block_json(&node, &hash)
        },
    )?;
    m.register_blocking_method(
        "wes_getBlockByHash",
        |p: Params, node, _| -> RpcResult<Value> {
            let (hash,): (String,) = p.parse()?;
            block_json(&node, &parse("block hash", &hash)?)
        },
    )?;
    m.register_blocking_method("wes_getBalance", |p: Params, node, _| -> RpcResult<Value> {
        let (addr,): (String,) = p.parse()?;
        let addr = owner_address(&addr).map_err(invalid)?;
        let mut sums: std::collections::BTreeMap<String, u128> = Default::default();
        for (_, out) in node.index.of(&addr) {
            if let Some(a) = out.as_asset() {
                let sum = sums.entry(token_name(&a.token)).or_default();
                *sum = sum.saturating_add(a.amount);
            }
        }
        let map: serde_json::Map<String, Value> = sums
            .into_iter()
            .map(|(k, v)| (k, Value::String(v.to_string())))
            .collect();
        Ok(Value::Object(map))
    })?;
    m.register_blocking_method("wes_getUtxos", |p: Params, node, _| -> RpcResult<Value> {
        let (addr,): (String,) = p.parse()?;
        let addr = owner_address(&addr).map_err(invalid)?;
        Ok(Value::Array(
            node.index
                .of(&addr)
                .iter()
                .map(|(op, o)| output_json(op, o))
                .collect(),
        ))
    })?;
    m.register_blocking_method("wes_getOutput", |p: Params, node, _| -> RpcResult<Value> {
        let (op,): (String,) = p.parse()?;
        let op = outpoint(&op)?;
        let out = wes_core::Ledger::unspent(node.lock().chain.ledger(), &op)
            .map_err(node_err)?
            .ok_or_else(|| err(code::NOT_FOUND, format!("{op} is not unspent")))?;
        Ok(output_json(&op, &out))
    })?;
    m.register_blocking_method(
        "wes_sendRawTransaction",
        |p: Params, node, _| -> RpcResult<String> {
            let (raw,): (String,) = p.parse()?;
            let tx: SignedTransaction = codec::decode(&unhex("transaction", &raw)?)
                .map_err(|e| invalid(format!("transaction: {e}")))?;
            node.submit(tx).map(|id| id.to_string()).map_err(rejected)
        },
    )?;
    m.register_blocking_method("wes_getTransaction", |p: Params, node, _| -> RpcResult<Value> {
        let (id,): (String,) = p.parse()?;
        let id: TxId = parse("txid", &id)?;
        let inner = node.lock();
        if let Some(pooled) = inner.mempool.get(&id) {
            return Ok(json!({"txid": id.to_string(), "status": "pending", "confirmations": 0,
                "tx": hex::encode(codec::encode(&pooled.tx))}));
        }
        let Some(hash) = inner.chain.tx_block(&id) else {
            return Err(err(code::NOT_FOUND, format!("transaction {id} is neither pending nor on the best chain")));
        };
        let block = wes_core::Ledger::block(inner.chain.ledger(), &hash)
            .map_err(node_err)?
            .ok_or_else(|| node_err("indexed block missing"))?;
        let tx = block.transactions.iter().find(|t| t.id() == id).ok_or_else(|| node_err("indexed transaction missing"))?;
        Ok(json!({
            "txid": id.to_string(),
            "status": "included",
            "block": hash.to_string(),
            "height": block.header.height,
            "confirmations": inner.chain.tx_confirmations(&id),
            "outputs": tx.tx.outputs.iter().enumerate().map(|(i, o)| output_json(&tx.tx.outpoint(i as u32), o)).collect::<Vec<_>>(),
            "tx": hex::encode(codec::encode(tx)),
        }))
    })?;
    m.register_blocking_method(
        "wes_putResource",
        |p: Params, node, _| -> RpcResult<String> {
            let (data, kind, name): (String, String, String) = p.parse()?;
            let kind = match kind.as_str() {
                "wasm" => ResourceKind::Wasm,
                "onnx" => ResourceKind::Onnx,
                "file" => ResourceKind::File,
                k => return Err(invalid(format!("kind {k:?}: wasm, onnx or file"))),
            };
            let bytes = unhex("data", &data)?;
            node.put_resource(&bytes, kind, &name)
                .map(|id| id.to_string())
                .map_err(rejected)
        },
    )?;
    m.register_blocking_method(
        "wes_getResource",
        |p: Params, node, _| -> RpcResult<String> {
            let (id,): (String,) = p.parse()?;
            let id: ContentId = parse("content id", &id)?;
            node.ures
                .read(&id)
                .map_err(node_err)?
                .map(hex::encode)
                .ok_or_else(|| err(code::NOT_FOUND, format!("no resource {id}")))
        },
    )?;
    m.register_blocking_method(
        "wes_constructCall",
        |p: Params, node, _| -> RpcResult<Value> {
            let (c,): (CallParams,) = p.parse()?;
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
            // Executed without holding the node's lock (the view locks per read).
            let call = construct_call(&node.wasm, &ReplayProver, &req, &node.locked_view())
                .map_err(rejected)?;
            // Its external calls are committed when it is mined, aborted when it expires.
            node.settlement.track(
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
            let bytes = unhex("model", &data)?;
            let (keys, circuit) = prepare_model(&bytes, &node.params).map_err(rejected)?;
            let model = node
                .put_resource(&bytes, ResourceKind::Onnx, &name)
                .map_err(rejected)?;
            let circuit_id = node
                .put_resource(&circuit, ResourceKind::File, &format!("{name}.circuit"))
                .map_err(rejected)?;
            node.prover.insert_keys(model, circuit_id, keys);
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
            let call = construct_inference(&node.onnx, &node.prover, &req, at, &node.locked_view())
                .map_err(rejected)?;
            let result: InferenceResult =
                codec::decode(&call.outcome.return_data).map_err(node_err)?;
            let result = json!({"outputs": result.row_f32(0), "labels": result.labels});
            Ok(constructed(call, result))
        },
    )?;
    m.register_blocking_method("wes_callModel", |p: Params, node, _| -> RpcResult<Value> {
        let (model, input): (String, Vec<f32>) = p.parse()?;
        let id: ContentId = if model.contains(':') {
            resource_at(&node, &outpoint(&model)?)?
        } else {
            parse("content id", &model)?
        };
        let bytes = node.ures.read(&id).map_err(node_err)?
            .ok_or_else(|| err(code::NOT_FOUND, format!("no resource {id}")))?;
        let loaded = node.onnx.load(&id, &bytes).map_err(rejected)?;
        let outputs = loaded.model.run(&input).map_err(rejected)?;
        Ok(json!({"model": id.to_string(), "outputs": outputs, "note": "f32 on candle, off chain (not proven)"}))
    })?;
    m.register_blocking_method("wes_mempool", |_, node, _| -> RpcResult<Value> {
        let inner = node.lock();
        Ok(json!({"count": inner.mempool.len(), "bytes": inner.mempool.bytes()}))
    })?;
    m.register_blocking_method("wes_miningStatus", |_, node, _| -> RpcResult<Value> {
        let (mined, rate) = node.mining_stats();
        let inner = node.lock();
        let tip = inner.chain.tip().map_err(node_err)?;
        Ok(json!({
            "mining": node.mining(),
            "height": tip.height,
            "tip": tip.hash.to_string(),
            "blocks_mined": mined,
            "hash_rate": rate,
            "block_time_ms": node.config.chain.block_time_ms,
        }))
    })?;
    m.register_async_method("wes_netInfo", |_, node, _| async move {
        let net = network(&node)?;
        let info = net.info().await.map_err(node_err)?;
        serde_json::to_value(info).map_err(node_err)
    })?;
    for (method, blocked) in [("wes_netBlockPeer", true), ("wes_netUnblockPeer", false)] {
        m.register_method(method, move |p: Params, node, _| -> RpcResult<bool> {
            let (peer,): (String,) = p.parse()?;
            let peer = parse("peer id", &peer)?;
            let net = network(node)?;
            if blocked {
                net.block_peer(peer)
            } else {
                net.unblock_peer(peer)
            }
            .map_err(node_err)?;
            Ok(true)
        })?;
    }
    Ok(m)
}

fn network(node: &Node) -> RpcResult<wes_net::NetworkHandle> {
    node.network()
        .cloned()
        .ok_or_else(|| err(code::NOT_FOUND, "this node runs without networking"))
}

/// Starts the server on `addr`.
pub async fn serve(
    node: Arc<Node>,
    addr: SocketAddr,
) -> anyhow::Result<(ServerHandle, SocketAddr)> {
    let config = jsonrpsee::server::ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_REQUEST_BYTES)
        .build();
    let server = Server::builder().set_config(config).build(addr).await?;
    let local = server.local_addr()?;
    let handle = server.start(module(node)?);
    Ok((handle, local))
}
