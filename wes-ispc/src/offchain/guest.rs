//! The native side of the HostABI: the [`HostTable`] the guest SDK forwards to, and the
//! [`Guest`] its handlers run against, whose memory is the process's own.
//!
//! `unsafe` is allowed here, and only here outside `tunables`: a natively compiled contract
//! hands the host raw pointers into its own memory, as its WASM build hands offsets, and the
//! host functions of the SDK's table are `unsafe fn`s. The pointers come from the SDK's safe
//! wrappers, which pass live slices.

#![allow(unsafe_code)]

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;

use wasmer_middlewares::metering::MeteringPoints;
use wes_contract::sys::HostTable;
use wes_core::{ContentId, SharedView};

use crate::error::WasmError;
use crate::executor::Shared;
use crate::host::HostState;
use crate::imports::{Guest, HostResult, handlers};

/// A natively compiled contract: its entry points by name (`ENTRIES` of `entries!`).
pub(crate) type Entries = &'static [(&'static str, fn())];

/// The contracts a [`TestChain`](super::TestChain) runs, by resource id.
pub(crate) type Contracts = Arc<HashMap<ContentId, Entries>>;

/// One running call (a top-level call or a nested one): what its host functions work on.
pub(crate) struct NativeGuest {
    pub host: HostState,
    pub view: SharedView,
    pub shared: Arc<Shared>,
    /// Compute units left.
    pub left: u64,
    pub contracts: Contracts,
}

/// How a failing host function leaves the contract: unwinding to [`run_entry`], which returns
/// the error.
struct Trap(WasmError);

thread_local! {
    /// The guest whose entry point this thread is running (null when none).
    static CURRENT: Cell<*mut NativeGuest> = const { Cell::new(std::ptr::null_mut()) };
}

/// Runs `entry` with `guest` answering its host calls: the error of the host call that failed
/// it, or `Abort("contract panicked")` if the contract panicked, as its WASM build would.
pub(crate) fn run_entry(guest: &mut NativeGuest, entry: fn()) -> Result<(), WasmError> {
    let outer = CURRENT.with(|c| c.replace(guest as *mut NativeGuest));
    let result = catch_unwind(AssertUnwindSafe(entry));
    CURRENT.with(|c| c.set(outer));
    result.map_err(|payload| match payload.downcast::<Trap>() {
        Ok(trap) => trap.0,
        Err(_) => WasmError::Abort("contract panicked".into()),
    })
}

/// Runs `f` on the current guest; a failure unwinds to [`run_entry`].
fn with_guest<T>(f: impl FnOnce(&mut NativeGuest) -> HostResult<T>) -> T {
    let guest = CURRENT.with(Cell::get);
    if guest.is_null() {
        panic!("a WES host function was called outside TestChain::call");
    }
    // SAFETY: `run_entry` set it to a guest that outlives the entry's run on this thread,
    // and a nested call swaps in its own guest for the callee's run, so nothing else uses
    // this one meanwhile.
    let guest = unsafe { &mut *guest };
    // A panic in the host (a scripted connector's answer, say) is the host's failure, not
    // the contract's: it must not read as "contract panicked".
    let result = catch_unwind(AssertUnwindSafe(|| f(guest))).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(WasmError::Engine(format!(
            "off-chain host panicked: {what}"
        )))
    });
    match result {
        Ok(value) => value,
        Err(e) => resume_unwind(Box::new(Trap(e))),
    }
}

impl Guest for NativeGuest {
    type Callee = Entries;

    fn parts(&mut self) -> (&mut HostState, &SharedView, &Arc<Shared>) {
        (&mut self.host, &self.view, &self.shared)
    }

    fn host(&self) -> &HostState {
        &self.host
    }

