//! The node's resource store, whatever its type: [`Resources`] erases a
//! [`ResourceStore`]'s error type so the node, the network and the RPC share one store
//! without being generic over it, and reads resources whole for executors and verifiers.

use std::io::Read;
use std::sync::Arc;

use wes_core::{
    Blame, Chunk, ContentId, Fault, GcReport, ResourceKind, ResourceMeta, ResourceStat,
    ResourceStore, ViewError,
};
use wes_ledger::ResourceProvider;

/// A resource store's failure, with the store's message and whose fault it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ResourceError {
    /// Whose fault it is (missing content is [`Fault::Unavailable`], corruption
    /// [`Fault::Local`], a bad request [`Fault::Input`]), as the store said.
    pub fault: Fault,
    /// The store's error, as text.
    pub message: String,
    /// The rule the store named ([`Blame::rule`]), e.g. `"disk_full"`.
    pub rule: Option<&'static str>,
}

impl Blame for ResourceError {
    fn fault(&self) -> Fault {
        self.fault
    }

    fn rule(&self) -> Option<&'static str> {
        self.rule
    }
}

fn erase<E: std::error::Error + Blame>(e: E) -> ResourceError {
    ResourceError {
        fault: e.fault(),
        message: e.to_string(),
        rule: e.rule(),
    }
}

/// [`ResourceStore`] with its error erased: object-safe, implemented for every store.
trait ErasedStore: Send + Sync {
    fn put(
        &self,
        kind: ResourceKind,
        meta: &ResourceMeta,
        data: &mut dyn Read,
    ) -> Result<ResourceStat, ResourceError>;
    fn open(&self, id: &ContentId) -> Result<Box<dyn Read + Send + '_>, ResourceError>;
    fn has(&self, id: &ContentId) -> Result<bool, ResourceError>;
    fn stat(&self, id: &ContentId) -> Result<Option<ResourceStat>, ResourceError>;
    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, ResourceError>;
    fn pin(&self, id: &ContentId) -> Result<(), ResourceError>;
    fn unpin(&self, id: &ContentId) -> Result<(), ResourceError>;
    fn pins(&self) -> Result<Vec<(ContentId, u64)>, ResourceError>;
    fn collect_garbage(&self) -> Result<GcReport, ResourceError>;
}

impl<S: ResourceStore> ErasedStore for S {
    fn put(
        &self,
        kind: ResourceKind,
        meta: &ResourceMeta,
        data: &mut dyn Read,
    ) -> Result<ResourceStat, ResourceError> {
        ResourceStore::put(self, kind, meta, data).map_err(erase)
    }
    fn open(&self, id: &ContentId) -> Result<Box<dyn Read + Send + '_>, ResourceError> {
        ResourceStore::open(self, id).map_err(erase)
    }
    fn has(&self, id: &ContentId) -> Result<bool, ResourceError> {
        ResourceStore::has(self, id).map_err(erase)
    }
    fn stat(&self, id: &ContentId) -> Result<Option<ResourceStat>, ResourceError> {
        ResourceStore::stat(self, id).map_err(erase)
    }
    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, ResourceError> {
        ResourceStore::chunk(self, id, index).map_err(erase)
    }
    fn pin(&self, id: &ContentId) -> Result<(), ResourceError> {
        ResourceStore::pin(self, id).map_err(erase)
    }
    fn unpin(&self, id: &ContentId) -> Result<(), ResourceError> {
        ResourceStore::unpin(self, id).map_err(erase)
    }
    fn pins(&self) -> Result<Vec<(ContentId, u64)>, ResourceError> {
        ResourceStore::pins(self).map_err(erase)
    }
    fn collect_garbage(&self) -> Result<GcReport, ResourceError> {
        ResourceStore::collect_garbage(self).map_err(erase)
    }
}

/// The node's resource store: any [`ResourceStore`], shared. Cloning shares the store.
///
/// It is itself a `ResourceStore` (with [`ResourceError`]), so anything written for stores
/// (the network's verified fetch, `wes_ures::StoreSource`) takes it.
#[derive(Clone)]
pub struct Resources(Arc<dyn ErasedStore>);

