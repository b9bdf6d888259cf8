//! The chain as executors and verifiers see it: the ledger's tip plus the resource store.
//! Written once here; every executor, prover and verifier of a node reads through it.

use std::collections::HashMap;
use std::sync::Arc;

use wes_core::{ChainView, ContentId, ContractId, Ledger, OutPoint, Output, ViewError};

use crate::ledger::ChainLedger;
use crate::resources::Resources;

/// [`ChainView`] over a ledger and a resource store. It owns its parts (`Arc`s), so it can
/// be moved to another thread or a blocking task; it takes no lock of the node's, so long
/// work (executions, proofs) never holds up imports, production or RPC reads. The tip may
/// move while it is read: a transaction built on a stale tip is refused at submission like
/// any stale one.
pub struct NodeView<L> {
    ledger: Arc<L>,
    resources: Resources,
    unconfirmed: Arc<HashMap<OutPoint, Output>>,
}

impl<L> Clone for NodeView<L> {
    fn clone(&self) -> Self {
        NodeView {
            ledger: self.ledger.clone(),
            resources: self.resources.clone(),
            unconfirmed: self.unconfirmed.clone(),
        }
    }
}

impl<L: ChainLedger> NodeView<L> {
    /// A view of `ledger` and `resources`.
    pub fn new(ledger: Arc<L>, resources: Resources) -> Self {
        NodeView {
            ledger,
            resources,
            unconfirmed: Arc::default(),
        }
    }

    /// The same view, where `outputs` (of pooled transactions: a construction paying its fee
    /// from pending change) are unspent too.
    pub fn with_unconfirmed(
        mut self,
        outputs: impl IntoIterator<Item = (OutPoint, Output)>,
    ) -> Self {
        self.unconfirmed = Arc::new(outputs.into_iter().collect());
        self
    }
}

fn view_err(e: impl std::fmt::Display) -> ViewError {
    ViewError(e.to_string())
}

impl<L: ChainLedger> ChainView for NodeView<L> {
    fn unspent(&self, outpoint: &OutPoint) -> Result<Option<Output>, ViewError> {
        if let Some(output) = self.unconfirmed.get(outpoint) {
            return Ok(Some(output.clone()));
        }
        self.ledger.unspent(outpoint).map_err(view_err)
    }

    fn state(
        &self,
        contract: &ContractId,
        key: &[u8],
    ) -> Result<Option<(OutPoint, Output)>, ViewError> {
        self.ledger.state(contract, key).map_err(view_err)
    }

    fn resource(&self, id: &ContentId) -> Result<Option<Vec<u8>>, ViewError> {
        self.resources.read(id).map_err(view_err)
    }
}
