//! The wasmer glue of HostABI v1: one host function per ABI entry, each reading its arguments
//! from guest memory, doing its bookkeeping in [`HostState`], charging its cost and appending
//! its trace entry.

use std::sync::Arc;

use wasmer::{
    AsStoreMut, Function, FunctionEnv, FunctionEnvMut, Global, Imports, Instance, Memory, Store,
    Value,
};
use wasmer_middlewares::metering::MeteringPoints;
use wes_core::{ContentId, Hash, OutPoint, SharedView, TraceEntry, codec};

use crate::connector::{ConnectorReceipt, ExternalOp, MAX_CONNECTOR_NAME, MAX_EXTERNAL_PAYLOAD};
use crate::error::WasmError;
use crate::executor::{Shared, call_instance};
use crate::host::{
    HOST_MODULE, HostState, MAX_ABORT_LEN, MAX_CALL_ARGS, MAX_ENCODED_ARG, MAX_ENTRY_LEN,
    MAX_EVENT_DATA, MAX_KEY_LEN, MAX_RESOURCE_NAME, MAX_RESOURCE_READ, MAX_RETURN_LEN,
    MAX_TOPIC_LEN, MAX_VALUE_LEN,
};

/// The data host functions see.
pub(crate) struct Env {
    pub host: HostState,
    /// The chain the execution reads.
    pub view: SharedView,
    pub shared: Arc<Shared>,
    pub memory: Option<Memory>,
    pub meter: Option<Meter>,
}

/// The metering middleware's two globals of one instance, looked up once (the middleware's
/// own accessors look them up by name, and cloning the instance clones its exports, on every
/// host call).
#[derive(Clone)]
pub(crate) struct Meter {
    remaining: Global,
    exhausted: Global,
}

impl Meter {
    /// The metering globals of `instance`.
    pub fn of(instance: &Instance) -> Result<Self, WasmError> {
        let global = |name: &str| {
            instance
                .exports
                .get_global(name)
                .cloned()
                .map_err(|_| WasmError::Engine(format!("metering global {name} missing")))
        };
        Ok(Meter {
            remaining: global("wasmer_metering_remaining_points")?,
            exhausted: global("wasmer_metering_points_exhausted")?,
        })
    }

    /// The points left.
    pub fn get(&self, store: &mut impl AsStoreMut) -> MeteringPoints {
        if matches!(self.exhausted.get(store), Value::I32(e) if e > 0) {
            return MeteringPoints::Exhausted;
        }
        match self.remaining.get(store) {
            Value::I64(points) => MeteringPoints::Remaining(points as u64),
            _ => MeteringPoints::Exhausted,
        }
    }

    /// Sets the points left (and clears exhaustion).
    pub fn set(&self, store: &mut impl AsStoreMut, points: u64) -> Result<(), WasmError> {
        self.remaining
            .set(store, Value::I64(points as i64))
            .and_then(|()| self.exhausted.set(store, Value::I32(0)))
            .map_err(|e| WasmError::Engine(format!("metering: {e}")))
    }
}

fn meter(data: &Env) -> HostResult<Meter> {
    data.meter
        .clone()
        .ok_or_else(|| WasmError::Engine("instance not bound".into()))
}

pub(crate) type HostResult<T> = Result<T, WasmError>;

fn bad(call: &'static str, reason: impl Into<String>) -> WasmError {
    WasmError::HostCall {
        call,
        reason: reason.into(),
    }
}

/// What the HostABI handlers need of the engine running the guest: its memory, its
/// compute-unit meter, and a way to run a nested call. The handlers (`handlers.rs`) are
/// written once against it; [`WasmGuest`] runs them for a wasmer instance and
/// [`crate::offchain`] for a contract compiled natively.
///
/// Pointers and lengths are the guest's, widened to `u64`.
pub(crate) trait Guest {
    /// What a nested call runs, found before the callee's frame is pushed.
    type Callee;

    /// The execution's host state, the chain it reads, and what its executor shares.
    fn parts(&mut self) -> (&mut HostState, &SharedView, &Arc<Shared>);

    /// The execution's host state.
    fn host(&self) -> &HostState;

    /// `len` bytes of guest memory at `ptr`; an error if `len > max` or out of bounds.
    fn read(&self, call: &'static str, ptr: u64, len: u64, max: usize) -> HostResult<Vec<u8>>;

    /// Writes `data` to guest memory at `ptr`.
    fn write(&mut self, call: &'static str, ptr: u64, data: &[u8]) -> HostResult<()>;

    /// The compute units left.
    fn points(&mut self) -> HostResult<MeteringPoints>;

    /// Sets the compute units left.
    fn set_points(&mut self, points: u64) -> HostResult<()>;

    /// The contract deployed as `resource`, ready to run.
    fn callee(&mut self, resource: &ContentId) -> HostResult<Self::Callee>;

    /// Runs `entry` of `callee` with `budget` compute units, its frame already pushed on the
    /// host state: the outcome and the units left.
    fn run_callee(
        &mut self,
        callee: Self::Callee,
        entry: &str,
        budget: u64,
    ) -> (Result<(), WasmError>, u64);
}

/// A wasmer host function's view of its instance.
pub(crate) struct WasmGuest<'a>(pub FunctionEnvMut<'a, Env>);

impl Guest for WasmGuest<'_> {
    type Callee = Arc<crate::executor::Compiled>;

