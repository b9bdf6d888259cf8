//! Resource transfer between real swarms on 127.0.0.1: content is fetched chunk by chunk
//! through the URES fetch interface, a peer serving corrupted chunks is caught and charged,
//! honest peers are not, and content nobody has fails cleanly.
//!
//! The nodes' chains are not the subject here: the backend holds a genesis only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wes_core::{
    Block, BlockHash, BlockHeader, Chunk, ContentId, Hash, ResourceBody, ResourceKind,
    ResourceMeta, ResourceStore, SignedTransaction,
};
use wes_net::libp2p::identity::Keypair;
use wes_net::{ChainBackend, Imported, NetConfig, NetworkHandle, Rejection, Status, start};
use wes_ures::{ChunkSource, FetchError, MemoryStore, SourceError, StoreSource};

mod common;
use common::score_of;

/// A node with a store of resources and no blocks beyond genesis; `corrupt` flips a byte of
/// every chunk it serves.
struct Resources {
    store: MemoryStore,
    corrupt: bool,
}

fn genesis() -> BlockHash {
    BlockHash(wes_core::hash(
        wes_net::protocol::MESSAGE_ID_DOMAIN,
        b"test genesis",
    ))
}

impl ChainBackend for Resources {
    fn status(&self) -> Status {
        Status {
            genesis: genesis(),
            best: genesis(),
            height: 0,
            work: 0,
        }
    }
    fn locator(&self) -> Vec<BlockHash> {
        vec![genesis()]
    }
    fn headers_after(&self, _: &[BlockHash], _: usize) -> Vec<BlockHeader> {
        Vec::new()
    }
    fn block(&self, _: &BlockHash) -> Option<Block> {
        None
    }
    fn knows_block(&self, hash: &BlockHash) -> bool {
        *hash == genesis()
    }
    fn check_header(&self, _: &BlockHeader) -> Result<(), Rejection> {
        Err(Rejection::invalid("no blocks on this test network"))
    }
    fn import_block(&self, _: Block, _: &NetworkHandle) -> Result<Imported, Rejection> {
        Err(Rejection::invalid("no blocks on this test network"))
    }
    fn import_transaction(
        &self,
        _: SignedTransaction,
        _: &NetworkHandle,
    ) -> Result<bool, Rejection> {
        Ok(false)
    }
    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, SourceError> {
        let mut c = StoreSource(&self.store).chunk(id, index)?;
        if self.corrupt {
            c.bytes[0] ^= 1;
        }
        Ok(c)
    }
    fn content_size(&self, id: &ContentId) -> Result<u64, SourceError> {
        StoreSource(&self.store).size(id)
    }
}

fn put(store: &MemoryStore, bytes: &[u8]) -> ResourceBody {
    let meta = ResourceMeta::default();
    let stat = store
        .put(ResourceKind::File, &meta, &mut &bytes[..])
        .unwrap();
    ResourceBody {
        content: stat.id,
        kind: ResourceKind::File,
        size: stat.size,
        meta,
    }
}

async fn node(store: MemoryStore, corrupt: bool, boot: &[&NetworkHandle]) -> NetworkHandle {
    let mut config = NetConfig::new(
        wes_core::ChainId(9),
        genesis(),
        vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
    );
    config.bootnodes = boot.iter().flat_map(|n| n.listen_addrs()).collect();
    start(
        config,
        Keypair::generate_ed25519(),
        Arc::new(Resources { store, corrupt }),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_travel_verified_and_liars_are_charged() {
    // Several chunks' worth of content on the honest node and on the liar; some only the liar
    // has.
    let shared: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let only_liar: Vec<u8> = (0..300_000u32).map(|i| (i % 13) as u8).collect();
    let (honest_store, liar_store) = (MemoryStore::new(), MemoryStore::new());
    let body = put(&honest_store, &shared);
    put(&liar_store, &shared);
    let liar_body = put(&liar_store, &only_liar);

    let honest = node(honest_store, false, &[]).await;
    let liar = node(liar_store, true, &[&honest]).await;
    let fetcher = node(MemoryStore::new(), false, &[&honest, &liar]).await;

    let (h, l, f) = (honest.clone(), liar.clone(), fetcher.clone());
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while f.info_blocking().unwrap().peers.len() < 2 {
            assert!(
                Instant::now() < deadline,
                "the fetcher did not meet both peers"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let store = MemoryStore::new();

        // Only the liar has it: every chunk fails verification, nothing is stored, and the
        // liar is charged.
        let err = f.fetch_resource(&liar_body, &store).unwrap_err();
        assert!(matches!(err, FetchError::ChunkUnavailable { .. }), "{err}");
        assert!(!err.faults().is_empty());
        assert!(!store.has(&liar_body.content).unwrap());
        let deadline = Instant::now() + Duration::from_secs(5);
        while score_of(&f, &l).is_some_and(|s| s >= 0) {
            assert!(Instant::now() < deadline, "the liar was not charged");
            std::thread::sleep(Duration::from_millis(20));
        }

        // Both have it: whatever the order the peers are asked in, the content arrives
        // intact, from the honest peer, which is never charged.
        let report = f.fetch_resource(&body, &store).unwrap();
        assert_eq!(report.stat.id, body.content);
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut store.open(&body.content).unwrap(), &mut bytes).unwrap();
        assert_eq!(bytes, shared);
        assert_eq!(score_of(&f, &h), Some(0));

        // Past its deadline a download asks nobody and stores nothing.
        let late = MemoryStore::new();
        assert!(
            f.fetch_resource_until(&body, &late, Instant::now())
                .is_err()
        );
        assert!(!late.has(&body.content).unwrap());

        // Nobody has it: a clean error, nobody charged.
        let missing = ResourceBody {
            content: ContentId(Hash::ZERO),
            kind: ResourceKind::File,
            size: 10,
            meta: ResourceMeta::default(),
        };
        assert!(f.fetch_resource(&missing, &store).is_err());
        assert_eq!(score_of(&f, &h), Some(0));
        // The size claim path agrees with the honest store.
        assert_eq!(f.content_size(&body.content), Some(body.size));
    })
    .await
    .unwrap();
}
