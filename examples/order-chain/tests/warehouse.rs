//! The warehouse on a real PostgreSQL (`scripts/test.sh` starts one on loopback and sets
//! `WES_PG_URL`): orders through the chain change its rows exactly once, it passes the
//! connector conformance test, and a warehouse process killed with SIGKILL resumes from its
//! database without acting twice.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use wes_core::{ContractId, Domain, SecretKey, hash};
use wes_ispc::connector::{Connector, ExternalOp};
use wes_ispc::connectors::HttpConnector;
use wes_ispc::service::{Auth, ServiceHandle, conformance, serve};
use wes_order_chain::warehouse::{self, PgStore, SHIPPING_FEE, ShipRequest};
use wes_order_chain::{ITEM, build_contracts, run_with};

/// A fresh database on the test server: its URL.
fn fresh_database() -> String {
    let url = std::env::var("WES_PG_URL").expect(
        "WES_PG_URL names a PostgreSQL server for these tests: run them with scripts/test.sh, \
         which starts one on loopback",
    );
    warehouse::create_database(&url, "wes_warehouse").unwrap()
}

fn ship(order: u8, qty: u64) -> Vec<u8> {
    ShipRequest {
        order: [order; 32],
        item: ITEM,
        qty,
        address: "1 Main St".into(),
    }
    .encode()
}

/// The warehouse on a fresh database with `on_hand` of [`ITEM`], served on 127.0.0.1 and
/// trusting the node key it returns.
fn start(on_hand: u64) -> (Arc<warehouse::WarehouseService>, ServiceHandle, SecretKey) {
    let node = SecretKey::dev("order-node");
    let service = Arc::new(warehouse::service(&fresh_database()).unwrap());
    service.store().stock(ITEM, on_hand).unwrap();
    let server = serve(
        service.clone(),
        Auth::nodes([node.public_key()]),
        "127.0.0.1:0",
        "/shipping",
    )
    .unwrap();
    (service, server, node)
}

#[test]
fn an_order_through_the_chain_changes_the_warehouse_rows_exactly_once() {
    let (service, server, node) = start(10);

    let dir = tempfile::tempdir().unwrap();
    let contracts = dir.path().join("contracts");
    build_contracts(&contracts).unwrap();
    let shipper = Arc::new(HttpConnector::new(server.url()).signed_by(node));
    let s = run_with(&dir.path().join("chain"), &contracts, shipper).unwrap();
    assert_eq!(s.tracking, "TRACK-01010101");
    assert_eq!(s.stock_left, 7);
    assert!(s.refused.contains("shipment refused"), "{}", s.refused);
    assert_eq!(s.shipments, (1, 1), "one committed, one aborted");

    // The database's own rows: three taken from the shelf once, the refused order left no
    // reservation, the payment captured once.
    let store = service.store();
    assert_eq!(store.inventory(ITEM).unwrap(), (7, 0));
    assert_eq!(
        store.shipments().unwrap(),
        vec![("shipped".to_owned(), 3, "TRACK-01010101".to_owned())]
    );
    assert_eq!(
        store.payments().unwrap(),
        vec![("captured".to_owned(), 3 * SHIPPING_FEE)]
    );
    assert_eq!(
        store.op_counts().unwrap(),
        vec![("aborted".to_owned(), 1), ("committed".to_owned(), 1)]
    );
}

#[test]
fn the_warehouse_passes_the_conformance_test_on_postgres() {
    let (service, server, node) = start(100);
    conformance::check(server.url(), Some(&node), &|n| {
        ship(n as u8, u64::from(n) % 2 + 1)
    })
    .unwrap();
    // Every reservation released; the one committed op was compensated, then committed
    // again, compensated again and aborted: the shelf is whole.
    assert_eq!(service.store().inventory(ITEM).unwrap(), (100, 0));
    let shipments = service.store().shipments().unwrap();
    assert!(
        shipments.iter().all(|(status, ..)| status == "cancelled"),
        "{shipments:?}"
    );
}

/// The warehouse binary on `db`, serving on a free port: the process and its URL.
fn start_warehouse(db: &str, node: &SecretKey, stock: bool) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wes-order-warehouse"));
    cmd.args(["--db", db, "--listen", "127.0.0.1:0", "--trust"])
        .arg(node.public_key().to_string())
        .stdout(Stdio::piped());
    if stock {
        cmd.args(["--stock", &format!("{ITEM}=10")]);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the warehouse said {line:?}"))
        .to_owned();
    (child, url)
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn a_warehouse_killed_at_each_step_resumes_from_its_database_and_acts_once() {
    let db = fresh_database();
    let node = SecretKey::dev("order-node");
    let store = PgStore::connect(&db).unwrap();
    let op = ExternalOp {
        id: hash(Domain::new("test"), b"order 9"),
        contract: ContractId(hash(Domain::new("test"), b"order flow")),
        request: ship(9, 4),
    };

    // Killed right after it prepared: the node's retried prepare gets the same answer and
    // reserves nothing more.
    let (child, url) = start_warehouse(&db, &node, true);
    let first = HttpConnector::new(&url)
        .signed_by(node.clone())
        .prepare(&op)
        .unwrap();
    kill(child);
    let (child, url) = start_warehouse(&db, &node, false);
    let conn = HttpConnector::new(&url).signed_by(node.clone());
    assert_eq!(conn.prepare(&op).unwrap(), first);
    assert_eq!(store.inventory(ITEM).unwrap(), (10, 4));

    // Killed after it committed (the node did not hear the answer and retries).
    conn.commit(&op.id).unwrap();
    kill(child);
    let (child, url) = start_warehouse(&db, &node, false);
    let conn = HttpConnector::new(&url).signed_by(node.clone());
    conn.commit(&op.id).unwrap();
    assert_eq!(store.inventory(ITEM).unwrap(), (6, 0), "shipped once");

    // Killed after a compensation; the transaction then comes back and commits again.
    conn.compensate(&op.id).unwrap();
    kill(child);
    let (child, url) = start_warehouse(&db, &node, false);
    let conn = HttpConnector::new(&url).signed_by(node.clone());
    conn.compensate(&op.id).unwrap();
    assert_eq!(
        store.inventory(ITEM).unwrap(),
        (10, 4),
        "returned once, held for the order"
    );
    conn.commit(&op.id).unwrap();
    assert_eq!(store.inventory(ITEM).unwrap(), (6, 0));
    assert_eq!(
        store.shipments().unwrap(),
        vec![("shipped".to_owned(), 4, "TRACK-09090909".to_owned())]
    );
    assert_eq!(
        store.payments().unwrap(),
        vec![("captured".to_owned(), 4 * SHIPPING_FEE)]
    );
    // A process killed in the middle of a request leaves nothing half-written: every
    // request is one database transaction (the records above agree with the rows).
    assert_eq!(
        store.op_counts().unwrap(),
        vec![("committed".to_owned(), 1)]
    );
    kill(child);
}
