//! The description of a chain's first block.

use serde::{Deserialize, Serialize};

use crate::hash::{BlockHash, Domain, Hash, hash_encoded};
use crate::keys::PublicKey;
use crate::types::block::{Block, BlockHeader, CompactTarget};
use crate::types::output::Output;
use crate::types::transaction::{ChainId, SignedTransaction, Transaction, ValidityWindow, Witness};

/// Everything that makes a chain *this* chain: its id, start time, initial target and the
/// whole initial supply. Two nodes with equal genesis descriptions build the same genesis
/// block.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Genesis {
    /// The chain id.
    pub chain_id: ChainId,
    /// Time of the genesis block, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The proof-of-work target of the first mined block (zero for engines without one).
    pub target: CompactTarget,
    /// The initial outputs: the entire supply of the native token, and any other outputs.
    pub allocations: Vec<Output>,
    /// Free text, e.g. a headline, that makes otherwise equal chains distinct.
    pub message: String,
}

impl Genesis {
    /// The hash of the description (not the genesis block hash).
    pub fn hash(&self) -> Hash {
        hash_encoded(Domain::GENESIS, self)
    }

    /// The coinbase of the genesis block: it creates the allocations.
    pub fn coinbase(&self) -> Transaction {
        Transaction {
            version: Transaction::VERSION,
            chain_id: self.chain_id,
            inputs: Vec::new(),
            outputs: self.allocations.clone(),
            validity: ValidityWindow {
                not_before: 0,
                not_after: 0,
            },
            execution: None,
        }
    }

    /// The genesis block, given the state root the chain's ledger computes for the
    /// allocations. No engine seals genesis, so its seal holds [`Genesis::hash`]: the block
    /// hash commits to every field of the description, the message included.
    pub fn block(&self, state_root: Hash) -> Block {
        let mut block = Block {
            header: BlockHeader {
                version: BlockHeader::VERSION,
                chain_id: self.chain_id,
                parent: BlockHash(Hash::ZERO),
                height: 0,
                time_ms: self.time_ms,
                tx_root: Hash::ZERO,
                witness_root: Hash::ZERO,
                state_root,
                producer: PublicKey([0; 32]),
                target: self.target,
                nonce: 0,
                seal: self.hash().as_bytes().to_vec(),
            },
            transactions: vec![SignedTransaction {
                tx: self.coinbase(),
                witness: Witness::default(),
            }],
        };
        block.seal_roots();
        block
    }
}
