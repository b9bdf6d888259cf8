//! The ledger's tables over a [`KvStore`], under one-byte key prefixes.
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `U` | outpoint (txid ‖ index BE) | the unspent `Output` |
//! | `S` | contract ‖ state key | `OutPoint` of the live State output |
//! | `B` | block hash | `Block` (every branch) |
//! | `H` | height (BE) | block hash on the applied chain |
//! | `R` | block hash | `Undo` of an applied block |
//! | `M` | — | `ChainMeta` of the tip |

use serde::Serialize;
use serde::de::DeserializeOwned;
use wes_core::{Block, BlockHash, ContractId, Hash, OutPoint, Output, codec};

use super::{Batch, KvStore};
use crate::error::StoreError;

pub(crate) fn utxo_key(op: &OutPoint) -> Vec<u8> {
    let mut k = Vec::with_capacity(37);
    k.push(b'U');
    k.extend_from_slice(op.tx.as_bytes());
    k.extend_from_slice(&op.index.to_be_bytes());
    k
}

pub(crate) fn state_key(contract: &ContractId, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(33 + key.len());
    k.push(b'S');
    k.extend_from_slice(contract.as_bytes());
    k.extend_from_slice(key);
    k
}

pub(crate) fn block_key(hash: &BlockHash) -> Vec<u8> {
    [&[b'B'][..], hash.as_bytes()].concat()
}

pub(crate) fn height_key(height: u64) -> Vec<u8> {
    [&[b'H'][..], &height.to_be_bytes()[..]].concat()
}

pub(crate) fn undo_key(hash: &BlockHash) -> Vec<u8> {
    [&[b'R'][..], hash.as_bytes()].concat()
}

pub(crate) const META_KEY: &[u8] = b"M";

/// The tip of the applied chain, with the state accumulator after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) struct ChainMeta {
    pub genesis: BlockHash,
    pub tip: BlockHash,
    pub height: u64,
    pub state_root: Hash,
    #[serde(with = "serde_bytes")]
    pub accumulator: Vec<u8>,
}

/// What reverting an applied block needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) struct Undo {
    /// Outputs the block spent, to restore.
    pub spent: Vec<(OutPoint, Output)>,
    /// Outputs the block created, to remove.
    pub created: Vec<(OutPoint, Output)>,
    /// The tip before the block.
    pub previous: ChainMeta,
}

/// Typed access to the tables.
pub(crate) struct Tables<S> {
    pub kv: S,
}

impl<S: KvStore> Tables<S> {
    fn read<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.kv.get(key)? {
            None => Ok(None),
            Some(bytes) => codec::decode(&bytes)
                .map(Some)
                .map_err(|source| StoreError::Corrupt {
                    key: hex_key(key),
                    source,
                }),
        }
    }

    pub fn utxo(&self, op: &OutPoint) -> Result<Option<Output>, StoreError> {
        self.read(&utxo_key(op))
    }

    pub fn state(&self, contract: &ContractId, key: &[u8]) -> Result<Option<OutPoint>, StoreError> {
        self.read(&state_key(contract, key))
    }

    pub fn block(&self, hash: &BlockHash) -> Result<Option<Block>, StoreError> {
        self.read(&block_key(hash))
    }

    pub fn hash_at(&self, height: u64) -> Result<Option<BlockHash>, StoreError> {
        self.read(&height_key(height))
    }

    pub fn undo(&self, hash: &BlockHash) -> Result<Option<Undo>, StoreError> {
        self.read(&undo_key(hash))
    }

    pub fn meta(&self) -> Result<Option<ChainMeta>, StoreError> {
        self.read(META_KEY)
    }
}

fn hex_key(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// Adds typed writes to a batch.
pub(crate) trait BatchExt {
    fn put_value<T: Serialize>(&mut self, key: Vec<u8>, value: &T);
}

impl BatchExt for Batch {
    fn put_value<T: Serialize>(&mut self, key: Vec<u8>, value: &T) {
        self.put(key, codec::encode(value));
    }
}
