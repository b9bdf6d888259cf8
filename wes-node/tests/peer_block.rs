//! A producer that heard of a peer's block above its tip waits for its import rather than
//! make a rival for its height (`Node::awaits_peer_block`), within
//! `Config::peer_block_wait_ms`. Two nodes on 127.0.0.1; the receiver's import is held up
//! by holding its chain's lock, as a long import queue or a slow import does under load.

mod common;

use std::time::{Duration, Instant};

use wes_core::ChainId;
use wes_ledger::{EutxoLedger, SledStore};
use wes_node::{Config, LaunchOptions, RunningNode, launch};

const CHAIN: ChainId = ChainId(41);

/// A node producing only when the test asks, listening on 127.0.0.1, dialling `boot`.
async fn node(
    dir: &std::path::Path,
    wait_ms: u64,
    boot: Vec<wes_net::libp2p::Multiaddr>,
) -> RunningNode<EutxoLedger<SledStore>> {
    let mut config = Config::new(dir);
    config.peer_block_wait_ms = wait_ms;
    let node = common::instant_seal_node(config, common::genesis(CHAIN, "peer block"), 2_000);
    launch(
        node,
        LaunchOptions {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            bootnodes: boot,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_waits_for_the_import_of_a_block_it_heard_of() {
    let dir = tempfile::tempdir().unwrap();
    let a = node(&dir.path().join("a"), 2_000, Vec::new()).await;
    let boot = a.network.as_ref().unwrap().listen_addrs();
    let b = node(&dir.path().join("b"), 60_000, boot.clone()).await;
    let impatient = node(&dir.path().join("c"), 0, boot).await;
    let (b_net, c_net) = (b.node.network().unwrap(), impatient.node.network().unwrap());
    wait_for("peers of the chain", || {
        !b_net.chain_peers().is_empty() && !c_net.chain_peers().is_empty()
    })
    .await;
    // Gossip needs its mesh: a first block shows it is up.
    common::produce(&a).await;
    wait_for("block 1 everywhere", || {
        b.node.status().height == 1 && impatient.node.status().height == 1
    })
    .await;
    assert!(!b.node.awaits_peer_block(&b.node.status().header));

    // b's import is held up; a's block 2 is heard of, not imported.
    let held = b.node.clone();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let _chain = held.chain();
        let _ = released.recv();
    });
    let produced = common::produce(&a).await;
    assert_eq!(produced, 2);
    let hash = a.node.status().best;
    wait_for("block 2 heard of by b", || {
        b_net.heard_block().is_some_and(|h| h.hash == hash)
    })
    .await;
    let heard = b_net.heard_block().unwrap();
    assert_eq!(heard.height, 2);
    let tip = b.node.status().header;
    assert_eq!(tip.height, 1, "not imported while the chain is held");
    assert!(b.node.awaits_peer_block(&tip), "b waits for block 2");
    // A node that does not wait produces a rival at once.
    wait_for("block 2 heard of by c", || {
        c_net.heard_block().is_some_and(|h| h.hash == hash)
    })
    .await;
    assert!(!impatient.node.awaits_peer_block(&tip));

    // Once imported, there is nothing to wait for.
    release.send(()).unwrap();
    holder.join().unwrap();
    wait_for("block 2 imported by b", || b.node.status().best == hash).await;
    assert!(!b.node.awaits_peer_block(&b.node.status().header));
    // Nor for a block already below the tip.
    assert!(!b.node.awaits_peer_block(&b.node.status().header));
    for n in [a, b, impatient] {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wait_for_a_block_heard_of_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let a = node(&dir.path().join("a"), 2_000, Vec::new()).await;
    let boot = a.network.as_ref().unwrap().listen_addrs();
    // Long enough that a loaded machine still sees b waiting right after it hears the block
    // (300 ms failed under a parallel test run).
    let b = node(&dir.path().join("b"), 2_000, boot).await;
    let b_net = b.node.network().unwrap();
    wait_for("peers of the chain", || !b_net.chain_peers().is_empty()).await;
    common::produce(&a).await;
    wait_for("block 1", || b.node.status().height == 1).await;
    // b's chain stays held past its wait (a block heard of that never imports).
    let held = b.node.clone();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let _chain = held.chain();
        let _ = released.recv();
    });
    common::produce(&a).await;
    let hash = a.node.status().best;
    wait_for("block 2 heard of", || {
        b_net.heard_block().is_some_and(|h| h.hash == hash)
    })
    .await;
    let tip = b.node.status().header;
    assert!(b.node.awaits_peer_block(&tip));
    let heard_at = b_net.heard_block().unwrap().at;
    wait_for("the wait to end", || !b.node.awaits_peer_block(&tip)).await;
    assert!(heard_at.elapsed() >= Duration::from_millis(2_000));
    release.send(()).unwrap();
    holder.join().unwrap();
    for n in [a, b] {
        n.stop().await;
    }
}
