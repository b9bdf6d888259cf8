//! The [`ResourceStore`] conformance suite (feature `testing`): the trait's contract,
//! checked against any store. Run it on your own store with [`resource_store_tests!`]:
//!
//! ```ignore
//! wes_ures::resource_store_tests!(my_store => Box::new(MyStore::open(dir).unwrap()));
//! ```
//!
//! Each check takes a fresh, empty store and panics (like `assert!`) on the first broken
//! promise: content ids and chunking as [`content_id`] and [`chunk_count`] define them,
//! verified chunks, streamed puts, absent content reported as [`Fault::Unavailable`], the
//! latest description winning, counted pins, pins before arrival, readers surviving garbage
//! collection, a failed upload storing nothing, and concurrent puts of the same bytes.

use std::io::{self, Read};

use wes_core::{Blame, Fault, ResourceBody, ResourceKind, ResourceMeta, ResourceStore};

use crate::{CHUNK_SIZE, chunk_count, content_id, verify_chunk};

const C: usize = CHUNK_SIZE;

/// Deterministic test bytes.
pub fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

fn meta(name: &str) -> ResourceMeta {
    ResourceMeta {
        name: name.into(),
        mime: "application/octet-stream".into(),
        verifying_key: None,
    }
}

/// A reader that hands out at most `step` bytes per call, so chunking cannot depend on how
/// the source splits its data.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// A reader that fails after `ok` bytes: an upload that breaks off.
#[derive(Debug)]
pub struct Broken {
    ok: usize,
}

impl Broken {
    /// Fails after `ok` bytes.
    pub fn after(ok: usize) -> Self {
        Broken { ok }
    }
}

impl Read for Broken {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ok == 0 {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "upload broke off",
            ));
        }
        let n = self.ok.min(buf.len());
        buf[..n].fill(7);
        self.ok -= n;
        Ok(n)
    }
}

fn put<S: ResourceStore + ?Sized>(store: &S, data: &[u8]) -> wes_core::ResourceStat {
    store
        .put(ResourceKind::File, &meta("f"), &mut &data[..])
        .unwrap()
}

