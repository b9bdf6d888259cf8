//! Nested calls (atomic containers) and contract-owned UTXOs at the executor level: depth and
//! re-entry limits, a failing callee failing the whole call, one budget across frames, the
//! callee list, `utxo_spend` authority, and deterministic replay of all of it.

mod common;

use common::*;
use wes_core::*;
use wes_ispc::*;

/// A module that, in `go`, writes its tag under key "k", calls `go` of the resource whose id
/// is at offset 64 (unless it is all zeros), and returns the callee's return data after its
/// own tag byte. `tag` makes each module (and so each contract) distinct.
fn chain_link(tag: u8, next: Option<ContentId>) -> Vec<u8> {
    let next_hex: String = next.map(|id| wat_bytes(id.as_bytes())).unwrap_or_default();
    let has_next = i32::from(next.is_some());
    wasm(&format!(
        r#"(module
  (import "wes" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wes" "state_set" (func $set (param i32 i32 i32 i32)))
  (import "wes" "set_return" (func $ret (param i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "k")
  (data (i32.const 8) "go")
  (data (i32.const 16) "\{tag:02x}")
  (data (i32.const 64) "{next_hex}")
  (func (export "go")
    (local $n i32)
    (call $set (i32.const 0) (i32.const 1) (i32.const 16) (i32.const 1))
    (if (i32.const {has_next})
      (then (local.set $n
        (call $call (i32.const 64) (i32.const 8) (i32.const 2) (i32.const 0) (i32.const 0)
                    (i32.const 17) (i32.const 40)))))
    (call $ret (i32.const 16) (i32.add (i32.const 1) (local.get $n))))
  (func (export "loop") (loop $l (br $l))))"#
    ))
}

/// Builds a chain of `n` linked modules in `view`; returns the first one's id.
fn build_chain(view: &MapView, n: u8) -> ContentId {
    let mut next = None;
    for tag in (0..n).rev() {
        let code = chain_link(tag, next);
        let id = wes_ures::content_id(&code);
        view.resources.lock().unwrap().insert(id, code);
        next = Some(id);
    }
    next.unwrap()
}

fn go(
    view: &MapView,
    top: ContentId,
    cu: u64,
) -> Result<(ExecutionOutcome, Vec<ContractId>), WasmError> {
    let ex = WasmExecutor::default();
    let code = view.resources.lock().unwrap()[&top].clone();
    ex.execute_detailed(
        &code,
        &request(contract_id(&top), top, "go", cu),
        &view.shared(),
    )
    .map(|(o, r)| (o, r.callees))
}

#[test]
fn nested_calls_share_state_budget_and_land_together() {
    let view = MapView::default();
    let top = build_chain(&view, 3);
    let (outcome, callees) = go(&view, top, 1_000_000).unwrap();
    // Each frame wrote its own contract's state; all three land in one outcome.
    let states: Vec<(ContractId, u8)> = outcome
        .outputs
        .iter()
        .filter_map(|o| o.as_state().map(|s| (s.contract, s.data[0])))
        .collect();
    assert_eq!(states.len(), 3);
    assert_eq!(states[0], (contract_id(&top), 0));
    assert_eq!(callees.len(), 2);
    assert!(callees.iter().all(|c| states.iter().any(|(s, _)| s == c)));
    // The return data threads back through the frames.
    assert_eq!(outcome.return_data, vec![0, 1, 2]);
    // Deterministic, and replayable.
    let again = go(&view, top, 1_000_000).unwrap();
    assert_eq!(again.0, outcome);
    let ex = WasmExecutor::default();
    let code = view.resources.lock().unwrap()[&top].clone();
    let req = request(contract_id(&top), top, "go", 1_000_000);
    let replayed = ex
        .replay_detailed(&code, &req, &view.shared(), outcome.trace.clone())
        .unwrap();
    assert_eq!((replayed.0, replayed.1.callees), (outcome.clone(), callees));

    // One budget: too few units for the whole chain fails the whole call.
    let err = go(&view, top, outcome.cu_used - 1).unwrap_err();
    assert!(matches!(err, WasmError::OutOfCu { .. }), "{err}");
}

#[test]
fn depth_is_limited() {
    let view = MapView::default();
    let ok = build_chain(&view, 8);
    go(&view, ok, 10_000_000).unwrap();
    let too_deep = build_chain(&view, 9);
    let err = go(&view, too_deep, 10_000_000).unwrap_err();
    assert!(err.to_string().contains("call depth above 8"), "{err}");
}

#[test]
fn re_entry_is_refused_and_a_failing_callee_fails_the_caller() {
    // `front` calls `back` with front's own resource id as the argument, and `back` calls
    // that id again: front's contract is already on the stack.
    let view = MapView::default();
    let back = wasm(
        r#"(module
  (import "wes" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wes" "args" (func $args (param i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 40) "go")
  (func (export "go")
    (drop (call $args (i32.const 0) (i32.const 32)))
    (drop (call $call (i32.const 0) (i32.const 40) (i32.const 2) (i32.const 0) (i32.const 0)
                      (i32.const 0) (i32.const 0)))))"#,
    );
    let back_id = wes_ures::content_id(&back);
    view.resources.lock().unwrap().insert(back_id, back);
    let front = wasm(&format!(
        r#"(module
  (import "wes" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wes" "call_id" (func $id (param i32)))
  (import "wes" "args" (func $args (param i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "{}")
  (data (i32.const 40) "go")
  (func (export "go")
    (drop (call $args (i32.const 100) (i32.const 32)))
    (drop (call $call (i32.const 0) (i32.const 40) (i32.const 2) (i32.const 100) (i32.const 32)
                      (i32.const 0) (i32.const 0)))))"#,
        wat_bytes(back_id.as_bytes())
    ));
    let front_id = wes_ures::content_id(&front);
    view.resources
        .lock()
        .unwrap()
        .insert(front_id, front.clone());
    let mut req = request(contract_id(&front_id), front_id, "go", 1_000_000);
    req.args = front_id.as_bytes().to_vec();
    let err = WasmExecutor::default()
        .execute(&front, &req, &view.shared())
        .unwrap_err();
    let WasmError::Callee { contract, source } = &err else {
        panic!("expected a callee failure, got {err}");
    };
    assert_eq!(*contract, contract_id(&back_id));
    assert!(
        source.to_string().contains("already on the call stack"),
        "{err}"
    );
    assert_eq!(err.fault(), Fault::Input);

    // A callee that is not available fails the caller as unavailable.
    req.args = [9u8; 32].to_vec();
    let err = WasmExecutor::default()
        .execute(&front, &req, &view.shared())
        .unwrap_err();
    assert_eq!(err.fault(), Fault::Unavailable, "{err}");
}

/// `spend` spends the UTXO whose outpoint is in the args and sends its value to the lock that
/// follows; `peek` only reads it.
const SPENDER: &str = r#"(module
  (import "wes" "args" (func $args (param i32 i32) (result i32)))
  (import "wes" "utxo_spend" (func $spend (param i32)))
  (import "wes" "utxo_get" (func $get (param i32 i32 i32) (result i32)))
  (import "wes" "output_asset" (func $out (param i32 i32 i32 i32 i64)))
  (memory (export "memory") 1 1)
  (data (i32.const 512) "\00\00\00\00")
  (func (export "spend")
    (local $len i32)
    (local.set $len (call $args (i32.const 0) (i32.const 256)))
    (call $spend (i32.const 0))
    (call $out (i32.const 36) (i32.sub (local.get $len) (i32.const 36))
               (i32.const 512) (i32.const 4) (i64.const 500)))
  (func (export "peek")
    (drop (call $args (i32.const 0) (i32.const 36)))
    (drop (call $get (i32.const 0) (i32.const 1024) (i32.const 1024)))))"#;

#[test]
fn utxo_spend_needs_the_contracts_own_lock() {
    let code = wasm(SPENDER);
    let (view, id) = MapView::with_code(&code);
    let me = contract_id(&id);
    let mine = OutPoint {
        tx: TxId(Hash([1; 32])),
        index: 0,
    };
    let alices = OutPoint {
        tx: TxId(Hash([2; 32])),
        index: 0,
    };
    {
        let mut utxos = view.utxos.lock().unwrap();
        utxos.insert(
            mine,
            Output::asset(Lock::contract(me), TokenId::Native, 500),
        );
        utxos.insert(alices, Output::asset(lock("alice"), TokenId::Native, 500));
    }
    let ex = WasmExecutor::default();
    let spend = |op: OutPoint| {
        let mut req = request(me, id, "spend", 1_000_000);
        req.args = [codec::encode(&op), codec::encode(&lock("bob"))].concat();
        ex.execute(&code, &req, &view.shared())
    };
    let outcome = spend(mine).unwrap();
    assert_eq!(outcome.inputs, vec![Input::spend(mine)]);
    assert_eq!(
        outcome.outputs,
        vec![Output::asset(lock("bob"), TokenId::Native, 500)]
    );
    let err = spend(alices).unwrap_err();
    assert!(
        err.to_string().contains("not an asset locked by contract"),
        "{err}"
    );
    let missing = OutPoint {
        tx: TxId(Hash([3; 32])),
        index: 0,
    };
    assert!(
        spend(missing)
            .unwrap_err()
            .to_string()
            .contains("not unspent")
    );

    // Reading is a reference input.
    let mut req = request(me, id, "peek", 1_000_000);
    req.args = codec::encode(&alices);
    let outcome = ex.execute(&code, &req, &view.shared()).unwrap();
    assert_eq!(outcome.inputs, vec![Input::reference(alices)]);
    assert_eq!(
        outcome.trace[1].output[1..],
        codec::encode(&Output::asset(lock("alice"), TokenId::Native, 500))[..]
    );
}

/// `take(outpoint)` spends the contract's own output; `keep` also sends it on to the lock in
/// its args.
const VAULT: &str = r#"(module
  (import "wes" "args" (func $args (param i32 i32) (result i32)))
  (import "wes" "utxo_spend" (func $spend (param i32)))
  (import "wes" "output_asset" (func $out (param i32 i32 i32 i32 i64)))
  (memory (export "memory") 1 1)
  (data (i32.const 512) "\00\00\00\00")
  (func (export "take")
    (drop (call $args (i32.const 0) (i32.const 36)))
    (call $spend (i32.const 0)))
  (func (export "keep")
    (local $len i32)
    (local.set $len (call $args (i32.const 0) (i32.const 256)))
    (call $spend (i32.const 0))
    (call $out (i32.const 36) (i32.sub (local.get $len) (i32.const 36))
               (i32.const 512) (i32.const 4) (i64.const 500))))"#;

#[test]
fn a_caller_cannot_place_what_a_callee_spent() {
    let vault = wasm(VAULT);
    let (view, vault_id) = MapView::with_code(&vault);
    let funds = OutPoint {
        tx: TxId(Hash([5; 32])),
        index: 0,
    };
    view.utxos.lock().unwrap().insert(
        funds,
        Output::asset(Lock::contract(contract_id(&vault_id)), TokenId::Native, 500),
    );
    let bob = codec::encode(&lock("bob"));
    // The thief calls `take` on the vault, then pays the 500 to Bob itself.
    let thief = |entry: &str| {
        let args = [codec::encode(&funds), bob.clone()].concat();
        wasm(&format!(
            r#"(module
  (import "wes" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wes" "output_asset" (func $out (param i32 i32 i32 i32 i64)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "{}")
  (data (i32.const 32) "{entry}")
  (data (i32.const 64) "{}")
  (data (i32.const 512) "\00\00\00\00")
  (func (export "go")
    (drop (call $call (i32.const 0) (i32.const 32) (i32.const {}) (i32.const 64) (i32.const {})
                      (i32.const 0) (i32.const 0)))
    (call $out (i32.const 100) (i32.const {}) (i32.const 512) (i32.const 4) (i64.const 500))))"#,
            wat_bytes(vault_id.as_bytes()),
            wat_bytes(&args),
            entry.len(),
            args.len(),
            bob.len(),
        ))
    };
    let ex = WasmExecutor::default();
    let report = |code: Vec<u8>| {
        let id = wes_ures::content_id(&code);
        view.resources.lock().unwrap().insert(id, code.clone());
        ex.execute_detailed(
            &code,
            &request(contract_id(&id), id, "go", 1_000_000),
            &view.shared(),
        )
        .unwrap()
        .1
    };
    // `take` leaves the value unplaced: nothing the thief's frame may fund from it.
    assert_eq!(
        report(thief("take")).spendable.get(&TokenId::Native),
        Some(&0)
    );
    // `keep` places it itself (the thief's own 500 would then need the fee inputs).
    assert_eq!(
        report(thief("keep")).spendable.get(&TokenId::Native),
        Some(&500)
    );
}
