//! Every rejection has its typed error: bad nonce, bad or invalid target, time too far
//! ahead or before the median time past, wrong parent, bad body, ledger-invalid block.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use wes_consensus::{ChainError, PowXorEngine, U256, meets_target};
use wes_core::*;

/// A genesis about 2^12 hashes per block, so a wrong nonce almost surely fails.
fn setup() -> (Genesis, Arc<PowXorEngine>, Node) {
    let g = genesis(target_for_work(4_096));
    let engine = pow_engine(&g);
    let node = node(&g, engine.clone());
    (g, engine, node)
}

fn no_ancestors() -> HashMap<BlockHash, BlockHeader> {
    HashMap::new()
}

#[test]
fn a_mined_block_passes_and_extends_the_chain() {
    let (_, engine, mut node) = setup();
    let block = mine_on(&node, "m", T0 + 1_000);
    engine.validate_header(&block.header).unwrap();
    let out = node.submit_block(block.clone(), T0 + 1_000).unwrap();
    assert_eq!(
        out,
        wes_consensus::Submitted::Extended {
            tip: block.hash(),
            height: 1
        }
    );
    assert_eq!(node.ledger().tip().unwrap().hash, block.hash());
    assert_eq!(node.confirmations(&block.hash()), Some(1));
}

#[test]
fn bad_nonce_is_insufficient_work() {
    let (_, engine, mut node) = setup();
    let mut block = mine_on(&node, "m", T0 + 1_000);
    let target = wes_consensus::decode_compact(block.header.target).unwrap();
    while meets_target(&block.header.hash(), &target) {
        block.header.nonce = block.header.nonce.wrapping_add(1);
    }
    let hash = block.hash();
    let expected = ConsensusError::InsufficientWork {
        hash,
        target: block.header.target,
    };
    assert_eq!(engine.validate_header(&block.header), Err(expected.clone()));
    let err = node.submit_block(block, T0 + 1_000).unwrap_err();
    assert_eq!(
        err,
        ChainError::Header {
            hash,
            source: expected
        }
    );
    assert_eq!(err.fault(), Fault::Input);
    // Proof-of-work failures are not remembered: cheap to forge.
    assert!(!node.knows(&hash));
}

#[test]
fn bad_target_is_wrong_target() {
    let (g, engine, mut node) = setup();
    let mut block = unsolved_on(&node, "m", T0 + 1_000);
    let expected = block.header.target;
    block.header.target = engine.params().pow_limit; // easier than the rule allows
    block.header = solve(block.header);
    engine.validate_header(&block.header).unwrap();
    let parent = genesis_header(&g);
    assert_eq!(
        engine.validate_header_against_parent(&block.header, &parent, &no_ancestors(), T0),
        Err(ConsensusError::WrongTarget {
            expected,
            got: engine.params().pow_limit
        })
    );
    let hash = block.hash();
    assert!(matches!(
        node.submit_block(block, T0 + 1_000),
        Err(ChainError::Header {
            source: ConsensusError::WrongTarget { .. },
            ..
        })
    ));
    // A solved header with a wrong target cost work: remembered as invalid.
    assert!(node.is_invalid(&hash));
}

#[test]
fn malformed_or_too_easy_targets_are_invalid() {
    let (_, engine, node) = setup();
    for bad in [0x0492_3456u32, 0x2300_0100, 0, 0x2100_ffff] {
        let mut block = unsolved_on(&node, "m", T0 + 1_000);
        block.header.target = CompactTarget(bad);
        assert_eq!(
            engine.validate_header(&block.header),
            Err(ConsensusError::InvalidTarget(CompactTarget(bad))),
            "{bad:#x}"
        );
    }
}

