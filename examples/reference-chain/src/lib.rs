//! # The WES-rs reference chain
//!
//! The [`wes_node`] library with the SDK's default modules — the EUTXO ledger on sled, URES
//! on disk, PoW + XOR, WASM contracts verified by replay, ONNX models proven with halo2 —
//! configured from a TOML file ([`config`]), opened by [`chain::open`], and the `wes-node`
//! binary: the node (`devnet`, `init`, `run`) and a command-line client of its JSON-RPC
//! (`wes_node::Client`; the methods are documented in `wes-node/RPC.md`).

pub mod chain;
pub mod config;
pub mod contract_args;
pub mod contract_tool;
pub mod keys;
