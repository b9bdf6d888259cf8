//! # wes-contract
//!
//! A `no_std` SDK for WES contracts: safe wrappers around every HostABI v1 function (the WASM
//! import module `wes`, see `wes-ispc/HOSTABI.md`), a byte [`Reader`] for arguments and
//! stored records, a fixed-capacity [`Writer`], and the host's canonical encodings
//! ([`Lock`], [`Token`], [`outpoint`], [`parse_asset_output`]).
//!
//! The crate builds with Rust 1.63 (Debian's `rustc`) for `wasm32-unknown-unknown`. It uses no
//! allocator and no floating point (the host refuses any module containing an `f32`/`f64`
//! type or operator), and its panic handler aborts the call through the host with a fixed
//! message: it never formats.
//!
//! A contract is a `cdylib` whose entry points are exported functions of type `() -> ()`.
//! Declare them with [`contract!`]: typed arguments and results, [`errors!`], [`events!`],
//! [`record!`]s, typed state ([`Item`], [`Map`]), and an ABI the module carries (see [`abi`]).
//! The layer below is [`entries!`], untyped entry points:
//!
//! ```ignore
//! #![no_std]
//! use wes_contract::*;
//!
//! entries! {
//!     /// `hello(name)`: greets `name`.
//!     pub fn hello() {
//!         let mut buf = [0u8; 64];
//!         let name = Reader::new(args(&mut buf)).rest_str();
//!         emit_event("hello", name.as_bytes());
//!     }
//! }
//! ```
//!
//! Off WASM the same contract compiles to plain Rust functions (and [`entries!`] lists them in
//! `ENTRIES`), every [`sys`] function forwarding to an installed off-chain host: a contract's
//! unit tests run with `cargo test` against `wes_ispc::offchain`, with no WASM and no node.
//!
//! An entry point must not be named like a host function (`height`, `call`, `args`...): the
//! exported symbol would replace the import.
//!
//! Buffers: functions that copy a variable-length answer into a caller-supplied buffer
//! ([`args`], [`state_get`], [`utxo_get`], [`external_call`], [`call`]) abort the call if the
//! answer does not fit, rather than silently truncating it. The raw imports are in [`sys`] for
//! code that wants to handle that itself.

#![no_std]
#![deny(missing_docs)]

pub mod abi;
mod bytes;
mod codec;
mod declare;
mod storage;
mod value;

pub use bytes::{key, Reader, Writer};
pub use declare::Event;
pub use storage::{Item, Map};
pub use value::{
    decode, encode, ensure, ContractError, Decode, Encode, EncodedLock, Return, Type, WithLifetime,
};

pub use codec::{
    lock_len, outpoint, outpoint_parts, parse_asset_output, AssetOutput, Lock, Token, TokenBytes,
    LOCK_LEN, MAX_MULTISIG_KEYS, OUTPOINT_LEN, TOKEN_MAX_LEN, TOKEN_NATIVE_LEN,
};

/// A 32-byte address: the hash of a lock (what [`caller`] returns).
pub type Address = [u8; 32];
/// A 32-byte contract id (what [`contract()`] returns).
pub type ContractId = [u8; 32];
/// A 32-byte resource (content) id, as used by [`call`], [`resource_read`] and
/// [`output_resource`].
pub type ResourceId = [u8; 32];

/// Longest state key, in bytes.
pub const MAX_KEY_LEN: usize = 64;
/// Longest state value, in bytes.
pub const MAX_VALUE_LEN: usize = 4096;
/// Longest event topic, in bytes (UTF-8).
pub const MAX_TOPIC_LEN: usize = 64;
/// Longest event payload, in bytes.
pub const MAX_EVENT_DATA: usize = 1024;
/// Longest return data, in bytes.
pub const MAX_RETURN_LEN: usize = 4096;
/// Most bytes one [`resource_read`] copies.
pub const MAX_RESOURCE_CHUNK: usize = 65536;
/// Longest argument list an entry point declared with [`contract!`] reads.
pub const MAX_ARGS_LEN: usize = 4096;

