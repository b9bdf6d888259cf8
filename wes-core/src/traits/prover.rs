//! Provers and verifiers, looked up by proof-system id.
//!
//! A proof attests that the transaction's [`Execution`](crate::Execution) record is the true
//! result of running its resource: that the inputs it reads and spends, the outputs it
//! creates, its compute units and its trace root are what the computation gives. What backs
//! the proof differs per system and must be named honestly: `replay` re-runs the code against
//! the recorded trace (verification by re-execution, not zero knowledge); a halo2 system proves
//! in zero knowledge; a user may plug in a zkVM or a TEE attestation.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::fault::{Blame, Fault};
use crate::hash::TxId;
use crate::traits::executor::{ExecutionOutcome, SharedView};
use crate::types::transaction::{ProofSystemId, Transaction};

/// Why a proof was not produced or not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The transaction has no execution to prove.
    #[error("transaction {0} has no execution")]
    NoExecution(TxId),
    /// No verifier is registered for the system the transaction names.
    #[error("no verifier for proof system {0}")]
    UnknownSystem(ProofSystemId),
    /// The proof bytes do not parse.
    #[error("{system}: malformed proof: {reason}")]
    Malformed {
        /// The proof system.
        system: ProofSystemId,
        /// What is wrong.
        reason: String,
    },
    /// The proof is well-formed and false: the claim does not hold.
    #[error("{system}: proof rejected: {reason}")]
    Rejected {
        /// The proof system.
        system: ProofSystemId,
        /// What did not match.
        reason: String,
    },
    /// Something the check needs (a resource, an output) is not available yet.
    #[error("{system}: unavailable: {what}")]
    Unavailable {
        /// The proof system.
        system: ProofSystemId,
        /// What is missing.
        what: String,
    },
    /// The prover or verifier itself failed.
    #[error("{system}: backend failure: {reason}")]
    Backend {
        /// The proof system.
        system: ProofSystemId,
        /// What failed.
        reason: String,
    },
}

impl Blame for ProofError {
    fn fault(&self) -> Fault {
        match self {
            ProofError::NoExecution(_)
            | ProofError::UnknownSystem(_)
            | ProofError::Malformed { .. }
            | ProofError::Rejected { .. } => Fault::Input,
            ProofError::Unavailable { .. } => Fault::Unavailable,
            ProofError::Backend { .. } => Fault::Local,
        }
    }
}

/// Produces proofs for one proof system.
///
/// Synchronous, and allowed to block: a prover may take seconds or wait on the network (a
/// remote prover service, a committee of attestors). Nodes call it off their async threads
/// (`wes_node::Node::construct_async`, the RPC's blocking methods), so a slow prover delays
/// only the call it proves.
pub trait Prover: Send + Sync {
    /// The system this prover produces proofs for.
    fn system(&self) -> ProofSystemId;

    /// Proves that `tx`'s execution record is the result of the computation, given the
    /// outcome the executor reported. Returns the proof bytes for the witness.
    fn prove(
        &self,
        tx: &Transaction,
        outcome: &ExecutionOutcome,
        view: &SharedView,
    ) -> Result<Vec<u8>, ProofError>;
}

/// Checks proofs of one proof system, without re-running external effects.
pub trait ProofVerifier: Send + Sync {
    /// The system this verifier checks.
    fn system(&self) -> ProofSystemId;

    /// Accepts `proof` only if it shows that `tx`'s execution record is the true result.
    fn verify(&self, tx: &Transaction, proof: &[u8], view: &SharedView) -> Result<(), ProofError>;
}

/// The verifiers a chain accepts, by proof-system id. A transaction naming a system that is not
/// registered is rejected.
#[derive(Clone, Default)]
pub struct VerifierRegistry {
    verifiers: BTreeMap<ProofSystemId, Arc<dyn ProofVerifier>>,
}

impl VerifierRegistry {
    /// An empty registry: accepts no execution at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a verifier under its system id, returning the one it replaces.
    pub fn register(&mut self, verifier: Arc<dyn ProofVerifier>) -> Option<Arc<dyn ProofVerifier>> {
        self.verifiers.insert(verifier.system(), verifier)
    }

    /// The verifier for `system`.
    pub fn get(&self, system: &ProofSystemId) -> Option<&Arc<dyn ProofVerifier>> {
        self.verifiers.get(system)
    }

    /// The registered systems.
    pub fn systems(&self) -> impl Iterator<Item = &ProofSystemId> {
        self.verifiers.keys()
    }

    /// Verifies `tx`'s execution proof with the verifier its execution names.
    pub fn verify(
        &self,
        tx: &Transaction,
        proof: &[u8],
        view: &SharedView,
    ) -> Result<(), ProofError> {
        let execution = tx
            .execution
            .as_ref()
            .ok_or_else(|| ProofError::NoExecution(tx.id()))?;
        let verifier = self
            .get(&execution.proof_system)
            .ok_or_else(|| ProofError::UnknownSystem(execution.proof_system.clone()))?;
        verifier.verify(tx, proof, view)
    }
}

impl core::fmt::Debug for VerifierRegistry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_set().entries(self.verifiers.keys()).finish()
    }
}
