//! The values the `wes_*` methods take and return, as they travel: shared by the server
//! and the Rust client ([`super::api`]), and the shapes `RPC.md` documents.
//!
//! Binary values are hex of their canonical `wes_core::codec` encoding; ids hex; outpoints
//! `"<txid>:<index>"`; owners bech32m addresses; amounts decimal strings (they are u128).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wes_core::{OutPoint, Output, OutputBody, codec};

use super::json::token_name;

/// A block (`wes_getBlockByHeight`, `wes_getBlockByHash`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockInfo {
    /// Its hash.
    pub hash: String,
    /// Its height.
    pub height: u64,
    /// Its parent's hash.
    pub parent: String,
    /// Its timestamp, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Its confirmations on the best chain (1 for the tip); `None` off the best chain.
    pub confirmations: Option<u64>,
    /// The ids of its transactions, coinbase first.
    pub transactions: Vec<String>,
    /// The whole block, hex of its encoding.
    pub encoded: String,
}

/// An output's body, readable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum OutputBodyInfo {
    /// An amount of a token.
    Asset {
        /// `native`, or the hex of the encoded `TokenId`.
        token: String,
        /// The amount, decimal.
        amount: String,
    },
    /// A registered resource (contract code, model, file).
    Resource {
        /// Its content id.
        content: String,
        /// Its kind (`Wasm`, `Onnx`, `File`, `Custom(n)`).
        kind: String,
        /// Its size in bytes.
        size: u64,
        /// Its name.
        name: String,
        /// A model's circuit resource, if it has one.
        verifying_key: Option<String>,
    },
    /// A contract's state under a key.
    State {
        /// The contract.
        contract: String,
        /// The key, hex.
        key: String,
        /// The value, hex.
        data: String,
        /// How many times the key was written.
        version: u64,
    },
}

/// An unspent output (`wes_getOutput`, `wes_getUtxos`, a transaction's outputs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputInfo {
    /// Where it is.
    pub outpoint: String,
    /// The address of its lock.
    pub owner: String,
    /// What it holds.
    pub body: OutputBodyInfo,
    /// The output, hex of its encoding.
    pub encoded: String,
    /// Whether a pooled (not yet confirmed) transaction creates it (`wes_getUtxos` with the
    /// `"pending"` tag); `false` otherwise.
    #[serde(default)]
    pub pending: bool,
}

impl OutputInfo {
    /// `out` at `op`, as the RPC shows it.
    pub fn new(op: &OutPoint, out: &Output) -> Self {
        let body = match &out.body {
            OutputBody::Asset(a) => OutputBodyInfo::Asset {
                token: token_name(&a.token),
                amount: a.amount.to_string(),
            },
            OutputBody::Resource(r) => OutputBodyInfo::Resource {
                content: r.content.to_string(),
                kind: format!("{:?}", r.kind),
                size: r.size,
                name: r.meta.name.clone(),
                verifying_key: r.meta.verifying_key.map(|h| h.to_string()),
            },
            OutputBody::State(s) => OutputBodyInfo::State {
                contract: s.contract.to_string(),
                key: hex::encode(&s.key),
                data: hex::encode(&s.data),
                version: s.version,
            },
        };
        OutputInfo {
            outpoint: op.to_string(),
            owner: out.lock.address().to_string(),
            body,
            encoded: hex::encode(codec::encode(out)),
            pending: false,
        }
    }
}

/// Which outputs of an owner one `wes_getUtxos` answer holds: those after `after`, at
/// most `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// The last outpoint of the previous page (`"<txid>:<index>"`); the first page without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The most entries to return ([`Page::DEFAULT_LIMIT`] without, at most
    /// [`Page::MAX_LIMIT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl Page {
    /// Entries in a page when the request names no limit.
    pub const DEFAULT_LIMIT: usize = 1_000;
    /// The largest page.
    pub const MAX_LIMIT: usize = 10_000;
}

