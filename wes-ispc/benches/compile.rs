//! Compile cost under the deploy-time limits: the largest modules of several slow-to-compile
//! shapes that [`COMPILE_WEIGHT_LIMIT`] admits, beside an example-sized contract and a module
//! the limit now refuses (compiled here with the limit lifted).
//!
//! `cargo bench -p wes-ispc --bench compile` prints a table ready for BENCHMARKS.md. Each
//! figure is the median of three compiles by a fresh executor (no cache). Under
//! `cargo test` it compiles each module once and skips the refused one.

#[path = "../tests/common/slow_compile.rs"]
mod slow_compile;

use std::time::{Duration, Instant};

use slow_compile::*;
use wes_ispc::*;

/// The time to validate and compile `code` with `limits`, median of `runs`.
fn compile_time(code: &[u8], limits: &WasmLimits, runs: usize) -> Duration {
    let id = wes_ures::content_id(code);
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let executor = WasmExecutor::new(limits.clone());
            let start = Instant::now();
            executor.prepare(&id, code).expect("the module compiles");
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// The largest `n` for which `shape(n)` fits `limits`, by bisection.
fn largest_admitted(shape: impl Fn(usize) -> String, limits: &WasmLimits) -> (usize, Vec<u8>) {
    let fits = |n: usize| compile_weight(&wat::parse_str(shape(n)).expect("WAT"), limits).is_some();
    let (mut lo, mut hi) = (1usize, 2usize);
    while fits(hi) {
        (lo, hi) = (hi, hi * 2);
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if fits(mid) { lo = mid } else { hi = mid }
    }
    (lo, wat::parse_str(shape(lo)).expect("WAT"))
}

fn main() {
    let measure = std::env::args().any(|a| a == "--bench");
    let runs = if measure { 3 } else { 1 };
    let limits = WasmLimits::default();
    let lifted = WasmLimits {
        max_compile_weight: u64::MAX,
        ..WasmLimits::default()
    };
    let row = |what: String, code: &[u8], limits: &WasmLimits| {
        let weight = compile_weight(code, &lifted).expect("valid");
        let time = compile_time(code, limits, runs);
        println!(
            "| {what} | {} KB | {:.1} M | {:.0} ms |",
            code.len() / 1024,
            weight as f64 / 1e6,
            time.as_secs_f64() * 1e3
        );
    };
    println!("\n| module | size | weight | compile |\n|---|---:|---:|---:|");
    let counter = wat::parse_str(
        r#"(module
          (import "wes" "state_get" (func $get (param i32 i32 i32 i32) (result i32)))
          (import "wes" "state_set" (func $set (param i32 i32 i32 i32)))
          (memory (export "memory") 1 1)
          (func (export "increment") (local $n i64)
            (if (i32.eq (call $get (i32.const 0) (i32.const 5) (i32.const 32) (i32.const 8))
                        (i32.const 8))
              (then (local.set $n (i64.load (i32.const 32)))))
            (i64.store (i32.const 32) (i64.add (local.get $n) (i64.const 1)))
            (call $set (i32.const 0) (i32.const 5) (i32.const 32) (i32.const 8))))"#,
    )
    .expect("WAT");
    row("anchor: a counter contract".into(), &counter, &limits);
    let (n, code) = largest_admitted(|n| branchy(250, n), &limits);
    row(
        format!("{n} `if`s over 250 locals (largest admitted)"),
        &code,
        &limits,
    );
    let (n, code) = largest_admitted(|n| branchy(16, n), &limits);
    row(
        format!("{n} `if`s over 16 locals (largest admitted)"),
        &code,
        &limits,
    );
    let (n, code) = largest_admitted(|n| call_heavy(1, 16, n), &limits);
    row(
        format!("{n} calls over 16 locals (largest admitted)"),
        &code,
        &limits,
    );
    let (n, code) = largest_admitted(|n| call_heavy(n, 16, 200), &limits);
    row(
        format!("{n} functions of 200 calls (largest admitted)"),
        &code,
        &limits,
    );
    let (n, code) = largest_admitted(nested_blocks, &limits);
    row(
        format!("{n} nested blocks (largest admitted)"),
        &code,
        &limits,
    );
    if measure {
        let bomb = wat::parse_str(call_heavy(1, 20, 10_000)).expect("WAT");
        row(
            "anchor: 10,000 calls over 20 locals (refused now)".into(),
            &bomb,
            &lifted,
        );
    }
}
