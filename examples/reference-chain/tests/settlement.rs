//! External effects exactly once when the node is killed with SIGKILL: the real `wes-node`
//! process runs the order flow contracts against the order chain's warehouse (a connector
//! service whose inventory, shipments and payments are rows of a real PostgreSQL, which
//! `scripts/test.sh` starts on loopback and names in `WES_PG_URL`). The node is killed
//! after a call's prepare (its transaction never sent), after inclusion before commit, and
//! while the warehouse is committing; after each restart the database's rows show each
//! effect applied exactly once. And a 2-node partition (the admin RPC) in which the order is
//! committed on the minority's branch: after healing, the warehouse hears compensate and
//! its rows follow the best chain.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use common::*;
use postgres::Transaction;
use serde_json::{Value, json};
use wes_core::{Lock, SecretKey};
use wes_ispc::Outcome;
use wes_ispc::connector::ExternalOp;
use wes_ispc::connectors::OpStatus;
use wes_ispc::contract_id;
use wes_ispc::service::{Auth, Effects, Service, ServiceError, ServiceHandle, serve};
use wes_order_chain::ITEM;
use wes_order_chain::warehouse::{self, PgStore, Warehouse};
use wes_reference_chain::config::{ConnectorSpec, NodeConfig};

/// A fresh database on the test server: its URL.
fn fresh_database() -> String {
    let url = std::env::var("WES_PG_URL").expect(
        "WES_PG_URL names a PostgreSQL server for these tests: run them with scripts/test.sh, \
         which starts one on loopback",
    );
    warehouse::create_database(&url, "wes_node_settlement").unwrap()
}

/// The warehouse's effects, with a gate: while `hold` is set, a commit tells the test it
/// has started (the rows are written, the transaction not yet committed) and takes two
/// seconds to finish, so the node can be killed while it is committing.
struct Gated {
    warehouse: Warehouse,
    hold: AtomicBool,
    started: std::sync::Mutex<mpsc::Sender<()>>,
    /// Every settling move the warehouse applied: (from, outcome).
    moves: std::sync::Mutex<Vec<(OpStatus, Outcome)>>,
}

impl Effects<PgStore> for Gated {
    fn prepare(&self, tx: &mut Transaction<'_>, op: &ExternalOp) -> Result<Vec<u8>, ServiceError> {
        self.warehouse.prepare(tx, op)
    }

    fn settle(
        &self,
        tx: &mut Transaction<'_>,
        op: &ExternalOp,
        from: OpStatus,
        outcome: Outcome,
    ) -> Result<(), ServiceError> {
        self.warehouse.settle(tx, op, from, outcome)?;
        self.moves.lock().unwrap().push((from, outcome));
        if outcome == Outcome::Commit && self.hold.swap(false, Ordering::SeqCst) {
            let _ = self.started.lock().unwrap().send(());
            std::thread::sleep(Duration::from_secs(2));
        }
        Ok(())
    }
}

fn run_node(dir: &Path) -> NodeProcess {
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--rpc-addr", "127.0.0.1:0", "--config"])
        .arg(dir.join("node.toml"));
    spawn(cmd, dir, true)
}

