//! Executors by resource kind. A chain registers one executor per kind it runs (WASM
//! contracts, ONNX models, or a kind of its own, [`ResourceKind::Custom`]); the node checks
//! uploads with the executor of their kind and runs calls on it.

use std::collections::BTreeMap;
use std::sync::Arc;

use wes_core::{
    Blame, ExecutionOutcome, ExecutionRequest, Executor, Fault, ResourceKind, SharedView,
};

/// An executor's failure, with its message and whose fault it is (a failing contract is
/// the input's fault, a failing node is [`Fault::Local`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExecutorError {
    /// Whose fault, as the executor said.
    pub fault: Fault,
    /// The executor's error, as text.
    pub message: String,
}

impl Blame for ExecutorError {
    fn fault(&self) -> Fault {
        self.fault
    }
}

fn erase<E: std::error::Error + Blame>(e: E) -> ExecutorError {
    ExecutorError {
        fault: e.fault(),
        message: e.to_string(),
    }
}

/// An [`Executor`] with its error type erased, so executors of different types sit in one
/// registry. Implemented for every `Executor`.
pub trait DynExecutor: Send + Sync {
    /// The kind it runs.
    fn kind(&self) -> ResourceKind;
    /// Deploy-time checks of `code`.
    fn validate(&self, code: &[u8]) -> Result<(), ExecutorError>;
    /// Runs `request` on `code`.
    fn execute(
        &self,
        code: &[u8],
        request: &ExecutionRequest,
        view: &SharedView,
    ) -> Result<ExecutionOutcome, ExecutorError>;
}

impl<E: Executor> DynExecutor for E {
    fn kind(&self) -> ResourceKind {
        Executor::kind(self)
    }
    fn validate(&self, code: &[u8]) -> Result<(), ExecutorError> {
        Executor::validate(self, code).map_err(erase)
    }
    fn execute(
        &self,
        code: &[u8],
        request: &ExecutionRequest,
        view: &SharedView,
    ) -> Result<ExecutionOutcome, ExecutorError> {
        Executor::execute(self, code, request, view).map_err(erase)
    }
}

/// The executors of a chain, one per resource kind.
#[derive(Clone, Default)]
pub struct Executors {
    by_kind: BTreeMap<ResourceKind, Arc<dyn DynExecutor>>,
}

impl core::fmt::Debug for Executors {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_set().entries(self.by_kind.keys()).finish()
    }
}

impl Executors {
    /// None yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `executor` for the kind it reports, returning the one it replaces.
    pub fn register(&mut self, executor: Arc<dyn DynExecutor>) -> Option<Arc<dyn DynExecutor>> {
        self.by_kind.insert(executor.kind(), executor)
    }

    /// The executor of `kind`.
    pub fn get(&self, kind: ResourceKind) -> Option<&Arc<dyn DynExecutor>> {
        self.by_kind.get(&kind)
    }

    /// The kinds that have an executor.
    pub fn kinds(&self) -> impl Iterator<Item = ResourceKind> + '_ {
        self.by_kind.keys().copied()
    }

    /// Checks `code` as `kind`: with its executor, if the chain has one. Plain files (and
    /// kinds the chain does not execute) are stored unchecked.
    pub fn validate(&self, kind: ResourceKind, code: &[u8]) -> Result<(), ExecutorError> {
        match self.by_kind.get(&kind) {
            Some(executor) => executor.validate(code),
            None => Ok(()),
        }
    }
}
