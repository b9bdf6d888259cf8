//! Miner hash rate against raw SHA3-256 of the same header bytes, in the same run.
//!
//! `cargo bench -p wes-consensus` prints one row per measurement, ready for BENCHMARKS.md.
//! The target is 1 (unreachable), so the miner searches a fixed number of nonces.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use wes_consensus::{HeaderTemplate, Miner, U256};
use wes_core::{BlockHash, BlockHeader, ChainId, CompactTarget, Domain, Hash, PublicKey, codec};

fn header() -> BlockHeader {
    BlockHeader {
        version: BlockHeader::VERSION,
        chain_id: ChainId(1),
        parent: BlockHash(Hash([7; 32])),
        height: 1_000,
        time_ms: 1_700_000_000_000,
        tx_root: Hash([1; 32]),
        witness_root: Hash([2; 32]),
        state_root: Hash([3; 32]),
        producer: PublicKey([4; 32]),
        target: CompactTarget(0x1d00_ffff),
        nonce: 0,
        seal: vec![],
    }
}

fn main() {
    // `cargo test --benches` runs this binary with `--bench`-less args; keep it quick then.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: u64 = if quick { 20_000 } else { 2_000_000 };
    let header = header();
    let bytes = codec::encode(&header);

    // Raw: SHA3-256 (same domain tag) of the full encoded header, as `BlockHeader::hash`.
    let start = Instant::now();
    let mut acc = 0u8;
    let mut buf = bytes.clone();
    let off = HeaderTemplate::new(&header).unwrap().nonce_offset();
    for i in 0..n {
        buf[off..off + 8].copy_from_slice(&i.to_le_bytes());
        acc ^= wes_core::hash(Domain::BLOCK_HEADER, &buf).0[0];
    }
    let raw = n as f64 / start.elapsed().as_secs_f64();
    std::hint::black_box(acc);

    let one = U256::from(1u8);
    let cancel = AtomicBool::new(false);
    let mut rows = vec![(
        format!("raw SHA3-256 of the {}-byte header, 1 thread", bytes.len()),
        raw,
    )];
    for threads in [1usize, 2] {
        let miner = Miner::new(threads);
        // A search of `n * threads` nonces: unreachable target, so it runs to cancellation;
        // cancel from a timer thread after the raw run's duration times the thread count.
        let budget = start.elapsed();
        let (_, stats) = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(budget);
                cancel.store(true, std::sync::atomic::Ordering::Relaxed);
            });
            miner.mine(header.clone(), &one, &cancel).unwrap()
        });
        cancel.store(false, std::sync::atomic::Ordering::Relaxed);
        rows.push((format!("miner, {threads} thread(s)"), stats.hash_rate()));
    }
    println!("| measurement | hashes/s | vs raw (1 thread) |");
    println!("|---|---|---|");
    for (name, rate) in &rows {
        println!("| {name} | {:.0} | {:.2} |", rate, rate / raw);
    }
}