/// The HostABI version this SDK binds (the host's `wes_ispc::HOSTABI_VERSION`).
pub const HOSTABI_VERSION: u32 = 1;

/// The raw HostABI v1 imports (module `wes`). Pointers and lengths are `i32` on the WASM side
/// (read as unsigned by the host); amounts, heights and offsets are `i64`. Every function is
/// `unsafe` only because it takes raw pointers: the host checks every range against the
/// memory and fails the call on a bad one. Prefer the safe wrappers at the crate root.
pub mod sys {
    /// The guest type of a table parameter type.
    macro_rules! guest_type {
        (ptr) => { *const u8 };
        (out) => { *mut u8 };
        (len) => { usize };
        (u32) => { u32 };
        (u64) => { u64 };
    }

    /// Expands the HostABI table into the `extern` block of the `wes` import module.
    #[cfg(target_arch = "wasm32")]
    macro_rules! host_functions {
        ($(
            $(#[$doc:meta])*
            fn $name:ident ( $($arg:ident : $ty:ident),* $(,)? ) $(-> $ret:ident)? {
                $($spec:tt)*
            }
        )*) => {
            #[link(wasm_import_module = "wes")]
            extern "C" {
                $(
                    $(#[$doc])*
                    pub fn $name($($arg: guest_type!($ty)),*) $(-> $ret)?;
                )*
            }
        };
    }

    /// Off WASM, expands the HostABI table into [`HostTable`] and one function per entry that
    /// forwards to the installed table.
    #[cfg(not(target_arch = "wasm32"))]
    macro_rules! host_functions {
        ($(
            $(#[$doc:meta])*
            fn $name:ident ( $($arg:ident : $ty:ident),* $(,)? ) $(-> $ret:ident)? {
                $($spec:tt)*
            }
        )*) => {
            /// The HostABI v1 functions as native function pointers, one field per function
            /// of the table. An off-chain host (`wes_ispc::offchain`) [`install`]s one, so that
            /// a contract compiled natively runs in `cargo test` with no WASM and no node.
            ///
            /// A host function that fails the call (`abort`, a bad argument, running out of
            /// compute units) must not return: the off-chain host unwinds to the entry point it
            /// called.
            #[derive(Clone, Copy)]
            pub struct HostTable {
                $(
                    $(#[$doc])*
                    pub $name: unsafe fn($(guest_type!($ty)),*) $(-> $ret)?,
                )*
            }

            $(
                $(#[$doc])*
                ///
                /// Off WASM: forwards to the installed [`HostTable`].
                ///
                /// # Safety
                ///
                /// Every pointer with its length (or the size the function reads or writes)
                /// must be a live range of memory, writable for results. Off WASM nothing
                /// checks it, unlike a WASM host.
                pub unsafe fn $name($($arg: guest_type!($ty)),*) $(-> $ret)? {
                    (installed().$name)($($arg),*)
                }
            )*
        };
    }

    /// The table installed by [`install`].
    #[cfg(not(target_arch = "wasm32"))]
    static HOST: core::sync::atomic::AtomicPtr<HostTable> =
        core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

    /// Off WASM: makes `table` the host that every `sys` function forwards to, for the whole
    /// process (an off-chain host keeps what differs between tests, such as the mock chain, per
    /// thread).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn install(table: &'static HostTable) {
        HOST.store(
            table as *const HostTable as *mut HostTable,
            core::sync::atomic::Ordering::Release,
        );
    }

    /// The installed table; panics if there is none.
    #[cfg(not(target_arch = "wasm32"))]
    fn installed() -> &'static HostTable {
        let table = HOST.load(core::sync::atomic::Ordering::Acquire);
        if table.is_null() {
            panic!("wes-contract: no WES host installed; run contracts off-chain through wes_ispc::offchain")
        }
        // SAFETY: only `install` stores a pointer, from a `&'static HostTable`.
        unsafe { &*table }
    }

    // The one table of HostABI v1 functions, shared with the host.
    include!("../../../src/host_abi_table.rs");
}

/// Declares a contract's entry points: functions of type `() -> ()` that read their arguments
/// with [`args`] and answer with [`set_return`].
///
/// In WASM each becomes an exported `extern "C"` function of its name. Off WASM each stays a
/// plain Rust function (a failing call unwinds out of it, which an `extern "C"` function may
/// not), and the macro adds `ENTRIES`, the entry points by name, which an off-chain host calls
/// (`wes_ispc::offchain`). Use it once per contract:
///
/// ```ignore
/// entries! {
///     /// `init()`: makes the caller the owner.
///     pub fn init() { state_set(b"owner", &caller()); }
///     /// `owner()`: returns the owner's address.
///     pub fn owner() {
///         let mut owner = [0u8; 32];
///         set_return(state_get(b"owner", &mut owner).unwrap_or(&[]));
///     }
/// }
/// ```
///
/// An entry point must not be named like a host function (`height`, `call`, `args`...): the
/// exported symbol would replace the import.
#[macro_export]
macro_rules! entries {
    ($( $(#[$meta:meta])* $vis:vis fn $name:ident () $body:block )*) => {
        $(
            $(#[$meta])*
            #[cfg(target_arch = "wasm32")]
            #[no_mangle]
            pub extern "C" fn $name() $body

            $(#[$meta])*
            #[cfg(not(target_arch = "wasm32"))]
            pub fn $name() $body
        )*

        /// This contract's entry points by name, for an off-chain host.
        #[cfg(not(target_arch = "wasm32"))]
        pub const ENTRIES: &[(&str, fn())] = &[$((stringify!($name), $name as fn())),*];
    };
}

// ---------------------------------------------------------------------------------------------
// Failing.

/// Fails the whole call (and every call above it) with `msg` (the host keeps the first 256
/// bytes). Nothing the call did is kept.
pub fn abort(msg: &str) -> ! {
    // SAFETY: `msg` is a valid range of our memory.
    unsafe { sys::abort(msg.as_ptr(), msg.len()) };
    // The host never returns from `abort`; trap in case it did.
    trap()
}

/// Executes the WASM `unreachable` instruction (off WASM, where an off-chain host's `abort`
/// never returns either, panics).
fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    panic!("wes-contract: the host returned from abort")
}

/// Aborts with `msg` unless `cond` holds.
pub fn require(cond: bool, msg: &str) {
    if !cond {
        abort(msg)
    }
}

/// Aborts with a message of up to 128 bytes made of `parts` concatenated, without formatting
/// machinery (longer messages are cut).
pub fn abort_with(parts: &[&str]) -> ! {
    let mut buf = [0u8; 128];
    let mut len = 0;
    for part in parts {
        for &b in part.as_bytes() {
            if len < buf.len() {
                buf[len] = b;
                len += 1;
            }
        }
    }
    // SAFETY: `buf[..len]` is a valid range of our memory (the host reads it lossily as UTF-8).
    unsafe { sys::abort(buf.as_ptr(), len) };
    trap()
}

/// The panic handler: any panic (index out of bounds, `unwrap` of `None`, ...) fails the call
/// with a fixed message. It never formats the panic message, which would pull `core::fmt`
/// (and with it float formatting) into the module.
#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    abort("contract panicked")
}

/// Converts a length returned by the host, aborting on a negative one.
fn host_len(len: i32, what: &str) -> usize {
    if len < 0 {
        abort_with(&[what, ": negative length from the host"])
    }
    len as usize
}

/// `&buf[..len]`, aborting with `"<what>: does not fit the buffer"` if it was cut.
fn fitted<'a>(buf: &'a [u8], len: usize, what: &str) -> &'a [u8] {
    if len > buf.len() {
        abort_with(&[what, ": does not fit the buffer"])
    }
    &buf[..len]
}

// ---------------------------------------------------------------------------------------------
// Context.

/// The height the call is made for (the transaction is never included before it).
pub fn height() -> u64 {
    // SAFETY: no arguments.
    unsafe { sys::height() }
}

/// The block time, in milliseconds since the Unix epoch, chosen by the transaction's
/// constructor. Verifiers cannot check it yet: treat it as a hint, not a fact.
pub fn time_ms() -> u64 {
    // SAFETY: no arguments.
    unsafe { sys::time_ms() }
}

/// The caller's address: the address of the lock of the transaction's first input (spent, so
/// authorised).
pub fn caller() -> Address {
    let mut a = [0u8; 32];
    // SAFETY: `a` is 32 writable bytes.
    unsafe { sys::caller(a.as_mut_ptr()) };
    a
}

/// The id of the executed contract (this one).
pub fn contract() -> ContractId {
    let mut a = [0u8; 32];
    // SAFETY: `a` is 32 writable bytes.
    unsafe { sys::contract(a.as_mut_ptr()) };
    a
}

/// The 32-byte id of this call (unique per call; usable as a nonce or a fresh identifier).
pub fn call_id() -> [u8; 32] {
    let mut a = [0u8; 32];
    // SAFETY: `a` is 32 writable bytes.
    unsafe { sys::call_id(a.as_mut_ptr()) };
    a
}

/// The length of the call's arguments.
pub fn args_len() -> usize {
    let mut none = [0u8; 0];
    // SAFETY: a zero-length copy into an empty buffer.
    host_len(unsafe { sys::args(none.as_mut_ptr(), 0) }, "args")
}

/// Copies the call's arguments into `buf` and returns them. Aborts if they are longer than
/// `buf`.
pub fn args(buf: &mut [u8]) -> &[u8] {
    // SAFETY: `buf` is `buf.len()` writable bytes.
    let len = host_len(unsafe { sys::args(buf.as_mut_ptr(), buf.len()) }, "args");
    fitted(buf, len, "args")
}

// ---------------------------------------------------------------------------------------------
// State.

/// Reads this contract's state under `key` (at most [`MAX_KEY_LEN`] bytes) into `buf`:
/// `None` if absent. Aborts if the value is longer than `buf`.
pub fn state_get<'a>(key: &[u8], buf: &'a mut [u8]) -> Option<&'a [u8]> {
    // SAFETY: valid ranges of our memory.
    let len = unsafe { sys::state_get(key.as_ptr(), key.len(), buf.as_mut_ptr(), buf.len()) };
    if len < 0 {
        return None;
    }
    Some(fitted(buf, len as usize, "state_get"))
}

/// Whether `key` has a value.
pub fn state_has(key: &[u8]) -> bool {
    let mut none = [0u8; 0];
    // SAFETY: valid ranges of our memory (a zero-length copy).
    unsafe { sys::state_get(key.as_ptr(), key.len(), none.as_mut_ptr(), 0) >= 0 }
}

/// Reads a `u64le` value under `key`: `None` if absent. Aborts if the value is not 8 bytes.
pub fn state_get_u64(key: &[u8]) -> Option<u64> {
    let mut buf = [0u8; 8];
    // SAFETY: valid ranges of our memory.
    let len = unsafe { sys::state_get(key.as_ptr(), key.len(), buf.as_mut_ptr(), 8) };
    if len < 0 {
        return None;
    }
    if len != 8 {
        abort("state_get_u64: the value is not 8 bytes")
    }
    Some(u64::from_le_bytes(buf))
}

/// Sets this contract's state under `key` (at most [`MAX_KEY_LEN`] bytes) to `value` (at most
/// [`MAX_VALUE_LEN`] bytes). The last value written in the call is kept.
pub fn state_set(key: &[u8], value: &[u8]) {
    // SAFETY: valid ranges of our memory.
    unsafe { sys::state_set(key.as_ptr(), key.len(), value.as_ptr(), value.len()) }
}

/// Sets the state under `key` to `value` as `u64le`.
pub fn state_set_u64(key: &[u8], value: u64) {
    state_set(key, &value.to_le_bytes())
}

/// Deletes this contract's state under `key` (its live output is spent and not replaced).
pub fn state_delete(key: &[u8]) {
    // SAFETY: a valid range of our memory.
    unsafe { sys::state_delete(key.as_ptr(), key.len()) }
}

// ---------------------------------------------------------------------------------------------
// UTXOs and outputs.

/// Reads the unspent output at `outpoint` (see [`outpoint`]) into `buf` as `enc(Output)`:
/// `None` if it is not unspent. Aborts if the encoding is longer than `buf`. Parse an asset
/// output with [`parse_asset_output`].
pub fn utxo_get<'a>(outpoint: &[u8; OUTPOINT_LEN], buf: &'a mut [u8]) -> Option<&'a [u8]> {
    // SAFETY: `outpoint` is 36 readable bytes, `buf` is `buf.len()` writable bytes.
    let len = unsafe { sys::utxo_get(outpoint.as_ptr(), buf.as_mut_ptr(), buf.len()) };
    if len < 0 {
        return None;
    }
    Some(fitted(buf, len as usize, "utxo_get"))
}

