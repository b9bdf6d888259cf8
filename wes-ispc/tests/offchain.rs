//! Contracts off-chain (`wes_ispc::offchain`): the example contracts compiled natively run in
//! `cargo test` against a `TestChain`, with the executor's own host functions. The token runs
//! both ways and its traces are compared entry by entry with the WASM executor's; order flow
//! exercises a nested call and a scripted connector.

mod common;
mod guest;

use std::sync::Arc;

use wes_core::{
    CallContext, ContentId, ExecutionRequest, Executor, Lock, TokenId, TraceEntry, codec,
};
use wes_ispc::offchain::{CallError, ScriptedConnector, TestChain};
use wes_ispc::{WasmError, WasmExecutor, contract_id};

// The contracts target Rust 1.63 (clippy must not ask for newer syntax); their `#![no_std]`
// is for their WASM builds.
#[allow(unused_attributes, dead_code)]
#[clippy::msrv = "1.63"]
#[path = "../guest/contracts/token.rs"]
mod token;

#[allow(unused_attributes, dead_code)]
#[clippy::msrv = "1.63"]
#[path = "../guest/contracts/escrow.rs"]
mod escrow;

#[allow(unused_attributes, dead_code)]
#[clippy::msrv = "1.63"]
#[path = "../guest/contracts/stock.rs"]
mod stock;

#[allow(unused_attributes, dead_code)]
#[clippy::msrv = "1.63"]
#[path = "../guest/contracts/order_flow.rs"]
mod order_flow;

const TAG: [u8; 32] = [7; 32];

fn payment(amount: u64, recipient: &Lock) -> Vec<u8> {
    let mut args = TAG.to_vec();
    args.extend_from_slice(&amount.to_le_bytes());
    args.extend_from_slice(&codec::encode(recipient));
    args
}

fn aborted(result: Result<wes_core::ExecutionOutcome, CallError>) -> String {
    match result {
        Err(CallError::Execution(WasmError::Abort(msg))) => msg,
        Err(CallError::Execution(WasmError::Callee { source, .. })) => match *source {
            WasmError::Abort(msg) => msg,
            other => panic!("callee failed otherwise: {other}"),
        },
        other => panic!("expected an abort, got {other:?}"),
    }
}

#[test]
fn token_mints_and_refuses_what_the_chain_refuses() {
    let mut chain = TestChain::new();
    let token = chain.deploy("token", token::ENTRIES);
    let owner = TestChain::address("owner");
    let bob = TestChain::lock("bob");

    chain.call(&token, "init", &[], owner).unwrap();
    assert_eq!(chain.state(&token, b"owner"), Some(owner.0.0.to_vec()));
    assert_eq!(
        aborted(chain.call(&token, "init", &[], owner)),
        "#1 AlreadyInitialised: already initialised"
    );

    let minted = chain
        .call(&token, "mint", &payment(500, &bob), owner)
        .unwrap();
    let issued = TokenId::Issued {
        contract: contract_id(&token),
        tag: wes_core::Hash(TAG),
    };
    assert_eq!(chain.balance(&bob, &issued), 500);
    assert_eq!(minted.events.len(), 1);
    assert_eq!(minted.events[0].topic, "Mint");
    assert_eq!(minted.events[0].contract, contract_id(&token));
    // What the host calls cost: the compute units of a native run.
    let traced: u64 = minted.trace.iter().map(|e| e.cu).sum();
    assert_eq!(minted.cu_used, traced);
    assert!(minted.cu_used > 0);

    // Only the owner mints; a refused call changes nothing.
    let stranger = TestChain::address("stranger");
    assert_eq!(
        aborted(chain.call(&token, "mint", &payment(1, &bob), stranger)),
        "#3 NotOwner: only the owner may do this"
    );
    assert_eq!(chain.balance(&bob, &issued), 500);
    // Arguments are checked as on the chain.
    assert_eq!(
        aborted(chain.call(&token, "mint", &payment(0, &bob), owner)),
        "#4 ZeroAmount: amount must be positive"
    );
    assert_eq!(
        aborted(chain.call(&token, "supply", &[1, 2, 3], owner)),
        "args: input too short"
    );

    // Transfers are paid from the sender's outputs, with change, as the chain's transaction
    // constructor and balance rule do; nobody pays out what they do not hold.
    let carol = TestChain::lock("carol");
    chain
        .call(&token, "transfer", &payment(200, &carol), bob.address())
        .unwrap();
    assert_eq!(chain.balance(&carol, &issued), 200);
    assert_eq!(chain.balance(&bob, &issued), 300);
    assert_eq!(
        chain
            .call(&token, "transfer", &payment(301, &carol), bob.address())
            .unwrap_err(),
        CallError::Unfunded {
            token: issued,
            needed: 301,
            available: 300
        }
    );
    assert_eq!(chain.balance(&bob, &issued), 300);

    let supply = chain.simulate(&token, "supply", &TAG, owner).unwrap();
    assert_eq!(supply.return_data, 500u64.to_le_bytes());
    assert_eq!(
        chain.call(&token, "no_such_entry", &[], owner).unwrap_err(),
        CallError::Execution(WasmError::NoEntry("no_such_entry".into()))
    );
}

