//! The `wes_*` API, defined once: jsonrpsee generates the server traits the node implements
//! ([`WesApiServer`], [`WesPubSubApiServer`]) and the clients any jsonrpsee client gets
//! ([`WesApiClient`] over HTTP or WebSocket, [`WesPubSubApiClient`] over WebSocket), so the
//! two sides cannot drift. `RPC.md` documents the same methods.
//!
//! Parameters are positional. Identifiers travel as strings (see [`super::types`]); the
//! server parses them and names the parameter in the error's `data` when one is wrong.

use std::collections::BTreeMap;

use jsonrpsee::core::{RpcResult, SubscriptionResult};
use jsonrpsee::proc_macros::rpc;
use wes_ispc::abi::ContractAbi;
use wes_net::NetInfo;

use super::types::{
    BlockInfo, CallParams, ConstructedTx, DeployedModel, FeeToken, Head, InferParams, Log,
    LogFilter, LogPage, MempoolInfo, MiningStatus, ModelRun, OutputInfo, Page, SendResult,
    SettlementOp, TxInfo, TxStatus,
};

/// Reads, submissions and constructions.
#[rpc(server, client, namespace = "wes")]
pub trait WesApi {
    /// The chain's id.
    #[method(name = "chainId")]
    fn chain_id(&self) -> RpcResult<u32>;

    /// The best tip's height.
    #[method(name = "blockNumber")]
    fn block_number(&self) -> RpcResult<u64>;

    /// The block of the best chain at `height`.
    #[method(name = "getBlockByHeight", blocking)]
    fn get_block_by_height(&self, height: u64) -> RpcResult<BlockInfo>;

    /// A block by its hash, on the best chain or not.
    #[method(name = "getBlockByHash", blocking)]
    fn get_block_by_hash(&self, hash: String) -> RpcResult<BlockInfo>;

    /// An owner's balance by token (`tag`: `"latest"`, the default, or `"pending"`).
    #[method(name = "getBalance", blocking)]
    fn get_balance(
        &self,
        owner: String,
        tag: Option<String>,
    ) -> RpcResult<BTreeMap<String, String>>;

    /// An owner's unspent outputs, in outpoint order, one page at a time.
    #[method(name = "getUtxos", blocking)]
    fn get_utxos(
        &self,
        owner: String,
        tag: Option<String>,
        page: Option<Page>,
    ) -> RpcResult<Vec<OutputInfo>>;

    /// One unspent output.
    #[method(name = "getOutput", blocking)]
    fn get_output(&self, outpoint: String) -> RpcResult<OutputInfo>;

    /// A contract's live State output under `key` (hex), on the best chain.
    #[method(name = "getState", blocking)]
    fn get_state(&self, contract: String, key: String) -> RpcResult<OutputInfo>;

    /// Admits a signed transaction (hex of its encoding) to the mempool; its id.
    #[method(name = "sendRawTransaction", blocking)]
    fn send_raw_transaction(&self, tx: String) -> RpcResult<String>;

    /// Admits many signed transactions in order; one result each.
    #[method(name = "sendRawTransactions", blocking)]
    fn send_raw_transactions(&self, txs: Vec<String>) -> RpcResult<Vec<SendResult>>;

    /// A pooled or included transaction.
    #[method(name = "getTransaction", blocking)]
    fn get_transaction(&self, txid: String) -> RpcResult<TxInfo>;

    /// Stores a resource (hex bytes) of `kind` in URES; its content id. Leased for the
    /// caller: a client without the node's token within its share of the upload quota.
    #[method(name = "putResource", blocking, with_extensions)]
    fn put_resource(&self, data: String, kind: String, name: String) -> RpcResult<String>;

    /// A stored resource's bytes, hex.
    #[method(name = "getResource", blocking)]
    fn get_resource(&self, id: String) -> RpcResult<String>;

