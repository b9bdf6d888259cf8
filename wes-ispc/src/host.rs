//! HostABI v1: the host functions a contract may import (module `wes`), their costs, and the
//! bookkeeping they do. This module is independent of the WASM engine: it turns each host call
//! into a trace entry, a compute-unit charge and an effect on the execution's inputs and
//! outputs. See `HOSTABI.md` for the reference.

use std::collections::HashMap;
use std::sync::Arc;

use wes_core::{
    Address, ChainView, ContentId, ContractId, Domain, Event, ExecutionOutcome, Hash, Input, Lock,
    OutPoint, Output, OutputBody, ResourceBody, ResourceKind, ResourceMeta, SharedView, StateBody,
    TokenId, TraceEntry, ViewError, codec, hash,
};

use crate::error::WasmError;

/// The import module name of HostABI v1.
pub const HOST_MODULE: &str = "wes";
/// The version of the HostABI this crate implements.
pub use crate::abi::HOSTABI_VERSION;

/// Longest state key, in bytes.
pub const MAX_KEY_LEN: usize = 64;
/// Longest state value, in bytes.
pub const MAX_VALUE_LEN: usize = 4096;
/// Most distinct state keys one call may touch (read or write).
pub const MAX_STATE_KEYS: usize = 32;
/// Most asset and resource outputs one execution may create.
pub const MAX_CREATED_OUTPUTS: usize = 16;
/// Most distinct UTXOs one execution may read or spend.
pub const MAX_UTXOS: usize = 32;
/// Most bytes one `resource_read` copies.
pub const MAX_RESOURCE_READ: usize = 64 * 1024;
/// Longest resource name of `output_resource`, in bytes.
pub const MAX_RESOURCE_NAME: usize = 64;
/// Deepest nesting of `call` (the top-level call is depth 1).
pub const MAX_CALL_DEPTH: usize = 8;
/// Longest entry name of a nested `call`, in bytes.
pub const MAX_ENTRY_LEN: usize = 64;
/// Most resource bytes one execution may load (`resource_read`, `output_resource`, the code of
/// nested calls), counted once per resource.
pub const MAX_RESOURCE_BYTES: usize = 16 * 1024 * 1024;
/// Longest arguments of a nested `call`, in bytes.
pub const MAX_CALL_ARGS: usize = 16 * 1024;
/// Most events one call may emit.
pub const MAX_EVENTS: usize = 32;
/// Longest event topic, in bytes (UTF-8).
pub const MAX_TOPIC_LEN: usize = 64;
/// Longest event payload, in bytes.
pub const MAX_EVENT_DATA: usize = 1024;
/// Longest return data, in bytes.
pub const MAX_RETURN_LEN: usize = 4096;
/// Longest encoded lock or token argument of `output_asset`, in bytes.
pub const MAX_ENCODED_ARG: usize = 1024;
/// Longest input of `model_infer`, in bytes.
pub const MAX_MODEL_INPUT: usize = 64 * 1024;
/// Longest abort message kept, in bytes.
pub const MAX_ABORT_LEN: usize = 256;

/// The fixed and per-byte compute-unit cost of one host function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostCost {
    /// Charged on every call.
    pub fixed: u64,
    /// Charged per byte of the call's encoded input plus output (as recorded in the trace).
    pub per_byte: u64,
}

/// One HostABI v1 function, as the table (`host_abi_table.rs`) declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostFunction {
    /// Its import name in module [`HOST_MODULE`].
    pub name: &'static str,
    /// WASM parameter types, one letter each: `i` = i32, `I` = i64.
    pub params: &'static str,
    /// WASM result types, in the same letters.
    pub results: &'static str,
    /// What a call costs.
    pub cost: HostCost,
    /// Whether it reads the chain view (a module importing none of these runs without one).
    pub reads_chain: bool,
}

/// The WASM type letter of a table type.
macro_rules! wasm_type {
    (ptr) => {
        "i"
    };
    (out) => {
        "i"
    };
    (len) => {
        "i"
    };
    (u32) => {
        "i"
    };
    (i32) => {
        "i"
    };
    (u64) => {
        "I"
    };
    (i64) => {
        "I"
    };
}

