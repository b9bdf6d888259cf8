//! The WASM executor on real modules: metering, limits, HostABI, adversarial guests.

mod common;

use common::*;
use wes_core::*;
use wes_ispc::*;

fn run(code: &[u8], entry: &str, cu: u64) -> Result<ExecutionOutcome, WasmError> {
    let (view, id) = MapView::with_code(code);
    let ex = WasmExecutor::default();
    ex.execute(code, &request(contract("c"), id, entry, cu), &view.shared())
}

/// A healthy call after an adversarial one: the process and the executor are fine.
fn still_works(ex: &WasmExecutor) {
    let code = wasm(COUNTER);
    let (view, id) = MapView::with_code(&code);
    let out = ex
        .execute(
            &code,
            &request(contract("c"), id, "increment", 100_000),
            &view.shared(),
        )
        .unwrap();
    assert_eq!(out.return_data, 1u64.to_le_bytes());
}

#[test]
fn counter_creates_state_and_charges_host_calls() {
    let out = run(&wasm(COUNTER), "increment", 100_000).unwrap();
    assert_eq!(out.return_data, 1u64.to_le_bytes());
    assert!(out.inputs.is_empty(), "no live state yet");
    assert_eq!(out.outputs.len(), 1);
    let state = out.outputs[0].as_state().unwrap();
    assert_eq!((state.key.as_slice(), state.version), (&b"count"[..], 0));
    assert_eq!(state.data, 1u64.to_le_bytes());
    assert_eq!(out.outputs[0].lock, Lock::contract(contract("c")));
    assert_eq!(out.events.len(), 1);
    let calls: Vec<&str> = out.trace.iter().map(|e| e.call.as_str()).collect();
    assert_eq!(
        calls,
        ["state_get", "state_set", "emit_event", "set_return"]
    );
    for e in &out.trace {
        let c = host::host_cost(&e.call).unwrap();
        assert_eq!(
            e.cu,
            c.fixed + c.per_byte * (e.input.len() + e.output.len()) as u64
        );
    }
    let host_cu: u64 = out.trace.iter().map(|e| e.cu).sum();
    assert!(out.cu_used > host_cu, "instructions are charged too");
}

#[test]
fn execution_is_deterministic() {
    let code = wasm(COUNTER);
    let (view, id) = MapView::with_code(&code);
    let a = WasmExecutor::default();
    let b = WasmExecutor::default();
    let req = request(contract("c"), id, "increment", 100_000);
    let x = a.execute(&code, &req, &view.shared()).unwrap();
    let y = a.execute(&code, &req, &view.shared()).unwrap();
    let z = b.execute(&code, &req, &view.shared()).unwrap();
    assert_eq!(x, y);
    assert_eq!(x, z);
    assert_eq!(a.cached_modules(), 1, "the second call used the cache");
}

#[test]
fn context_is_reported() {
    let out = run(&wasm(COUNTER), "ctx", 100_000).unwrap();
    let r = &out.return_data;
    assert_eq!(r[0..8], 1u64.to_le_bytes());
    assert_eq!(r[8..16], T0.to_le_bytes());
    assert_eq!(r[16..48], lock("alice").address().0.0);
    assert_eq!(r[48..80], contract("c").0.0);
}

#[test]
fn infinite_loop_runs_out_of_cu_and_metering_is_not_escaped() {
    let ex = WasmExecutor::default();
    let code = wasm(COUNTER);
    let (view, id) = MapView::with_code(&code);
    let err = ex
        .execute(
            &code,
            &request(contract("c"), id, "spin", 50_000),
            &view.shared(),
        )
        .unwrap_err();
    assert_eq!(err, WasmError::OutOfCu { limit: 50_000 });
    assert_eq!(err.fault(), Fault::Input);
    // A fresh call gets its own limit, and a tiny limit is enforced.
    let err = ex
        .execute(
            &code,
            &request(contract("c"), id, "increment", 10),
            &view.shared(),
        )
        .unwrap_err();
    assert_eq!(err, WasmError::OutOfCu { limit: 10 });
    still_works(&ex);
}