#[test]
fn compute_units_run_out_as_on_the_chain() {
    let mut chain = TestChain::new();
    let token = chain.deploy("token", token::ENTRIES);
    let owner = TestChain::address("owner");
    chain.set_cu_limit(50);
    assert!(matches!(
        chain.call(&token, "init", &[], owner),
        Err(CallError::Execution(WasmError::OutOfCu { limit: 50 }))
    ));
    assert_eq!(chain.state(&token, b"owner"), None);
    chain.set_cu_limit(TestChain::DEFAULT_CU_LIMIT);
    chain.call(&token, "init", &[], owner).unwrap();
}

/// The same calls through the WASM executor and natively record the same trace, entry by
/// entry (call, input, output and cost), the same events and the same outputs: the off-chain
/// host is the chain's.
#[test]
fn the_native_trace_is_the_wasm_trace() {
    let code = guest::contract("token");
    let (view, id) = common::MapView::with_code(&code);
    let mut chain = TestChain::new();
    chain.deploy_as(id, token::ENTRIES);
    let owner = TestChain::address("owner");
    let bob = TestChain::lock("bob");
    let executor = WasmExecutor::default();

    for (entry, args) in [("init", vec![]), ("mint", payment(42, &bob))] {
        let request = ExecutionRequest {
            context: CallContext {
                chain_id: common::CHAIN,
                height: chain.height(),
                time_ms: chain.time_ms(),
                caller: owner,
                contract: contract_id(&id),
                request: chain.next_call_id(),
            },
            resource: id,
            entry: entry.into(),
            args: args.clone(),
            cu_limit: 10_000_000,
        };
        let on_chain = executor.execute(&code, &request, &view.shared()).unwrap();
        let native = chain.call(&id, entry, &args, owner).unwrap();
        let calls = |t: &[TraceEntry]| t.iter().map(|e| e.call.clone()).collect::<Vec<_>>();
        assert_eq!(calls(&native.trace), calls(&on_chain.trace), "{entry}");
        assert_eq!(native.trace, on_chain.trace, "{entry}");
        assert_eq!(native.events, on_chain.events, "{entry}");
        assert_eq!(native.outputs, on_chain.outputs, "{entry}");
        assert_eq!(native.inputs.len(), on_chain.inputs.len(), "{entry}");
        assert_eq!(native.return_data, on_chain.return_data, "{entry}");
        // The native run counts host calls only; WASM adds the guest's instructions.
        assert!(native.cu_used < on_chain.cu_used, "{entry}");
        // Keep the WASM side's chain in step: apply its outputs as the test chain did.
        let mut utxos = view.utxos.lock().unwrap();
        for input in &on_chain.inputs {
            if input.mode == wes_core::InputMode::Spend {
                utxos.remove(&input.prev);
            }
        }
        for (op, output) in chain_outputs(&chain, &native) {
            utxos.insert(op, output);
        }
    }
}

/// The outpoints the test chain gave `outcome`'s outputs.
fn chain_outputs(
    chain: &TestChain,
    outcome: &wes_core::ExecutionOutcome,
) -> Vec<(wes_core::OutPoint, wes_core::Output)> {
    let tx = chain.last_txid();
    (0..outcome.outputs.len() as u32)
        .map(|index| {
            let op = wes_core::OutPoint { tx, index };
            (op, chain.unspent(&op).cloned().expect("applied output"))
        })
        .collect()
}

/// A shop: stock (10 of item 7, the flow authorised to take) and order flow deployed, the
/// buyer funded with 100 of the native token.
struct Shop {
    chain: TestChain,
    stock: ContentId,
    flow: ContentId,
}

