//! The example Rust contracts (built from source with the guest SDK), end to end through two
//! ledgers: every call is constructed on chain A and verified by replay on chain B.
//!
//! - token: init, mint by the owner only, transfer of the UTXO tokens;
//! - escrow: funds locked by the contract, released by the buyer, refunded after the deadline;
//! - order flow: order → stock (nested call) → payment → shipment (HTTP connector on
//!   127.0.0.1) → invoice, as one atomic call; failed steps land nothing and abort the
//!   connector, included transactions commit it; signed connector receipts.

mod common;
mod guest;

use std::sync::Arc;

use common::testchain::{Chain, change_of, genesis_with};
use common::*;
use wes_core::*;
use wes_ispc::connectors::{HttpConnector, MemoryConnector, OpStatus};
use wes_ispc::service::{
    Auth, Effects, MemoryStore, MemoryTx, Service, ServiceError, ServiceHandle, serve,
};
use wes_ispc::*;

const FUNDS: Amount = 10_000_000;

fn genesis() -> Genesis {
    genesis_with(
        ["alice", "bob", "shop"]
            .iter()
            .flat_map(|n| (0..4).map(move |_| Output::asset(lock(n), TokenId::Native, FUNDS)))
            .collect(),
    )
}

/// Genesis coin `i` (0..4) of `name`.
fn coin(name: &str, i: u32) -> OutPoint {
    let base = match name {
        "alice" => 0,
        "bob" => 4,
        "shop" => 8,
        _ => panic!("no coins for {name}"),
    };
    genesis().coinbase().outpoint(base + i)
}

/// Two chains (the constructor's and a verifier's) knowing `names`' contracts.
fn chains(names: &[&str]) -> (Chain, Chain, Vec<ContentId>) {
    let codes: Vec<Vec<u8>> = names.iter().map(|n| guest::contract(n)).collect();
    let refs: Vec<&[u8]> = codes.iter().map(Vec::as_slice).collect();
    let ids = codes.iter().map(|c| wes_ures::content_id(c)).collect();
    (
        Chain::open(&genesis(), &refs),
        Chain::open(&genesis(), &refs),
        ids,
    )
}

/// Constructs, signs with `payer`'s key, mines on A, and applies on B (which replays).
fn land(a: &Chain, b: &Chain, call: ConstructedCall, payer: &str) -> (Transaction, Block) {
    let signed = call.sign(&[&key(payer)]);
    let tx = signed.tx.clone();
    let block = a.block(vec![signed]);
    a.ledger.apply_block(&block).unwrap();
    b.ledger
        .apply_block(&block)
        .expect("the verifier accepts the block");
    (tx, block)
}

fn empty_block(a: &Chain, b: &Chain) {
    let block = a.block(vec![]);
    a.ledger.apply_block(&block).unwrap();
    b.ledger.apply_block(&block).unwrap();
}

fn abort_message(e: ConstructError) -> String {
    fn inner(e: &WasmError) -> String {
        match e {
            WasmError::Abort(m) => m.clone(),
            WasmError::Callee { source, .. } => inner(source),
            other => panic!("expected a guest abort, got {other}"),
        }
    }
    match e {
        ConstructError::Execution(e) => inner(&e),
        other => panic!("expected an execution failure, got {other}"),
    }
}

fn u64_arg(args: &mut Vec<u8>, v: u64) {
    args.extend_from_slice(&v.to_le_bytes());
}

fn prefixed(args: &mut Vec<u8>, bytes: &[u8]) {
    args.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    args.extend_from_slice(bytes);
}

fn balance(chain: &Chain, tx: &Transaction, owner: &Lock, token: TokenId) -> Amount {
    tx.outputs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.lock == *owner)
        .filter_map(|(i, o)| {
            let a = o.as_asset()?;
            (a.token == token && chain.ledger.unspent(&tx.outpoint(i as u32)).ok()??.lock == *owner)
                .then_some(a.amount)
        })
        .sum()
}

