//! The index of contract events (logs) on the best chain: which contract emitted which
//! topic, in which block and transaction. Kept by a tip observer in a key-value store of its
//! own (sled beside the ledger, or memory), read by `wes_getLogs`.
//!
//! Events are read from the replay proofs of the transactions (see
//! [`wes_ispc::events_of`]): the trace names the emitter of each. Executions proven by
//! another system publish none.
//!
//! The index follows the ledger, not the order in which it hears of moves: each move (and
//! opening the index) *syncs* it — heights whose indexed block is no longer the best
//! chain's are unwound, then the blocks above are indexed, one atomic batch per block.
//! A crash at any point leaves an index that the next sync repairs.
//!
//! Keys: `e ‖ height ‖ tx index ‖ log index` (big-endian) → [`StoredLog`]; `h ‖ height` →
//! the block indexed at that height; `t` → the highest indexed height.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use wes_core::{Block, BlockHash, ContractId, Ledger, TxId, codec};
use wes_ledger::{Batch, KvStore, StoreError};

use crate::ledger::ChainLedger;
use crate::tip::{TipMoved, TipObserver};

/// A log as the index stores it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLog {
    /// The block holding the transaction.
    pub block: BlockHash,
    /// The transaction.
    pub txid: TxId,
    /// The emitting contract.
    pub contract: ContractId,
    /// The topic.
    pub topic: String,
    /// The data.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// A log and where it is: height, transaction index in the block, log index in the
/// transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Its block's height.
    pub height: u64,
    /// The transaction's position in the block.
    pub tx_index: u32,
    /// The log's position among the transaction's logs.
    pub log_index: u32,
    /// The log.
    pub log: StoredLog,
}

impl LogEntry {
    /// Its position, the order logs are listed in.
    pub fn position(&self) -> LogPosition {
        LogPosition {
            height: self.height,
            tx_index: self.tx_index,
            log_index: self.log_index,
        }
    }
}

/// Where a log is; logs are listed in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPosition {
    /// The block's height.
    pub height: u64,
    /// The transaction's position in the block.
    pub tx_index: u32,
    /// The log's position in the transaction.
    pub log_index: u32,
}

impl std::fmt::Display for LogPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.height, self.tx_index, self.log_index)
    }
}

impl std::str::FromStr for LogPosition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split(':');
        let mut next = |what: &str| {
            parts
                .next()
                .ok_or_else(|| format!("{s:?}: expected height:tx:log"))?
                .parse::<u64>()
                .map_err(|e| format!("{s:?}: {what}: {e}"))
        };
        let height = next("height")?;
        let tx_index = u32::try_from(next("tx")?).map_err(|e| e.to_string())?;
        let log_index = u32::try_from(next("log")?).map_err(|e| e.to_string())?;
        if parts.next().is_some() {
            return Err(format!("{s:?}: expected height:tx:log"));
        }
        Ok(LogPosition {
            height,
            tx_index,
            log_index,
        })
    }
}

/// What the logs of a query must match: any of `contracts` (all when empty), any of
/// `topics` (all when empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogMatch {
    /// Emitters.
    pub contracts: Vec<ContractId>,
    /// Topics.
    pub topics: Vec<String>,
}

impl LogMatch {
    /// Whether a log of `contract` with `topic` matches.
    pub fn matches(&self, contract: &ContractId, topic: &str) -> bool {
        (self.contracts.is_empty() || self.contracts.contains(contract))
            && (self.topics.is_empty() || self.topics.iter().any(|t| t == topic))
    }
}

/// The logs of `block`'s transactions, in order, with their positions.
pub fn logs_of_block(block: &Block) -> Vec<LogEntry> {
    let hash = block.hash();
    let mut out = Vec::new();
    for (tx_index, tx) in block.transactions.iter().enumerate() {
        let events = wes_ispc::events_of(tx);
        if events.is_empty() {
            continue;
        }
        let txid = tx.id();
        for (log_index, e) in events.into_iter().enumerate() {
            out.push(LogEntry {
                height: block.header.height,
                tx_index: tx_index as u32,
                log_index: log_index as u32,
                log: StoredLog {
                    block: hash,
                    txid,
                    contract: e.contract,
                    topic: e.topic,
                    data: e.data,
                },
            });
        }
    }
    out
}