/// Spends the asset output at `outpoint`, which must be unspent and locked by
/// `Lock::contract(contract())`; its value becomes available to this call's outputs. Fails the
/// call otherwise.
pub fn utxo_spend(outpoint: &[u8; OUTPOINT_LEN]) {
    // SAFETY: `outpoint` is 36 readable bytes.
    unsafe { sys::utxo_spend(outpoint.as_ptr()) }
}

/// Creates an asset output of `amount` (> 0) of `token` (an encoded token, see
/// [`Token::encode`]) locked by `lock` (an encoded lock, see [`Lock`]). Its value must come from
/// the transaction's inputs or from [`utxo_spend`]: this never creates tokens, see [`mint_asset`].
pub fn output_asset(lock: &[u8], token: &[u8], amount: u64) {
    // SAFETY: valid ranges of our memory.
    unsafe {
        sys::output_asset(
            lock.as_ptr(),
            lock.len(),
            token.as_ptr(),
            token.len(),
            amount,
        )
    }
}

/// Mints `amount` (> 0) new units of this contract's token `Issued { contract(), tag }` into
/// an asset output locked by `lock` (an encoded lock). The only way tokens come into being.
pub fn mint_asset(lock: &[u8], tag: &[u8; 32], amount: u64) {
    // SAFETY: valid ranges of our memory.
    unsafe { sys::mint_asset(lock.as_ptr(), lock.len(), tag.as_ptr(), amount) }
}