/// Expands the table into [`HOST_FUNCTIONS`].
macro_rules! host_functions {
    ($(
        $(#[$doc:meta])*
        fn $name:ident ( $($arg:ident : $ty:ident),* $(,)? ) $(-> $ret:ident)? {
            cost: $fixed:literal + $per:literal, reads_chain: $chain:literal $(,)?
        }
    )*) => {
        /// The HostABI v1 functions, in the table's order. Normative: validation checks a
        /// module's imports against it, the host charges its costs, and linking binds each name
        /// to its handler.
        pub const HOST_FUNCTIONS: &[HostFunction] = &[$(
            HostFunction {
                name: stringify!($name),
                params: concat!("" $(, wasm_type!($ty))*),
                results: concat!("" $(, wasm_type!($ret))?),
                cost: cost($fixed, $per),
                reads_chain: $chain,
            },
        )*];
    };
}

include!("host_abi_table.rs");

const fn cost(fixed: u64, per_byte: u64) -> HostCost {
    HostCost { fixed, per_byte }
}

/// The table's entry for `name`.
pub fn host_function(name: &str) -> Option<&'static HostFunction> {
    HOST_FUNCTIONS.iter().find(|f| f.name == name)
}

/// The cost of host function `name`.
pub fn host_cost(name: &str) -> Option<HostCost> {
    host_function(name).map(|f| f.cost)
}

/// The chain view of modules that import no chain-reading function: their runs need no view.
pub(crate) struct NoChain;

impl NoChain {
    /// A shared handle on it.
    pub fn shared() -> SharedView {
        static NO_CHAIN: std::sync::OnceLock<SharedView> = std::sync::OnceLock::new();
        NO_CHAIN.get_or_init(|| Arc::new(NoChain)).clone()
    }
}

impl ChainView for NoChain {
    fn state(&self, _: &ContractId, _: &[u8]) -> Result<Option<(OutPoint, Output)>, ViewError> {
        Err(ViewError("module imports no chain-reading function".into()))
    }
    fn unspent(&self, _: &OutPoint) -> Result<Option<Output>, ViewError> {
        Err(ViewError("module imports no chain-reading function".into()))
    }
    fn resource(&self, _: &ContentId) -> Result<Option<Vec<u8>>, ViewError> {
        Err(ViewError("module imports no chain-reading function".into()))
    }
}

/// One contract on the call stack.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    pub contract: ContractId,
    pub caller: Address,
    pub call_id: Hash,
    pub args: Vec<u8>,
    pub return_data: Vec<u8>,
}

/// A state key touched by the execution.
#[derive(Debug)]
struct Touched {
    contract: ContractId,
    key: Vec<u8>,
    /// The live output before the execution.
    live: Option<(OutPoint, Output)>,
    /// The value now (after the writes); `None` if absent or deleted.
    current: Option<Vec<u8>>,
    written: bool,
}

/// A UTXO read or spent by the execution.
#[derive(Debug)]
struct TouchedUtxo {
    outpoint: OutPoint,
    output: Option<Output>,
    spent: bool,
}

