//! Floats, on a chain that allows them (`WasmLimits::allow_floats`): the node that executes a
//! call and the nodes that replay it compute the same bits, NaNs included, because the
//! executor canonicalises NaNs. Without the option, the same module is refused at deploy.

mod common;

use common::*;
use wes_core::*;
use wes_ispc::*;

/// Stores 1/3 (f64), then three NaNs whose bits the hardware does not fix — 0/0 and √-1 in
/// f64 (x86 makes both the negative default NaN), a NaN with a payload through an f32
/// multiplication — and returns the 28 bytes.
const FLOATS: &str = r#"(module
  (import "wes" "set_return" (func $ret (param i32 i32)))
  (memory (export "memory") 1 1)
  (func (export "compute")
    (f64.store (i32.const 0) (f64.div (f64.const 1) (f64.const 3)))
    (f64.store (i32.const 8) (f64.div (f64.const 0) (f64.const 0)))
    (f64.store (i32.const 16) (f64.sqrt (f64.const -1)))
    (f32.store (i32.const 24) (f32.mul (f32.const nan:0x200000) (f32.const 1)))
    (call $ret (i32.const 0) (i32.const 28))))"#;

fn genesis() -> Genesis {
    testchain::genesis_with(vec![Output::asset(
        lock("alice"),
        TokenId::Native,
        1_000_000,
    )])
}

fn floats_allowed() -> WasmLimits {
    WasmLimits {
        allow_floats: true,
        ..WasmLimits::default()
    }
}

#[test]
fn float_results_are_the_same_bits_on_execution_and_replay() {
    let code = wasm(FLOATS);
    assert!(matches!(
        WasmExecutor::default().validate(&code),
        Err(WasmError::Invalid(_))
    ));

    let open =
        || testchain::Chain::open_with_limits(&genesis(), &[&code], Vec::new(), floats_allowed());
    let (a, b) = (open(), open());
    let id = wes_ures::content_id(&code);
    let mut req = a.request(
        id,
        "compute",
        Vec::new(),
        vec![genesis().coinbase().outpoint(0)],
        "alice",
    );
    req.cu_limit = 100_000;
    req.fee = 50_000;

    // Executed once on a…
    let call = a.construct(&req).unwrap();
    let r = &call.outcome.return_data;
    let f64_at = |at: usize| u64::from_le_bytes(r[at..at + 8].try_into().unwrap());
    assert_eq!(f64_at(0), (1.0f64 / 3.0).to_bits());
    // The canonical NaNs: positive, quiet, no payload.
    assert_eq!(f64_at(8), 0x7ff8_0000_0000_0000);
    assert_eq!(f64_at(16), 0x7ff8_0000_0000_0000);
    assert_eq!(
        u32::from_le_bytes(r[24..28].try_into().unwrap()),
        0x7fc0_0000
    );

    // …verified by replay on b…
    ReplayVerifier::new(b.executor.clone())
        .verify(&call.tx, &call.proof, &b.view())
        .unwrap();
    // …and executed again there: the same trace, entry by entry, the same bits.
    let again = b.construct(&req).unwrap();
    assert_eq!(again.outcome.trace, call.outcome.trace);
    assert_eq!(again.outcome.return_data, call.outcome.return_data);
    assert_eq!(again.outcome.cu_used, call.outcome.cu_used);
}
