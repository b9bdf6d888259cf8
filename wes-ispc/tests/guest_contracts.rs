//! The guest SDK and the example contracts (`guest/`): built with Rust 1.63 for
//! `wasm32-unknown-unknown`, they pass deploy-time validation and export their entry points,
//! a few calls run through the executor, and the SDK's encodings match `wes_core::codec` byte
//! for byte.

mod common;
mod guest;

/// The SDK's pure encoding module, compiled here for the host.
#[allow(dead_code)]
#[path = "../guest/wes-contract/src/codec.rs"]
mod sdk_codec;

use wasmer::wasmparser::{CompositeInnerType, ExternalKind, Parser, Payload, TypeRef};
use wes_core::{
    ContentId, ContractId, ExecutionOutcome, Executor, Guard, Hash, InputMode, Lock, LockTime,
    MultiSig, OutPoint, Output, OutputBody, PublicKey, SponsorPool, StateBody, TokenId, TxId,
    encode,
};
use wes_ispc::{COMPILE_WEIGHT_LIMIT, WasmError, WasmExecutor, compile_weight};

/// What the tests check in a module besides validation.
struct ModuleShape {
    /// Exported functions of type `() -> ()`.
    entries: Vec<String>,
    /// Imported `(module, name)` pairs.
    imports: Vec<(String, String)>,
    /// The declared memory maximum, in pages.
    max_pages: Option<u64>,
}

