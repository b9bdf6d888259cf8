//! # wes-node — the WES-rs reference chain
//!
//! A node composed only through the SDK's public crates: the EUTXO ledger on sled
//! (`wes-ledger`), URES on disk (`wes-ures`), PoW + XOR consensus with its chain manager
//! (`wes-consensus`), WASM contracts verified by replay and ONNX models proven with halo2
//! (`wes-ispc`), a mempool and a miner; a JSON-RPC server ([`rpc`], documented in `RPC.md`)
//! and a command-line client (`wes-node --help`).

pub mod client;
pub mod config;
pub mod keys;
pub mod network;
pub mod node;
pub mod rpc;
