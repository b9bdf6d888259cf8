//! Executors: run a contract or model once and report what it produced.

use crate::address::Address;
use crate::fault::Blame;
use crate::hash::{ContentId, ContractId, Hash};
use crate::types::output::{Output, ResourceKind};
use crate::types::trace::TraceEntry;
use crate::types::transaction::{ChainId, Input, OutPoint};

/// The chain context a call runs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallContext {
    /// The chain.
    pub chain_id: ChainId,
    /// Height of the block the result is meant for.
    pub height: u64,
    /// Time of that block, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The caller's address.
    pub caller: Address,
    /// The contract called.
    pub contract: ContractId,
    /// Hash of the signed call request, unique per call.
    pub request: Hash,
}

/// A call to execute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionRequest {
    /// Where and for whom it runs.
    pub context: CallContext,
    /// The code or model to run.
    pub resource: ContentId,
    /// The entry point.
    pub entry: String,
    /// Arguments.
    pub args: Vec<u8>,
    /// The most compute units it may use.
    pub cu_limit: u64,
}

/// A log event emitted by a contract.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// The contract that emitted it (a callee's own id inside a nested call).
    pub contract: ContractId,
    /// What happened.
    pub topic: String,
    /// Details.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// What an execution produced: the raw material of the transaction that carries it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecutionOutcome {
    /// Compute units used.
    pub cu_used: u64,
    /// Outputs spent or read.
    pub inputs: Vec<Input>,
    /// Outputs created.
    pub outputs: Vec<Output>,
    /// Data returned to the caller.
    pub return_data: Vec<u8>,
    /// Events emitted.
    pub events: Vec<Event>,
    /// Every host call with its result.
    pub trace: Vec<TraceEntry>,
}

/// A failure to read chain data during execution or verification: the node's problem, not
/// the computation's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chain view: {0}")]
pub struct ViewError(pub String);

/// Read access to the chain for executors and verifiers.
pub trait ChainView: Send + Sync {
    /// The unspent output at `outpoint`.
    fn unspent(&self, outpoint: &OutPoint) -> Result<Option<Output>, ViewError>;

    /// The live State output of `contract` under `key`.
    fn state(
        &self,
        contract: &ContractId,
        key: &[u8],
    ) -> Result<Option<(OutPoint, Output)>, ViewError>;

    /// The bytes of a resource, verified against its id.
    fn resource(&self, id: &ContentId) -> Result<Option<Vec<u8>>, ViewError>;

    /// The block the transaction is checked for (its height and time), when the view
    /// belongs to one: the ledger's views during admission, block building and import say;
    /// a view of the tip alone does not (`None`, the default). Verifiers use it to bind what
    /// an execution saw of time to the block that includes it.
    fn block(&self) -> Option<crate::BlockContext> {
        None
    }
}

/// An owned handle on a [`ChainView`], as executors, provers and verifiers receive it.
///
/// Owned so that an implementation may keep it for the length of a run: the WASM executor
/// puts it in the host state its imported functions read, a remote prover may hand it to the
/// task that answers the prover's reads. It reads the chain as of the call it was passed to;
/// keeping it past that call is allowed, but what it then reads is unspecified.
pub type SharedView = std::sync::Arc<dyn ChainView>;

/// Runs one kind of resource (WASM contracts, ONNX models…).
///
/// Contract: execution is deterministic: the same code, request and chain view give the
/// same outcome, compute units included, on every machine. Running out of compute units is
/// a deterministic error, not a partial outcome.
pub trait Executor: Send + Sync {
    /// The executor's error; [`Blame`] tells a failing contract from a failing node.
    type Error: std::error::Error + Blame + Send + Sync + 'static;

    /// The kind of resource this executor runs.
    fn kind(&self) -> ResourceKind;

    /// Deploy-time checks of code (imports, limits, supported operations).
    fn validate(&self, code: &[u8]) -> Result<(), Self::Error>;

    /// Runs `request` on `code`.
    fn execute(
        &self,
        code: &[u8],
        request: &ExecutionRequest,
        view: &SharedView,
    ) -> Result<ExecutionOutcome, Self::Error>;
}
