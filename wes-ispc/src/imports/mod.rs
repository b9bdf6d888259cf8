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

type HostResult<T> = Result<T, WasmError>;

fn bad(call: &'static str, reason: impl Into<String>) -> WasmError {
    WasmError::HostCall {
        call,
        reason: reason.into(),
    }
}

fn read_mem(
    env: &FunctionEnvMut<Env>,
    call: &'static str,
    ptr: i32,
    len: i32,
    max: usize,
) -> HostResult<Vec<u8>> {
    let len = len as u32 as usize;
    if len > max {
        return Err(bad(call, format!("argument of {len} bytes, at most {max}")));
    }
    let memory = env
        .data()
        .memory
        .clone()
        .ok_or_else(|| WasmError::Engine("memory not bound".into()))?;
    let mut buf = vec![0u8; len];
    memory
        .view(env)
        .read(u64::from(ptr as u32), &mut buf)
        .map_err(|_| bad(call, "argument out of bounds"))?;
    Ok(buf)
}

fn read_array<const N: usize>(
    env: &FunctionEnvMut<Env>,
    call: &'static str,
    ptr: i32,
) -> HostResult<[u8; N]> {
    let bytes = read_mem(env, call, ptr, N as i32, N)?;
    bytes
        .try_into()
        .map_err(|_| WasmError::Engine("short read".into()))
}

fn read_outpoint(env: &FunctionEnvMut<Env>, call: &'static str, ptr: i32) -> HostResult<OutPoint> {
    let bytes = read_array::<36>(env, call, ptr)?;
    codec::decode(&bytes).map_err(|e| bad(call, format!("outpoint: {e}")))
}

fn write_mem(
    env: &FunctionEnvMut<Env>,
    call: &'static str,
    ptr: i32,
    data: &[u8],
) -> HostResult<()> {
    let memory = env
        .data()
        .memory
        .clone()
        .ok_or_else(|| WasmError::Engine("memory not bound".into()))?;
    memory
        .view(env)
        .write(u64::from(ptr as u32), data)
        .map_err(|_| bad(call, "result buffer out of bounds"))
}

/// Copies `min(len, cap)` bytes of `data` to `dst`.
fn copy_out(
    env: &FunctionEnvMut<Env>,
    call: &'static str,
    dst: i32,
    cap: i32,
    data: &[u8],
) -> HostResult<()> {
    let n = data.len().min(cap as u32 as usize);
    write_mem(env, call, dst, &data[..n])
}

/// Charges the cost of an entry from the metering points and appends it to the trace.
fn finish(
    env: &mut FunctionEnvMut<Env>,
    call: &'static str,
    input: Vec<u8>,
    output: Vec<u8>,
) -> HostResult<()> {
    finish_with(env, call, input, output, 0)
}

/// [`finish`] with `extra` compute units on top of the table's cost (a model's graph cost).
fn finish_with(
    env: &mut FunctionEnvMut<Env>,
    call: &'static str,
    input: Vec<u8>,
    output: Vec<u8>,
    extra: u64,
) -> HostResult<()> {
    let cu = HostState::cost(call, &input, &output).saturating_add(extra);
    let (data, mut store) = env.data_and_store_mut();
    let meter = meter(data)?;
    match meter.get(&mut store) {
        MeteringPoints::Remaining(left) if left >= cu => meter.set(&mut store, left - cu)?,
        _ => {
            meter.set(&mut store, 0)?;
            return Err(WasmError::OutOfCu { limit: 0 });
        }
    }
    data.host.record(TraceEntry {
        call: call.into(),
        input,
        output,
        cu,
    })
}

mod handlers;

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

/// Expands the table into [`link`]: each name to the handler of the same name.
macro_rules! host_functions {
    ($( $(#[$doc:meta])* fn $name:ident ( $($params:tt)* ) $(-> $ret:ident)? { $($spec:tt)* } )*) => {
        /// The host function `name` of the table, bound to `env`.
        fn link(name: &str, store: &mut Store, env: &FunctionEnv<Env>) -> Option<Function> {
            $(
                if name == stringify!($name) {
                    return Some(Function::new_typed_with_env(store, env, handlers::$name));
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
