//! # wes-core
//!
//! The foundation every WES-rs crate builds on, and the only crate they all share: the data
//! model of the EUTXO ledger, its canonical encoding, domain-separated hashing, Merkle trees,
//! Ed25519 keys, addresses, and the five module traits a chain is composed from:
//! [`ConsensusEngine`], [`Ledger`], [`ResourceStore`], [`Executor`] and [`Prover`] /
//! [`ProofVerifier`]. It does no I/O.
//!
//! ```
//! use wes_core::{codec, ChainId, Input, Lock, OutPoint, Output, SecretKey, TokenId, Transaction,
//!     TxId, ValidityWindow, Hash};
//!
//! let alice = SecretKey::from_seed([1; 32]);
//! let bob = SecretKey::from_seed([2; 32]);
//! let funding = OutPoint { tx: TxId(Hash::ZERO), index: 0 };
//! let tx = Transaction {
//!     version: Transaction::VERSION,
//!     chain_id: ChainId(1),
//!     inputs: vec![Input::spend(funding)],
//!     outputs: vec![Output::asset(Lock::key(bob.public_key()), TokenId::Native, 90)],
//!     validity: ValidityWindow::ALWAYS,
//!     execution: None,
//! };
//! let signed = tx.sign(&[&alice]);
//! let bytes = codec::encode(&signed);
//! let back: wes_core::SignedTransaction = codec::decode(&bytes).unwrap();
//! assert_eq!(back.id(), signed.id());
//! ```

pub mod address;
pub mod codec;
#[cfg(feature = "testing")]
pub mod conformance;
pub mod fault;
pub mod hash;
pub mod keys;
pub mod merkle;
#[cfg(feature = "testing")]
pub mod testing;
pub mod traits;
pub mod types;

pub use address::{ADDRESS_HRP, Address, ParseAddressError};
pub use codec::{CodecError, decode, decode_with_limit, encode};
pub use fault::{Blame, Fault};
pub use hash::{BlockHash, ContentId, ContractId, Domain, Hash, Hasher, TxId, hash, hash_encoded};
pub use keys::{
    BatchError, BatchVerifier, PublicKey, SecretKey, Signature, SignatureError, verify,
};
pub use merkle::{MerkleError, MerkleProof, MerkleTree, TreeDomains, merkle_root};
pub use traits::*;
pub use types::block::{Block, BlockHeader, BodyError, CompactTarget, MAX_SEAL_LEN};
pub use types::genesis::Genesis;
pub use types::lock::{Guard, Lock, LockError, LockTime, MAX_MULTISIG_KEYS, MultiSig, SponsorPool};
pub use types::output::{
    Asset, Output, OutputBody, ResourceBody, ResourceKind, ResourceMeta, StateBody,
};
pub use types::token::{Amount, TokenId};
pub use types::trace::{TraceEntry, trace_root};
pub use types::transaction::{
    ChainId, Execution, Input, InputMode, InvalidProofSystemId, KeySignature, OutPoint,
    ProofSystemId, SignedTransaction, Transaction, ValidityWindow, Witness, sighash,
};
