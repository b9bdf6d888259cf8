//! Block import throughput: validating + applying blocks of 1-input/2-output ed25519
//! transfers on the memory and sled backends, next to the raw signature-verification rates
//! measured in the same run (single, ed25519-dalek `verify_strict`, batch, and batch on all
//! cores — the bound block validation can approach).
//!
//! `cargo bench -p wes-ledger --bench block_import` prints criterion's report, then a summary
//! table with ratios, ready for BENCHMARKS.md.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use rayon::prelude::*;
use wes_core::*;
use wes_ledger::*;

const CHAIN: ChainId = ChainId(1);
const TXS: usize = 1024;
const FEE: u128 = 1_000;

fn keys() -> Vec<SecretKey> {
    (0..TXS as u32)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&i.to_le_bytes());
            SecretKey::from_seed(seed)
        })
        .collect()
}

fn genesis(keys: &[SecretKey]) -> Genesis {
    Genesis {
        chain_id: CHAIN,
        time_ms: 0,
        target: CompactTarget(0),
        allocations: keys
            .iter()
            .map(|k| Output::asset(Lock::key(k.public_key()), TokenId::Native, 1_000_000))
            .collect(),
        message: "bench".into(),
    }
}

/// A block of `TXS` transfers, each by a different key, each 1 input / 2 outputs.
fn block<S: KvStore>(ledger: &EutxoLedger<S>, keys: &[SecretKey], genesis: &Genesis) -> Block {
    let coinbase = genesis.coinbase();
    let txs = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            Transaction {
                version: Transaction::VERSION,
                chain_id: CHAIN,
                inputs: vec![Input::spend(coinbase.outpoint(i as u32))],
                outputs: vec![
                    Output::asset(
                        Lock::key(keys[(i + 1) % TXS].public_key()),
                        TokenId::Native,
                        1_000,
                    ),
                    Output::asset(
                        Lock::key(k.public_key()),
                        TokenId::Native,
                        1_000_000 - 1_000 - FEE,
                    ),
                ],
                validity: ValidityWindow::ALWAYS,
                execution: None,
            }
            .sign(&[k])
        })
        .collect();
    ledger
        .build_block(
            txs,
            &Lock::key(keys[0].public_key()),
            keys[0].public_key(),
            1,
        )
        .unwrap()
}

fn config() -> LedgerConfig {
    let mut c = LedgerConfig::new(CHAIN);
    c.fees = FeePolicy::native(TokenFee {
        per_byte: 1,
        per_cu: 1,
    });
    c
}

/// Times apply_block alone; each iteration reverts afterwards (untimed).
fn import<S: KvStore>(ledger: &EutxoLedger<S>, block: &Block, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        ledger.apply_block(block).unwrap();
        total += start.elapsed();
        ledger.revert_tip().unwrap();
    }
    total
}

