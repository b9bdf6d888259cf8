//! Contracts off-chain: run a contract compiled natively, in `cargo test`, with no WASM and no
//! node (feature `offchain`).
//!
//! A contract written with the guest SDK (`wes-contract`) and its [`entries!`] macro compiles
//! for the host too: its entry points become plain Rust functions, listed in `ENTRIES`, and
//! every host function forwards to the table this module installs. That table runs the same
//! handlers as the WASM executor (`imports/handlers.rs`) over the same host state, so a call
//! reads and writes state, spends and creates outputs, emits events, makes nested and external
//! calls and is charged for its host calls exactly as on the chain, and its trace is the one
//! the chain would record. Only the guest's own instructions are not metered: natively there
//! is no instruction count, so [`ExecutionOutcome::cu_used`] is what the host calls cost, a
//! lower bound of the on-chain figure.
//!
//! Other differences from the chain, all on the permissive side: a natively compiled test
//! checks integer overflow where a release WASM build wraps, and a contract's `static`s keep
//! their values between calls; the code of a native callee is not counted against
//! `MAX_RESOURCE_BYTES`; value a contract releases with `utxo_spend` and does not place is
//! dropped rather than refused (the ledger accepts it only in a fee token); there are no
//! fees; the SDK's host table is installed per process, so a test binary must link one copy
//! of `wes-contract`.
//!
//! ```ignore
//! #[path = "../contracts/token.rs"]
//! mod token;
//!
//! let mut chain = TestChain::new();
//! let token = chain.deploy("token", token::ENTRIES);
//! let alice = TestChain::address("alice");
//! chain.call(&token, "init", &[], alice)?;
//! assert_eq!(chain.state(&token, b"owner"), Some(alice.0.to_vec()));
//!
//! // Typed, with the ABI `contract!` declared: JSON in, decoded results and events out.
//! let abi = ContractAbi::from_json(&token::ABI_JSON)?;
//! let minted = chain.call_typed(&abi, &token, "mint", json!({"tag": tag, "amount": 5, "to": bob}), alice)?;
//! assert_eq!(minted.events[0].fields, Some(json!({"tag": tag, "amount": "5", "to": bob})));
//! ```
//!
//! [`entries!`]: https://docs.rs/wes-contract

mod chain;
mod guest;
mod typed;

pub use chain::{CallError, ScriptedConnector, ScriptedOp, TestChain};
pub use typed::{TypedEvent, TypedOutcome};
