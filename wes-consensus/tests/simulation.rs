//! Deterministic many-miner simulation: no sockets, no wall clock. A seeded RNG draws block
//! discovery times (exponential, rate = hash power / work of the next target) and message
//! delays; an event queue orders them on a simulated clock. Every node is a real
//! `ChainManager` over a real `EutxoLedger<MemoryStore>`, and every block is really mined
//! (targets are easy: about 64 hashes per block) and validated by the whole pipeline.

mod common;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use common::*;
use wes_consensus::{Submitted, decode_compact, work_of};
use wes_core::*;

/// SplitMix64: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
    fn exp(&mut self, rate: f64) -> f64 {
        -self.unit().ln() / rate
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

enum Event {
    Mine { node: usize, epoch: u64 },
    Deliver { to: usize, block: Box<Block> },
}

/// Hashes per ms of all miners together: with 64-hash blocks, one block a second.
const TOTAL_RATE: f64 = 0.064;

struct Sim {
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: HashMap<u64, Event>,
    rng: Rng,
    nodes: Vec<Node>,
    power: Vec<f64>,
    latency: Vec<u64>,
    epoch: Vec<u64>,
    mining: bool,
    /// parent -> children, over every block mined.
    siblings: HashMap<BlockHash, Vec<BlockHash>>,
    reorgs: usize,
    /// Deepest reorg per node.
    deepest: Vec<u64>,
}

impl Sim {
    fn new(seed: u64, power: Vec<f64>, extra_nodes: usize) -> Sim {
        let g = genesis(target_for_work(64));
        let engine: Arc<dyn ConsensusEngine> = pow_engine(&g);
        let mut rng = Rng(seed);
        let n = power.len() + extra_nodes;
        let latency = (0..n).map(|_| 20 + rng.below(250)).collect();
        Sim {
            now: T0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: HashMap::new(),
            rng,
            nodes: (0..n).map(|_| node(&g, engine.clone())).collect(),
            power,
            latency,
            epoch: vec![0; n],
            mining: true,
            siblings: HashMap::new(),
            reorgs: 0,
            deepest: vec![0; n],
        }
    }

    fn push(&mut self, at: u64, e: Event) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq)));
        self.events.insert(self.seq, e);
    }

    fn pop(&mut self) -> Option<Event> {
        let Reverse((at, seq)) = self.queue.pop()?;
        self.now = at;
        self.events.remove(&seq)
    }

    /// (Re)starts `node`'s search on its current tip: memoryless, so redrawing is exact.
    fn schedule_mine(&mut self, node: usize) {
        self.epoch[node] += 1;
        if !self.mining || node >= self.power.len() {
            return;
        }
        let target = self.nodes[node].next_target().unwrap();
        let work = work_of(&decode_compact(target).unwrap()).0 as f64;
        let rate = TOTAL_RATE * self.power[node] / work;
        let at = self.now + self.rng.exp(rate).ceil().max(1.0) as u64;
        let epoch = self.epoch[node];
        self.push(at, Event::Mine { node, epoch });
    }

    fn delay(&mut self, from: usize, to: usize) -> u64 {
        self.latency[from] + self.latency[to] + self.rng.below(100)
    }

    /// Mines a block on `node`'s tip now and submits it there.
    fn mine(&mut self, node: usize) -> Block {
        let parent_time = self.nodes[node].best_header().time_ms;
        let block = mine_on(
            &self.nodes[node],
            &format!("miner-{node}"),
            self.now.max(parent_time + 1),
        );
        self.siblings
            .entry(block.header.parent)
            .or_default()
            .push(block.hash());
        self.submit(node, block.clone());
        block
    }

    fn broadcast(&mut self, from: usize, to: &[usize], block: &Block) {
        for &t in to {
            if t != from {
                let at = self.now + self.delay(from, t);
                self.push(
                    at,
                    Event::Deliver {
                        to: t,
                        block: Box::new(block.clone()),
                    },
                );
            }
        }
    }

    fn submit(&mut self, node: usize, block: Block) {
        let before = self.nodes[node].best_hash();
        let out = self.nodes[node].submit_block(block, self.now);
        match out {
            Ok(Submitted::Reorganized { reverted, .. }) => {
                self.reorgs += 1;
                self.deepest[node] = self.deepest[node].max(reverted);
            }
            Ok(_) => {}
            Err(e) => panic!("node {node} rejected an honest block: {e}"),
        }
        if self.nodes[node].best_hash() != before {
            self.schedule_mine(node);
        }
    }

    fn start(&mut self) {
        for n in 0..self.power.len() {
            self.schedule_mine(n);
        }
    }

    fn max_height(&self) -> u64 {
        self.nodes
            .iter()
            .map(|n| n.best_header().height)
            .max()
            .unwrap_or(0)
    }

    /// Pairs of equal-work siblings (same parent, so same target) that were mined.
    fn tie_count(&self) -> usize {
        self.siblings.values().filter(|c| c.len() > 1).count()
    }
}

