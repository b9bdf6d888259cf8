//! # token: a fungible token held as UTXO assets
//!
//! The contract issues any number of token classes, told apart by a 32-byte `tag`; the token id
//! of a class is `TokenId::Issued { contract: <this contract>, tag }`. Balances are not kept in
//! state: tokens live in ordinary asset outputs, so wallets hold and spend them like the native
//! token. The contract only tracks each class's total supply.
//!
//! Entry points (arguments are read with `args`, integers are little-endian):
//!
//! | entry | arguments | effect |
//! |---|---|---|
//! | `init` | none | state `"owner"` = caller; aborts if already initialised |
//! | `mint` | `tag[32] ‖ amount u64 ‖ recipient lock (rest, ≤ 984 B)` | owner only: creates `amount` new tokens for the recipient; `"supply" ‖ tag` += amount; event `"mint"` = `tag ‖ amount u64le ‖ lock` |
//! | `transfer` | `tag[32] ‖ amount u64 ‖ recipient lock (rest, ≤ 984 B)` | pays `amount` to the recipient out of the caller's inputs; event `"transfer"` = `tag ‖ amount u64le ‖ lock` |
//! | `supply` | `tag[32]` | returns the class's supply as `u64le` |

#![no_std]

use wes_contract::*;

/// The state key of the owner's address.
const OWNER: &[u8] = b"owner";

/// Longest recipient lock: the events carry `tag ‖ amount ‖ lock` and event data is at most
/// `MAX_EVENT_DATA` (1024) bytes. Key and contract locks are 40 bytes.
const MAX_RECIPIENT: usize = MAX_EVENT_DATA - 32 - 8;

/// Largest argument list: tag ‖ amount ‖ recipient lock.
const ARGS_CAP: usize = 32 + 8 + MAX_RECIPIENT;

/// The state key holding the supply of class `tag`.
fn supply_key(tag: &[u8; 32]) -> Writer<MAX_KEY_LEN> {
    key(b"supply", tag)
}

/// Aborts unless the caller is the owner recorded by `init`.
fn only_owner() {
    let mut owner = [0u8; 32];
    match state_get(OWNER, &mut owner) {
        Some(o) if o == caller() => {}
        Some(_) => abort("token: only the owner may do this"),
        None => abort("token: not initialised"),
    }
}

/// Parses `tag[32] ‖ amount u64 ‖ recipient lock (rest)` and announces it as event `topic`
/// after `act(tag, amount, recipient)` succeeds.
fn with_payment(topic: &str, act: impl FnOnce(&[u8; 32], u64, &[u8])) {
    let mut buf = [0u8; ARGS_CAP];
    let mut r = Reader::new(args(&mut buf));
    let tag: [u8; 32] = r.array();
    let amount = r.u64();
    let recipient = r.rest();
    require(amount > 0, "token: amount must be positive");
    require(!recipient.is_empty(), "token: missing recipient lock");
    act(&tag, amount, recipient);
    let mut event = Writer::<MAX_EVENT_DATA>::new();
    event.bytes(&tag).u64(amount).bytes(recipient);
    emit_event(topic, &event);
}

entries! {
    /// `init()`: makes the caller the owner. Runs once.
    pub fn init() {
        require(args_len() == 0, "token: init takes no arguments");
        require(!state_has(OWNER), "token: already initialised");
        state_set(OWNER, &caller());
    }

    /// `mint(tag, amount, recipient)`: creates new tokens (owner only).
    pub fn mint() {
        with_payment("mint", |tag, amount, recipient| {
            only_owner();
            // Only `mint_asset` creates tokens, and only this contract's own.
            mint_asset(recipient, tag, amount);
            let key = supply_key(tag);
            let supply = state_get_u64(&key).unwrap_or(0);
            match supply.checked_add(amount) {
                Some(s) => state_set_u64(&key, s),
                None => abort("token: supply overflow"),
            }
        });
    }

    /// `transfer(tag, amount, recipient)`: pays tokens from the caller's inputs.
    ///
    /// The contract only creates the recipient's output; the host's transaction constructor adds
    /// the caller's token inputs (and change), and the ledger checks that the value balances.
    pub fn transfer() {
        with_payment("transfer", |tag, amount, recipient| {
            // Never creates value: without the caller's token inputs the transaction cannot
            // balance (only `mint_asset` creates tokens).
            let token = Token::Issued {
                contract: contract(),
                tag: *tag,
            };
            output_asset(recipient, &token.encode(), amount);
        });
    }

    /// `supply(tag)`: returns the supply of class `tag` (`u64le`, 0 if never minted).
    pub fn supply() {
        let mut buf = [0u8; 32];
        let mut r = Reader::new(args(&mut buf));
        let tag: [u8; 32] = r.array();
        r.end();
        let supply = state_get_u64(&supply_key(&tag)).unwrap_or(0);
        set_return(&supply.to_le_bytes());
    }
}