/// Why the index could not be read or kept.
#[derive(Debug, thiserror::Error)]
pub enum EventIndexError {
    /// Its store failed.
    #[error("event index store: {0}")]
    Store(#[from] StoreError),
    /// The ledger failed while the index followed it.
    #[error("reading the ledger for the event index: {0}")]
    Ledger(String),
    /// A record does not decode: the store is corrupt.
    #[error("event index: corrupt record under {key}: {reason}")]
    Corrupt {
        /// The key, hex.
        key: String,
        /// What did not decode.
        reason: String,
    },
}

/// The best chain, as the index reads it.
trait BestChain: Send + Sync {
    fn height(&self) -> Result<u64, String>;
    fn hash_at(&self, height: u64) -> Result<Option<BlockHash>, String>;
    fn block(&self, hash: &BlockHash) -> Result<Option<Block>, String>;
}

impl<L: ChainLedger> BestChain for L {
    fn height(&self) -> Result<u64, String> {
        self.tip().map(|t| t.height).map_err(|e| e.to_string())
    }

    fn hash_at(&self, height: u64) -> Result<Option<BlockHash>, String> {
        Ledger::hash_at(self, height).map_err(|e| e.to_string())
    }

    fn block(&self, hash: &BlockHash) -> Result<Option<Block>, String> {
        Ledger::block(self, hash).map_err(|e| e.to_string())
    }
}

const TIP: &[u8] = b"t";

fn log_key(height: u64, tx: u32, log: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(b'e');
    k.extend_from_slice(&height.to_be_bytes());
    k.extend_from_slice(&tx.to_be_bytes());
    k.extend_from_slice(&log.to_be_bytes());
    k
}

fn height_prefix(height: u64) -> Vec<u8> {
    let mut k = vec![b'e'];
    k.extend_from_slice(&height.to_be_bytes());
    k
}

fn block_key(height: u64) -> Vec<u8> {
    let mut k = vec![b'h'];
    k.extend_from_slice(&height.to_be_bytes());
    k
}

fn corrupt(key: &[u8], reason: impl std::fmt::Display) -> EventIndexError {
    EventIndexError::Corrupt {
        key: hex::encode(key),
        reason: reason.to_string(),
    }
}

/// The event index.
pub struct EventIndex {
    store: Arc<dyn KvStore>,
    chain: Arc<dyn BestChain>,
    /// Serialises syncs (moves may be announced from several threads).
    sync: Mutex<()>,
}

impl std::fmt::Debug for EventIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventIndex").finish_non_exhaustive()
    }
}

impl EventIndex {
    /// The index in `store`, following `ledger`'s best chain, brought up to date with it
    /// (the blocks applied since it was last written are indexed now).
    ///
    /// # Errors
    /// The store or the ledger fails.
    pub fn open<L: ChainLedger>(
        store: Arc<dyn KvStore>,
        ledger: Arc<L>,
    ) -> Result<Self, EventIndexError> {
        let index = EventIndex {
            store,
            chain: ledger,
            sync: Mutex::new(()),
        };
        index.sync()?;
        Ok(index)
    }

    /// The highest indexed height (`None` before anything is indexed).
    ///
    /// # Errors
    /// The store fails or holds a corrupt record.
    pub fn indexed_height(&self) -> Result<Option<u64>, EventIndexError> {
        self.store
            .get(TIP)?
            .map(|v| <[u8; 8]>::try_from(v.as_slice()).map(u64::from_be_bytes))
            .transpose()
            .map_err(|e| corrupt(TIP, e))
    }

    fn indexed_block(&self, height: u64) -> Result<Option<BlockHash>, EventIndexError> {
        let key = block_key(height);
        self.store
            .get(&key)?
            .map(|v| codec::decode(&v).map_err(|e| corrupt(&key, e)))
            .transpose()
    }

    /// Brings the index to the ledger's best chain: unwinds heights whose block left it,
    /// indexes the blocks above.
    ///
    /// # Errors
    /// The store or the ledger fails; what was written so far stays consistent.
    pub fn sync(&self) -> Result<(), EventIndexError> {
        self.sync_with(&[])
    }

