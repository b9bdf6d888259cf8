//! # token: a fungible token held as UTXO assets
//!
//! The contract issues any number of token classes, told apart by a 32-byte `tag`; the token id
//! of a class is `TokenId::Issued { contract: <this contract>, tag }`. Balances are not kept in
//! state: tokens live in ordinary asset outputs, so wallets hold and spend them like the native
//! token. The contract only tracks each class's total supply.
//!
//! The entry points, their arguments, events and errors are in the module's ABI (`wes:abi`).

#![no_std]

use wes_contract::*;

errors! {
    /// What a token call fails with.
    pub enum Error {
        /// `init` ran already.
        AlreadyInitialised = 1 => "already initialised",
        /// `init` never ran.
        NotInitialised = 2 => "not initialised",
        /// Only the owner may mint.
        NotOwner = 3 => "only the owner may do this",
        /// Amounts are positive.
        ZeroAmount = 4 => "amount must be positive",
        /// A class's supply fits a `u64`.
        SupplyOverflow = 5 => "supply overflow",
    }
}

events! {
    /// New tokens of class `tag` were created for `to`.
    pub struct Mint<'a> {
        pub tag: [u8; 32],
        pub amount: u64,
        pub to: EncodedLock<'a>,
    }

    /// Tokens of class `tag` were paid to `to` out of the caller's inputs.
    pub struct Transfer<'a> {
        pub tag: [u8; 32],
        pub amount: u64,
        pub to: EncodedLock<'a>,
    }
}

/// The owner's address, set by `init`.
const OWNER: Item<Address> = Item::new(b"owner");

/// Each class's supply, under `"supply" ‖ tag`.
const SUPPLY: Map<[u8; 32], u64> = Map::new(b"supply");

contract! {
    errors: Error;
    events: [Mint, Transfer];

    /// Makes the caller the owner. Runs once.
    pub fn init() -> Result<(), Error> {
        ensure(!OWNER.exists(), Error::AlreadyInitialised)?;
        OWNER.set(&caller());
        Ok(())
    }

    /// Creates `amount` new tokens of class `tag` for `to` (owner only).
    pub fn mint(tag: [u8; 32], amount: u64, to: EncodedLock) -> Result<(), Error> {
        ensure(amount > 0, Error::ZeroAmount)?;
        match OWNER.get() {
            Some(owner) => ensure(owner == caller(), Error::NotOwner)?,
            None => return Err(Error::NotInitialised),
        }
        // Only `mint_asset` creates tokens, and only this contract's own.
        mint_asset(&to, &tag, amount);
        let supply = SUPPLY.get(&tag).unwrap_or(0);
        let supply = supply.checked_add(amount).ok_or(Error::SupplyOverflow)?;
        SUPPLY.set(&tag, &supply);
        Mint { tag, amount, to }.emit();
        Ok(())
    }

    /// Pays `amount` tokens of class `tag` to `to` from the caller's inputs.
    ///
    /// The contract only creates the recipient's output; the host's transaction constructor
    /// adds the caller's token inputs (and change), and the ledger checks that the value
    /// balances. It never creates value: without the caller's token inputs the transaction
    /// cannot balance (only `mint_asset` creates tokens).
    pub fn transfer(tag: [u8; 32], amount: u64, to: EncodedLock) -> Result<(), Error> {
        ensure(amount > 0, Error::ZeroAmount)?;
        let token = Token::Issued {
            contract: contract(),
            tag,
        };
        output_asset(&to, &token.encode(), amount);
        Transfer { tag, amount, to }.emit();
        Ok(())
    }

    /// The supply of class `tag` (0 if never minted).
    pub fn supply(tag: [u8; 32]) -> u64 {
        SUPPLY.get(&tag).unwrap_or(0)
    }
}