impl core::fmt::Debug for Resources {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Resources")
    }
}

impl Resources {
    /// Wraps `store`.
    pub fn new<S: ResourceStore + 'static>(store: S) -> Self {
        Resources(Arc::new(store))
    }

    /// Wraps a shared `store` (the caller keeps its own handle to it).
    pub fn shared<S: ResourceStore + 'static>(store: Arc<S>) -> Self {
        Resources(Arc::new(SharedStore(store)))
    }

    /// The bytes of `id`, verified chunk by chunk; `None` if the store does not hold them.
    ///
    /// # Errors
    /// The store's failure, or corrupted content (never returned as bytes).
    pub fn read(&self, id: &ContentId) -> Result<Option<Vec<u8>>, ResourceError> {
        if !self.0.has(id)? {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        self.0
            .open(id)?
            .read_to_end(&mut bytes)
            .map_err(|e| ResourceError {
                fault: Fault::Local,
                message: format!("reading {id}: {e}"),
                rule: None,
            })?;
        Ok(Some(bytes))
    }
}

/// An `Arc`'d store is a store.
struct SharedStore<S>(Arc<S>);

impl<S: ResourceStore> ResourceStore for SharedStore<S> {
    type Error = S::Error;
    fn put(
        &self,
        kind: ResourceKind,
        meta: &ResourceMeta,
        data: &mut dyn Read,
    ) -> Result<ResourceStat, S::Error> {
        self.0.put(kind, meta, data)
    }
    fn open(&self, id: &ContentId) -> Result<Box<dyn Read + Send + '_>, S::Error> {
        self.0.open(id)
    }
    fn has(&self, id: &ContentId) -> Result<bool, S::Error> {
        self.0.has(id)
    }
    fn stat(&self, id: &ContentId) -> Result<Option<ResourceStat>, S::Error> {
        self.0.stat(id)
    }
    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, S::Error> {
        self.0.chunk(id, index)
    }
    fn pin(&self, id: &ContentId) -> Result<(), S::Error> {
        self.0.pin(id)
    }
    fn unpin(&self, id: &ContentId) -> Result<(), S::Error> {
        self.0.unpin(id)
    }
    fn pins(&self) -> Result<Vec<(ContentId, u64)>, S::Error> {
        self.0.pins()
    }
    fn collect_garbage(&self) -> Result<GcReport, S::Error> {
        self.0.collect_garbage()
    }
}

impl ResourceStore for Resources {
    type Error = ResourceError;
    fn put(
        &self,
        kind: ResourceKind,
        meta: &ResourceMeta,
        data: &mut dyn Read,
    ) -> Result<ResourceStat, ResourceError> {
        self.0.put(kind, meta, data)
    }
    fn open(&self, id: &ContentId) -> Result<Box<dyn Read + Send + '_>, ResourceError> {
        self.0.open(id)
    }
    fn has(&self, id: &ContentId) -> Result<bool, ResourceError> {
        self.0.has(id)
    }
    fn stat(&self, id: &ContentId) -> Result<Option<ResourceStat>, ResourceError> {
        self.0.stat(id)
    }
    fn chunk(&self, id: &ContentId, index: u64) -> Result<Chunk, ResourceError> {
        self.0.chunk(id, index)
    }
    fn pin(&self, id: &ContentId) -> Result<(), ResourceError> {
        self.0.pin(id)
    }
    fn unpin(&self, id: &ContentId) -> Result<(), ResourceError> {
        self.0.unpin(id)
    }
    fn pins(&self) -> Result<Vec<(ContentId, u64)>, ResourceError> {
        self.0.pins()
    }
    fn collect_garbage(&self) -> Result<GcReport, ResourceError> {
        self.0.collect_garbage()
    }
}

impl ResourceProvider for Resources {
    fn resource(&self, id: &ContentId) -> Result<Option<Vec<u8>>, ViewError> {
        self.read(id).map_err(|e| ViewError(e.to_string()))
    }
}
