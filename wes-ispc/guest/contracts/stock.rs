//! # stock: inventory levels per item
//!
//! The owner adds stock and authorises other addresses (people, or the address a calling
//! contract appears as, see `order_flow`) to take from it.
//!
//! Entry points (integers are little-endian):
//!
//! | entry | arguments | effect |
//! |---|---|---|
//! | `init` | none | state `"owner"` = caller; aborts if already initialised |
//! | `authorize` | `address[32]` | owner only: state `"a" ‖ address` = `01` |
//! | `add` | `item u32 ‖ qty u64` | owner only: `"i" ‖ item u32le` += qty |
//! | `take` | `item u32 ‖ qty u64` | owner or authorised: `"i" ‖ item` -= qty; aborts `"out of stock"` if short |
//! | `put_back` | `item u32 ‖ qty u64` | owner or authorised: `"i" ‖ item` += qty (undoes a `take`, e.g. a saga's compensation) |
//! | `level` | `item u32` | returns the level as `u64le` (0 if never stocked) |

#![no_std]

use wes_contract::*;

/// The state key of the owner's address.
const OWNER: &[u8] = b"owner";

/// The owner's address; aborts if `init` never ran.
fn owner() -> [u8; 32] {
    let mut owner = [0u8; 32];
    match state_get(OWNER, &mut owner) {
        Some(o) if o.len() == 32 => owner,
        Some(_) => abort("stock: bad owner record"),
        None => abort("stock: not initialised"),
    }
}

/// The state key of an item's level.
fn item_key(item: u32) -> Writer<MAX_KEY_LEN> {
    key(b"i", &item.to_le_bytes())
}

/// Reads `item u32 ‖ qty u64` (exactly).
fn item_and_qty() -> (u32, u64) {
    let mut buf = [0u8; 12];
    let mut r = Reader::new(args(&mut buf));
    let item = r.u32();
    let qty = r.u64();
    r.end();
    (item, qty)
}

/// Aborts unless the caller is the owner or an authorised address.
fn require_authorised() {
    let who = caller();
    require(
        who == owner() || state_has(&key(b"a", &who)),
        "stock: caller not authorised",
    );
}

entries! {
    /// `init()`: makes the caller the owner. Runs once.
    pub fn init() {
        require(args_len() == 0, "stock: init takes no arguments");
        require(!state_has(OWNER), "stock: already initialised");
        state_set(OWNER, &caller());
    }

    /// `authorize(address)`: lets `address` take stock (owner only).
    pub fn authorize() {
        let mut buf = [0u8; 32];
        let mut r = Reader::new(args(&mut buf));
        let address: [u8; 32] = r.array();
        r.end();
        require(caller() == owner(), "stock: only the owner may do this");
        state_set(&key(b"a", &address), &[1]);
    }

    /// `add(item, qty)`: adds stock (owner only).
    pub fn add() {
        let (item, qty) = item_and_qty();
        require(caller() == owner(), "stock: only the owner may do this");
        let key = item_key(item);
        let level = state_get_u64(&key).unwrap_or(0);
        match level.checked_add(qty) {
            Some(level) => state_set_u64(&key, level),
            None => abort("stock: level overflow"),
        }
    }

    /// `take(item, qty)`: removes stock (owner or an authorised address).
    pub fn take() {
        let (item, qty) = item_and_qty();
        require_authorised();
        let key = item_key(item);
        let level = state_get_u64(&key).unwrap_or(0);
        match level.checked_sub(qty) {
            Some(level) => state_set_u64(&key, level),
            None => abort("out of stock"),
        }
    }

    /// `put_back(item, qty)`: returns stock that was taken (owner or an authorised address).
    pub fn put_back() {
        let (item, qty) = item_and_qty();
        require_authorised();
        let key = item_key(item);
        let level = state_get_u64(&key).unwrap_or(0);
        match level.checked_add(qty) {
            Some(level) => state_set_u64(&key, level),
            None => abort("stock: level overflow"),
        }
    }

    /// `level(item)`: returns the level of `item` (`u64le`).
    pub fn level() {
        let mut buf = [0u8; 4];
        let mut r = Reader::new(args(&mut buf));
        let item = r.u32();
        r.end();
        let level = state_get_u64(&item_key(item)).unwrap_or(0);
        set_return(&level.to_le_bytes());
    }
}
