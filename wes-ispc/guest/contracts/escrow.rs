//! # escrow: funds held by the contract until the buyer releases or reclaims them
//!
//! The buyer opens an escrow by paying `amount` of a token to an output locked by this contract
//! (`Lock::contract(<this contract>)`). Later the buyer either releases the funds to the seller,
//! or, after the deadline height, takes them back (refund). Escrows are recorded under
//! `"e" ‖ id`; the entry points, their arguments, events and errors are in the module's ABI.
//!
//! Funds of all escrows in the same token are fungible: the contract pays each escrow from any
//! output it owns that holds enough of the token, and returns the excess to itself. The
//! accounting is per escrow (each record is paid once, then deleted), so escrows cannot take
//! each other's money. The contract cannot find its outputs itself (the host has no UTXO
//! search), so the caller names one in the arguments.

#![no_std]

use wes_contract::*;

errors! {
    /// What an escrow call fails with.
    pub enum Error {
        /// Escrows hold something.
        ZeroAmount = 1 => "amount must be positive",
        /// Each escrow id is used once.
        IdUsed = 2 => "id already used",
        /// No open escrow has this id.
        NoSuchEscrow = 3 => "no such escrow",
        /// Only the buyer settles an escrow.
        NotBuyer = 4 => "only the buyer may do this",
        /// A refund waits for the deadline.
        DeadlineNotPassed = 5 => "deadline not passed",
        /// The named output is not unspent.
        NotUnspent = 6 => "output not unspent",
        /// The named output is not an asset output.
        NotAnAsset = 7 => "not an asset output",
        /// The named output is not this contract's.
        NotOurs = 8 => "output not owned by this contract",
        /// The named output holds another token.
        OtherToken = 9 => "output holds another token",
        /// The named output holds less than the escrow.
        TooLittle = 10 => "output holds too little",
        /// The change does not fit a `u64`.
        ExcessTooLarge = 11 => "excess too large",
    }
}

events! {
    /// Escrow `id` was opened, holding `amount` until `deadline` at the latest.
    pub struct Opened {
        pub id: [u8; 32],
        pub deadline: u64,
        pub amount: u64,
    }

    /// Escrow `id` was paid to the seller.
    pub struct Released {
        pub id: [u8; 32],
    }

    /// Escrow `id` was paid back to the buyer.
    pub struct Refunded {
        pub id: [u8; 32],
    }
}

record! {
    /// An open escrow.
    pub struct Escrow<'a> {
        /// Who opened (and paid for) it: the only one who may settle it.
        pub buyer: Address,
        /// The height after which the buyer may take the funds back.
        pub deadline: u64,
        /// How much is held.
        pub amount: u64,
        /// What is held.
        pub token: Token,
        /// Where a release pays.
        pub seller: EncodedLock<'a>,
        /// Where a refund pays.
        pub refund_to: EncodedLock<'a>,
    }
}

/// Open escrows, under `"e" ‖ id`.
const ESCROWS: Map<[u8; 32], Escrow<'static>> = Map::new(b"e");

/// Largest escrow record: two locks of up to 1 KiB and the rest.
const RECORD_CAP: usize = 32 + 8 + 8 + TOKEN_MAX_LEN + 2 * 1024;

/// Largest `enc(Output)` of an asset output with a lock of up to 1 KiB.
const OUTPUT_CAP: usize = 1024 + 4 + TOKEN_MAX_LEN + 16;

/// Pays escrow `id` out of the contract-owned output `outpoint`, to the seller (`release`) or
/// back to the buyer (`refund`), then deletes the record.
fn settle(id: [u8; 32], outpoint: [u8; OUTPOINT_LEN], release: bool) -> Result<(), Error> {
    let mut record = [0u8; RECORD_CAP];
    let escrow = ESCROWS.load(&id, &mut record).ok_or(Error::NoSuchEscrow)?;
    ensure(caller() == escrow.buyer, Error::NotBuyer)?;
    if !release {
        ensure(height() > escrow.deadline, Error::DeadlineNotPassed)?;
    }

    // The output that funds the payment: ours, the right token, enough of it.
    let me = Lock::contract(&contract());
    let token = escrow.token.encode();
    let mut output = [0u8; OUTPUT_CAP];
    let bytes = utxo_get(&outpoint, &mut output).ok_or(Error::NotUnspent)?;
    let asset = parse_asset_output(bytes).ok_or(Error::NotAnAsset)?;
    ensure(asset.lock == me.as_bytes(), Error::NotOurs)?;
    ensure(asset.token_bytes == token.as_bytes(), Error::OtherToken)?;
    let amount = u128::from(escrow.amount);
    ensure(asset.amount >= amount, Error::TooLittle)?;
    utxo_spend(&outpoint);

    // Pay, and keep the rest.
    let to = if release {
        escrow.seller
    } else {
        escrow.refund_to
    };
    output_asset(&to, &token, escrow.amount);
    let excess = asset.amount - amount;
    if excess > 0 {
        let excess = u64::try_from(excess).map_err(|_| Error::ExcessTooLarge)?;
        output_asset(&me, &token, excess);
    }

    ESCROWS.remove(&id);
    if release {
        Released { id }.emit();
    } else {
        Refunded { id }.emit();
    }
    Ok(())
}

contract! {
    errors: Error;
    events: [Opened, Released, Refunded];

    /// The caller (the buyer) pays `amount` of `token` into escrow `id`, for `seller`, or back
    /// to `refund_to` after height `deadline`.
    pub fn open(
        id: [u8; 32],
        deadline: u64,
        amount: u64,
        token: Token,
        seller: EncodedLock,
        refund_to: EncodedLock,
    ) -> Result<(), Error> {
        ensure(amount > 0, Error::ZeroAmount)?;
        ensure(!ESCROWS.has(&id), Error::IdUsed)?;
        // The deposit: an output owned by this contract. Its value comes from the caller's
        // inputs, which the transaction constructor adds.
        output_asset(&Lock::contract(&contract()), &token.encode(), amount);
        let escrow = Escrow {
            buyer: caller(),
            deadline,
            amount,
            token,
            seller,
            refund_to,
        };
        ESCROWS.set(&id, &escrow);
        Opened { id, deadline, amount }.emit();
        Ok(())
    }

    /// The buyer releases escrow `id` to the seller, paid from the contract's output
    /// `outpoint`.
    pub fn release(id: [u8; 32], outpoint: [u8; OUTPOINT_LEN]) -> Result<(), Error> {
        settle(id, outpoint, true)
    }

    /// After the deadline, the buyer takes escrow `id` back, paid from the contract's output
    /// `outpoint`.
    pub fn refund(id: [u8; 32], outpoint: [u8; OUTPOINT_LEN]) -> Result<(), Error> {
        settle(id, outpoint, false)
    }
}
