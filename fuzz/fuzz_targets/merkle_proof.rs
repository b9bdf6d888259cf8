//! Merkle proofs arrive with resource chunks from untrusted peers: checking any proof against
//! any root must never panic (huge indices, wrong lengths).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wes_core::{Hash, MerkleProof, codec};

fuzz_target!(|data: &[u8]| {
    if data.len() < 64 {
        return;
    }
    let (keys, rest) = data.split_at(64);
    let root = Hash(keys[..32].try_into().unwrap());
    let item = Hash(keys[32..].try_into().unwrap());
    if let Ok(proof) = codec::decode::<MerkleProof>(rest) {
        let _ = proof.verify(&root, &item);
    }
});
