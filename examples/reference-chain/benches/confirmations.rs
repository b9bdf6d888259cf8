//! Confirmation stability on a proof-of-work devnet of 3 and 5 nodes on 127.0.0.1
//! (`cargo bench -p wes-reference-chain --bench confirmations`).
//!
//! Every node mines (the devnet's easy target, a block per second), each with its own sled
//! ledger and libp2p swarm, connected over TCP as separate processes would be; a transfer
//! is sent every half block to the nodes in turn. Each node records every move of its best
//! chain. Measured per run:
//!
//! - **contested heights**: the share of heights at which more than one block was ever on
//!   some node's best chain;
//! - **reorganisations** per block, summed over the nodes;
//! - **flipped**: the share of included transfers that some node took off its best chain
//!   again after including them;
//! - **settled after**: from a transfer's first inclusion on a node to the last change of
//!   its inclusion on that node, on the node where that is longest (p50, p99, max): how long
//!   until a confirmation no longer flips (0 for one never taken off).
//!
//! Each size runs twice in the same process: with the rules before #17 (the XOR rule
//! decides every tie whenever the sibling arrives; every producer at its slot) as the
//! anchor, and with the node's defaults (a 500 ms tie window; producers taking turns in the
//! height's XOR order, 250 ms apart).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wes_consensus::{ForkPolicy, PowParams};
use wes_core::{
    BlockHash, ChainId, Genesis, Input, Lock, Output, SecretKey, TokenId, Transaction, TxId,
    ValidityWindow,
};
use wes_node::{Config, NodeBuilder, TipMoved, TipObserver};

const CHAIN: ChainId = ChainId(4343);
const AMOUNT: u128 = 1_000_000_000;

/// A block that joined or left a node's best chain: when, its height and hash, its
/// transactions.
struct Move {
    at: Instant,
    joined: bool,
    height: u64,
    hash: BlockHash,
    txs: Vec<TxId>,
}

/// Every move of one node's best chain.
#[derive(Default)]
struct Recorder(Mutex<Vec<Move>>);

