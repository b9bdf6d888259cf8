//! The `wes_*` API, defined once: jsonrpsee generates the server trait the node implements
//! ([`WesApiServer`]) and the client any jsonrpsee client gets ([`WesApiClient`], over HTTP
//! or WebSocket), so the two cannot drift. `RPC.md` documents the same methods.
//!
//! Parameters are positional. Identifiers travel as strings (see [`super::types`]); the
//! server parses them and names the parameter in the error's `data` when one is wrong.

use std::collections::BTreeMap;

use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use wes_net::NetInfo;

use super::types::{
    BlockInfo, CallParams, ConstructedTx, DeployedModel, InferParams, MempoolInfo, MiningStatus,
    ModelRun, OutputInfo, Page, SendResult, TxInfo,
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

    /// Admits a signed transaction (hex of its encoding) to the mempool; its id.
    #[method(name = "sendRawTransaction", blocking)]
    fn send_raw_transaction(&self, tx: String) -> RpcResult<String>;

    /// Admits many signed transactions in order; one result each.
    #[method(name = "sendRawTransactions", blocking)]
    fn send_raw_transactions(&self, txs: Vec<String>) -> RpcResult<Vec<SendResult>>;

    /// A pooled or included transaction.
    #[method(name = "getTransaction", blocking)]
    fn get_transaction(&self, txid: String) -> RpcResult<TxInfo>;

    /// Stores a resource (hex bytes) of `kind` in URES; its content id.
    #[method(name = "putResource", blocking)]
    fn put_resource(&self, data: String, kind: String, name: String) -> RpcResult<String>;

    /// A stored resource's bytes, hex.
    #[method(name = "getResource", blocking)]
    fn get_resource(&self, id: String) -> RpcResult<String>;

    /// Executes a contract call once and returns the transaction carrying it, to sign.
    #[method(name = "constructCall", blocking)]
    fn construct_call(&self, call: CallParams) -> RpcResult<ConstructedTx>;

    /// Stores an ONNX model and its halo2 circuit.
    #[method(name = "deployModel", blocking)]
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
}