    /// The ABI a stored contract module carries (`null` if it carries none).
    #[method(name = "getContractAbi", blocking)]
    fn get_contract_abi(&self, resource: String) -> RpcResult<Option<ContractAbi>>;

    /// Executes a contract call once and returns the transaction carrying it, to sign.
    #[method(name = "constructCall", blocking)]
    fn construct_call(&self, call: CallParams) -> RpcResult<ConstructedTx>;

    /// Stores an ONNX model and its halo2 circuit, leased for the caller as
    /// `putResource` does.
    #[method(name = "deployModel", blocking, with_extensions)]
    fn deploy_model(&self, data: String, name: String) -> RpcResult<DeployedModel>;

    /// Runs and proves an inference, and returns the transaction carrying it, to sign.
    #[method(name = "constructInference", blocking)]
    fn construct_inference(&self, call: InferParams) -> RpcResult<ConstructedTx>;

    /// Runs a model off chain, unproven.
    #[method(name = "callModel", blocking)]
    fn call_model(&self, model: String, input: Vec<f32>) -> RpcResult<ModelRun>;

    /// The mempool's size.
    #[method(name = "mempool")]
    fn mempool(&self) -> RpcResult<MempoolInfo>;

    /// Block production.
    #[method(name = "miningStatus")]
    fn mining_status(&self) -> RpcResult<MiningStatus>;

    /// The network's state.
    #[method(name = "netInfo")]
    async fn net_info(&self) -> RpcResult<NetInfo>;

    /// Disconnects a peer and refuses it until unblocked.
    #[method(name = "netBlockPeer")]
    fn net_block_peer(&self, peer: String) -> RpcResult<bool>;

    /// Lifts a block and dials the peer again.
    #[method(name = "netUnblockPeer")]
    fn net_unblock_peer(&self, peer: String) -> RpcResult<bool>;

    /// The tokens the chain accepts fees in, with their minimums.
    #[method(name = "feeTokens")]
    fn fee_tokens(&self) -> RpcResult<Vec<FeeToken>>;

    /// Contract logs over a range of blocks of the best chain, filtered, one page at a time.
    #[method(name = "getLogs", blocking)]
    fn get_logs(&self, filter: LogFilter) -> RpcResult<LogPage>;

    /// The external-call ops the node is settling (with `stuck_only`, those stuck).
    #[method(name = "settlements")]
    fn settlements(&self, stuck_only: Option<bool>) -> RpcResult<Vec<SettlementOp>>;
}

/// Subscriptions, over WebSocket: each sends notifications until unsubscribed or closed.
/// Separate from [`WesApi`] so that HTTP clients (which cannot subscribe) get the calls.
#[rpc(server, client, namespace = "wes")]
pub trait WesPubSubApi {
    /// Every block that becomes part of the best chain, parent first; the first head of a
    /// reorganisation names the blocks it replaced. Notifications: `wes_newHead`.
    #[subscription(
        name = "subscribeNewHeads" => "newHead",
        unsubscribe = "unsubscribeNewHeads",
        item = Head
    )]
    async fn subscribe_new_heads(&self) -> SubscriptionResult;

    /// The status of transaction `txid` now, then each change: pooled, included (and each
    /// new confirmation), dropped, reverted. Notifications: `wes_transactionStatus`.
    #[subscription(
        name = "subscribeTransaction" => "transactionStatus",
        unsubscribe = "unsubscribeTransaction",
        item = TxStatus
    )]
    async fn subscribe_transaction(&self, txid: String) -> SubscriptionResult;

    /// Logs matching `filter`'s contracts and topics, as blocks join the best chain; those
    /// of blocks that leave it again, with `removed: true`. The filter's range and page
    /// fields are ignored. Notifications: `wes_log`.
    #[subscription(name = "subscribeLogs" => "log", unsubscribe = "unsubscribeLogs", item = Log)]
    async fn subscribe_logs(&self, filter: LogFilter) -> SubscriptionResult;
}
