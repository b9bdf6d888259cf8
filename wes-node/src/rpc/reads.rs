//! Reads and submissions: chain, blocks, balances, outputs, transactions, resources,
//! mempool, production and network status.

use std::collections::BTreeMap;
use std::sync::Arc;

use jsonrpsee::RpcModule;
use jsonrpsee::core::RegisterMethodError;
use jsonrpsee::types::Params;
use serde_json::{Value, json};
use wes_core::{BlockHash, ContentId, Ledger, ResourceKind, SignedTransaction, TxId, codec};

use super::json::{outpoint, output_json, owner_address, parse, token_name, unhex};
use super::{RpcResult, code, err, invalid, node_err, rejected};
use crate::ledger::ChainLedger;
use crate::node::Node;
use crate::pending::ReadTag;

/// A block as JSON, with its confirmations on the best chain (`null` off it).
fn block_json<L: ChainLedger>(node: &Node<L>, hash: &BlockHash) -> RpcResult<Value> {
    let ledger = node.ledger();
    let block = ledger
        .block(hash)
        .map_err(node_err)?
        .ok_or_else(|| err(code::NOT_FOUND, format!("no block {hash}")))?;
    let height = block.header.height;
    let on_best = ledger.hash_at(height).map_err(node_err)? == Some(*hash);
    let status = node.status();
    let confirmations = (on_best && height <= status.height).then(|| status.confirmations(height));
    Ok(json!({
        "hash": hash.to_string(),
        "height": height,
        "parent": block.header.parent.to_string(),
        "time_ms": block.header.time_ms,
        "confirmations": confirmations,
        "transactions": block.transactions.iter().map(|t| t.id().to_string()).collect::<Vec<_>>(),
        "encoded": hex::encode(codec::encode(&block)),
    }))
}

/// Most transactions in one `wes_sendRawTransactions` request.
pub const MAX_BATCH_TXS: usize = 10_000;

/// An owner and an optional read tag (`"latest"`, the default, or `"pending"`).
fn owner_and_tag(p: &Params<'_>) -> RpcResult<(wes_core::Address, ReadTag)> {
    let mut seq = p.sequence();
    let addr: String = seq.next()?;
    let tag: Option<String> = seq.optional_next()?;
    let addr = owner_address(&addr).map_err(invalid)?;
    let tag = match tag {
        Some(t) => t.parse().map_err(invalid)?,
        None => ReadTag::Latest,
    };
    Ok((addr, tag))
}

/// Parses a resource kind: `wasm`, `onnx`, `file` or `custom:<n>`.
pub(crate) fn resource_kind(s: &str) -> RpcResult<ResourceKind> {
    Ok(match s {
        "wasm" => ResourceKind::Wasm,
        "onnx" => ResourceKind::Onnx,
        "file" => ResourceKind::File,
        other => match other.strip_prefix("custom:").map(str::parse) {
            Some(Ok(n)) => ResourceKind::Custom(n),
            _ => {
                return Err(invalid(format!(
                    "kind {other:?}: wasm, onnx, file or custom:<number>"
                )));
            }
        },
    })
}

fn network<L: ChainLedger>(node: &Node<L>) -> RpcResult<wes_net::NetworkHandle> {
    node.network()
        .cloned()
        .ok_or_else(|| err(code::NOT_FOUND, "this node runs without networking"))
}

