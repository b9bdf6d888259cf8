//! Views of the UTXO set that validation reads: the store at the tip, plus what earlier
//! transactions of the same block created and spent.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use wes_core::{BlockContext, ChainView, ContentId, ContractId, OutPoint, Output, ViewError};

use crate::error::StoreError;
use crate::store::KvStore;
use crate::store::tables::Tables;

/// Where the bytes of resources come from when a proof verifier needs them (URES in a node).
pub trait ResourceProvider: Send + Sync {
    /// The verified bytes of resource `id`, if held.
    fn resource(&self, id: &ContentId) -> Result<Option<Vec<u8>>, ViewError>;
}

/// Read access to unspent outputs and the live-state index.
pub(crate) trait UtxoView: Send + Sync {
    fn utxo(&self, op: &OutPoint) -> Result<Option<Output>, StoreError>;
    fn state(&self, contract: &ContractId, key: &[u8]) -> Result<Option<OutPoint>, StoreError>;
}

/// An owned [`UtxoView`]: what a proof verifier's [`ChainView`] is built on, so that the
/// verifier may keep it for the length of its run.
pub(crate) type SharedUtxo = Arc<dyn UtxoView>;

impl<S: KvStore> UtxoView for Tables<S> {
    fn utxo(&self, op: &OutPoint) -> Result<Option<Output>, StoreError> {
        Tables::utxo(self, op)
    }
    fn state(&self, contract: &ContractId, key: &[u8]) -> Result<Option<OutPoint>, StoreError> {
        Tables::state(self, contract, key)
    }
}

/// What the transactions already validated in a block created and spent.
#[derive(Default)]
struct Changes {
    created: HashMap<OutPoint, Output>,
    spent: HashSet<OutPoint>,
    states: HashMap<(ContractId, Vec<u8>), Option<OutPoint>>,
}

/// The store plus the effects of the transactions already validated in this block.
///
/// Shared (an `Arc`) so that a verifier can hold it while it runs; the block's validation
/// loop records each transaction's effects between verifications, never during one.
pub(crate) struct Overlay {
    base: SharedUtxo,
    changes: RwLock<Changes>,
}

impl Overlay {
    pub fn new(base: SharedUtxo) -> Arc<Self> {
        Arc::new(Overlay {
            base,
            changes: RwLock::new(Changes::default()),
        })
    }

    fn changes(&self) -> RwLockReadGuard<'_, Changes> {
        // The lock guards plain maps: a panic while it was held cannot leave them torn.
        self.changes.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn changes_mut(&self) -> RwLockWriteGuard<'_, Changes> {
        self.changes.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that `op` was spent.
    pub fn spend(&self, op: &OutPoint, output: &Output) {
        let mut changes = self.changes_mut();
        if changes.created.remove(op).is_none() {
            changes.spent.insert(*op);
        }
        if let Some(state) = output.as_state() {
            changes
                .states
                .insert((state.contract, state.key.clone()), None);
        }
    }

    /// Records that `op` was created.
    pub fn create(&self, op: OutPoint, output: Output) {
        let mut changes = self.changes_mut();
        if let Some(state) = output.as_state() {
            changes
                .states
                .insert((state.contract, state.key.clone()), Some(op));
        }
        changes.created.insert(op, output);
    }
}

impl UtxoView for Overlay {
    fn utxo(&self, op: &OutPoint) -> Result<Option<Output>, StoreError> {
        {
            let changes = self.changes();
            if let Some(o) = changes.created.get(op) {
                return Ok(Some(o.clone()));
            }
            if changes.spent.contains(op) {
                return Ok(None);
            }
        }
        self.base.utxo(op)
    }

    fn state(&self, contract: &ContractId, key: &[u8]) -> Result<Option<OutPoint>, StoreError> {
        let local = self
            .changes()
            .states
            .get(&(*contract, key.to_vec()))
            .copied();
        match local {
            Some(entry) => Ok(entry),
            None => self.base.state(contract, key),
        }
    }
}

/// Adapts a [`UtxoView`] to the [`ChainView`] that executors and verifiers read.
pub(crate) struct VerifierView {
    pub view: SharedUtxo,
    pub resources: Option<Arc<dyn ResourceProvider>>,
    /// The block the transaction is checked for.
    pub block: BlockContext,
}

fn view_error(e: StoreError) -> ViewError {
    ViewError(e.to_string())
}

impl ChainView for VerifierView {
    fn unspent(&self, outpoint: &OutPoint) -> Result<Option<Output>, ViewError> {
        self.view.utxo(outpoint).map_err(view_error)
    }

    fn state(
        &self,
        contract: &ContractId,
        key: &[u8],
    ) -> Result<Option<(OutPoint, Output)>, ViewError> {
        let Some(op) = self.view.state(contract, key).map_err(view_error)? else {
            return Ok(None);
        };
        Ok(self
            .view
            .utxo(&op)
            .map_err(view_error)?
            .map(|output| (op, output)))
    }

    fn resource(&self, id: &ContentId) -> Result<Option<Vec<u8>>, ViewError> {
        match &self.resources {
            Some(r) => r.resource(id),
            None => Ok(None),
        }
    }

    fn block(&self) -> Option<BlockContext> {
        Some(self.block)
    }
}