#[test]
fn token_mint_by_owner_and_transfer() {
    let (a, b, ids) = chains(&["token"]);
    let token_id = ids[0];
    let contract = contract_id(&token_id);
    let tag = [7u8; 32];
    let token = TokenId::Issued {
        contract,
        tag: Hash(tag),
    };

    let init = a
        .construct(&a.request(token_id, "init", vec![], vec![coin("alice", 0)], "alice"))
        .unwrap();
    land(&a, &b, init, "alice");

    // Bob is not the owner.
    let mut args = tag.to_vec();
    u64_arg(&mut args, 1000);
    args.extend_from_slice(&codec::encode(&lock("bob")));
    let err = a
        .construct(&a.request(token_id, "mint", args.clone(), vec![coin("bob", 0)], "bob"))
        .unwrap_err();
    assert_eq!(
        abort_message(err),
        "#3 NotOwner: only the owner may do this"
    );

    // Alice mints 1000 to Bob.
    let mint = a
        .construct(&a.request(token_id, "mint", args, vec![coin("alice", 1)], "alice"))
        .unwrap();
    assert_eq!(mint.outcome.events[0].topic, "Mint");
    let (mint_tx, _) = land(&a, &b, mint, "alice");
    assert_eq!(balance(&b, &mint_tx, &lock("bob"), token), 1000);
    let bob_tokens = mint_tx.outpoint(
        mint_tx
            .outputs
            .iter()
            .position(|o| o.as_asset().is_some_and(|x| x.token == token))
            .unwrap() as u32,
    );

    // Bob transfers 300 to Alice: his token UTXO pays, the change comes back to him.
    let mut args = tag.to_vec();
    u64_arg(&mut args, 300);
    args.extend_from_slice(&codec::encode(&lock("alice")));
    let transfer = a
        .construct(&a.request(
            token_id,
            "transfer",
            args,
            vec![coin("bob", 1), bob_tokens],
            "bob",
        ))
        .unwrap();
    let (tx, _) = land(&a, &b, transfer, "bob");
    assert_eq!(balance(&b, &tx, &lock("alice"), token), 300);
    assert_eq!(balance(&b, &tx, &lock("bob"), token), 700);

    // `transfer` places tokens but never creates them: without token inputs it cannot pay.
    let mut args = tag.to_vec();
    u64_arg(&mut args, 5);
    args.extend_from_slice(&codec::encode(&lock("bob")));
    let err = a
        .construct(&a.request(token_id, "transfer", args, vec![coin("bob", 2)], "bob"))
        .unwrap_err();
    assert!(
        matches!(err, ConstructError::InsufficientFunds { .. }),
        "{err}"
    );

    // Supply, read-only.
    let supply = a
        .construct(&a.request(
            token_id,
            "supply",
            tag.to_vec(),
            vec![coin("alice", 2)],
            "alice",
        ))
        .unwrap();
    assert_eq!(supply.outcome.return_data, 1000u64.to_le_bytes());
    assert_eq!(a.ledger.tip().unwrap(), b.ledger.tip().unwrap());
}

fn escrow_args(id: [u8; 32], deadline: u64, amount: u64) -> Vec<u8> {
    let mut args = id.to_vec();
    u64_arg(&mut args, deadline);
    u64_arg(&mut args, amount);
    args.extend_from_slice(&codec::encode(&TokenId::Native));
    args.extend_from_slice(&codec::encode(&lock("bob")));
    args.extend_from_slice(&codec::encode(&lock("alice")));
    args
}

/// The escrowed output of an `open` transaction.
fn escrowed(tx: &Transaction, escrow: ContractId) -> OutPoint {
    let i = tx
        .outputs
        .iter()
        .position(|o| o.lock == Lock::contract(escrow) && o.as_asset().is_some())
        .expect("funds locked by the escrow");
    tx.outpoint(i as u32)
}

fn settle_args(id: [u8; 32], funds: OutPoint) -> Vec<u8> {
    let mut args = id.to_vec();
    args.extend_from_slice(&codec::encode(&funds));
    args
}