/// Where a transaction is (`wes_getTransaction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TxState {
    /// In this node's mempool.
    Pending,
    /// In a block of the best chain.
    Included,
}

/// A transaction and where it is (`wes_getTransaction`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxInfo {
    /// Its id.
    pub txid: String,
    /// Pooled or included.
    pub status: TxState,
    /// The block holding it, once included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<String>,
    /// That block's height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// Confirmations on the best chain (0 while pending).
    pub confirmations: u64,
    /// Whether its block is final: no reorganisation of this node reverts it
    /// (`GET /health` gives the final height).
    #[serde(default)]
    pub finalized: bool,
    /// Its outputs, once included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<OutputInfo>>,
    /// The signed transaction, hex of its encoding.
    pub tx: String,
}

/// A JSON-RPC error object, as it appears inside a batch answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// The error code (see `rpc::code`).
    pub code: i32,
    /// What went wrong.
    pub message: String,
    /// Machine-readable details ([`ErrorData`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<ErrorData>,
}

/// The `data` of a `wes_*` error: which input, which rule, whose fault.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorData {
    /// The parameter that is wrong (`"txid"`, `"fee_inputs[1]"`…), for invalid parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// The rule that refused the request, `snake_case` and stable (`"fee_too_low"`,
    /// `"missing_input"`, `"not_hex"`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Whose fault: `"input"` (retrying the same request fails again), `"unavailable"`
    /// (it may succeed later) or `"local"` (the node failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// A contract call that failed with one of the contract's declared errors: its code, name
    /// and message, decoded with the contract's ABI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_error: Option<wes_ispc::abi::DecodedError>,
}

/// One transaction's result in a `wes_sendRawTransactions` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SendResult {
    /// Admitted to the mempool.
    Admitted {
        /// Its id.
        txid: String,
    },
    /// Refused.
    Refused {
        /// Why.
        error: ErrorInfo,
    },
}

/// A transaction the node constructed (`wes_constructCall`, `wes_constructInference`),
/// unsigned, with its proof and what the run returned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConstructedTx {
    /// Its id.
    pub txid: String,
    /// The unsigned transaction, hex of its encoding.
    pub tx: String,
    /// The proof, hex.
    pub proof: String,
    /// Compute units the run used.
    pub cu_used: u64,
    /// What the entry returned, hex.
    pub return_data: String,
    /// A model's result (`wes_constructInference`: `{outputs, labels}`); for a call of a
    /// contract with an ABI, `{returns, events}` decoded with it (`null` without one).
    #[serde(default)]
    pub result: Value,
}

/// Parameters of `wes_constructCall`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallParams {
    /// The contract's code resource id.
    pub resource: String,
    /// The entry function.
    pub entry: String,
    /// Arguments, hex.
    #[serde(default)]
    pub args: String,
    /// Arguments as JSON, by name (`{"amount": "5"}`) or in order, encoded with the
    /// contract's ABI; instead of `args`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typed_args: Option<Value>,
    /// Who pays, and how much compute (the same fields, at the same level, in JSON).
    #[serde(flatten)]
    pub payment: PaymentParams,
}

/// Parameters of `wes_constructInference`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InferParams {
    /// The model's Resource output (`txid:index`).
    pub model: String,
    /// One row of input.
    pub input: Vec<f32>,
    /// Who pays, and how much compute (the same fields, at the same level, in JSON).
    #[serde(flatten)]
    pub payment: PaymentParams,
}

/// Who pays for a construction (`wes_constructCall`, `wes_constructInference`): fee
/// inputs, change key, fee and its token, a sponsor pool, and the compute limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentParams {
    /// The caller's fee inputs (`txid:index`); the first one names the caller. May be
    /// empty with a `sponsor`.
    #[serde(default)]
    pub fee_inputs: Vec<String>,
    /// The public key (hex) change goes to; not needed with a `sponsor` (the change goes
    /// back to the pool).
    #[serde(default)]
    pub change: Option<String>,
    /// The fee, decimal, in `fee_token`.
    pub fee: String,
    /// The token the fee is paid in, as the RPC names tokens (`native`, the default, or the
    /// hex of an encoded token id); one of `wes_feeTokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_token: Option<String>,
    /// A sponsor pool (`txid:index` of its output) that pays the fee: the first fee input,
    /// its change back to the pool. The call then needs no signature of the caller's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sponsor: Option<String>,
    /// Compute-unit limit.
    #[serde(default = "default_cu")]
    pub cu_limit: u64,
}

