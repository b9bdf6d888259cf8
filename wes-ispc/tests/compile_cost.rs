//! Compile cost is bounded before compiling: a module that would keep Cranelift busy for
//! seconds is refused by validation, at deploy and before any node compiles it.

mod common;
#[path = "common/slow_compile.rs"]
mod slow_compile;

use common::*;
use slow_compile::*;
use wes_core::Executor;
use wes_ispc::*;

/// Limits that admit everything but the compile-cost bounds under test.
fn open_limits() -> WasmLimits {
    WasmLimits {
        max_control_depth: u64::MAX,
        max_compile_weight: u64::MAX,
        ..WasmLimits::default()
    }
}

fn weight(wat: &str) -> u64 {
    compile_weight(&wasm(wat), &open_limits()).expect("valid under the open limits")
}

fn refused_for(executor: &WasmExecutor, code: &[u8]) -> &'static str {
    let validated = executor.validate(code);
    let Err(WasmError::Limit { what, .. }) = validated else {
        panic!("expected a limit, got {validated:?}");
    };
    let id = wes_ures::content_id(code);
    let prepared = executor.prepare(&id, code);
    assert!(
        matches!(prepared, Err(WasmError::Limit { what: w, .. }) if w == what),
        "compiling must refuse it the same way: {prepared:?}"
    );
    assert_eq!(executor.cached_modules(), 0, "nothing was compiled");
    what
}

#[test]
fn modules_designed_to_be_slow_to_compile_are_refused_before_compiling() {
    let executor = WasmExecutor::default();
    // Each of these took seconds to minutes in Cranelift under the other limits alone.
    let bombs = [
        (nested_blocks(10_000), "control nesting of one function"), // 30 KB, 4 s
        (branchy(250, 20_000), "compile weight"),                   // 280 KB, 25 s
        (call_heavy(1, 20, 20_000), "compile weight"),              // 120 KB, 23 s
        (call_heavy(200, 20, 250), "compile weight"),               // 300 KB, 2 s
    ];
    for (wat, limit) in bombs {
        let code = wasm(&wat);
        assert!(code.len() <= executor.limits().max_code_bytes);
        assert_eq!(refused_for(&executor, &code), limit);
    }
}

#[test]
fn the_weight_limit_is_the_boundary_whatever_the_size() {
    let heavy = branchy(64, 1_000);
    let limits = WasmLimits {
        max_compile_weight: weight(&heavy),
        ..WasmLimits::default()
    };
    let executor = WasmExecutor::new(limits.clone());
    let code = wasm(&heavy);
    executor
        .prepare(&wes_ures::content_id(&code), &code)
        .expect("at the limit, it compiles");
    assert_eq!(executor.cached_modules(), 1);
    // One more conditional update is over the limit...
    let executor = WasmExecutor::new(limits);
    assert_eq!(
        refused_for(&executor, &wasm(&branchy(64, 1_001))),
        "compile weight"
    );
    // ...while a module fifty times larger without branches compiles.
    let straight = format!(
        r#"(module (memory (export "memory") 1 1) (func (param i32) (local i32) {}))"#,
        "(local.set 1 (i32.add (local.get 0) (local.get 1)))".repeat(50_000)
    );
    let code = wasm(&straight);
    assert!(code.len() > 50 * wasm(&heavy).len() / 2);
    executor
        .prepare(&wes_ures::content_id(&code), &code)
        .expect("straight-line code is cheap to compile");
}

#[test]
fn weight_grows_with_the_square_of_control_points_and_with_live_values() {
    let (one, two) = (weight(&branchy(8, 4_000)), weight(&branchy(8, 8_000)));
    assert!(
        two > 3 * one,
        "{one} → {two}: Cranelift's time grows faster than linearly"
    );
    assert!(weight(&branchy(200, 1_000)) > 2 * weight(&branchy(8, 1_000)));
    let shallow = weight(&nested_blocks(100));
    assert!(weight(&nested_blocks(400)) > 10 * shallow);
    // Separate functions add up rather than multiply.
    let single = weight(&call_heavy(1, 8, 100));
    let ten = weight(&call_heavy(10, 8, 100));
    assert!(
        ten >= 10 * single - 10 && ten < 11 * single,
        "{single} × 10 ≠ {ten}"
    );
}

#[test]
fn example_sized_modules_weigh_little() {
    // A counter with a few branches and calls: far below the limit.
    assert!(weight(COUNTER) < COMPILE_WEIGHT_LIMIT / 1_000);
}
