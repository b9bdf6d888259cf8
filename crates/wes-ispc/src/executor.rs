//! [`WasmExecutor`]: contracts compiled by Cranelift, metered deterministically, run against
//! HostABI v1.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, mpsc};

use wasmer::sys::{CompilerConfig, Cranelift, EngineBuilder};
use wasmer::wasmparser::Operator;
use wasmer::{
    Engine, Function, FunctionEnv, FunctionEnvMut, Instance, Memory, Module, Store, imports,
};
use wasmer_middlewares::Metering;
use wasmer_middlewares::metering::{MeteringPoints, get_remaining_points, set_remaining_points};
use wes_core::{
    ChainView, ContentId, ContractId, ExecutionOutcome, ExecutionRequest, Executor, OutPoint,
    Output, ResourceKind, TraceEntry, ViewError, codec,
};

use crate::error::WasmError;
use crate::host::{
    HostContext, HostState, MAX_ABORT_LEN, MAX_ENCODED_ARG, MAX_EVENT_DATA, MAX_KEY_LEN,
    MAX_RETURN_LEN, MAX_TOPIC_LEN, MAX_VALUE_LEN, StateSource,
};
use crate::validate::{ModuleFacts, WasmLimits, validate_module};

/// The compute-unit cost of one WASM operator. Charged by the metering middleware per basic
/// block, before the block runs:
///
/// | operators | CU |
/// |---|---|
/// | `call` | 5 |
/// | `call_indirect` | 10 |
/// | integer `div`/`rem` | 4 |
/// | loads and stores | 2 |
/// | `memory.grow` | 1000 |
/// | everything else | 1 |
pub fn operator_cost(op: &Operator) -> u64 {
    use Operator::*;
    match op {
        Call { .. } => 5,
        CallIndirect { .. } => 10,
        I32DivS | I32DivU | I32RemS | I32RemU | I64DivS | I64DivU | I64RemS | I64RemU => 4,
        I32Load { .. }
        | I64Load { .. }
        | I32Load8S { .. }
        | I32Load8U { .. }
        | I32Load16S { .. }
        | I32Load16U { .. }
        | I64Load8S { .. }
        | I64Load8U { .. }
        | I64Load16S { .. }
        | I64Load16U { .. }
        | I64Load32S { .. }
        | I64Load32U { .. }
        | I32Store { .. }
        | I64Store { .. }
        | I32Store8 { .. }
        | I32Store16 { .. }
        | I64Store8 { .. }
        | I64Store16 { .. }
        | I64Store32 { .. } => 2,
        MemoryGrow { .. } => 1000,
        _ => 1,
    }
}

/// A compiled module: its own engine (one metering middleware per compile) and module.
struct Compiled {
    engine: Engine,
    module: Module,
    facts: ModuleFacts,
}

/// A small LRU of compiled modules keyed by resource id.
#[derive(Default)]
struct Cache {
    map: HashMap<ContentId, Arc<Compiled>>,
    order: VecDeque<ContentId>,
}

/// Runs WASM contracts: Cranelift, the metering middleware with [`operator_cost`], HostABI v1
/// (see `HOSTABI.md`), and a cache of compiled modules by resource id.
///
/// Every call gets a fresh instance with `cu_limit` metering points; host calls draw from the
/// same points. An instance is never reused, so a trap cannot leak state or points.
pub struct WasmExecutor {
    limits: WasmLimits,
    cache: Mutex<Cache>,
}

impl Default for WasmExecutor {
    fn default() -> Self {
        Self::new(WasmLimits::default())
    }
}

impl std::fmt::Debug for WasmExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmExecutor")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Answers state reads from a chain view living on another thread (the view is borrowed, and
/// host functions need `'static` data).
struct ChannelSource {
    requests: mpsc::Sender<(ContractId, Vec<u8>)>,
    answers: mpsc::Receiver<Result<Option<(OutPoint, Output)>, ViewError>>,
}

impl StateSource for ChannelSource {
    fn state(
        &mut self,
        contract: &ContractId,
        key: &[u8],
    ) -> Result<Option<(OutPoint, Output)>, ViewError> {
        self.requests
            .send((*contract, key.to_vec()))
            .map_err(|_| ViewError("state reader thread ended".into()))?;
        self.answers
            .recv()
            .map_err(|_| ViewError("state reader thread ended".into()))?
    }
}

/// For modules that import no state function.
struct NoState;

impl StateSource for NoState {
    fn state(&mut self, _: &ContractId, _: &[u8]) -> Result<Option<(OutPoint, Output)>, ViewError> {
        Err(ViewError("module does not import state functions".into()))
    }
}