/// What a resource is, for [`output_resource`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// A WebAssembly contract module (0).
    Wasm = 0,
    /// An ONNX model (1).
    Onnx = 1,
    /// Any other file (2).
    File = 2,
}

/// Creates an output registering the resource `id` (already stored in URES) as `kind`, named
/// `name` (at most 64 bytes), locked by `lock`.
pub fn output_resource(lock: &[u8], id: &ResourceId, kind: ResourceKind, name: &str) {
    // SAFETY: valid ranges of our memory; `id` is 32 readable bytes.
    unsafe {
        sys::output_resource(
            lock.as_ptr(),
            lock.len(),
            id.as_ptr(),
            kind as u32,
            name.as_ptr(),
            name.len(),
        )
    }
}

/// Fixed-point scale of [`model_infer`] values: `value = q / 2^MODEL_SCALE_BITS`.
pub const MODEL_SCALE_BITS: u32 = 8;

/// Runs the quantized network of ONNX model `model` on one row of fixed-point `input`
/// (`round(x·256)`), writing its outputs (same scale) into `out`; returns how many there are
/// (only the first `out.len()` are written). Deterministic: a verifier re-runs it on replay.
pub fn model_infer(model: &ResourceId, input: &[i32], out: &mut [i32]) -> usize {
    // SAFETY: `input` is `4·len` readable bytes and `out` `4·len` writable bytes; i32 is
    // little-endian on wasm32, which is the encoding the host reads and writes.
    let n = unsafe {
        sys::model_infer(
            model.as_ptr(),
            input.as_ptr() as *const u8,
            input.len() * 4,
            out.as_mut_ptr() as *mut u8,
            out.len() * 4,
        )
    };
    n as usize
}

