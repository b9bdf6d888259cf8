//! The public `ConsensusEngine` conformance suite, run against this crate's engines.

mod common;

use common::*;
use wes_consensus::conformance::check_engine;
use wes_consensus::{PowXorEngine, RoundRobinAuthority};
use wes_core::CompactTarget;

#[test]
fn pow_xor_conforms() {
    let header = genesis_header(&genesis(params().pow_limit));
    let engine = PowXorEngine::for_genesis(params(), &header).unwrap();
    check_engine(&engine, &header, &|_| key("miner").public_key());
}

#[test]
fn round_robin_authority_conforms() {
    let header = genesis_header(&genesis(CompactTarget(0)));
    let names = ["a", "b", "c"];
    let mut engine =
        RoundRobinAuthority::new(CHAIN, names.iter().map(|n| key(n).public_key()).collect())
            .unwrap();
    for n in names {
        engine = engine.with_key(key(n));
    }
    check_engine(&engine, &header, &|height| {
        key(names[(height % 3) as usize]).public_key()
    });
}
