//! The [`KvStore`] conformance suite (feature `testing`): the contract the ledger relies on,
//! checked against any key-value backend. Run it on your own store with
//! [`kv_store_tests!`](crate::kv_store_tests):
//!
//! ```ignore
//! wes_ledger::kv_store_tests!(my_store => Box::new(MyStore::open(dir).unwrap()));
//! // and, for a store on disk, that what was applied survives closing and reopening:
//! wes_ledger::kv_store_durability_tests!(my_store_durable => |dir: &std::path::Path| MyStore::open(dir).unwrap());
//! ```
//!
//! Each check takes a fresh, empty store and panics (like `assert!`) on the first broken
//! promise. Then run a chain on it: `wes_node::NodeBuilder::ledger(|ctx| ctx.eutxo(store))`.

use std::path::Path;

use crate::store::{Batch, KvStore};

fn put(store: &(impl KvStore + ?Sized), pairs: &[(&[u8], &[u8])]) {
    let mut batch = Batch::new();
    for (k, v) in pairs {
        batch.put(k.to_vec(), v.to_vec());
    }
    store.apply(batch).expect("apply a batch");
}

fn get(store: &(impl KvStore + ?Sized), key: &[u8]) -> Option<Vec<u8>> {
    store.get(key).expect("read a key")
}

/// A key never written reads as `None`; an empty batch changes nothing.
pub fn absent_keys_read_none<S: KvStore + ?Sized>(store: &S) {
    assert_eq!(get(store, b"nothing here"), None);
    assert_eq!(get(store, b""), None);
    store.apply(Batch::new()).expect("an empty batch applies");
    assert_eq!(get(store, b"nothing here"), None);
}

/// What a batch puts is read back, byte for byte, for any key and value bytes.
pub fn values_round_trip<S: KvStore + ?Sized>(store: &S) {
    let big = vec![0xA5u8; 1 << 20];
    let binary_key = [0u8, 255, 0, 1];
    put(
        store,
        &[
            (b"a", b"1"),
            (b"", b"the empty key"),
            (&binary_key, b"binary"),
            (b"empty value", b""),
            (b"big", &big),
        ],
    );
    assert_eq!(get(store, b"a").as_deref(), Some(&b"1"[..]));
    assert_eq!(get(store, b"").as_deref(), Some(&b"the empty key"[..]));
    assert_eq!(get(store, &binary_key).as_deref(), Some(&b"binary"[..]));
    assert_eq!(get(store, b"empty value").as_deref(), Some(&b""[..]));
    assert_eq!(get(store, b"big"), Some(big));
    // Keys are exact: no prefix or suffix matches.
    assert_eq!(get(store, b"a\0"), None);
    assert_eq!(get(store, &binary_key[..3]), None);
}

/// Within a batch, writes apply in order: a later write to the same key wins, a delete
/// after a put removes it, a put after a delete restores it.
pub fn later_writes_in_a_batch_win<S: KvStore + ?Sized>(store: &S) {
    let mut batch = Batch::new();
    batch.put(b"k".to_vec(), b"first".to_vec());
    batch.put(b"k".to_vec(), b"second".to_vec());
    batch.put(b"gone".to_vec(), b"x".to_vec());
    batch.delete(b"gone".to_vec());
    batch.delete(b"back".to_vec());
    batch.put(b"back".to_vec(), b"again".to_vec());
    store.apply(batch).expect("apply");
    assert_eq!(get(store, b"k").as_deref(), Some(&b"second"[..]));
    assert_eq!(get(store, b"gone"), None);
    assert_eq!(get(store, b"back").as_deref(), Some(&b"again"[..]));
}

/// Later batches overwrite and delete what earlier ones wrote; deleting an absent key is
/// not an error.
pub fn batches_overwrite_and_delete<S: KvStore + ?Sized>(store: &S) {
    put(store, &[(b"x", b"1"), (b"y", b"2")]);
    put(store, &[(b"x", b"3")]);
    let mut batch = Batch::new();
    batch.delete(b"y".to_vec());
    batch.delete(b"never written".to_vec());
    store.apply(batch).expect("deletes apply");
    assert_eq!(get(store, b"x").as_deref(), Some(&b"3"[..]));
    assert_eq!(get(store, b"y"), None);
}

/// Many keys in one batch, then reads of each: nothing lost, nothing mixed up.
pub fn many_keys_in_one_batch<S: KvStore + ?Sized>(store: &S) {
    let mut batch = Batch::new();
    for i in 0u32..10_000 {
        batch.put(i.to_be_bytes().to_vec(), (i * 7).to_le_bytes().to_vec());
    }
    store.apply(batch).expect("a large batch applies");
    for i in (0u32..10_000).step_by(97) {
        assert_eq!(
            get(store, &i.to_be_bytes()),
            Some((i * 7).to_le_bytes().to_vec())
        );
    }
}

