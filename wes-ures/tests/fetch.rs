//! Fetching from untrusted peers: honest, lying, missing, unreachable, and a wrong size on
//! chain.

use wes_core::{Blame, Fault, ResourceBody, ResourceKind, ResourceMeta, ResourceStore};
use wes_ures::testing::{Behaviour, TestPeer};
use wes_ures::{
    AttemptOutcome, CHUNK_SIZE, ChunkError, ChunkSource, DiskStore, FetchError, Fetcher,
    MemoryStore, StoreSource, content_id, empty_content_id,
};

const C: usize = CHUNK_SIZE;

fn bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 1000) as u8).collect()
}

/// A seed store holding `len` bytes, and the on-chain body registering them.
fn seeded(len: usize) -> (MemoryStore, ResourceBody, Vec<u8>) {
    let seed = MemoryStore::new();
    let data = bytes(len);
    let meta = ResourceMeta {
        name: "model.onnx".into(),
        mime: "application/onnx".into(),
        verifying_key: None,
    };
    let stat = seed.put(ResourceKind::Onnx, &meta, &mut &data[..]).unwrap();
    (seed, stat.body(), data)
}

fn peer(seed: &MemoryStore, behaviour: Behaviour) -> TestPeer {
    TestPeer::new(seed.clone(), behaviour)
}

#[test]
fn an_honest_peer_fills_a_disk_store() {
    let (seed, body, data) = seeded(3 * C + 11);
    let honest = peer(&seed, Behaviour::Honest);
    let dir = tempfile::tempdir().unwrap();
    let local = DiskStore::open(dir.path()).unwrap();
    let report = Fetcher::new([&honest as &dyn ChunkSource])
        .fetch(&body, &local)
        .unwrap();
    assert!(!report.already_stored);
    assert_eq!(report.served, vec![4]);
    assert!(report.faults.is_empty());
    assert_eq!(report.stat.body(), body);
    assert_eq!(local.get(&body.content).unwrap(), data);

    // Fetching again asks nobody.
    let report = Fetcher::new([&honest as &dyn ChunkSource])
        .fetch(&body, &local)
        .unwrap();
    assert!(report.already_stored);
    assert_eq!(honest.requests(), 4);
}

#[test]
fn a_wrong_chunk_is_rejected_and_re_requested_elsewhere() {
    let (seed, body, data) = seeded(3 * C + 11);
    let liar = peer(&seed, Behaviour::CorruptChunk(Some(1)));
    let honest = peer(&seed, Behaviour::Honest);
    let local = MemoryStore::new();
    let report = Fetcher::new([&liar as &dyn ChunkSource, &honest])
        .fetch(&body, &local)
        .unwrap();
    assert_eq!(local.get(&body.content).unwrap(), data);
    // The liar served chunk 0, was caught on chunk 1 and never asked again.
    assert_eq!(report.faults.len(), 1);
    assert_eq!((report.faults[0].peer, report.faults[0].index), (0, 1));
    assert!(matches!(
        report.faults[0].error,
        ChunkError::Mismatch { index: 1, .. }
    ));
    assert_eq!(report.faults[0].error.fault(), Fault::Input);
    assert_eq!(liar.requests(), 2);
    assert_eq!(report.served, vec![1, 3]);
}

#[test]
fn damaged_proofs_and_short_chunks_are_rejected() {
    let (seed, body, data) = seeded(2 * C + 1);
    let bad_proof = peer(&seed, Behaviour::WrongProof(None));
    let short = peer(&seed, Behaviour::Truncate(None));
    let honest = peer(&seed, Behaviour::Honest);
    let local = MemoryStore::new();
    let report = Fetcher::new([&bad_proof as &dyn ChunkSource, &short, &honest])
        .fetch(&body, &local)
        .unwrap();
    assert_eq!(local.get(&body.content).unwrap(), data);
    let errors: Vec<_> = report.faults.iter().map(|f| (f.peer, &f.error)).collect();
    assert!(matches!(errors[0], (0, ChunkError::Mismatch { .. })));
    assert!(matches!(errors[1], (1, ChunkError::Length { .. })));
    assert_eq!(report.served, vec![0, 0, 3]);
}

#[test]
fn a_peer_missing_a_chunk_is_not_blamed_and_is_asked_again() {
    let (seed, body, data) = seeded(3 * C);
    let gappy = peer(&seed, Behaviour::Missing(Some(1)));
    let unreachable = peer(&seed, Behaviour::Unreachable);
    let honest = peer(&seed, Behaviour::Honest);
    let local = MemoryStore::new();
    let report = Fetcher::new([&gappy as &dyn ChunkSource, &unreachable, &honest])
        .fetch(&body, &local)
        .unwrap();
    assert_eq!(local.get(&body.content).unwrap(), data);
    assert!(report.faults.is_empty());
    assert_eq!(report.served, vec![2, 0, 1]);
    assert_eq!(gappy.requests(), 3);
}