impl TipObserver for Recorder {
    fn tip_moved(&self, moved: &TipMoved) {
        let at = Instant::now();
        let mut log = self.0.lock().unwrap();
        let blocks = moved
            .reverted
            .iter()
            .map(|b| (false, b))
            .chain(moved.applied.iter().map(|b| (true, b)));
        for (joined, b) in blocks {
            log.push(Move {
                at,
                joined,
                height: b.header.height,
                hash: b.hash(),
                txs: b.transactions.iter().skip(1).map(|t| t.id()).collect(),
            });
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rules {
    /// Before #17: ties always to the XOR rule, every producer at its slot.
    Before,
    /// The node's defaults.
    Now,
}

struct Figures {
    heights: u64,
    contested: usize,
    reorgs: usize,
    included: usize,
    flipped: usize,
    settled: Vec<Duration>,
}

fn key(name: &str) -> SecretKey {
    SecretKey::dev(name)
}

fn run(nodes: usize, rules: Rules, heights: u64, block_ms: u64) -> Figures {
    let tmp = tempfile::tempdir().unwrap();
    let senders = (heights * 2 + 8) as usize;
    let mut params = PowParams::devnet(CHAIN);
    params.block_time_ms = block_ms;
    let genesis = Genesis {
        chain_id: CHAIN,
        time_ms: wes_node::now_ms() - block_ms,
        target: params.pow_limit,
        allocations: (0..senders)
            .map(|k| {
                Output::asset(
                    Lock::key(key(&format!("s{k}")).public_key()),
                    TokenId::Native,
                    AMOUNT,
                )
            })
            .collect(),
        message: "confirmations bench".into(),
    };
    let recorders: Vec<Arc<Recorder>> = (0..nodes).map(|_| Arc::default()).collect();
    let built: Vec<_> = (0..nodes)
        .map(|i| {
            let mut config = Config::new(tmp.path().join(format!("node-{i}")));
            config.block_time_ms = block_ms;
            match rules {
                Rules::Before => {
                    config.fork_policy = ForkPolicy::default();
                    config.producer_stagger_ms = 0;
                    config.peer_block_wait_ms = 0;
                }
                Rules::Now => {
                    config.producer_stagger_ms = block_ms / 4;
                    config.peer_block_wait_ms = block_ms;
                }
            }
            NodeBuilder::new(config, genesis.clone())
                .pow(
                    params.clone(),
                    Some(key(&format!("miner-{i}")).public_key()),
                )
                .tip_observer(recorders[i].clone())
                .without_event_index()
                .build()
                .unwrap()
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    let first = runtime
        .block_on(wes_node::network::start(&built[0], &listen, &[]))
        .unwrap();
    let boot = first.listen_addrs();
    let mut nets = vec![first];
    for n in &built[1..] {
        nets.push(
            runtime
                .block_on(wes_node::network::start(n, &listen, &boot))
                .unwrap(),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while nets.iter().any(|n| n.chain_peers().len() < nodes - 1) {
        assert!(Instant::now() < deadline, "the nodes did not all connect");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));

    let producers: Vec<_> = built
        .iter()
        .map(|n| {
            let n = n.clone();
            std::thread::spawn(move || n.produce_forever())
        })
        .collect();
    let coinbase = genesis.coinbase();
    let mut sent = 0usize;
    let deadline = Instant::now() + Duration::from_millis(heights * block_ms * 4 + 30_000);
    while built.iter().any(|n| n.status().height < heights) {
        assert!(Instant::now() < deadline, "the devnet stalled");
        if sent < senders {
            let tx = Transaction {
                version: Transaction::VERSION,
                chain_id: CHAIN,
                inputs: vec![Input::spend(coinbase.outpoint(sent as u32))],
                outputs: vec![Output::asset(
                    Lock::key(key("sink").public_key()),
                    TokenId::Native,
                    AMOUNT - 100_000,
                )],
                validity: ValidityWindow::ALWAYS,
                execution: None,
            }
            .sign(&[&key(&format!("s{sent}"))]);
            let _ = built[sent % nodes].submit(tx);
            sent += 1;
        }
        std::thread::sleep(Duration::from_millis(block_ms / 2));
    }
    for n in &built {
        n.shutdown();
    }
    for p in producers {
        p.join().unwrap();
    }
    // Let the last blocks reach everyone.
    std::thread::sleep(Duration::from_millis(block_ms));
    for n in &nets {
        n.shutdown();
    }

    let logs: Vec<_> = recorders
        .iter()
        .map(|r| std::mem::take(&mut *r.0.lock().unwrap()))
        .collect();
    let mut at_height: HashMap<u64, HashSet<BlockHash>> = HashMap::new();
    let mut reorgs = 0;
    // Per transfer: how long its inclusion kept changing on the node where that took
    // longest (from its first inclusion there to its last change there), and whether any
    // node took it off its chain.
    let mut txs: HashMap<TxId, (Duration, bool)> = HashMap::new();
    for log in &logs {
        let mut here: HashMap<TxId, (Instant, Instant)> = HashMap::new();
        let mut last_revert: Option<Instant> = None;
        for m in log {
            if m.joined {
                at_height.entry(m.height).or_default().insert(m.hash);
            } else if last_revert != Some(m.at) {
                reorgs += 1;
                last_revert = Some(m.at);
            }
            for id in &m.txs {
                let e = here.entry(*id).or_insert((m.at, m.at));
                e.1 = m.at;
                if !m.joined {
                    txs.entry(*id).or_default().1 = true;
                }
            }
        }
        for (id, (first, last)) in here {
            let e = txs.entry(id).or_default();
            e.0 = e.0.max(last - first);
        }
    }
    let contested = (1..=heights)
        .filter(|h| at_height.get(h).is_some_and(|s| s.len() > 1))
        .count();
    let mut settled: Vec<Duration> = txs.values().map(|(d, _)| *d).collect();
    settled.sort();
    Figures {
        heights,
        contested,
        reorgs,
        included: txs.len(),
        flipped: txs.values().filter(|t| t.1).count(),
        settled,
    }
}

fn ms(d: Option<&Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.0} ms", d.as_secs_f64() * 1e3))
}

fn report(nodes: usize, rules: Rules, f: &Figures) {
    let pct = |a: usize, b: usize| 100.0 * a as f64 / (b.max(1)) as f64;
    let q = |p: f64| {
        f.settled
            .get(((f.settled.len().max(1) - 1) as f64 * p).round() as usize)
    };
    println!(
        "{nodes} nodes, {:<6} {:>3} heights: {:>5.1}% contested, {:.2} reorganisations per block; \
         {} transfers included, {:>5.1}% flipped; settled after p50 {}, p99 {}, max {}",
        match rules {
            Rules::Before => "before",
            Rules::Now => "now",
        },
        f.heights,
        pct(f.contested, f.heights as usize),
        f.reorgs as f64 / f.heights as f64,
        f.included,
        pct(f.flipped, f.included),
        ms(q(0.5)),
        ms(q(0.99)),
        ms(f.settled.last()),
    );
}

fn main() {
    // `cargo bench` measures; `cargo test` (which runs benches once, without `--bench`) only
    // checks that it works: three nodes, a few short blocks, today's rules.
    let measure = std::env::args().any(|a| a == "--bench");
    if !measure {
        let f = run(3, Rules::Now, 4, 500);
        assert!(f.heights == 4 && f.included > 0, "nothing was included");
        report(3, Rules::Now, &f);
        return;
    }
    for nodes in [3, 5] {
        for rules in [Rules::Before, Rules::Now] {
            let f = run(nodes, rules, 60, 1_000);
            report(nodes, rules, &f);
        }
    }
}