/// The compute-unit limit of a construction that names none.
pub const DEFAULT_CU_LIMIT: u64 = 1_000_000;

fn default_cu() -> u64 {
    DEFAULT_CU_LIMIT
}

/// A deployed model (`wes_deployModel`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployedModel {
    /// The model's content id.
    pub model: String,
    /// Its halo2 circuit file's content id.
    pub circuit: String,
    /// The body of the Resource output that registers it, hex of its encoding.
    pub resource_body: String,
}

/// A model run off chain (`wes_callModel`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRun {
    /// The model's content id.
    pub model: String,
    /// Its outputs.
    pub outputs: Vec<wes_ispc::onnx::ModelOutput>,
    /// What this is (f32 on candle, not proven).
    pub note: String,
}

/// The mempool's size (`wes_mempool`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MempoolInfo {
    /// Transactions held.
    pub count: usize,
    /// Their encoded bytes.
    pub bytes: usize,
}

/// Block production (`wes_miningStatus`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiningStatus {
    /// Whether this node produces blocks.
    pub mining: bool,
    /// The best tip's height.
    pub height: u64,
    /// The best tip's hash.
    pub tip: String,
    /// Blocks this node produced since it started.
    pub blocks_mined: u64,
    /// Hashes per second of the proof-of-work search (0 without one).
    pub hash_rate: u64,
    /// The target block time.
    pub block_time_ms: u64,
}

/// A block that became part of the best chain (`wes_subscribeNewHeads`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Its hash.
    pub hash: String,
    /// Its height.
    pub height: u64,
    /// Its parent's hash.
    pub parent: String,
    /// Its timestamp, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// How many transactions it holds, coinbase included.
    pub transactions: usize,
    /// The blocks it replaced, tip first: non-empty for the first head of a
    /// reorganisation, whose blocks left the best chain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reverted: Vec<String>,
}

/// Where a watched transaction is (`wes_subscribeTransaction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Watched {
    /// In this node's mempool.
    Pending,
    /// In a block of the best chain.
    Included,
    /// It left the mempool without being included (a conflicting transaction won, its
    /// validity window passed, or a block refused it). It may still come back.
    Dropped,
    /// Neither pooled nor on the best chain, and not seen leaving: not sent yet, or
    /// reverted by a reorganisation and not admitted again.
    Unknown,
}

/// A status change of a watched transaction (`wes_subscribeTransaction`): sent when it is
/// subscribed to, and whenever its status, block or confirmations change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxStatus {
    /// The transaction.
    pub txid: String,
    /// Where it is.
    pub status: Watched,
    /// The block holding it, once included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<String>,
    /// That block's height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// Confirmations on the best chain (0 unless included).
    pub confirmations: u64,
    /// Whether its block is final: no reorganisation of this node reverts it.
    #[serde(default)]
    pub finalized: bool,
}

/// Which logs `wes_getLogs` lists, and which a log subscription sends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFilter {
    /// The first height (`wes_getLogs`; default: `to_block`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_block: Option<u64>,
    /// The last height, inclusive (`wes_getLogs`; default: the best tip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_block: Option<u64>,
    /// Emitting contracts (ids, hex); any of them matches, every contract when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contracts: Vec<String>,
    /// Topics; any of them matches, every topic when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
    /// `wes_getLogs`: start after this position (`"height:tx:log"`, the `next` of the
    /// previous page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// `wes_getLogs`: the most logs in the answer ([`LogFilter::DEFAULT_LIMIT`] without, at
    /// most [`LogFilter::MAX_LIMIT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl LogFilter {
    /// Logs in a page when the filter names no limit.
    pub const DEFAULT_LIMIT: usize = 1_000;
    /// The largest page.
    pub const MAX_LIMIT: usize = 10_000;
    /// The most blocks one `wes_getLogs` request may span.
    pub const MAX_RANGE: u64 = 10_000;
}

