//! Rough timings, not a benchmark harness: `cargo test -p wes-ispc --release --test timing --
//! --ignored --nocapture`.

mod common;

use std::time::Instant;

use common::*;
use wes_core::*;
use wes_ispc::*;

fn per_call(n: u32, mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

#[test]
#[ignore = "timing, run by hand"]
fn timings() {
    let code = wasm(COUNTER);
    let (view, id) = MapView::with_code(&code);
    let ex = WasmExecutor::default();
    let t = Instant::now();
    ex.validate(&code).unwrap();
    println!("validate: {:.1} µs", t.elapsed().as_secs_f64() * 1e6);
    let t = Instant::now();
    WasmExecutor::default()
        .execute(
            &code,
            &request(contract("c"), id, "ctx", 100_000),
            &view.shared(),
        )
        .unwrap();
    println!(
        "first call (compile): {:.1} µs",
        t.elapsed().as_secs_f64() * 1e6
    );
    let ctx = request(contract("c"), id, "ctx", 100_000);
    println!(
        "cached call, 5 host calls, no state: {:.1} µs",
        per_call(2000, || {
            ex.execute(&code, &ctx, &view.shared()).unwrap();
        })
    );
    let inc = request(contract("c"), id, "increment", 100_000);
    println!(
        "cached call with state (reader thread): {:.1} µs",
        per_call(2000, || {
            ex.execute(&code, &inc, &view.shared()).unwrap();
        })
    );
    let outcome = ex.execute(&code, &inc, &view.shared()).unwrap();
    println!(
        "replay of that call: {:.1} µs",
        per_call(2000, || {
            ex.replay(&code, &inc, &view.shared(), outcome.trace.clone())
                .unwrap();
        })
    );
    let spin = request(contract("c"), id, "spin", 10_000_000);
    println!(
        "10M CU of a tight loop: {:.1} µs",
        per_call(20, || {
            ex.execute(&code, &spin, &view.shared()).unwrap_err();
        })
    );
}
