//! The content id: golden vectors from an independent implementation, and properties of ids
//! and chunk proofs at and around chunk boundaries.

use proptest::prelude::*;
use wes_core::{Hash, MerkleProof};
use wes_ures::{
    CHUNK_SIZE, ChunkError, ContentHasher, chunk_count, chunk_len, content_id, verify_chunk,
};

const C: usize = CHUNK_SIZE;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Computed by an independent Python implementation of the definition in `content.rs`
/// (`hashlib.sha3_256`; the script is in TESTING.md). A change here is a change of every
/// content id on every chain: it must be deliberate.
#[test]
fn ids_match_the_independent_implementation() {
    let cases: [(&[u8], &str); 6] = [
        (
            b"",
            "674b66c99b83f3071a52ef1f12477025b3c9ab750e76547a97371bdf4c0e0978",
        ),
        (
            b"abc",
            "402b0e08621d5e4adad3059b53c5ba51857e72bf18e4ad1c9f5f176c413e5252",
        ),
        (
            &pattern(C),
            "57d673e69af815aae52fe709b8edb1206e4258e1ee566935e900dfd0d2772a62",
        ),
        (
            &pattern(2 * C + 5),
            "b735753fead1888b357b48bdd96df838f1f494e274699d0aff2922dfd903ff0c",
        ),
        (
            &pattern(3 * C + 5),
            "f0a7a8ba91e68652285950d38cd82eb2a8c0aa00467b0cc2a02f11bbf2aa7a27",
        ),
        (
            &pattern(5 * C + 5),
            "5e6672521ff2bd52b89daf141fa40ce587cb31027ccbe2e96ded0afcdeecf67d",
        ),
    ];
    for (data, expected) in cases {
        assert_eq!(
            content_id(data).to_string(),
            expected,
            "{} bytes",
            data.len()
        );
    }
}

/// Sizes at and around chunk boundaries, and some arbitrary ones, up to four chunks.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(C - 1),
        Just(C),
        Just(C + 1),
        Just(2 * C),
        Just(3 * C + 1),
        (0usize..=3, 0usize..C).prop_map(|(k, r)| k * C + r),
    ]
}

fn content() -> impl Strategy<Value = Vec<u8>> {
    (size(), any::<u64>()).prop_map(|(len, seed)| {
        // Cheap deterministic bytes (a vec of `len` random bytes from proptest is slow).
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_id_does_not_depend_on_how_the_bytes_arrive(data in content(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
        points.sort_unstable();
        let mut hasher = ContentHasher::new();
        let mut from = 0;
        for p in points.into_iter().chain([data.len()]) {
            hasher.update(&data[from..p]);
            from = p;
        }
        let digest = hasher.finalize();
        prop_assert_eq!(digest.id, content_id(&data));
        prop_assert_eq!(digest.size, data.len() as u64);
        prop_assert_eq!(digest.chunks(), chunk_count(data.len() as u64));
    }

    #[test]
    fn every_chunk_proof_verifies_and_tampering_fails(data in content(), at in any::<prop::sample::Index>(), sibling in any::<prop::sample::Index>()) {
        let size = data.len() as u64;
        let mut hasher = ContentHasher::new();
        hasher.update(&data);
        let digest = hasher.finalize();
        let id = digest.id;
        let tree = digest.tree();
        for index in 0..digest.chunks() {
            let start = index as usize * C;
            let bytes = &data[start..start + chunk_len(size, index).unwrap()];
            let proof = tree.proof(index as usize).unwrap();
            prop_assert_eq!(verify_chunk(&id, size, index, bytes, &proof), Ok(()));

            // A flipped byte.
            let mut bad = bytes.to_vec();
            let i = at.index(bad.len());
            bad[i] ^= 0x80;
            prop_assert!(matches!(verify_chunk(&id, size, index, &bad, &proof), Err(ChunkError::Mismatch { .. })), "flipped byte");
            // A byte short, a byte long.
            prop_assert!(matches!(verify_chunk(&id, size, index, &bytes[1..], &proof), Err(ChunkError::Length { .. })), "short");
            let mut long = bytes.to_vec();
            long.push(0);
            prop_assert!(matches!(verify_chunk(&id, size, index, &long, &proof), Err(ChunkError::Length { .. })), "long");
            // A damaged sibling.
            if !proof.siblings.is_empty() {
                let mut p = proof.clone();
                let s = sibling.index(p.siblings.len());
                p.siblings[s].0[0] ^= 1;
                prop_assert!(matches!(verify_chunk(&id, size, index, bytes, &p), Err(ChunkError::Mismatch { .. })), "damaged sibling");
                let mut p = proof.clone();
                p.siblings.pop();
                prop_assert!(verify_chunk(&id, size, index, bytes, &p).is_err());
            }
            // The proof of another position, or of a tree of another size.
            let other = MerkleProof { index: index ^ 1, ..proof.clone() };
            prop_assert!(verify_chunk(&id, size, index, bytes, &other).is_err());
            let bigger = MerkleProof { leaf_count: proof.leaf_count + 1, ..proof.clone() };
            prop_assert!(matches!(verify_chunk(&id, size, index, bytes, &bigger), Err(ChunkError::LeafCount { .. })), "leaf count");
            // The right chunk and proof under a wrong size claim.
            prop_assert!(verify_chunk(&id, size + 1, index, bytes, &proof).is_err());
            if size > 0 {
                prop_assert!(verify_chunk(&id, size - 1, index, bytes, &proof).is_err());
            }
        }
        // No chunk past the end.
        prop_assert!(matches!(
            verify_chunk(&id, size, digest.chunks(), &[], &MerkleProof { index: digest.chunks(), leaf_count: digest.chunks(), siblings: vec![] }),
            Err(ChunkError::IndexOutOfRange { .. })
        ), "past the end");
    }

    #[test]
    fn different_bytes_have_different_ids(data in content(), at in any::<prop::sample::Index>()) {
        prop_assume!(!data.is_empty());
        let mut other = data.clone();
        let i = at.index(other.len());
        other[i] = other[i].wrapping_add(1);
        prop_assert_ne!(content_id(&data), content_id(&other));
        // Appending a zero byte changes the id (the length is committed).
        let mut longer = data.clone();
        longer.push(0);
        prop_assert_ne!(content_id(&data), content_id(&longer));
    }

    #[test]
    fn garbage_proofs_never_panic(size in any::<u64>(), index in any::<u64>(), leaf_count in any::<u64>(), siblings in prop::collection::vec(any::<[u8; 32]>(), 0..70), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let proof = MerkleProof { index, leaf_count, siblings: siblings.into_iter().map(Hash).collect() };
        let _ = verify_chunk(&content_id(b"x"), size, index, &bytes, &proof);
    }
}
