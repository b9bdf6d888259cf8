//! Resource throughput: put and get of 1 MiB and 256 MiB on both stores, next to a plain
//! `std::fs` write and read of the same bytes in the same run, and SHA3 content hashing
//! alone (the bound every verified store shares).
//!
//! `cargo bench -p wes-ures` prints Markdown rows for BENCHMARKS.md. Without `--bench` (as
//! under `cargo test --all-targets`) it runs once on small data as a smoke test.

use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use wes_core::{ResourceKind, ResourceMeta, ResourceStore};
use wes_ures::{DiskStore, Durability, MemoryStore, content_id};

const MIB: usize = 1024 * 1024;

fn data(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Median wall time of `reps` runs of `f`; `reset` runs untimed before each.
fn median(reps: usize, mut reset: impl FnMut(), mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            reset();
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[reps / 2]
}

fn mbps(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / 1e6
}

struct Row {
    op: &'static str,
    what: String,
    mbps: f64,
    plain: Option<f64>,
}

fn plain_write(path: &Path, bytes: &[u8], sync: bool) {
    let mut f = File::create(path).unwrap();
    f.write_all(bytes).unwrap();
    if sync {
        f.sync_data().unwrap();
    }
}

fn run(len: usize, reps: usize, rows: &mut Vec<Row>) {
    let bytes = data(len);
    let dir = tempfile::tempdir().unwrap();
    let meta = ResourceMeta::default();
    let plain = dir.path().join("plain");
    let size = if len >= MIB {
        format!("{} MiB", len / MIB)
    } else {
        format!("{len} B")
    };

    let hash = median(
        reps,
        || {},
        || {
            black_box(content_id(&bytes));
        },
    );
    let write = median(reps, || {}, || plain_write(&plain, &bytes, false));
    let write_sync = median(reps, || {}, || plain_write(&plain, &bytes, true));
    let read = median(
        reps,
        || {},
        || {
            black_box(std::fs::read(&plain).unwrap());
        },
    );
    let mut push = |op, what: String, t, base: Option<Duration>| {
        rows.push(Row {
            op,
            what,
            mbps: mbps(len, t),
            plain: base.map(|b| b.as_secs_f64() / t.as_secs_f64()),
        })
    };
    push(
        "hash",
        format!("{size}, content id only, SHA3-256 on 1 thread"),
        hash,
        None,
    );
    push("write", format!("{size}, plain std::fs"), write, None);
    push(
        "write",
        format!("{size}, plain std::fs + fsync"),
        write_sync,
        None,
    );
    push("read", format!("{size}, plain std::fs"), read, None);

    for (name, durability, base) in [
        ("DiskStore, Durability::Os", Durability::Os, write),
        ("DiskStore, Durability::Sync", Durability::Sync, write_sync),
    ] {
        let store = DiskStore::open_with(dir.path().join(name), durability).unwrap();
        let put = median(
            reps,
            || {
                store.collect_garbage().unwrap();
            },
            || {
                black_box(
                    store
                        .put(ResourceKind::File, &meta, &mut bytes.as_slice())
                        .unwrap(),
                );
            },
        );
        let id = content_id(&bytes);
        let get = median(
            reps,
            || {},
            || {
                black_box(store.get(&id).unwrap());
            },
        );
        push("put", format!("{size}, {name}"), put, Some(base));
        push("get", format!("{size}, {name}"), get, Some(read));
    }

    let store = MemoryStore::new();
    let put = median(
        reps,
        || {
            store.collect_garbage().unwrap();
        },
        || {
            black_box(
                store
                    .put(ResourceKind::File, &meta, &mut bytes.as_slice())
                    .unwrap(),
            );
        },
    );
    let id = content_id(&bytes);
    let get = median(
        reps,
        || {},
        || {
            black_box(store.get(&id).unwrap());
        },
    );
    push("put", format!("{size}, MemoryStore"), put, Some(write));
    push("get", format!("{size}, MemoryStore"), get, Some(read));
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let mut rows = Vec::new();
    if bench {
        run(MIB, 21, &mut rows);
        run(256 * MIB, 3, &mut rows);
    } else {
        run(64 * 1024, 1, &mut rows);
    }
    println!("| operation | size, backend | MB/s | × plain file |");
    println!("|---|---|---:|---:|");
    for r in rows {
        let ratio = r.plain.map_or("".to_string(), |p| format!("{p:.2}"));
        println!("| {} | {} | {:.0} | {} |", r.op, r.what, r.mbps, ratio);
    }
}
