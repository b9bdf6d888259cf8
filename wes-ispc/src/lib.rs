//! # wes-ispc
//!
//! ISPC, *execute once, verify everywhere*, for WES-rs chains:
//!
//! - [`WasmExecutor`]: WASM contracts compiled by Cranelift (wasmer), metered by a
//!   deterministic compute-unit cost per operator plus per host call, with deploy-time
//!   validation (no floats, HostABI-only imports, declared memory and table maxima, limits on
//!   functions, locals, globals) and a cache of compiled modules by resource id;
//! - HostABI v1 ([`host`], documented in `HOSTABI.md`): chain context, arguments, contract
//!   state, asset outputs, events, return data, abort; every call is charged and traced;
//! - [`construct_call`]: execution is construction, a call becomes a complete transaction with
//!   its execution record and proof;
//! - [`ReplayProver`] / [`ReplayVerifier`]: the `replay` proof system, verification by
//!   re-execution against the recorded trace (**not** zero knowledge).
//!
//! - [`onnx`] (feature `onnx`): ONNX models compiled onto candle, their graph cost, and the
//!   quantized network a chain records; [`construct_inference`] and the `model_infer` host
//!   function;
//! - [`halo2`] (feature `halo2`): the `halo2-ipa` proof system, zero-knowledge proofs that a
//!   model's quantized network maps an input to its outputs.
//!
//! - [`connectors`]: ready-made connectors, among them `HttpConnector` (feature `http`) for
//!   the HTTP protocol of [`protocol`]; [`service`] (feature `service`, on by default) is the library for
//!   writing the remote side, with a conformance test.
//!
//! The WASM part sits behind the `wasm` cargo feature; `onnx` and `halo2` add the rest (all
//! three on by default). The crate implements `wes_core::{Executor, Prover, ProofVerifier}`; a
//! chain that wants another engine or proof system implements those traits instead.

pub mod abi;
pub mod connector;
#[cfg(feature = "wasm")]
pub mod connectors;
mod construct;
#[cfg(feature = "wasm")]
mod depth;
mod error;
#[cfg(feature = "wasm")]
mod executor;
#[cfg(feature = "wasm")]
pub mod host;
#[cfg(feature = "wasm")]
mod imports;
#[cfg(feature = "offchain")]
pub mod offchain;
mod plain;
#[cfg(feature = "http")]
pub mod protocol;
#[cfg(feature = "wasm")]
mod replay;
#[cfg(feature = "service")]
pub mod service;
#[cfg(feature = "wasm")]
mod tunables;
#[cfg(feature = "wasm")]
mod validate;

#[cfg(feature = "halo2")]
pub mod halo2;
#[cfg(feature = "onnx")]
pub mod onnx;

pub use connector::{
    Connector, ConnectorError, Connectors, ExternalOp, Outcome, PendingExternal, SettlementJournal,
};
#[cfg(feature = "wasm")]
pub use construct::construct_call;
#[cfg(feature = "onnx")]
pub use construct::construct_inference;
pub use construct::{CallRequest, ConstructError, ConstructedCall, RunReport};
#[cfg(feature = "wasm")]
pub use depth::MAX_WASM_DEPTH;
pub use error::WasmError;
#[cfg(feature = "wasm")]
pub use executor::{WasmExecutor, operator_cost};
#[cfg(feature = "wasm")]
pub use replay::{
    MAX_REPLAY_PROOF, REPLAY_PROOF_VERSION, REPLAY_SYSTEM, ReplayProver, ReplayVerifier,
    TimeBounds, decode_replay_proof, encode_replay_proof, events_of, replay_system,
};
#[cfg(feature = "wasm")]
pub use validate::{COMPILE_WEIGHT_LIMIT, WasmLimits, compile_weight};

use wes_core::{ChainId, ContentId, ContractId, Domain, Hash, OutPoint, codec, hash};

/// The id of the contract whose code is resource `code`: a contract *is* its code, so the id
/// can be checked by anyone who has the transaction. Two deployments of the same code are the
/// same contract; a contract that needs several instances tells them apart in its state keys
/// or token tags.
pub fn contract_id(code: &ContentId) -> ContractId {
    ContractId(hash(Domain::new("wes-ispc/contract"), code.as_bytes()))
}

/// The id of a top-level call (`call_id` in the HostABI): unique per transaction because it
/// commits to the transaction's first input, which the transaction spends.
pub fn call_id(
    chain_id: ChainId,
    first_input: &OutPoint,
    contract: &ContractId,
    entry: &str,
    args: &[u8],
) -> Hash {
    hash(
        Domain::new("wes-ispc/call-id"),
        codec::encode(&(chain_id, first_input, contract, entry, args)),
    )
}
