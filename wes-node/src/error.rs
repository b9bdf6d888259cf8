//! What can go wrong in a node, with the evidence.

use wes_core::{Blame, BlockHash, ConsensusError, Fault, ResourceKind};

/// Any error, boxed with its source chain (a ledger's or chain manager's own error type).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a node could not be built, produce a block or serve a request.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The node's configuration is inconsistent (a missing component, a bad value).
    #[error("configuration: {0}")]
    Config(String),
    /// A file or directory of the node could not be used.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The ledger failed or refused (its own error inside, with the rule it named, e.g.
    /// `"disk_full"`).
    #[error("ledger: {source}")]
    Ledger {
        /// The ledger's error.
        source: BoxError,
        /// Its [`Blame::rule`].
        rule: Option<&'static str>,
    },
    /// The chain manager refused a block or failed (its own error inside).
    #[error("chain: {0}")]
    Chain(#[source] BoxError),
    /// The consensus engine refused or failed.
    #[error("consensus: {0}")]
    Consensus(#[from] ConsensusError),
    /// The resource store failed.
    #[error("resource store: {0}")]
    Resources(#[from] crate::resources::ResourceError),
    /// A resource is not what it claims to be (a WASM module or model that its executor
    /// refuses).
    #[error("invalid {kind:?} resource: {reason}")]
    InvalidResource {
        /// The kind it was stored as.
        kind: ResourceKind,
        /// What the executor refused.
        reason: String,
    },
    /// A call could not be constructed.
    #[error("construct: {0}")]
    Construct(#[from] crate::construct::ConstructError),
    /// The settlement of external calls failed (its journal, or an op it cannot follow).
    #[error(transparent)]
    Settlement(#[from] crate::settlement::SettlementError),
    /// A transaction was refused by the mempool or the ledger.
    #[error("transaction refused: {reason}")]
    Rejected {
        /// Why, as the mempool or ledger said it.
        reason: String,
        /// Whose fault: the transaction's ([`Fault::Input`]), or for now only
        /// ([`Fault::Unavailable`]: a full pool, a parent that left it).
        fault: Fault,
        /// The rule that refused it ([`Blame::rule`]), e.g. `"fee_too_low"`.
        rule: Option<&'static str>,
    },
    /// Uploads not yet registered on chain hold `held` bytes, and `size` more would pass the
    /// node's quota `max` ([`UploadConfig`](crate::uploads::UploadConfig)): try again once
    /// earlier uploads are registered or their leases end.
    #[error("upload of {size} bytes refused: uploads hold {held} of at most {max} bytes")]
    UploadQuota {
        /// Bytes held by upload leases.
        held: u64,
        /// The upload's size.
        size: u64,
        /// The quota.
        max: u64,
    },
    /// An upload would take a client's leased bytes past its share
    /// ([`UploadConfig::max_leased_bytes_per_client`](crate::UploadConfig::max_leased_bytes_per_client)):
    /// refused until its earlier uploads are registered or their leases end.
    #[error(
        "upload of {size} bytes refused: client {client}'s uploads hold {held} of at most {max} bytes"
    )]
    ClientUploadQuota {
        /// The client, as the node identifies it.
        client: String,
        /// Bytes its leases hold.
        held: u64,
        /// The upload's size.
        size: u64,
        /// Its share.
        max: u64,
    },
    /// This node has no block producer (it follows the chain only).
    #[error("this node does not produce blocks")]
    NoProducer,
    /// The best chain carries less work than the chain's minimum
    /// ([`Config::min_chain_work`](crate::Config::min_chain_work)): the node syncs before it
    /// produces.
    #[error(
        "the best chain carries {work} work, below the chain's minimum {minimum}: syncing first"
    )]
    BelowMinimumWork {
        /// The best chain's work.
        work: u128,
        /// The minimum.
        minimum: u128,
    },
    /// Block production was cancelled (shutdown).
    #[error("block production cancelled")]
    Cancelled,
    /// A block this node produced did not become the tip: another producer's block for the
    /// same height won (arrived first with more work, or won the tie-break). Normal with
    /// several producers.
    #[error("own block {hash} is not the tip ({outcome}): another block won")]
    LostRace {
        /// The block produced.
        hash: BlockHash,
        /// What the chain made of it.
        outcome: String,
    },
    /// The network failed to start or to answer.
    #[error("network: {0}")]
    Network(#[from] wes_net::NetError),
    /// The RPC server failed to start.
    #[error("rpc: {0}")]
    Rpc(String),
    /// A job the node ran off its async threads did not finish: it panicked, or there is no
    /// runtime to run it on.
    #[error("background job: {0}")]
    Job(String),
}

impl NodeError {
    /// A refusal of the mempool or ledger, with its fault and rule.
    pub fn rejected(e: &(impl std::error::Error + Blame)) -> Self {
        NodeError::Rejected {
            reason: e.to_string(),
            fault: e.fault(),
            rule: e.rule(),
        }
    }

    /// A ledger error, boxed with its rule.
    pub fn ledger(e: impl std::error::Error + Blame + Send + Sync + 'static) -> Self {
        NodeError::Ledger {
            rule: e.rule(),
            source: Box::new(e),
        }
    }

    /// A chain-manager error, boxed.
    pub fn chain(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        NodeError::Chain(Box::new(e))
    }

    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> NodeError {
        let what = what.into();
        move |source| NodeError::Io { what, source }
    }
}

impl Blame for NodeError {
    fn fault(&self) -> Fault {
        match self {
            NodeError::Consensus(e) => e.fault(),
            NodeError::Resources(e) => e.fault(),
            NodeError::Rejected { fault, .. } => *fault,
            NodeError::InvalidResource { .. } => Fault::Input,
            NodeError::Construct(e) => match e {
                crate::construct::ConstructError::Execution(x) => x.fault,
                crate::construct::ConstructError::Contract(c) => c.fault(),
                crate::construct::ConstructError::Proof(p) => p.fault(),
                crate::construct::ConstructError::View(_) => Fault::Local,
                _ => Fault::Input,
            },
            NodeError::LostRace { .. }
            | NodeError::Cancelled
            | NodeError::UploadQuota { .. }
            | NodeError::ClientUploadQuota { .. }
            | NodeError::BelowMinimumWork { .. } => Fault::Unavailable,
            _ => Fault::Local,
        }
    }

    fn rule(&self) -> Option<&'static str> {
        match self {
            NodeError::Rejected { rule, .. } => *rule,
            NodeError::Consensus(e) => e.rule(),
            NodeError::Resources(e) => e.rule(),
            NodeError::InvalidResource { .. } => Some("invalid_resource"),
            NodeError::NoProducer => Some("no_producer"),
            NodeError::BelowMinimumWork { .. } => Some("below_minimum_work"),
            NodeError::UploadQuota { .. } => Some("upload_quota"),
            NodeError::ClientUploadQuota { .. } => Some("client_upload_quota"),
            NodeError::Ledger { rule, .. } => *rule,
            _ => None,
        }
    }
}
