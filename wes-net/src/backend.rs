//! What the network needs from the node it serves: [`ChainBackend`].
//!
//! [`status`](ChainBackend::status), [`locator`](ChainBackend::locator) and
//! [`check_header`](ChainBackend::check_header) are called on the network's event loop: they
//! must answer from memory without waiting (a cached status, a context-free header check).
//! Everything else is called from blocking threads, so it may take locks, read disks and
//! verify proofs. Imports run one at a time on the network's import worker, in arrival order.

use wes_core::{
    Blame, Block, BlockHash, BlockHeader, Chunk, ContentId, Fault, SignedTransaction, TxId,
};
use wes_ures::SourceError;

use crate::protocol::Status;
use crate::service::NetworkHandle;

/// Why the backend refused something, and whose fault that is: [`Fault::Input`] costs the
/// sending peer score, anything else does not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Rejection {
    /// Whose fault.
    pub fault: Fault,
    /// What was wrong.
    pub message: String,
}

impl Rejection {
    /// A rejection from any error that can say whose fault it is.
    pub fn from_error<E: Blame + std::fmt::Display>(e: &E) -> Self {
        Rejection {
            fault: e.fault(),
            message: e.to_string(),
        }
    }

    /// Invalid data.
    pub fn invalid(message: impl Into<String>) -> Self {
        Rejection {
            fault: Fault::Input,
            message: message.into(),
        }
    }

    /// A failure of this node.
    pub fn local(message: impl Into<String>) -> Self {
        Rejection {
            fault: Fault::Local,
            message: message.into(),
        }
    }
}

impl Blame for Rejection {
    fn fault(&self) -> Fault {
        self.fault
    }
}

/// What importing a block did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Imported {
    /// The best chain now ends in a new tip (extended or reorganised).
    NewTip {
        /// The tip.
        tip: BlockHash,
        /// Its height.
        height: u64,
    },
    /// Stored on a branch that is not the best.
    SideBranch,
    /// Its parent is unknown: the sender is ahead of us and we should sync from it.
    Orphan {
        /// The missing parent.
        missing_parent: BlockHash,
    },
    /// Known already.
    Duplicate,
}

/// The node behind the network.
pub trait ChainBackend: Send + Sync + 'static {
    /// The node's status (genesis, best tip, cumulative work). Called on the event loop:
    /// answer from a cache, never wait for the chain's lock.
    fn status(&self) -> Status;

    /// Hashes of the best chain at `protocol::locator_heights(tip)`, newest first. Called on
    /// the event loop, like [`status`](Self::status).
    fn locator(&self) -> Vec<BlockHash>;

    /// Up to `max` headers of the best chain after the first `locator` hash found on it
    /// (after genesis when none is).
    fn headers_after(&self, locator: &[BlockHash], max: usize) -> Vec<BlockHeader>;

    /// The block `hash`, if stored.
    fn block(&self, hash: &BlockHash) -> Option<Block>;

    /// Whether the block `hash` is known (on any branch).
    fn knows_block(&self, hash: &BlockHash) -> bool;

    /// Context-free checks of a header (proof of work, chain id): cheap enough to run on the
    /// event loop before importing a gossiped block or fetching the body of a synced header.
    fn check_header(&self, header: &BlockHeader) -> Result<(), Rejection>;

    /// Imports a block from a peer. `net` is there to fetch what the block needs (resources
    /// referenced by its executions) before it is verified.
    fn import_block(&self, block: Block, net: &NetworkHandle) -> Result<Imported, Rejection>;

    /// Adds a peer's transaction to the mempool; `Ok(false)` if it was known already. `net`
    /// is there to fetch the resources its execution needs before it is verified.
    ///
    /// Return [`Fault::Input`] only for what is invalid on every chain (format, signatures):
    /// the sender is charged for it. A refusal against this node's chain (a missing input, a
    /// conflict) must use another fault, since an honest peer may know another tip.
    fn import_transaction(
        &self,
        tx: SignedTransaction,
        net: &NetworkHandle,
    ) -> Result<bool, Rejection>;

    /// Adds a peer's batch of transactions to the mempool, in order (a transaction may spend
    /// an output of one before it): one result per transaction, as
    /// [`import_transaction`](Self::import_transaction) gives it. The default imports them
    /// one by one; a backend that can verify signatures together (in batches on all cores)
    /// should do so first.
    fn import_transactions(
        &self,
        txs: &[SignedTransaction],
        net: &NetworkHandle,
    ) -> Vec<Result<bool, Rejection>> {
        txs.iter()
            .map(|tx| self.import_transaction(tx.clone(), net))
            .collect()
    }

    /// Chunk `index` of content `id`, for a peer.
    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, SourceError>;

    /// The size of content `id`, for a peer.
    fn content_size(&self, id: &ContentId) -> Result<u64, SourceError>;

    /// The cumulative work of the chain ending at the known block `hash`, counted as
    /// [`Status::work`] counts it; `None` if the block is unknown. With
    /// [`header_work`](Self::header_work) it lets sync check a peer's claim of more work on
    /// its headers before fetching any body. The default (`None`) trusts the claim.
    fn work_at(&self, hash: &BlockHash) -> Option<u128> {
        let _ = hash;
        None
    }

    /// The work `header` adds to its chain (for proof of work, from its target); `None` if
    /// the backend cannot tell (the default).
    fn header_work(&self, header: &BlockHeader) -> Option<u128> {
        let _ = header;
        None
    }

    /// The mempool's transactions with these ids, one answer per id (`None` for those it
    /// does not hold): a block announced compactly is rebuilt from them, and only the rest
    /// is fetched from the peer. The default holds none, so every transaction of a block is
    /// fetched (correct, only slower).
    fn pooled_transactions(&self, ids: &[TxId]) -> Vec<Option<SignedTransaction>> {
        vec![None; ids.len()]
    }
}