    /// [`sync`](Self::sync), reading the blocks in `known` (those a move just applied)
    /// from there rather than from the ledger.
    fn sync_with(&self, known: &[Block]) -> Result<(), EventIndexError> {
        let _one = self.sync.lock().unwrap_or_else(|e| e.into_inner());
        let ledger = |e: String| EventIndexError::Ledger(e);
        let best = self.chain.height().map_err(ledger)?;
        let mut height = self.indexed_height()?;
        // Unwind what is not on the best chain any more, from the top.
        while let Some(h) = height {
            let on_best =
                h <= best && self.indexed_block(h)? == self.chain.hash_at(h).map_err(ledger)?;
            if on_best {
                break;
            }
            let mut batch = Batch::new();
            for (key, _) in self.store.scan_prefix(&height_prefix(h))? {
                batch.delete(key);
            }
            batch.delete(block_key(h));
            let below = h.checked_sub(1);
            match below {
                Some(b) => batch.put(TIP.to_vec(), b.to_be_bytes().to_vec()),
                None => batch.delete(TIP.to_vec()),
            }
            self.store.apply(batch)?;
            height = below;
        }
        // Index what is above.
        let from = height.map_or(0, |h| h + 1);
        for h in from..=best {
            let Some(hash) = self.chain.hash_at(h).map_err(ledger)? else {
                break;
            };
            let fetched;
            let block = match known
                .iter()
                .find(|b| b.header.height == h && b.hash() == hash)
            {
                Some(b) => b,
                None => {
                    fetched = self.chain.block(&hash).map_err(ledger)?.ok_or_else(|| {
                        EventIndexError::Ledger(format!("block {hash} at height {h} is missing"))
                    })?;
                    &fetched
                }
            };
            let mut batch = Batch::new();
            for entry in logs_of_block(block) {
                batch.put(
                    log_key(entry.height, entry.tx_index, entry.log_index),
                    codec::encode(&entry.log),
                );
            }
            batch.put(block_key(h), codec::encode(&hash));
            batch.put(TIP.to_vec(), h.to_be_bytes().to_vec());
            self.store.apply(batch)?;
        }
        Ok(())
    }

    /// The logs from height `from` to `to` (inclusive) that match, after position `after`,
    /// at most `limit`, in order; and whether more matching logs may follow in the range
    /// (the page is full).
    ///
    /// # Errors
    /// The store fails or holds a corrupt record.
    pub fn logs(
        &self,
        from: u64,
        to: u64,
        filter: &LogMatch,
        after: Option<LogPosition>,
        limit: usize,
    ) -> Result<(Vec<LogEntry>, bool), EventIndexError> {
        let mut out = Vec::new();
        let start = after.map_or(from, |a| a.height.max(from));
        for height in start..=to {
            for (key, value) in self.store.scan_prefix(&height_prefix(height))? {
                let (tx_index, log_index) = match key.get(9..17) {
                    Some(rest) => (
                        u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]),
                        u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]),
                    ),
                    None => return Err(corrupt(&key, "short key")),
                };
                let position = LogPosition {
                    height,
                    tx_index,
                    log_index,
                };
                if after.is_some_and(|a| position <= a) {
                    continue;
                }
                let log: StoredLog = codec::decode(&value).map_err(|e| corrupt(&key, e))?;
                if !filter.matches(&log.contract, &log.topic) {
                    continue;
                }
                if out.len() == limit {
                    return Ok((out, true));
                }
                out.push(LogEntry {
                    height,
                    tx_index,
                    log_index,
                    log,
                });
            }
        }
        Ok((out, false))
    }
}

