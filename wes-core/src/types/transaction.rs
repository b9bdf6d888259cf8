//! Transactions, their inputs, the execution record, and witnesses kept apart.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::codec;
use crate::hash::{ContentId, ContractId, Domain, Hash, Hasher, TxId, hash};
use crate::keys::{PublicKey, SecretKey, Signature};
use crate::types::output::Output;

/// Tells chains apart, so a transaction signed for one cannot be replayed on another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChainId(pub u32);

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Names an output: the transaction that created it and its position there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OutPoint {
    /// The creating transaction.
    pub tx: TxId,
    /// Index into its outputs.
    pub index: u32,
}

impl fmt::Display for OutPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.tx, self.index)
    }
}

/// Whether an input consumes the output or only reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InputMode {
    /// Consumes the output; its lock must be satisfied.
    Spend,
    /// Reads the output without consuming it; no witness needed, the output must be unspent.
    Reference,
}

/// An input of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Input {
    /// The output used.
    pub prev: OutPoint,
    /// Spend or reference.
    pub mode: InputMode,
}

impl Input {
    /// An input that spends `prev`.
    pub fn spend(prev: OutPoint) -> Self {
        Input {
            prev,
            mode: InputMode::Spend,
        }
    }

    /// An input that reads `prev`.
    pub fn reference(prev: OutPoint) -> Self {
        Input {
            prev,
            mode: InputMode::Reference,
        }
    }
}

/// The heights (inclusive) between which a transaction may be included in a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ValidityWindow {
    /// The first height it may appear at.
    pub not_before: u64,
    /// The last height it may appear at.
    pub not_after: u64,
}

impl ValidityWindow {
    /// Valid at every height.
    pub const ALWAYS: ValidityWindow = ValidityWindow {
        not_before: 0,
        not_after: u64::MAX,
    };

    /// Whether `height` lies in the window.
    pub fn contains(&self, height: u64) -> bool {
        self.not_before <= height && height <= self.not_after
    }
}

/// The name of a proof system, e.g. `replay` or `halo2-ipa`: lowercase ASCII letters, digits,
/// `-` and `.`, 1 to 32 bytes. Verifiers are looked up by it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProofSystemId(String);

impl ProofSystemId {
    /// The longest allowed name.
    pub const MAX_LEN: usize = 32;

    /// Checks and wraps a name.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidProofSystemId> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.len() <= Self::MAX_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if ok {
            Ok(ProofSystemId(name))
        } else {
            Err(InvalidProofSystemId(name.chars().take(64).collect()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProofSystemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ProofSystemId {
    type Error = InvalidProofSystemId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ProofSystemId::new(s)
    }
}

impl From<ProofSystemId> for String {
    fn from(id: ProofSystemId) -> String {
        id.0
    }
}

/// A proof-system name that breaks the naming rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid proof system id {0:?}: want 1-32 bytes of lowercase letters, digits, '-' or '.'")]
pub struct InvalidProofSystemId(pub String);

/// The record of a computation that one node ran and whose result this transaction carries
/// ("execution is construction"). The proof itself travels in the [`Witness`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Execution {
    /// The contract executed.
    pub contract: ContractId,
    /// Contracts the execution called into (nested calls), each once, in first-call order.
    /// They act with the same authority as `contract` over their own state, tokens and
    /// contract-locked outputs; the proof system checks that exactly these were called.
    pub callees: Vec<ContractId>,
    /// The code or model resource that ran.
    pub resource: ContentId,
    /// The entry point (exported function, or model graph name).
    pub entry: String,
    /// Call arguments.
    #[serde(with = "serde_bytes")]
    pub args: Vec<u8>,
    /// The most compute units the caller pays for.
    pub cu_limit: u64,
    /// Compute units used; fees are charged on this.
    pub cu_used: u64,
    /// Merkle root of the execution trace (host calls and their results).
    pub trace_root: Hash,
    /// The proof system whose verifier must accept the witness's proof.
    pub proof_system: ProofSystemId,
}

impl Execution {
    /// Most callees one execution may list.
    pub const MAX_CALLEES: usize = 16;

    /// Whether `contract` acts in this execution: the called contract or one of its callees.
    pub fn acts_as(&self, contract: &ContractId) -> bool {
        self.contract == *contract || self.callees.contains(contract)
    }
}

/// A transaction without its witnesses: everything its id commits to.
///
/// The first transaction of every block is its *coinbase*: no inputs, no execution, and a
/// validity window of exactly the block's height, which makes its id unique per height.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transaction {
    /// Format version, currently 1.
    pub version: u16,
    /// The chain this transaction is for.
    pub chain_id: ChainId,
    /// Outputs spent or referenced.
    pub inputs: Vec<Input>,
    /// Outputs created.
    pub outputs: Vec<Output>,
    /// When it may be included.
    pub validity: ValidityWindow,
    /// The computation whose result this transaction is, if any.
    pub execution: Option<Execution>,
}

