//! The five module traits a chain is composed from (DESIGN.md §4).
//!
//! | trait | what it decides | object-safe |
//! |---|---|---|
//! | [`ConsensusEngine`] | which headers are valid, how hard the next one is, which fork wins | yes (`dyn ConsensusEngine`) |
//! | [`Ledger`] | which transactions and blocks are valid, the UTXO state, reorgs | yes, with its `Error` named |
//! | [`ResourceStore`] | where content-addressed bytes live | yes, with its `Error` named |
//! | [`Executor`] | how a contract or model runs and what it produces | yes, with its `Error` named |
//! | [`Prover`] / [`ProofVerifier`] | how an execution is proven and checked, by proof-system id | yes (`dyn`) |
//!
//! Validation and storage traits are synchronous; implementations that are shared between
//! threads take `&self` and use interior mutability.

pub mod consensus;
pub mod executor;
pub mod ledger;
pub mod prover;
pub mod store;

pub use consensus::{CandidateRouter, ConsensusEngine, ConsensusError, HeaderSource, Work};
pub use executor::{
    CallContext, ChainView, Event, ExecutionOutcome, ExecutionRequest, Executor, SharedView,
    ViewError,
};
pub use ledger::{BlockContext, ChainTip, Ledger, TxSummary};
pub use prover::{ProofError, ProofVerifier, Prover, VerifierRegistry};
pub use store::{Chunk, GcReport, ResourceStat, ResourceStore};