#[test]
fn ten_miners_with_delays_fork_and_converge_on_one_chain() {
    let power: Vec<f64> = (1..=10).map(|i| i as f64 / 55.0).collect();
    let mut sim = Sim::new(0x5eed_0001, power, 0);
    let everyone: Vec<usize> = (0..10).collect();
    sim.start();
    while let Some(event) = sim.pop() {
        match event {
            Event::Mine { node, epoch } => {
                if epoch != sim.epoch[node] || !sim.mining {
                    continue;
                }
                let block = sim.mine(node);
                sim.broadcast(node, &everyone, &block);
            }
            Event::Deliver { to, block } => sim.submit(to, *block),
        }
        if sim.mining && sim.max_height() >= 150 {
            sim.mining = false; // deliver what is in flight, mine no more
        }
    }
    let tip = sim.nodes[0].best_hash();
    for (i, n) in sim.nodes.iter().enumerate() {
        assert_eq!(n.best_hash(), tip, "node {i} is on another tip");
        assert_eq!(
            n.ledger().tip().unwrap().hash,
            tip,
            "node {i}'s ledger lags"
        );
    }
    println!(
        "height {}, equal-work sibling ties {}, reorgs {}, deepest {}",
        sim.max_height(),
        sim.tie_count(),
        sim.reorgs,
        sim.deepest.iter().max().unwrap()
    );
    assert!(sim.tie_count() >= 3, "the delays produce forks");
    assert!(sim.reorgs >= 3, "nodes switch branches");
}

/// Nine honest miners (70%) and an attacker (30%) who mines in private and publishes
/// whenever its branch has more work than the public one, giving up when it falls more
/// than `K` blocks behind. No honest node ever reverts a block that was `K` deep.
///
/// `K = 24` is Nakamoto's figure for a 30% attacker (catch-up probability below 0.1%). With
/// `K = 6` this same seed does see a 6-deep block rewritten, as the mathematics says it
/// should (about 17% per attempt at 5 blocks): depth, not the fork-choice rule, is what
/// protects against a large minority.
#[test]
fn a_thirty_percent_miner_does_not_rewrite_k_deep_blocks() {
    const K: u64 = 24;
    const ATT: usize = 9; // mines privately on nodes[9]; nodes[10] observes the public chain
    const OBS: usize = 10;
    let mut power = vec![0.7 / 9.0; 9];
    power.push(0.3);
    let mut sim = Sim::new(0x5eed_0030, power, 1);
    let honest: Vec<usize> = (0..9).collect();
    let mut public_to: Vec<usize> = honest.clone();
    public_to.push(OBS);
    let mut seen_by_attacker: Vec<Block> = Vec::new();
    let mut published: std::collections::HashSet<BlockHash> = Default::default();
    let mut marks: Vec<Option<(u64, BlockHash)>> = vec![None; 9];
    let mut attack_publications = 0;
    sim.start();
    while let Some(event) = sim.pop() {
        match event {
            Event::Mine { node, epoch } => {
                if epoch != sim.epoch[node] || !sim.mining {
                    continue;
                }
                let block = sim.mine(node);
                if node == ATT {
                    let private = sim.nodes[ATT].cumulative_work(&sim.nodes[ATT].best_hash());
                    let public = sim.nodes[OBS].cumulative_work(&sim.nodes[OBS].best_hash());
                    if private > public {
                        // Publish the private branch, parents first.
                        let mut branch = Vec::new();
                        let mut h = sim.nodes[ATT].best_hash();
                        while !sim.nodes[OBS].knows(&h) && !published.contains(&h) {
                            let b = sim.nodes[ATT].ledger().block(&h).unwrap().unwrap();
                            h = b.header.parent;
                            branch.push(b);
                        }
                        attack_publications += 1;
                        for b in branch.into_iter().rev() {
                            published.insert(b.hash());
                            sim.broadcast(ATT, &public_to, &b);
                        }
                    }
                } else {
                    let mut to = public_to.clone();
                    to.push(ATT);
                    sim.broadcast(node, &to, &block);
                }
            }
            Event::Deliver { to: ATT, block } => {
                // The attacker ignores the public chain while it is not too far behind.
                seen_by_attacker.push(*block);
                let public = sim.nodes[OBS].best_header().height;
                if public > sim.nodes[ATT].best_header().height + K {
                    for b in seen_by_attacker.drain(..) {
                        sim.submit(ATT, b);
                    }
                }
            }
            Event::Deliver { to, block } => sim.submit(to, *block),
        }
        // Safety: every honest node keeps the block that was K deep on its chain.
        for (i, mark) in marks.iter_mut().enumerate() {
            let n = &sim.nodes[i];
            if let Some((h, hash)) = *mark {
                assert!(
                    n.confirmations(&hash).is_some(),
                    "node {i} reverted block {hash} at height {h}, which was {K} deep"
                );
            }
            let tip = n.best_header().height;
            if tip >= K {
                let h = tip + 1 - K;
                let hash = n.ledger().hash_at(h).unwrap().unwrap();
                *mark = Some((h, hash));
            }
        }
        if sim.mining && sim.max_height() >= 300 {
            sim.mining = false;
        }
    }
    println!(
        "height {}, attacker publications {attack_publications}, reorgs {}, deepest {}",
        sim.max_height(),
        sim.reorgs,
        sim.deepest[..9].iter().max().unwrap()
    );
    // The honest chain stays the one the honest majority extends.
    let tip = sim.nodes[0].best_hash();
    assert!(honest.iter().all(|&i| sim.nodes[i].best_hash() == tip));
    assert!(sim.deepest[..9].iter().all(|d| *d < K));
    assert!(
        attack_publications > 0,
        "the attacker did get ahead at times"
    );
}
