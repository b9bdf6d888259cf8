//! Views of the UTXO set that validation reads: the store at the tip, plus what earlier
//! transactions of the same block created and spent.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use wes_core::{ChainView, ContentId, ContractId, OutPoint, Output, ViewError};

use crate::error::StoreError;
use crate::store::KvStore;
use crate::store::tables::Tables;

/// Where the bytes of resources come from when a proof verifier needs them (URES in a node).
pub trait ResourceProvider: Send + Sync {
    /// The verified bytes of resource `id`, if held.
    fn resource(&self, id: &ContentId) -> Result<Option<Vec<u8>>, ViewError>;
}

/// Read access to unspent outputs and the live-state index.
pub(crate) trait UtxoView: Sync {
    fn utxo(&self, op: &OutPoint) -> Result<Option<Output>, StoreError>;
    fn state(&self, contract: &ContractId, key: &[u8]) -> Result<Option<OutPoint>, StoreError>;
}

impl<S: KvStore> UtxoView for Tables<S> {
    fn utxo(&self, op: &OutPoint) -> Result<Option<Output>, StoreError> {
        Tables::utxo(self, op)
    }
    fn state(&self, contract: &ContractId, key: &[u8]) -> Result<Option<OutPoint>, StoreError> {
        Tables::state(self, contract, key)
    }
}

/// The store plus the effects of the transactions already validated in this block.
pub(crate) struct Overlay<'a> {
    base: &'a dyn UtxoView,
    created: HashMap<OutPoint, Output>,
    spent: HashSet<OutPoint>,
    states: HashMap<(ContractId, Vec<u8>), Option<OutPoint>>,
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a dyn UtxoView) -> Self {
        Overlay {
            base,
            created: HashMap::new(),
            spent: HashSet::new(),
            states: HashMap::new(),
        }
    }

    /// Records that `op` was spent.
    pub fn spend(&mut self, op: &OutPoint, output: &Output) {
        if self.created.remove(op).is_none() {
            self.spent.insert(*op);
        }
        if let Some(state) = output.as_state() {
            self.states
                .insert((state.contract, state.key.clone()), None);
        }
    }

    /// Records that `op` was created.
    pub fn create(&mut self, op: OutPoint, output: Output) {
        if let Some(state) = output.as_state() {
            self.states
                .insert((state.contract, state.key.clone()), Some(op));
        }
        self.created.insert(op, output);
    }
}

impl UtxoView for Overlay<'_> {
    fn utxo(&self, op: &OutPoint) -> Result<Option<Output>, StoreError> {
        if let Some(o) = self.created.get(op) {
            return Ok(Some(o.clone()));
        }
        if self.spent.contains(op) {
            return Ok(None);
        }
        self.base.utxo(op)
    }

    fn state(&self, contract: &ContractId, key: &[u8]) -> Result<Option<OutPoint>, StoreError> {
        match self.states.get(&(*contract, key.to_vec())) {
            Some(entry) => Ok(*entry),
            None => self.base.state(contract, key),
        }
    }
}

/// Adapts a [`UtxoView`] to the [`ChainView`] that executors and verifiers read.
pub(crate) struct VerifierView<'a> {
    pub view: &'a dyn UtxoView,
    pub resources: Option<&'a Arc<dyn ResourceProvider>>,
}

fn view_error(e: StoreError) -> ViewError {
    ViewError(e.to_string())
}

impl ChainView for VerifierView<'_> {
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
        match self.resources {
            Some(r) => r.resource(id),
            None => Ok(None),
        }
    }
}
