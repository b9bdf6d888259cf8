//! # order_flow: order → stock → payment → shipment → invoice, as one atomic call
//!
//! `place` runs the whole order-processing flow in a single contract call. Every step can fail
//! the call, and a failed call leaves no trace on chain: no stock is taken, nothing is paid,
//! no order is recorded. There is no compensation logic to write.
//!
//! 1. **order**: the order id must be new (state `"o" ‖ order_id`);
//! 2. **stock**: a nested call `take(item, qty)` on the `stock` contract deployed as resource
//!    `stock_resource` (its failure, e.g. `"out of stock"`, fails everything). The stock owner
//!    must have authorised the address that `caller()` reports inside that nested call;
//! 3. **payment**: `qty × unit_price` of `token` to the merchant, out of the caller's inputs;
//! 4. **shipment**: a request to the node's `"shipping"` connector,
//!    `order_id ‖ item u32le ‖ qty u64le ‖ address`, answered `01 ‖ tracking` (accepted) or
//!    `00 ‖ reason` (refused: the call aborts with `"shipment refused"`). The answer is recorded
//!    in the trace, so verifiers replay it instead of asking the shipper again;
//! 5. **invoice**: state `"o" ‖ order_id` = `caller[32] ‖ item u32le ‖ qty u64le ‖ total u64le ‖
//!    tracking`, the same bytes as event `"invoice"`; the call returns the tracking bytes.
//!
//! `place` arguments (integers are little-endian): `order_id[32] ‖ stock_resource[32] ‖ item u32
//! ‖ qty u64 ‖ unit_price u64 ‖ u32 token_len ‖ token ‖ u32 merchant_lock_len ‖ merchant lock ‖
//! shipping address (rest, UTF-8)`.

#![no_std]

use wes_contract::*;

/// Largest `place` argument list (ids, numbers, token, a lock and the address).
const ARGS_CAP: usize = 4096;

/// Invoice bytes before the tracking code: caller ‖ item ‖ qty ‖ total.
const INVOICE_HEAD: usize = 32 + 4 + 8 + 8;

/// Longest tracking code: the invoice is also the event's data (at most `MAX_EVENT_DATA`).
const MAX_TRACKING: usize = MAX_EVENT_DATA - INVOICE_HEAD;

entries! {
    /// `place(...)`: processes one order; returns the tracking code.
    pub fn place() {
        let mut buf = [0u8; ARGS_CAP];
        let mut r = Reader::new(args(&mut buf));
        let order_id: [u8; 32] = r.array();
        let stock_resource: [u8; 32] = r.array();
        let item = r.u32();
        let qty = r.u64();
        let unit_price = r.u64();
        let token = r.prefixed_u32();
        let merchant_lock = r.prefixed_u32();
        let address = r.rest_str();
        require(qty > 0, "order_flow: quantity must be positive");
        require(!address.is_empty(), "order_flow: missing shipping address");

        // 1. Order: each order id is used once.
        let order_key = key(b"o", &order_id);
        require(!state_has(&order_key), "order_flow: order already placed");

        // 2. Stock: take the goods. A nested call; if it aborts, this call aborts too.
        let mut take_args = Writer::<12>::new();
        take_args.u32(item).u64(qty);
        call(&stock_resource, "take", &take_args, &mut [0u8; 0]);

        // 3. Payment: the total goes to the merchant, paid from the caller's inputs.
        let total = match qty.checked_mul(unit_price) {
            Some(total) if total > 0 => total,
            Some(_) => abort("order_flow: nothing to pay"),
            None => abort("order_flow: total overflows"),
        };
        output_asset(merchant_lock, token, total);

        // 4. Shipment: ask the shipper; a refusal fails the whole order.
        let mut request = Writer::<ARGS_CAP>::new();
        request
            .bytes(&order_id)
            .u32(item)
            .u64(qty)
            .bytes(address.as_bytes());
        let mut response = [0u8; 1 + MAX_TRACKING];
        let response = external_call("shipping", &request, &mut response);
        let tracking = match response.split_first() {
            Some((1, tracking)) => tracking,
            Some((0, _)) => abort("shipment refused"),
            _ => abort("order_flow: malformed shipping response"),
        };

        // 5. Invoice: record the order, announce it, return the tracking code.
        let mut invoice = Writer::<MAX_EVENT_DATA>::new();
        invoice
            .bytes(&caller())
            .u32(item)
            .u64(qty)
            .u64(total)
            .bytes(tracking);
        state_set(&order_key, &invoice);
        emit_event("invoice", &invoice);
        set_return(tracking);
    }
}
