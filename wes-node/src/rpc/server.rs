//! The node's implementation of the `wes_*` API ([`super::api`]): each method is a
//! function of [`super::reads`] or [`super::construct`].

use std::collections::BTreeMap;
use std::sync::Arc;

use jsonrpsee::Extensions;
use jsonrpsee::core::{RpcResult, async_trait};
use wes_ispc::abi::ContractAbi;
use wes_net::NetInfo;

use super::api::WesApiServer;
use super::types::{
    BlockInfo, CallParams, ConstructedTx, DeployedModel, FeeToken, InferParams, LogFilter, LogPage,
    MempoolInfo, MiningStatus, ModelRun, OutputInfo, Page, SendResult, SettlementOp, TxInfo,
};
use super::{access, construct, logs, node_err, not_found, reads};
use crate::ledger::ChainLedger;
use crate::node::Node;

/// The `wes_*` methods over one node ([`WesRpc::into_rpc`](WesApiServer::into_rpc) makes
/// them an `RpcModule`).
pub struct WesRpc<L: ChainLedger> {
    node: Arc<Node<L>>,
}

impl<L: ChainLedger> WesRpc<L> {
    /// The methods over `node`.
    pub fn new(node: Arc<Node<L>>) -> Self {
        WesRpc { node }
    }
}

#[async_trait]
impl<L: ChainLedger> WesApiServer for WesRpc<L> {
    fn chain_id(&self) -> RpcResult<u32> {
        Ok(self.node.chain_id().0)
    }

    fn block_number(&self) -> RpcResult<u64> {
        Ok(self.node.status().height)
    }

    fn get_block_by_height(&self, height: u64) -> RpcResult<BlockInfo> {
        reads::block_at(&self.node, height)
    }

    fn get_block_by_hash(&self, hash: String) -> RpcResult<BlockInfo> {
        reads::block(&self.node, &super::json::parse("hash", &hash)?)
    }

    fn get_balance(
        &self,
        owner: String,
        tag: Option<String>,
    ) -> RpcResult<BTreeMap<String, String>> {
        reads::balance(&self.node, &owner, tag.as_deref())
    }

    fn get_utxos(
        &self,
        owner: String,
        tag: Option<String>,
        page: Option<Page>,
    ) -> RpcResult<Vec<OutputInfo>> {
        reads::utxos(&self.node, &owner, tag.as_deref(), page)
    }

    fn get_output(&self, outpoint: String) -> RpcResult<OutputInfo> {
        reads::output(&self.node, &outpoint)
    }

    fn get_state(&self, contract: String, key: String) -> RpcResult<OutputInfo> {
        reads::state(&self.node, &contract, &key)
    }

    fn send_raw_transaction(&self, tx: String) -> RpcResult<String> {
        reads::send(&self.node, &tx)
    }

    fn send_raw_transactions(&self, txs: Vec<String>) -> RpcResult<Vec<SendResult>> {
        reads::send_many(&self.node, &txs)
    }

    fn get_transaction(&self, txid: String) -> RpcResult<TxInfo> {
        reads::transaction(&self.node, &txid)
    }

    fn put_resource(
        &self,
        ext: &Extensions,
        data: String,
        kind: String,
        name: String,
    ) -> RpcResult<String> {
        reads::put_resource(&self.node, &access::uploader(ext), &data, &kind, &name)
    }

    fn get_resource(&self, id: String) -> RpcResult<String> {
        reads::resource(&self.node, &id)
    }

    fn get_contract_abi(&self, resource: String) -> RpcResult<Option<ContractAbi>> {
        construct::contract_abi(&self.node, &resource)
    }

    fn construct_call(&self, call: CallParams) -> RpcResult<ConstructedTx> {
        construct::call(&self.node, call)
    }

    fn deploy_model(
        &self,
        ext: &Extensions,
        data: String,
        name: String,
    ) -> RpcResult<DeployedModel> {
        construct::deploy_model(&self.node, &access::uploader(ext), &data, &name)
    }

    fn construct_inference(&self, call: InferParams) -> RpcResult<ConstructedTx> {
        construct::inference(&self.node, call)
    }

    fn call_model(&self, model: String, input: Vec<f32>) -> RpcResult<ModelRun> {
        construct::call_model(&self.node, &model, &input)
    }

    fn mempool(&self) -> RpcResult<MempoolInfo> {
        Ok(reads::mempool(&self.node))
    }

    fn mining_status(&self) -> RpcResult<MiningStatus> {
        Ok(reads::mining_status(&self.node))
    }

    async fn net_info(&self) -> RpcResult<NetInfo> {
        reads::network(&self.node)?.info().await.map_err(node_err)
    }

    fn net_block_peer(&self, peer: String) -> RpcResult<bool> {
        reads::block_peer(&self.node, &peer, true)
    }

    fn net_unblock_peer(&self, peer: String) -> RpcResult<bool> {
        reads::block_peer(&self.node, &peer, false)
    }

    fn fee_tokens(&self) -> RpcResult<Vec<FeeToken>> {
        Ok(construct::fee_tokens(&self.node))
    }

    fn get_logs(&self, filter: LogFilter) -> RpcResult<LogPage> {
        logs::get_logs(&self.node, &filter)
    }

    fn settlements(&self, stuck_only: Option<bool>) -> RpcResult<Vec<SettlementOp>> {
        let settlement = self
            .node
            .settlement()
            .ok_or_else(|| not_found("this chain runs no WASM contracts"))?;
        Ok(settlement
            .ops()
            .iter()
            .map(|r| SettlementOp::new(r, settlement.is_stuck(r)))
            .filter(|op| op.stuck || !stuck_only.unwrap_or(false))
            .collect())
    }
}