fn get<S: ResourceStore + ?Sized>(store: &S, id: &wes_core::ContentId) -> Result<Vec<u8>, String> {
    let mut reader = store.open(id).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    reader.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Conformance check: see the module documentation.
pub fn round_trip_at_chunk_boundaries<S: ResourceStore + ?Sized>(store: &S) {
    for (n, len) in [0, 1, C - 1, C, C + 1, 3 * C + 17].into_iter().enumerate() {
        let data = bytes(len, n as u8);
        let m = meta(&format!("r{n}"));
        let stat = store
            .put(
                ResourceKind::Onnx,
                &m,
                &mut Trickle {
                    data: &data,
                    step: 1000 + n,
                },
            )
            .unwrap();
        let id = content_id(&data);
        assert_eq!(stat.id, id, "len {len}");
        assert_eq!(stat.size, len as u64);
        assert_eq!(stat.chunks, chunk_count(len as u64));
        assert_eq!(
            (stat.kind, &stat.meta, stat.pinned),
            (ResourceKind::Onnx, &m, false)
        );
        assert!(store.has(&id).unwrap());
        assert_eq!(store.stat(&id).unwrap().as_ref(), Some(&stat));
        assert_eq!(get(store, &id).unwrap(), data, "len {len}");
        for index in 0..stat.chunks {
            let chunk = store.chunk(&id, index).unwrap();
            assert_eq!(chunk.index, index);
            verify_chunk(&id, stat.size, index, &chunk.bytes, &chunk.proof).unwrap();
            let start = index as usize * C;
            assert_eq!(chunk.bytes, &data[start..(start + C).min(len)]);
        }
        let err = store.chunk(&id, stat.chunks).unwrap_err();
        assert_eq!(err.fault(), Fault::Input, "a chunk past the end: {err}");
    }
}

/// Conformance check: see the module documentation.
pub fn reads_in_small_pieces_return_the_same_bytes<S: ResourceStore + ?Sized>(store: &S) {
    let data = bytes(2 * C + 3, 9);
    let id = put(store, &data).id;
    let mut reader = store.open(&id).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4093];
    loop {
        match reader.read(&mut buf).unwrap() {
            0 => break,
            n => out.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(out, data);
}

/// Conformance check: see the module documentation.
pub fn absent_content_is_unavailable<S: ResourceStore + ?Sized>(store: &S) {
    let id = content_id(b"never stored");
    assert!(!store.has(&id).unwrap());
    assert_eq!(store.stat(&id).unwrap(), None);
    let err = store.open(&id).err().expect("opening absent content fails");
    assert_eq!(err.fault(), Fault::Unavailable, "{err}");
    let err = store.chunk(&id, 0).unwrap_err();
    assert_eq!(err.fault(), Fault::Unavailable, "{err}");
}

/// Conformance check: see the module documentation.
pub fn same_bytes_are_stored_once_and_the_latest_description_wins<S: ResourceStore + ?Sized>(
    store: &S,
) {
    let data = bytes(C + 5, 1);
    let first = store
        .put(ResourceKind::File, &meta("first"), &mut &data[..])
        .unwrap();
    let second = store
        .put(ResourceKind::Wasm, &meta("second"), &mut &data[..])
        .unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!(
        (second.kind, second.meta.name.as_str()),
        (ResourceKind::Wasm, "second")
    );
    assert_eq!(store.stat(&first.id).unwrap(), Some(second.clone()));
    // One copy to collect.
    let report = store.collect_garbage().unwrap();
    assert_eq!((report.removed, report.bytes_freed), (1, data.len() as u64));
}

/// Conformance check: see the module documentation.
pub fn stat_gives_the_resource_output_body<S: ResourceStore + ?Sized>(store: &S) {
    let data = b"(module)".to_vec();
    let m = ResourceMeta {
        name: "model.onnx".into(),
        mime: "application/onnx".into(),
        verifying_key: Some(wes_core::hash(wes_core::Domain::new("test/vk"), b"vk")),
    };
    let stat = store.put(ResourceKind::Onnx, &m, &mut &data[..]).unwrap();
    assert_eq!(
        stat.body(),
        ResourceBody {
            content: content_id(&data),
            kind: ResourceKind::Onnx,
            size: data.len() as u64,
            meta: m,
        }
    );
}

/// Conformance check: see the module documentation.
pub fn pinned_content_survives_collection<S: ResourceStore + ?Sized>(store: &S) {
    let a = put(store, &bytes(C + 1, 2)).id;
    let b = put(store, &bytes(10, 3)).id;
    store.pin(&a).unwrap();
    store.pin(&a).unwrap();
    assert!(store.stat(&a).unwrap().unwrap().pinned);
    let report = store.collect_garbage().unwrap();
    assert_eq!((report.removed, report.bytes_freed), (1, 10));
    assert!(store.has(&a).unwrap());
    assert!(!store.has(&b).unwrap());
    assert_eq!(get(store, &a).unwrap(), bytes(C + 1, 2));

    // Pins are counted, and listed with their counts.
    assert_eq!(store.pins().unwrap(), [(a, 2)]);
    store.unpin(&a).unwrap();
    assert_eq!(store.pins().unwrap(), [(a, 1)]);
    assert_eq!(store.collect_garbage().unwrap().removed, 0);
    assert!(store.has(&a).unwrap());
    store.unpin(&a).unwrap();
    assert!(!store.stat(&a).unwrap().unwrap().pinned);
    assert!(
        store.pins().unwrap().is_empty(),
        "a count of zero is not listed"
    );
    assert_eq!(store.collect_garbage().unwrap().removed, 1);
    assert!(!store.has(&a).unwrap());

    let err = store.unpin(&a).unwrap_err();
    assert_eq!(
        err.fault(),
        Fault::Input,
        "unpinning what is not pinned: {err}"
    );
}

/// Conformance check: see the module documentation.
pub fn content_pinned_before_it_arrives_is_protected<S: ResourceStore + ?Sized>(store: &S) {
    let data = bytes(100, 4);
    let id = content_id(&data);
    store.pin(&id).unwrap();
    assert_eq!(store.stat(&id).unwrap(), None);
    assert_eq!(store.pins().unwrap(), [(id, 1)], "listed before it arrives");
    let stat = put(store, &data);
    assert!(stat.pinned);
    assert_eq!(store.collect_garbage().unwrap().removed, 0);
    assert_eq!(get(store, &id).unwrap(), data);
}

/// Conformance check: see the module documentation.
pub fn an_open_reader_survives_collection<S: ResourceStore + ?Sized>(store: &S) {
    let data = bytes(3 * C, 5);
    let id = put(store, &data).id;
    let mut reader = store.open(&id).unwrap();
    let mut first = vec![0u8; 10];
    reader.read_exact(&mut first).unwrap();
    assert_eq!(store.collect_garbage().unwrap().removed, 1);
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    first.extend(rest);
    assert_eq!(first, data);
}

/// Conformance check: see the module documentation.
pub fn a_broken_source_stores_nothing<S: ResourceStore + ?Sized>(store: &S) {
    let err = store
        .put(
            ResourceKind::File,
            &meta("broken"),
            &mut Broken { ok: C + 100 },
        )
        .unwrap_err();
    assert_eq!(
        err.fault(),
        Fault::Unavailable,
        "a source that broke off: {err}"
    );
    assert_eq!(
        store.collect_garbage().unwrap(),
        wes_core::GcReport::default()
    );
    // The store still works.
    let id = put(store, b"after").id;
    assert_eq!(get(store, &id).unwrap(), b"after");
}

/// Conformance check: see the module documentation.
pub fn concurrent_puts_of_the_same_bytes_agree<S: ResourceStore + ?Sized>(store: &S) {
    let data = bytes(2 * C + 1, 6);
    let ids: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| put(store, &data).id)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(ids.iter().all(|id| *id == content_id(&data)));
    assert_eq!(get(store, &ids[0]).unwrap(), data);
    assert_eq!(store.collect_garbage().unwrap().removed, 1);
}

/// Every check's name, for [`resource_store_tests!`].
pub const CHECKS: &[&str] = &[
    "round_trip_at_chunk_boundaries",
    "reads_in_small_pieces_return_the_same_bytes",
    "absent_content_is_unavailable",
    "same_bytes_are_stored_once_and_the_latest_description_wins",
    "stat_gives_the_resource_output_body",
    "pinned_content_survives_collection",
    "content_pinned_before_it_arrives_is_protected",
    "an_open_reader_survives_collection",
    "a_broken_source_stores_nothing",
    "concurrent_puts_of_the_same_bytes_agree",
];

/// Generates one `#[test]` per conformance check in a module `$name`, each on a fresh store
/// made by `$make`: an expression giving something that dereferences to the store (a `Box`,
/// an `Arc`, or a guard that also removes its directory when dropped).
#[macro_export]
macro_rules! resource_store_tests {
    ($name:ident => $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::resource_store_tests!(@tests $make;
                round_trip_at_chunk_boundaries,
                reads_in_small_pieces_return_the_same_bytes,
                absent_content_is_unavailable,
                same_bytes_are_stored_once_and_the_latest_description_wins,
                stat_gives_the_resource_output_body,
                pinned_content_survives_collection,
                content_pinned_before_it_arrives_is_protected,
                an_open_reader_survives_collection,
                a_broken_source_stores_nothing,
                concurrent_puts_of_the_same_bytes_agree,
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