/// A prefix scan returns exactly the keys under the prefix, in key order, with their
/// latest values: deleted keys are gone, neighbours outside the prefix are not included.
pub fn prefix_scans_see_exactly_the_prefix<S: KvStore + ?Sized>(store: &S) {
    put(
        store,
        &[
            (&b"ob"[..], &b"2"[..]),
            (b"oa", b"1"),
            (b"oc", b"3"),
            (b"o", b"bare"),
            (b"p", b"other"),
            (b"n", b"other"),
        ],
    );
    let mut batch = Batch::new();
    batch.delete(b"oc".to_vec());
    batch.put(b"oa".to_vec(), b"1'".to_vec());
    store.apply(batch).expect("a batch applies");
    let found = store.scan_prefix(b"o").expect("a scan");
    let expected: Vec<(Vec<u8>, Vec<u8>)> =
        [(&b"o"[..], &b"bare"[..]), (b"oa", b"1'"), (b"ob", b"2")]
            .iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
    assert_eq!(found, expected);
    assert!(store.scan_prefix(b"zz").expect("a scan").is_empty());

    // Pages: after a key (one of the prefix or not), at most a limit.
    let page =
        |after: Option<&[u8]>, limit| store.scan_prefix_page(b"o", after, limit).expect("a page");
    assert_eq!(page(None, 10), expected);
    assert_eq!(page(None, 2), expected[..2]);
    assert_eq!(page(Some(b"o"), 1), expected[1..2]);
    assert_eq!(page(Some(b"oa"), 10), expected[2..]);
    assert_eq!(page(Some(b"oaa"), 10), expected[2..]);
    assert_eq!(page(Some(b"n"), 10), expected);
    assert!(page(Some(b"ob"), 10).is_empty());
    assert!(page(None, 0).is_empty());
}

/// Readers on other threads while batches apply see, for a pair of keys written together,
/// values of the same batch or of a later one, never an older one after a newer: each
/// batch is applied as a whole.
pub fn concurrent_readers_see_whole_batches<S: KvStore + ?Sized>(store: &S) {
    put(
        store,
        &[(b"p", &0u64.to_le_bytes()), (b"q", &0u64.to_le_bytes())],
    );
    let read =
        |k: &[u8]| u64::from_le_bytes(get(store, k).expect("written").try_into().expect("8 bytes"));
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            for i in 1u64..=300 {
                put(store, &[(b"p", &i.to_le_bytes()), (b"q", &i.to_le_bytes())]);
            }
        });
        for _ in 0..2 {
            s.spawn(|| {
                let mut last = 0;
                while last < 300 {
                    // q is read after p, and batches only raise both: q >= p.
                    let p = read(b"p");
                    let q = read(b"q");
                    assert!(
                        q >= p,
                        "q = {q} older than p = {p}: a batch applied in part"
                    );
                    assert!(p >= last, "p went back from {last} to {p}");
                    last = p;
                }
            });
        }
        writer.join().expect("writer");
    });
}

/// What was applied is there after the store is closed and opened again (`open` opens the
/// store in `dir`; the first store is dropped before the second opens).
pub fn applied_batches_survive_reopening<S: KvStore>(dir: &Path, open: impl Fn(&Path) -> S) {
    {
        let store = open(dir);
        put(&store, &[(b"kept", b"yes"), (b"replaced", b"old")]);
        put(&store, &[(b"replaced", b"new")]);
        let mut batch = Batch::new();
        batch.delete(b"kept-deleted".to_vec());
        store.apply(batch).expect("apply");
    }
    let store = open(dir);
    assert_eq!(get(&store, b"kept").as_deref(), Some(&b"yes"[..]));
    assert_eq!(get(&store, b"replaced").as_deref(), Some(&b"new"[..]));
    assert_eq!(get(&store, b"kept-deleted"), None);
}

/// Generates one `#[test]` per check of this suite in a module `$name`, each on a fresh
/// store made by `$make` (something that dereferences to the store: a `Box`, an `Arc`, or a
/// guard that also removes its directory).
#[macro_export]
macro_rules! kv_store_tests {
    ($name:ident => $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::kv_store_tests!(@tests $make;
                absent_keys_read_none,
                values_round_trip,
                later_writes_in_a_batch_win,
                batches_overwrite_and_delete,
                many_keys_in_one_batch,
                prefix_scans_see_exactly_the_prefix,
                concurrent_readers_see_whole_batches,
            );
        }
    };
    (@tests $make:expr; $($check:ident,)*) => {$(
        #[test]
        fn $check() {
            let store = $make;
            $crate::conformance::$check(&*store);
        }
    )*};
}

/// Generates the durability test for a store on disk: `$open` is a closure opening the
/// store in a directory (a fresh temporary one per test).
#[macro_export]
macro_rules! kv_store_durability_tests {
    ($name:ident => $open:expr) => {
        #[test]
        fn $name() {
            let dir = ::std::env::temp_dir().join(format!(
                "wes-kv-conformance-{}-{}",
                ::std::process::id(),
                stringify!($name)
            ));
            let _ = ::std::fs::remove_dir_all(&dir);
            ::std::fs::create_dir_all(&dir).expect("create a test directory");
            $crate::conformance::applied_batches_survive_reopening(&dir, $open);
            let _ = ::std::fs::remove_dir_all(&dir);
        }
    };
}
