//! The in-memory backend, for tests, simulations and light clients.

use std::collections::HashMap;
use std::sync::RwLock;

use super::{Batch, KeyValues, KvStore};
use crate::error::StoreError;

/// A [`KvStore`] in a hash map. Nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: RwLock<HashMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl KvStore for MemoryStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let map = self
            .map
            .read()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))?;
        Ok(map.get(key).cloned())
    }

    fn apply(&self, batch: Batch) -> Result<(), StoreError> {
        let mut map = self
            .map
            .write()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))?;
        for (key, value) in batch.ops {
            match value {
                Some(v) => map.insert(key, v),
                None => map.remove(&key),
            };
        }
        Ok(())
    }

    /// A walk of the whole map (a hash map): fine for tests and simulations.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<KeyValues, StoreError> {
        let map = self
            .map
            .read()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))?;
        let mut found: KeyValues = map
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        found.sort();
        Ok(found)
    }
}