fn kill(mut node: NodeProcess) {
    node.child.kill().unwrap(); // SIGKILL
    node.child.wait().unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Calls `entry` of `resource` as `from` and waits until the transaction is included.
fn call_confirmed(node: &NodeProcess, from: &str, resource: &str, entry: &str, args: &[u8]) {
    let out = cli_json(
        node,
        &[
            "contract",
            "call",
            "--resource",
            resource,
            "--entry",
            entry,
            "--args",
            &hex(args),
            "--from",
            from,
        ],
    );
    confirmed(node, out["txid"].as_str().unwrap(), 1);
}

/// The node's settlement journal, as `wes_settlements` shows it.
fn settlements(node: &NodeProcess) -> Vec<Value> {
    operator_call(node, "wes_settlements", json!([]))
        .as_array()
        .unwrap()
        .clone()
}

type GatedWarehouse = Service<PgStore, Gated>;

/// The warehouse on a fresh database, stocked with 10 of [`ITEM`], served on 127.0.0.1 and
/// trusting requests signed by the dev key `miner` (every devnet node's keystore has it).
/// Also a receiver told when a held commit starts.
fn start_warehouse() -> (Arc<GatedWarehouse>, ServiceHandle, mpsc::Receiver<()>) {
    let db = fresh_database();
    let (started_tx, started) = mpsc::channel();
    let effects = Gated {
        warehouse: Warehouse,
        hold: AtomicBool::new(false),
        started: std::sync::Mutex::new(started_tx),
        moves: std::sync::Mutex::new(Vec::new()),
    };
    let service = Arc::new(Service::new(PgStore::connect(&db).unwrap(), effects));
    service.store().stock(ITEM, 10).unwrap();
    let server = serve(
        service.clone(),
        Auth::nodes([SecretKey::dev("miner").public_key()]),
        "127.0.0.1:0",
        "/shipping",
    )
    .unwrap();
    (service, server, started)
}

/// `(on_hand, reserved)` of [`ITEM`], and the shipments as `(status, qty, tracking)`.
type Rows = ((i64, i64), Vec<(String, i64, String)>);

/// The warehouse's rows, from the database.
fn rows(service: &GatedWarehouse) -> Rows {
    (
        service.store().inventory(ITEM).unwrap(),
        service.store().shipments().unwrap(),
    )
}

/// Writes a devnet node's configuration in `dir` (dev keys, 300 ms blocks, mining unless
/// `no_mine`), with the warehouse at `url`, if any, as connector `shipping` (requests
/// signed with `miner`, commit at `depth`) and validity windows of 8 blocks.
fn configure(dir: &Path, url: Option<&str>, depth: u64, no_mine: bool) {
    let mut devnet = Command::new(BIN);
    devnet.args(["devnet", "--data-dir"]).arg(dir).args([
        "--rpc-addr",
        "127.0.0.1:0",
        "--block-time-ms",
        "300",
    ]);
    if no_mine {
        devnet.arg("--no-mine");
    }
    kill(spawn(devnet, dir, true));
    let mut config = NodeConfig::read(&dir.join("node.toml")).unwrap();
    if let Some(url) = url {
        config.connectors.push(ConnectorSpec {
            name: "shipping".into(),
            url: url.to_owned(),
            commit_depth: Some(depth),
            signing_key: Some("miner".into()),
        });
    }
    config.call_validity_blocks = Some(8);
    config.write(&dir.join("node.toml")).unwrap();
}

/// The shop (alice) deploys stock and the order flow through `node`, stocks 10 of [`ITEM`]
/// and authorises the flow: the resource ids of stock and flow.
fn open_shop(node: &NodeProcess, tmp: &Path) -> (String, String) {
    let contracts = tmp.join("contracts");
    wes_order_chain::build_contracts(&contracts).unwrap();
    let deploy = |name: &str| deploy_contract(node, &contracts.join(format!("{name}.wasm")));
    let stock = deploy("stock");
    let flow = deploy("order_flow");
    call_confirmed(node, "alice", &stock, "init", &[]);
    let mut add = ITEM.to_le_bytes().to_vec();
    add.extend_from_slice(&10u64.to_le_bytes());
    call_confirmed(node, "alice", &stock, "add", &add);
    let flow_id: wes_core::ContentId = flow.parse().unwrap();
    let flow_address = Lock::contract(contract_id(&flow_id)).address();
    call_confirmed(node, "alice", &stock, "authorize", &flow_address.0.0);
    // The flow carries its ABI.
    let abi = cli_json(node, &["contract", "abi", "--resource", &flow]);
    assert_eq!(abi["name"], "order_flow", "{abi}");
    assert_eq!(abi["entries"][0]["name"], "place", "{abi}");
    assert_eq!(abi["entries"][0]["args"][7]["type"], "string", "{abi}");
    (stock, flow)
}

/// Bob places order `id` through `node`, paying 100 per unit on top of the fee (the client
/// signs no more than that), with arguments typed on the command line and encoded with the
/// contract's ABI: the transaction id.
fn place(node: &NodeProcess, stock: &str, flow: &str, id: u8, qty: u64, address: &str) -> String {
    let max_spend = (2_000_000 + 100 * qty).to_string();
    let order_id = format!("order_id={}", hex(&[id; 32]));
    let stock = format!("stock_resource={stock}");
    let item = format!("item={ITEM}");
    let qty_arg = format!("qty={qty}");
    let address = format!("address={address}");
    let out = cli_json(
        node,
        &[
            "contract",
            "call",
            "--resource",
            flow,
            "--entry",
            "place",
            "--arg",
            &order_id,
            "--arg",
            &stock,
            "--arg",
            &item,
            "--arg",
            &qty_arg,
            "--arg",
            "unit_price=100",
            "--arg",
            "token=native",
            "--arg",
            "merchant=alice",
            "--arg",
            &address,
            "--from",
            "bob",
            "--max-spend",
            &max_spend,
        ],
    );
    // The node decodes what the call returned and emitted with the ABI.
    let invoice = &out["result"]["events"][0];
    assert_eq!(invoice["topic"], "Invoice", "{out}");
    assert_eq!(invoice["fields"]["qty"], qty.to_string(), "{out}");
    assert_eq!(invoice["fields"]["total"], (100 * qty).to_string(), "{out}");
    assert!(out["result"]["returns"].is_string(), "{out}");
    out["txid"].as_str().unwrap().to_owned()
}

#[test]
fn effects_happen_once_when_the_node_is_killed_at_each_step() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    let (service, server, started) = start_warehouse();
    // Commit at depth 6: time to kill the node between inclusion and commit.
    configure(&dir, Some(server.url()), 6, false);
    let node = run_node(&dir);
    let (stock, flow) = open_shop(&node, tmp.path());

    // 1. Killed after inclusion, before commit: the restarted node commits once.
    let txid = place(&node, &stock, &flow, 1, 3, "1 Main St");
    confirmed(&node, &txid, 1);
    kill(node);
    assert_eq!(rows(&service).0, (10, 3), "reserved, not yet shipped");
    let node = run_node(&dir);
    wait_until("order 1 shipped", 60, || rows(&service).0 == (7, 0));
    assert_eq!(
        rows(&service).1,
        vec![("shipped".to_owned(), 3, "TRACK-01010101".to_owned())]
    );

    // 2. Killed while the warehouse commits: the warehouse finishes, the node never hears
    // the answer, and after the restart its commit again is acknowledged without acting.
    service.effects().hold.store(true, Ordering::SeqCst);
    let txid2 = place(&node, &stock, &flow, 2, 2, "2 Side St");
    started
        .recv_timeout(Duration::from_secs(60))
        .expect("the warehouse hears commit");
    kill(node);
    let node = run_node(&dir);
    wait_until("the node records the commit", 60, || {
        settlements(&node)
            .iter()
            .any(|s| s["txids"][0] == txid2.as_str() && s["state"] == "committed")
    });
    assert_eq!(rows(&service).0, (5, 0), "3 + 2 shipped, each once");

    // 3. Killed after a call was prepared whose transaction was never sent: once its
    // validity window has passed on the restarted node, the warehouse hears abort.
    let bob = hex(&SecretKey::dev("bob").public_key().0);
    let utxos = call(&node, "wes_getUtxos", json!([bob, "pending"]));
    let coin = utxos
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["body"]["type"] == "asset" && u["body"]["token"] == "native")
        .expect("a coin of bob's")["outpoint"]
        .clone();
    // A call refused with one of the contract's declared errors says which, decoded.
    let refused = rpc(
        &node,
        "wes_constructCall",
        json!([{
            "resource": flow, "entry": "place", "typed_args": [
                hex(&[4; 32]), stock, ITEM, 0, 100, "native",
                hex(&SecretKey::dev("alice").public_key().0), "4 Hill Rd",
            ],
            "fee_inputs": [coin], "change": bob, "fee": "2000000",
        }]),
    );
    assert_eq!(
        refused["error"]["data"]["contract_error"],
        json!({"code": 1, "name": "ZeroQuantity", "message": "quantity must be positive"}),
        "{refused}"
    );
    let constructed = call(
        &node,
        "wes_constructCall",
        json!([{
            "resource": flow, "entry": "place", "typed_args": {
                "order_id": hex(&[3; 32]), "stock_resource": stock, "item": ITEM, "qty": 1,
                "unit_price": 100, "token": "native",
                "merchant": hex(&SecretKey::dev("alice").public_key().0),
                "address": "3 Hill Rd",
            },
            "fee_inputs": [coin], "change": bob, "fee": "2000000",
        }]),
    );
    assert!(constructed["txid"].is_string(), "{constructed}");
    assert_eq!(rows(&service).0, (5, 1), "reserved");
    kill(node);
    let node = run_node(&dir);
    wait_until("order 3 cancelled", 90, || rows(&service).0 == (5, 0));
    let (_, shipments) = rows(&service);
    let cancelled: Vec<_> = shipments.iter().filter(|s| s.0 == "cancelled").collect();
    assert_eq!(cancelled.len(), 1, "{shipments:?}");
    assert_eq!(cancelled[0].1, 1);
    assert_eq!(
        service
            .store()
            .payments()
            .unwrap()
            .iter()
            .filter(|p| p.0 == "captured")
            .count(),
        2,
        "two payments captured, once each"
    );
    let journal = settlements(&node);
    assert!(
        journal.iter().all(|s| s["stuck"] == false),
        "nothing stuck: {journal:?}"
    );
    drop(node);
}

