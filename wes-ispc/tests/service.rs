//! The connector-service library: its rules on a store in memory, over HTTP on 127.0.0.1 with
//! signed requests, the conformance test passing on it and catching services that break
//! the protocol, and a node's `HttpConnector` driving it.

use std::sync::Arc;

use wes_core::{ContractId, Domain, Hash, SecretKey, hash};
use wes_ispc::connector::{Connector, ExternalOp};
use wes_ispc::connectors::{HttpConnector, OpStatus};
use wes_ispc::protocol::{self, Action};
use wes_ispc::service::{
    Auth, Effects, MemoryStore, MemoryTx, Service, ServiceError, conformance, handle, serve,
};
use wes_ispc::{Connectors, Outcome, PendingExternal};

/// A warehouse in memory: a request is a quantity (u64, little-endian) to ship.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Stock {
    on_hand: u64,
    reserved: u64,
    /// Every effect run: (op, from, outcome); prepares as (op, Prepared, None).
    moves: Vec<(Hash, OpStatus, Option<Outcome>)>,
}

struct Shipping;

fn qty(op: &ExternalOp) -> Result<u64, ServiceError> {
    let bytes: [u8; 8] = op
        .request
        .as_slice()
        .try_into()
        .map_err(|_| ServiceError::BadRequest("a quantity is 8 bytes".into()))?;
    Ok(u64::from_le_bytes(bytes))
}

type Store = MemoryStore<Stock>;

impl Effects<Store> for Shipping {
    fn prepare(&self, tx: &mut MemoryTx<Stock>, op: &ExternalOp) -> Result<Vec<u8>, ServiceError> {
        let n = qty(op)?;
        let s = &mut tx.app;
        if s.on_hand - s.reserved < n {
            return Err(ServiceError::Refused(format!(
                "{n} asked, {} free",
                s.on_hand - s.reserved
            )));
        }
        s.reserved += n;
        s.moves.push((op.id, OpStatus::Prepared, None));
        Ok(format!("reserved {n}").into_bytes())
    }

    fn settle(
        &self,
        tx: &mut MemoryTx<Stock>,
        op: &ExternalOp,
        from: OpStatus,
        outcome: Outcome,
    ) -> Result<(), ServiceError> {
        let n = qty(op)?;
        let s = &mut tx.app;
        match (from, outcome) {
            (OpStatus::Prepared, Outcome::Commit) => {
                s.reserved -= n;
                s.on_hand -= n;
            }
            (OpStatus::Prepared, Outcome::Abort) => s.reserved -= n,
            (OpStatus::Committed, Outcome::Compensate) => s.on_hand += n,
            (OpStatus::Compensated, Outcome::Commit) => {
                s.on_hand = s.on_hand.checked_sub(n).ok_or_else(|| {
                    ServiceError::Refused("not enough stock to ship again".into())
                })?;
            }
            (OpStatus::Compensated, Outcome::Abort) => {}
            other => panic!("the library never asks for {other:?}"),
        }
        s.moves.push((op.id, from, Some(outcome)));
        Ok(())
    }
}

fn service(on_hand: u64) -> Arc<Service<Store, Shipping>> {
    Arc::new(Service::new(
        MemoryStore::new(Stock {
            on_hand,
            ..Stock::default()
        }),
        Shipping,
    ))
}

fn op(name: &str, n: u64) -> ExternalOp {
    ExternalOp {
        id: hash(Domain::new("test"), name),
        contract: ContractId(hash(Domain::new("test"), b"contract")),
        request: n.to_le_bytes().to_vec(),
    }
}

fn stock(s: &Service<Store, Shipping>) -> Stock {
    s.store().read(Stock::clone)
}

fn request(n: u32) -> Vec<u8> {
    u64::from(n % 2 + 1).to_le_bytes().to_vec()
}

#[test]
fn each_move_runs_its_effect_once_however_often_it_is_asked() {
    let s = service(10);
    let a = op("a", 3);
    assert_eq!(s.prepare(&a).unwrap(), b"reserved 3");
    assert_eq!(
        s.prepare(&a).unwrap(),
        b"reserved 3",
        "the first answer again"
    );
    assert_eq!(stock(&s).reserved, 3, "reserved once");
    for _ in 0..3 {
        s.settle(&a.id, Outcome::Commit).unwrap();
    }
    assert_eq!((stock(&s).on_hand, stock(&s).reserved), (7, 0));
    s.settle(&a.id, Outcome::Compensate).unwrap();
    s.settle(&a.id, Outcome::Compensate).unwrap();
    assert_eq!(stock(&s).on_hand, 10, "reversed once");
    s.settle(&a.id, Outcome::Commit).unwrap();
    assert_eq!(
        stock(&s).on_hand,
        7,
        "the transaction came back: applied again"
    );
    assert_eq!(
        stock(&s)
            .moves
            .iter()
            .map(|m| (m.1, m.2))
            .collect::<Vec<_>>(),
        vec![
            (OpStatus::Prepared, None),
            (OpStatus::Prepared, Some(Outcome::Commit)),
            (OpStatus::Committed, Some(Outcome::Compensate)),
            (OpStatus::Compensated, Some(Outcome::Commit)),
        ]
    );
    assert_eq!(
        s.settle(&a.id, Outcome::Abort),
        Err(ServiceError::NotAllowed {
            op: a.id,
            status: OpStatus::Committed,
            outcome: Outcome::Abort
        })
    );
    assert_eq!(s.status(&a.id).unwrap(), Some(OpStatus::Committed));
}