impl Shop {
    fn open() -> Self {
        let mut chain = TestChain::new();
        let stock = chain.deploy("stock", stock::ENTRIES);
        let flow = chain.deploy("order_flow", order_flow::ENTRIES);
        let shop = TestChain::address("shop");
        chain.call(&stock, "init", &[], shop).unwrap();
        let mut add = 7u32.to_le_bytes().to_vec();
        add.extend_from_slice(&10u64.to_le_bytes());
        chain.call(&stock, "add", &add, shop).unwrap();
        let flow_address = Lock::contract(contract_id(&flow)).address();
        chain
            .call(&stock, "authorize", &flow_address.0.0, shop)
            .unwrap();
        chain.fund(TestChain::lock("buyer"), TokenId::Native, 100);
        Shop { chain, stock, flow }
    }

    /// `place` arguments: order `id`, `qty` of item 7 at 5 native units each, paid to the
    /// shop, shipped to `address`.
    fn order(&self, id: u8, qty: u64, address: &str) -> Vec<u8> {
        let mut args = vec![id; 32];
        args.extend_from_slice(self.stock.as_bytes());
        args.extend_from_slice(&7u32.to_le_bytes());
        args.extend_from_slice(&qty.to_le_bytes());
        args.extend_from_slice(&5u64.to_le_bytes());
        args.extend_from_slice(&codec::encode(&TokenId::Native));
        args.extend_from_slice(&codec::encode(&TestChain::lock("shop")));
        args.extend_from_slice(&(address.len() as u32).to_le_bytes());
        args.extend_from_slice(address.as_bytes());
        args
    }

    /// The buyer places order `id`.
    fn place(
        &mut self,
        id: u8,
        qty: u64,
        address: &str,
    ) -> Result<wes_core::ExecutionOutcome, CallError> {
        let args = self.order(id, qty, address);
        let buyer = TestChain::address("buyer");
        self.chain.call(&self.flow, "place", &args, buyer)
    }

    /// The stock level of item 7.
    fn level(&mut self) -> u64 {
        let shop = TestChain::address("shop");
        let out = self
            .chain
            .simulate(&self.stock, "level", &7u32.to_le_bytes(), shop)
            .unwrap();
        u64::from_le_bytes(out.return_data.try_into().unwrap())
    }
}

/// Order flow takes stock through a nested call and books the shipment through a connector
/// that answers from a script: one atomic call, two contracts, one external effect committed.
/// A refused shipment fails the whole call, the nested `take` included, and the op is aborted.
#[test]
fn order_flow_calls_stock_and_a_scripted_shipper() {
    let mut shop = Shop::open();
    let buyer = TestChain::address("buyer");

    let shipper = Arc::new(ScriptedConnector::new(|request: &[u8]| {
        if request.ends_with(b"nowhere") {
            Ok(b"\x00no such address".to_vec())
        } else {
            Ok(b"\x01TRACK-1".to_vec())
        }
    }));
    shop.chain
        .connectors()
        .register("shipping", shipper.clone(), None);

    let placed = shop.place(1, 3, "1 Main St").unwrap();
    assert_eq!(placed.return_data, b"\x07\0\0\0TRACK-1");
    assert_eq!(shop.level(), 7);
    // 3 × 5 paid to the shop out of the buyer's 100.
    assert_eq!(
        shop.chain
            .balance(&TestChain::lock("shop"), &TokenId::Native),
        15
    );
    assert_eq!(
        shop.chain
            .balance(&TestChain::lock("buyer"), &TokenId::Native),
        85
    );
    assert!(placed.trace.iter().any(|e| e.call == "call"));
    assert_eq!(placed.events.len(), 1);
    assert_eq!(placed.events[0].topic, "Invoice");
    let ops = shipper.ops();
    assert_eq!(ops.len(), 1);
    assert!(
        ops.values()
            .all(|op| op.outcome == Some(wes_ispc::connector::Outcome::Commit))
    );

    // Refused shipment: nothing happens, stock included; the prepared op is aborted.
    assert_eq!(
        aborted(shop.place(2, 3, "nowhere")),
        "#6 ShipmentRefused: shipment refused"
    );
    assert_eq!(shop.level(), 7);
    assert_eq!(shipper.ops().len(), 2);
    assert_eq!(
        shipper
            .ops()
            .values()
            .filter(|op| op.outcome == Some(wes_ispc::connector::Outcome::Abort))
            .count(),
        1
    );

    // The callee's failure fails the caller, with the callee's message.
    assert_eq!(
        aborted(shop.place(3, 100, "1 Main St")),
        "#5 OutOfStock: out of stock"
    );
    // Every call has its own call id, failed ones included, so no two external ops share an
    // id: a new order after the failures is a third op, not the second one overwritten.
    shop.place(5, 1, "1 Main St").unwrap();
    assert_eq!(shipper.ops().len(), 3);
    assert_eq!(shop.level(), 6);

    // An unknown callee is the chain's `ResourceUnavailable`.
    let mut args = shop.order(4, 1, "1 Main St");
    args[32..64].copy_from_slice(&[9; 32]);
    assert_eq!(
        shop.chain
            .call(&shop.flow, "place", &args, buyer)
            .unwrap_err(),
        CallError::Execution(WasmError::ResourceUnavailable(ContentId(wes_core::Hash(
            [9; 32]
        ))))
    );
}

