//! The [`ConsensusEngine`] conformance suite (feature `testing`): what the chain manager and
//! the node rely on, checked against any engine. Run [`check_engine`] from a test of your
//! own engine:
//!
//! ```ignore
//! #[test]
//! fn my_engine_conforms() {
//!     let engine = MyEngine::new(/* … */);
//!     wes_consensus::conformance::check_engine(&engine, &genesis_header, &|height| key_for(height));
//! }
//! ```
//!
//! Every check panics (like `assert!`) on the first broken promise: a sealed child of a valid
//! parent validates; wrong parents, heights and times are refused with an error (never a
//! panic); fork choice is a total order every node computes alike; the difficulty rule is a
//! function of the ancestors; garbage headers are refused without panicking.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

use wes_core::{BlockHash, BlockHeader, ConsensusEngine, Hash, HeaderSource, PublicKey, Work};

/// Who may produce the block at a height (for authority engines; a PoW engine accepts any).
pub type ProducerFor<'a> = &'a dyn Fn(u64) -> PublicKey;

/// A template for the child of `parent` at `time_ms`, with the engine's target, unsealed.
pub fn child_template(
    engine: &dyn ConsensusEngine,
    parent: &BlockHeader,
    ancestors: &dyn HeaderSource,
    producer: PublicKey,
    time_ms: u64,
) -> BlockHeader {
    BlockHeader {
        version: BlockHeader::VERSION,
        chain_id: parent.chain_id,
        parent: parent.hash(),
        height: parent.height + 1,
        time_ms,
        tx_root: Hash::ZERO,
        witness_root: Hash::ZERO,
        state_root: parent.state_root,
        producer,
        target: engine
            .next_target(parent, ancestors)
            .expect("the engine gives the next target after a valid parent"),
        nonce: 0,
        seal: Vec::new(),
    }
}

fn seal(engine: &dyn ConsensusEngine, header: BlockHeader) -> BlockHeader {
    engine
        .seal(header, &AtomicBool::new(false))
        .expect("the engine seals a well-formed template (does this node hold the key?)")
        .expect("an uncancelled seal completes")
}

/// A short chain of sealed headers on `genesis`, one second apart, and the map of them.
fn chain(
    engine: &dyn ConsensusEngine,
    genesis: &BlockHeader,
    producer_for: ProducerFor<'_>,
    n: u64,
) -> (Vec<BlockHeader>, HashMap<BlockHash, BlockHeader>) {
    let mut known = HashMap::new();
    known.insert(genesis.hash(), genesis.clone());
    let mut headers = vec![genesis.clone()];
    for _ in 0..n {
        let parent = headers.last().expect("genesis").clone();
        let time = parent.time_ms + 1_000;
        let template = child_template(
            engine,
            &parent,
            &known,
            producer_for(parent.height + 1),
            time,
        );
        let sealed = seal(engine, template);
        known.insert(sealed.hash(), sealed.clone());
        headers.push(sealed);
    }
    (headers, known)
}

/// Sealed children validate, alone and against their parent, one after the other.
pub fn sealed_children_validate(
    engine: &dyn ConsensusEngine,
    genesis: &BlockHeader,
    producer_for: ProducerFor<'_>,
) {
    let (headers, known) = chain(engine, genesis, producer_for, 3);
    for pair in headers.windows(2) {
        let (parent, child) = (&pair[0], &pair[1]);
        engine
            .validate_header(child)
            .unwrap_or_else(|e| panic!("sealed header at {} refused: {e}", child.height));
        engine
            .validate_header_against_parent(child, parent, &known, child.time_ms)
            .unwrap_or_else(|e| panic!("sealed header at {} refused: {e}", child.height));
        assert!(
            engine.work(child) > Work(0),
            "every block adds work, or the longest chain cannot win"
        );
    }
}

/// A header that does not follow its parent (wrong parent hash, height, a time not after
/// the parent's, a time far in the future, another chain) is refused by one of the two
/// header checks.
pub fn broken_links_are_refused(
    engine: &dyn ConsensusEngine,
    genesis: &BlockHeader,
    producer_for: ProducerFor<'_>,
) {
    let (headers, known) = chain(engine, genesis, producer_for, 2);
    let (parent, child) = (&headers[1], &headers[2]);
    let now = child.time_ms;
    let refused = |mutate: &dyn Fn(&mut BlockHeader), what: &str| {
        let mut h = child.clone();
        mutate(&mut h);
        // The chain manager runs both checks; either may refuse.
        assert!(
            engine.validate_header(&h).is_err()
                || engine
                    .validate_header_against_parent(&h, parent, &known, now)
                    .is_err(),
            "a header with {what} was accepted"
        );
    };
    refused(&|h| h.parent = BlockHash(Hash::ZERO), "another parent");
    refused(&|h| h.height += 1, "a height that skips one");
    refused(&|h| h.height = parent.height, "its parent's height");
    refused(&|h| h.time_ms = parent.time_ms, "its parent's time");
    refused(
        &|h| h.time_ms = now + 365 * 24 * 3_600_000,
        "a time a year ahead",
    );
    refused(&|h| h.chain_id.0 ^= 1, "another chain id");
}