fn peer_id(node: &NodeProcess) -> String {
    node.p2p
        .as_deref()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

fn tip(node: &NodeProcess) -> (u64, String) {
    let s = call(node, "wes_miningStatus", json!([]));
    (
        s["height"].as_u64().unwrap(),
        s["tip"].as_str().unwrap().to_owned(),
    )
}

/// Starts the node configured in `dir`, dialling `bootnode`.
fn run_node_with(dir: &Path, bootnode: &NodeProcess) -> NodeProcess {
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--rpc-addr", "127.0.0.1:0", "--config"])
        .arg(dir.join("node.toml"))
        .args(["--bootnodes", node_p2p(bootnode)]);
    spawn(cmd, dir, true)
}

fn node_p2p(node: &NodeProcess) -> &str {
    node.p2p.as_deref().unwrap()
}

/// Blocks (or unblocks) every peer of `left` from every peer of `right`, both ways.
fn partition(left: &[&NodeProcess], right: &[&NodeProcess], method: &str) {
    for (side, other) in [(left, right), (right, left)] {
        for n in side {
            for o in other {
                operator_call(n, method, json!([peer_id(o)]));
            }
        }
    }
}

#[test]
fn a_reorganisation_compensates_a_committed_order_on_the_database() {
    let tmp = tempfile::tempdir().unwrap();
    let (service, server, _) = start_warehouse();
    // `shop` has the warehouse connector and does not mine; `minor` mines on its side of the
    // partition; `major` mines on the other side and outlasts it.
    let dirs = ["shop", "minor", "major"].map(|n| tmp.path().join(n));
    configure(&dirs[0], Some(server.url()), 2, true);
    configure(&dirs[1], None, 2, false);
    configure(&dirs[2], None, 2, false);
    let shop = run_node(&dirs[0]);
    let minor = run_node_with(&dirs[1], &shop);
    let major = run_node_with(&dirs[2], &shop);
    let (stock, flow) = open_shop(&shop, tmp.path());
    wait_until("all three on one chain", 60, || {
        let t = tip(&shop);
        tip(&minor) == t && tip(&major) == t
    });

    // Partition {shop, minor} | {major}; the order lands on the minority's branch and is
    // committed there at depth 2.
    partition(&[&shop, &minor], &[&major], "wes_netBlockPeer");
    let txid = place(&shop, &stock, &flow, 1, 3, "1 Main St");
    wait_until("order 1 shipped on the minority branch", 60, || {
        rows(&service).0 == (7, 0)
    });
    let moves = service.effects().moves.lock().unwrap().clone();
    assert_eq!(moves, vec![(OpStatus::Prepared, Outcome::Commit)]);
    // The minority stops mining; the majority outgrows its branch.
    let minor_height = tip(&minor).0;
    kill(minor);
    wait_until("the majority's branch is longer", 60, || {
        tip(&major).0 > minor_height + 3
    });
    assert!(
        rpc(&major, "wes_getTransaction", json!([txid]))["result"].is_null(),
        "the majority never saw the order"
    );

    // Heal: the shop reorganises onto the majority's chain, which does not hold the order's
    // block, and the warehouse hears compensate: the goods are back on the shelf.
    partition(&[&shop], &[&major], "wes_netUnblockPeer");
    wait_until("the shop follows the majority", 60, || {
        tip(&shop).0 >= tip(&major).0 && tip(&shop) == tip(&major)
    });
    wait_until("compensated", 60, || {
        service
            .effects()
            .moves
            .lock()
            .unwrap()
            .contains(&(OpStatus::Committed, Outcome::Compensate))
    });
    // Whatever happens next to the order (the shop's pool may send it again, and then it
    // is committed again; or it expires and is aborted), the rows follow the best chain.
    wait_until("the order settled as the chain says", 60, || {
        let included = rpc(&major, "wes_getTransaction", json!([txid]))["result"]["confirmations"]
            .as_u64()
            .unwrap_or(0);
        let state = rows(&service);
        if included >= 2 {
            state.0 == (7, 0) && state.1[0].0 == "shipped"
        } else {
            state.0 == (10, 0) && state.1[0].0 != "shipped"
        }
    });
    let moves = service.effects().moves.lock().unwrap().clone();
    assert!(moves.len() <= 4, "each move once: {moves:?}");
    drop((shop, major));
}