/// What the host has recorded so far for one execution (all its frames).
#[derive(Default)]
pub(crate) struct HostState {
    pub height: u64,
    pub time_ms: u64,
    /// The call stack; the last frame is running.
    pub frames: Vec<Frame>,
    /// In replay mode, the recorded trace the calls must reproduce.
    pub expected: Option<Vec<TraceEntry>>,
    pub trace: Vec<TraceEntry>,
    touched: Vec<Touched>,
    index: HashMap<(ContractId, Vec<u8>), usize>,
    utxos: Vec<TouchedUtxo>,
    utxo_index: HashMap<OutPoint, usize>,
    resources: HashMap<ContentId, Option<Arc<Vec<u8>>>>,
    resource_bytes: usize,
    created: Vec<Output>,
    /// Tokens created by `mint_asset`, per token.
    pub minted: std::collections::BTreeMap<TokenId, u128>,
    /// Value spent by `utxo_spend`, per (spending contract, token).
    spent_by: std::collections::BTreeMap<(ContractId, TokenId), u128>,
    /// Value placed by `output_asset`, per (placing contract, token).
    placed_by: std::collections::BTreeMap<(ContractId, TokenId), u128>,
    pub events: Vec<Event>,
    /// Contracts called by nested calls, in first-call order.
    pub callees: Vec<ContractId>,
    nested_calls: u32,
    /// External calls made (live mode), to abort if the execution fails.
    pub external: Vec<crate::connector::PendingExternal>,
    external_calls: u32,
    /// The signer of the latest `external_call` receipt: `None` before any call,
    /// `Some(None)` if it was unsigned.
    pub last_signer: Option<Option<wes_core::PublicKey>>,
}

/// The effects of a finished execution, in their canonical order.
pub(crate) struct Effects {
    pub inputs: Vec<Input>,
    pub outputs: Vec<Output>,
}

fn bad(call: &'static str, reason: impl Into<String>) -> WasmError {
    WasmError::HostCall {
        call,
        reason: reason.into(),
    }
}

/// The id of the nested call number `index` (over the whole execution) made under `parent`.
pub(crate) fn nested_call_id(parent: &Hash, index: u32) -> Hash {
    hash(
        Domain::new("wes-ispc/nested-call"),
        codec::encode(&(parent, index)),
    )
}

impl HostState {
    pub fn new(height: u64, time_ms: u64, top: Frame, expected: Option<Vec<TraceEntry>>) -> Self {
        HostState {
            height,
            time_ms,
            frames: vec![top],
            expected,
            ..HostState::default()
        }
    }

    /// The running frame.
    pub fn frame(&self) -> Result<&Frame, WasmError> {
        self.frames
            .last()
            .ok_or_else(|| WasmError::Engine("empty call stack".into()))
    }

    fn frame_mut(&mut self) -> Result<&mut Frame, WasmError> {
        self.frames
            .last_mut()
            .ok_or_else(|| WasmError::Engine("empty call stack".into()))
    }

    fn contract(&self) -> Result<ContractId, WasmError> {
        Ok(self.frame()?.contract)
    }

    /// The cost of an entry of `call` with these encoded input and output.
    pub fn cost(call: &'static str, input: &[u8], output: &[u8]) -> u64 {
        let c = host_cost(call).unwrap_or(cost(0, 0));
        c.fixed.saturating_add(
            c.per_byte
                .saturating_mul((input.len() + output.len()) as u64),
        )
    }

    /// Whether this is a replay.
    pub fn replaying(&self) -> bool {
        self.expected.is_some()
    }

    /// In replay mode, the recorded output of the next entry (for values the verifier does
    /// not recompute: `time_ms`, connector receipts).
    pub fn recorded_output(&self, call: &'static str) -> Result<Vec<u8>, WasmError> {
        let index = self.trace.len();
        match &self.expected {
            None => Err(WasmError::Engine("recorded_output outside replay".into())),
            Some(expected) => match expected.get(index) {
                Some(e) if e.call == call => Ok(e.output.clone()),
                Some(e) => Err(WasmError::TraceMismatch {
                    index,
                    reason: format!("guest called `{call}`, trace records `{}`", e.call),
                }),
                None => Err(WasmError::TraceMismatch {
                    index,
                    reason: format!("guest called `{call}` past the end of the trace"),
                }),
            },
        }
    }

