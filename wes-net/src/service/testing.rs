//! What the service's unit tests share: blocks without transactions, a chain of them in
//! memory behind [`ChainBackend`], and a handle to no running network.

use std::sync::{Arc, Mutex};

use libp2p::PeerId;
use tokio::sync::mpsc;
use wes_core::{
    Block, BlockHash, BlockHeader, ChainId, Chunk, CompactTarget, ContentId, Hash, PublicKey,
    SignedTransaction,
};
use wes_ures::SourceError;

use super::NetworkHandle;
use crate::backend::{ChainBackend, Imported, Rejection};
use crate::protocol::Status;

/// Headers with this nonce fail the header check, blocks with it fail the import.
pub(super) const BAD_NONCE: u64 = u64::MAX;

/// A hash that names no block of [`chain`].
pub(super) fn hash(i: u8) -> BlockHash {
    BlockHash(Hash([i; 32]))
}

/// A block without transactions; `nonce` tells siblings apart.
pub(super) fn block(parent: BlockHash, height: u64, nonce: u64) -> Block {
    Block {
        header: BlockHeader {
            version: 1,
            chain_id: ChainId(1),
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

/// `len` blocks after `from` (at height `height`), each `nonce`.
pub(super) fn extend(from: BlockHash, height: u64, len: u64, nonce: u64) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    for h in height + 1..=height + len {
        let parent = blocks.last().map_or(from, Block::hash);
        blocks.push(block(parent, h, nonce));
    }
    blocks
}

/// A genesis and `len` blocks after it.
pub(super) fn chain(len: u64) -> Vec<Block> {
    let genesis = block(BlockHash::default(), 0, 0);
    let mut blocks = extend(genesis.hash(), 0, len, 0);
    blocks.insert(0, genesis);
    blocks
}

/// A node whose best chain is `blocks` and which knows nothing else.
pub(super) struct MemoryChain {
    pub(super) blocks: Vec<Block>,
    /// The blocks given to `import_block`, in order.
    pub(super) imported: Mutex<Vec<BlockHash>>,
    /// `headers_after`'s arguments: the locator's length and `max`.
    pub(super) headers_asked: Mutex<Vec<(usize, usize)>>,
}

impl MemoryChain {
    pub(super) fn new(blocks: Vec<Block>) -> Self {
        MemoryChain {
            blocks,
            imported: Mutex::new(Vec::new()),
            headers_asked: Mutex::new(Vec::new()),
        }
    }

    fn position(&self, hash: &BlockHash) -> Option<usize> {
        self.blocks.iter().position(|b| b.hash() == *hash)
    }
}

impl ChainBackend for MemoryChain {
    fn status(&self) -> Status {
        let tip = self.blocks.last().expect("a genesis at least");
        Status {
            genesis: self.blocks[0].hash(),
            best: tip.hash(),
            height: tip.header.height,
            work: u128::from(tip.header.height),
        }
    }
    fn locator(&self) -> Vec<BlockHash> {
        self.blocks.iter().rev().map(Block::hash).collect()
    }
    fn headers_after(&self, locator: &[BlockHash], max: usize) -> Vec<BlockHeader> {
        self.headers_asked
            .lock()
            .unwrap()
            .push((locator.len(), max));
        let from = locator.iter().find_map(|h| self.position(h)).unwrap_or(0);
        self.blocks[from + 1..]
            .iter()
            .take(max)
            .map(|b| b.header.clone())
            .collect()
    }
    fn block(&self, hash: &BlockHash) -> Option<Block> {
        self.position(hash).map(|i| self.blocks[i].clone())
    }
    fn knows_block(&self, hash: &BlockHash) -> bool {
        self.position(hash).is_some()
    }
    fn check_header(&self, header: &BlockHeader) -> Result<(), Rejection> {
        if header.nonce == BAD_NONCE {
            return Err(Rejection::invalid("bad nonce"));
        }
        Ok(())
    }
    fn import_block(&self, block: Block, _: &NetworkHandle) -> Result<Imported, Rejection> {
        self.imported.lock().unwrap().push(block.hash());
        self.check_header(&block.header)?;
        Ok(Imported::NewTip {
            tip: block.hash(),
            height: block.header.height,
        })
    }
    fn import_transaction(
        &self,
        _: SignedTransaction,
        _: &NetworkHandle,
    ) -> Result<bool, Rejection> {
        Ok(true)
    }
    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, SourceError> {
        Err(SourceError::Missing { id: *id, index })
    }
    fn content_size(&self, _: &ContentId) -> Result<u64, SourceError> {
        Err(SourceError::Failed {
            reason: "no content".into(),
        })
    }
    /// One unit of work per block, as the status counts it.
    fn work_at(&self, hash: &BlockHash) -> Option<u128> {
        self.position(hash).map(|i| i as u128)
    }
    fn header_work(&self, _: &BlockHeader) -> Option<u128> {
        Some(1)
    }
}

/// A handle to no running network (its commands go nowhere).
pub(super) fn handle() -> NetworkHandle {
    let (commands, _) = mpsc::channel(1);
    NetworkHandle {
        commands,
        peer_id: PeerId::random(),
        listen: Arc::new(Mutex::new(Vec::new())),
        chain_peers: Arc::new(Mutex::new(Vec::new())),
        heard: Arc::new(Mutex::new(None)),
    }
}
