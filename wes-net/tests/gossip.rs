//! Gossip between real swarms on 127.0.0.1. Compact blocks: a block travels as its header
//! and transaction ids, each receiver takes what its pool holds and asks the peer that
//! relayed it for the rest (a pooled transaction with another witness included), relays it
//! once it is whole, and charges a peer whose transactions are not the block's. A producer
//! serves its block's transactions from memory, before it stored the block.
//! Transactions travel in batches, and a node relays only what it admitted.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use wes_core::{Block, BlockHash, SignedTransaction};
use wes_net::{GossipStats, NetworkHandle};

mod common;
use common::{INVALID, Memory, block, chain, node_with, score_of};

/// `n` distinct transactions (arbitrary ones: the network does not validate them).
fn transactions(n: usize) -> Vec<SignedTransaction> {
    let mut runner = TestRunner::deterministic();
    let mut txs: Vec<SignedTransaction> = Vec::new();
    while txs.len() < n {
        let tx = wes_core::testing::signed_transaction()
            .new_tree(&mut runner)
            .unwrap()
            .current();
        if txs.iter().all(|t| t.id() != tx.id()) {
            txs.push(tx);
        }
    }
    txs
}

/// A block after `parent` with `txs`, its roots sealed.
fn block_with(parent: BlockHash, height: u64, txs: &[SignedTransaction]) -> Block {
    let mut b = block(parent, height, 0);
    b.transactions = txs.to_vec();
    b.seal_roots();
    b
}

async fn stats(net: &NetworkHandle) -> GossipStats {
    net.info().await.unwrap().gossip
}

