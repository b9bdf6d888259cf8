//! The user-written backend under the real ledger: blocks survive reopening, and a torn
//! record from a crash mid-append leaves the store at the last whole batch.

use std::io::Write;

use wes_custom_store::{LogStore, demo};
use wes_ledger::{Batch, KvStore};

#[test]
fn the_chain_continues_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.log");
    assert_eq!(
        demo::run(LogStore::open(&path).unwrap(), 3).unwrap(),
        (0, 3)
    );
    assert_eq!(
        demo::run(LogStore::open(&path).unwrap(), 2).unwrap(),
        (3, 5)
    );
    assert_eq!(
        demo::balance_of_bob(LogStore::open(&path).unwrap()).unwrap(),
        5_000
    );
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