/// The data host functions see.
struct Env {
    host: HostState,
    source: Box<dyn StateSource + Send>,
    memory: Option<Memory>,
    instance: Option<Instance>,
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

/// Charges `entry`'s cost from the metering points and appends it to the trace.
fn finish(
    env: &mut FunctionEnvMut<Env>,
    call: &'static str,
    input: Vec<u8>,
    output: Vec<u8>,
) -> HostResult<()> {
    let cu = HostState::cost(call, &input, &output);
    let (data, mut store) = env.data_and_store_mut();
    let instance = data
        .instance
        .clone()
        .ok_or_else(|| WasmError::Engine("instance not bound".into()))?;
    match get_remaining_points(&mut store, &instance) {
        MeteringPoints::Remaining(left) if left >= cu => {
            set_remaining_points(&mut store, &instance, left - cu);
        }
        _ => {
            set_remaining_points(&mut store, &instance, 0);
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

fn h_height(mut env: FunctionEnvMut<Env>) -> HostResult<i64> {
    let h = env.data().host.ctx.height;
    finish(&mut env, "height", vec![], h.to_le_bytes().to_vec())?;
    Ok(h as i64)
}

fn h_time_ms(mut env: FunctionEnvMut<Env>) -> HostResult<i64> {
    let t = if env.data().host.expected.is_some() {
        let out = env.data().host.recorded_output("time_ms")?;
        let bytes: [u8; 8] = out
            .as_slice()
            .try_into()
            .map_err(|_| WasmError::TraceMismatch {
                index: env.data().host.trace.len(),
                reason: "time_ms output is not 8 bytes".into(),
            })?;
        u64::from_le_bytes(bytes)
    } else {
        env.data().host.ctx.time_ms
    };
    finish(&mut env, "time_ms", vec![], t.to_le_bytes().to_vec())?;
    Ok(t as i64)
}

fn h_caller(mut env: FunctionEnvMut<Env>, dst: i32) -> HostResult<()> {
    let a = env.data().host.ctx.caller.0.0;
    finish(&mut env, "caller", vec![], a.to_vec())?;
    write_mem(&env, "caller", dst, &a)
}

fn h_contract(mut env: FunctionEnvMut<Env>, dst: i32) -> HostResult<()> {
    let c = env.data().host.ctx.contract.0.0;
    finish(&mut env, "contract", vec![], c.to_vec())?;
    write_mem(&env, "contract", dst, &c)
}

fn h_args(mut env: FunctionEnvMut<Env>, dst: i32, cap: i32) -> HostResult<i32> {
    let args = env.data().host.args.clone();
    let n = args.len().min(cap as u32 as usize);
    let mut output = (args.len() as u32).to_le_bytes().to_vec();
    output.extend_from_slice(&args[..n]);
    finish(
        &mut env,
        "args",
        (cap as u32).to_le_bytes().to_vec(),
        output,
    )?;
    write_mem(&env, "args", dst, &args[..n])?;
    Ok(args.len() as i32)
}

fn h_state_get(
    mut env: FunctionEnvMut<Env>,
    kp: i32,
    kl: i32,
    dst: i32,
    cap: i32,
) -> HostResult<i32> {
    let key = read_mem(&env, "state_get", kp, kl, MAX_KEY_LEN)?;
    let data = env.data_mut();
    let value = data.host.state_get(&key, data.source.as_mut())?;
    let mut input = (cap as u32).to_le_bytes().to_vec();
    input.extend_from_slice(&key);
    let output = match &value {
        None => vec![0],
        Some(v) => [&[1u8][..], v].concat(),
    };
    finish(&mut env, "state_get", input, output)?;
    match value {
        None => Ok(-1),
        Some(v) => {
            let n = v.len().min(cap as u32 as usize);
            write_mem(&env, "state_get", dst, &v[..n])?;
            Ok(v.len() as i32)
        }
    }
}

fn h_state_set(mut env: FunctionEnvMut<Env>, kp: i32, kl: i32, vp: i32, vl: i32) -> HostResult<()> {
    let key = read_mem(&env, "state_set", kp, kl, MAX_KEY_LEN)?;
    let value = read_mem(&env, "state_set", vp, vl, MAX_VALUE_LEN)?;
    let data = env.data_mut();
    data.host.state_set(&key, &value, data.source.as_mut())?;
    finish(&mut env, "state_set", codec::encode(&(key, value)), vec![])
}

fn h_output_asset(
    mut env: FunctionEnvMut<Env>,
    lp: i32,
    ll: i32,
    tp: i32,
    tl: i32,
    amount: i64,
) -> HostResult<()> {
    let lock = read_mem(&env, "output_asset", lp, ll, MAX_ENCODED_ARG)?;
    let token = read_mem(&env, "output_asset", tp, tl, MAX_ENCODED_ARG)?;
    env.data_mut()
        .host
        .output_asset(&lock, &token, amount as u64)?;
    finish(
        &mut env,
        "output_asset",
        codec::encode(&(lock, token, amount as u64)),
        vec![],
    )
}

fn h_emit_event(
    mut env: FunctionEnvMut<Env>,
    tp: i32,
    tl: i32,
    dp: i32,
    dl: i32,
) -> HostResult<()> {
    let topic = read_mem(&env, "emit_event", tp, tl, MAX_TOPIC_LEN)?;
    let data = read_mem(&env, "emit_event", dp, dl, MAX_EVENT_DATA)?;
    env.data_mut().host.emit_event(&topic, &data)?;
    finish(
        &mut env,
        "emit_event",
        codec::encode(&(topic, data)),
        vec![],
    )
}

fn h_set_return(mut env: FunctionEnvMut<Env>, p: i32, l: i32) -> HostResult<()> {
    let data = read_mem(&env, "set_return", p, l, MAX_RETURN_LEN)?;
    env.data_mut().host.set_return(&data)?;
    finish(&mut env, "set_return", data, vec![])
}

fn h_abort(env: FunctionEnvMut<Env>, p: i32, l: i32) -> HostResult<()> {
    let l = (l as u32).min(MAX_ABORT_LEN as u32) as i32;
    let msg = read_mem(&env, "abort", p, l, MAX_ABORT_LEN)?;
    Err(WasmError::Abort(String::from_utf8_lossy(&msg).into_owned()))
}

impl WasmExecutor {
    /// An executor with these limits.
    pub fn new(limits: WasmLimits) -> Self {
        WasmExecutor {
            limits,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &WasmLimits {
        &self.limits
    }

    /// How many compiled modules the cache holds.
    pub fn cached_modules(&self) -> usize {
        self.cache.lock().map(|c| c.map.len()).unwrap_or(0)
    }

    fn compile(&self, code: &[u8]) -> Result<Compiled, WasmError> {
        let facts = validate_module(code, &self.limits)?;
        let mut compiler = Cranelift::default();
        compiler.canonicalize_nans(true);
        // One metering middleware per compile: it must not be shared between modules. The
        // initial limit is 0 (nothing runs before the call's limit is set).
        compiler.push_middleware(Arc::new(Metering::new(0, operator_cost)));
        let engine: Engine = EngineBuilder::new(compiler).into();
        let module = Module::new(&engine, code).map_err(|e| WasmError::Engine(e.to_string()))?;
        Ok(Compiled {
            engine,
            module,
            facts,
        })
    }

    fn compiled(&self, id: &ContentId, code: &[u8]) -> Result<Arc<Compiled>, WasmError> {
        {
            let mut cache = self
                .cache
                .lock()
                .map_err(|_| WasmError::Engine("module cache poisoned".into()))?;
            if let Some(c) = cache.map.get(id).cloned() {
                cache.order.retain(|x| x != id);
                cache.order.push_back(*id);
                return Ok(c);
            }
        }
        // Compile outside the lock; two threads may compile the same module once each.
        let compiled = Arc::new(self.compile(code)?);
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| WasmError::Engine("module cache poisoned".into()))?;
        if self.limits.cache_capacity > 0 {
            if cache.map.insert(*id, compiled.clone()).is_none() {
                cache.order.push_back(*id);
            }
            while cache.map.len() > self.limits.cache_capacity {
                match cache.order.pop_front() {
                    Some(old) => {
                        cache.map.remove(&old);
                    }
                    None => break,
                }
            }
        }
        Ok(compiled)
    }

    /// Re-runs `request` answering host calls so that they must reproduce `expected` entry by
    /// entry (the `replay` proof system). `time_ms` is taken from the trace; everything else is
    /// recomputed from `request` and `view` and compared.
    pub fn replay(
        &self,
        code: &[u8],
        request: &ExecutionRequest,
        view: &dyn ChainView,
        expected: Vec<TraceEntry>,
    ) -> Result<ExecutionOutcome, WasmError> {
        self.run(code, request, view, Some(expected))
    }

    fn run(
        &self,
        code: &[u8],
        request: &ExecutionRequest,
        view: &dyn ChainView,
        expected: Option<Vec<TraceEntry>>,
    ) -> Result<ExecutionOutcome, WasmError> {
        let compiled = self.compiled(&request.resource, code)?;
        let ctx = HostContext {
            contract: request.context.contract,
            caller: request.context.caller,
            height: request.context.height,
            time_ms: request.context.time_ms,
        };
        let host = HostState::new(ctx, request.args.clone(), expected);
        if !compiled.facts.uses_state {
            return run_instance(&compiled, request, host, Box::new(NoState));
        }
        std::thread::scope(|scope| {
            let (requests, inbox) = mpsc::channel::<(ContractId, Vec<u8>)>();
            let (outbox, answers) = mpsc::channel();
            std::thread::Builder::new()
                .name("wes-ispc-state".into())
                .spawn_scoped(scope, move || {
                    for (contract, key) in inbox {
                        if outbox.send(view.state(&contract, &key)).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| WasmError::Engine(format!("state reader thread: {e}")))?;
            let source = ChannelSource { requests, answers };
            // `source` is dropped when the run ends, which ends the reader thread.
            run_instance(&compiled, request, host, Box::new(source))
        })
    }
}

fn run_instance(
    compiled: &Compiled,
    request: &ExecutionRequest,
    host: HostState,
    source: Box<dyn StateSource + Send>,
) -> Result<ExecutionOutcome, WasmError> {
    let limit = request.cu_limit;
    let mut store = Store::new(compiled.engine.clone());
    let env = FunctionEnv::new(
        &mut store,
        Env {
            host,
            source,
            memory: None,
            instance: None,
        },
    );
    let imports = imports! {
        "wes" => {
            "height" => Function::new_typed_with_env(&mut store, &env, h_height),
            "time_ms" => Function::new_typed_with_env(&mut store, &env, h_time_ms),
            "caller" => Function::new_typed_with_env(&mut store, &env, h_caller),
            "contract" => Function::new_typed_with_env(&mut store, &env, h_contract),
            "args" => Function::new_typed_with_env(&mut store, &env, h_args),
            "state_get" => Function::new_typed_with_env(&mut store, &env, h_state_get),
            "state_set" => Function::new_typed_with_env(&mut store, &env, h_state_set),
            "output_asset" => Function::new_typed_with_env(&mut store, &env, h_output_asset),
            "emit_event" => Function::new_typed_with_env(&mut store, &env, h_emit_event),
            "set_return" => Function::new_typed_with_env(&mut store, &env, h_set_return),
            "abort" => Function::new_typed_with_env(&mut store, &env, h_abort),
        }
    };
    let instance = Instance::new(&mut store, &compiled.module, &imports)
        .map_err(|e| WasmError::Trap(format!("instantiation: {e}")))?;
    let memory = instance
        .exports
        .get_memory("memory")
        .map_err(|_| WasmError::MissingExport("memory".into()))?
        .clone();
    {
        let data = env.as_mut(&mut store);
        data.memory = Some(memory);
        data.instance = Some(instance.clone());
    }
    let entry = instance
        .exports
        .get_typed_function::<(), ()>(&store, &request.entry)
        .map_err(|_| WasmError::NoEntry(request.entry.chars().take(64).collect()))?;
    set_remaining_points(&mut store, &instance, limit);
    let result = entry.call(&mut store);
    let points = get_remaining_points(&mut store, &instance);
    // The instance is dropped with the store below and never reused.
    if let Err(err) = result {
        return Err(match err.downcast::<WasmError>() {
            Ok(WasmError::OutOfCu { .. }) => WasmError::OutOfCu { limit },
            Ok(e) => e,
            Err(_) if points == MeteringPoints::Exhausted => WasmError::OutOfCu { limit },
            Err(trap) => WasmError::Trap(trap.message()),
        });
    }
    let remaining = match points {
        MeteringPoints::Remaining(r) => r,
        MeteringPoints::Exhausted => return Err(WasmError::OutOfCu { limit }),
    };
    let data = env.as_mut(&mut store);
    let effects = data.host.effects();
    if let Some(expected) = &data.host.expected
        && expected.len() != data.host.trace.len()
    {
        return Err(WasmError::TraceMismatch {
            index: data.host.trace.len(),
            reason: format!(
                "the guest made {} host calls, the trace records {}",
                data.host.trace.len(),
                expected.len()
            ),
        });
    }
    Ok(ExecutionOutcome {
        cu_used: limit.saturating_sub(remaining),
        inputs: effects.inputs,
        outputs: effects.outputs,
        return_data: std::mem::take(&mut data.host.return_data),
        events: std::mem::take(&mut data.host.events),
        trace: std::mem::take(&mut data.host.trace),
    })
}

impl Executor for WasmExecutor {
    type Error = WasmError;

    fn kind(&self) -> ResourceKind {
        ResourceKind::Wasm
    }

    fn validate(&self, code: &[u8]) -> Result<(), WasmError> {
        validate_module(code, &self.limits).map(|_| ())
    }

    fn execute(
        &self,
        code: &[u8],
        request: &ExecutionRequest,
        view: &dyn ChainView,
    ) -> Result<ExecutionOutcome, WasmError> {
        self.run(code, request, view, None)
    }
}