#[test]
fn host_calls_draw_from_the_same_budget() {
    // Enough for the instructions but not for the host calls.
    let full = run(&wasm(COUNTER), "increment", 100_000).unwrap();
    let host_cu: u64 = full.trace.iter().map(|e| e.cu).sum();
    let err = run(&wasm(COUNTER), "increment", full.cu_used - host_cu).unwrap_err();
    assert!(matches!(err, WasmError::OutOfCu { .. }), "{err}");
    assert!(run(&wasm(COUNTER), "increment", full.cu_used).is_ok());
}

#[test]
fn memory_growth_is_bounded() {
    // Declared maximum above the limit: refused at deploy.
    let bomb = wasm(r#"(module (memory (export "memory") 1 65536) (func (export "f")))"#);
    let ex = WasmExecutor::default();
    assert!(matches!(
        ex.validate(&bomb),
        Err(WasmError::Limit {
            what: "memory pages",
            ..
        })
    ));
    // No declared maximum: refused.
    let open = wasm(r#"(module (memory (export "memory") 1) (func (export "f")))"#);
    assert!(matches!(ex.validate(&open), Err(WasmError::Limit { .. })));
    // Growing in a loop within the limit: grow fails with -1 at the maximum, then CU run out.
    let grow = wasm(
        r#"(module (memory (export "memory") 1 16)
             (func (export "f") (loop $l (drop (memory.grow (i32.const 1))) (br $l))))"#,
    );
    let err = run(&grow, "f", 1_000_000).unwrap_err();
    assert_eq!(err, WasmError::OutOfCu { limit: 1_000_000 });
    // memory.grow returns -1 past the maximum.
    let probe = wasm(
        r#"(module (memory (export "memory") 1 2)
             (func (export "f") (if (i32.ne (memory.grow (i32.const 5)) (i32.const -1)) (then unreachable))))"#,
    );
    run(&probe, "f", 100_000).unwrap();
    still_works(&ex);
}

