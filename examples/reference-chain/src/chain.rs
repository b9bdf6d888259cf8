//! The reference chain's composition: the whole of what this example adds to the library.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use wes_consensus::PowParams;
use wes_core::SecretKey;
use wes_ispc::WasmExecutor;
use wes_ispc::connectors::HttpConnector;
use wes_ispc::halo2::ParamsCache;
use wes_ispc::onnx::OnnxExecutor;
use wes_ledger::{EutxoLedger, SledStore};
use wes_node::{Contracts, Models, NodeBuilder};

use crate::config::NodeConfig;

/// The reference chain's node: the EUTXO ledger on sled.
pub type RefNode = wes_node::Node<EutxoLedger<SledStore>>;

/// Opens (or creates) the chain of `config` in its data directory: mining as `miner` if
/// given and `config.mine`.
///
/// # Errors
/// A bad configuration (an unknown proof system), or the node's.
pub fn open(config: &NodeConfig, miner: Option<&SecretKey>) -> Result<Arc<RefNode>> {
    let dir = &config.data_dir;
    let mut pow = PowParams::devnet(config.chain.chain_id());
    pow.block_time_ms = config.chain.block_time_ms;
    let genesis = config.chain.genesis(pow.pow_limit)?;

    let wasm = Arc::new(WasmExecutor::default());
    for c in &config.connectors {
        let mut connector = HttpConnector::new(&c.url);
        if let Some(name) = &c.signing_key {
            let key = crate::keys::Keystore::open(dir.join("keys.json"))?
                .get(name)
                .with_context(|| format!("connector {}: signing key {name}", c.name))?;
            connector = connector.signed_by(key);
        }
        wasm.connectors()
            .register(&c.name, Arc::new(connector), None);
    }
    let contracts = Contracts::new(wasm);
    let models = Models::new(
        Arc::new(OnnxExecutor::new()),
        Arc::new(ParamsCache::on_disk(dir.join("halo2-params"))),
    );

    let mut settings = wes_node::Config::new(dir);
    settings.block_time_ms = config.chain.block_time_ms;
    // Producers of a height take turns a quarter block apart.
    settings.producer_stagger_ms = config.chain.block_time_ms / 4;
    settings.peer_block_wait_ms = config.chain.block_time_ms;
    settings.checkpoints = config.chain.checkpoints()?;
    settings.min_chain_work = config.chain.min_chain_work()?;
    settings.uploads = config.uploads.config();
    settings.storage = config.storage.config();
    if let Some(blocks) = config.call_validity_blocks {
        settings.call_validity_blocks = blocks;
    }
    for c in &config.connectors {
        if let Some(depth) = c.commit_depth {
            settings
                .settlement
                .commit_depths
                .insert(c.name.clone(), depth);
        }
    }
    let miner = miner.filter(|_| config.mine).map(SecretKey::public_key);
    let mut builder = NodeBuilder::new(settings, genesis)
        .ledger_config(config.chain.ledger_config())
        .pow(pow, miner)
        .contracts(contracts.clone())
        .models(models.clone());
    for system in &config.chain.proof_systems {
        builder = match system.as_str() {
            "replay" => builder.verifier(Arc::new(contracts.verifier())),
            "halo2-ipa" => builder.verifier(Arc::new(models.verifier())),
            other => bail!("unknown proof system {other}"),
        };
    }
    builder.build().context("open the node")
}
