//! What the integration tests share: blocks in memory behind [`ChainBackend`], with a pool
//! of transactions, and real network services on 127.0.0.1.
#![allow(dead_code)] // each test file uses its part

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wes_core::{
    Block, BlockHash, BlockHeader, ChainId, Chunk, CompactTarget, ContentId, Hash, PublicKey,
    SignedTransaction, TxId,
};
use wes_net::libp2p::identity::Keypair;
use wes_net::{ChainBackend, Imported, NetConfig, NetworkHandle, Rejection, Status, start};
use wes_ures::SourceError;

pub const CHAIN: ChainId = ChainId(11);

/// The proof of a transaction [`Memory`] refuses as invalid everywhere.
pub const INVALID: &[u8] = b"invalid everywhere";

pub fn block(parent: BlockHash, height: u64, nonce: u64) -> Block {
    Block {
        header: BlockHeader {
            version: 1,
            chain_id: CHAIN,
            parent,
            height,
            time_ms: 0,
            tx_root: Hash::default(),
            witness_root: Hash::default(),
            state_root: Hash::default(),
            producer: PublicKey([0; 32]),
            target: CompactTarget(0),
            nonce,
            seal: Vec::new(),
        },
        transactions: Vec::new(),
    }
}

/// Genesis and `len` blocks after it, siblings told apart by `nonce`.
pub fn chain(len: u64, nonce: u64) -> Vec<Block> {
    let mut blocks = vec![block(BlockHash::default(), 0, 0)];
    for h in 1..=len {
        let parent = blocks.last().unwrap().hash();
        blocks.push(block(parent, h, nonce));
    }
    blocks
}

/// A chain in memory, one unit of work per block; `claim` overrides the work its status
/// reports. Imported blocks are appended when they extend it.
pub struct Memory {
    pub blocks: Mutex<Vec<Block>>,
    pub claim: Option<u128>,
    /// Bodies the node was given by sync or gossip.
    pub imported: Mutex<Vec<BlockHash>>,
    /// The mempool, by transaction id.
    pub pool: Mutex<HashMap<TxId, SignedTransaction>>,
    /// Serve blocks with their transactions out of order (a lying peer).
    pub lie: AtomicBool,
}

impl Memory {
    pub fn new(blocks: Vec<Block>, claim: Option<u128>) -> Arc<Self> {
        Arc::new(Memory {
            blocks: Mutex::new(blocks),
            claim,
            imported: Mutex::new(Vec::new()),
            pool: Mutex::new(HashMap::new()),
            lie: AtomicBool::new(false),
        })
    }

    /// Adds `txs` to the pool.
    pub fn hold(&self, txs: &[SignedTransaction]) {
        let mut pool = self.pool.lock().unwrap();
        for tx in txs {
            pool.insert(tx.id(), tx.clone());
        }
    }

    /// The block at `height` of the best chain.
    pub fn block_at(&self, height: usize) -> Block {
        self.blocks.lock().unwrap()[height].clone()
    }

    /// The best tip.
    pub fn tip(&self) -> BlockHash {
        self.blocks.lock().unwrap().last().unwrap().hash()
    }

    pub fn position(&self, hash: &BlockHash) -> Option<usize> {
        self.blocks
            .lock()
            .unwrap()
            .iter()
            .position(|b| b.hash() == *hash)
    }

    pub fn height(&self) -> u64 {
        self.blocks.lock().unwrap().last().unwrap().header.height
    }
}

