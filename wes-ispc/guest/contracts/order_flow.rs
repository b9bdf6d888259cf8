//! # order_flow: order → stock → payment → shipment → invoice, as one atomic call
//!
//! `place` runs the whole order-processing flow in a single contract call. Every step can fail
//! the call, and a failed call leaves no trace on chain: no stock is taken, nothing is paid,
//! no order is recorded. There is no compensation logic to write.
//!
//! 1. **order**: the order id must be new (state `"o" ‖ order_id`);
//! 2. **stock**: a nested call `take(item, qty)` on the `stock` contract deployed as resource
//!    `stock_resource` (its failure, e.g. out of stock, fails everything). The stock owner
//!    must have authorised the address that `caller()` reports inside that nested call;
//! 3. **payment**: `qty × unit_price` of `token` to the merchant, out of the caller's inputs;
//! 4. **shipment**: a request to the node's `"shipping"` connector,
//!    `order_id ‖ item u32le ‖ qty u64le ‖ address`, answered `01 ‖ tracking` (accepted) or
//!    `00 ‖ reason` (refused: the call fails with `ShipmentRefused`). The answer is recorded
//!    in the trace, so verifiers replay it instead of asking the shipper again;
//! 5. **invoice**: state `"o" ‖ order_id` holds the `Invoice`, which is also emitted as an
//!    event; the call returns the tracking code.

#![no_std]

use wes_contract::*;

errors! {
    /// What placing an order fails with (besides the stock contract's own errors).
    pub enum Error {
        /// Orders are for at least one item.
        ZeroQuantity = 1 => "quantity must be positive",
        /// The shipper needs an address.
        NoAddress = 2 => "missing shipping address",
        /// Each order id is used once.
        AlreadyPlaced = 3 => "order already placed",
        /// The total is zero.
        NothingToPay = 4 => "nothing to pay",
        /// The total does not fit a `u64`.
        TotalOverflow = 5 => "total overflows",
        /// The shipper refused the shipment.
        ShipmentRefused = 6 => "shipment refused",
        /// The shipper's answer is neither `01 ‖ tracking` nor `00 ‖ reason`.
        BadShippingResponse = 7 => "malformed shipping response",
    }
}

events! {
    /// An order was placed: stock taken, paid, shipped.
    pub struct Invoice {
        pub buyer: Address,
        pub item: u32,
        pub qty: u64,
        pub total: u64,
        pub tracking: Tracking,
    }
}

/// A shipper's tracking code.
type Tracking = Writer<MAX_TRACKING>;

/// Invoices by order id, under `"o" ‖ order_id`.
const ORDERS: Map<[u8; 32], Invoice> = Map::new(b"o");

/// Invoice bytes besides the tracking code: buyer ‖ item ‖ qty ‖ total ‖ its length.
const INVOICE_HEAD: usize = 32 + 4 + 8 + 8 + 4;

/// Longest tracking code: the invoice is also the event's data (at most `MAX_EVENT_DATA`).
const MAX_TRACKING: usize = MAX_EVENT_DATA - INVOICE_HEAD;

contract! {
    errors: Error;
    events: [Invoice];

    /// Processes one order: takes `qty` of `item` from the `stock` contract deployed as
    /// `stock_resource`, pays `qty × unit_price` of `token` to `merchant`, books the shipment
    /// to `address`; returns the tracking code.
    pub fn place(
        order_id: [u8; 32],
        stock_resource: ResourceId,
        item: u32,
        qty: u64,
        unit_price: u64,
        token: Token,
        merchant: EncodedLock,
        address: &str,
    ) -> Result<Tracking, Error> {
        ensure(qty > 0, Error::ZeroQuantity)?;
        ensure(!address.is_empty(), Error::NoAddress)?;

        // 1. Order: each order id is used once.
        ensure(!ORDERS.has(&order_id), Error::AlreadyPlaced)?;

        // 2. Stock: take the goods. A nested call; if it fails, this call fails too.
        let mut take = Writer::<12>::new();
        item.encode(&mut take);
        qty.encode(&mut take);
        call(&stock_resource, "take", &take, &mut [0u8; 0]);

        // 3. Payment: the total goes to the merchant, paid from the caller's inputs.
        let total = qty.checked_mul(unit_price).ok_or(Error::TotalOverflow)?;
        ensure(total > 0, Error::NothingToPay)?;
        output_asset(&merchant, &token.encode(), total);

        // 4. Shipment: ask the shipper; a refusal fails the whole order.
        let mut request = Writer::<MAX_ARGS_LEN>::new();
        request
            .bytes(&order_id)
            .u32(item)
            .u64(qty)
            .bytes(address.as_bytes());
        let mut response = [0u8; 1 + MAX_TRACKING];
        let mut tracking = Tracking::new();
        match external_call("shipping", &request, &mut response).split_first() {
            Some((1, code)) => {
                tracking.bytes(code);
            }
            Some((0, _)) => return Err(Error::ShipmentRefused),
            _ => return Err(Error::BadShippingResponse),
        }

        // 5. Invoice: record the order, announce it, return the tracking code.
        let invoice = Invoice {
            buyer: caller(),
            item,
            qty,
            total,
            tracking,
        };
        ORDERS.set(&order_id, &invoice);
        invoice.emit();
        Ok(tracking)
    }
}