    /// Appends an entry; in replay mode it must equal the recorded one.
    pub fn record(&mut self, entry: TraceEntry) -> Result<(), WasmError> {
        let index = self.trace.len();
        if let Some(expected) = &self.expected {
            let Some(e) = expected.get(index) else {
                return Err(WasmError::TraceMismatch {
                    index,
                    reason: format!("guest called `{}` past the end of the trace", entry.call),
                });
            };
            let reason = if e.call != entry.call {
                Some(format!(
                    "guest called `{}`, trace records `{}`",
                    entry.call, e.call
                ))
            } else if e.input != entry.input {
                Some(format!("`{}` input differs from the trace", entry.call))
            } else if e.output != entry.output {
                Some(format!(
                    "`{}` result differs from the trace (chain state or context mismatch)",
                    entry.call
                ))
            } else if e.cu != entry.cu {
                Some(format!(
                    "`{}` cost {} differs from the recorded {}",
                    entry.call, entry.cu, e.cu
                ))
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(WasmError::TraceMismatch { index, reason });
            }
        }
        self.trace.push(entry);
        Ok(())
    }

    fn touch(
        &mut self,
        call: &'static str,
        key: &[u8],
        source: &dyn ChainView,
    ) -> Result<usize, WasmError> {
        if key.len() > MAX_KEY_LEN {
            return Err(bad(call, format!("key of {} bytes", key.len())));
        }
        let contract = self.contract()?;
        if let Some(i) = self.index.get(&(contract, key.to_vec())) {
            return Ok(*i);
        }
        if self.touched.len() >= MAX_STATE_KEYS {
            return Err(bad(call, format!("more than {MAX_STATE_KEYS} state keys")));
        }
        let live = source.state(&contract, key)?;
        let current = match &live {
            Some((_, out)) => match out.as_state() {
                Some(s) if s.contract == contract && s.key == key => Some(s.data.clone()),
                _ => {
                    return Err(WasmError::View(ViewError(format!(
                        "live state of key {key:02x?} is not a matching State output"
                    ))));
                }
            },
            None => None,
        };
        let i = self.touched.len();
        self.touched.push(Touched {
            contract,
            key: key.to_vec(),
            live,
            current,
            written: false,
        });
        self.index.insert((contract, key.to_vec()), i);
        Ok(i)
    }

    /// `state_get`: the current value of `key` of the running contract.
    pub fn state_get(
        &mut self,
        key: &[u8],
        source: &dyn ChainView,
    ) -> Result<Option<Vec<u8>>, WasmError> {
        let i = self.touch("state_get", key, source)?;
        Ok(self.touched[i].current.clone())
    }

    /// `state_set`: replaces the value of `key`.
    pub fn state_set(
        &mut self,
        key: &[u8],
        value: &[u8],
        source: &dyn ChainView,
    ) -> Result<(), WasmError> {
        if value.len() > MAX_VALUE_LEN {
            return Err(bad("state_set", format!("value of {} bytes", value.len())));
        }
        let i = self.touch("state_set", key, source)?;
        let t = &mut self.touched[i];
        t.current = Some(value.to_vec());
        t.written = true;
        Ok(())
    }

    /// `state_delete`: removes `key` (spends its live output, creates none).
    pub fn state_delete(&mut self, key: &[u8], source: &dyn ChainView) -> Result<(), WasmError> {
        let i = self.touch("state_delete", key, source)?;
        let t = &mut self.touched[i];
        t.current = None;
        t.written = true;
        Ok(())
    }

    fn touch_utxo(
        &mut self,
        call: &'static str,
        outpoint: OutPoint,
        source: &dyn ChainView,
    ) -> Result<usize, WasmError> {
        if let Some(i) = self.utxo_index.get(&outpoint) {
            return Ok(*i);
        }
        if self.utxos.len() >= MAX_UTXOS {
            return Err(bad(call, format!("more than {MAX_UTXOS} UTXOs")));
        }
        let output = source.unspent(&outpoint)?;
        let i = self.utxos.len();
        self.utxos.push(TouchedUtxo {
            outpoint,
            output,
            spent: false,
        });
        self.utxo_index.insert(outpoint, i);
        Ok(i)
    }

    /// `utxo_get`: the unspent output at `outpoint` (referenced by the transaction).
    pub fn utxo_get(
        &mut self,
        outpoint: OutPoint,
        source: &dyn ChainView,
    ) -> Result<Option<Output>, WasmError> {
        let i = self.touch_utxo("utxo_get", outpoint, source)?;
        let u = &self.utxos[i];
        Ok(if u.spent { None } else { u.output.clone() })
    }

