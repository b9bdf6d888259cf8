//! Sync that does not trust a claim, between real swarms on 127.0.0.1: a peer whose status
//! claims far more work than its headers carry makes the node fetch and store no body, and
//! is charged; a peer whose branch really has more work is synced from, its headers first
//! and then every body in order; a chain below the minimum work is not synced at all.

use std::time::{Duration, Instant};

use wes_core::{Block, BlockHash};

mod common;
use common::{Memory, chain, node, node_configured, score_of};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_below_the_minimum_work_is_not_synced_however_it_compares_to_ours() {
    // The peer's 30 blocks beat our 5, but the chain's minimum is 50 units of work: no
    // body of it is fetched, and an honest peer is not charged.
    let ours = Memory::new(chain(5, 0), None);
    let theirs = Memory::new(chain(30, 3), None);
    let peer = node(theirs, &[]).await;
    let net = node_configured(ours.clone(), &[&peer], |c| c.min_chain_work = 50).await;
    // Many status rounds (every 200 ms), each of which would start a sync.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(ours.imported.lock().unwrap().is_empty());
    assert_eq!(ours.height(), 5);
    let (net2, peer2) = (net.clone(), peer.clone());
    let score = tokio::task::spawn_blocking(move || score_of(&net2, &peer2))
        .await
        .unwrap();
    assert_eq!(score, Some(0), "connected and not charged");
    net.shutdown();
    peer.shutdown();
}