#[test]
fn escrow_release_and_refund() {
    let (a, b, ids) = chains(&["escrow"]);
    let escrow_id = ids[0];
    let escrow = contract_id(&escrow_id);

    // Alice escrows 5000 for Bob, then releases them.
    let deadline = a.next_height() + 3;
    let open = a
        .construct(&a.request(
            escrow_id,
            "open",
            escrow_args([1; 32], deadline, 5000),
            vec![coin("alice", 0)],
            "alice",
        ))
        .unwrap();
    let (open_tx, _) = land(&a, &b, open, "alice");
    let funds = escrowed(&open_tx, escrow);

    // Bob cannot release to himself: only the buyer can.
    let err = a
        .construct(&a.request(
            escrow_id,
            "release",
            settle_args([1; 32], funds),
            vec![coin("bob", 0)],
            "bob",
        ))
        .unwrap_err();
    assert!(abort_message(err).contains("buyer"));

    let release = a
        .construct(&a.request(
            escrow_id,
            "release",
            settle_args([1; 32], funds),
            vec![coin("alice", 1)],
            "alice",
        ))
        .unwrap();
    assert!(
        release
            .tx
            .inputs
            .iter()
            .any(|i| i.prev == funds && i.mode == InputMode::Spend),
        "the contract spends its own output"
    );
    let (tx, _) = land(&a, &b, release, "alice");
    assert_eq!(balance(&b, &tx, &lock("bob"), TokenId::Native), 5000);
    assert_eq!(b.ledger.unspent(&funds).unwrap(), None);
    assert_eq!(
        b.state(&escrow, &[b"e".as_slice(), &[1; 32]].concat()),
        None
    );

    // A second escrow is refunded, but only after its deadline.
    let deadline = a.next_height() + 1;
    let open = a
        .construct(&a.request(
            escrow_id,
            "open",
            escrow_args([2; 32], deadline, 700),
            vec![coin("alice", 2)],
            "alice",
        ))
        .unwrap();
    let (open_tx, _) = land(&a, &b, open, "alice");
    let funds = escrowed(&open_tx, escrow);
    let refund = |fee| {
        a.request(
            escrow_id,
            "refund",
            settle_args([2; 32], funds),
            vec![fee],
            "alice",
        )
    };
    let early = a.construct(&refund(coin("alice", 3))).unwrap_err();
    assert_eq!(
        abort_message(early),
        "#5 DeadlineNotPassed: deadline not passed"
    );
    empty_block(&a, &b);
    let (tx, _) = land(
        &a,
        &b,
        a.construct(&refund(coin("alice", 3))).unwrap(),
        "alice",
    );
    assert!(balance(&b, &tx, &lock("alice"), TokenId::Native) > 700);
    assert_eq!(b.ledger.unspent(&funds).unwrap(), None);
}

/// The shipping service's effects: it refuses addresses containing "nowhere" (an answer,
/// not an error: the contract decides) and keeps no state beyond the library's op records.
struct Shipping;

type ShippingService = Service<MemoryStore<()>, Shipping>;

impl Effects<MemoryStore<()>> for Shipping {
    fn prepare(&self, _: &mut MemoryTx<()>, op: &ExternalOp) -> Result<Vec<u8>, ServiceError> {
        // order_id[32] ‖ item u32 ‖ qty u64 ‖ address
        let address = String::from_utf8_lossy(op.request.get(44..).unwrap_or_default());
        Ok(if address.contains("nowhere") {
            b"\x00we do not ship there".to_vec()
        } else {
            [b"\x01".as_slice(), b"TRACK-", &op.request[..4]].concat()
        })
    }

    fn settle(
        &self,
        _: &mut MemoryTx<()>,
        _: &ExternalOp,
        _: OpStatus,
        _: Outcome,
    ) -> Result<(), ServiceError> {
        Ok(())
    }
}

/// A shipping service on 127.0.0.1, built on the connector-service library, accepting only
/// requests signed by the node's key.
struct Shipper {
    service: Arc<ShippingService>,
    server: ServiceHandle,
    node: SecretKey,
}

impl Shipper {
    fn start() -> Self {
        let node = SecretKey::dev("shipping-node");
        let service = Arc::new(Service::new(MemoryStore::new(()), Shipping));
        let server = serve(
            service.clone(),
            Auth::nodes([node.public_key()]),
            "127.0.0.1:0",
            "/shipping",
        )
        .unwrap();
        Shipper {
            service,
            server,
            node,
        }
    }

    /// The node's connector to it.
    fn connector(&self) -> HttpConnector {
        HttpConnector::new(self.server.url()).signed_by(self.node.clone())
    }

    fn status(&self, op: &Hash) -> Option<OpStatus> {
        self.service.status(op).unwrap()
    }

    fn count(&self, status: OpStatus) -> usize {
        self.service
            .store()
            .records()
            .iter()
            .filter(|r| r.status == status)
            .count()
    }
}