impl TipObserver for EventIndex {
    fn tip_moved(&self, moved: &TipMoved) {
        if moved.applied.is_empty() && moved.reverted.is_empty() {
            return;
        }
        if let Err(e) = self.sync_with(&moved.applied) {
            tracing::error!("event index: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::RwLock;

    use wes_core::{
        BlockHeader, ChainId, CompactTarget, ContentId, Execution, Hash, PublicKey,
        SignedTransaction, TraceEntry, Transaction, ValidityWindow, Witness,
    };
    use wes_ledger::MemoryStore;

    use super::*;

    /// A best chain that tests replace at will.
    #[derive(Default)]
    struct FakeChain(RwLock<Vec<Block>>);

    impl BestChain for FakeChain {
        fn height(&self) -> Result<u64, String> {
            Ok(self.0.read().unwrap().len() as u64 - 1)
        }
        fn hash_at(&self, height: u64) -> Result<Option<BlockHash>, String> {
            Ok(self.0.read().unwrap().get(height as usize).map(Block::hash))
        }
        fn block(&self, hash: &BlockHash) -> Result<Option<Block>, String> {
            Ok(self
                .0
                .read()
                .unwrap()
                .iter()
                .find(|b| b.hash() == *hash)
                .cloned())
        }
    }

    /// A transaction whose replay proof records `topics` emitted by contract `c`.
    fn emitting(c: u8, topics: &[&str]) -> SignedTransaction {
        let trace: Vec<TraceEntry> = topics
            .iter()
            .map(|t| TraceEntry {
                call: "emit_event".into(),
                input: codec::encode(&(ContractId(Hash([c; 32])), t.as_bytes().to_vec(), vec![c])),
                output: vec![],
                cu: 0,
            })
            .collect();
        SignedTransaction {
            tx: Transaction {
                version: Transaction::VERSION,
                chain_id: ChainId(1),
                inputs: vec![],
                outputs: vec![],
                validity: ValidityWindow::ALWAYS,
                execution: Some(Execution {
                    contract: ContractId(Hash([c; 32])),
                    callees: vec![],
                    resource: ContentId(Hash([c; 32])),
                    entry: "e".into(),
                    args: vec![],
                    cu_limit: 1,
                    cu_used: 1,
                    trace_root: wes_core::trace_root(&trace),
                    proof_system: wes_ispc::replay_system(),
                }),
            },
            witness: Witness {
                signatures: vec![],
                proof: wes_ispc::encode_replay_proof(&trace),
            },
        }
    }

    /// A chain of blocks on `parent`, one per entry of `txs`; `salt` makes its hashes its own.
    fn branch(parent: Option<&Block>, txs: Vec<Vec<SignedTransaction>>, salt: u64) -> Vec<Block> {
        let mut out: Vec<Block> = Vec::new();
        for transactions in txs {
            let prev = out.last().or(parent);
            let header = BlockHeader {
                version: 1,
                chain_id: ChainId(1),
                parent: prev.map_or(BlockHash::default(), Block::hash),
                height: prev.map_or(0, |p| p.header.height + 1),
                time_ms: salt,
                tx_root: Hash::default(),
                witness_root: Hash::default(),
                state_root: Hash::default(),
                producer: PublicKey([0; 32]),
                target: CompactTarget(0),
                nonce: 0,
                seal: vec![],
            };
            out.push(Block {
                header,
                transactions,
            });
        }
        out
    }

    fn topics(index: &EventIndex) -> Vec<(u64, String)> {
        let (logs, more) = index
            .logs(0, 100, &LogMatch::default(), None, 1_000)
            .unwrap();
        assert!(!more);
        logs.into_iter().map(|e| (e.height, e.log.topic)).collect()
    }

    #[test]
    fn the_index_follows_the_best_chain_through_reorganisations_and_restarts() {
        let chain = Arc::new(FakeChain::default());
        let main = branch(
            None,
            vec![
                vec![],
                vec![emitting(1, &["a", "b"])],
                vec![emitting(2, &["c"])],
            ],
            0,
        );
        *chain.0.write().unwrap() = main.clone();
        let store: Arc<dyn KvStore> = Arc::new(MemoryStore::default());
        let open = |store: Arc<dyn KvStore>| EventIndex {
            store,
            chain: chain.clone(),
            sync: Mutex::new(()),
        };
        let index = open(store.clone());
        index.sync().unwrap();
        assert_eq!(index.indexed_height().unwrap(), Some(2));
        assert_eq!(
            topics(&index),
            [(1, "a".into()), (1, "b".into()), (2, "c".into())]
        );

        // A reorganisation replaces heights 2.. with a longer branch: "c" goes, "d" and "e"
        // come.
        let side = branch(
            Some(&main[1]),
            vec![vec![emitting(3, &["d"])], vec![emitting(4, &["e"])]],
            7,
        );
        chain.0.write().unwrap().truncate(2);
        chain.0.write().unwrap().extend(side.clone());
        index.sync().unwrap();
        assert_eq!(
            topics(&index),
            [
                (1, "a".into()),
                (1, "b".into()),
                (2, "d".into()),
                (3, "e".into())
            ]
        );

        // The chain shrinks back to the first branch while the index is closed: the next
        // opening unwinds what left and indexes what came.
        drop(index);
        *chain.0.write().unwrap() = main.clone();
        let index = open(store);
        index.sync().unwrap();
        assert_eq!(index.indexed_height().unwrap(), Some(2));
        assert_eq!(
            topics(&index),
            [(1, "a".into()), (1, "b".into()), (2, "c".into())]
        );

        // Filters and positions.
        let only_2 = LogMatch {
            contracts: vec![ContractId(Hash([2; 32]))],
            topics: vec![],
        };
        let (logs, _) = index.logs(0, 2, &only_2, None, 10).unwrap();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].position().to_string(), "2:0:0");
        let after_a = "1:0:0".parse().unwrap();
        let (logs, more) = index
            .logs(0, 2, &LogMatch::default(), Some(after_a), 1)
            .unwrap();
        assert_eq!((logs[0].log.topic.as_str(), more), ("b", true));
        assert!("1:2".parse::<LogPosition>().is_err());
    }
}
