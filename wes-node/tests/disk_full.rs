//! A node whose disk fills up, on a real file system of 24 MiB (tmpfs): uploads stop first
//! (`disk_full`), then blocks: the producer stops before sealing, a peer's block is refused
//! as the node's own failure (not the peer's) and taken when it comes again, `/health` says
//! `disk_full`; reads go on. Freeing space resumes everything without a restart, and a
//! restart keeps every block.

mod common;

use std::path::Path;
use std::sync::Arc;

use wes_core::testing::SmallDisk;
use wes_core::{Blame, ChainId, Fault, Ledger, ResourceKind};
use wes_ledger::{EutxoLedger, SledStore};
use wes_node::{Config, Node, NodeError};

const CHAIN: ChainId = ChainId(67);
const MIB: u64 = 1 << 20;

type DevNode = Arc<Node<EutxoLedger<SledStore>>>;

/// A node in `dir` sealing instantly as the dev key `sealer`, keeping 2 MiB free for blocks
/// (4 MiB for content, 1 MiB for indexes).
fn node(dir: &Path) -> DevNode {
    let mut config = Config::new(dir);
    config.storage.reserve_bytes = 2 * MIB;
    common::instant_seal_node(config, common::genesis(CHAIN, "disk full"), 2_000)
}

fn health(node: &DevNode) -> (bool, String) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (ok, report) = runtime.block_on(wes_node::rpc::ops::health(node));
    (ok, report["status"].as_str().unwrap().to_string())
}

fn upload(node: &DevNode, seed: u8) -> Result<wes_core::ContentId, NodeError> {
    node.put_resource(&[seed; 64 << 10], ResourceKind::File, "upload")
}

fn assert_disk_full(e: &NodeError) {
    assert_eq!(e.rule(), Some("disk_full"), "{e}");
}

#[test]
fn a_full_disk_stops_uploads_then_blocks_and_the_node_resumes_once_space_is_freed() {
    let disk = SmallDisk::mount(24 * MIB).unwrap();
    let dir = disk.path().join("node");
    let a = node(&dir);
    let peer_dir = tempfile::tempdir().unwrap();
    let peer = node(peer_dir.path());
    for _ in 0..2 {
        a.produce_block().unwrap();
    }
    for height in 1..=2 {
        let hash = a.ledger().hash_at(height).unwrap().unwrap();
        peer.import_block(a.ledger().block(&hash).unwrap().unwrap())
            .unwrap();
    }
    upload(&a, 1).unwrap();
    assert_eq!(health(&a), (true, "ok".into()));

    // Under the content reserve, above the ledger's: uploads stop, blocks go on.
    disk.fill(3 * MIB).unwrap();
    let refused = upload(&a, 2).unwrap_err();
    assert_disk_full(&refused);
    assert_eq!(refused.fault(), Fault::Unavailable, "try again later");
    let (height, _, _) = a.produce_block().unwrap();
    assert_eq!(height, 3);
    let hash = a.ledger().hash_at(3).unwrap().unwrap();
    peer.import_block(a.ledger().block(&hash).unwrap().unwrap())
        .unwrap();

    // Under the ledger's reserve: no block is sealed or stored, the node says why.
    disk.fill(MIB).unwrap();
    assert_disk_full(&a.produce_block().unwrap_err());
    assert_disk_full(&a.writable().unwrap_err());
    assert_eq!(a.status().height, 3);
    assert_eq!(health(&a), (false, "disk_full".into()));
    // A peer's block is refused as the node's own failure, and not remembered.
    peer.produce_block().unwrap();
    let theirs = {
        let hash = peer.ledger().hash_at(4).unwrap().unwrap();
        peer.ledger().block(&hash).unwrap().unwrap()
    };
    let refused = a.import_block(theirs.clone()).unwrap_err();
    assert_eq!(refused.fault(), Fault::Local, "{refused}");
    assert!(!a.chain().knows(&theirs.hash()));
    // Reads go on.
    assert_eq!(a.ledger().tip().unwrap().height, 3);
    assert!(a.ledger().block(&hash).unwrap().is_some());

    // Space freed: the same node takes the peer's block again, produces and stores.
    disk.free().unwrap();
    assert_eq!(health(&a), (true, "ok".into()));
    a.import_block(theirs.clone()).unwrap();
    assert_eq!(a.status().best, theirs.hash());
    assert_eq!(a.produce_block().unwrap().0, 5);
    upload(&a, 2).unwrap();
    let best = a.status().best;
    drop(a);

    let a = node(&dir);
    assert_eq!((a.status().height, a.status().best), (5, best));
}
