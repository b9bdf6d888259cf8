//! Reads and submissions: chain, blocks, balances, outputs, transactions, resources,
//! mempool, production and network status.

use std::collections::BTreeMap;

use wes_core::{
    BlockHash, ContentId, ContractId, Ledger, ResourceKind, SignedTransaction, TxId, codec,
};

use super::json::{decode_hex, outpoint, owner_address, parse, token_name, unhex};
use super::types::{
    BlockInfo, ErrorInfo, MempoolInfo, MiningStatus, OutputInfo, Page, SendResult, TxInfo, TxState,
};
use super::{RpcResult, invalid, node_err, not_found, rejected};
use crate::ledger::ChainLedger;
use crate::node::Node;
use crate::pending::ReadTag;
use crate::uploads::Uploader;

/// Most transactions in one `wes_sendRawTransactions` request.
pub const MAX_BATCH_TXS: usize = 10_000;

/// A block, with its confirmations on the best chain (`None` off it).
pub(super) fn block<L: ChainLedger>(node: &Node<L>, hash: &BlockHash) -> RpcResult<BlockInfo> {
    let ledger = node.ledger();
    let block = ledger
        .block(hash)
        .map_err(node_err)?
        .ok_or_else(|| not_found(format!("no block {hash}")))?;
    let height = block.header.height;
    let on_best = ledger.hash_at(height).map_err(node_err)? == Some(*hash);
    let status = node.status();
    let confirmations = (on_best && height <= status.height).then(|| status.confirmations(height));
    Ok(BlockInfo {
        hash: hash.to_string(),
        height,
        parent: block.header.parent.to_string(),
        time_ms: block.header.time_ms,
        confirmations,
        transactions: block
            .transactions
            .iter()
            .map(|t| t.id().to_string())
            .collect(),
        encoded: hex::encode(codec::encode(&block)),
    })
}

pub(super) fn block_at<L: ChainLedger>(node: &Node<L>, height: u64) -> RpcResult<BlockInfo> {
    let hash = node
        .ledger()
        .hash_at(height)
        .map_err(node_err)?
        .ok_or_else(|| not_found(format!("no block at height {height}")))?;
    block(node, &hash)
}

/// An owner and a read tag (`"latest"`, the default, or `"pending"`).
fn owner_and_tag(owner: &str, tag: Option<&str>) -> RpcResult<(wes_core::Address, ReadTag)> {
    let addr = owner_address(owner).map_err(|e| invalid("owner", "malformed", e))?;
    let tag = match tag {
        Some(t) => t.parse().map_err(|e| invalid("tag", "unknown_tag", e))?,
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
                return Err(invalid(
                    "kind",
                    "unknown_kind",
                    format!("{other:?}: wasm, onnx, file or custom:<number>"),
                ));
            }
        },
    })
}

pub(super) fn balance<L: ChainLedger>(
    node: &Node<L>,
    owner: &str,
    tag: Option<&str>,
) -> RpcResult<BTreeMap<String, String>> {
    let (addr, tag) = owner_and_tag(owner, tag)?;
    let mut sums: BTreeMap<String, u128> = BTreeMap::new();
    for owned in node.outputs_of(&addr, tag) {
        if let Some(a) = owned.output.as_asset() {
            let sum = sums.entry(token_name(&a.token)).or_default();
            *sum = sum.saturating_add(a.amount);
        }
    }
    Ok(sums.into_iter().map(|(k, v)| (k, v.to_string())).collect())
}

pub(super) fn utxos<L: ChainLedger>(
    node: &Node<L>,
    owner: &str,
    tag: Option<&str>,
    page: Option<Page>,
) -> RpcResult<Vec<OutputInfo>> {
    let (addr, tag) = owner_and_tag(owner, tag)?;
    let page = page.unwrap_or_default();
    let limit = page.limit.unwrap_or(Page::DEFAULT_LIMIT);
    if limit == 0 || limit > Page::MAX_LIMIT {
        return Err(invalid(
            "page.limit",
            "out_of_range",
            format!("{limit}: from 1 to {}", Page::MAX_LIMIT),
        ));
    }
    let after = page
        .after
        .as_deref()
        .map(|a| outpoint("page.after", a))
        .transpose()?;
    Ok(node
        .outputs_page(&addr, tag, after.as_ref(), limit)
        .iter()
        .map(|o| OutputInfo {
            pending: o.pending,
            ..OutputInfo::new(&o.outpoint, &o.output)
        })
        .collect())
}

pub(super) fn output<L: ChainLedger>(node: &Node<L>, op: &str) -> RpcResult<OutputInfo> {
    let op = outpoint("outpoint", op)?;
    let out = node
        .ledger()
        .unspent(&op)
        .map_err(node_err)?
        .ok_or_else(|| not_found(format!("{op} is not unspent")))?;
    Ok(OutputInfo::new(&op, &out))
}

/// The longest state key a contract can write (HostABI `state_set`).
const MAX_STATE_KEY: usize = 64;

pub(super) fn state<L: ChainLedger>(
    node: &Node<L>,
    contract: &str,
    key: &str,
) -> RpcResult<OutputInfo> {
    let contract: ContractId = parse("contract", contract)?;
    let key = unhex("key", key)?;
    if key.len() > MAX_STATE_KEY {
        return Err(invalid(
            "key",
            "too_long",
            format!(
                "{} bytes; state keys are at most {MAX_STATE_KEY}",
                key.len()
            ),
        ));
    }
    let (op, out) = node
        .ledger()
        .state(&contract, &key)
        .map_err(node_err)?
        .ok_or_else(|| {
            not_found(format!(
                "contract {contract} has no state under key {}",
                hex::encode(&key)
            ))
        })?;
    Ok(OutputInfo::new(&op, &out))
}

