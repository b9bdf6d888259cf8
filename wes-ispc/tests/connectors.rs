//! Connector receipts at the executor level: a contract that requires its service's key gets
//! it on chain through `external_signer`; an unsigned answer or one re-signed by another key
//! fails the contract, at construction and at replay alike.

mod common;

use std::sync::Arc;

use common::*;
use wes_core::*;
use wes_ispc::connector::ConnectorReceipt;
use wes_ispc::connectors::MemoryConnector;
use wes_ispc::*;

/// Asks connector "oracle" and accepts the answer only if `service`'s key signed it.
fn guarded(service: &PublicKey) -> Vec<u8> {
    let key = wat_bytes(&service.0);
    wasm(&format!(
        r#"(module
  (import "wes" "external_call" (func $ext (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wes" "external_signer" (func $signer (param i32) (result i32)))
  (import "wes" "set_return" (func $ret (param i32 i32)))
  (import "wes" "abort" (func $abort (param i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "oracle")
  (data (i32.const 16) "price?")
  (data (i32.const 64) "{key}")
  (data (i32.const 128) "not the service's key")
  (func (export "ask")
    (local $n i32) (local $i i32)
    (local.set $n (call $ext (i32.const 0) (i32.const 6) (i32.const 16) (i32.const 6)
                             (i32.const 256) (i32.const 64)))
    (if (i32.ne (call $signer (i32.const 96)) (i32.const 1))
      (then (call $abort (i32.const 128) (i32.const 21))))
    (loop $l
      (if (i64.ne (i64.load (i32.add (i32.const 64) (local.get $i)))
                  (i64.load (i32.add (i32.const 96) (local.get $i))))
        (then (call $abort (i32.const 128) (i32.const 21))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 32))))
    (call $ret (i32.const 256) (local.get $n))))"#
    ))
}

fn ask(
    ex: &WasmExecutor,
    code: &[u8],
    view: &SharedView,
    id: ContentId,
) -> Result<ExecutionOutcome, WasmError> {
    ex.execute(code, &request(contract_id(&id), id, "ask", 1_000_000), view)
}

#[test]
fn a_contract_can_require_its_services_key() {
    let service = SecretKey::from_seed([1; 32]);
    let code = guarded(&service.public_key());
    let (view, id) = MapView::with_code(&code);
    // The same call (same op id) runs three times, each time on a node of its own with an
    // oracle of its own: an oracle that heard abort for an op never prepares it again.
    let oracle = || Arc::new(MemoryConnector::new(|_| Ok(b"42".to_vec())));

    // Unsigned: refused by the contract itself.
    let ex = WasmExecutor::default();
    ex.connectors().register("oracle", oracle(), None);
    let err = ask(&ex, &code, &view.shared(), id).unwrap_err();
    assert_eq!(err, WasmError::Abort("not the service's key".into()));

    // Signed by another key: refused too.
    let ex = WasmExecutor::default();
    ex.connectors()
        .register("oracle", oracle(), Some(SecretKey::from_seed([2; 32])));
    assert!(ask(&ex, &code, &view.shared(), id).is_err());

    // Signed by the service: accepted, and replayable without the connector.
    let ex = WasmExecutor::default();
    ex.connectors()
        .register("oracle", oracle(), Some(service.clone()));
    let outcome = ask(&ex, &code, &view.shared(), id).unwrap();
    assert_eq!(outcome.return_data, b"42");
    let req = request(contract_id(&id), id, "ask", 1_000_000);
    let verifier = WasmExecutor::default();
    verifier
        .replay(&code, &req, &view.shared(), outcome.trace.clone())
        .unwrap();

    // A forger re-signs another answer with their own key and patches the trace to match:
    // the signature is valid, but the contract sees the wrong signer and fails on replay.
    let forger = SecretKey::from_seed([3; 32]);
    let mut trace = outcome.trace.clone();
    let ext = trace
        .iter()
        .position(|e| e.call == "external_call")
        .unwrap();
    let mut receipt: ConnectorReceipt = codec::decode(&trace[ext].output).unwrap();
    receipt.response = b"99".to_vec();
    receipt.signer = Some(forger.public_key());
    receipt.signature = Some(forger.sign(
        ConnectorReceipt::message("oracle", &receipt.op, b"price?", &receipt.response).as_bytes(),
    ));
    trace[ext].output = codec::encode(&receipt);
    let signer_entry = trace
        .iter()
        .position(|e| e.call == "external_signer")
        .unwrap();
    trace[signer_entry].output = [&[1u8][..], &forger.public_key().0].concat();
    let err = verifier
        .replay(&code, &req, &view.shared(), trace)
        .unwrap_err();
    assert_eq!(err, WasmError::Abort("not the service's key".into()));
}