    fn read(&self, call: &'static str, ptr: u64, len: u64, max: usize) -> HostResult<Vec<u8>> {
        if len > max as u64 {
            return Err(bad(call, format!("argument of {len} bytes, at most {max}")));
        }
        if len == 0 {
            return Ok(Vec::new());
        }
        if ptr == 0 {
            return Err(bad(call, "argument out of bounds"));
        }
        // SAFETY: the guest SDK passes pointers and lengths of live slices of the contract's
        // own memory (raw `sys` calls with bad ranges are the caller's undefined behaviour,
        // as with any `unsafe fn`).
        Ok(unsafe { std::slice::from_raw_parts(ptr as usize as *const u8, len as usize) }.to_vec())
    }

    fn write(&mut self, call: &'static str, ptr: u64, data: &[u8]) -> HostResult<()> {
        if data.is_empty() {
            return Ok(());
        }
        if ptr == 0 {
            return Err(bad(call, "result buffer out of bounds"));
        }
        // SAFETY: as in `read`; the handlers write at most the capacity the guest gave.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), ptr as usize as *mut u8, data.len())
        };
        Ok(())
    }

    fn points(&mut self) -> HostResult<MeteringPoints> {
        Ok(MeteringPoints::Remaining(self.left))
    }

    fn set_points(&mut self, points: u64) -> HostResult<()> {
        self.left = points;
        Ok(())
    }

    fn callee(&mut self, resource: &ContentId) -> HostResult<Self::Callee> {
        self.contracts
            .get(resource)
            .copied()
            .ok_or(WasmError::ResourceUnavailable(*resource))
    }

    fn run_callee(
        &mut self,
        callee: Self::Callee,
        entry: &str,
        budget: u64,
    ) -> (Result<(), WasmError>, u64) {
        let Some(function) = find_entry(callee, entry) else {
            return (Err(WasmError::NoEntry(entry.chars().take(64).collect())), 0);
        };
        let mut guest = NativeGuest {
            host: std::mem::take(&mut self.host),
            view: self.view.clone(),
            shared: self.shared.clone(),
            left: budget,
            contracts: self.contracts.clone(),
        };
        let result = run_entry(&mut guest, function);
        self.host = guest.host;
        let left = if result.is_ok() { guest.left } else { 0 };
        (result, left)
    }
}

/// The entry point `name` of `entries`.
pub(crate) fn find_entry(entries: Entries, name: &str) -> Option<fn()> {
    entries.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

fn bad(call: &'static str, reason: impl Into<String>) -> WasmError {
    WasmError::HostCall {
        call,
        reason: reason.into(),
    }
}

/// The native type of a table parameter type, as the guest SDK declares it.
macro_rules! native_type {
    (ptr) => { *const u8 };
    (out) => { *mut u8 };
    (len) => { usize };
    (u32) => { u32 };
    (u64) => { u64 };
}

/// A native argument as the handlers take it.
macro_rules! widen {
    (ptr, $v:ident) => {
        $v as usize as u64
    };
    (out, $v:ident) => {
        $v as usize as u64
    };
    (len, $v:ident) => {
        $v as u64
    };
    (u32, $v:ident) => {
        $v
    };
    (u64, $v:ident) => {
        $v
    };
}

/// Expands the table into [`TABLE`]: one function per entry, running the handler of the same
/// name on the current guest.
macro_rules! host_functions {
    ($(
        $(#[$doc:meta])*
        fn $name:ident ( $($arg:ident : $ty:ident),* $(,)? ) $(-> $ret:ident)? { $($spec:tt)* }
    )*) => {
        mod shims {
            use super::*;
            $(
                pub(super) unsafe fn $name($($arg: native_type!($ty)),*) $(-> $ret)? {
                    with_guest(|g| handlers::$name(g, $(widen!($ty, $arg)),*))
                }
            )*
        }

        /// The HostABI v1 table the guest SDK forwards to off WASM.
        pub(crate) static TABLE: HostTable = HostTable { $($name: shims::$name),* };
    };
}

include!("../host_abi_table.rs");