impl Transaction {
    /// The current transaction format version.
    pub const VERSION: u16 = 1;

    /// The id: the hash of the canonical encoding, witnesses excluded.
    pub fn id(&self) -> TxId {
        TxId(hash(Domain::TX, codec::encode(self)))
    }

    /// The message signers sign: `H(sighash-domain, txid)`. It commits to everything in the
    /// transaction, including the chain id, and to nothing in the witness.
    pub fn sighash(&self) -> Hash {
        sighash(&self.id())
    }

    /// The outpoint of output `index` of this transaction. Computes the id (an encoding and
    /// a hash) on every call: for many outputs, compute [`Transaction::id`] once instead.
    pub fn outpoint(&self, index: u32) -> OutPoint {
        OutPoint {
            tx: self.id(),
            index,
        }
    }

    /// Signs with each key and wraps the result with its witness.
    pub fn sign(self, keys: &[&SecretKey]) -> SignedTransaction {
        let msg = self.sighash();
        let signatures = keys
            .iter()
            .map(|k| KeySignature {
                key: k.public_key(),
                signature: k.sign(msg.as_bytes()),
            })
            .collect();
        SignedTransaction {
            tx: self,
            witness: Witness {
                signatures,
                proof: Vec::new(),
            },
        }
    }
}

/// The signing message for the transaction with id `txid`.
pub fn sighash(txid: &TxId) -> Hash {
    hash(Domain::SIGHASH, txid.as_bytes())
}

/// A signature by one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeySignature {
    /// The signer.
    pub key: PublicKey,
    /// Its signature over the transaction's [`sighash`](Transaction::sighash).
    pub signature: Signature,
}

/// The evidence that a transaction is authorised: signatures, and the execution proof.
/// Kept apart from the transaction so neither changes its id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Witness {
    /// One signature per signing key, covering every input that key must authorise.
    pub signatures: Vec<KeySignature>,
    /// The proof of the transaction's execution in its `proof_system`; empty when the
    /// transaction has no execution.
    #[serde(with = "serde_bytes")]
    pub proof: Vec<u8>,
}

/// A transaction with its witness, as it travels and is stored in blocks.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignedTransaction {
    /// The transaction.
    pub tx: Transaction,
    /// Its witness.
    pub witness: Witness,
}

impl SignedTransaction {
    /// The transaction id (witness excluded).
    pub fn id(&self) -> TxId {
        self.tx.id()
    }

    /// The leaf of the block's witness root: `H(witness-domain, txid ‖ encode(witness))`.
    pub fn witness_commitment(&self) -> Hash {
        self.witness_commitment_for(&self.id())
    }

    /// [`witness_commitment`](Self::witness_commitment) given the already computed id.
    pub fn witness_commitment_for(&self, txid: &TxId) -> Hash {
        let mut h = Hasher::new(Domain::WITNESS);
        h.update(txid.as_bytes())
            .update(codec::encode(&self.witness));
        h.finalize()
    }
}