pub(super) fn send<L: ChainLedger>(node: &Node<L>, raw: &str) -> RpcResult<String> {
    let tx: SignedTransaction = decode_hex("tx", raw)?;
    node.submit(tx)
        .map(|id| id.to_string())
        .map_err(|e| rejected(&e))
}

pub(super) fn send_many<L: ChainLedger>(
    node: &Node<L>,
    raws: &[String],
) -> RpcResult<Vec<SendResult>> {
    if raws.len() > MAX_BATCH_TXS {
        return Err(invalid(
            "txs",
            "too_many",
            format!("{} transactions; at most {MAX_BATCH_TXS}", raws.len()),
        ));
    }
    // Entries that do not decode get their error; the others go in, in order.
    let mut txs = Vec::with_capacity(raws.len());
    let mut slots = Vec::with_capacity(raws.len());
    for (i, raw) in raws.iter().enumerate() {
        let decoded = decode_hex::<SignedTransaction>(&format!("txs[{i}]"), raw);
        slots.push(decoded.map(|tx| txs.push(tx)));
    }
    let mut admitted = node.submit_many(txs).into_iter();
    let refused = |e: jsonrpsee::types::ErrorObjectOwned| SendResult::Refused {
        error: ErrorInfo {
            code: e.code(),
            message: e.message().into(),
            data: e.data().and_then(|d| serde_json::from_str(d.get()).ok()),
        },
    };
    Ok(slots
        .into_iter()
        .map(|slot| match slot {
            Err(e) => refused(e),
            Ok(()) => match admitted.next() {
                Some(Ok(id)) => SendResult::Admitted {
                    txid: id.to_string(),
                },
                Some(Err(e)) => refused(rejected(&e)),
                None => refused(node_err("not admitted")),
            },
        })
        .collect())
}

pub(super) fn transaction<L: ChainLedger>(node: &Node<L>, id: &str) -> RpcResult<TxInfo> {
    let id: TxId = parse("txid", id)?;
    if let Some(pooled) = node.mempool().get(&id) {
        return Ok(TxInfo {
            txid: id.to_string(),
            status: TxState::Pending,
            block: None,
            height: None,
            confirmations: 0,
            finalized: false,
            outputs: None,
            tx: hex::encode(codec::encode(&pooled.tx)),
        });
    }
    let Some((hash, height)) = node.index().transaction(&id) else {
        return Err(not_found(format!(
            "transaction {id} is neither pending nor on the best chain"
        )));
    };
    let block = node
        .ledger()
        .block(&hash)
        .map_err(node_err)?
        .ok_or_else(|| node_err("indexed block missing"))?;
    let tx = block
        .transactions
        .iter()
        .find(|t| t.id() == id)
        .ok_or_else(|| node_err("indexed transaction missing"))?;
    Ok(TxInfo {
        txid: id.to_string(),
        status: TxState::Included,
        block: Some(hash.to_string()),
        height: Some(height),
        confirmations: node.status().confirmations(height),
        finalized: node.status().is_final(height),
        outputs: Some(
            tx.tx
                .outputs
                .iter()
                .enumerate()
                .map(|(i, o)| OutputInfo::new(&tx.tx.outpoint(i as u32), o))
                .collect(),
        ),
        tx: hex::encode(codec::encode(tx)),
    })
}

pub(super) fn put_resource<L: ChainLedger>(
    node: &Node<L>,
    uploader: &Uploader,
    data: &str,
    kind: &str,
    name: &str,
) -> RpcResult<String> {
    let kind = resource_kind(kind)?;
    let bytes = unhex("data", data)?;
    node.put_resource_as(uploader, &bytes, kind, name)
        .map(|id| id.to_string())
        .map_err(|e| rejected(&e))
}

pub(super) fn resource<L: ChainLedger>(node: &Node<L>, id: &str) -> RpcResult<String> {
    let id: ContentId = parse("id", id)?;
    node.resources()
        .read(&id)
        .map_err(node_err)?
        .map(hex::encode)
        .ok_or_else(|| not_found(format!("no resource {id}")))
}

pub(super) fn mempool<L: ChainLedger>(node: &Node<L>) -> MempoolInfo {
    let pool = node.mempool();
    MempoolInfo {
        count: pool.len(),
        bytes: pool.bytes(),
    }
}

pub(super) fn mining_status<L: ChainLedger>(node: &Node<L>) -> MiningStatus {
    let status = node.status();
    MiningStatus {
        mining: node.producing(),
        height: status.height,
        tip: status.best.to_string(),
        blocks_mined: node.produced(),
        hash_rate: node.producer().map_or(0, |p| p.hash_rate()),
        block_time_ms: node.config().block_time_ms,
    }
}

pub(super) fn network<L: ChainLedger>(node: &Node<L>) -> RpcResult<wes_net::NetworkHandle> {
    node.network()
        .cloned()
        .ok_or_else(|| not_found("this node runs without networking"))
}

pub(super) fn block_peer<L: ChainLedger>(
    node: &Node<L>,
    peer: &str,
    blocked: bool,
) -> RpcResult<bool> {
    let peer = parse("peer", peer)?;
    let net = network(node)?;
    if blocked {
        net.block_peer(peer)
    } else {
        net.unblock_peer(peer)
    }
    .map_err(node_err)?;
    Ok(true)
}