#[test]
fn timestamp_too_far_ahead_is_rejected_but_not_forgotten_forever() {
    let (_, engine, mut node) = setup();
    let now = T0 + 1_000;
    let drift = engine.params().max_future_drift_ms;
    let block = mine_on(&node, "m", now + drift + 1);
    let hash = block.hash();
    let err = node.submit_block(block.clone(), now).unwrap_err();
    assert_eq!(
        err,
        ChainError::Header {
            hash,
            source: ConsensusError::TimeTooFarAhead {
                time_ms: now + drift + 1,
                now_ms: now,
                max_drift_ms: drift
            }
        }
    );
    assert!(!node.is_invalid(&hash));
    // Later, when the clock has caught up, the same block is accepted.
    assert!(node.submit_block(block, now + 2).is_ok());
    assert_eq!(node.best_hash(), hash);
}

#[test]
fn wrong_parent_is_rejected() {
    let (g, engine, _) = setup();
    let node = common::node(&g, engine.clone());
    let mut block = unsolved_on(&node, "m", T0 + 1_000);
    let real_parent = block.header.parent;
    block.header.parent = BlockHash(hash(Domain::new("x"), b"elsewhere"));
    block.header = solve(block.header);
    assert_eq!(
        engine.validate_header_against_parent(
            &block.header,
            &genesis_header(&g),
            &no_ancestors(),
            T0 + 1_000
        ),
        Err(ConsensusError::WrongParent {
            expected: real_parent,
            got: block.header.parent
        })
    );
}

#[test]
fn time_at_or_before_the_median_time_past_is_too_old() {
    let (_, engine, mut node) = setup();
    for i in 1..=11u64 {
        let b = mine_on(&node, "m", T0 + i * 1_000);
        node.submit_block(b, T0 + i * 1_000).unwrap();
    }
    // Times T0+1s..T0+11s and genesis: the median of the last 11 is T0 + 6 s.
    let median = wes_consensus::median_time_past(node.best_header(), &node, 11).unwrap();
    assert_eq!(median, T0 + 6_000);
    let block = mine_on(&node, "m", median);
    let err = node.submit_block(block, T0 + 12_000).unwrap_err();
    assert!(
        matches!(
            err,
            ChainError::Header {
                source: ConsensusError::TimeTooOld { time_ms, median_ms },
                ..
            } if time_ms == median && median_ms == median
        ),
        "{err}"
    );
    let _ = engine;
}

#[test]
fn a_body_that_does_not_match_the_header_is_rejected_without_condemning_the_header() {
    let (_, _, mut node) = setup();
    let good = mine_on(&node, "m", T0 + 1_000);
    let mut bad = good.clone();
    bad.transactions.clear();
    let err = node.submit_block(bad, T0 + 1_000).unwrap_err();
    assert!(matches!(err, ChainError::Body { .. }), "{err}");
    // The right body for the same header is still accepted.
    node.submit_block(good.clone(), T0 + 1_000).unwrap();
    assert_eq!(node.best_hash(), good.hash());
}

#[test]
fn a_block_the_ledger_rejects_is_marked_invalid_with_its_descendants() {
    let (_, _, mut node) = setup();
    let mut bad = unsolved_on(&node, "m", T0 + 1_000);
    bad.header.state_root = Hash([9; 32]);
    bad.header = solve(bad.header);
    let bad_hash = bad.hash();
    let err = node.submit_block(bad, T0 + 1_000).unwrap_err();
    assert!(
        matches!(err, ChainError::Ledger { hash, .. } if hash == bad_hash),
        "{err}"
    );
    assert_eq!(err.fault(), Fault::Input);
    assert!(node.is_invalid(&bad_hash));
    assert_eq!(node.best_header().height, 0);
    // Its child is refused as a descendant of an invalid block.
    let mut child = unsolved_on(&node, "m", T0 + 2_000);
    child.header.parent = bad_hash;
    child.header.height = 2;
    child.header = solve(child.header);
    let err = node.submit_block(child, T0 + 2_000).unwrap_err();
    assert!(
        matches!(err, ChainError::InvalidAncestor { ancestor, .. } if ancestor == bad_hash),
        "{err}"
    );
}

#[test]
fn work_follows_the_target() {
    let (_, engine, node) = setup();
    let b = unsolved_on(&node, "m", T0 + 1_000);
    let w = engine.work(&b.header).0;
    // About 4096 expected hashes.
    assert!((4_000..=4_200).contains(&w), "{w}");
    let _ = U256::ZERO;
}
