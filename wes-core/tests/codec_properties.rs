//! Property tests of the canonical encoding, for every consensus-visible type:
//! encode→decode round-trips; arbitrary and mutated bytes never panic the decoder; and a byte
//! string decodes only if it is exactly the encoding of what it decodes to (canonicity), so
//! two different byte strings can never stand for the same transaction or block.

use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wes_core::testing as arb;
use wes_core::{codec, *};

/// Decoding `bytes` as `T` never panics, and succeeds only for a canonical encoding.
fn check_canonical<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(value) = codec::decode::<T>(bytes) {
        prop_assert_eq!(codec::encode(&value), bytes, "non-canonical bytes decoded");
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Insert { at: usize, byte: u8 },
    Remove { at: usize },
    Truncate { len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Remove { at }),
        any::<usize>().prop_map(|len| Mutation::Truncate { len }),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutations: &[Mutation]) {
    for m in mutations {
        let n = bytes.len();
        match *m {
            Mutation::Flip { at, bit } if n > 0 => bytes[at % n] ^= 1 << bit,
            Mutation::Insert { at, byte } => bytes.insert(at % (n + 1), byte),
            Mutation::Remove { at } if n > 0 => {
                bytes.remove(at % n);
            }
            Mutation::Truncate { len } => bytes.truncate(len % (n + 1)),
            _ => {}
        }
    }
}

macro_rules! codec_properties {
    ($($name:ident: $ty:ty = $strategy:expr;)*) => {$(
        mod $name {
            use super::*;

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(256))]

                #[test]
                fn round_trips(value in $strategy) {
                    let bytes = codec::encode(&value);
                    prop_assert_eq!(bytes.len(), codec::encoded_len(&value));
                    let back: $ty = codec::decode(&bytes).unwrap();
                    prop_assert_eq!(back, value);
                }

                #[test]
                fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                    check_canonical::<$ty>(&bytes)?;
                }

                #[test]
                fn mutated_encodings_never_panic_and_stay_canonical(
                    value in $strategy,
                    mutations in proptest::collection::vec(mutation(), 1..4),
                ) {
                    let mut bytes = codec::encode(&value);
                    apply(&mut bytes, &mutations);
                    check_canonical::<$ty>(&bytes)?;
                }
            }
        }
    )*};
}

codec_properties! {
    hash: Hash = arb::hash();
    token_id: TokenId = arb::token_id();
    lock: Lock = arb::lock();
    output: Output = arb::output();
    outpoint: OutPoint = arb::outpoint();
    input: Input = arb::input();
    execution: Execution = arb::execution();
    transaction: Transaction = arb::transaction();
    witness: Witness = arb::witness();
    signed_transaction: SignedTransaction = arb::signed_transaction();
    block_header: BlockHeader = arb::block_header();
    block: Block = arb::block();
    genesis: Genesis = arb::genesis();
    trace_entry: TraceEntry = arb::trace_entry();
    merkle_proof: MerkleProof = (any::<u64>(), any::<u64>(), proptest::collection::vec(arb::hash(), 0..4))
        .prop_map(|(index, leaf_count, siblings)| MerkleProof { index, leaf_count, siblings });
}

proptest! {
    #[test]
    fn invalid_proof_system_ids_do_not_decode(name in "[A-Z _!]{1,8}|.{33,40}") {
        prop_assert!(ProofSystemId::new(name.clone()).is_err());
        prop_assert!(codec::decode::<ProofSystemId>(&codec::encode(&name)).is_err());
    }

    #[test]
    fn witness_does_not_change_the_txid(tx in arb::signed_transaction(), other in arb::witness()) {
        let mut changed = tx.clone();
        changed.witness = other;
        prop_assert_eq!(changed.id(), tx.id());
        if changed.witness != tx.witness {
            prop_assert_ne!(changed.witness_commitment(), tx.witness_commitment());
        }
    }

    #[test]
    fn any_change_to_a_header_changes_its_hash(h in arb::block_header(), nonce in any::<u64>()) {
        let mut other = h.clone();
        other.nonce = nonce;
        prop_assert_eq!(other.hash() == h.hash(), nonce == h.nonce);
    }
}
