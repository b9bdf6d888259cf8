//! [`MemoryStore`]: op records and an application state in memory, for tests and demos.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use wes_core::Hash;

use super::{OpStore, ServiceError, ServiceRecord};

struct Inner<A> {
    records: HashMap<Hash, ServiceRecord>,
    app: A,
}

/// A store in memory: the records and an application state `A`. A transaction works on a
/// copy of `A` and replaces it only when the work succeeds, so an error leaves nothing
/// written, as a database transaction would. Nothing survives the process: a real service
/// uses a database (the order-chain example's warehouse uses PostgreSQL).
pub struct MemoryStore<A> {
    inner: Mutex<Inner<A>>,
}

impl<A> std::fmt::Debug for MemoryStore<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("records", &self.lock().records.len())
            .finish_non_exhaustive()
    }
}

impl<A> MemoryStore<A> {
    /// A store starting with application state `app`.
    pub fn new(app: A) -> Self {
        MemoryStore {
            inner: Mutex::new(Inner {
                records: HashMap::new(),
                app,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<A>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the application state.
    pub fn read<R>(&self, f: impl FnOnce(&A) -> R) -> R {
        f(&self.lock().app)
    }

    /// Every record, in no particular order.
    pub fn records(&self) -> Vec<ServiceRecord> {
        self.lock().records.values().cloned().collect()
    }
}

/// A transaction of a [`MemoryStore`]: the copy of the application state it works on.
#[derive(Debug)]
pub struct MemoryTx<A> {
    /// The application state, written by the effects.
    pub app: A,
}

impl<A: Clone + Send> OpStore for MemoryStore<A> {
    type Tx<'a>
        = MemoryTx<A>
    where
        Self: 'a;

    fn atomically<R>(
        &self,
        id: &Hash,
        work: impl FnOnce(
            &mut MemoryTx<A>,
            Option<ServiceRecord>,
        ) -> Result<(Option<ServiceRecord>, R), ServiceError>,
    ) -> Result<R, ServiceError> {
        // One lock for the whole transaction: requests are serialised, as the rows of one
        // op would be by a database's row lock.
        let mut inner = self.lock();
        let mut tx = MemoryTx {
            app: inner.app.clone(),
        };
        let (record, result) = work(&mut tx, inner.records.get(id).cloned())?;
        inner.app = tx.app;
        if let Some(record) = record {
            inner.records.insert(*id, record);
        }
        Ok(result)
    }

    fn record(&self, id: &Hash) -> Result<Option<ServiceRecord>, ServiceError> {
        Ok(self.lock().records.get(id).cloned())
    }
}
