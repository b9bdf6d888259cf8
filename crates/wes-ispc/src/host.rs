//! HostABI v1: the host functions a contract may import (module `wes`), their costs, and the
//! bookkeeping they do. This module is independent of the WASM engine: it turns each host call
//! into a trace entry, a compute-unit charge and an effect on the execution's inputs and
//! outputs. See `HOSTABI.md` for the reference.

use std::collections::HashMap;

use wes_core::{
    Address, ContractId, Event, Input, Lock, OutPoint, Output, OutputBody, StateBody, TokenId,
    TraceEntry, ViewError, codec,
};

use crate::error::WasmError;

/// The import module name of HostABI v1.
pub const HOST_MODULE: &str = "wes";
/// The version of the HostABI this crate implements.
pub const HOSTABI_VERSION: u32 = 1;

/// Longest state key, in bytes.
pub const MAX_KEY_LEN: usize = 64;
/// Longest state value, in bytes.
pub const MAX_VALUE_LEN: usize = 4096;
/// Most distinct state keys one call may touch (read or write).
pub const MAX_STATE_KEYS: usize = 32;
/// Most asset outputs one call may create.
pub const MAX_ASSET_OUTPUTS: usize = 16;
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

/// The HostABI v1 functions: name, WASM parameter types (`i` = i32, `I` = i64), result types,
/// and cost. This table is normative: validation checks imports against it.
pub const HOST_FUNCTIONS: &[(&str, &str, &str, HostCost)] = &[
    (
        "height",
        "",
        "I",
        HostCost {
            fixed: 10,
            per_byte: 0,
        },
    ),
    (
        "time_ms",
        "",
        "I",
        HostCost {
            fixed: 10,
            per_byte: 0,
        },
    ),
    (
        "caller",
        "i",
        "",
        HostCost {
            fixed: 20,
            per_byte: 0,
        },
    ),
    (
        "contract",
        "i",
        "",
        HostCost {
            fixed: 20,
            per_byte: 0,
        },
    ),
    (
        "args",
        "ii",
        "i",
        HostCost {
            fixed: 10,
            per_byte: 1,
        },
    ),
    (
        "state_get",
        "iiii",
        "i",
        HostCost {
            fixed: 100,
            per_byte: 1,
        },
    ),
    (
        "state_set",
        "iiii",
        "",
        HostCost {
            fixed: 200,
            per_byte: 2,
        },
    ),
    (
        "output_asset",
        "iiiiI",
        "",
        HostCost {
            fixed: 300,
            per_byte: 1,
        },
    ),
    (
        "emit_event",
        "iiii",
        "",
        HostCost {
            fixed: 50,
            per_byte: 1,
        },
    ),
    (
        "set_return",
        "ii",
        "",
        HostCost {
            fixed: 10,
            per_byte: 1,
        },
    ),
    (
        "abort",
        "ii",
        "",
        HostCost {
            fixed: 0,
            per_byte: 0,
        },
    ),
];

/// The cost of host function `name`.
pub fn host_cost(name: &str) -> Option<HostCost> {
    HOST_FUNCTIONS
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(.., c)| *c)
}

/// Reads the live state of a contract: the chain view, possibly behind a thread boundary.
pub(crate) trait StateSource {
    fn state(
        &mut self,
        contract: &ContractId,
        key: &[u8],
    ) -> Result<Option<(OutPoint, Output)>, ViewError>;
}

/// The chain context the host answers from.
#[derive(Clone, Debug)]
pub(crate) struct HostContext {
    pub contract: ContractId,
    pub caller: Address,
    pub height: u64,
    pub time_ms: u64,
}

/// A state key touched by the call.
#[derive(Debug)]
struct Touched {
    key: Vec<u8>,
    /// The live output before the call.
    live: Option<(OutPoint, Output)>,
    /// The value now (after the call's writes).
    current: Option<Vec<u8>>,
    written: bool,
}

/// What the host has recorded so far for one call.
pub(crate) struct HostState {
    pub ctx: HostContext,
    pub args: Vec<u8>,
    /// In replay mode, the recorded trace the calls must reproduce.
    pub expected: Option<Vec<TraceEntry>>,
    pub trace: Vec<TraceEntry>,
    touched: Vec<Touched>,
    index: HashMap<Vec<u8>, usize>,
    assets: Vec<Output>,
    pub events: Vec<Event>,
    pub return_data: Vec<u8>,
}

/// The effects of a finished call, in their canonical order.
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

impl HostState {
    pub fn new(ctx: HostContext, args: Vec<u8>, expected: Option<Vec<TraceEntry>>) -> Self {
        HostState {
            ctx,
            args,
            expected,
            trace: Vec::new(),
            touched: Vec::new(),
            index: HashMap::new(),
            assets: Vec::new(),
            events: Vec::new(),
            return_data: Vec::new(),
        }
    }