/// A contract's panic (an index out of bounds, say) fails the call as its WASM build's panic
/// handler does, and the chain keeps working.
#[test]
fn a_panicking_contract_fails_its_call_only() {
    fn boom() {
        let v: [u8; 0] = [];
        let i = std::hint::black_box(3);
        let _ = v[i];
    }
    static ENTRIES: &[(&str, fn())] = &[("boom", boom)];
    let mut chain = TestChain::new();
    let c = chain.deploy("boom", ENTRIES);
    assert_eq!(
        aborted(chain.call(&c, "boom", &[], TestChain::address("a"))),
        "contract panicked"
    );
    let token = chain.deploy("token", token::ENTRIES);
    chain
        .call(&token, "init", &[], TestChain::address("a"))
        .unwrap();
}

/// Escrow holds the deposit in an output of its own, and pays it out of that output with
/// `utxo_get` and `utxo_spend`: a refund only after the deadline height, and only to the buyer.
#[test]
fn escrow_refunds_after_the_deadline_only() {
    let mut chain = TestChain::new();
    let escrow = chain.deploy("escrow", escrow::ENTRIES);
    let buyer = TestChain::lock("buyer");
    let seller = TestChain::lock("seller");
    let id = [5u8; 32];

    let mut open = id.to_vec();
    open.extend_from_slice(&10u64.to_le_bytes()); // deadline height
    open.extend_from_slice(&300u64.to_le_bytes());
    open.extend_from_slice(&codec::encode(&TokenId::Native));
    open.extend_from_slice(&codec::encode(&seller));
    open.extend_from_slice(&codec::encode(&buyer));
    // The deposit comes out of the buyer's outputs.
    assert!(matches!(
        chain.call(&escrow, "open", &open, buyer.address()),
        Err(CallError::Unfunded {
            needed: 300,
            available: 0,
            ..
        })
    ));
    chain.fund(buyer.clone(), TokenId::Native, 1_000);
    let opened = chain.call(&escrow, "open", &open, buyer.address()).unwrap();
    assert_eq!(chain.balance(&buyer, &TokenId::Native), 700);
    assert_eq!(opened.events[0].topic, "Opened");

    let vault = Lock::contract(contract_id(&escrow));
    let deposits = chain.assets_of(&vault);
    assert_eq!(deposits.len(), 1);
    let (deposit, _, amount) = deposits[0];
    assert_eq!(amount, 300);
    let mut settle = id.to_vec();
    settle.extend_from_slice(&codec::encode(&deposit));

    assert_eq!(
        aborted(chain.call(&escrow, "refund", &settle, buyer.address())),
        "#5 DeadlineNotPassed: deadline not passed"
    );
    assert_eq!(
        aborted(chain.call(&escrow, "refund", &settle, seller.address())),
        "#4 NotBuyer: only the buyer may do this"
    );
    chain.set_height(11);
    let refunded = chain
        .call(&escrow, "refund", &settle, buyer.address())
        .unwrap();
    assert_eq!(refunded.events[0].topic, "Refunded");
    assert_eq!(chain.balance(&buyer, &TokenId::Native), 1_000);
    assert!(chain.assets_of(&vault).is_empty());
    assert!(chain.unspent(&deposit).is_none());
    // Settled once: the record is gone.
    assert_eq!(
        aborted(chain.call(&escrow, "refund", &settle, buyer.address())),
        "#3 NoSuchEscrow: no such escrow"
    );
}

/// A panic in the host (here a scripted connector's answer) is reported as the host's
/// failure, not as the contract's panic.
#[test]
fn a_panicking_host_is_not_a_panicking_contract() {
    let mut shop = Shop::open();
    shop.chain.connectors().register(
        "shipping",
        Arc::new(ScriptedConnector::new(
            |_: &[u8]| -> Result<Vec<u8>, String> { panic!("the script has a bug") },
        )),
        None,
    );
    match shop.place(1, 1, "1 Main St") {
        Err(CallError::Execution(WasmError::Engine(msg))) => {
            assert!(msg.contains("the script has a bug"), "{msg}")
        }
        other => panic!("expected the host's failure, got {other:?}"),
    }
}
