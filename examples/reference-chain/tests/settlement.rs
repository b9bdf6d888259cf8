//! External effects exactly once when the node is killed with SIGKILL: the real `wes-node`
//! process runs the order flow contracts against the order chain's warehouse (a connector
//! service whose inventory, shipments and payments are rows of a real PostgreSQL, which
//! `scripts/test.sh` starts on loopback and names in `WES_PG_URL`). The node is killed
//! after a call's prepare (its transaction never sent), after inclusion before commit, and
//! while the warehouse is committing; after each restart the database's rows show each
//! effect applied exactly once.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use common::*;
use postgres::Transaction;
use serde_json::{Value, json};
use wes_core::{Lock, SecretKey, TokenId, codec};
use wes_ispc::Outcome;
use wes_ispc::connector::ExternalOp;
use wes_ispc::connectors::OpStatus;
use wes_ispc::contract_id;
use wes_ispc::service::{Auth, Effects, Service, ServiceError, serve};
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

/// The order flow's `place` arguments: order `id`, `qty` of [`ITEM`] at 100 each, paid to
/// alice (the shop), shipped to `address`.
fn order(stock: &str, id: u8, qty: u64, address: &str) -> Vec<u8> {
    let prefixed = |bytes: Vec<u8>| [(bytes.len() as u32).to_le_bytes().to_vec(), bytes].concat();
    let stock: wes_core::ContentId = stock.parse().unwrap();
    let mut args = [id; 32].to_vec();
    args.extend_from_slice(stock.as_bytes());
    args.extend_from_slice(&ITEM.to_le_bytes());
    args.extend_from_slice(&qty.to_le_bytes());
    args.extend_from_slice(&100u64.to_le_bytes());
    args.extend(prefixed(codec::encode(&TokenId::Native)));
    args.extend(prefixed(codec::encode(&Lock::key(
        SecretKey::dev("alice").public_key(),
    ))));
    args.extend_from_slice(address.as_bytes());
    args
}

/// The node's settlement journal, as `wes_settlements` shows it.
fn settlements(node: &NodeProcess) -> Vec<Value> {
    call(node, "wes_settlements", json!([]))
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn effects_happen_once_when_the_node_is_killed_at_each_step() {
    let db = fresh_database();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");

    // The warehouse, trusting the node's connector key.
    let connector_key = SecretKey::dev("miner");
    let (started_tx, started) = mpsc::channel();
    let effects = Gated {
        warehouse: Warehouse,
        hold: AtomicBool::new(false),
        started: std::sync::Mutex::new(started_tx),
    };
    let service = Arc::new(Service::new(PgStore::connect(&db).unwrap(), effects));
    service.store().stock(ITEM, 10).unwrap();
    let server = serve(
        service.clone(),
        Auth::nodes([connector_key.public_key()]),
        "127.0.0.1:0",
        "/shipping",
    )
    .unwrap();
    let rows = |service: &Service<PgStore, Gated>| {
        (
            service.store().inventory(ITEM).unwrap(),
            service.store().shipments().unwrap(),
        )
    };

    // A devnet's configuration (dev keys, fast blocks), with the warehouse as a connector
    // whose requests the node signs, commit at depth 6 (time to kill it before), and short
    // validity windows.
    let mut devnet = Command::new(BIN);
    devnet.args(["devnet", "--data-dir"]).arg(&dir).args([
        "--rpc-addr",
        "127.0.0.1:0",
        "--block-time-ms",
        "300",
    ]);
    kill(spawn(devnet, &dir, true));
    let mut config = NodeConfig::read(&dir.join("node.toml")).unwrap();
    config.connectors.push(ConnectorSpec {
        name: "shipping".into(),
        url: server.url().to_owned(),
        commit_depth: Some(6),
        signing_key: Some("miner".into()),
    });
    config.call_validity_blocks = Some(8);
    config.write(&dir.join("node.toml")).unwrap();
    let node = run_node(&dir);

    // The shop (alice) deploys stock and the order flow, stocks 10 and authorises the flow.
    let contracts = tmp.path().join("contracts");
    wes_order_chain::build_contracts(&contracts).unwrap();
    let deploy = |name: &str| {
        let wasm = contracts.join(format!("{name}.wasm"));
        let out = cli_json(
            &node,
            &[
                "contract",
                "deploy",
                wasm.to_str().unwrap(),
                "--from",
                "alice",
            ],
        );
        confirmed(&node, out["txid"].as_str().unwrap(), 1);
        out["resource"].as_str().unwrap().to_owned()
    };
    let stock = deploy("stock");
    let flow = deploy("order_flow");
    call_confirmed(&node, "alice", &stock, "init", &[]);
    let mut add = ITEM.to_le_bytes().to_vec();
    add.extend_from_slice(&10u64.to_le_bytes());
    call_confirmed(&node, "alice", &stock, "add", &add);
    let flow_id: wes_core::ContentId = flow.parse().unwrap();
    let flow_address = Lock::contract(contract_id(&flow_id)).address();
    call_confirmed(&node, "alice", &stock, "authorize", &flow_address.0.0);

    // 1. Killed after inclusion, before commit: the restarted node commits once.
    let placed = cli_json(
        &node,
        &[
            "contract",
            "call",
            "--resource",
            &flow,
            "--entry",
            "place",
            "--args",
            &hex(&order(&stock, 1, 3, "1 Main St")),
            "--from",
            "bob",
        ],
    );
    let txid = placed["txid"].as_str().unwrap().to_owned();
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
    let placed = cli_json(
        &node,
        &[
            "contract",
            "call",
            "--resource",
            &flow,
            "--entry",
            "place",
            "--args",
            &hex(&order(&stock, 2, 2, "2 Side St")),
            "--from",
            "bob",
        ],
    );
    started
        .recv_timeout(Duration::from_secs(60))
        .expect("the warehouse hears commit");
    kill(node);
    let node = run_node(&dir);
    let txid2 = placed["txid"].as_str().unwrap().to_owned();
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
    let constructed = call(
        &node,
        "wes_constructCall",
        json!([{
            "resource": flow, "entry": "place", "args": hex(&order(&stock, 3, 1, "3 Hill Rd")),
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
