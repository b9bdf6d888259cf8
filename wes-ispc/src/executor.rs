//! [`WasmExecutor`]: contracts compiled by Cranelift, metered deterministically, run against
//! HostABI v1.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use wasmer::sys::{CompilerConfig, Cranelift, EngineBuilder, NativeEngineExt};
use wasmer::wasmparser::Operator;
use wasmer::{Engine, FunctionEnv, Instance, Module, Store};
use wasmer_middlewares::Metering;
use wasmer_middlewares::metering::MeteringPoints;
use wes_core::{
    ContentId, ExecutionOutcome, ExecutionRequest, Executor, ResourceKind, SharedView, TraceEntry,
};

use crate::connector::Connectors;
use crate::error::WasmError;
use crate::host::{Frame, HostState, NoChain};
use crate::imports::{Env, Meter, host_imports};
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
        // Floats, on chains that allow them.
        F32Div | F64Div | F32Sqrt | F64Sqrt => 4,
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

pub use crate::construct::RunReport;

/// A compiled module: its own engine (one metering middleware per compile) and module.
pub(crate) struct Compiled {
    engine: Engine,
    module: Module,
    facts: ModuleFacts,
    /// Unique per compile: the key of this module's recycled stores.
    serial: u64,
}

static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    /// Recycled stores of this thread (wasmer stores are not `Send`), by module serial, most
    /// recently used last.
    static SLOTS: std::cell::RefCell<Vec<(u64, Vec<Slot>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Modules whose stores one thread keeps.
const SLOT_MODULES: usize = 16;

fn take_slot(serial: u64) -> Option<Slot> {
    SLOTS.with(|s| {
        let mut s = s.try_borrow_mut().ok()?;
        let i = s.iter().position(|(k, _)| *k == serial)?;
        s[i].1.pop()
    })
}

fn return_slot(serial: u64, slot: Slot) {
    SLOTS.with(|s| {
        let Ok(mut s) = s.try_borrow_mut() else {
            return;
        };
        let i = match s.iter().position(|(k, _)| *k == serial) {
            Some(i) => i,
            None => {
                if s.len() >= SLOT_MODULES {
                    s.remove(0);
                }
                s.push((serial, Vec::new()));
                s.len() - 1
            }
        };
        let mut entry = s.remove(i);
        if entry.1.len() < IDLE_SLOTS {
            entry.1.push(slot);
        }
        s.push(entry);
    });
}

/// A store with the module's host functions. Each call gets a **fresh instance** (fresh
/// memory, globals, tables and metering points), but instantiating into a recycled store
/// saves creating the store and the host functions, most of a short call's cost. A store is
/// dropped, with the instances it accumulated, after [`SLOT_USES`] calls or after any failed
/// call.
struct Slot {
    store: Store,
    env: FunctionEnv<Env>,
    imports: wasmer::Imports,
    uses: u32,
}

/// Calls one store serves before it is dropped (bounding the memory of dead instances).
const SLOT_USES: u32 = 64;
/// Memory pages the dead instances of one store may hold (4 MiB).
const SLOT_PAGES: u32 = 64;
/// Idle stores kept per module and thread.
const IDLE_SLOTS: usize = 2;

/// A small LRU of compiled modules keyed by resource id.
#[derive(Default)]
struct Cache {
    map: HashMap<ContentId, Arc<Compiled>>,
    order: VecDeque<ContentId>,
}

/// What every instance of one executor shares: limits, the module cache, the connectors.
pub(crate) struct Shared {
    limits: WasmLimits,
    cache: Mutex<Cache>,
    pub connectors: Arc<Connectors>,
    /// Models for `model_infer`.
    #[cfg(feature = "onnx")]
    pub models: Arc<crate::onnx::OnnxExecutor>,
}

/// Runs WASM contracts: Cranelift, the metering middleware with [`operator_cost`], HostABI v1
/// (see `HOSTABI.md`), a cache of compiled modules by resource id, and the node's
/// [`Connectors`] for `external_call`.
///
/// Every call gets a fresh instance with `cu_limit` metering points; host calls and nested
/// calls draw from the same points. An instance is never reused, so a trap cannot leak state
/// or points. Cloning is cheap and shares the cache and connectors.
#[derive(Clone)]
pub struct WasmExecutor {
    shared: Arc<Shared>,
}

impl Default for WasmExecutor {
    fn default() -> Self {
        Self::new(WasmLimits::default())
    }
}

impl std::fmt::Debug for WasmExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmExecutor")
            .field("limits", &self.shared.limits)
            .field("connectors", &self.shared.connectors)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn compile(&self, code: &[u8]) -> Result<Compiled, WasmError> {
        let facts = validate_module(code, &self.limits)?;
        let mut compiler = Cranelift::default();
        compiler.canonicalize_nans(true);
        // One metering middleware per compile: it must not be shared between modules. The
        // initial limit is 0 (nothing runs before the call's limit is set).
        // Call depth first, so that its counting is metered too.
        compiler.push_middleware(Arc::new(crate::depth::CallDepth::default()));
        compiler.push_middleware(Arc::new(Metering::new(0, operator_cost)));
        let mut engine: Engine = EngineBuilder::new(compiler).into();
        engine.set_tunables(crate::tunables::SmallMemories);
        let module = Module::new(&engine, code).map_err(|e| WasmError::Engine(e.to_string()))?;
        Ok(Compiled {
            engine,
            module,
            facts,
            serial: SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// The compiled module of resource `id` with bytes `code`, from the cache if there.
    pub(crate) fn compiled(&self, id: &ContentId, code: &[u8]) -> Result<Arc<Compiled>, WasmError> {
        {
            let mut cache = self
                .cache
                .lock()
                .map_err(|_| WasmError::Engine("module cache poisoned".into()))?;
            if let Some(c) = cache.map.get(id).cloned() {
                if cache.order.back() != Some(id) {
                    cache.order.retain(|x| x != id);
                    cache.order.push_back(*id);
                }
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
}

impl WasmExecutor {
    /// An executor with these limits and no connectors.
    pub fn new(limits: WasmLimits) -> Self {
        // Room for the deterministic depth limit (see `depth`): the default wasm stack is
        // 1 MiB. This is process-wide; it only ever raises the stack.
        static STACK: std::sync::Once = std::sync::Once::new();
        STACK.call_once(|| {
            let want = 8 << 20;
            if wasmer::sys::vm::get_stack_size() < want {
                wasmer::sys::vm::set_stack_size(want);
            }
        });
        WasmExecutor {
            shared: Arc::new(Shared {
                limits,
                cache: Mutex::new(Cache::default()),
                connectors: Arc::new(Connectors::default()),
                #[cfg(feature = "onnx")]
                models: Arc::new(crate::onnx::OnnxExecutor::new()),
            }),
        }
    }

    /// What every clone of this executor shares.
    #[cfg_attr(not(any(test, feature = "offchain")), allow(dead_code))]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The limits in force.
    pub fn limits(&self) -> &WasmLimits {
        &self.shared.limits
    }

    /// The connectors `external_call` uses (register them here, with their signing keys).
    pub fn connectors(&self) -> &Arc<Connectors> {
        &self.shared.connectors
    }

    /// Validates and compiles module `id` with bytes `code` into the cache, ahead of its first
    /// call (a node may do it when a deployment is imported, off the call's path). A module
    /// already cached is not compiled again.
    pub fn prepare(&self, id: &ContentId, code: &[u8]) -> Result<(), WasmError> {
        self.shared.compiled(id, code).map(|_| ())
    }

    /// How many compiled modules the cache holds.
    pub fn cached_modules(&self) -> usize {
        self.shared.cache.lock().map(|c| c.map.len()).unwrap_or(0)
    }

    /// Re-runs `request` answering host calls so that they must reproduce `expected` entry by
    /// entry (the `replay` proof system). `time_ms` and connector receipts are taken from the
    /// trace; everything else is recomputed from `request` and `view` and compared. No
    /// connector is called.
    pub fn replay(
        &self,
        code: &[u8],
        request: &ExecutionRequest,
        view: &SharedView,
        expected: Vec<TraceEntry>,
    ) -> Result<ExecutionOutcome, WasmError> {
        self.run(code, request, view, Some(expected))
            .map(|(outcome, _)| outcome)
    }

    /// Runs `request` like [`Executor::execute`] and also reports what the transaction
    /// record and the checks need: the callees and the tokens minted.
    pub fn execute_detailed(
        &self,
        code: &[u8],
        request: &ExecutionRequest,
        view: &SharedView,
    ) -> Result<(ExecutionOutcome, RunReport), WasmError> {
        self.run(code, request, view, None)
    }

    /// Like [`replay`](Self::replay), also returning the [`RunReport`].
    pub fn replay_detailed(
        &self,
        code: &[u8],
        request: &ExecutionRequest,
        view: &SharedView,
        expected: Vec<TraceEntry>,
    ) -> Result<(ExecutionOutcome, RunReport), WasmError> {
        self.run(code, request, view, Some(expected))
    }

    fn run(
        &self,
        code: &[u8],
        request: &ExecutionRequest,
        view: &SharedView,
        expected: Option<Vec<TraceEntry>>,
    ) -> Result<(ExecutionOutcome, RunReport), WasmError> {
        let compiled = self.shared.compiled(&request.resource, code)?;
        let top = Frame {
            contract: request.context.contract,
            caller: request.context.caller,
            call_id: request.context.request,
            args: request.args.clone(),
            return_data: Vec::new(),
        };
        let host = HostState::new(
            request.context.height,
            request.context.time_ms,
            top,
            expected,
        );
        // The guest runs on this thread; its host functions read the view through the owned
        // handle in their environment.
        let view = if compiled.facts.uses_chain {
            view.clone()
        } else {
            NoChain::shared()
        };
        self.run_top(&compiled, request, host, view)
    }

    fn run_top(
        &self,
        compiled: &Compiled,
        request: &ExecutionRequest,
        host: HostState,
        view: SharedView,
    ) -> Result<(ExecutionOutcome, RunReport), WasmError> {
        let limit = request.cu_limit;
        let run = call_instance(&self.shared, compiled, &request.entry, host, view, limit);
        let mut host = run.host;
        if let Err(e) = run.result {
            // An execution that fails leaves nothing behind outside the chain either.
            self.shared.connectors.abandon(&host.external);
            return Err(match e {
                WasmError::OutOfCu { .. } => WasmError::OutOfCu { limit },
                other => other,
            });
        }
        if let Some(expected) = &host.expected
            && expected.len() != host.trace.len()
        {
            return Err(WasmError::TraceMismatch {
                index: host.trace.len(),
                reason: format!(
                    "the guest made {} host calls, the trace records {}",
                    host.trace.len(),
                    expected.len()
                ),
            });
        }
        let effects = host.effects();
        Ok((
            host.outcome(effects, limit.saturating_sub(run.left)),
            RunReport {
                callees: std::mem::take(&mut host.callees),
                minted: std::mem::take(&mut host.minted),
                spendable: host.spendable(),
            },
        ))
    }
}

/// The end of one instance's run: its result, the host state handed back, and the metering
/// points left.
pub(crate) struct InstanceRun {
    pub result: Result<(), WasmError>,
    pub host: HostState,
    pub left: u64,
}

/// Instantiates `compiled` afresh (in a recycled store) and runs `entry` with `limit` points.
pub(crate) fn call_instance(
    shared: &Arc<Shared>,
    compiled: &Compiled,
    entry: &str,
    host: HostState,
    view: SharedView,
    limit: u64,
) -> InstanceRun {
    let mut slot = take_slot(compiled.serial).unwrap_or_else(|| {
        let mut store = Store::new(compiled.engine.clone());
        let env = FunctionEnv::new(
            &mut store,
            Env {
                host: HostState::default(),
                view: NoChain::shared(),
                shared: shared.clone(),
                memory: None,
                meter: None,
            },
        );
        let imports = host_imports(&mut store, &env, &compiled.facts.imports);
        Slot {
            store,
            env,
            imports,
            uses: 0,
        }
    });
    {
        let data = slot.env.as_mut(&mut slot.store);
        data.host = host;
        data.view = view;
        data.memory = None;
        data.meter = None;
    }
    let result = instantiate_and_call(&mut slot, compiled, entry, limit);
    let (result, left) = match result {
        Ok(left) => (Ok(()), left),
        Err(e) => (Err(e), 0),
    };
    let data = slot.env.as_mut(&mut slot.store);
    let run = InstanceRun {
        host: std::mem::take(&mut data.host),
        result,
        left,
    };
    // An idle store keeps no chain view alive.
    data.view = NoChain::shared();
    data.memory = None;
    data.meter = None;
    slot.uses += 1;
    // Dead instances keep their memories until the store goes: bound that to about
    // `SLOT_PAGES` pages per store.
    let uses = (SLOT_PAGES / compiled.facts.max_pages.max(1)).clamp(1, SLOT_USES);
    if run.result.is_ok() && slot.uses < uses {
        return_slot(compiled.serial, slot);
    }
    run
}

/// Returns the points left.
fn instantiate_and_call(
    slot: &mut Slot,
    compiled: &Compiled,
    entry: &str,
    limit: u64,
) -> Result<u64, WasmError> {
    let store = &mut slot.store;
    let env = &slot.env;
    let instance = Instance::new(store, &compiled.module, &slot.imports)
        .map_err(|e| WasmError::Trap(format!("instantiation: {e}")))?;
    let memory = instance
        .exports
        .get_memory("memory")
        .map_err(|_| WasmError::MissingExport("memory".into()))?
        .clone();
    let meter = Meter::of(&instance)?;
    {
        let data = env.as_mut(store);
        data.memory = Some(memory);
        data.meter = Some(meter.clone());
    }
    let function = instance
        .exports
        .get_typed_function::<(), ()>(store, entry)
        .map_err(|_| WasmError::NoEntry(entry.chars().take(64).collect()))?;
    meter.set(store, limit)?;
    let result = function.call(store);
    let points = meter.get(store);
    if let Err(err) = result {
        let depth = instance
            .exports
            .get_global(crate::depth::DEPTH_GLOBAL)
            .ok()
            .map(|g| g.get(store));
        return Err(match err.downcast::<WasmError>() {
            Ok(e) => e,
            Err(_) if points == MeteringPoints::Exhausted => WasmError::OutOfCu { limit },
            Err(_) if matches!(depth, Some(wasmer::Value::I32(d)) if d > crate::depth::MAX_WASM_DEPTH) => {
                WasmError::Limit {
                    what: "wasm call depth",
                    value: crate::depth::MAX_WASM_DEPTH as u64 + 1,
                    max: crate::depth::MAX_WASM_DEPTH as u64,
                }
            }
            Err(trap) => WasmError::Trap(trap.message()),
        });
    }
    match points {
        MeteringPoints::Remaining(r) => Ok(r),
        MeteringPoints::Exhausted => Err(WasmError::OutOfCu { limit }),
    }
}

impl Executor for WasmExecutor {
    type Error = WasmError;

    fn kind(&self) -> ResourceKind {
        ResourceKind::Wasm
    }

    fn validate(&self, code: &[u8]) -> Result<(), WasmError> {
        validate_module(code, &self.shared.limits).map(|_| ())
    }

    fn execute(
        &self,
        code: &[u8],
        request: &ExecutionRequest,
        view: &SharedView,
    ) -> Result<ExecutionOutcome, WasmError> {
        self.run(code, request, view, None).map(|(o, _)| o)
    }
}