#[test]
fn when_every_peer_is_bad_the_fetch_fails_with_the_evidence() {
    let (seed, body, _) = seeded(2 * C + 5);
    let liar = peer(&seed, Behaviour::CorruptChunk(None));
    let bad_proof = peer(&seed, Behaviour::WrongProof(Some(0)));
    let missing = peer(&seed, Behaviour::Missing(None));
    let dir = tempfile::tempdir().unwrap();
    let local = DiskStore::open(dir.path()).unwrap();
    let err = Fetcher::new([&liar as &dyn ChunkSource, &bad_proof, &missing])
        .fetch(&body, &local)
        .unwrap_err();
    let FetchError::ChunkUnavailable {
        id,
        index,
        attempts,
        faults,
    } = &err
    else {
        panic!("expected ChunkUnavailable, got {err}");
    };
    assert_eq!((*id, *index), (body.content, 0));
    assert!(matches!(attempts[0].outcome, AttemptOutcome::Rejected(_)));
    assert!(matches!(attempts[1].outcome, AttemptOutcome::Rejected(_)));
    assert!(matches!(
        attempts[2].outcome,
        AttemptOutcome::Unavailable(_)
    ));
    assert_eq!(
        faults.iter().map(|f| f.peer).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(err.faults().len(), 2);
    assert_eq!(err.fault(), Fault::Unavailable);
    // Nothing half-fetched is visible, nothing left behind.
    assert!(!local.has(&body.content).unwrap());
    assert_eq!(local.ids().unwrap(), vec![]);
    assert_eq!(fs_count(&dir.path().join("tmp")), 0);
}

fn fs_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[test]
fn a_peer_caught_lying_midway_is_skipped_for_the_rest() {
    let (seed, body, _) = seeded(3 * C);
    let liar = peer(&seed, Behaviour::CorruptChunk(Some(0)));
    let gappy = peer(&seed, Behaviour::Missing(Some(2)));
    let local = MemoryStore::new();
    // Chunk 2: the liar is skipped, the other peer lacks it.
    let err = Fetcher::new([&liar as &dyn ChunkSource, &gappy])
        .fetch(&body, &local)
        .unwrap_err();
    let FetchError::ChunkUnavailable {
        index, attempts, ..
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!(*index, 2);
    assert_eq!(attempts[0].outcome, AttemptOutcome::Skipped);
    assert_eq!(liar.requests(), 1);
}

#[test]
fn a_wrong_size_on_chain_does_not_blame_honest_peers() {
    let (seed, body, _) = seeded(C + 3);
    let honest = peer(&seed, Behaviour::Honest);
    let local = MemoryStore::new();
    for registered in [body.size + 1, body.size - 1, 3 * C as u64, 0] {
        let wrong = ResourceBody {
            size: registered,
            ..body.clone()
        };
        let err = Fetcher::new([&honest as &dyn ChunkSource])
            .fetch(&wrong, &local)
            .unwrap_err();
        assert!(
            matches!(err, FetchError::WrongSize { actual, .. } if actual == body.size),
            "registered {registered}: {err}"
        );
        assert!(err.faults().is_empty());
        assert_eq!(err.fault(), Fault::Input);
    }
    assert!(local.ids().is_empty());
}

#[test]
fn a_peer_lying_about_the_size_is_still_blamed() {
    let (seed, body, _) = seeded(C + 3);
    let liar = peer(&seed, Behaviour::ClaimSize(7));
    let wrong = ResourceBody {
        size: body.size + 1,
        ..body.clone()
    };
    let err = Fetcher::new([&liar as &dyn ChunkSource])
        .fetch(&wrong, &MemoryStore::new())
        .unwrap_err();
    assert!(matches!(err, FetchError::ChunkUnavailable { .. }), "{err}");
    assert_eq!(err.faults().len(), 1);
}

#[test]
fn empty_content_needs_no_peer_and_no_peers_is_an_error() {
    let local = MemoryStore::new();
    let empty = ResourceBody {
        content: empty_content_id(),
        kind: ResourceKind::File,
        size: 0,
        meta: ResourceMeta::default(),
    };
    let nobody = peer(&MemoryStore::new(), Behaviour::Missing(None));
    let report = Fetcher::new([&nobody as &dyn ChunkSource])
        .fetch(&empty, &local)
        .unwrap();
    assert_eq!(report.stat.id, empty_content_id());
    assert_eq!(nobody.requests(), 0);

    let other = ResourceBody {
        content: content_id(b"x"),
        size: 1,
        ..empty
    };
    let err = Fetcher::new([]).fetch(&other, &local).unwrap_err();
    assert!(matches!(err, FetchError::NoPeers { .. }));
    assert_eq!(err.fault(), Fault::Unavailable);
}

#[test]
fn a_store_serves_its_chunks_to_another_node() {
    let (seed, body, data) = seeded(2 * C + 1);
    let dir = tempfile::tempdir().unwrap();
    let node_a = DiskStore::open(dir.path()).unwrap();
    Fetcher::new([&peer(&seed, Behaviour::Honest) as &dyn ChunkSource])
        .fetch(&body, &node_a)
        .unwrap();
    // Node B fetches from node A's disk store.
    let node_b = MemoryStore::new();
    let source = StoreSource(&node_a);
    assert_eq!(source.size(&body.content).unwrap(), body.size);
    Fetcher::new([&source as &dyn ChunkSource])
        .fetch(&body, &node_b)
        .unwrap();
    assert_eq!(node_b.get(&body.content).unwrap(), data);
}