struct Shop {
    a: Chain,
    b: Chain,
    stock: ContentId,
    flow: ContentId,
}

/// Deploys stock and order flow; the shop stocks 10 of item 7 and authorises the flow.
fn shop() -> Shop {
    let (a, b, ids) = chains(&["stock", "order_flow"]);
    let (stock, flow) = (ids[0], ids[1]);
    let call = |entry: &str, args: Vec<u8>, fee: u32| {
        let c = a
            .construct(&a.request(stock, entry, args, vec![coin("shop", fee)], "shop"))
            .unwrap();
        land(&a, &b, c, "shop");
    };
    call("init", vec![], 0);
    let mut add = 7u32.to_le_bytes().to_vec();
    u64_arg(&mut add, 10);
    call("add", add, 1);
    let flow_address = Lock::contract(contract_id(&flow)).address();
    call("authorize", flow_address.0.0.to_vec(), 2);
    Shop { a, b, stock, flow }
}

impl Shop {
    fn order(&self, order: u8, qty: u64, price: u64, address: &str, fee: OutPoint) -> CallRequest {
        let mut args = [order; 32].to_vec();
        args.extend_from_slice(self.stock.as_bytes());
        args.extend_from_slice(&7u32.to_le_bytes());
        u64_arg(&mut args, qty);
        u64_arg(&mut args, price);
        args.extend_from_slice(&codec::encode(&TokenId::Native));
        args.extend_from_slice(&codec::encode(&lock("shop")));
        prefixed(&mut args, address.as_bytes());
        let mut req = self.a.request(self.flow, "place", args, vec![fee], "alice");
        req.cu_limit = 400_000;
        req.fee = 450_000;
        req
    }

    fn level(&self) -> u64 {
        let key = [b"i".as_slice(), &7u32.to_le_bytes()].concat();
        let v = self.b.state(&contract_id(&self.stock), &key).unwrap();
        u64::from_le_bytes(v.try_into().unwrap())
    }
}

#[test]
fn order_flow_is_one_atomic_call_with_an_http_connector() {
    let shop = shop();
    let shipper = Shipper::start();
    let connectors = shop.a.executor.connectors().clone();
    connectors.register("shipping", Arc::new(shipper.connector()), None);
    // Requests not signed by the node are refused.
    let probe = ExternalOp {
        id: hash(Domain::new("test"), b"probe"),
        contract: contract_id(&shop.flow),
        request: [0; 44].to_vec(),
    };
    assert!(
        HttpConnector::new(shipper.server.url())
            .prepare(&probe)
            .is_err()
    );

    // A good order: stock taken, shop paid, shipment prepared, invoice recorded.
    let call = shop
        .a
        .construct(&shop.order(1, 3, 100, "1 Main St", coin("alice", 0)))
        .unwrap();
    // The tracking code, returned as bytes: its u32le length, then the code.
    assert_eq!(
        call.outcome.return_data,
        b"\x0a\0\0\0TRACK-\x01\x01\x01\x01"
    );
    assert_eq!(call.external.len(), 1);
    let op = call.external[0].op;
    assert_eq!(shipper.status(&op), Some(OpStatus::Prepared));
    assert_eq!(
        call.tx.execution.as_ref().unwrap().callees,
        vec![contract_id(&shop.stock)]
    );
    let external = call.external.clone();
    // Chain B has no shipping connector: it verifies from the recorded receipt.
    let (tx, _) = land(&shop.a, &shop.b, call, "alice");
    // The node's settlement decides when; here the test commits as soon as it landed.
    connectors.settle(&external[0], Outcome::Commit).unwrap();
    assert_eq!(shipper.status(&op), Some(OpStatus::Committed));
    assert_eq!(shop.level(), 7);
    assert_eq!(balance(&shop.b, &tx, &lock("shop"), TokenId::Native), 300);
    let invoice = shop
        .b
        .state(
            &contract_id(&shop.flow),
            &[b"o".as_slice(), &[1; 32]].concat(),
        )
        .unwrap();
    assert!(invoice.ends_with(b"TRACK-\x01\x01\x01\x01"));

    // The shipper refuses: the call fails after the connector acted, which hears abort.
    let err = shop
        .a
        .construct(&shop.order(2, 1, 100, "nowhere", change_of(&tx, "alice")))
        .unwrap_err();
    assert_eq!(abort_message(err), "#6 ShipmentRefused: shipment refused");
    assert_eq!(
        (
            shipper.count(OpStatus::Prepared),
            shipper.count(OpStatus::Aborted)
        ),
        (0, 1)
    );

    // Out of stock: the nested call fails before shipping; nothing is prepared.
    let err = shop
        .a
        .construct(&shop.order(3, 8, 100, "1 Main St", change_of(&tx, "alice")))
        .unwrap_err();
    assert_eq!(abort_message(err), "#5 OutOfStock: out of stock");
    assert_eq!(shipper.count(OpStatus::Prepared), 0);

    // The execution succeeds but the caller cannot pay: construction fails, abort.
    let err = shop
        .a
        .construct(&shop.order(4, 1, FUNDS as u64 * 2, "1 Main St", change_of(&tx, "alice")))
        .unwrap_err();
    assert!(
        matches!(err, ConstructError::InsufficientFunds { .. }),
        "{err}"
    );
    assert_eq!(
        (
            shipper.count(OpStatus::Prepared),
            shipper.count(OpStatus::Aborted)
        ),
        (0, 2)
    );

    // A constructed order whose transaction is dropped: abort.
    let call = shop
        .a
        .construct(&shop.order(5, 1, 100, "2 Side St", change_of(&tx, "alice")))
        .unwrap();
    connectors
        .settle(&call.external[0], Outcome::Abort)
        .unwrap();
    assert_eq!(
        shipper.status(&call.external[0].op),
        Some(OpStatus::Aborted)
    );

    // Nothing of the failed orders landed.
    assert_eq!(shop.level(), 7);
    assert_eq!(shop.a.ledger.tip().unwrap(), shop.b.ledger.tip().unwrap());
}

