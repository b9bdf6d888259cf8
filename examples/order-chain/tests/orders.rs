//! The order-processing app chain end to end: contracts built from source, deployed, an
//! order placed as one atomic call (stock, payment, shipment, invoice) and mined; a refused
//! order lands nothing; the shipper hears commit and abort.

#[test]
fn an_order_goes_through_and_a_refused_one_lands_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let contracts = dir.path().join("contracts");
    wes_order_chain::build_contracts(&contracts).unwrap();
    let s = wes_order_chain::run(&dir.path().join("chain"), &contracts).unwrap();
    assert!(s.tracking.starts_with("TRACK-"), "{s:?}");
    assert_eq!(s.stock_left, 7, "3 of 10 taken");
    assert_eq!(s.paid, 300, "3 × 100");
    assert!(s.refused.contains("shipment refused"), "{}", s.refused);
    assert_eq!(s.shipments, (1, 1), "one committed when mined, one aborted");
    assert!(s.height >= 6);
}
