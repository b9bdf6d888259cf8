//! Block headers and blocks.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::codec;
use crate::hash::{BlockHash, Domain, Hash, TxId, hash};
use crate::keys::PublicKey;
use crate::merkle::merkle_root;
use crate::types::transaction::{ChainId, SignedTransaction};

/// A 256-bit proof-of-work target in Bitcoin's compact "nBits" form: the top byte is a base-256
/// exponent, the low 23 bits the mantissa. Engines without proof of work leave it zero. The
/// conversion to a full target lives with the engine (`wes-consensus`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CompactTarget(pub u32);

impl fmt::Display for CompactTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

/// The most bytes a header's seal may hold.
pub const MAX_SEAL_LEN: usize = 256;

/// A block header. Its hash identifies the block; it commits to the transactions *and* their
/// witnesses, so a block's signatures and proofs cannot be swapped after it is sealed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockHeader {
    /// Format version, currently 1.
    pub version: u32,
    /// The chain.
    pub chain_id: ChainId,
    /// Hash of the previous block; [`Hash::ZERO`] for genesis.
    pub parent: BlockHash,
    /// Number of blocks before this one.
    pub height: u64,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Merkle root of the transaction ids.
    pub tx_root: Hash,
    /// Merkle root of the witness commitments.
    pub witness_root: Hash,
    /// Commitment to the ledger state (UTXO set) after this block.
    pub state_root: Hash,
    /// The producer's key (a miner's identity, or the authority that signs the seal).
    pub producer: PublicKey,
    /// Proof-of-work target; zero for engines without one.
    pub target: CompactTarget,
    /// Proof-of-work nonce.
    pub nonce: u64,
    /// Engine-specific seal, e.g. an authority's signature over [`BlockHeader::seal_hash`];
    /// at most [`MAX_SEAL_LEN`] bytes; empty for proof of work.
    #[serde(with = "serde_bytes")]
    pub seal: Vec<u8>,
}

impl BlockHeader {
    /// The current header format version.
    pub const VERSION: u32 = 1;

    /// The block hash: the hash of the whole header, seal included.
    pub fn hash(&self) -> BlockHash {
        BlockHash(hash(Domain::BLOCK_HEADER, codec::encode(self)))
    }

    /// The hash of the header with an empty seal, in its own domain: what a sealing
    /// authority signs.
    pub fn seal_hash(&self) -> Hash {
        let mut unsealed = self.clone();
        unsealed.seal.clear();
        hash(Domain::HEADER_SEAL, codec::encode(&unsealed))
    }
}

/// A block: its header and transactions, the coinbase first.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The transactions with their witnesses; the first is the coinbase.
    pub transactions: Vec<SignedTransaction>,
}

/// A block whose body does not match its header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The transaction root differs.
    #[error("tx root mismatch: header has {expected}, body gives {got}")]
    TxRootMismatch {
        /// In the header.
        expected: Hash,
        /// Computed from the body.
        got: Hash,
    },
    /// The witness root differs.
    #[error("witness root mismatch: header has {expected}, body gives {got}")]
    WitnessRootMismatch {
        /// In the header.
        expected: Hash,
        /// Computed from the body.
        got: Hash,
    },
    /// The seal is longer than [`MAX_SEAL_LEN`].
    #[error("seal of {got} bytes exceeds {max}")]
    SealTooLong {
        /// Its length.
        got: usize,
        /// The limit.
        max: usize,
    },
}

impl Block {
    /// The block hash.
    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }

    /// The transaction ids, in order.
    pub fn tx_ids(&self) -> Vec<TxId> {
        self.transactions
            .iter()
            .map(SignedTransaction::id)
            .collect()
    }

    /// The transaction root of the body.
    pub fn compute_tx_root(&self) -> Hash {
        let ids: Vec<Hash> = self.transactions.iter().map(|t| t.id().0).collect();
        merkle_root(&ids)
    }

    /// The witness root of the body.
    pub fn compute_witness_root(&self) -> Hash {
        let leaves: Vec<Hash> = self
            .transactions
            .iter()
            .map(SignedTransaction::witness_commitment)
            .collect();
        merkle_root(&leaves)
    }

    /// Sets the header's roots from the body.
    pub fn seal_roots(&mut self) {
        self.header.tx_root = self.compute_tx_root();
        self.header.witness_root = self.compute_witness_root();
    }

    /// Checks the header's roots against the body and the seal length.
    pub fn check_body(&self) -> Result<(), BodyError> {
        self.check_body_with(&self.tx_ids())
    }

    /// [`check_body`](Self::check_body) with the transaction ids already computed (in
    /// order), so a validator hashes each transaction once.
    ///
    /// # Panics
    /// If `txids` does not have one id per transaction.
    pub fn check_body_with(&self, txids: &[TxId]) -> Result<(), BodyError> {
        assert_eq!(
            txids.len(),
            self.transactions.len(),
            "one id per transaction"
        );
        if self.header.seal.len() > MAX_SEAL_LEN {
            return Err(BodyError::SealTooLong {
                got: self.header.seal.len(),
                max: MAX_SEAL_LEN,
            });
        }
        let ids: Vec<Hash> = txids.iter().map(|id| id.0).collect();
        let got = merkle_root(&ids);
        if got != self.header.tx_root {
            return Err(BodyError::TxRootMismatch {
                expected: self.header.tx_root,
                got,
            });
        }
        let leaves: Vec<Hash> = self
            .transactions
            .iter()
            .zip(txids)
            .map(|(tx, id)| tx.witness_commitment_for(id))
            .collect();
        let got = merkle_root(&leaves);
        if got != self.header.witness_root {
            return Err(BodyError::WitnessRootMismatch {
                expected: self.header.witness_root,
                got,
            });
        }
        Ok(())
    }

    /// The coinbase transaction, if the block has any transaction.
    pub fn coinbase(&self) -> Option<&SignedTransaction> {
        self.transactions.first()
    }
}
