//! # fulfilment: a shipment and a payment with outside services, one call each
//!
//! The steps of a longer order process driven by `saga` (see `examples/order-chain`): book a
//! shipment and cancel it, charge the customer. Each is one external call through the node's
//! connectors, so it takes effect outside the chain exactly once, when its transaction is
//! deep enough (and is compensated if a reorganisation removes it).
//!
//! Entry points (integers little-endian; `order` is a 32-byte order id):
//!
//! | entry | arguments | effect |
//! |---|---|---|
//! | `init` | none | state `"owner"` = caller; once |
//! | `authorize` | `address[32]` | owner only: `address` may use the entries below |
//! | `ship` | `order ‖ item u32 ‖ qty u64 ‖ address (rest, UTF-8)` | asks `"shipping"`: `"B" ‖ order ‖ item ‖ qty ‖ address`, answered `01 ‖ tracking` or `00 ‖ reason` (aborts `"shipment refused"`); state `"s" ‖ order` = tracking; returns it |
//! | `unship` | `order` | asks `"shipping"`: `"C" ‖ order ‖ tracking`, answered `01` (aborts otherwise); deletes `"s" ‖ order` |
//! | `charge` | `order ‖ amount u64` | asks `"payments"`: `order ‖ amount`, answered `01 ‖ receipt` or `00 ‖ reason` (aborts `"payment declined"`); state `"p" ‖ order` = receipt |
//!
//! Events: `shipped` (`order ‖ tracking`), `unshipped` (`order`), `charged` (`order ‖ amount`).

#![no_std]

use wes_contract::*;

/// The state key of the owner's address.
const OWNER: &[u8] = b"owner";

/// Largest argument list (an order, item, quantity and an address).
const ARGS_CAP: usize = 1024;

/// Longest tracking code or receipt kept.
const MAX_CODE: usize = 256;

fn owner() -> Address {
    let mut owner = [0u8; 32];
    match state_get(OWNER, &mut owner) {
        Some(o) if o.len() == 32 => owner,
        Some(_) => abort("fulfilment: bad owner record"),
        None => abort("fulfilment: not initialised"),
    }
}

/// Aborts unless the caller is the owner or an authorised address.
fn require_authorised() {
    let who = caller();
    require(
        who == owner() || state_has(&key(b"a", &who)),
        "fulfilment: caller not authorised",
    );
}

/// Asks `connector` and returns the accepted answer's data; aborts with `refused` on a
/// refusal.
fn ask<'a>(connector: &str, request: &[u8], buf: &'a mut [u8], refused: &str) -> &'a [u8] {
    match external_call(connector, request, buf).split_first() {
        Some((1, data)) => data,
        Some((0, _)) => abort(refused),
        _ => abort("fulfilment: malformed answer"),
    }
}

entries! {
    /// `init()`: makes the caller the owner. Runs once.
    pub fn init() {
        require(args_len() == 0, "fulfilment: init takes no arguments");
        require(!state_has(OWNER), "fulfilment: already initialised");
        state_set(OWNER, &caller());
    }

    /// `authorize(address)`: lets `address` ship, unship and charge (owner only).
    pub fn authorize() {
        let mut buf = [0u8; 32];
        let mut r = Reader::new(args(&mut buf));
        let address: Address = r.array();
        r.end();
        require(caller() == owner(), "fulfilment: only the owner may do this");
        state_set(&key(b"a", &address), &[1]);
    }

    /// `ship(order, item, qty, address)`: books the shipment; returns the tracking code.
    pub fn ship() {
        let mut buf = [0u8; ARGS_CAP];
        let mut r = Reader::new(args(&mut buf));
        let order: [u8; 32] = r.array();
        let item = r.u32();
        let qty = r.u64();
        let address = r.rest_str();
        require_authorised();
        require(qty > 0, "fulfilment: quantity must be positive");
        require(!address.is_empty(), "fulfilment: missing address");
        let key = key(b"s", &order);
        require(!state_has(&key), "fulfilment: order already shipped");
        let mut request = Writer::<ARGS_CAP>::new();
        request
            .bytes(b"B")
            .bytes(&order)
            .u32(item)
            .u64(qty)
            .bytes(address.as_bytes());
        let mut answer = [0u8; 1 + MAX_CODE];
        let tracking = ask("shipping", &request, &mut answer, "shipment refused");
        state_set(&key, tracking);
        let mut event = Writer::<{ 32 + MAX_CODE }>::new();
        event.bytes(&order).bytes(tracking);
        emit_event("shipped", &event);
        set_return(tracking);
    }

    /// `unship(order)`: cancels the order's shipment with the shipper.
    pub fn unship() {
        let mut buf = [0u8; 32];
        let mut r = Reader::new(args(&mut buf));
        let order: [u8; 32] = r.array();
        r.end();
        require_authorised();
        let key = key(b"s", &order);
        let mut tracking = [0u8; MAX_CODE];
        let tracking = match state_get(&key, &mut tracking) {
            Some(t) => t,
            None => abort("fulfilment: order not shipped"),
        };
        let mut request = Writer::<{ 1 + 32 + MAX_CODE }>::new();
        request.bytes(b"C").bytes(&order).bytes(tracking);
        ask(
            "shipping",
            &request,
            &mut [0u8; 1 + MAX_CODE],
            "cancellation refused",
        );
        state_delete(&key);
        emit_event("unshipped", &order);
    }

    /// `charge(order, amount)`: charges the customer through the payment service.
    pub fn charge() {
        let mut buf = [0u8; 40];
        let mut r = Reader::new(args(&mut buf));
        let order: [u8; 32] = r.array();
        let amount = r.u64();
        r.end();
        require_authorised();
        require(amount > 0, "fulfilment: nothing to charge");
        let key = key(b"p", &order);
        require(!state_has(&key), "fulfilment: order already charged");
        let mut request = Writer::<40>::new();
        request.bytes(&order).u64(amount);
        let mut answer = [0u8; 1 + MAX_CODE];
        let receipt = ask("payments", &request, &mut answer, "payment declined");
        state_set(&key, receipt);
        emit_event("charged", &request);
    }
}