    /// The cost of an entry of `call` with these encoded input and output.
    pub fn cost(call: &'static str, input: &[u8], output: &[u8]) -> u64 {
        let c = host_cost(call).unwrap_or(HostCost {
            fixed: 0,
            per_byte: 0,
        });
        c.fixed.saturating_add(
            c.per_byte
                .saturating_mul((input.len() + output.len()) as u64),
        )
    }

    /// In replay mode, the recorded output of the next entry (used for values the verifier
    /// cannot check, such as `time_ms`).
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
        source: &mut dyn StateSource,
    ) -> Result<usize, WasmError> {
        if let Some(i) = self.index.get(key) {
            return Ok(*i);
        }
        if self.touched.len() >= MAX_STATE_KEYS {
            return Err(bad(call, format!("more than {MAX_STATE_KEYS} state keys")));
        }
        let live = source.state(&self.ctx.contract, key)?;
        let current = match &live {
            Some((_, out)) => match out.as_state() {
                Some(s) if s.contract == self.ctx.contract && s.key == key => Some(s.data.clone()),
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
            key: key.to_vec(),
            live,
            current,
            written: false,
        });
        self.index.insert(key.to_vec(), i);
        Ok(i)
    }

    /// `state_get`: the current value of `key` (reads the chain on first touch).
    pub fn state_get(
        &mut self,
        key: &[u8],
        source: &mut dyn StateSource,
    ) -> Result<Option<Vec<u8>>, WasmError> {
        if key.len() > MAX_KEY_LEN {
            return Err(bad("state_get", format!("key of {} bytes", key.len())));
        }
        let i = self.touch("state_get", key, source)?;
        Ok(self.touched[i].current.clone())
    }

    /// `state_set`: replaces the value of `key`.
    pub fn state_set(
        &mut self,
        key: &[u8],
        value: &[u8],
        source: &mut dyn StateSource,
    ) -> Result<(), WasmError> {
        if key.len() > MAX_KEY_LEN {
            return Err(bad("state_set", format!("key of {} bytes", key.len())));
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(bad("state_set", format!("value of {} bytes", value.len())));
        }
        let i = self.touch("state_set", key, source)?;
        let t = &mut self.touched[i];
        t.current = Some(value.to_vec());
        t.written = true;
        Ok(())
    }

    /// `output_asset`: an asset output with an encoded lock and token.
    pub fn output_asset(
        &mut self,
        lock: &[u8],
        token: &[u8],
        amount: u64,
    ) -> Result<(), WasmError> {
        if self.assets.len() >= MAX_ASSET_OUTPUTS {
            return Err(bad(
                "output_asset",
                format!("more than {MAX_ASSET_OUTPUTS} asset outputs"),
            ));
        }
        let lock: Lock = codec::decode_with_limit(lock, MAX_ENCODED_ARG)
            .map_err(|e| bad("output_asset", format!("lock: {e}")))?;
        lock.validate()
            .map_err(|e| bad("output_asset", format!("lock: {e}")))?;
        let token: TokenId = codec::decode_with_limit(token, MAX_ENCODED_ARG)
            .map_err(|e| bad("output_asset", format!("token: {e}")))?;
        if amount == 0 {
            return Err(bad("output_asset", "zero amount"));
        }
        self.assets
            .push(Output::asset(lock, token, u128::from(amount)));
        Ok(())
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
        self.events.push(Event {
            topic,
            data: data.to_vec(),
        });
        Ok(())
    }

    /// `set_return`.
    pub fn set_return(&mut self, data: &[u8]) -> Result<(), WasmError> {
        if data.len() > MAX_RETURN_LEN {
            return Err(bad("set_return", format!("{} bytes", data.len())));
        }
        self.return_data = data.to_vec();
        Ok(())
    }

    /// The inputs and outputs of the call: touched live states (spent if written, referenced
    /// otherwise) in first-touch order; new State outputs for written keys in first-touch
    /// order, then asset outputs in creation order.
    pub fn effects(&self) -> Effects {
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        for t in &self.touched {
            if let Some((op, _)) = &t.live {
                inputs.push(if t.written {
                    Input::spend(*op)
                } else {
                    Input::reference(*op)
                });
            }
        }
        for t in self.touched.iter().filter(|t| t.written) {
            let version = t
                .live
                .as_ref()
                .and_then(|(_, o)| o.as_state())
                .map_or(0, |s| s.version.saturating_add(1));
            outputs.push(Output {
                lock: Lock::contract(self.ctx.contract),
                body: OutputBody::State(StateBody {
                    contract: self.ctx.contract,
                    key: t.key.clone(),
                    data: t.current.clone().unwrap_or_default(),
                    version,
                }),
            });
        }
        outputs.extend(self.assets.iter().cloned());
        Effects { inputs, outputs }
    }
}
