//! Sync that does not trust a claim, between real swarms on 127.0.0.1: a peer whose status
//! claims far more work than its headers carry makes the node fetch and store no body, and
//! is charged; a peer whose branch really has more work is synced from, its headers first
//! and then every body in order.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wes_core::{
    Block, BlockHash, BlockHeader, ChainId, Chunk, CompactTarget, ContentId, Hash, PublicKey,
    SignedTransaction,
};
use wes_net::libp2p::identity::Keypair;
use wes_net::{ChainBackend, Imported, NetConfig, NetworkHandle, Rejection, Status, start};
use wes_ures::SourceError;

const CHAIN: ChainId = ChainId(11);

fn block(parent: BlockHash, height: u64, nonce: u64) -> Block {
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
fn chain(len: u64, nonce: u64) -> Vec<Block> {
    let mut blocks = vec![block(BlockHash::default(), 0, 0)];
    for h in 1..=len {
        let parent = blocks.last().unwrap().hash();
        blocks.push(block(parent, h, nonce));
    }
    blocks
}

/// A chain in memory, one unit of work per block; `claim` overrides the work its status
/// reports. Imported blocks are appended when they extend it.
struct Memory {
    blocks: Mutex<Vec<Block>>,
    claim: Option<u128>,
    /// Bodies the node was given by sync or gossip.
    imported: Mutex<Vec<BlockHash>>,
}

impl Memory {
    fn new(blocks: Vec<Block>, claim: Option<u128>) -> Arc<Self> {
        Arc::new(Memory {
            blocks: Mutex::new(blocks),
            claim,
            imported: Mutex::new(Vec::new()),
        })
    }

    fn position(&self, hash: &BlockHash) -> Option<usize> {
        self.blocks
            .lock()
            .unwrap()
            .iter()
            .position(|b| b.hash() == *hash)
    }

    fn height(&self) -> u64 {
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
        Some(self.blocks.lock().unwrap()[i].clone())
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
    fn import_transaction(
        &self,
        _: SignedTransaction,
        _: &NetworkHandle,
    ) -> Result<bool, Rejection> {
        Ok(false)
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
}

async fn node(backend: Arc<Memory>, boot: &[&NetworkHandle]) -> NetworkHandle {
    let genesis = backend.blocks.lock().unwrap()[0].hash();
    let mut config = NetConfig::new(
        CHAIN,
        genesis,
        vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
    );
    config.bootnodes = boot.iter().flat_map(|n| n.listen_addrs()).collect();
    config.status_interval = Duration::from_millis(200);
    start(config, Keypair::generate_ed25519(), backend)
        .await
        .unwrap()
}

fn score_of(net: &NetworkHandle, peer: &NetworkHandle) -> Option<i32> {
    let id = peer.peer_id().to_string();
    net.info_blocking()
        .unwrap()
        .peers
        .into_iter()
        .find(|p| p.peer_id == id)
        .map(|p| p.score)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_of_more_work_than_the_headers_carry_fetches_nothing_and_is_charged() {
    // We hold 20 blocks; the liar 5 on another branch but claims a million units of work.
    let ours = Memory::new(chain(20, 0), None);
    let liar_chain = Memory::new(chain(5, 7), Some(1_000_000));
    let liar = node(liar_chain, &[]).await;
    let net = node(ours.clone(), &[&liar]).await;

    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = false;
    loop {
        let net2 = net.clone();
        let liar2 = liar.clone();
        let score = tokio::task::spawn_blocking(move || score_of(&net2, &liar2))
            .await
            .unwrap();
        // Charged (a negative score), or banned and gone after it was seen.
        match score {
            Some(s) if s < 0 => break,
            Some(_) => seen = true,
            None if seen => break,
            None => {}
        }
        assert!(
            Instant::now() < deadline,
            "the liar was never charged: {score:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        ours.imported.lock().unwrap().is_empty(),
        "no body of the lighter branch was fetched"
    );
    assert_eq!(ours.height(), 20);
    net.shutdown();
    liar.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_with_more_work_is_synced_headers_first_then_every_body() {
    // Our 600 blocks against a peer's 1,100 on another branch: a first batch of 512
    // headers does not overtake ours, so no body is fetched until the second does; then
    // every body, in order.
    let ours = Memory::new(chain(600, 0), None);
    let theirs = Memory::new(chain(1_100, 9), None);
    let peer = node(theirs.clone(), &[]).await;
    let net = node(ours.clone(), &[&peer]).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while ours.height() < 1_100 {
        assert!(
            Instant::now() < deadline,
            "not synced: height {}",
            ours.height()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let imported = ours.imported.lock().unwrap().clone();
    let expected: Vec<BlockHash> = theirs.blocks.lock().unwrap()[1..]
        .iter()
        .map(Block::hash)
        .collect();
    assert_eq!(imported, expected, "every body once, in order");
    net.shutdown();
    peer.shutdown();
}
