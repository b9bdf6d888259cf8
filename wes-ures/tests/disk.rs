//! The persistent store: corruption on disk, reopening, deduplication on disk, crash
//! leftovers, format checks and the refusal to write after a failed write.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::Path;

use wes_core::{Blame, Fault, ResourceKind, ResourceMeta, ResourceStore};
use wes_ures::{CHUNK_SIZE, DiskStore, Durability, MemoryStore, StoreError, content_id};

const C: usize = CHUNK_SIZE;

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(17).wrapping_add(seed) ^ (i >> 9) as u8)
        .collect()
}

fn put(store: &impl ResourceStore<Error = StoreError>, data: &[u8]) -> wes_core::ResourceStat {
    store
        .put(ResourceKind::File, &ResourceMeta::default(), &mut &data[..])
        .unwrap()
}

fn flip_byte(path: &Path, offset: u64) {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8];
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.read_exact(&mut b).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(&[b[0] ^ 0x01]).unwrap();
}

/// Total bytes of regular files under `dir`.
fn du(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            du(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

#[test]
fn a_flipped_byte_on_disk_is_reported_as_corruption_never_returned() {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::open(dir.path()).unwrap();
    let data = bytes(3 * C, 1);
    let id = put(&store, &data).id;
    flip_byte(&store.object_path(&id), (C + 1234) as u64);

    // Whole reads fail with the evidence, blaming this node.
    let err = store.get(&id).unwrap_err();
    let StoreError::Corrupt {
        id: bad,
        index,
        expected,
        got,
    } = &err
    else {
        panic!("expected corruption, got {err}");
    };
    assert_eq!((*bad, *index), (id, 1));
    assert_ne!(expected, got);
    assert_eq!(err.fault(), Fault::Local);
    assert!(err.is_corruption());

    // A streaming reader hands out chunk 0, then fails without a byte of chunk 1.
    let mut reader = store.open(&id).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1000];
    let io_err = loop {
        match reader.read(&mut buf) {
            Ok(0) => panic!("corrupt content read to the end"),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => break e,
        }
    };
    assert_eq!(out, &data[..C]);
    assert_eq!(io_err.kind(), ErrorKind::InvalidData);
    assert!(matches!(
        StoreError::from_read(io_err, "x"),
        StoreError::Corrupt { index: 1, .. }
    ));
    // It keeps failing: a reader never reports the end of content it could not verify.
    for _ in 0..2 {
        let again = reader.read(&mut buf).unwrap_err();
        assert!(matches!(
            StoreError::from_read(again, "x"),
            StoreError::Corrupt { index: 1, .. }
        ));
    }

    // Chunks: the damaged one is refused, the others still served.
    assert!(matches!(
        store.chunk(&id, 1).unwrap_err(),
        StoreError::Corrupt { index: 1, .. }
    ));
    store.chunk(&id, 0).unwrap();
    store.chunk(&id, 2).unwrap();

    // Storing the bytes again repairs the copy.
    put(&store, &data);
    assert_eq!(store.get(&id).unwrap(), data);
}

#[test]
fn corruption_past_the_first_read_batch_is_caught_at_its_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::open_with(dir.path(), Durability::Os).unwrap();
    let data = bytes(11 * C + 5, 7);
    let id = put(&store, &data).id;
    flip_byte(&store.object_path(&id), (9 * C) as u64);
    let mut out = Vec::new();
    let err = store.open(&id).unwrap().read_to_end(&mut out).unwrap_err();
    assert!(matches!(
        StoreError::from_read(err, "x"),
        StoreError::Corrupt { index: 9, .. }
    ));
    assert_eq!(out, &data[..9 * C]);
    assert!(matches!(
        store.get(&id).unwrap_err(),
        StoreError::Corrupt { index: 9, .. }
    ));
    store.chunk(&id, 10).unwrap();
    store.chunk(&id, 11).unwrap();
}

#[test]
fn a_corrupt_chunk_in_memory_is_reported_too() {
    let store = MemoryStore::new();
    let data = bytes(2 * C, 2);
    let id = put(&store, &data).id;
    assert!(store.corrupt_for_testing(&id, C as u64 + 7));
    assert!(matches!(
        store.get(&id).unwrap_err(),
        StoreError::Corrupt { index: 1, .. }
    ));
    assert!(matches!(
        store.chunk(&id, 1).unwrap_err(),
        StoreError::Corrupt { index: 1, .. }
    ));
    let mut out = Vec::new();
    let err = store.open(&id).unwrap().read_to_end(&mut out).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert_eq!(out, &data[..C]);
}