/// Waits (off the runtime's threads) until `cond` holds.
async fn wait(what: &str, secs: u64, cond: impl Fn() -> bool + Send + Clone + 'static) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let c = cond.clone();
        if tokio::task::spawn_blocking(c).await.unwrap() {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Three nodes in a line, a ⇄ b ⇄ c (a and c keep each other out), that exchange statuses
/// only on connecting, so blocks reach them by gossip alone; returned once gossipsub has
/// settled.
async fn line() -> ([Arc<Memory>; 3], [NetworkHandle; 3]) {
    let slow = Duration::from_secs(3_600);
    let [a, b, c] = [(); 3].map(|()| Memory::new(chain(0, 0), None));
    let a_net = node_with(a.clone(), &[], slow).await;
    let b_net = node_with(b.clone(), &[&a_net], slow).await;
    let c_net = node_with(c.clone(), &[&b_net], slow).await;
    a_net.block_peer(c_net.peer_id()).unwrap();
    c_net.block_peer(a_net.peer_id()).unwrap();
    connected(&a_net, &b_net, &c_net).await;
    ([a, b, c], [a_net, b_net, c_net])
}

/// Waits until a ⇄ b ⇄ c have exchanged statuses, and gossipsub has settled.
async fn connected(a: &NetworkHandle, b: &NetworkHandle, c: &NetworkHandle) {
    let (a, b, c) = (a.clone(), b.clone(), c.clone());
    wait("the peers exchanged statuses", 20, move || {
        let knows = |net: &NetworkHandle, peer: &NetworkHandle| {
            let id = peer.peer_id().to_string();
            net.info_blocking()
                .unwrap()
                .peers
                .iter()
                .any(|p| p.peer_id == id && p.height.is_some())
        };
        knows(&b, &a) && knows(&a, &b) && knows(&b, &c) && knows(&c, &b)
    })
    .await;
    // Subscriptions travel with the connection; give gossipsub a heartbeat to settle.
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// `producer` stores `block` and announces it.
fn produce(producer: &Memory, net: &NetworkHandle, block: &Block) {
    producer.blocks.lock().unwrap().push(block.clone());
    net.announce_block(block).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_travel_as_ids_and_only_what_a_pool_lacks_is_fetched_from_the_relay() {
    // c hears a's blocks only as b relays them, and only by gossip.
    let ([a, b, c], [a_net, b_net, c_net]) = line().await;

    let txs = transactions(80);
    let arrived = |nodes: [Arc<Memory>; 2], hash: BlockHash| {
        move || nodes.iter().all(|n| n.position(&hash).is_some())
    };

    // 1. b and c hold every transaction but the coinbase: nothing is fetched.
    let b1 = block_with(a.tip(), 1, &txs[0..41]);
    b.hold(&txs[1..41]);
    c.hold(&txs[1..41]);
    produce(&a, &a_net, &b1);
    wait(
        "block 1 arrived",
        20,
        arrived([b.clone(), c.clone()], b1.hash()),
    )
    .await;
    for (node, net) in [(&b, &b_net), (&c, &c_net)] {
        assert_eq!(node.block_at(1), b1, "rebuilt exactly");
        let s = stats(net).await;
        assert_eq!((s.compact_blocks, s.fetches), (1, 0), "{s:?}");
    }

    // 2. Nobody holds block 2's 29 transactions: b fetches them from a, c from b.
    let b2 = block_with(b1.hash(), 2, &txs[41..71]);
    produce(&a, &a_net, &b2);
    wait(
        "block 2 arrived",
        20,
        arrived([b.clone(), c.clone()], b2.hash()),
    )
    .await;
    for (node, net) in [(&b, &b_net), (&c, &c_net)] {
        assert_eq!(node.block_at(2), b2);
        let s = stats(net).await;
        assert_eq!((s.fetches, s.fetched_transactions), (1, 29), "{s:?}");
    }

    // 3. b holds one of block 3's transactions with another witness: it is fetched, and
    //    nobody is blamed for it.
    let mut other = txs[72].clone();
    other.witness.proof.push(1);
    b.hold(&[txs[71].clone(), other]);
    c.hold(&txs[71..73]);
    let b3 = block_with(b2.hash(), 3, &txs[70..73]);
    produce(&a, &a_net, &b3);
    wait(
        "block 3 arrived",
        20,
        arrived([b.clone(), c.clone()], b3.hash()),
    )
    .await;
    assert_eq!(b.block_at(3), b3);
    assert_eq!(
        stats(&b_net).await.fetched_transactions,
        29 + 2,
        "{:?}",
        stats(&b_net).await
    );
    assert_eq!(
        stats(&c_net).await.fetched_transactions,
        29,
        "{:?}",
        stats(&c_net).await
    );
    {
        let (a_net, b_net) = (a_net.clone(), b_net.clone());
        let score = tokio::task::spawn_blocking(move || score_of(&b_net, &a_net))
            .await
            .unwrap();
        assert_eq!(score, Some(0), "an honest relay is not charged");
    }

    // 4. b serves the transactions of the next block out of order (a, its producer,
    //    serves them from what it announced): c refuses the block and charges b.
    b.lie.store(true, Ordering::SeqCst);
    let b4 = block_with(b3.hash(), 4, &txs[73..80]);
    produce(&a, &a_net, &b4);
    {
        let (b_net, c_net) = (b_net.clone(), c_net.clone());
        wait("b charged", 20, move || {
            score_of(&c_net, &b_net).is_none_or(|s| s < 0)
        })
        .await;
    }
    assert!(b.position(&b4.hash()).is_some(), "a served b honestly");
    assert!(
        c.position(&b4.hash()).is_none(),
        "the block was not imported"
    );
    assert!(
        c_net.heard_block().is_none_or(|h| h.hash != b4.hash()),
        "an invalid block heard of is forgotten: nothing to wait for"
    );
    for net in [a_net, b_net, c_net] {
        net.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_announced_before_its_producer_stored_it_is_heard_of_and_rebuilt() {
    let ([a, b, _], [a_net, b_net, c_net]) = line().await;
    assert_eq!(b_net.heard_block(), None);
    // a announces a block it has not stored (its own import is still running), whose
    // transactions b's pool lacks: b hears of it at once and fetches them from a's memory.
    let txs = transactions(30);
    let b1 = block_with(a.tip(), 1, &txs);
    a_net.announce_block(&b1).unwrap();
    let hash = b1.hash();
    {
        let b = b.clone();
        wait("block 1 rebuilt by b", 20, move || {
            b.position(&hash).is_some()
        })
        .await;
    }
    assert_eq!(b.block_at(1), b1);
    let heard = b_net.heard_block().expect("heard of");
    assert_eq!((heard.height, heard.hash), (1, hash));
    let s = stats(&b_net).await;
    assert_eq!((s.fetches, s.fetched_transactions), (1, 29), "{s:?}");
    assert!(a.position(&hash).is_none(), "a never stored it");
    for net in [a_net, b_net, c_net] {
        net.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_travel_in_batches_and_only_what_was_admitted_is_relayed() {
    let ([_, b, c], [a_net, b_net, c_net]) = line().await;

    // 300 transactions published at once: each hop gossips them in a batch or two.
    let txs = transactions(302);
    a_net.publish_transactions(txs[..300].to_vec()).unwrap();
    {
        let c = c.clone();
        wait("c pooled all 300", 20, move || {
            c.pool.lock().unwrap().len() == 300
        })
        .await;
    }
    let s = stats(&c_net).await;
    assert_eq!(s.transactions, 300, "each once: {s:?}");
    assert!(s.tx_batches <= 3, "{s:?}");
    assert_eq!(b.pool.lock().unwrap().len(), 300);

    // A batch with a transaction invalid everywhere: its sender is charged, and what b
    // admitted from it still reaches c, the invalid one does not.
    let mut bad = txs[301].clone();
    bad.witness.proof = INVALID.to_vec();
    a_net
        .publish_transactions(vec![txs[300].clone(), bad.clone()])
        .unwrap();
    {
        let c = c.clone();
        wait("c pooled the valid one", 20, move || {
            c.pool.lock().unwrap().len() == 301
        })
        .await;
    }
    {
        let (a_net, b_net) = (a_net.clone(), b_net.clone());
        wait("a charged", 20, move || {
            score_of(&b_net, &a_net).is_none_or(|s| s < 0)
        })
        .await;
    }
    assert!(!c.pool.lock().unwrap().contains_key(&bad.id()));
    assert_eq!(
        stats(&c_net).await.transactions,
        301,
        "{:?}",
        stats(&c_net).await
    );
    for net in [a_net, b_net, c_net] {
        net.shutdown();
    }
}