impl ChainBackend for Memory {
    fn status(&self) -> Status {
        let blocks = self.blocks.lock().unwrap();
        let tip = blocks.last().unwrap();
        Status {
            genesis: blocks[0].hash(),
            best: tip.hash(),
            height: tip.header.height,
            work: self.claim.unwrap_or(u128::from(tip.header.height)),
        }
    }
    fn locator(&self) -> Vec<BlockHash> {
        self.blocks
            .lock()
            .unwrap()
            .iter()
            .rev()
            .take(64)
            .map(Block::hash)
            .collect()
    }
    fn headers_after(&self, locator: &[BlockHash], max: usize) -> Vec<BlockHeader> {
        let from = locator.iter().find_map(|h| self.position(h)).unwrap_or(0);
        self.blocks.lock().unwrap()[from + 1..]
            .iter()
            .take(max)
            .map(|b| b.header.clone())
            .collect()
    }
    fn block(&self, hash: &BlockHash) -> Option<Block> {
        let i = self.position(hash)?;
        let mut block = self.blocks.lock().unwrap()[i].clone();
        if self.lie.load(Ordering::SeqCst) {
            block.transactions.reverse();
        }
        Some(block)
    }
    fn knows_block(&self, hash: &BlockHash) -> bool {
        self.position(hash).is_some()
    }
    fn check_header(&self, _: &BlockHeader) -> Result<(), Rejection> {
        Ok(())
    }
    fn import_block(&self, block: Block, _: &NetworkHandle) -> Result<Imported, Rejection> {
        let hash = block.hash();
        self.imported.lock().unwrap().push(hash);
        let mut blocks = self.blocks.lock().unwrap();
        // Our test chains branch only at genesis: a block on the tip extends; the first
        // block of a heavier branch replaces everything after genesis.
        if block.header.parent == blocks.last().unwrap().hash() {
            blocks.push(block);
        } else if block.header.parent == blocks[0].hash() {
            blocks.truncate(1);
            blocks.push(block);
        } else {
            return Ok(Imported::SideBranch);
        }
        Ok(Imported::NewTip {
            tip: hash,
            height: blocks.last().unwrap().header.height,
        })
    }
    /// Pools the transaction (`Ok(false)` if it was there); one whose proof is [`INVALID`]
    /// is refused as invalid on every chain.
    fn import_transaction(
        &self,
        tx: SignedTransaction,
        _: &NetworkHandle,
    ) -> Result<bool, Rejection> {
        if tx.witness.proof == INVALID {
            return Err(Rejection::invalid("a bad signature"));
        }
        Ok(self.pool.lock().unwrap().insert(tx.id(), tx).is_none())
    }
    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, SourceError> {
        Err(SourceError::Missing { id: *id, index })
    }
    fn content_size(&self, _: &ContentId) -> Result<u64, SourceError> {
        Err(SourceError::Failed {
            reason: "no content".into(),
        })
    }
    fn work_at(&self, hash: &BlockHash) -> Option<u128> {
        self.position(hash).map(|i| i as u128)
    }
    fn header_work(&self, _: &BlockHeader) -> Option<u128> {
        Some(1)
    }
    fn pooled_transactions(&self, ids: &[TxId]) -> Vec<Option<SignedTransaction>> {
        let pool = self.pool.lock().unwrap();
        ids.iter().map(|id| pool.get(id).cloned()).collect()
    }
}

/// A node on 127.0.0.1 that exchanges statuses every 200 ms.
pub async fn node(backend: Arc<Memory>, boot: &[&NetworkHandle]) -> NetworkHandle {
    node_with(backend, boot, Duration::from_millis(200)).await
}

/// A node on 127.0.0.1 that exchanges statuses every `status_interval` (a long one keeps
/// sync out of a test of gossip).
pub async fn node_with(
    backend: Arc<Memory>,
    boot: &[&NetworkHandle],
    status_interval: Duration,
) -> NetworkHandle {
    node_configured(backend, boot, |c| c.status_interval = status_interval).await
}

/// A node on 127.0.0.1 with statuses every 200 ms and `configure` applied.
pub async fn node_configured(
    backend: Arc<Memory>,
    boot: &[&NetworkHandle],
    configure: impl FnOnce(&mut NetConfig),
) -> NetworkHandle {
    let genesis = backend.blocks.lock().unwrap()[0].hash();
    let mut config = NetConfig::new(
        CHAIN,
        genesis,
        vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
    );
    config.bootnodes = boot.iter().flat_map(|n| n.listen_addrs()).collect();
    config.status_interval = Duration::from_millis(200);
    configure(&mut config);
    start(config, Keypair::generate_ed25519(), backend)
        .await
        .unwrap()
}

pub fn score_of(net: &NetworkHandle, peer: &NetworkHandle) -> Option<i32> {
    let id = peer.peer_id().to_string();
    net.info_blocking()
        .unwrap()
        .peers
        .into_iter()
        .find(|p| p.peer_id == id)
        .map(|p| p.score)
}
