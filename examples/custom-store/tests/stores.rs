//! The user-written stores pass the SDK's conformance suites and run a chain: blocks and
//! the registered file survive reopening, and a torn record from a crash mid-append leaves
//! the log at the last whole batch.

use std::io::Write;

use wes_custom_store::{DirStore, LogStore, demo};
use wes_ledger::{Batch, KvStore};

/// A store with the temporary directory it lives in (removed when dropped).
struct InTemp<S> {
    store: S,
    _dir: tempfile::TempDir,
}

impl<S> std::ops::Deref for InTemp<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.store
    }
}

fn in_temp<S>(open: impl FnOnce(&std::path::Path) -> S) -> InTemp<S> {
    let dir = tempfile::tempdir().unwrap();
    InTemp {
        store: open(dir.path()),
        _dir: dir,
    }
}

wes_ledger::kv_store_tests!(log_store => in_temp(|d| LogStore::open(d.join("kv.log")).unwrap()));
wes_ledger::kv_store_durability_tests!(log_store_survives_reopening => |d: &std::path::Path| {
    LogStore::open(d.join("kv.log")).unwrap()
});
wes_ures::resource_store_tests!(dir_store => in_temp(|d| DirStore::open(d).unwrap()));

#[test]
fn the_chain_continues_from_the_stores() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(demo::run(dir.path(), 3).unwrap(), (0, 3));
    assert_eq!(demo::run(dir.path(), 2).unwrap(), (3, 5));
    assert_eq!(demo::balance_of_bob(dir.path()).unwrap(), 5_000);
    let (id, bytes) = demo::registered_file(dir.path()).unwrap();
    assert_eq!(bytes, demo::FILE);
    assert_eq!(id, wes_ures::content_id(demo::FILE));
}

#[test]
fn a_file_changed_on_disk_is_reported_not_returned() {
    use wes_core::{ResourceKind, ResourceMeta, ResourceStore};
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::open(dir.path()).unwrap();
    let data = vec![7u8; 3 * wes_ures::CHUNK_SIZE];
    let id = store
        .put(ResourceKind::File, &ResourceMeta::default(), &mut &data[..])
        .unwrap()
        .id;
    let path = dir.path().join("objects").join(id.to_string());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[wes_ures::CHUNK_SIZE + 5] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let mut read = Vec::new();
    let err = std::io::Read::read_to_end(&mut store.open(&id).unwrap(), &mut read).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert_eq!(
        read.len(),
        wes_ures::CHUNK_SIZE,
        "only the intact first chunk"
    );
    assert!(store.chunk(&id, 1).is_err());
    assert!(store.chunk(&id, 0).is_ok());
}

#[test]
fn a_torn_last_record_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.log");
    let store = LogStore::open(&path).unwrap();
    let mut b = Batch::new();
    b.put(b"a".to_vec(), b"1".to_vec());
    b.put(b"b".to_vec(), b"2".to_vec());
    store.apply(b).unwrap();
    let mut b = Batch::new();
    b.delete(b"a".to_vec());
    b.put(b"c".to_vec(), b"3".to_vec());
    store.apply(b).unwrap();
    drop(store);
    let whole = std::fs::metadata(&path).unwrap().len();
    // A crash mid-append: half a record at the end.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(&[40, 0, 0, 0, 1, 2, 3]).unwrap();
    drop(f);
    let store = LogStore::open(&path).unwrap();
    assert_eq!(store.get(b"a").unwrap(), None);
    assert_eq!(store.get(b"b").unwrap(), Some(b"2".to_vec()));
    assert_eq!(store.get(b"c").unwrap(), Some(b"3".to_vec()));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), whole);
    // A corrupted (not torn) last record is cut too: its hash no longer matches.
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let store = LogStore::open(&path).unwrap();
    assert_eq!(
        store.get(b"a").unwrap(),
        Some(b"1".to_vec()),
        "back to the first batch"
    );
    assert_eq!(store.get(b"c").unwrap(), None);
}

#[test]
fn a_damaged_record_in_the_middle_is_an_error_not_a_silent_loss() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.log");
    let store = LogStore::open(&path).unwrap();
    for i in 0..3u8 {
        let mut b = Batch::new();
        b.put(vec![i], vec![i; 8]);
        store.apply(b).unwrap();
    }
    drop(store);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[40] ^= 0xff; // inside the first record's payload
    std::fs::write(&path, &bytes).unwrap();
    assert!(LogStore::open(&path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "nothing cut");
}