/// The index of the first maximum of `values` (a classifier's class), `None` when empty.
pub fn argmax(values: &[i32]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, v) in values.iter().enumerate() {
        match best {
            Some(b) if values[b] >= *v => {}
            _ => best = Some(i),
        }
    }
    best
}

/// Reads the resource `id` from byte `offset` into `buf`: `None` if absent, else its total size
/// and the bytes copied (at most `buf.len()` and [`MAX_RESOURCE_CHUNK`], fewer near the end).
/// Loop with a growing `offset` to read a larger resource.
pub fn resource_read<'a>(
    id: &ResourceId,
    offset: u64,
    buf: &'a mut [u8],
) -> Option<(u64, &'a [u8])> {
    // SAFETY: `id` is 32 readable bytes, `buf` is `buf.len()` writable bytes.
    let size = unsafe { sys::resource_read(id.as_ptr(), offset, buf.as_mut_ptr(), buf.len()) };
    if size < 0 {
        return None;
    }
    let size = size as u64;
    let available = size.saturating_sub(offset);
    let mut n = buf.len();
    if n > MAX_RESOURCE_CHUNK {
        n = MAX_RESOURCE_CHUNK;
    }
    if (n as u64) > available {
        n = available as usize;
    }
    Some((size, &buf[..n]))
}

