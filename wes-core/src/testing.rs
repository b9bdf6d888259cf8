//! Proptest strategies for every type of the data model (feature `testing`), so that this
//! crate's and other crates' property tests draw from one definition; and a
//! [`SmallDisk`] for tests of a full disk.

pub mod small_disk;

pub use small_disk::SmallDisk;

use proptest::collection::vec;
use proptest::prelude::*;

use crate::hash::{BlockHash, ContentId, ContractId, Hash, TxId};
use crate::keys::{PublicKey, Signature};
use crate::types::block::{Block, BlockHeader, CompactTarget};
use crate::types::genesis::Genesis;
use crate::types::lock::{Guard, Lock, LockTime, MultiSig, SponsorPool};
use crate::types::output::{
    Asset, Output, OutputBody, ResourceBody, ResourceKind, ResourceMeta, StateBody,
};
use crate::types::token::TokenId;
use crate::types::trace::TraceEntry;
use crate::types::transaction::{
    ChainId, Execution, Input, InputMode, KeySignature, OutPoint, ProofSystemId, SignedTransaction,
    Transaction, ValidityWindow, Witness,
};

/// Any hash.
pub fn hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

/// Any public key bytes (not necessarily a valid point).
pub fn public_key() -> impl Strategy<Value = PublicKey> {
    any::<[u8; 32]>().prop_map(PublicKey)
}

/// Any signature bytes.
pub fn signature() -> impl Strategy<Value = Signature> {
    vec(any::<u8>(), 64).prop_map(|v| Signature(v.try_into().expect("64 bytes")))
}

/// Short byte strings.
pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

/// Any token id.
pub fn token_id() -> impl Strategy<Value = TokenId> {
    prop_oneof![
        Just(TokenId::Native),
        (hash(), hash()).prop_map(|(c, tag)| TokenId::Issued {
            contract: ContractId(c),
            tag
        }),
    ]
}

/// Any guard.
pub fn guard() -> impl Strategy<Value = Guard> {
    prop_oneof![
        public_key().prop_map(Guard::Key),
        (any::<u16>(), vec(public_key(), 0..4))
            .prop_map(|(threshold, keys)| Guard::MultiSig(MultiSig { threshold, keys })),
        hash().prop_map(|h| Guard::Contract(ContractId(h))),
    ]
}

/// Any lock.
pub fn lock() -> impl Strategy<Value = Lock> {
    let lock_time = prop_oneof![
        any::<u64>().prop_map(LockTime::Height),
        any::<u64>().prop_map(LockTime::TimeMs)
    ];
    prop_oneof![
        guard().prop_map(Lock::Guarded),
        (lock_time, guard()).prop_map(|(until, guard)| Lock::TimeLocked { until, guard }),
        (guard(), proptest::option::of(hash()), any::<u128>()).prop_map(
            |(owner, contract, max_fee_per_tx)| Lock::SponsorPool(SponsorPool {
                owner,
                contract: contract.map(ContractId),
                max_fee_per_tx
            })
        ),
    ]
}

/// Any output.
pub fn output() -> impl Strategy<Value = Output> {
    let kind = prop_oneof![
        Just(ResourceKind::Wasm),
        Just(ResourceKind::Onnx),
        Just(ResourceKind::File)
    ];
    let body = prop_oneof![
        (token_id(), any::<u128>())
            .prop_map(|(token, amount)| OutputBody::Asset(Asset { token, amount })),
        (
            hash(),
            kind,
            any::<u64>(),
            ".{0,8}",
            ".{0,8}",
            proptest::option::of(hash())
        )
            .prop_map(|(c, kind, size, name, mime, verifying_key)| {
                OutputBody::Resource(ResourceBody {
                    content: ContentId(c),
                    kind,
                    size,
                    meta: ResourceMeta {
                        name,
                        mime,
                        verifying_key,
                    },
                })
            }),
        (hash(), bytes(8), bytes(16), any::<u64>()).prop_map(|(c, key, data, version)| {
            OutputBody::State(StateBody {
                contract: ContractId(c),
                key,
                data,
                version,
            })
        }),
    ];
    (lock(), body).prop_map(|(lock, body)| Output { lock, body })
}