#[test]
fn a_refused_prepare_leaves_nothing_and_a_late_prepare_after_abort_does_nothing() {
    let s = service(2);
    let big = op("big", 5);
    assert!(matches!(s.prepare(&big), Err(ServiceError::Refused(_))));
    assert_eq!(stock(&s), service(2).store().read(Stock::clone));
    assert_eq!(s.status(&big.id).unwrap(), None, "nothing recorded");

    // The node gave up on `late` before its prepare arrived.
    let late = op("late", 1);
    s.settle(&late.id, Outcome::Abort).unwrap();
    assert_eq!(s.prepare(&late), Err(ServiceError::Aborted(late.id)));
    assert_eq!(stock(&s).reserved, 0);

    let a = op("a", 1);
    s.prepare(&a).unwrap();
    let other = ExternalOp {
        request: 2u64.to_le_bytes().to_vec(),
        ..a.clone()
    };
    assert_eq!(s.prepare(&other), Err(ServiceError::RequestMismatch(a.id)));
    s.settle(&a.id, Outcome::Abort).unwrap();
    assert_eq!(stock(&s).reserved, 0);
    assert_eq!(s.prepare(&a), Err(ServiceError::Aborted(a.id)));
    assert_eq!(
        s.settle(&op("never", 1).id, Outcome::Commit),
        Err(ServiceError::UnknownOp(op("never", 1).id))
    );
    s.settle(&op("never", 1).id, Outcome::Compensate).unwrap();
}

#[test]
fn the_service_passes_the_conformance_test_over_http_with_signed_requests() {
    let node = SecretKey::dev("node");
    let s = service(1_000);
    let server = serve(
        s.clone(),
        Auth::nodes([node.public_key()]),
        "127.0.0.1:0",
        "/shipping",
    )
    .unwrap();
    conformance::check(server.url(), Some(&node), &request).unwrap();
    let st = stock(&s);
    assert_eq!(st.reserved, 0, "every prepared op was settled: {st:?}");
    assert_eq!(st.on_hand, 1_000, "the one committed op was compensated");
}

#[test]
fn the_conformance_test_catches_broken_services() {
    // A service that acknowledges everything (no state, no rules).
    let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
    let url = format!("http://{}/x", server.server_addr().to_ip().unwrap());
    let s = server.clone();
    let worker = std::thread::spawn(move || {
        for r in s.incoming_requests() {
            let _ = r.respond(tiny_http::Response::from_data(b"ok".to_vec()));
        }
    });
    let e = conformance::check(&url, None, &request).unwrap_err();
    assert_eq!(e.step, "prepare of a known op with another request", "{e}");
    server.unblock();
    worker.join().unwrap();

    // A real service that does not check who is asking.
    let open = serve(service(1_000), Auth::open(), "127.0.0.1:0", "/").unwrap();
    conformance::check(open.url(), None, &request).unwrap();
    let e = conformance::check(open.url(), Some(&SecretKey::dev("node")), &request).unwrap_err();
    assert_eq!(e.step, "an unsigned prepare", "{e}");
}

#[test]
fn requests_must_be_signed_by_a_trusted_node_recently_and_unaltered() {
    let node = SecretKey::dev("node");
    let s = service(10);
    let auth = Auth::nodes([node.public_key()]).max_skew_ms(1_000);
    let a = op("a", 1);
    let now = 1_800_000_000_000u64;
    let signed = |key: &SecretKey, time: u64, body: &[u8]| {
        let m = protocol::request_message(Action::Prepare, &a.id, Some(&a.contract), time, body);
        vec![
            (protocol::OP, a.id.to_hex()),
            (protocol::CONTRACT, a.contract.0.to_hex()),
            (protocol::KEY, key.public_key().to_string()),
            (protocol::TIME, time.to_string()),
            (protocol::SIGNATURE, hex::encode(key.sign(m.as_bytes()).0)),
        ]
    };
    let send = |headers: Vec<(&str, String)>, body: &[u8]| {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        handle(&s, &auth, "prepare", &header, body, now)
    };
    let stale = send(signed(&node, now - 5_000, &a.request), &a.request);
    assert_eq!(stale.0, 401, "{}", String::from_utf8_lossy(&stale.1));
    let altered = send(signed(&node, now, &a.request), &2u64.to_le_bytes());
    assert_eq!(altered.0, 401);
    let stranger = send(signed(&SecretKey::dev("eve"), now, &a.request), &a.request);
    assert_eq!(stranger.0, 401);
    assert!(String::from_utf8_lossy(&stranger.1).contains("not a trusted node"));
    assert_eq!(s.status(&a.id).unwrap(), None, "nothing was done");
    let good = send(signed(&node, now, &a.request), &a.request);
    assert_eq!(good, (200, b"reserved 1".to_vec()));

    // Malformed requests are refused with a status, not a panic.
    let no_op = handle(&s, &auth, "prepare", &|_| None, b"", now);
    assert_eq!(no_op.0, 400);
    let op_hex = a.id.to_hex();
    let mismatch = handle(
        &s,
        &auth,
        &format!("commit/{}", op("b", 1).id.to_hex()),
        &|n| (n == protocol::OP).then(|| op_hex.clone()),
        b"",
        now,
    );
    assert_eq!(mismatch.0, 400);
    let unknown = handle(&s, &auth, "delete", &|_| None, b"", now);
    assert_eq!(unknown.0, 400);
}