    /// `utxo_spend`: spends an asset output locked by the running contract; its value is
    /// the execution's to place.
    pub fn utxo_spend(
        &mut self,
        outpoint: OutPoint,
        source: &dyn ChainView,
    ) -> Result<Output, WasmError> {
        let contract = self.contract()?;
        let i = self.touch_utxo("utxo_spend", outpoint, source)?;
        let u = &mut self.utxos[i];
        if u.spent {
            return Err(bad("utxo_spend", format!("{outpoint} spent twice")));
        }
        let Some(output) = u.output.clone() else {
            return Err(bad("utxo_spend", format!("{outpoint} is not unspent")));
        };
        if output.as_asset().is_none() || output.lock != Lock::contract(contract) {
            return Err(bad(
                "utxo_spend",
                format!("{outpoint} is not an asset locked by contract {contract}"),
            ));
        }
        u.spent = true;
        if let Some(a) = output.as_asset() {
            let e = self.spent_by.entry((contract, a.token)).or_insert(0);
            *e = e.saturating_add(a.amount);
        }
        Ok(output)
    }

    /// The bytes of resource `id` (cached for the execution).
    pub fn resource(
        &mut self,
        id: &ContentId,
        source: &dyn ChainView,
    ) -> Result<Option<Arc<Vec<u8>>>, WasmError> {
        if let Some(r) = self.resources.get(id) {
            return Ok(r.clone());
        }
        let r = source.resource(id)?.map(Arc::new);
        if let Some(bytes) = &r {
            self.resource_bytes = self.resource_bytes.saturating_add(bytes.len());
            if self.resource_bytes > MAX_RESOURCE_BYTES {
                return Err(bad(
                    "resource",
                    format!("more than {MAX_RESOURCE_BYTES} resource bytes loaded"),
                ));
            }
        }
        self.resources.insert(*id, r.clone());
        Ok(r)
    }

    fn check_room(&self, call: &'static str) -> Result<(), WasmError> {
        if self.created.len() >= MAX_CREATED_OUTPUTS {
            return Err(bad(
                call,
                format!("more than {MAX_CREATED_OUTPUTS} asset and resource outputs"),
            ));
        }
        Ok(())
    }

    /// `output_asset`: an asset output with an encoded lock and token.
    pub fn output_asset(
        &mut self,
        lock: &[u8],
        token: &[u8],
        amount: u64,
    ) -> Result<(), WasmError> {
        self.check_room("output_asset")?;
        let lock = decode_lock("output_asset", lock)?;
        let token: TokenId = codec::decode_with_limit(token, MAX_ENCODED_ARG)
            .map_err(|e| bad("output_asset", format!("token: {e}")))?;
        if amount == 0 {
            return Err(bad("output_asset", "zero amount"));
        }
        let e = self.placed_by.entry((self.contract()?, token)).or_insert(0);
        *e = e.saturating_add(u128::from(amount));
        self.created
            .push(Output::asset(lock, token, u128::from(amount)));
        Ok(())
    }

    /// `mint_asset`: new units of the running contract's token `tag`, the only way tokens are
    /// created.
    pub fn mint_asset(&mut self, lock: &[u8], tag: [u8; 32], amount: u64) -> Result<(), WasmError> {
        self.check_room("mint_asset")?;
        let lock = decode_lock("mint_asset", lock)?;
        if amount == 0 {
            return Err(bad("mint_asset", "zero amount"));
        }
        let token = TokenId::Issued {
            contract: self.contract()?,
            tag: Hash(tag),
        };
        let total = self.minted.entry(token).or_insert(0);
        *total = total.saturating_add(u128::from(amount));
        self.created
            .push(Output::asset(lock, token, u128::from(amount)));
        Ok(())
    }

