//! # stock: inventory levels per item
//!
//! The owner adds stock and authorises other addresses (people, or the address a calling
//! contract appears as, see `order_flow`) to take from it. Levels live under `"i" ‖ item u32le`
//! (`u64le`); the entry points, their arguments and errors are in the module's ABI.

#![no_std]

use wes_contract::*;

errors! {
    /// What a stock call fails with.
    pub enum Error {
        /// `init` ran already.
        AlreadyInitialised = 1 => "already initialised",
        /// `init` never ran.
        NotInitialised = 2 => "not initialised",
        /// Only the owner adds stock and authorises.
        NotOwner = 3 => "only the owner may do this",
        /// Only the owner and authorised addresses take and put back.
        NotAuthorised = 4 => "caller not authorised",
        /// Fewer items in stock than asked for.
        OutOfStock = 5 => "out of stock",
        /// A level fits a `u64`.
        LevelOverflow = 6 => "level overflow",
    }
}

/// The owner's address, set by `init`.
const OWNER: Item<Address> = Item::new(b"owner");
/// Addresses the owner authorised, under `"a" ‖ address`.
const AUTHORISED: Map<Address, bool> = Map::new(b"a");
/// Each item's level, under `"i" ‖ item u32le`.
const LEVELS: Map<u32, u64> = Map::new(b"i");

/// Fails unless the caller is the owner.
fn only_owner() -> Result<(), Error> {
    let owner = OWNER.get().ok_or(Error::NotInitialised)?;
    ensure(caller() == owner, Error::NotOwner)
}

/// Fails unless the caller is the owner or an authorised address.
fn only_authorised() -> Result<(), Error> {
    let owner = OWNER.get().ok_or(Error::NotInitialised)?;
    let who = caller();
    ensure(who == owner || AUTHORISED.has(&who), Error::NotAuthorised)
}

/// Adds `qty` to the level of `item`.
fn raise(item: u32, qty: u64) -> Result<(), Error> {
    let level = LEVELS.get(&item).unwrap_or(0);
    let level = level.checked_add(qty).ok_or(Error::LevelOverflow)?;
    LEVELS.set(&item, &level);
    Ok(())
}

contract! {
    errors: Error;

    /// Makes the caller the owner. Runs once.
    pub fn init() -> Result<(), Error> {
        ensure(!OWNER.exists(), Error::AlreadyInitialised)?;
        OWNER.set(&caller());
        Ok(())
    }

    /// Lets `address` take stock (owner only).
    pub fn authorize(address: Address) -> Result<(), Error> {
        only_owner()?;
        AUTHORISED.set(&address, &true);
        Ok(())
    }

    /// Adds `qty` of `item` (owner only).
    pub fn add(item: u32, qty: u64) -> Result<(), Error> {
        only_owner()?;
        raise(item, qty)
    }

    /// Removes `qty` of `item` (owner or an authorised address).
    pub fn take(item: u32, qty: u64) -> Result<(), Error> {
        only_authorised()?;
        let level = LEVELS.get(&item).unwrap_or(0);
        let level = level.checked_sub(qty).ok_or(Error::OutOfStock)?;
        LEVELS.set(&item, &level);
        Ok(())
    }

    /// Returns `qty` of `item` that was taken, e.g. a saga's compensation (owner or an
    /// authorised address).
    pub fn put_back(item: u32, qty: u64) -> Result<(), Error> {
        only_authorised()?;
        raise(item, qty)
    }

    /// The level of `item` (0 if never stocked).
    pub fn level(item: u32) -> u64 {
        LEVELS.get(&item).unwrap_or(0)
    }
}