    fn parts(&mut self) -> (&mut HostState, &SharedView, &Arc<Shared>) {
        let data = self.0.data_mut();
        (&mut data.host, &data.view, &data.shared)
    }

    fn host(&self) -> &HostState {
        &self.0.data().host
    }

    fn read(&self, call: &'static str, ptr: u64, len: u64, max: usize) -> HostResult<Vec<u8>> {
        if len > max as u64 {
            return Err(bad(call, format!("argument of {len} bytes, at most {max}")));
        }
        let memory = self
            .0
            .data()
            .memory
            .clone()
            .ok_or_else(|| WasmError::Engine("memory not bound".into()))?;
        let mut buf = vec![0u8; len as usize];
        memory
            .view(&self.0)
            .read(ptr, &mut buf)
            .map_err(|_| bad(call, "argument out of bounds"))?;
        Ok(buf)
    }

    fn write(&mut self, call: &'static str, ptr: u64, data: &[u8]) -> HostResult<()> {
        let memory = self
            .0
            .data()
            .memory
            .clone()
            .ok_or_else(|| WasmError::Engine("memory not bound".into()))?;
        memory
            .view(&self.0)
            .write(ptr, data)
            .map_err(|_| bad(call, "result buffer out of bounds"))
    }

    fn points(&mut self) -> HostResult<MeteringPoints> {
        let (data, mut store) = self.0.data_and_store_mut();
        Ok(meter(data)?.get(&mut store))
    }

    fn set_points(&mut self, points: u64) -> HostResult<()> {
        let (data, mut store) = self.0.data_and_store_mut();
        meter(data)?.set(&mut store, points)
    }

    fn callee(&mut self, resource: &ContentId) -> HostResult<Self::Callee> {
        let data = self.0.data_mut();
        let code = data
            .host
            .resource(resource, data.view.as_ref())?
            .ok_or(WasmError::ResourceUnavailable(*resource))?;
        data.shared.compiled(resource, &code)
    }

    fn run_callee(
        &mut self,
        callee: Self::Callee,
        entry: &str,
        budget: u64,
    ) -> (Result<(), WasmError>, u64) {
        // The callee runs in its own store and instance, with the execution's host state moved
        // in, its chain view shared, and `budget` points.
        let data = self.0.data_mut();
        let host = std::mem::take(&mut data.host);
        let run = call_instance(
            &data.shared.clone(),
            &callee,
            entry,
            host,
            data.view.clone(),
            budget,
        );
        data.host = run.host;
        (run.result, run.left)
    }
}

fn read_array<const N: usize>(g: &impl Guest, call: &'static str, ptr: u64) -> HostResult<[u8; N]> {
    let bytes = g.read(call, ptr, N as u64, N)?;
    bytes
        .try_into()
        .map_err(|_| WasmError::Engine("short read".into()))
}

fn read_outpoint(g: &impl Guest, call: &'static str, ptr: u64) -> HostResult<OutPoint> {
    let bytes = read_array::<36>(g, call, ptr)?;
    codec::decode(&bytes).map_err(|e| bad(call, format!("outpoint: {e}")))
}

/// Copies `min(len, cap)` bytes of `data` to `dst`.
fn copy_out(
    g: &mut impl Guest,
    call: &'static str,
    dst: u64,
    cap: u64,
    data: &[u8],
) -> HostResult<()> {
    let n = data.len().min(usize::try_from(cap).unwrap_or(usize::MAX));
    g.write(call, dst, &data[..n])
}

/// Charges the cost of an entry from the compute units left and appends it to the trace.
fn finish(
    g: &mut impl Guest,
    call: &'static str,
    input: Vec<u8>,
    output: Vec<u8>,
) -> HostResult<()> {
    finish_with(g, call, input, output, 0)
}

/// [`finish`] with `extra` compute units on top of the table's cost (a model's graph cost).
fn finish_with(
    g: &mut impl Guest,
    call: &'static str,
    input: Vec<u8>,
    output: Vec<u8>,
    extra: u64,
) -> HostResult<()> {
    let cu = HostState::cost(call, &input, &output).saturating_add(extra);
    charge(g, cu)?;
    g.parts().0.record(TraceEntry {
        call: call.into(),
        input,
        output,
        cu,
    })
}