    /// `output_resource`: a Resource output for content the chain view has; returns its size.
    pub fn output_resource(
        &mut self,
        lock: &[u8],
        id: ContentId,
        kind: u32,
        name: &[u8],
        source: &dyn ChainView,
    ) -> Result<u64, WasmError> {
        self.check_room("output_resource")?;
        let lock = decode_lock("output_resource", lock)?;
        let kind = match kind {
            0 => ResourceKind::Wasm,
            1 => ResourceKind::Onnx,
            2 => ResourceKind::File,
            k => return Err(bad("output_resource", format!("unknown kind {k}"))),
        };
        if name.len() > MAX_RESOURCE_NAME {
            return Err(bad("output_resource", "name too long"));
        }
        let name = String::from_utf8(name.to_vec())
            .map_err(|_| bad("output_resource", "name is not UTF-8"))?;
        let Some(bytes) = self.resource(&id, source)? else {
            return Err(WasmError::ResourceUnavailable(id));
        };
        let size = bytes.len() as u64;
        self.created.push(Output {
            lock,
            body: OutputBody::Resource(ResourceBody {
                content: id,
                kind,
                size,
                meta: ResourceMeta {
                    name,
                    mime: String::new(),
                    verifying_key: None,
                },
            }),
        });
        Ok(size)
    }

    /// `emit_event`.
    pub fn emit_event(&mut self, topic: &[u8], data: &[u8]) -> Result<(), WasmError> {
        if self.events.len() >= MAX_EVENTS {
            return Err(bad("emit_event", format!("more than {MAX_EVENTS} events")));
        }
        if topic.len() > MAX_TOPIC_LEN || data.len() > MAX_EVENT_DATA {
            return Err(bad("emit_event", "topic or data too long"));
        }
        let topic = String::from_utf8(topic.to_vec())
            .map_err(|_| bad("emit_event", "topic is not UTF-8"))?;
        let contract = self.frame()?.contract;
        self.events.push(Event {
            contract,
            topic,
            data: data.to_vec(),
        });
        Ok(())
    }

    /// `set_return`: the running frame's return data.
    pub fn set_return(&mut self, data: &[u8]) -> Result<(), WasmError> {
        if data.len() > MAX_RETURN_LEN {
            return Err(bad("set_return", format!("{} bytes", data.len())));
        }
        self.frame_mut()?.return_data = data.to_vec();
        Ok(())
    }

    /// The op id of the next `external_call`, after checking the per-execution limit.
    pub fn next_external_op(&mut self) -> Result<Hash, WasmError> {
        if self.external_calls as usize >= crate::connector::MAX_EXTERNAL_CALLS {
            return Err(bad(
                "external_call",
                format!(
                    "more than {} external calls",
                    crate::connector::MAX_EXTERNAL_CALLS
                ),
            ));
        }
        let root = self
            .frames
            .first()
            .ok_or_else(|| WasmError::Engine("empty call stack".into()))?
            .call_id;
        let id = crate::connector::external_op_id(&root, self.external_calls);
        self.external_calls += 1;
        Ok(id)
    }

    /// Per token, the value the execution spent (`utxo_spend`) that the spending contract's
    /// own frames placed (`output_asset`): what the spends may fund. Value a contract spends
    /// and does not place is not another frame's to take.
    pub fn spendable(&self) -> std::collections::BTreeMap<TokenId, u128> {
        let mut out = std::collections::BTreeMap::new();
        for ((contract, token), spent) in &self.spent_by {
            let placed = self
                .placed_by
                .get(&(*contract, *token))
                .copied()
                .unwrap_or(0);
            let e = out.entry(*token).or_insert(0u128);
            *e = e.saturating_add((*spent).min(placed));
        }
        out
    }

    /// Whether a nested call of `callee` may start (checked before any work is done for it).
    pub fn check_call(&self, callee: &ContractId) -> Result<(), WasmError> {
        if self.frames.len() >= MAX_CALL_DEPTH {
            return Err(bad("call", format!("call depth above {MAX_CALL_DEPTH}")));
        }
        if self.frames.iter().any(|f| f.contract == *callee) {
            return Err(bad(
                "call",
                format!("contract {callee} is already on the call stack (no re-entry)"),
            ));
        }
        let top = self.frames.first().map(|f| f.contract);
        if Some(*callee) != top
            && !self.callees.contains(callee)
            && self.callees.len() >= wes_core::Execution::MAX_CALLEES
        {
            return Err(bad(
                "call",
                format!(
                    "more than {} distinct callees",
                    wes_core::Execution::MAX_CALLEES
                ),
            ));
        }
        Ok(())
    }

