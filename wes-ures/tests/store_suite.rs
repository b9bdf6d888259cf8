//! The public `ResourceStore` conformance suite (`wes_ures::conformance`), run against every
//! store of this crate, and the error variants these stores report.

use std::ops::Deref;

use wes_core::{ResourceKind, ResourceMeta, ResourceStore};
use wes_ures::{CHUNK_SIZE, DiskStore, Durability, MemoryStore, StoreError, content_id};

/// A `DiskStore` that deletes its directory when dropped.
struct TempDisk {
    store: DiskStore,
    _dir: tempfile::TempDir,
}

impl Deref for TempDisk {
    type Target = DiskStore;
    fn deref(&self) -> &DiskStore {
        &self.store
    }
}

fn disk(durability: Durability) -> TempDisk {
    let dir = tempfile::tempdir().unwrap();
    TempDisk {
        store: DiskStore::open_with(dir.path(), durability).unwrap(),
        _dir: dir,
    }
}

wes_ures::resource_store_tests!(memory => Box::new(MemoryStore::new()));
wes_ures::resource_store_tests!(disk_sync => disk(Durability::Sync));
wes_ures::resource_store_tests!(disk_os => disk(Durability::Os));

/// Beyond the suite's faults: the typed errors this crate's stores give, with evidence.
fn errors_name_what_went_wrong(store: &dyn ResourceStore<Error = StoreError>) {
    let absent = content_id(b"never stored");
    assert!(matches!(
        store.open(&absent).err(),
        Some(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.chunk(&absent, 0),
        Err(StoreError::NotFound { .. })
    ));
    let meta = ResourceMeta::default();
    let stat = store
        .put(ResourceKind::File, &meta, &mut &[1u8; 10][..])
        .unwrap();
    assert!(matches!(
        store.chunk(&stat.id, 1),
        Err(StoreError::ChunkOutOfRange { .. })
    ));
    assert!(matches!(
        store.unpin(&stat.id),
        Err(StoreError::NotPinned { .. })
    ));
    let broken = store.put(
        ResourceKind::File,
        &meta,
        &mut wes_ures::conformance::Broken::after(CHUNK_SIZE + 1),
    );
    assert!(
        matches!(broken, Err(StoreError::Source { .. })),
        "{broken:?}"
    );
}

#[test]
fn memory_errors_name_what_went_wrong() {
    errors_name_what_went_wrong(&MemoryStore::new());
}

#[test]
fn disk_errors_name_what_went_wrong() {
    errors_name_what_went_wrong(&*disk(Durability::Os));
}
