//! The errors of the WASM executor, with the evidence and whose fault they are.

use wes_core::{Blame, ContentId, Fault, ViewError};

/// Why a module was refused or a call failed.
///
/// Everything a module or its guest code can cause is [`Fault::Input`]; a missing resource is
/// [`Fault::Unavailable`]; a failing chain view or engine is [`Fault::Local`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WasmError {
    /// The module is larger than the deploy limit.
    #[error("module is {size} bytes, the limit is {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not a valid module under the accepted feature set (this includes every
    /// float type or operator, SIMD, threads, bulk memory, reference types, memory64).
    #[error("invalid or unsupported module: {0}")]
    Invalid(String),
    /// The module imports something that is not a HostABI v1 function with its exact type.
    #[error("forbidden import {module}.{name}: {reason}")]
    ForbiddenImport {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// A required export is missing or has the wrong kind.
    #[error("missing export: {0}")]
    MissingExport(String),
    /// The module's ABI (its `wes:abi` section) is malformed or does not match its exports.
    #[error("contract ABI: {0}")]
    Abi(#[from] crate::abi::AbiError),
    /// A structural limit is exceeded (memory pages, table size, functions, locals…).
    #[error("limit exceeded: {what} is {value}, the limit is {max}")]
    Limit {
        /// What is limited.
        what: &'static str,
        /// The module's value.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// The requested entry is not an exported `() -> ()` function.
    #[error("no exported entry `{0}` of type () -> ()")]
    NoEntry(String),
    /// The call ran out of compute units (instructions and host calls together).
    #[error("out of compute units (limit {limit})")]
    OutOfCu {
        /// The call's limit.
        limit: u64,
    },
    /// The guest trapped (unreachable, out-of-bounds access, stack exhaustion, division by
    /// zero…).
    #[error("guest trapped: {0}")]
    Trap(String),
    /// The guest called `abort`.
    #[error("guest aborted: {0}")]
    Abort(String),
    /// The guest misused a HostABI function (bad pointer, oversized argument, bad encoding,
    /// too many outputs…).
    #[error("host call {call}: {reason}")]
    HostCall {
        /// The HostABI function.
        call: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// During replay, the guest's host call does not match the recorded trace.
    #[error("trace entry {index}: {reason}")]
    TraceMismatch {
        /// Index of the trace entry.
        index: usize,
        /// What differed.
        reason: String,
    },
    /// The code of a resource is not available from the chain view.
    #[error("resource {0} unavailable")]
    ResourceUnavailable(ContentId),
    /// The chain view failed.
    #[error(transparent)]
    View(#[from] ViewError),
    /// No connector of this name is registered on this node.
    #[error("no connector named {0:?} is registered")]
    UnknownConnector(String),
    /// A connector failed or refused the request.
    #[error("connector {connector:?}: {reason}")]
    Connector {
        /// The connector.
        connector: String,
        /// What it said.
        reason: String,
    },
    /// A nested call failed; the whole execution fails with it.
    #[error("nested call of contract {contract}: {source}")]
    Callee {
        /// The called contract.
        contract: wes_core::ContractId,
        /// Why it failed.
        source: Box<WasmError>,
    },
    /// The engine failed on a module that passed validation, or another internal failure.
    #[error("engine failure: {0}")]
    Engine(String),
}

impl Blame for WasmError {
    fn fault(&self) -> Fault {
        match self {
            WasmError::ResourceUnavailable(_) | WasmError::Connector { .. } => Fault::Unavailable,
            WasmError::UnknownConnector(_) => Fault::Local,
            WasmError::Callee { source, .. } => source.fault(),
            WasmError::View(_) | WasmError::Engine(_) => Fault::Local,
            _ => Fault::Input,
        }
    }
}
