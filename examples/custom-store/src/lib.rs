//! Storage written outside the SDK, plugged into a chain by the `wes-node` library:
//!
//! - [`LogStore`]: the ledger's backend, an append-only log file implementing
//!   [`wes_ledger::KvStore`] (point reads, atomic and durable batches);
//! - [`DirStore`]: the resource store, a plain directory of files implementing
//!   [`wes_core::ResourceStore`] (content-addressed, verified reads, counted pins, GC).
//!
//! [`demo`] runs a chain on both: `NodeBuilder::ledger(|ctx| ctx.eutxo(LogStore::open(..)?))`
//! and `NodeBuilder::resource_store(DirStore::open(..)?)`, the library's defaults for the
//! rest.

pub mod dir_store;
pub mod log_store;

pub use dir_store::{DirStore, DirStoreError};
pub use log_store::LogStore;

/// A small chain on the user's stores: a single instant-seal authority, a transfer from
/// alice to bob in every block, and a file registered on chain in the first.
pub mod demo {
    use std::path::Path;
    use std::sync::Arc;

    use anyhow::{Context, Result};
    use wes_core::{
        ChainId, CompactTarget, ContentId, Genesis, Input, Lock, Output, OutputBody, ResourceKind,
        ResourceStore, SecretKey, TokenId, Transaction, ValidityWindow,
    };
    use wes_ledger::EutxoLedger;
    use wes_node::{Config, Consensus, Node, NodeBuilder, NodeError};

    use crate::{DirStore, LogStore};

    /// The demo chain's id.
    pub const CHAIN: ChainId = ChainId(4242);

    /// The file the first block registers.
    pub const FILE: &[u8] = b"terms of service, version 1";

    /// The demo chain's node: the EUTXO ledger on the log store.
    pub type DemoNode = Node<EutxoLedger<LogStore>>;

    fn genesis() -> Genesis {
        Genesis {
            chain_id: CHAIN,
            time_ms: 1_767_225_600_000,
            target: CompactTarget(0),
            allocations: vec![Output::asset(
                Lock::key(SecretKey::dev("alice").public_key()),
                TokenId::Native,
                1_000_000_000,
            )],
            message: "custom store".into(),
        }
    }

    /// The chain in `dir`: ledger in `dir/ledger.log`, resources in `dir/resources/`.
    ///
    /// # Errors
    /// A store cannot be opened, or the node's.
    pub fn open(dir: &Path) -> Result<Arc<DemoNode>, NodeError> {
        let log = LogStore::open(dir.join("ledger.log")).map_err(NodeError::ledger)?;
        let files =
            DirStore::open(dir.join("resources")).map_err(|e| NodeError::Config(e.to_string()))?;
        NodeBuilder::new(Config::new(dir), genesis())
            // The swap: the user's stores.
            .ledger(move |ctx| ctx.eutxo(log))
            .resource_store(files)
            .consensus(|_| {
                Ok(Consensus::instant_seal(
                    CHAIN,
                    SecretKey::dev("sealer"),
                    1_000,
                ))
            })
            .build()
    }

    /// Alice's largest coin, from the node's index.
    fn alice_coin(node: &DemoNode) -> Result<(wes_core::OutPoint, u128)> {
        node.index()
            .outputs_of(&Lock::key(SecretKey::dev("alice").public_key()).address())
            .into_iter()
            .filter_map(|(op, o)| o.as_asset().map(|a| (op, a.amount)))
            .max_by_key(|(_, a)| *a)
            .context("alice has no coin")
    }

    /// Produces `blocks` blocks, each with a transfer of 1 000 from alice to bob; the first
    /// block of the chain also registers [`FILE`], stored in the directory store. Returns
    /// the height before and after.
    ///
    /// # Errors
    /// The node's.
    pub fn run(dir: &Path, blocks: u64) -> Result<(u64, u64)> {
        let node = open(dir)?;
        let before = node.status().height;
        let alice = SecretKey::dev("alice");
        let bob = Lock::key(SecretKey::dev("bob").public_key());
        for _ in 0..blocks {
            let (coin, amount) = alice_coin(&node)?;
            let mut outputs = vec![Output::asset(bob.clone(), TokenId::Native, 1_000)];
            let mut fee = 1_000;
            if node.status().height == 0 {
                let id = node.put_resource(FILE, ResourceKind::File, "terms.txt")?;
                let stat = node.resources().stat(&id)?.context("just stored")?;
                outputs.push(Output {
                    lock: Lock::key(alice.public_key()),
                    body: OutputBody::Resource(stat.body()),
                });
                fee += 10_000;
            }
            outputs.push(Output::asset(
                Lock::key(alice.public_key()),
                TokenId::Native,
                amount - 1_000 - fee,
            ));
            let tx = Transaction {
                version: Transaction::VERSION,
                chain_id: CHAIN,
                inputs: vec![Input::spend(coin)],
                outputs,
                validity: ValidityWindow::ALWAYS,
                execution: None,
            };
            node.submit(tx.sign(&[&alice]))?;
            let (_, _, n) = node.produce_block()?;
            anyhow::ensure!(n == 1, "the block did not include the transaction");
        }
        Ok((before, node.status().height))
    }

    /// What bob holds, from the node's index (rebuilt from the log at start).
    ///
    /// # Errors
    /// The node's.
    pub fn balance_of_bob(dir: &Path) -> Result<u128> {
        let node = open(dir)?;
        Ok(node
            .index()
            .outputs_of(&Lock::key(SecretKey::dev("bob").public_key()).address())
            .iter()
            .filter_map(|(_, o)| o.as_asset().map(|a| a.amount))
            .sum())
    }

    /// The file registered on chain: its content id (from its Resource output) and its
    /// bytes, read back (verified) from the directory store.
    ///
    /// # Errors
    /// The node's.
    pub fn registered_file(dir: &Path) -> Result<(ContentId, Vec<u8>)> {
        let node = open(dir)?;
        let alice = Lock::key(SecretKey::dev("alice").public_key()).address();
        let id = node
            .index()
            .outputs_of(&alice)
            .iter()
            .find_map(|(_, o)| o.as_resource().map(|r| r.content))
            .context("no registered file")?;
        let bytes = node.resources().read(&id)?.context("file not stored")?;
        Ok((id, bytes))
    }
}