    /// Enters a nested call of `callee` with `args`.
    pub fn push_frame(&mut self, callee: ContractId, args: Vec<u8>) -> Result<(), WasmError> {
        self.check_call(&callee)?;
        let parent = self.frame()?;
        let frame = Frame {
            contract: callee,
            caller: Lock::contract(parent.contract).address(),
            call_id: nested_call_id(&parent.call_id, self.nested_calls),
            args,
            return_data: Vec::new(),
        };
        let top = self.frames.first().map(|f| f.contract);
        if Some(callee) != top && !self.callees.contains(&callee) {
            self.callees.push(callee);
        }
        self.nested_calls += 1;
        self.frames.push(frame);
        Ok(())
    }

    /// Leaves a nested call; returns its return data.
    pub fn pop_frame(&mut self) -> Result<Vec<u8>, WasmError> {
        if self.frames.len() < 2 {
            return Err(WasmError::Engine("pop of the top-level frame".into()));
        }
        Ok(self.frames.pop().map(|f| f.return_data).unwrap_or_default())
    }

    /// The execution's outcome, given its `effects` ([`effects`](Self::effects)): the top
    /// frame's return data, the events and the trace are taken out of the state.
    pub fn outcome(&mut self, effects: Effects, cu_used: u64) -> ExecutionOutcome {
        let return_data = self
            .frames
            .first_mut()
            .map(|f| std::mem::take(&mut f.return_data))
            .unwrap_or_default();
        ExecutionOutcome {
            cu_used,
            inputs: effects.inputs,
            outputs: effects.outputs,
            return_data,
            events: std::mem::take(&mut self.events),
            trace: std::mem::take(&mut self.trace),
        }
    }

    /// The inputs and outputs of the execution: touched live states (spent if written or
    /// deleted, referenced otherwise) in first-touch order, then touched UTXOs (spent by
    /// `utxo_spend`, referenced otherwise) in first-touch order, each outpoint once; new State
    /// outputs for written keys in first-touch order, then asset and resource outputs in
    /// creation order.
    pub fn effects(&self) -> Effects {
        let mut inputs: Vec<Input> = Vec::new();
        let mut outputs = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for t in &self.touched {
            if let Some((op, _)) = &t.live {
                seen.insert(*op);
                inputs.push(if t.written {
                    Input::spend(*op)
                } else {
                    Input::reference(*op)
                });
            }
        }
        for u in &self.utxos {
            if u.output.is_some() && seen.insert(u.outpoint) {
                inputs.push(if u.spent {
                    Input::spend(u.outpoint)
                } else {
                    Input::reference(u.outpoint)
                });
            }
        }
        for t in self.touched.iter().filter(|t| t.written) {
            let Some(data) = &t.current else { continue };
            let version = t
                .live
                .as_ref()
                .and_then(|(_, o)| o.as_state())
                .map_or(0, |s| s.version.saturating_add(1));
            outputs.push(Output {
                lock: Lock::contract(t.contract),
                body: OutputBody::State(StateBody {
                    contract: t.contract,
                    key: t.key.clone(),
                    data: data.clone(),
                    version,
                }),
            });
        }
        outputs.extend(self.created.iter().cloned());
        Effects { inputs, outputs }
    }
}

fn decode_lock(call: &'static str, bytes: &[u8]) -> Result<Lock, WasmError> {
    let lock: Lock = codec::decode_with_limit(bytes, MAX_ENCODED_ARG)
        .map_err(|e| bad(call, format!("lock: {e}")))?;
    lock.validate()
        .map_err(|e| bad(call, format!("lock: {e}")))?;
    Ok(lock)
}