/// Any outpoint.
pub fn outpoint() -> impl Strategy<Value = OutPoint> {
    (hash(), any::<u32>()).prop_map(|(h, index)| OutPoint { tx: TxId(h), index })
}

/// Any input.
pub fn input() -> impl Strategy<Value = Input> {
    (outpoint(), any::<bool>()).prop_map(|(prev, spend)| Input {
        prev,
        mode: if spend {
            InputMode::Spend
        } else {
            InputMode::Reference
        },
    })
}

/// Any valid proof-system id.
pub fn proof_system_id() -> impl Strategy<Value = ProofSystemId> {
    "[a-z0-9.-]{1,32}".prop_map(|s| ProofSystemId::new(s).expect("matches the rule"))
}

/// Any execution record.
pub fn execution() -> impl Strategy<Value = Execution> {
    (
        (hash(), hash(), "[a-z_]{0,12}", bytes(16)),
        (any::<u64>(), any::<u64>(), hash(), proof_system_id()),
    )
        .prop_map(
            |((contract, resource, entry, args), (cu_limit, cu_used, trace_root, proof_system))| {
                Execution {
                    contract: ContractId(contract),
                    callees: Vec::new(),
                    resource: ContentId(resource),
                    entry,
                    args,
                    cu_limit,
                    cu_used,
                    trace_root,
                    proof_system,
                }
            },
        )
}

/// Any transaction.
pub fn transaction() -> impl Strategy<Value = Transaction> {
    (
        any::<u16>(),
        any::<u32>(),
        vec(input(), 0..4),
        vec(output(), 0..4),
        (any::<u64>(), any::<u64>()),
        proptest::option::of(execution()),
    )
        .prop_map(
            |(version, chain, inputs, outputs, (not_before, not_after), execution)| Transaction {
                version,
                chain_id: ChainId(chain),
                inputs,
                outputs,
                validity: ValidityWindow {
                    not_before,
                    not_after,
                },
                execution,
            },
        )
}

/// Any witness.
pub fn witness() -> impl Strategy<Value = Witness> {
    (
        vec(
            (public_key(), signature())
                .prop_map(|(key, signature)| KeySignature { key, signature }),
            0..3,
        ),
        bytes(32),
    )
        .prop_map(|(signatures, proof)| Witness { signatures, proof })
}

/// Any signed transaction.
pub fn signed_transaction() -> impl Strategy<Value = SignedTransaction> {
    (transaction(), witness()).prop_map(|(tx, witness)| SignedTransaction { tx, witness })
}

/// Any block header.
pub fn block_header() -> impl Strategy<Value = BlockHeader> {
    (
        (
            any::<u32>(),
            any::<u32>(),
            hash(),
            any::<u64>(),
            any::<u64>(),
        ),
        (hash(), hash(), hash(), public_key()),
        (any::<u32>(), any::<u64>(), bytes(64)),
    )
        .prop_map(
            |(
                (version, chain, parent, height, time_ms),
                (tx_root, witness_root, state_root, producer),
                (target, nonce, seal),
            )| BlockHeader {
                version,
                chain_id: ChainId(chain),
                parent: BlockHash(parent),
                height,
                time_ms,
                tx_root,
                witness_root,
                state_root,
                producer,
                target: CompactTarget(target),
                nonce,
                seal,
            },
        )
}

/// Any block (roots not necessarily matching the body).
pub fn block() -> impl Strategy<Value = Block> {
    (block_header(), vec(signed_transaction(), 0..3)).prop_map(|(header, transactions)| Block {
        header,
        transactions,
    })
}

/// Any genesis description.
pub fn genesis() -> impl Strategy<Value = Genesis> {
    (
        any::<u32>(),
        any::<u64>(),
        any::<u32>(),
        vec(output(), 0..3),
        ".{0,16}",
    )
        .prop_map(|(chain, time_ms, target, allocations, message)| Genesis {
            chain_id: ChainId(chain),
            time_ms,
            target: CompactTarget(target),
            allocations,
            message,
        })
}

/// Any trace entry.
pub fn trace_entry() -> impl Strategy<Value = TraceEntry> {
    ("[a-z_]{0,12}", bytes(16), bytes(16), any::<u64>()).prop_map(|(call, input, output, cu)| {
        TraceEntry {
            call,
            input,
            output,
            cu,
        }
    })
}