/// Fork choice: `break_tie` is antisymmetric, `Equal` only for the same header, and gives
/// the same answer every time (so every node facing the same tips picks the same one).
pub fn fork_choice_is_a_total_order(
    engine: &dyn ConsensusEngine,
    genesis: &BlockHeader,
    producer_for: ProducerFor<'_>,
) {
    let mut known = HashMap::new();
    known.insert(genesis.hash(), genesis.clone());
    let siblings: Vec<BlockHeader> = (1..=3)
        .map(|i| {
            let t = child_template(
                engine,
                genesis,
                &known,
                producer_for(genesis.height + 1),
                genesis.time_ms + 1_000 * i,
            );
            seal(engine, t)
        })
        .collect();
    for a in &siblings {
        assert_eq!(engine.break_tie(a, a), Ordering::Equal);
        for b in &siblings {
            if a.hash() == b.hash() {
                continue;
            }
            let ab = engine.break_tie(a, b);
            assert_ne!(ab, Ordering::Equal, "two different tips tie");
            assert_eq!(ab, engine.break_tie(b, a).reverse(), "not antisymmetric");
            assert_eq!(ab, engine.break_tie(a, b), "not deterministic");
        }
    }
    // Transitive: sorting with it is consistent whatever the input order.
    let mut forward = siblings.clone();
    forward.sort_by(|a, b| engine.break_tie(a, b));
    let mut backward: Vec<_> = siblings.into_iter().rev().collect();
    backward.sort_by(|a, b| engine.break_tie(a, b));
    let hashes = |v: &[BlockHeader]| v.iter().map(BlockHeader::hash).collect::<Vec<_>>();
    assert_eq!(hashes(&forward), hashes(&backward));
}

/// The difficulty rule is a function of the parent and its ancestors.
pub fn next_target_is_deterministic(
    engine: &dyn ConsensusEngine,
    genesis: &BlockHeader,
    producer_for: ProducerFor<'_>,
) {
    let (headers, known) = chain(engine, genesis, producer_for, 2);
    for h in &headers {
        assert_eq!(
            engine.next_target(h, &known).ok(),
            engine.next_target(h, &known).ok()
        );
    }
}

/// Headers nobody sealed (all zeros, huge fields, a long garbage seal) are refused by
/// `validate_header` or against their parent, and never make the engine panic.
pub fn garbage_headers_are_refused(
    engine: &dyn ConsensusEngine,
    genesis: &BlockHeader,
    producer_for: ProducerFor<'_>,
) {
    let mut known = HashMap::new();
    known.insert(genesis.hash(), genesis.clone());
    let template = child_template(
        engine,
        genesis,
        &known,
        producer_for(genesis.height + 1),
        genesis.time_ms + 1_000,
    );
    let garbage = [
        BlockHeader {
            seal: vec![0xFF; 4096],
            nonce: u64::MAX,
            ..template.clone()
        },
        BlockHeader {
            height: u64::MAX,
            time_ms: u64::MAX,
            seal: vec![1, 2, 3],
            ..template.clone()
        },
        BlockHeader {
            version: u32::MAX,
            ..template.clone()
        },
    ];
    for (i, h) in garbage.iter().enumerate() {
        let alone = engine.validate_header(h);
        let linked = engine.validate_header_against_parent(h, genesis, &known, h.time_ms);
        assert!(
            alone.is_err() || linked.is_err(),
            "garbage header {i} was accepted"
        );
    }
}

/// Every check of this suite, in order.
pub fn check_engine(
    engine: &dyn ConsensusEngine,
    genesis: &BlockHeader,
    producer_for: ProducerFor<'_>,
) {
    sealed_children_validate(engine, genesis, producer_for);
    broken_links_are_refused(engine, genesis, producer_for);
    fork_choice_is_a_total_order(engine, genesis, producer_for);
    next_target_is_deterministic(engine, genesis, producer_for);
    garbage_headers_are_refused(engine, genesis, producer_for);
}
