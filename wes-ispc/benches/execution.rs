//! WASM execution costs: a trivial call from a cached module, a compute-heavy call metered
//! (the executor) vs unmetered (plain wasmer + Cranelift, same module, same instantiation),
//! and replay-verification vs execution of a stateful call.
//!
//! `cargo bench -p wes-ispc --bench execution` prints criterion's report, then a summary
//! table ready for BENCHMARKS.md.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::Criterion;
use wasmer::sys::{Cranelift, EngineBuilder};
use wasmer::{Engine, Instance, Module, Store, imports};
use wes_core::*;
use wes_ispc::*;

/// A no-op entry, and a compute loop: `n` rounds of an xorshift mix kept in memory.
const MODULE: &str = r#"
(module
  (memory (export "memory") 1 1)
  (func (export "noop"))
  (func (export "work")
    (local $i i32) (local $x i64)
    (local.set $x (i64.const 88172645463325252))
    (loop $l
      (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 13))))
      (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 7))))
      (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 17))))
      (i64.store (i32.and (i32.wrap_i64 (local.get $x)) (i32.const 0xfff8)) (local.get $x))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000000))))))
"#;

/// A counter: reads, increments and writes one state key.
const COUNTER: &str = r#"
(module
  (import "wes" "state_get" (func $get (param i32 i32 i32 i32) (result i32)))
  (import "wes" "state_set" (func $set (param i32 i32 i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "count")
  (func (export "increment")
    (local $n i64)
    (if (i32.eq (call $get (i32.const 0) (i32.const 5) (i32.const 32) (i32.const 8)) (i32.const 8))
      (then (local.set $n (i64.load (i32.const 32)))))
    (i64.store (i32.const 32) (i64.add (local.get $n) (i64.const 1)))
    (call $set (i32.const 0) (i32.const 5) (i32.const 32) (i32.const 8))))
"#;

#[derive(Default)]
struct View {
    state: Mutex<HashMap<Vec<u8>, (OutPoint, Output)>>,
}

impl ChainView for View {
    fn unspent(&self, _: &OutPoint) -> Result<Option<Output>, ViewError> {
        Ok(None)
    }
    fn state(&self, _: &ContractId, key: &[u8]) -> Result<Option<(OutPoint, Output)>, ViewError> {
        Ok(self.state.lock().unwrap().get(key).cloned())
    }
    fn resource(&self, _: &ContentId) -> Result<Option<Vec<u8>>, ViewError> {
        Ok(None)
    }
}

fn request(resource: ContentId, entry: &str) -> ExecutionRequest {
    ExecutionRequest {
        context: CallContext {
            chain_id: ChainId(1),
            height: 1,
            time_ms: 0,
            caller: Address(Hash::ZERO),
            contract: contract_id(&resource),
            request: Hash::ZERO,
        },
        resource,
        entry: entry.into(),
        args: vec![],
        cu_limit: 100_000_000,
    }
}

fn per_call(mut f: impl FnMut()) -> Duration {
    f();
    let n = 200;
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed() / n
}

fn main() {
    let code = wat::parse_str(MODULE).unwrap();
    let counter = wat::parse_str(COUNTER).unwrap();
    let id = wes_ures::content_id(&code);
    let counter_id = wes_ures::content_id(&counter);
    let executor = WasmExecutor::default();
    let view: SharedView = std::sync::Arc::new(View::default());
    let noop = request(id, "noop");
    let work = request(id, "work");
    let inc = request(counter_id, "increment");
    let cu = executor.execute(&code, &work, &view).unwrap().cu_used;
    let trace = executor.execute(&counter, &inc, &view).unwrap().trace;

    // Plain wasmer, no metering: same compiler settings otherwise.
    let mut compiler = Cranelift::default();
    compiler.canonicalize_nans(true);
    let engine: Engine = EngineBuilder::new(compiler).into();
    let module = Module::new(&engine, &code).unwrap();
    let unmetered = || {
        let mut store = Store::new(engine.clone());
        let instance = Instance::new(&mut store, &module, &imports! {}).unwrap();
        let f = instance
            .exports
            .get_typed_function::<(), ()>(&store, "work")
            .unwrap();
        f.call(&mut store).unwrap();
    };

    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    let mut g = c.benchmark_group("wasm");
    g.bench_function("trivial call (cached module)", |b| {
        b.iter(|| executor.execute(&code, &noop, &view).unwrap())
    });
    g.bench_function("compute 1M rounds, metered", |b| {
        b.iter(|| executor.execute(&code, &work, &view).unwrap())
    });
    g.bench_function("compute 1M rounds, unmetered", |b| b.iter(unmetered));
    g.bench_function("counter increment, execute", |b| {
        b.iter(|| executor.execute(&counter, &inc, &view).unwrap())
    });
    g.bench_function("counter increment, replay-verify", |b| {
        b.iter(|| {
            executor
                .replay(&counter, &inc, &view, trace.clone())
                .unwrap()
        })
    });
    g.finish();

    let trivial = per_call(|| {
        executor.execute(&code, &noop, &view).unwrap();
    });
    let metered = per_call(|| {
        executor.execute(&code, &work, &view).unwrap();
    });
    let plain = per_call(unmetered);
    let exec = per_call(|| {
        executor.execute(&counter, &inc, &view).unwrap();
    });
    let replay = per_call(|| {
        executor
            .replay(&counter, &inc, &view, trace.clone())
            .unwrap();
    });
    println!("\n| measure | figure |\n|---|---|");
    println!("| trivial call, cached module | {:.1} µs |", us(trivial));
    println!(
        "| 1M-round compute loop ({cu} CU): metered / unmetered | {:.2} ms / {:.2} ms = {:.2}× |",
        ms(metered),
        ms(plain),
        metered.as_secs_f64() / plain.as_secs_f64()
    );
    println!(
        "| counter increment: replay-verify / execute | {:.1} µs / {:.1} µs = {:.2}× |",
        us(replay),
        us(exec),
        replay.as_secs_f64() / exec.as_secs_f64()
    );
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
