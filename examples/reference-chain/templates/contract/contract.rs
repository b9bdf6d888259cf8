//! # {{name}}: a counter its owner increments
//!
//! Built to WASM with `wes contract build src/{{name}}.rs`, tested natively with `cargo test`.
//! The entry points, events and errors below become the module's ABI.

#![no_std]

use wes_contract::*;

errors! {
    /// What a call fails with.
    pub enum Error {
        /// `init` ran already.
        AlreadyInitialised = 1 => "already initialised",
        /// Only the owner increments.
        NotOwner = 2 => "only the owner may do this",
        /// The count fits a `u64`.
        Overflow = 3 => "count overflows",
    }
}

events! {
    /// The count went up by `by`, to `count`.
    pub struct Incremented {
        pub by: u64,
        pub count: u64,
    }
}

/// The owner, set by `init`.
const OWNER: Item<Address> = Item::new(b"owner");
/// The count.
const COUNT: Item<u64> = Item::new(b"count");

contract! {
    errors: Error;
    events: [Incremented];

    /// Makes the caller the owner. Runs once.
    pub fn init() -> Result<(), Error> {
        ensure(!OWNER.exists(), Error::AlreadyInitialised)?;
        OWNER.set(&caller());
        Ok(())
    }

    /// Adds `by` to the count (owner only); returns the new count.
    pub fn increment(by: u64) -> Result<u64, Error> {
        ensure(OWNER.get() == Some(caller()), Error::NotOwner)?;
        let count = COUNT.get().unwrap_or(0).checked_add(by).ok_or(Error::Overflow)?;
        COUNT.set(&count);
        Incremented { by, count }.emit();
        Ok(count)
    }

    /// The count.
    pub fn count() -> u64 {
        COUNT.get().unwrap_or(0)
    }
}