#[test]
fn signed_receipts_from_an_in_process_connector() {
    let shop = shop();
    let shipper = Arc::new(MemoryConnector::new(|op| {
        Ok([b"\x01".as_slice(), b"MEM-", &op.request[..2]].concat())
    }));
    let signer = SecretKey::from_seed([9; 32]);
    shop.a
        .executor
        .connectors()
        .register("shipping", shipper.clone(), Some(signer.clone()));

    let call = shop
        .a
        .construct(&shop.order(1, 2, 50, "1 Main St", coin("alice", 0)))
        .unwrap();
    let op = call.external[0].op;
    assert_eq!(shipper.status(&op), Some(OpStatus::Prepared));

    // A forged receipt (another response, same signature) is rejected by B.
    let mut forged = call.clone();
    let mut trace = decode_replay_proof(&call.proof).unwrap();
    let entry = trace
        .iter_mut()
        .find(|e| e.call == "external_call")
        .unwrap();
    let mut receipt: connector::ConnectorReceipt = codec::decode(&entry.output).unwrap();
    receipt.response = b"\x01FORGED".to_vec();
    entry.output = codec::encode(&receipt);
    forged.proof = encode_replay_proof(&trace);
    forged.tx.execution.as_mut().unwrap().trace_root = trace_root(&trace);
    let verifier = ReplayVerifier::new(shop.b.executor.clone());
    let err = verifier
        .verify(&forged.tx, &forged.proof, &shop.b.view())
        .unwrap_err();
    assert!(err.to_string().contains("bad signature"), "{err}");
    assert_eq!(receipt.signer, Some(signer.public_key()));

    // The callee list is part of what replay checks.
    let mut hidden = call.clone();
    hidden.tx.execution.as_mut().unwrap().callees.clear();
    let err = verifier
        .verify(&hidden.tx, &hidden.proof, &shop.b.view())
        .unwrap_err();
    assert!(err.to_string().contains("callees"), "{err}");

    // The genuine one lands; the app commits its op.
    let external = call.external.clone();
    land(&shop.a, &shop.b, call, "alice");
    let connectors = shop.a.executor.connectors();
    connectors.settle(&external[0], Outcome::Commit).unwrap();
    assert_eq!(shipper.status(&op), Some(OpStatus::Committed));
    // A reorganisation took it out: compensated; it came back: committed again; an
    // aborted op cannot be committed.
    connectors
        .settle(&external[0], Outcome::Compensate)
        .unwrap();
    assert_eq!(shipper.status(&op), Some(OpStatus::Compensated));
    connectors.settle(&external[0], Outcome::Commit).unwrap();
    assert_eq!(shipper.status(&op), Some(OpStatus::Committed));
    connectors
        .settle(&external[0], Outcome::Compensate)
        .unwrap();
    connectors.settle(&external[0], Outcome::Abort).unwrap();
    assert!(connectors.settle(&external[0], Outcome::Commit).is_err());
    assert_eq!(shipper.status(&op), Some(OpStatus::Aborted));
}