/// Takes `cu` compute units, or fails with all of them spent.
fn charge(g: &mut impl Guest, cu: u64) -> HostResult<()> {
    match g.points()? {
        MeteringPoints::Remaining(left) if left >= cu => g.set_points(left - cu),
        _ => {
            g.set_points(0)?;
            Err(WasmError::OutOfCu { limit: 0 })
        }
    }
}

pub(crate) mod handlers;

/// The HostABI v1 import object for one instance: only the functions in `names` (the module's
/// imports) are created, since creating host functions is a large part of a short call.
/// Validation admits only names of the table, and every one of them links.
pub(crate) fn host_imports(store: &mut Store, env: &FunctionEnv<Env>, names: &[&str]) -> Imports {
    let mut imports = Imports::new();
    for name in names {
        if let Some(f) = link(name, store, env) {
            imports.define(HOST_MODULE, name, f);
        }
    }
    imports
}

/// The WASM type of a table parameter type.
macro_rules! wasm_type {
    (ptr) => {
        i32
    };
    (out) => {
        i32
    };
    (len) => {
        i32
    };
    (u32) => {
        i32
    };
    (u64) => {
        i64
    };
}

/// A WASM argument as the handlers take it: pointers and lengths read as unsigned and
/// widened to `u64`.
macro_rules! widen {
    (ptr, $v:ident) => {
        u64::from($v as u32)
    };
    (out, $v:ident) => {
        u64::from($v as u32)
    };
    (len, $v:ident) => {
        u64::from($v as u32)
    };
    (u32, $v:ident) => {
        $v as u32
    };
    (u64, $v:ident) => {
        $v as u64
    };
}

/// A handler's result as WASM returns it (`u64` as `i64`).
trait IntoWasm {
    type Wasm;
    fn into_wasm(self) -> Self::Wasm;
}

impl IntoWasm for () {
    type Wasm = ();
    fn into_wasm(self) {}
}

impl IntoWasm for i32 {
    type Wasm = i32;
    fn into_wasm(self) -> i32 {
        self
    }
}

impl IntoWasm for i64 {
    type Wasm = i64;
    fn into_wasm(self) -> i64 {
        self
    }
}

impl IntoWasm for u64 {
    type Wasm = i64;
    fn into_wasm(self) -> i64 {
        self as i64
    }
}

/// Expands the table into [`link`]: each name to the handler of the same name, behind a
/// function of the table's WASM type.
macro_rules! host_functions {
    ($(
        $(#[$doc:meta])*
        fn $name:ident ( $($arg:ident : $ty:ident),* $(,)? ) $(-> $ret:ident)? { $($spec:tt)* }
    )*) => {
        /// The host function `name` of the table, bound to `env`.
        fn link(name: &str, store: &mut Store, env: &FunctionEnv<Env>) -> Option<Function> {
            $(
                if name == stringify!($name) {
                    return Some(Function::new_typed_with_env(
                        store,
                        env,
                        |env: FunctionEnvMut<Env>, $($arg: wasm_type!($ty)),*| {
                            handlers::$name(&mut WasmGuest(env), $(widen!($ty, $arg)),*)
                                .map(IntoWasm::into_wasm)
                        },
                    ));
                }
            )*
            None
        }
    };
}

include!("../host_abi_table.rs");

#[cfg(test)]
mod tests {
    use wasmer::Type;

    use super::*;
    use crate::executor::WasmExecutor;
    use crate::host::{HOST_FUNCTIONS, HostState, NoChain};

    fn letters(types: &[Type]) -> String {
        types
            .iter()
            .map(|t| match t {
                Type::I32 => 'i',
                Type::I64 => 'I',
                other => panic!("host functions take only i32 and i64, not {other:?}"),
            })
            .collect()
    }

    /// Linking comes from the same table as validation: every function of the table links, to
    /// a handler whose WASM type is the one validation demands of importing modules.
    #[test]
    fn every_function_of_the_table_links_with_the_tables_type() {
        let executor = WasmExecutor::default();
        let mut store = Store::default();
        let env = FunctionEnv::new(
            &mut store,
            Env {
                host: HostState::default(),
                view: NoChain::shared(),
                shared: executor.shared().clone(),
                memory: None,
                meter: None,
            },
        );
        for f in HOST_FUNCTIONS {
            let linked = link(f.name, &mut store, &env)
                .unwrap_or_else(|| panic!("{} does not link", f.name));
            let ty = linked.ty(&store);
            assert_eq!(
                (letters(ty.params()), letters(ty.results())),
                (f.params.to_string(), f.results.to_string()),
                "{}: the handler's type is not the table's",
                f.name
            );
        }
        assert!(link("not_a_host_function", &mut store, &env).is_none());
    }
}
