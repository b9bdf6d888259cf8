//! # escrow: funds held by the contract until the buyer releases or reclaims them
//!
//! The buyer opens an escrow by paying `amount` of a token to an output locked by this contract
//! (`Lock::contract(<this contract>)`). Later the buyer either releases the funds to the seller,
//! or, after the deadline height, takes them back (refund).
//!
//! Entry points (integers are little-endian):
//!
//! | entry | arguments | effect |
//! |---|---|---|
//! | `open` | `id[32] ‖ deadline_height u64 ‖ amount u64 ‖ u32 token_len ‖ token ‖ u32 seller_lock_len ‖ seller lock ‖ buyer lock (rest)` | pays `amount` from the caller's inputs to the contract; records the escrow under `"e" ‖ id`; event `"opened"` |
//! | `release` | `id[32] ‖ outpoint[36]` | buyer only: spends the contract-owned output `outpoint` and pays the seller; event `"released"` |
//! | `refund` | `id[32] ‖ outpoint[36]` | buyer only, once `height() > deadline`: pays the buyer lock back; event `"refunded"` |
//!
//! `token` is `enc(TokenId)`, locks are `enc(Lock)`. The record stored under `"e" ‖ id` is
//! `buyer address[32] ‖ deadline u64 ‖ amount u64 ‖ u32 token_len ‖ token ‖ u32 seller_len ‖
//! seller lock ‖ buyer lock`.
//!
//! Funds of all escrows in the same token are fungible: the contract pays each escrow from any
//! output it owns that holds enough of the token, and returns the excess to itself. The
//! accounting is per escrow (each record is paid once, then deleted), so escrows cannot take
//! each other's money. The contract cannot find its outputs itself (the host has no UTXO
//! search), so the caller names one in the arguments.

#![no_std]

use wes_contract::*;

/// Longest lock accepted (the host's limit for encoded `output_asset` arguments).
const MAX_LOCK: usize = 1024;

/// Largest `open` argument list, and largest record.
const RECORD_CAP: usize = 32 + 8 + 8 + 4 + TOKEN_MAX_LEN + 4 + MAX_LOCK + MAX_LOCK;

/// Largest `enc(Output)` of an asset output with a lock of at most `MAX_LOCK` bytes.
const OUTPUT_CAP: usize = MAX_LOCK + 4 + TOKEN_MAX_LEN + 16;

/// An escrow record, borrowed from the bytes read from state.
struct Escrow<'a> {
    /// Who opened (and paid for) the escrow: the only one who may settle it.
    buyer: [u8; 32],
    /// The height after which the buyer may take the funds back.
    deadline: u64,
    /// How much is held.
    amount: u64,
    /// `enc(TokenId)` of what is held.
    token: &'a [u8],
    /// Where a release pays.
    seller_lock: &'a [u8],
    /// Where a refund pays.
    buyer_lock: &'a [u8],
}

impl<'a> Escrow<'a> {
    /// Appends the stored form of the record to `w`.
    fn write(&self, w: &mut Writer<RECORD_CAP>) {
        w.bytes(&self.buyer)
            .u64(self.deadline)
            .u64(self.amount)
            .prefixed_u32(self.token)
            .prefixed_u32(self.seller_lock)
            .bytes(self.buyer_lock);
    }

