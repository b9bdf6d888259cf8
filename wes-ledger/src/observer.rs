//! Observers: components that follow the UTXO set (indexers, wallets, resource pinning) are
//! told about every block the ledger applies or reverts, once the change is durable.

use std::collections::BTreeMap;
use std::sync::Mutex;

use wes_core::{Block, ContentId, OutPoint, Output, ResourceStore};

/// Told about each block applied or reverted, after it is committed, in commit order.
///
/// Calls happen while the ledger's write lock is held: keep them short, and never call back
/// into the ledger's writing methods.
pub trait LedgerObserver: Send + Sync {
    /// `block` was applied: `spent` left the UTXO set, `created` entered it (outputs created
    /// and spent within the block appear in neither).
    fn block_applied(
        &self,
        block: &Block,
        spent: &[(OutPoint, Output)],
        created: &[(OutPoint, Output)],
    );

    /// `block` was reverted: `restored` came back into the UTXO set, `removed` left it.
    fn block_reverted(
        &self,
        block: &Block,
        restored: &[(OutPoint, Output)],
        removed: &[(OutPoint, Output)],
    );
}

/// Keeps a resource store's pins equal to the live `Resource` outputs: a created Resource
/// output pins its content, a spent one unpins it, and reverts do the opposite. Content no
/// live output refers to is then removed by the store's `collect_garbage`.
///
/// Pins change after the block is committed: a crash in between leaves the pins a block
/// behind, and a store failure is remembered ([`ResourcePins::last_error`]) rather than
/// failing the block, which is already committed. [`ResourcePins::reconcile`] sets the pins
/// to the ledger's live outputs again: call it when the node starts, before it collects
/// garbage.
pub struct ResourcePins<R> {
    store: R,
    last_error: Mutex<Option<String>>,
}

impl<R: ResourceStore> ResourcePins<R> {
    /// Pins in `store`.
    pub fn new(store: R) -> Self {
        ResourcePins {
            store,
            last_error: Mutex::new(None),
        }
    }

    /// The store.
    pub fn store(&self) -> &R {
        &self.store
    }

    /// The last pinning failure, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().map(|e| e.clone()).unwrap_or(None)
    }

    /// Sets the store's pins to `live` (how many live Resource outputs hold each content, as
    /// [`EutxoLedger::live_resources`](crate::EutxoLedger::live_resources) gives it): pins
    /// what is missing, lifts what no output holds any more. Idempotent; clears
    /// [`last_error`](Self::last_error) when it succeeds.
    ///
    /// # Errors
    /// The store's; the pins are then partly reconciled, and calling again finishes.
    pub fn reconcile(&self, live: &BTreeMap<ContentId, u64>) -> Result<PinChanges, R::Error> {
        let mut changes = PinChanges::default();
        let have: BTreeMap<ContentId, u64> = self.store.pins()?.into_iter().collect();
        for (id, &count) in &have {
            let want = live.get(id).copied().unwrap_or(0);
            for _ in want..count {
                self.store.unpin(id)?;
                changes.unpinned += 1;
            }
        }
        for (id, &want) in live {
            let count = have.get(id).copied().unwrap_or(0);
            for _ in count..want {
                self.store.pin(id)?;
                changes.pinned += 1;
            }
        }
        if let Ok(mut last) = self.last_error.lock() {
            *last = None;
        }
        Ok(changes)
    }

    fn update(&self, pin: &[(OutPoint, Output)], unpin: &[(OutPoint, Output)]) {
        let mut failure = None;
        for (_, output) in pin {
            if let Some(r) = output.as_resource()
                && let Err(e) = self.store.pin(&r.content)
            {
                failure = Some(format!("pin {}: {e}", r.content));
            }
        }
        for (_, output) in unpin {
            if let Some(r) = output.as_resource()
                && let Err(e) = self.store.unpin(&r.content)
            {
                failure = Some(format!("unpin {}: {e}", r.content));
            }
        }
        if let Some(f) = failure
            && let Ok(mut last) = self.last_error.lock()
        {
            *last = Some(f);
        }
    }
}

/// What [`ResourcePins::reconcile`] changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PinChanges {
    /// Pins added (content live outputs hold that the store had not pinned).
    pub pinned: u64,
    /// Pins lifted (content no live output holds any more).
    pub unpinned: u64,
}

impl<R: ResourceStore> LedgerObserver for ResourcePins<R> {
    fn block_applied(
        &self,
        _: &Block,
        spent: &[(OutPoint, Output)],
        created: &[(OutPoint, Output)],
    ) {
        self.update(created, spent);
    }

    fn block_reverted(
        &self,
        _: &Block,
        restored: &[(OutPoint, Output)],
        removed: &[(OutPoint, Output)],
    ) {
        self.update(restored, removed);
    }
}
