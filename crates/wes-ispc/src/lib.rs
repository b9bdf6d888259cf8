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
//! Everything above sits behind the `wasm` cargo feature (on by default). The crate implements
//! `wes_core::{Executor, Prover, ProofVerifier}`; a chain that wants another engine or proof
//! system implements those traits instead.

#[cfg(feature = "wasm")]
mod construct;
#[cfg(feature = "wasm")]
mod error;
#[cfg(feature = "wasm")]
mod executor;
#[cfg(feature = "wasm")]
pub mod host;
#[cfg(feature = "wasm")]
mod replay;
#[cfg(feature = "wasm")]
mod validate;

#[cfg(feature = "wasm")]
pub use construct::{CallRequest, ConstructError, ConstructedCall, construct_call};
#[cfg(feature = "wasm")]
pub use error::WasmError;
#[cfg(feature = "wasm")]
pub use executor::{WasmExecutor, operator_cost};
#[cfg(feature = "wasm")]
pub use replay::{
    MAX_REPLAY_PROOF, REPLAY_PROOF_VERSION, REPLAY_SYSTEM, ReplayProver, ReplayVerifier,
    decode_replay_proof, encode_replay_proof, replay_system,
};
#[cfg(feature = "wasm")]
pub use validate::WasmLimits;
