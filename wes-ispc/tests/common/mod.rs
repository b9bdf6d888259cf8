//! Shared fixtures: keys, a chain view over a map, and the contracts in WAT.
#![allow(dead_code)]

pub mod testchain;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wes_core::*;

pub const CHAIN: ChainId = ChainId(7);
pub const T0: u64 = 1_700_000_000_000;

pub fn key(name: &str) -> SecretKey {
    SecretKey::dev(name)
}

pub fn lock(name: &str) -> Lock {
    Lock::key(key(name).public_key())
}

/// `bytes` as a WAT string literal body (`\\xx` escapes), for data segments.
pub fn wat_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

pub fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("test WAT parses")
}

/// A chain view over maps, for executor tests without a ledger. Clones share the maps.
#[derive(Clone, Default)]
pub struct MapView {
    pub utxos: Arc<Mutex<HashMap<OutPoint, Output>>>,
    pub resources: Arc<Mutex<HashMap<ContentId, Vec<u8>>>>,
}

impl MapView {
    /// The view as executors and verifiers take it.
    #[allow(dead_code)]
    pub fn shared(&self) -> SharedView {
        Arc::new(self.clone())
    }

    pub fn with_code(code: &[u8]) -> (Self, ContentId) {
        let v = MapView::default();
        let id = wes_ures::content_id(code);
        v.resources.lock().unwrap().insert(id, code.to_vec());
        (v, id)
    }
}

impl ChainView for MapView {
    fn unspent(&self, outpoint: &OutPoint) -> Result<Option<Output>, ViewError> {
        Ok(self.utxos.lock().unwrap().get(outpoint).cloned())
    }
    fn state(
        &self,
        contract: &ContractId,
        key: &[u8],
    ) -> Result<Option<(OutPoint, Output)>, ViewError> {
        Ok(self
            .utxos
            .lock()
            .unwrap()
            .iter()
            .find(|(_, o)| {
                o.as_state()
                    .is_some_and(|s| s.contract == *contract && s.key == key)
            })
            .map(|(op, o)| (*op, o.clone())))
    }
    fn resource(&self, id: &ContentId) -> Result<Option<Vec<u8>>, ViewError> {
        Ok(self.resources.lock().unwrap().get(id).cloned())
    }
}

pub fn contract(name: &str) -> ContractId {
    ContractId(hash(Domain::new("ispc-test/contract"), name))
}

pub fn request(
    contract: ContractId,
    resource: ContentId,
    entry: &str,
    cu_limit: u64,
) -> ExecutionRequest {
    ExecutionRequest {
        context: CallContext {
            chain_id: CHAIN,
            height: 1,
            time_ms: T0,
            caller: lock("alice").address(),
            contract,
            request: Hash::ZERO,
        },
        resource,
        entry: entry.into(),
        args: vec![],
        cu_limit,
    }
}

/// A counter with events, return data, a read-only entry, a mint and a context dump.
pub const COUNTER: &str = r#"
(module
  (import "wes" "state_get" (func $get (param i32 i32 i32 i32) (result i32)))
  (import "wes" "state_set" (func $set (param i32 i32 i32 i32)))
  (import "wes" "emit_event" (func $emit (param i32 i32 i32 i32)))
  (import "wes" "set_return" (func $ret (param i32 i32)))
  (import "wes" "args" (func $args (param i32 i32) (result i32)))
  (import "wes" "mint_asset" (func $mint (param i32 i32 i32 i64)))
  (import "wes" "height" (func $height (result i64)))
  (import "wes" "time_ms" (func $time (result i64)))
  (import "wes" "caller" (func $caller (param i32)))
  (import "wes" "contract" (func $contract (param i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "count")
  (data (i32.const 16) "incremented")
  (func (export "increment")
    (local $n i64)
    (if (i32.eq (call $get (i32.const 0) (i32.const 5) (i32.const 32) (i32.const 8)) (i32.const 8))
      (then (local.set $n (i64.load (i32.const 32)))))
    (i64.store (i32.const 32) (i64.add (local.get $n) (i64.const 1)))
    (call $set (i32.const 0) (i32.const 5) (i32.const 32) (i32.const 8))
    (call $emit (i32.const 16) (i32.const 11) (i32.const 32) (i32.const 8))
    (call $ret (i32.const 32) (i32.const 8)))
  (func (export "read")
    (drop (call $get (i32.const 0) (i32.const 5) (i32.const 32) (i32.const 8)))
    (call $ret (i32.const 32) (i32.const 8)))
  ;; args: [u32 lock_len][lock][tag 32]; mints 100 of its token `tag` to the lock.
  (func (export "mint")
    (local $ll i32)
    (drop (call $args (i32.const 64) (i32.const 1024)))
    (local.set $ll (i32.load (i32.const 64)))
    (call $mint (i32.const 68) (local.get $ll)
      (i32.add (i32.const 68) (local.get $ll))
      (i64.const 100)))
  ;; returns height (8) ‖ time (8) ‖ caller (32) ‖ contract (32)
  (func (export "ctx")
    (i64.store (i32.const 2000) (call $height))
    (i64.store (i32.const 2008) (call $time))
    (call $caller (i32.const 2016))
    (call $contract (i32.const 2048))
    (call $ret (i32.const 2000) (i32.const 80)))
  (func (export "spin") (loop $l (br $l)))
)
"#;