pub(super) fn register<L: ChainLedger>(
    m: &mut RpcModule<Arc<Node<L>>>,
) -> Result<(), RegisterMethodError> {
    m.register_method("wes_chainId", |_, node, _| -> RpcResult<u32> {
        Ok(node.chain_id().0)
    })?;
    m.register_method("wes_blockNumber", |_, node, _| -> RpcResult<u64> {
        Ok(node.status().height)
    })?;
    m.register_blocking_method(
        "wes_getBlockByHeight",
        |p: Params, node, _| -> RpcResult<Value> {
            let (height,): (u64,) = p.parse()?;
            let hash = node
                .ledger()
                .hash_at(height)
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
        let (addr, tag) = owner_and_tag(&p)?;
        let mut sums: BTreeMap<String, u128> = BTreeMap::new();
        for owned in node.outputs_of(&addr, tag) {
            if let Some(a) = owned.output.as_asset() {
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
        let (addr, tag) = owner_and_tag(&p)?;
        Ok(Value::Array(
            node.outputs_of(&addr, tag)
                .iter()
                .map(|o| {
                    let mut entry = output_json(&o.outpoint, &o.output);
                    entry["pending"] = Value::Bool(o.pending);
                    entry
                })
                .collect(),
        ))
    })?;
    m.register_blocking_method("wes_getOutput", |p: Params, node, _| -> RpcResult<Value> {
        let (op,): (String,) = p.parse()?;
        let op = outpoint(&op)?;
        let out = node
            .ledger()
            .unspent(&op)
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
    m.register_blocking_method(
        "wes_sendRawTransactions",
        |p: Params, node, _| -> RpcResult<Vec<Value>> {
            let (raws,): (Vec<String>,) = p.parse()?;
            if raws.len() > MAX_BATCH_TXS {
                return Err(invalid(format!(
                    "{} transactions in one request; at most {MAX_BATCH_TXS}",
                    raws.len()
                )));
            }
            // Entries that do not decode get their error; the others go in, in order.
            let mut txs = Vec::with_capacity(raws.len());
            let mut slots: Vec<Result<(), String>> = Vec::with_capacity(raws.len());
            for raw in &raws {
                let decoded = hex::decode(raw)
                    .map_err(|e| format!("transaction hex: {e}"))
                    .and_then(|b| {
                        codec::decode::<SignedTransaction>(&b)
                            .map_err(|e| format!("transaction: {e}"))
                    });
                slots.push(decoded.map(|tx| txs.push(tx)));
            }
            let mut admitted = node.submit_many(txs).into_iter();
            Ok(slots
                .into_iter()
                .map(|d| match d {
                    Err(reason) => json!({"error": {
                        "code": jsonrpsee::types::error::INVALID_PARAMS_CODE,
                        "message": reason,
                    }}),
                    Ok(_) => match admitted.next() {
                        Some(Ok(id)) => json!({"txid": id.to_string()}),
                        Some(Err(e)) => {
                            json!({"error": {"code": code::REJECTED, "message": e.to_string()}})
                        }
                        None => json!({"error": {"code": code::NODE, "message": "not admitted"}}),
                    },
                })
                .collect())
        },
    )?;
    m.register_blocking_method("wes_getTransaction", |p: Params, node, _| -> RpcResult<Value> {
        let (id,): (String,) = p.parse()?;
        let id: TxId = parse("txid", &id)?;
        if let Some(pooled) = node.mempool().get(&id) {
            return Ok(json!({"txid": id.to_string(), "status": "pending", "confirmations": 0,
                "tx": hex::encode(codec::encode(&pooled.tx))}));
        }
        let Some((hash, height)) = node.index().transaction(&id) else {
            return Err(err(code::NOT_FOUND, format!("transaction {id} is neither pending nor on the best chain")));
        };
        let block = node
            .ledger()
            .block(&hash)
            .map_err(node_err)?
            .ok_or_else(|| node_err("indexed block missing"))?;
        let tx = block.transactions.iter().find(|t| t.id() == id).ok_or_else(|| node_err("indexed transaction missing"))?;
        Ok(json!({
            "txid": id.to_string(),
            "status": "included",
            "block": hash.to_string(),
            "height": height,
            "confirmations": node.status().confirmations(height),
            "outputs": tx.tx.outputs.iter().enumerate().map(|(i, o)| output_json(&tx.tx.outpoint(i as u32), o)).collect::<Vec<_>>(),
            "tx": hex::encode(codec::encode(tx)),
        }))
    })?;
    m.register_blocking_method(
        "wes_putResource",
        |p: Params, node, _| -> RpcResult<String> {
            let (data, kind, name): (String, String, String) = p.parse()?;
            let kind = resource_kind(&kind)?;
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
            node.resources()
                .read(&id)
                .map_err(node_err)?
                .map(hex::encode)
                .ok_or_else(|| err(code::NOT_FOUND, format!("no resource {id}")))
        },
    )?;
    m.register_method("wes_mempool", |_, node, _| -> RpcResult<Value> {
        let pool = node.mempool();
        Ok(json!({"count": pool.len(), "bytes": pool.bytes()}))
    })?;
    m.register_method("wes_miningStatus", |_, node, _| -> RpcResult<Value> {
        let status = node.status();
        Ok(json!({
            "mining": node.producing(),
            "height": status.height,
            "tip": status.best.to_string(),
            "blocks_mined": node.produced(),
            "hash_rate": node.producer().map_or(0, |p| p.hash_rate()),
            "block_time_ms": node.config().block_time_ms,
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
    Ok(())
}