struct Row {
    name: &'static str,
    per_second: f64,
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));
    let keys = keys();
    let genesis = genesis(&keys);

    // Signatures of the block, for the raw rates.
    let memory = EutxoLedger::open(
        MemoryStore::new(),
        config(),
        &genesis,
        VerifierRegistry::new(),
    )
    .unwrap();
    let blk = block(&memory, &keys, &genesis);
    let sigs: Vec<(PublicKey, Hash, Signature)> = blk
        .transactions
        .iter()
        .skip(1)
        .map(|t| {
            let s = t.witness.signatures[0];
            (s.key, t.tx.sighash(), s.signature)
        })
        .collect();
    let dalek: Vec<(ed25519_dalek::VerifyingKey, ed25519_dalek::Signature)> = sigs
        .iter()
        .map(|(k, _, s)| {
            (
                ed25519_dalek::VerifyingKey::from_bytes(&k.0).unwrap(),
                ed25519_dalek::Signature::from_bytes(&s.0),
            )
        })
        .collect();

    // Instruction counting under callgrind, which the CPU load of other work cannot disturb:
    // `WES_BENCH_ONLY=setup|import|batch` does the setup and then one block import or one
    // batch verification of the block's signatures, and exits.
    if let Ok(only) = std::env::var("WES_BENCH_ONLY") {
        match only.as_str() {
            "import" => {
                memory.apply_block(&blk).unwrap();
            }
            "batch" => {
                let mut batch = BatchVerifier::with_capacity(TXS);
                sigs.iter()
                    .for_each(|(k, m, s)| batch.push(*k, m.as_bytes(), *s));
                batch.verify().unwrap();
            }
            _ => {}
        }
        return;
    }

    let mut group = c.benchmark_group("ed25519");
    group.throughput(Throughput::Elements(TXS as u64));
    group.bench_function("single (WES rule)", |b| {
        b.iter(|| {
            for (k, m, s) in &sigs {
                verify(k, m.as_bytes(), s).unwrap();
            }
        })
    });
    group.bench_function("single (dalek verify_strict)", |b| {
        b.iter(|| {
            for ((k, s), (_, m, _)) in dalek.iter().zip(&sigs) {
                k.verify_strict(m.as_bytes(), s).unwrap();
            }
        })
    });
    group.bench_function("batch, one core", |b| {
        b.iter(|| {
            let mut batch = BatchVerifier::with_capacity(TXS);
            for (k, m, s) in &sigs {
                batch.push(*k, m.as_bytes(), *s);
            }
            batch.verify().unwrap();
        })
    });
    group.bench_function("batch, all cores", |b| {
        b.iter(|| {
            sigs.par_chunks(TXS.div_ceil(rayon::current_num_threads()))
                .for_each(|chunk| {
                    let mut batch = BatchVerifier::with_capacity(chunk.len());
                    for (k, m, s) in chunk {
                        batch.push(*k, m.as_bytes(), *s);
                    }
                    batch.verify().unwrap();
                })
        })
    });
    group.finish();

    let mut group = c.benchmark_group("block import");
    group.throughput(Throughput::Elements(TXS as u64));
    group.bench_function("memory", |b| {
        b.iter_custom(|iters| import(&memory, &blk, iters))
    });
    let dir = tempfile::tempdir().unwrap();
    let sled = EutxoLedger::open(
        SledStore::open(dir.path()).unwrap(),
        config(),
        &genesis,
        VerifierRegistry::new(),
    )
    .unwrap();
    group.bench_function("sled", |b| {
        b.iter_custom(|iters| import(&sled, &blk, iters))
    });
    // A node imports a block of transactions its mempool admitted: their signatures were
    // verified then, and the ledger keeps the verdicts.
    let admitted = EutxoLedger::open(
        MemoryStore::new(),
        config(),
        &genesis,
        VerifierRegistry::new(),
    )
    .unwrap();
    let ctx = BlockContext {
        height: 1,
        time_ms: 1,
    };
    for t in blk.transactions.iter().skip(1) {
        admitted.check_transaction(t, &ctx).unwrap();
    }
    group.bench_function("memory, signatures cached", |b| {
        b.iter_custom(|iters| import(&admitted, &blk, iters))
    });
    group.finish();
    c.final_summary();

    // Summary with ratios, from a plain timed run of each (median of 15).
    let median = |f: &mut dyn FnMut() -> Duration| {
        let mut v: Vec<Duration> = (0..15).map(|_| f()).collect();
        v.sort();
        TXS as f64 / v[7].as_secs_f64()
    };
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        start.elapsed()
    };
    let rows = [
        Row {
            name: "ed25519 single verify, WES rule (1 core)",
            per_second: median(&mut || {
                time(&mut || {
                    sigs.iter()
                        .for_each(|(k, m, s)| verify(k, m.as_bytes(), s).unwrap())
                })
            }),
        },
        Row {
            name: "ed25519 verify_strict, dalek (1 core)",
            per_second: median(&mut || {
                time(&mut || {
                    dalek
                        .iter()
                        .zip(&sigs)
                        .for_each(|((k, s), (_, m, _))| k.verify_strict(m.as_bytes(), s).unwrap())
                })
            }),
        },
        Row {
            name: "ed25519 batch verify (1 core)",
            per_second: median(&mut || {
                time(&mut || {
                    let mut batch = BatchVerifier::with_capacity(TXS);
                    sigs.iter()
                        .for_each(|(k, m, s)| batch.push(*k, m.as_bytes(), *s));
                    batch.verify().unwrap();
                })
            }),
        },
        Row {
            name: "ed25519 batch verify (all cores) = bound",
            per_second: median(&mut || {
                time(&mut || {
                    sigs.par_chunks(TXS.div_ceil(rayon::current_num_threads()))
                        .for_each(|chunk| {
                            let mut batch = BatchVerifier::with_capacity(chunk.len());
                            chunk
                                .iter()
                                .for_each(|(k, m, s)| batch.push(*k, m.as_bytes(), *s));
                            batch.verify().unwrap();
                        })
                })
            }),
        },
        Row {
            name: "block import, memory backend (validate + apply)",
            per_second: median(&mut || import(&memory, &blk, 1)),
        },
        Row {
            name: "block import, sled backend (validate + apply + fsync)",
            per_second: median(&mut || import(&sled, &blk, 1)),
        },
        Row {
            name: "block import, memory, signatures verified at admission (cached)",
            per_second: median(&mut || import(&admitted, &blk, 1)),
        },
    ];
    let bound = rows[3].per_second;
    let memory_rate = rows[4].per_second;
    println!(
        "\n| measurement ({TXS} transfers per block, {} threads) | per second | ratio |",
        rayon::current_num_threads()
    );
    println!("|---|---:|---|");
    for (i, row) in rows.iter().enumerate() {
        let ratio = match i {
            4 => format!("{:.2} × bound", row.per_second / bound),
            5 => format!(
                "{:.2} × bound, {:.2} × memory",
                row.per_second / bound,
                row.per_second / memory_rate
            ),
            6 => format!(
                "{:.2} × bound, {:.2} × uncached",
                row.per_second / bound,
                row.per_second / memory_rate
            ),
            _ => String::new(),
        };
        println!("| {} | {:.0} | {} |", row.name, row.per_second, ratio);
    }
}