fn shape(code: &[u8]) -> ModuleShape {
    let mut types = Vec::new();
    let mut funcs: Vec<u32> = Vec::new();
    let mut exports = Vec::new();
    let mut imports = Vec::new();
    let mut max_pages = None;
    for payload in Parser::new(0).parse_all(code) {
        match payload.expect("module parses") {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.expect("type").into_types() {
                        types.push(match sub.composite_type.inner {
                            CompositeInnerType::Func(f) => {
                                f.params().is_empty() && f.results().is_empty()
                            }
                            _ => false,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.expect("import");
                    if let TypeRef::Func(ty) = import.ty {
                        funcs.push(ty);
                    }
                    imports.push((import.module.to_string(), import.name.to_string()));
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    funcs.push(ty.expect("function"));
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    max_pages = memory.expect("memory").maximum;
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.expect("export");
                    if export.kind == ExternalKind::Func {
                        exports.push((export.name.to_string(), export.index));
                    }
                }
            }
            _ => {}
        }
    }
    let entries = exports
        .into_iter()
        .filter(|(_, index)| types[funcs[*index as usize] as usize])
        .map(|(name, _)| name)
        .collect();
    ModuleShape {
        entries,
        imports,
        max_pages,
    }
}

#[test]
fn contracts_pass_validation_and_export_their_entry_points() {
    let executor = WasmExecutor::default();
    for (name, entries) in guest::CONTRACTS {
        let code = guest::contract(name);
        println!("{name}.wasm: {} bytes", code.len());
        executor
            .validate(&code)
            .unwrap_or_else(|e| panic!("{name}: validation failed: {e}"));
        let shape = shape(&code);
        for entry in *entries {
            assert!(
                shape.entries.iter().any(|e| e == entry),
                "{name}: no entry point `{entry}` of type () -> (); has {:?}",
                shape.entries
            );
        }
        assert!(
            shape.imports.iter().all(|(module, _)| module == "wes"),
            "{name}: imports {:?}",
            shape.imports
        );
        assert!(
            shape.imports.iter().any(|(_, n)| n == "abort"),
            "{name}: the SDK should import abort"
        );
        assert!(
            shape.max_pages.is_some_and(|m| m <= 16),
            "{name}: memory maximum {:?}",
            shape.max_pages
        );
        // The default compile-weight limit leaves real contracts a wide margin.
        let weight = compile_weight(&code, executor.limits()).expect("validated above");
        assert!(
            weight < COMPILE_WEIGHT_LIMIT / 50,
            "{name}: compile weight {weight} is close to the limit {COMPILE_WEIGHT_LIMIT}"
        );
    }
}

#[test]
fn contracts_import_only_what_they_use() {
    let imports = |name: &str| -> Vec<String> {
        shape(&guest::contract(name))
            .imports
            .into_iter()
            .map(|(_, n)| n)
            .collect()
    };
    let order_flow = imports("order_flow");
    for f in [
        "call",
        "external_call",
        "output_asset",
        "state_set",
        "emit_event",
    ] {
        assert!(order_flow.iter().any(|n| n == f), "order_flow lacks {f}");
    }
    let escrow = imports("escrow");
    for f in ["utxo_get", "utxo_spend", "state_delete", "height"] {
        assert!(escrow.iter().any(|n| n == f), "escrow lacks {f}");
    }
    assert!(!imports("stock").iter().any(|n| n == "output_asset"));
}

/// Runs `entry` of guest contract `name` with `args` against an empty chain view.
fn run(name: &str, entry: &str, args: &[u8]) -> Result<ExecutionOutcome, WasmError> {
    let code = guest::contract(name);
    let (view, id) = common::MapView::with_code(&code);
    let mut request = common::request(common::contract(name), id, entry, 1_000_000);
    request.args = args.to_vec();
    WasmExecutor::default().execute(&code, &request, &view.shared())
}

fn aborted(result: Result<ExecutionOutcome, WasmError>) -> String {
    match result {
        Err(WasmError::Abort(msg)) => msg,
        other => panic!("expected an abort, got {other:?}"),
    }
}

#[test]
fn sdk_calls_the_host_correctly() {
    // args, state_get (absent), set_return.
    let out = run("token", "supply", &[7; 32]).unwrap();
    assert_eq!(out.return_data, 0u64.to_le_bytes());
    let calls: Vec<&str> = out.trace.iter().map(|e| e.call.as_str()).collect();
    assert_eq!(calls, ["args", "state_get", "set_return"]);

    // args_len, state_get, caller, state_set.
    let out = run("stock", "init", &[]).unwrap();
    assert_eq!(out.outputs.len(), 1);
    let owner = out.outputs[0].as_state().expect("a state output");
    assert_eq!(owner.key, b"owner");
    assert_eq!(owner.data, common::lock("alice").address().0.0);

    // Aborts carry the SDK's and the contract's messages.
    assert_eq!(
        aborted(run("token", "supply", &[7; 31])),
        "args: input too short"
    );
    assert_eq!(
        aborted(run("token", "supply", &[7; 33])),
        "args: trailing bytes"
    );
    assert_eq!(
        aborted(run("token", "supply", &[7; 4097])),
        "args: does not fit the buffer"
    );
    assert_eq!(
        aborted(run("stock", "take", &[0; 12])),
        "#2 NotInitialised: not initialised"
    );
    assert_eq!(aborted(run("token", "init", &[1])), "args: trailing bytes");
}

/// Calls on one contract whose state outputs are applied to the view between calls.
struct Session {
    name: &'static str,
    code: Vec<u8>,
    view: common::MapView,
    id: ContentId,
    calls: u8,
}

impl Session {
    fn new(name: &'static str) -> Self {
        let code = guest::contract(name);
        let (view, id) = common::MapView::with_code(&code);
        Session {
            name,
            code,
            view,
            id,
            calls: 0,
        }
    }

    fn call(&mut self, entry: &str, args: &[u8]) -> Result<ExecutionOutcome, WasmError> {
        let mut request = common::request(common::contract(self.name), self.id, entry, 1_000_000);
        request.args = args.to_vec();
        let out = WasmExecutor::default().execute(&self.code, &request, &self.view.shared())?;
        let mut utxos = self.view.utxos.lock().unwrap();
        for input in &out.inputs {
            if input.mode == InputMode::Spend {
                utxos.remove(&input.prev);
            }
        }
        self.calls += 1;
        for (index, output) in out.outputs.iter().enumerate() {
            let prev = OutPoint {
                tx: TxId(Hash(bytes32(self.calls))),
                index: index as u32,
            };
            utxos.insert(prev, output.clone());
        }
        drop(utxos);
        Ok(out)
    }
}

fn item_qty(item: u32, qty: u64) -> Vec<u8> {
    [&item.to_le_bytes()[..], &qty.to_le_bytes()].concat()
}

#[test]
fn stock_keeps_levels_across_calls() {
    let mut stock = Session::new("stock");
    stock.call("init", &[]).unwrap();
    assert_eq!(
        aborted(stock.call("init", &[])),
        "#1 AlreadyInitialised: already initialised"
    );
    stock.call("add", &item_qty(1, 10)).unwrap();
    stock.call("take", &item_qty(1, 3)).unwrap();
    let level = stock.call("level", &1u32.to_le_bytes()).unwrap();
    assert_eq!(level.return_data, 7u64.to_le_bytes());
    assert_eq!(
        aborted(stock.call("take", &item_qty(1, 8))),
        "#5 OutOfStock: out of stock"
    );
    assert_eq!(
        aborted(stock.call("take", &item_qty(2, 1))),
        "#5 OutOfStock: out of stock"
    );
    assert_eq!(
        aborted(stock.call("take", &item_qty(1, 1)[..11])),
        "args: input too short"
    );
}

/// `begin` arguments for saga `id` with `steps` (each a record as `wes_node::saga` encodes
/// them) and a timeout of `timeout` blocks.
fn saga_begin(id: u8, timeout: u64, steps: &[Vec<u8>]) -> Vec<u8> {
    let mut args = [id; 32].to_vec();
    args.extend_from_slice(&timeout.to_le_bytes());
    args.push(steps.len() as u8);
    for step in steps {
        args.extend_from_slice(&(step.len() as u32).to_le_bytes());
        args.extend_from_slice(step);
    }
    args
}

/// A step record calling `entry` of resource `[seed; 32]`, undone by `undo`.
fn saga_step(seed: u8, entry: &str, undo: &str) -> Vec<u8> {
    let mut step = [seed; 32].to_vec();
    for part in [entry.as_bytes(), b"", undo.as_bytes()] {
        step.extend_from_slice(&(part.len() as u32).to_le_bytes());
        step.extend_from_slice(part);
    }
    step
}

#[test]
fn saga_refuses_bad_plans_and_moves_out_of_turn() {
    let mut saga = Session::new("saga");
    assert_eq!(
        aborted(saga.call("begin", &saga_begin(1, 5, &[saga_step(9, "a", "")]))),
        "saga: not initialised"
    );
    saga.call("init", &[]).unwrap();
    let step = saga_step(9, "take", "put_back");
    for (args, why) in [
        (saga_begin(1, 5, &[]), "saga: between 1 and 16 steps"),
        (
            saga_begin(1, 5, &vec![step.clone(); 17]),
            "saga: between 1 and 16 steps",
        ),
        (
            saga_begin(1, 0, std::slice::from_ref(&step)),
            "saga: the timeout is at least one block",
        ),
        (
            saga_begin(1, 5, &[saga_step(9, "", "")]),
            "saga: a step needs an entry",
        ),
        (
            saga_begin(1, 5, &[step[..40].to_vec()]),
            "saga step: input too short",
        ),
        (
            saga_begin(1, 5, std::slice::from_ref(&step))[..60].to_vec(),
            "saga arguments: input too short",
        ),
    ] {
        assert_eq!(aborted(saga.call("begin", &args)), why);
    }
    saga.call("begin", &saga_begin(1, 5, &[step.clone(), step.clone()]))
        .unwrap();
    assert_eq!(
        aborted(saga.call("begin", &saga_begin(1, 5, &[step]))),
        "saga: id already used"
    );
    let id_step = |n: u8| [[1u8; 32].as_slice(), &[n]].concat();
    assert_eq!(
        aborted(saga.call("advance", &id_step(1))),
        "saga: not the next step"
    );
    assert_eq!(
        aborted(saga.call("compensate", &id_step(0))),
        "saga: not compensating"
    );
    assert_eq!(
        aborted(saga.call("timeout", &[1; 32])),
        "saga: the deadline has not passed"
    );
    assert_eq!(
        aborted(saga.call("advance", &[2; 33])),
        "saga: no such saga"
    );
    // Failing before any step landed leaves nothing to undo: compensated at once.
    let out = saga
        .call("fail", &[id_step(0), b"changed my mind".to_vec()].concat())
        .unwrap();
    let topics: Vec<&str> = out.events.iter().map(|e| e.topic.as_str()).collect();
    assert_eq!(topics, ["saga_failed", "saga_compensated"]);
    let header = saga.call("status", &[1; 32]).unwrap().return_data;
    assert_eq!((header[33], header[34]), (0, 3), "0 done, compensated");
    assert_eq!(&header[52..], b"changed my mind");
    assert_eq!(aborted(saga.call("fail", &id_step(0))), "saga: not running");
}

fn bytes32(seed: u8) -> [u8; 32] {
    std::array::from_fn(|i| seed.wrapping_add(i as u8))
}

fn contract_id(seed: u8) -> ContractId {
    ContractId(Hash(bytes32(seed)))
}

#[test]
fn sdk_lock_encodings_match_the_host() {
    let pk = bytes32(1);
    let id = bytes32(2);
    let key = Lock::Guarded(Guard::Key(PublicKey(pk)));
    let owned = Lock::Guarded(Guard::Contract(contract_id(2)));
    assert_eq!(
        sdk_codec::Lock::key(&pk).as_bytes(),
        encode(&key).as_slice()
    );
    assert_eq!(
        sdk_codec::Lock::contract(&id).as_bytes(),
        encode(&owned).as_slice()
    );
    assert_eq!(
        &encode(&owned)[..8],
        &[0, 0, 0, 0, 2, 0, 0, 0],
        "locked by contract id"
    );
    assert_eq!(
        sdk_codec::Lock::from_bytes(&encode(&owned)).and_then(|l| l.as_contract()),
        Some(id)
    );
    assert_eq!(
        sdk_codec::Lock::from_bytes(&encode(&key)).and_then(|l| l.as_key()),
        Some(pk)
    );

    // lock_len knows every lock kind.
    let multisig = Lock::Guarded(Guard::MultiSig(MultiSig {
        threshold: 2,
        keys: vec![PublicKey(bytes32(3)), PublicKey(bytes32(4)), PublicKey(pk)],
    }));
    let locks = [
        key.clone(),
        owned.clone(),
        multisig,
        Lock::TimeLocked {
            until: LockTime::Height(77),
            guard: Guard::Key(PublicKey(pk)),
        },
        Lock::TimeLocked {
            until: LockTime::TimeMs(1_700_000_000_000),
            guard: Guard::Contract(contract_id(5)),
        },
        Lock::SponsorPool(SponsorPool {
            owner: Guard::Key(PublicKey(pk)),
            contract: None,
            max_fee_per_tx: 1000,
        }),
        Lock::SponsorPool(SponsorPool {
            owner: Guard::Contract(contract_id(6)),
            contract: Some(contract_id(7)),
            max_fee_per_tx: u128::MAX,
        }),
    ];
    for lock in &locks {
        let mut bytes = encode(lock);
        let len = bytes.len();
        assert_eq!(sdk_codec::lock_len(&bytes), Some(len), "{lock:?}");
        bytes.extend_from_slice(b"trailing");
        assert_eq!(sdk_codec::lock_len(&bytes), Some(len), "{lock:?}");
        assert_eq!(sdk_codec::lock_len(&bytes[..len - 1]), None, "{lock:?}");
    }
    assert_eq!(sdk_codec::lock_len(&[9, 0, 0, 0]), None);
}

#[test]
fn sdk_token_outpoint_and_output_encodings_match_the_host() {
    let contract = bytes32(8);
    let tag = bytes32(9);
    let issued = TokenId::Issued {
        contract: contract_id(8),
        tag: Hash(tag),
    };
    let sdk_issued = sdk_codec::Token::Issued { contract, tag };
    assert_eq!(
        sdk_codec::Token::Native.encode().as_bytes(),
        encode(&TokenId::Native)
    );
    assert_eq!(sdk_issued.encode().as_bytes(), encode(&issued).as_slice());
    assert!(sdk_codec::Token::from_bytes(&encode(&issued)) == Some(sdk_issued));

    let tx = bytes32(10);
    let op = OutPoint {
        tx: TxId(Hash(tx)),
        index: 0x0102_0304,
    };
    let sdk_op = sdk_codec::outpoint(&tx, 0x0102_0304);
    assert_eq!(sdk_op.as_slice(), encode(&op).as_slice());
    assert_eq!(sdk_codec::outpoint_parts(&sdk_op), (tx, 0x0102_0304));

    // Asset outputs parse, whatever the lock; other outputs do not.
    let owned = Lock::Guarded(Guard::Contract(contract_id(8)));
    let timed = Lock::TimeLocked {
        until: LockTime::Height(5),
        guard: Guard::Key(PublicKey(bytes32(11))),
    };
    for (lock, token, amount) in [
        (owned.clone(), issued, 12_345u128),
        (timed, TokenId::Native, u128::from(u64::MAX) + 1),
    ] {
        let output = encode(&Output::asset(lock.clone(), token, amount));
        let asset = sdk_codec::parse_asset_output(&output).expect("asset output parses");
        assert_eq!(asset.lock, encode(&lock).as_slice());
        assert_eq!(asset.token_bytes, encode(&token).as_slice());
        assert_eq!(asset.amount, amount);
        assert!(sdk_codec::parse_asset_output(&output[..output.len() - 1]).is_none());
    }
    let state = Output {
        lock: owned,
        body: OutputBody::State(StateBody {
            contract: contract_id(8),
            key: b"k".to_vec(),
            data: b"v".to_vec(),
            version: 0,
        }),
    };
    assert!(sdk_codec::parse_asset_output(&encode(&state)).is_none());
}