/// A contract's log (event) and where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Log {
    /// The emitting contract.
    pub contract: String,
    /// The topic.
    pub topic: String,
    /// The data, hex.
    pub data: String,
    /// The block holding the transaction.
    pub block: String,
    /// That block's height.
    pub height: u64,
    /// The transaction.
    pub txid: String,
    /// The transaction's position in the block.
    pub tx_index: u32,
    /// The log's position among the transaction's logs.
    pub log_index: u32,
    /// `"height:tx:log"`, the order logs are listed in (a page's `after`).
    pub position: String,
    /// A subscription's log whose block left the best chain (a reorganisation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

impl Log {
    /// `entry` as the RPC shows it.
    pub fn new(entry: &crate::events::LogEntry, removed: bool) -> Self {
        Log {
            contract: entry.log.contract.to_string(),
            topic: entry.log.topic.clone(),
            data: hex::encode(&entry.log.data),
            block: entry.log.block.to_string(),
            height: entry.height,
            txid: entry.log.txid.to_string(),
            tx_index: entry.tx_index,
            log_index: entry.log_index,
            position: entry.position().to_string(),
            removed,
        }
    }
}

/// One page of `wes_getLogs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPage {
    /// The logs, in order of position.
    pub logs: Vec<Log>,
    /// When more logs match in the range: the `after` of the next page.
    pub next: Option<String>,
    /// The last height this answer covers (the range's end, or the highest indexed
    /// height when the index is behind it).
    pub to_block: u64,
}

/// A token the chain accepts fees in, and its minimum (`wes_feeTokens`): a transaction of
/// One external-call op in the node's settlement journal (`wes_settlements`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementOp {
    /// The op id (hex): the connector's idempotency key.
    pub op: String,
    /// The connector's name.
    pub connector: String,
    /// The contract that made the call (hex).
    pub contract: String,
    /// The transactions carrying it, once constructed (more than one when the same call was
    /// constructed again; at most one can be included).
    pub txids: Vec<String>,
    /// What the connector acknowledged: `preparing`, `prepared`, `committed`,
    /// `compensated` or `aborted`.
    pub state: crate::settlement::OpState,
    /// The height of the best chain's block holding the transaction, when last looked.
    pub included_at: Option<u64>,
    /// The last height one of its transactions may be included at.
    pub valid_until: Option<u64>,
    /// Failed tries of the current move.
    pub attempts: u32,
    /// The last failure.
    pub last_error: Option<String>,
    /// Whether the current move has been failing for longer than the stuck limit.
    pub stuck: bool,
}

impl SettlementOp {
    /// The RPC's view of `record`.
    pub fn new(record: &crate::settlement::OpRecord, stuck: bool) -> Self {
        SettlementOp {
            op: record.op.op.to_hex(),
            connector: record.op.connector.clone(),
            contract: record.contract.0.to_hex(),
            txids: record.txs.iter().map(|t| t.txid.to_string()).collect(),
            state: record.state,
            included_at: record.included_at,
            valid_until: record.valid_until(),
            attempts: record.attempts,
            last_error: record.last_error.clone(),
            stuck,
        }
    }
}

/// `size` bytes whose execution used `cu` compute units pays at least
/// `per_byte × size + per_cu × cu` of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeToken {
    /// The token as the RPC names it (`native`, or the hex of its encoded id).
    pub token: String,
    /// Per encoded byte, decimal.
    pub per_byte: String,
    /// Per compute unit, decimal.
    pub per_cu: String,
}