#[test]
fn a_truncated_or_missing_file_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::open(dir.path()).unwrap();
    let data = bytes(C + 10, 3);
    let id = put(&store, &data).id;
    let path = store.object_path(&id);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(C as u64)
        .unwrap();
    assert!(!store.has(&id).unwrap());
    let err = store.get(&id).unwrap_err();
    assert!(
        matches!(err, StoreError::WrongLength { expected, got, .. } if expected == data.len() as u64 && got == C as u64),
        "{err}"
    );
    assert_eq!(err.fault(), Fault::Local);
    assert!(store.chunk(&id, 0).is_err());

    fs::remove_file(&path).unwrap();
    assert!(!store.has(&id).unwrap());
    assert!(matches!(
        store.get(&id).unwrap_err(),
        StoreError::WrongLength { got: 0, .. }
    ));
}

#[test]
fn damaged_metadata_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let data = bytes(2 * C + 1, 4);
    let id = {
        let store = DiskStore::open(dir.path()).unwrap();
        put(&store, &data).id
    };
    {
        let db = sled::open(dir.path().join("meta")).unwrap();
        let mut key = vec![b'd'];
        key.extend_from_slice(id.as_bytes());
        let mut digests = db.get(&key).unwrap().unwrap().to_vec();
        digests[40] ^= 1;
        db.insert(&key, digests).unwrap();
        db.flush().unwrap();
    }
    let store = DiskStore::open(dir.path()).unwrap();
    let err = store.get(&id).unwrap_err();
    assert!(matches!(err, StoreError::BadMetadata { .. }), "{err}");
    assert!(store.chunk(&id, 0).is_err());
    assert_eq!(err.fault(), Fault::Local);
}

#[test]
fn content_meta_and_pins_survive_reopening() {
    for durability in [Durability::Sync, Durability::Os] {
        let dir = tempfile::tempdir().unwrap();
        let data = bytes(2 * C + 99, 5);
        let m = ResourceMeta {
            name: "model.onnx".into(),
            mime: "application/onnx".into(),
            verifying_key: Some(wes_core::Hash([9; 32])),
        };
        let (id, loose) = {
            let store = DiskStore::open_with(dir.path(), durability).unwrap();
            let stat = store.put(ResourceKind::Onnx, &m, &mut &data[..]).unwrap();
            store.pin(&stat.id).unwrap();
            store.pin(&stat.id).unwrap();
            (stat.id, put(&store, b"loose").id)
        };
        let store = DiskStore::open_with(dir.path(), durability).unwrap();
        let stat = store.stat(&id).unwrap().unwrap();
        assert_eq!(
            (stat.kind, &stat.meta, stat.pinned),
            (ResourceKind::Onnx, &m, true)
        );
        assert_eq!(store.pin_count(&id).unwrap(), 2);
        assert_eq!(store.get(&id).unwrap(), data);
        assert_eq!(store.get(&loose).unwrap(), b"loose");
        let mut ids = store.ids().unwrap();
        ids.sort();
        let mut expected = vec![id, loose];
        expected.sort();
        assert_eq!(ids, expected);
        assert_eq!(store.collect_garbage().unwrap().removed, 1);
        assert!(store.has(&id).unwrap());
    }
}

#[test]
fn storing_the_same_bytes_again_takes_no_more_space() {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::open(dir.path()).unwrap();
    let data = bytes(3 * C + 1, 6);
    put(&store, &data);
    let objects = dir.path().join("objects");
    let after_one = du(&objects);
    assert_eq!(after_one, data.len() as u64);
    for name in ["again", "and again"] {
        let m = ResourceMeta {
            name: name.into(),
            ..ResourceMeta::default()
        };
        store.put(ResourceKind::File, &m, &mut &data[..]).unwrap();
    }
    assert_eq!(du(&objects), after_one);
    assert_eq!(du(&dir.path().join("tmp")), 0);
    assert_eq!(store.stored_bytes().unwrap(), data.len() as u64);
    assert_eq!(store.ids().unwrap().len(), 1);
}