    /// Parses the stored form.
    fn read(bytes: &'a [u8]) -> Escrow<'a> {
        let mut r = Reader::named(bytes, "escrow record");
        Escrow {
            buyer: r.array(),
            deadline: r.u64(),
            amount: r.u64(),
            token: r.prefixed_u32(),
            seller_lock: r.prefixed_u32(),
            buyer_lock: r.rest(),
        }
    }
}

/// Aborts with `msg` unless `lock` is exactly one well-formed encoded lock.
fn check_lock(lock: &[u8], msg: &str) {
    require(lock_len(lock) == Some(lock.len()), msg);
}

/// Pays escrow `id` out of the contract-owned output named in the arguments, to the seller
/// (`release`) or back to the buyer (`refund`), then deletes the record.
fn settle(release: bool) {
    let mut buf = [0u8; 32 + OUTPOINT_LEN];
    let mut r = Reader::new(args(&mut buf));
    let id: [u8; 32] = r.array();
    let outpoint: [u8; OUTPOINT_LEN] = r.array();
    r.end();

    // The escrow, and who may settle it.
    let key = key(b"e", &id);
    let mut record = [0u8; RECORD_CAP];
    let escrow = match state_get(&key, &mut record) {
        Some(bytes) => Escrow::read(bytes),
        None => abort("escrow: no such escrow"),
    };
    require(
        caller() == escrow.buyer,
        "escrow: only the buyer may do this",
    );
    if !release {
        require(height() > escrow.deadline, "escrow: deadline not passed");
    }

    // The output that funds the payment: ours, the right token, enough of it.
    let me = Lock::contract(&contract());
    let mut output = [0u8; OUTPUT_CAP];
    let asset = match utxo_get(&outpoint, &mut output) {
        Some(bytes) => match parse_asset_output(bytes) {
            Some(asset) => asset,
            None => abort("escrow: not an asset output"),
        },
        None => abort("escrow: output not unspent"),
    };
    require(
        asset.lock == me.as_bytes(),
        "escrow: output not owned by this contract",
    );
    require(
        asset.token_bytes == escrow.token,
        "escrow: output holds another token",
    );
    let amount = u128::from(escrow.amount);
    require(asset.amount >= amount, "escrow: output holds too little");
    utxo_spend(&outpoint);

    // Pay, and keep the rest.
    let to = if release {
        escrow.seller_lock
    } else {
        escrow.buyer_lock
    };
    output_asset(to, escrow.token, escrow.amount);
    let excess = asset.amount - amount;
    if excess > 0 {
        require(excess <= u128::from(u64::MAX), "escrow: excess too large");
        output_asset(&me, escrow.token, excess as u64);
    }

    state_delete(&key);
    emit_event(if release { "released" } else { "refunded" }, &id);
}

entries! {
    /// `open(id, deadline, amount, token, seller_lock, buyer_lock)`: the caller (buyer) pays
    /// `amount` into the escrow.
    pub fn open() {
        let mut buf = [0u8; RECORD_CAP];
        let mut r = Reader::new(args(&mut buf));
        let id: [u8; 32] = r.array();
        let escrow = Escrow {
            buyer: caller(),
            deadline: r.u64(),
            amount: r.u64(),
            token: r.prefixed_u32(),
            seller_lock: r.prefixed_u32(),
            buyer_lock: r.rest(),
        };
        require(escrow.amount > 0, "escrow: amount must be positive");
        require(
            Token::from_bytes(escrow.token).is_some(),
            "escrow: bad token",
        );
        check_lock(escrow.seller_lock, "escrow: bad seller lock");
        check_lock(escrow.buyer_lock, "escrow: bad buyer lock");

        let key = key(b"e", &id);
        require(!state_has(&key), "escrow: id already used");

        // The deposit: an output owned by this contract. Its value comes from the caller's inputs,
        // which the transaction constructor adds.
        output_asset(&Lock::contract(&contract()), escrow.token, escrow.amount);

        let mut record = Writer::<RECORD_CAP>::new();
        escrow.write(&mut record);
        state_set(&key, &record);

        let mut event = Writer::<48>::new();
        event.bytes(&id).u64(escrow.deadline).u64(escrow.amount);
        emit_event("opened", &event);
    }

    /// `release(id, outpoint)`: the buyer releases the funds to the seller.
    pub fn release() {
        settle(true)
    }

    /// `refund(id, outpoint)`: after the deadline, the buyer takes the funds back.
    pub fn refund() {
        settle(false)
    }
}