#[test]
fn a_node_settles_through_a_signed_http_connector() {
    let node = SecretKey::dev("node");
    let s = service(10);
    let server = serve(
        s.clone(),
        Auth::nodes([node.public_key()]),
        "127.0.0.1:0",
        "/ship",
    )
    .unwrap();
    let connectors = Connectors::default();
    connectors.register(
        "shipping",
        Arc::new(HttpConnector::new(server.url()).signed_by(node.clone())),
        None,
    );
    let unsigned = HttpConnector::new(server.url());
    let a = op("a", 4);
    assert!(
        unsigned.prepare(&a).is_err(),
        "unsigned requests are refused"
    );
    let pending = PendingExternal {
        connector: "shipping".into(),
        op: a.id,
    };
    HttpConnector::new(server.url())
        .signed_by(node)
        .prepare(&a)
        .unwrap();
    connectors.settle(&pending, Outcome::Commit).unwrap();
    connectors.settle(&pending, Outcome::Commit).unwrap();
    assert_eq!(stock(&s).on_hand, 6);
    assert_eq!(s.status(&a.id).unwrap(), Some(OpStatus::Committed));
    let err = connectors.settle(&pending, Outcome::Abort).unwrap_err();
    assert!(err.0.contains("409"), "{err}");
}

#[test]
fn a_captured_request_replayed_after_a_later_move_is_refused() {
    let node = SecretKey::dev("node");
    let s = service(10);
    let auth = Auth::nodes([node.public_key()]);
    let a = op("replayed", 2);
    let now = 1_800_000_000_000u64;
    // The request a node sends for `action` at `time`, as headers, with its path and body.
    let request = |action: Action, time: u64| {
        let contract = (action == Action::Prepare).then_some(a.contract);
        let body = if action == Action::Prepare {
            a.request.clone()
        } else {
            Vec::new()
        };
        let m = protocol::request_message(action, &a.id, contract.as_ref(), time, &body);
        let mut headers = vec![
            (protocol::OP, a.id.to_hex()),
            (protocol::KEY, node.public_key().to_string()),
            (protocol::TIME, time.to_string()),
            (protocol::SIGNATURE, hex::encode(node.sign(m.as_bytes()).0)),
        ];
        if let Some(c) = contract {
            headers.push((protocol::CONTRACT, c.0.to_hex()));
        }
        (action.path(&a.id), headers, body)
    };
    let send = |(path, headers, body): (String, Vec<(&str, String)>, Vec<u8>)| {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        handle(&s, &auth, &path, &header, &body, now + 10).0
    };
    assert_eq!(send(request(Action::Prepare, now)), 200);
    assert_eq!(send(request(Action::Settle(Outcome::Commit), now + 1)), 200);
    let captured = request(Action::Settle(Outcome::Compensate), now + 2);
    assert_eq!(send(captured.clone()), 200);
    assert_eq!(send(request(Action::Settle(Outcome::Commit), now + 3)), 200);
    assert_eq!(stock(&s).on_hand, 8);
    // Replaying the compensate would return the goods a second time: refused.
    assert_eq!(send(captured), 401);
    assert_eq!(s.status(&a.id).unwrap(), Some(OpStatus::Committed));
    assert_eq!(stock(&s).on_hand, 8);
    // The node's own retry of the latest move is still acknowledged.
    assert_eq!(send(request(Action::Settle(Outcome::Commit), now + 3)), 200);
}

#[test]
fn an_oversized_or_slow_request_is_refused_and_the_service_keeps_answering() {
    use std::io::{Read, Write};
    let s = service(10);
    let server = serve(s.clone(), Auth::open(), "127.0.0.1:0", "/ship").unwrap();
    let addr = server
        .url()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    // A terabyte announced, nothing sent: refused from the header, nothing allocated.
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    c.write_all(b"POST /ship/prepare HTTP/1.1\r\nHost: x\r\nContent-Length: 1099511627776\r\n\r\n")
        .unwrap();
    let mut answer = [0u8; 12];
    c.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 413");
    // Paths outside the base, and other methods.
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    c.write_all(b"POST /shipprepare HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    c.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 404");
    // A client that never finishes its headers holds nothing the others need.
    let mut idle = std::net::TcpStream::connect(&addr).unwrap();
    idle.write_all(b"POST /ship/prepare HTTP/1.1\r\n").unwrap();
    let a = op("after", 1);
    assert_eq!(
        HttpConnector::new(server.url()).prepare(&a).unwrap(),
        b"reserved 1"
    );
}