#[test]
fn crash_leftovers_are_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let kept = {
        let store = DiskStore::open(dir.path()).unwrap();
        let stat = put(&store, b"kept");
        store.pin(&stat.id).unwrap();
        stat.id
    };
    // A put interrupted while streaming: a temporary file.
    fs::write(dir.path().join("tmp/put-interrupted"), b"half").unwrap();
    // A put interrupted between its rename and its metadata write: an orphan object file.
    let orphan = content_id(b"orphan");
    let hex = orphan.to_string();
    let orphan_path = dir.path().join("objects").join(&hex[..2]).join(&hex);
    fs::create_dir_all(orphan_path.parent().unwrap()).unwrap();
    fs::write(&orphan_path, b"orphan").unwrap();
    // Something that is not ours.
    let foreign = dir.path().join("objects").join(&hex[..2]).join("README");
    fs::write(&foreign, b"hands off").unwrap();

    let store = DiskStore::open(dir.path()).unwrap();
    assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    assert!(!store.has(&orphan).unwrap());
    let report = store.collect_garbage().unwrap();
    assert_eq!((report.removed, report.bytes_freed), (0, 6));
    assert!(!orphan_path.exists());
    assert!(foreign.exists());
    assert_eq!(store.get(&kept).unwrap(), b"kept");
}

#[test]
fn a_store_of_another_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(DiskStore::open(dir.path()).unwrap());
    {
        let db = sled::open(dir.path().join("meta")).unwrap();
        db.insert(b"format", &b"wes-ures/999"[..]).unwrap();
        db.flush().unwrap();
    }
    let err = DiskStore::open(dir.path()).err().unwrap();
    assert!(matches!(err, StoreError::BadFormat { .. }), "{err}");
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = DiskStore::open(dir.path()).unwrap();
    assert!(DiskStore::open(dir.path()).is_err());
}

#[test]
fn after_a_failed_write_the_store_refuses_writes_until_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::open(dir.path()).unwrap();
    let data = b"blocked".to_vec();
    let id = content_id(&data);
    // A file where the object's directory must go makes the commit fail.
    let hex = id.to_string();
    let blocker = dir.path().join("objects").join(&hex[..2]);
    fs::write(&blocker, b"not a directory").unwrap();
    let err = store
        .put(ResourceKind::File, &ResourceMeta::default(), &mut &data[..])
        .unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err}");
    assert_eq!(err.fault(), Fault::Local);

    let err = store
        .put(
            ResourceKind::File,
            &ResourceMeta::default(),
            &mut &b"other"[..],
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Failed { .. }), "{err}");
    assert!(matches!(
        store.pin(&id).unwrap_err(),
        StoreError::Failed { .. }
    ));
    drop(store);

    fs::remove_file(&blocker).unwrap();
    let store = DiskStore::open(dir.path()).unwrap();
    assert_eq!(put(&store, &data).id, id);
    assert_eq!(store.get(&id).unwrap(), data);
}

/// On a real file system of 16 MiB: a put that would leave less than the reserve free stops
/// before it does, stores nothing, leaves nothing behind, and the store goes on (a small put
/// works at once; the large one once space is freed).
#[test]
fn a_put_that_would_eat_into_the_reserve_stores_nothing_and_the_store_stays_usable() {
    const MIB: u64 = 1 << 20;
    let disk = wes_core::testing::SmallDisk::mount(16 * MIB).unwrap();
    let root = disk.path().join("resources");
    let store = DiskStore::open(&root).unwrap().with_reserve(4 * MIB);
    let first = put(&store, &bytes(MIB as usize, 1));
    let free_before = disk.available();

    let large = bytes(12 * MIB as usize, 2);
    let err = store
        .put(
            ResourceKind::File,
            &ResourceMeta::default(),
            &mut &large[..],
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::DiskFull { .. }), "{err}");
    assert_eq!(
        (err.fault(), err.rule()),
        (Fault::Unavailable, Some("disk_full"))
    );
    assert!(!store.has(&content_id(&large)).unwrap());
    assert_eq!(
        fs::read_dir(root.join("tmp")).unwrap().count(),
        0,
        "no leftover"
    );
    assert!(
        disk.available() >= free_before - 64 * 1024,
        "the space came back"
    );

    // Not a failed store: other puts, reads and pins go on.
    let small = put(&store, b"small");
    store.pin(&small.id).unwrap();
    assert_eq!(store.get(&first.id).unwrap(), bytes(MIB as usize, 1));

    // Below the reserve even a small put is refused, until space is freed.
    disk.fill(2 * MIB).unwrap();
    let err = store
        .put(
            ResourceKind::File,
            &ResourceMeta::default(),
            &mut &b"tiny"[..],
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::DiskFull { .. }), "{err}");
    disk.free().unwrap();
    drop(store);
    // A smaller reserve lets the large content in.
    let store = DiskStore::open(&root).unwrap().with_reserve(MIB);
    assert_eq!(put(&store, &large).id, content_id(&large));
    assert_eq!(store.get(&content_id(&large)).unwrap(), large);
}