// ---------------------------------------------------------------------------------------------
// Events, return data, other contracts, the outside world.

/// Emits an event: `topic` (UTF-8, at most [`MAX_TOPIC_LEN`] bytes) and `data` (at most
/// [`MAX_EVENT_DATA`] bytes).
pub fn emit_event(topic: &str, data: &[u8]) {
    // SAFETY: valid ranges of our memory.
    unsafe { sys::emit_event(topic.as_ptr(), topic.len(), data.as_ptr(), data.len()) }
}

/// Sets the call's return data (at most [`MAX_RETURN_LEN`] bytes), replacing any earlier one.
pub fn set_return(data: &[u8]) {
    // SAFETY: a valid range of our memory.
    unsafe { sys::set_return(data.as_ptr(), data.len()) }
}

/// Sends `request` to the node's connector named `connector` and copies the response into
/// `buf`. Aborts if the response is longer than `buf`. The trace records the connector's
/// receipt, so verifiers replay the answer instead of asking again.
pub fn external_call<'a>(connector: &str, request: &[u8], buf: &'a mut [u8]) -> &'a [u8] {
    // SAFETY: valid ranges of our memory.
    let len = unsafe {
        sys::external_call(
            connector.as_ptr(),
            connector.len(),
            request.as_ptr(),
            request.len(),
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    fitted(buf, host_len(len, "external_call"), "external_call")
}

/// The key that signed the latest [`external_call`]'s receipt (its signature is checked by
/// every verifier), or `None` if it was unsigned or there was no call. Compare it with the
/// service's key to accept only authenticated answers.
pub fn external_signer() -> Option<[u8; 32]> {
    let mut key = [0u8; 32];
    // SAFETY: 32 writable bytes of our memory.
    if unsafe { sys::external_signer(key.as_mut_ptr()) } == 1 {
        Some(key)
    } else {
        None
    }
}

/// Calls the entry point `entry` of the contract deployed as resource `resource` with `args`,
/// and copies its return data into `buf`. Any failure of the callee fails this call too.
/// Aborts if the return data is longer than `buf`.
pub fn call<'a>(resource: &ResourceId, entry: &str, args: &[u8], buf: &'a mut [u8]) -> &'a [u8] {
    // SAFETY: valid ranges of our memory; `resource` is 32 readable bytes.
    let len = unsafe {
        sys::call(
            resource.as_ptr(),
            entry.as_ptr(),
            entry.len(),
            args.as_ptr(),
            args.len(),
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    fitted(buf, host_len(len, "call"), "call")
}
