//! Order fulfilment as a saga on a real chain (sled on disk, contracts built from source,
//! every block verified by replay): steps over several blocks, compensation in reverse on
//! a declined payment, a timeout that anyone can unwind, and a driver that resumes from the
//! chain after the node restarts. The outside services hear each effect once.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wes_core::SecretKey;
use wes_ispc::connectors::{MemoryConnector, OpStatus};
use wes_node::saga::{Progress, SagaMove, SagaStatus};
use wes_order_chain::saga::{Fulfilment, payments, request_kinds, shipper};

/// The contracts, built once for every test of this file.
fn contracts() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep().join("contracts");
        wes_order_chain::build_contracts(&dir).unwrap();
        dir
    })
}

/// The moves a run submitted, in order.
fn moves(seen: &[Progress]) -> Vec<SagaMove> {
    seen.iter()
        .filter_map(|p| match p {
            Progress::Submitted { step, .. } | Progress::Refused { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect()
}

/// The kinds of request (`B`ook, `C`ancel) of `connector`'s ops in `status`, sorted.
fn kinds(connector: &MemoryConnector, status: OpStatus) -> Vec<u8> {
    let mut kinds = request_kinds(&connector.ops(status));
    kinds.sort();
    kinds
}

#[test]
fn a_saga_runs_its_steps_one_block_each_and_completes() {
    let dir = tempfile::tempdir().unwrap();
    let (ship, pay) = (shipper(), payments(1_000));
    let f = Fulfilment::create(dir.path(), contracts(), ship.clone(), pay.clone()).unwrap();
    let mut shop = f.driver(SecretKey::dev("shop"));
    let plan = f.plan([1; 32], 3, "1 Main St", 300, 5);
    let start = f.node().status().height;
    shop.begin(&plan).unwrap();
    let seen = f.drive(&mut shop, &plan.id, 20).unwrap();
    assert_eq!(moves(&seen), [0, 1, 2].map(SagaMove::Advance), "{seen:#?}");
    assert!(
        seen.iter().any(|p| matches!(p, Progress::Waiting { .. })),
        "a move waits for the previous one to land"
    );
    let state = f.state(&plan.id).unwrap().unwrap();
    assert_eq!((state.status, state.done), (SagaStatus::Completed, 3));
    assert_eq!(state.failure, None);
    assert!(
        f.node().status().height - start >= 4,
        "begin and three steps, a block each"
    );
    f.settle(2).unwrap();
    assert_eq!(f.stock_left().unwrap(), 7);
    assert_eq!(
        f.tracking(&plan.id).unwrap().as_deref(),
        Some("TRACK-01010101")
    );
    assert_eq!(kinds(&ship, OpStatus::Committed), b"B");
    assert_eq!(pay.ops(OpStatus::Committed).len(), 1);
    assert!(ship.ops(OpStatus::Aborted).is_empty() && pay.ops(OpStatus::Aborted).is_empty());
    // A finished saga stays finished: nothing more to do, for anyone.
    assert_eq!(
        f.driver(SecretKey::dev("alice")).poll(&plan.id).unwrap(),
        Progress::Finished(SagaStatus::Completed)
    );
}

#[test]
fn a_declined_payment_cancels_the_shipment_and_puts_the_stock_back() {
    let dir = tempfile::tempdir().unwrap();
    let (ship, pay) = (shipper(), payments(1_000));
    let f = Fulfilment::create(dir.path(), contracts(), ship.clone(), pay.clone()).unwrap();
    let mut shop = f.driver(SecretKey::dev("shop"));
    let plan = f.plan([2; 32], 4, "2 Side St", 5_000, 5);
    shop.begin(&plan).unwrap();
    let seen = f.drive(&mut shop, &plan.id, 20).unwrap();
    let moved = moves(&seen);
    assert_eq!(
        moved[..2],
        [SagaMove::Advance(0), SagaMove::Advance(1)],
        "{seen:#?}"
    );
    match &moved[2] {
        SagaMove::Fail(2, reason) => assert!(reason.contains("payment declined"), "{reason}"),
        other => panic!("step 2 should fail, got {other:?}"),
    }
    assert_eq!(
        moved[3..],
        [SagaMove::Compensate(1), SagaMove::Compensate(0)]
    );
    let state = f.state(&plan.id).unwrap().unwrap();
    assert_eq!((state.status, state.done), (SagaStatus::Compensated, 0));
    let failure = state.failure.unwrap();
    assert_eq!(failure.step, 2);
    assert!(failure.reason.contains("payment declined"), "{failure:?}");

    f.settle(2).unwrap();
    assert_eq!(f.stock_left().unwrap(), 10, "the stock taken is back");
    assert_eq!(
        f.tracking(&plan.id).unwrap(),
        None,
        "the shipment is cancelled"
    );
    // The shipper booked once and cancelled once; the declined charge was aborted.
    assert_eq!(kinds(&ship, OpStatus::Committed), b"BC");
    assert!(ship.ops(OpStatus::Aborted).is_empty());
    assert!(pay.ops(OpStatus::Committed).is_empty());
    assert_eq!(pay.ops(OpStatus::Aborted).len(), 1);
}

#[test]
fn an_abandoned_saga_times_out_and_anyone_unwinds_it() {
    let dir = tempfile::tempdir().unwrap();
    let (ship, pay) = (shipper(), payments(1_000));
    let f = Fulfilment::create(dir.path(), contracts(), ship.clone(), pay).unwrap();
    let plan = f.plan([3; 32], 3, "3 Hill Rd", 300, 2);

    // Only authorised keys begin sagas with the saga contract's authority.
    let mut alice = f.driver(SecretKey::dev("alice"));
    let refused = alice.begin(&plan).unwrap_err().to_string();
    assert!(refused.contains("may not begin sagas"), "{refused}");

    // The shop takes the stock, then its driver goes away.
    let mut shop = f.driver(SecretKey::dev("shop"));
    shop.begin(&plan).unwrap();
    f.node().produce_block().unwrap();
    assert!(matches!(
        shop.poll(&plan.id).unwrap(),
        Progress::Submitted {
            step: SagaMove::Advance(0),
            ..
        }
    ));
    f.node().produce_block().unwrap();
    drop(shop);
    assert_eq!(f.stock_left().unwrap(), 7);

    // The customer cannot advance the shop's saga, but once its deadline passed she can
    // unwind it.
    let seen = f.drive(&mut alice, &plan.id, 20).unwrap();
    assert_eq!(
        seen[0],
        Progress::Idle,
        "within the deadline it is the shop's"
    );
    assert_eq!(
        moves(&seen),
        [SagaMove::Timeout, SagaMove::Compensate(0)],
        "{seen:#?}"
    );
    let state = f.state(&plan.id).unwrap().unwrap();
    assert_eq!(state.status, SagaStatus::Compensated);
    let failure = state.failure.unwrap();
    assert_eq!((failure.step, failure.reason.as_str()), (1, "timed out"));
    assert_eq!(f.stock_left().unwrap(), 10);
    f.settle(2).unwrap();
    assert!(
        ship.ops(OpStatus::Committed).is_empty(),
        "nothing was shipped"
    );
}

#[test]
fn a_driver_resumes_from_the_chain_after_the_node_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (ship, pay) = (shipper(), payments(1_000));
    let plan = {
        let f = Fulfilment::create(dir.path(), contracts(), ship.clone(), pay.clone()).unwrap();
        let plan = f.plan([4; 32], 1, "4 Lake Ave", 100, 5);
        let mut shop = f.driver(SecretKey::dev("shop"));
        shop.begin(&plan).unwrap();
        for _ in 0..2 {
            f.node().produce_block().unwrap();
            shop.poll(&plan.id).unwrap();
        }
        // Begun, stock taken, shipment booked (its move landed in the last block): the
        // node and the driver stop here, the charge not yet made.
        f.node().produce_block().unwrap();
        let state = f.state(&plan.id).unwrap().unwrap();
        assert_eq!((state.status, state.done), (SagaStatus::Running, 2));
        plan
    };
    let f = Fulfilment::open(dir.path(), contracts(), ship.clone(), pay.clone()).unwrap();
    let mut shop = f.driver(SecretKey::dev("shop"));
    let seen = f.drive(&mut shop, &plan.id, 10).unwrap();
    assert_eq!(moves(&seen), [SagaMove::Advance(2)], "{seen:#?}");
    f.settle(2).unwrap();
    assert_eq!(f.stock_left().unwrap(), 9);
    assert_eq!(kinds(&ship, OpStatus::Committed), b"B", "booked once");
    assert_eq!(pay.ops(OpStatus::Committed).len(), 1, "charged once");
}
