//! The public `KvStore` conformance suite, run against this crate's stores.

use wes_ledger::{MemoryStore, SledStore};

/// A sled store that deletes its directory when dropped.
struct TempSled {
    store: SledStore,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for TempSled {
    type Target = SledStore;
    fn deref(&self) -> &SledStore {
        &self.store
    }
}

fn sled() -> TempSled {
    let dir = tempfile::tempdir().unwrap();
    TempSled {
        store: SledStore::open(dir.path()).unwrap(),
        _dir: dir,
    }
}

wes_ledger::kv_store_tests!(memory => Box::new(MemoryStore::new()));
wes_ledger::kv_store_tests!(sled_store => sled());
wes_ledger::kv_store_durability_tests!(sled_survives_reopening => |dir: &std::path::Path| {
    SledStore::open(dir.join("db")).unwrap()
});
