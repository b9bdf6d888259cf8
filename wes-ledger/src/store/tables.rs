//! The ledger's tables over a [`KvStore`], under one-byte key prefixes.
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `U` | outpoint (txid ‖ index BE) | the unspent `Output` |
//! | `S` | contract ‖ state key | `OutPoint` of the live State output |
//! | `B` | block hash | `Block` (every branch) |
//! | `h` | block hash | its `BlockHeader` (so that a restart reads headers, not blocks) |
//! | `H` | height (BE) | block hash on the applied chain |
//! | `R` | block hash | `Undo` of an applied block |
//! | `M` | — | `ChainMeta` of the tip |
//! | `O` | owner address ‖ outpoint | empty: the unspent outputs of each owner |
//! | `L` | txid | (block hash, height) of the applied block holding it |
//! | `P` | content id ‖ outpoint | empty: the live `Resource` outputs of each content |
//! | `I` | — | version of the `O`, `L`, `h` and `P` indexes (absent in stores written before them) |

use serde::Serialize;
use serde::de::DeserializeOwned;
use wes_core::{
    Address, Block, BlockHash, ContentId, ContractId, Hash, OutPoint, Output, TxId, codec,
};

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

pub(crate) fn header_key(hash: &BlockHash) -> Vec<u8> {
    [&[b'h'][..], hash.as_bytes()].concat()
}

pub(crate) fn height_key(height: u64) -> Vec<u8> {
    [&[b'H'][..], &height.to_be_bytes()[..]].concat()
}

pub(crate) fn undo_key(hash: &BlockHash) -> Vec<u8> {
    [&[b'R'][..], hash.as_bytes()].concat()
}

pub(crate) const META_KEY: &[u8] = b"M";

/// Where the version of the persistent indexes is kept.
pub(crate) const INDEX_KEY: &[u8] = b"I";

/// The version of the persistent indexes this code writes (2: block headers apart; 3: the
/// live resources).
pub(crate) const INDEX_VERSION: u32 = 3;

/// The key of a live Resource output `op` holding `content`.
pub(crate) fn resource_key(content: &ContentId, op: &OutPoint) -> Vec<u8> {
    let mut k = Vec::with_capacity(69);
    k.push(b'P');
    k.extend_from_slice(content.as_bytes());
    k.extend_from_slice(op.tx.as_bytes());
    k.extend_from_slice(&op.index.to_be_bytes());
    k
}

pub(crate) fn owner_prefix(owner: &Address) -> Vec<u8> {
    [&[b'O'][..], owner.0.as_bytes()].concat()
}

pub(crate) fn owner_key(owner: &Address, op: &OutPoint) -> Vec<u8> {
    let mut k = owner_prefix(owner);
    k.extend_from_slice(op.tx.as_bytes());
    k.extend_from_slice(&op.index.to_be_bytes());
    k
}

pub(crate) fn location_key(txid: &TxId) -> Vec<u8> {
    [&[b'L'][..], txid.as_bytes()].concat()
}

/// The outpoint at the end of an owner-index or UTXO key (`prefix` bytes before it).
pub(crate) fn outpoint_after(key: &[u8], prefix: usize) -> Option<OutPoint> {
    let rest = key.get(prefix..)?;
    let (tx, index) = (rest.get(..32)?, rest.get(32..36)?);
    Some(OutPoint {
        tx: TxId(Hash(tx.try_into().ok()?)),
        index: u32::from_be_bytes(index.try_into().ok()?),
    })
}

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
    /// The record under `key`: written by this ledger, so read back whatever its size
    /// ([`codec::decode_stored`]).
    fn read<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.kv.get(key)? {
            None => Ok(None),
            Some(bytes) => {
                codec::decode_stored(&bytes)
                    .map(Some)
                    .map_err(|source| StoreError::Corrupt {
                        key: hex_key(key),
                        source,
                    })
            }
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

    pub fn header(&self, hash: &BlockHash) -> Result<Option<wes_core::BlockHeader>, StoreError> {
        self.read(&header_key(hash))
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

    pub fn index_version(&self) -> Result<Option<u32>, StoreError> {
        self.read(INDEX_KEY)
    }

    /// The outpoints of `owner`'s unspent outputs, in outpoint order.
    pub fn owned(&self, owner: &Address) -> Result<Vec<OutPoint>, StoreError> {
        self.owned_page(owner, None, usize::MAX)
    }

    /// A page of [`owned`](Self::owned): those after `after`, at most `limit` (the key
    /// order is the outpoint order: txid bytes, then the index big-endian).
    pub fn owned_page(
        &self,
        owner: &Address,
        after: Option<&OutPoint>,
        limit: usize,
    ) -> Result<Vec<OutPoint>, StoreError> {
        let prefix = owner_prefix(owner);
        let after = after.map(|op| owner_key(owner, op));
        let keys = if after.is_none() && limit == usize::MAX {
            self.kv.scan_prefix(&prefix)?
        } else {
            self.kv.scan_prefix_page(&prefix, after.as_deref(), limit)?
        };
        keys.into_iter()
            .map(|(key, _)| {
                outpoint_after(&key, prefix.len()).ok_or_else(|| {
                    StoreError::Missing(format!("an outpoint in owner-index key {}", hex_key(&key)))
                })
            })
            .collect()
    }

    /// How many live Resource outputs hold each content (the `P` index).
    pub fn live_resources(&self) -> Result<std::collections::BTreeMap<ContentId, u64>, StoreError> {
        let mut live = std::collections::BTreeMap::new();
        for (key, _) in self.kv.scan_prefix(b"P")? {
            let id: [u8; 32] = key
                .get(1..33)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    StoreError::Missing(format!("a content id in resource key {}", hex_key(&key)))
                })?;
            *live.entry(ContentId(Hash(id))).or_insert(0u64) += 1;
        }
        Ok(live)
    }

    pub fn location(&self, txid: &TxId) -> Result<Option<(BlockHash, u64)>, StoreError> {
        self.read(&location_key(txid))
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