/// A contract that calls the token (harmlessly) and then pays itself the token's units, hoping
/// the token's presence in the execution lends it minting authority.
fn counterfeiter(token: ContentId, tag: [u8; 32], to: &Lock) -> Vec<u8> {
    let token_enc = codec::encode(&TokenId::Issued {
        contract: contract_id(&token),
        tag: Hash(tag),
    });
    let lock = codec::encode(to);
    wasm(&format!(
        r#"(module
  (import "wes" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wes" "output_asset" (func $out (param i32 i32 i32 i32 i64)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "{}")
  (data (i32.const 32) "supply")
  (data (i32.const 64) "{}")
  (data (i32.const 128) "{}")
  (data (i32.const 256) "{}")
  (func (export "go")
    (drop (call $call (i32.const 0) (i32.const 32) (i32.const 6) (i32.const 64) (i32.const 32)
                      (i32.const 512) (i32.const 8)))
    (call $out (i32.const 256) (i32.const {}) (i32.const 128) (i32.const {}) (i64.const 1000000))))"#,
        wat_bytes(token.as_bytes()),
        wat_bytes(&tag),
        wat_bytes(&token_enc),
        wat_bytes(&lock),
        lock.len(),
        token_enc.len(),
    ))
}

#[test]
fn a_caller_cannot_mint_a_callees_token() {
    let token_code = guest::contract("token");
    let token = wes_ures::content_id(&token_code);
    let tag = [7u8; 32];
    let evil = counterfeiter(token, tag, &lock("bob"));
    let a = Chain::open(&genesis(), &[&token_code, &evil]);
    let evil_id = wes_ures::content_id(&evil);
    let req = a.request(evil_id, "go", vec![], vec![coin("bob", 0)], "bob");

    // The constructor refuses: nothing minted, nothing brought.
    let err = a.construct(&req).unwrap_err();
    assert!(
        matches!(err, ConstructError::InsufficientFunds { .. }),
        "{err}"
    );

    // Built by hand, the transaction is rejected by replay (and so by the ledger).
    let code_view = a.view();
    let request = ExecutionRequest {
        context: CallContext {
            chain_id: CHAIN,
            height: req.height,
            time_ms: req.time_ms,
            caller: lock("bob").address(),
            contract: contract_id(&evil_id),
            request: call_id(CHAIN, &coin("bob", 0), &contract_id(&evil_id), "go", &[]),
        },
        resource: evil_id,
        entry: "go".into(),
        args: vec![],
        cu_limit: req.cu_limit,
    };
    let (outcome, report) = a
        .executor
        .execute_detailed(&evil, &request, &code_view)
        .unwrap();
    assert!(report.minted.is_empty());
    let mut outputs = outcome.outputs.clone();
    outputs.push(Output::asset(lock("bob"), TokenId::Native, FUNDS - req.fee));
    let tx = Transaction {
        version: Transaction::VERSION,
        chain_id: CHAIN,
        inputs: [vec![Input::spend(coin("bob", 0))], outcome.inputs.clone()].concat(),
        outputs,
        validity: ValidityWindow {
            not_before: req.height,
            not_after: req.valid_until,
        },
        execution: Some(Execution {
            contract: contract_id(&evil_id),
            callees: report.callees.clone(),
            resource: evil_id,
            entry: "go".into(),
            args: vec![],
            cu_limit: req.cu_limit,
            cu_used: outcome.cu_used,
            trace_root: trace_root(&outcome.trace),
            proof_system: replay_system(),
        }),
    };
    let proof = encode_replay_proof(&outcome.trace);
    let err = ReplayVerifier::new(a.executor.clone())
        .verify(&tx, &proof, &code_view)
        .unwrap_err();
    assert!(err.to_string().contains("fund only 0"), "{err}");
}