#[test]
fn deep_recursion_hits_the_deterministic_depth_limit() {
    let code = wasm(
        r#"(module (memory (export "memory") 1 1)
             (func $r (param i64) (result i64) (i64.add (call $r (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
             (func (export "f") (drop (call $r (i64.const 0)))))"#,
    );
    let err = run(&code, "f", u64::MAX / 2).unwrap_err();
    assert!(
        matches!(
            err,
            WasmError::Limit {
                what: "wasm call depth",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.fault(), Fault::Input);
    // The same verdict on another executor (no dependence on the native stack).
    assert_eq!(run(&code, "f", u64::MAX / 2).unwrap_err(), err);
    still_works(&WasmExecutor::default());
}

#[test]
fn recursion_within_the_limit_works_even_with_large_frames() {
    // `r(n)` recurses n times with 200 live i64 locals per frame; MAX_WASM_DEPTH - 1 levels
    // (plus the entry's call) fit, one more does not.
    let locals = (0..200).map(|_| "i64").collect::<Vec<_>>().join(" ");
    let code = wasm(&format!(
        r#"(module (import "wes" "args" (func $args (param i32 i32) (result i32)))
             (memory (export "memory") 1 1)
             (func $r (param i32) (local {locals})
               (if (i32.gt_u (local.get 0) (i32.const 0))
                 (then (call $r (i32.sub (local.get 0) (i32.const 1))))))
             (func (export "f")
               (drop (call $args (i32.const 0) (i32.const 4)))
               (call $r (i32.load (i32.const 0)))))"#
    ));
    let (view, id) = MapView::with_code(&code);
    let ex = WasmExecutor::default();
    let depth = |n: u32| {
        let mut req = request(contract("c"), id, "f", 100_000_000);
        req.args = n.to_le_bytes().to_vec();
        ex.execute(&code, &req, &view.shared())
    };
    // `f` → `args` and `r` are calls too: r(n) nests n + 1 calls below `f`.
    depth(MAX_WASM_DEPTH as u32 - 1).unwrap();
    let err = depth(MAX_WASM_DEPTH as u32).unwrap_err();
    assert!(matches!(err, WasmError::Limit { .. }), "{err}");
}

#[test]
fn operand_stack_and_signatures_are_bounded() {
    let pushes = "(i32.const 1) ".repeat(600);
    let drops = "(drop) ".repeat(600);
    let tall = wasm(&format!(
        r#"(module (memory (export "memory") 1 1) (func (export "f") {pushes} {drops}))"#
    ));
    let err = WasmExecutor::default().validate(&tall).unwrap_err();
    assert!(
        matches!(
            err,
            WasmError::Limit {
                what: "operand stack height of one function",
                ..
            }
        ),
        "{err}"
    );
    let params = "i64 ".repeat(40);
    let wide = wasm(&format!(
        r#"(module (memory (export "memory") 1 1) (func (param {params})))"#
    ));
    let err = WasmExecutor::default().validate(&wide).unwrap_err();
    assert!(
        matches!(
            err,
            WasmError::Limit {
                what: "function parameters",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn structural_limits_are_enforced() {
    let ex = WasmExecutor::default();
    let locals = wasm(
        r#"(module (memory (export "memory") 1 1) (func (export "f") (local i64 i64) (local i32)))"#,
    );
    ex.validate(&locals).unwrap();
    let many = format!(
        r#"(module (memory (export "memory") 1 1) (func (export "f") (local {})))"#,
        "i64 ".repeat(1_000)
    );
    assert!(matches!(
        ex.validate(&wasm(&many)),
        Err(WasmError::Limit {
            what: "locals in one function",
            ..
        })
    ));
    let table = wasm(r#"(module (memory (export "memory") 1 1) (table 10 100000 funcref))"#);
    assert!(matches!(ex.validate(&table), Err(WasmError::Limit { .. })));
    let unbounded = wasm(r#"(module (memory (export "memory") 1 1) (table 10 funcref))"#);
    assert!(matches!(
        ex.validate(&unbounded),
        Err(WasmError::Limit { .. })
    ));
    let big = vec![0u8; ex.limits().max_code_bytes + 1];
    assert!(matches!(ex.validate(&big), Err(WasmError::TooLarge { .. })));
    let no_memory = wasm(r#"(module (func (export "f")))"#);
    assert!(matches!(
        ex.validate(&no_memory),
        Err(WasmError::MissingExport(_))
    ));
    let start =
        wasm(r#"(module (memory (export "memory") 1 1) (func $s (loop $l (br $l))) (start $s))"#);
    assert!(matches!(ex.validate(&start), Err(WasmError::Invalid(_))));
    let reserved = wasm(
        r#"(module (memory (export "memory") 1 1) (global (export "wasmer_metering_remaining_points") i64 (i64.const 0)))"#,
    );
    assert!(matches!(ex.validate(&reserved), Err(WasmError::Invalid(_))));
}

#[test]
fn imports_are_checked_against_the_abi() {
    let ex = WasmExecutor::default();
    let foreign = wasm(r#"(module (import "env" "clock" (func)) (memory (export "memory") 1 1))"#);
    assert!(matches!(
        ex.validate(&foreign),
        Err(WasmError::ForbiddenImport { .. })
    ));
    let unknown = wasm(
        r#"(module (import "wes" "random" (func (result i64))) (memory (export "memory") 1 1))"#,
    );
    assert!(matches!(
        ex.validate(&unknown),
        Err(WasmError::ForbiddenImport { .. })
    ));
    let wrong_type = wasm(
        r#"(module (import "wes" "height" (func (result i32))) (memory (export "memory") 1 1))"#,
    );
    assert!(matches!(
        ex.validate(&wrong_type),
        Err(WasmError::ForbiddenImport { .. })
    ));
    let memory_import = wasm(r#"(module (import "wes" "memory" (memory 1 1)))"#);
    assert!(matches!(
        ex.validate(&memory_import),
        Err(WasmError::ForbiddenImport { .. })
    ));
}

#[test]
fn floats_are_rejected_at_deploy() {
    let ex = WasmExecutor::default();
    for wat in [
        r#"(module (memory (export "memory") 1 1) (func (export "f") (drop (f64.add (f64.const 1) (f64.const 2)))))"#,
        r#"(module (memory (export "memory") 1 1) (func (export "f") (local f32)))"#,
        r#"(module (memory (export "memory") 1 1) (func (export "f") (param f64)))"#,
        r#"(module (memory (export "memory") 1 1) (global f32 (f32.const 0)))"#,
        r#"(module (memory (export "memory") 1 1) (func (export "f") (drop (i64.trunc_f64_s (f64.const 1)))))"#,
    ] {
        let err = ex.validate(&wasm(wat)).unwrap_err();
        assert!(matches!(err, WasmError::Invalid(_)), "{wat}: {err}");
    }
}

#[test]
fn malformed_bytes_are_invalid() {
    let ex = WasmExecutor::default();
    for bytes in [
        &b""[..],
        b"\0asm",
        b"\0asm\x01\0\0\0\x01\xff\xff",
        b"not wasm at all",
    ] {
        assert!(matches!(ex.validate(bytes), Err(WasmError::Invalid(_))));
        let (view, id) = MapView::with_code(bytes);
        let err = ex
            .execute(
                bytes,
                &request(contract("c"), id, "f", 1000),
                &view.shared(),
            )
            .unwrap_err();
        assert!(matches!(err, WasmError::Invalid(_)));
    }
    still_works(&ex);
}

#[test]
fn guest_faults_are_typed() {
    let code = wasm(
        r#"(module
             (import "wes" "abort" (func $abort (param i32 i32)))
             (import "wes" "set_return" (func $ret (param i32 i32)))
             (import "wes" "state_set" (func $set (param i32 i32 i32 i32)))
             (memory (export "memory") 1 1)
             (data (i32.const 0) "boom")
             (func (export "abort") (call $abort (i32.const 0) (i32.const 4)))
             (func (export "oob") (call $ret (i32.const 65530) (i32.const 100)))
             (func (export "huge") (call $ret (i32.const 0) (i32.const -1)))
             (func (export "bigkey") (call $set (i32.const 0) (i32.const 1000) (i32.const 0) (i32.const 1)))
             (func (export "div") (drop (i32.div_s (i32.const 1) (i32.const 0))))
             (func (export "params") (param i32)))"#,
    );
    assert_eq!(
        run(&code, "abort", 10_000).unwrap_err(),
        WasmError::Abort("boom".into())
    );
    assert!(matches!(
        run(&code, "oob", 10_000),
        Err(WasmError::HostCall {
            call: "set_return",
            ..
        })
    ));
    assert!(matches!(
        run(&code, "huge", 10_000),
        Err(WasmError::HostCall { .. })
    ));
    assert!(matches!(
        run(&code, "bigkey", 10_000),
        Err(WasmError::HostCall {
            call: "state_set",
            ..
        })
    ));
    assert!(matches!(run(&code, "div", 10_000), Err(WasmError::Trap(_))));
    assert!(matches!(
        run(&code, "params", 10_000),
        Err(WasmError::NoEntry(_))
    ));
    assert!(matches!(
        run(&code, "missing", 10_000),
        Err(WasmError::NoEntry(_))
    ));
    assert!(matches!(
        run(&code, "memory", 10_000),
        Err(WasmError::NoEntry(_))
    ));
}

#[test]
fn state_reads_see_the_calls_own_writes_and_replacement_spends() {
    let code = wasm(COUNTER);
    let (view, id) = MapView::with_code(&code);
    let ex = WasmExecutor::default();
    let req = request(contract("c"), id, "increment", 100_000);
    let first = ex.execute(&code, &req, &view.shared()).unwrap();
    // Make the first call's state live, then increment again.
    let op = OutPoint {
        tx: TxId(Hash::ZERO),
        index: 0,
    };
    view.utxos
        .lock()
        .unwrap()
        .insert(op, first.outputs[0].clone());
    let second = ex.execute(&code, &req, &view.shared()).unwrap();
    assert_eq!(second.return_data, 2u64.to_le_bytes());
    assert_eq!(second.inputs, vec![Input::spend(op)]);
    assert_eq!(second.outputs[0].as_state().unwrap().version, 1);
    let read = ex
        .execute(
            &code,
            &request(contract("c"), id, "read", 100_000),
            &view.shared(),
        )
        .unwrap();
    assert_eq!(read.inputs, vec![Input::reference(op)]);
    assert!(read.outputs.is_empty());
    // Another contract does not see this state.
    let other = ex
        .execute(
            &code,
            &request(contract("d"), id, "increment", 100_000),
            &view.shared(),
        )
        .unwrap();
    assert_eq!(other.return_data, 1u64.to_le_bytes());
}
