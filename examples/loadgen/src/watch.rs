//! Following a node's best chain, reorganisations included.
//!
//! A transfer counts as included only while a block of the *current* best chain holds it.
//! Reading each height once is not enough: when the node moves to another branch, the
//! blocks already read at those heights leave the chain, and the transfers of the blocks
//! that replace them would never be seen (a five-node devnet under load reorganises
//! several blocks deep, and such a reader reported a third of the transfers as lost while
//! the chain held every one of them).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde_json::{Value, json};
use wes_core::TxId;
use wes_node::Client;

use crate::LoadError;

/// A block as the watcher reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BlockSummary {
    /// Its hash (as the node writes it).
    pub hash: String,
    /// Its parent's hash.
    pub parent: String,
    /// The ids of its transactions.
    pub txs: Vec<TxId>,
}

/// Where the watcher reads the best chain.
pub(crate) trait BlockSource {
    /// The best chain's height.
    async fn tip(&self) -> Result<u64, LoadError>;
    /// The best chain's block at `height`; `None` when the chain is not that high (any
    /// more: a shorter, heavier branch replaced it since the tip was read).
    async fn block(&self, height: u64) -> Result<Option<BlockSummary>, LoadError>;
}

impl BlockSource for Client {
    async fn tip(&self) -> Result<u64, LoadError> {
        Ok(self.call("wes_blockNumber", vec![]).await?)
    }

    async fn block(&self, height: u64) -> Result<Option<BlockSummary>, LoadError> {
        let block: Value = match self.call("wes_getBlockByHeight", vec![json!(height)]).await {
            Ok(block) => block,
            Err(e) if e.rule().as_deref() == Some("not_found") => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let text = |field: &str| block[field].as_str().map(str::to_owned);
        let txs = block["transactions"].as_array().map(|ids| {
            ids.iter()
                .filter_map(|id| id.as_str()?.parse().ok())
                .collect()
        });
        match (text("hash"), text("parent"), txs) {
            (Some(hash), Some(parent), Some(txs)) => Ok(Some(BlockSummary { hash, parent, txs })),
            _ => Err(LoadError::Answer {
                method: "wes_getBlockByHeight",
                answer: block.to_string(),
            }),
        }
    }
}

/// A block of the best chain and when the watcher first saw it there.
struct Seen {
    hash: String,
    txs: Vec<TxId>,
    at: Instant,
}

/// The best chain from `floor` up, as last read, with where each transaction is.
pub(crate) struct ChainWatch {
    floor: u64,
    blocks: BTreeMap<u64, Seen>,
    included: HashMap<TxId, u64>,
    replaced: u64,
}

impl ChainWatch {
    /// Watches from height `floor` up (blocks below it are never read).
    pub fn new(floor: u64) -> ChainWatch {
        ChainWatch {
            floor,
            blocks: BTreeMap::new(),
            included: HashMap::new(),
            replaced: 0,
        }
    }

    /// Reads what changed since the last call: new blocks, and the blocks that replaced
    /// those that left the best chain (walking down from the tip until a block's parent is
    /// the block already held below it). A reorganisation in the middle of the walk is
    /// mended by the next call, which walks down again from the new tip.
    pub async fn follow<S: BlockSource>(&mut self, source: &S) -> Result<(), LoadError> {
        let tip = source.tip().await?;
        // A heavier branch may be shorter.
        let above: Vec<u64> = self.blocks.range(tip + 1..).map(|(h, _)| *h).collect();
        for h in above {
            self.forget(h);
        }
        let now = Instant::now();
        let mut height = tip;
        while height >= self.floor {
            let Some(block) = source.block(height).await? else {
                return Ok(()); // the chain got shorter meanwhile: the next call reads it
            };
            if self
                .blocks
                .get(&height)
                .is_some_and(|seen| seen.hash == block.hash)
            {
                break;
            }
            self.forget(height);
            for id in &block.txs {
                self.included.insert(*id, height);
            }
            let parent = block.parent;
            self.blocks.insert(
                height,
                Seen {
                    hash: block.hash,
                    txs: block.txs,
                    at: now,
                },
            );
            let linked = height
                .checked_sub(1)
                .and_then(|below| self.blocks.get(&below))
                .is_some_and(|seen| seen.hash == parent);
            if linked || height == self.floor {
                break;
            }
            height -= 1;
        }
        Ok(())
    }

    /// Drops the block held at `height`, counting it as replaced.
    fn forget(&mut self, height: u64) {
        let Some(seen) = self.blocks.remove(&height) else {
            return;
        };
        self.replaced += 1;
        for id in seen.txs {
            if self.included.get(&id) == Some(&height) {
                self.included.remove(&id);
            }
        }
    }

    /// The height of the best-chain block holding `tx`.
    pub fn height_of(&self, tx: &TxId) -> Option<u64> {
        self.included.get(tx).copied()
    }

    /// When the watcher first saw the best chain's block at `height`.
    pub fn seen_at(&self, height: u64) -> Option<Instant> {
        self.blocks.get(&height).map(|seen| seen.at)
    }

    /// The best chain's height as last read (`None` before anything was read).
    pub fn tip(&self) -> Option<u64> {
        self.blocks.keys().next_back().copied()
    }

    /// Blocks read that later left the best chain.
    pub fn replaced(&self) -> u64 {
        self.replaced
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use wes_core::Hash;

    use super::*;

    /// A best chain that the test rewrites: block `i` is at height `i`.
    struct Chain(Mutex<Vec<BlockSummary>>);

    impl Chain {
        /// Blocks named `{branch}{height}` up to `tip`, holding `txs[height]`.
        fn branch(branch: &str, tip: u64, txs: &HashMap<u64, Vec<TxId>>) -> Vec<BlockSummary> {
            (0..=tip)
                .map(|h| BlockSummary {
                    hash: if h < 3 {
                        format!("common{h}")
                    } else {
                        format!("{branch}{h}")
                    },
                    parent: match h {
                        0 => String::new(),
                        1..=3 => format!("common{}", h - 1),
                        _ => format!("{branch}{}", h - 1),
                    },
                    txs: txs.get(&h).cloned().unwrap_or_default(),
                })
                .collect()
        }
    }

    impl BlockSource for Chain {
        async fn tip(&self) -> Result<u64, LoadError> {
            Ok(self.0.lock().unwrap().len() as u64 - 1)
        }
        async fn block(&self, height: u64) -> Result<Option<BlockSummary>, LoadError> {
            Ok(self.0.lock().unwrap().get(height as usize).cloned())
        }
    }

    fn tx(n: u8) -> TxId {
        TxId(Hash([n; 32]))
    }

    #[tokio::test]
    async fn a_reorganisation_moves_transactions_to_the_new_branch() {
        // Branch a: x at 3, y at 4. Branch b (heavier, one longer): y at 3, z at 5; x gone.
        let a = HashMap::from([(3, vec![tx(1)]), (4, vec![tx(2)])]);
        let b = HashMap::from([(3, vec![tx(2)]), (5, vec![tx(3)])]);
        let chain = Chain(Mutex::new(Chain::branch("a", 4, &a)));
        let mut watch = ChainWatch::new(1);
        watch.follow(&chain).await.unwrap();
        assert_eq!(watch.height_of(&tx(1)), Some(3));
        assert_eq!(watch.height_of(&tx(2)), Some(4));
        assert_eq!(watch.replaced(), 0);
        let first_seen = watch.seen_at(2).unwrap();

        *chain.0.lock().unwrap() = Chain::branch("b", 5, &b);
        watch.follow(&chain).await.unwrap();
        assert_eq!(watch.height_of(&tx(1)), None, "left with branch a");
        assert_eq!(watch.height_of(&tx(2)), Some(3), "moved to branch b");
        assert_eq!(watch.height_of(&tx(3)), Some(5));
        assert_eq!(watch.replaced(), 2, "heights 3 and 4 of branch a");
        assert_eq!(watch.tip(), Some(5));
        assert_eq!(
            watch.seen_at(2),
            Some(first_seen),
            "the common part is kept"
        );
    }

    #[tokio::test]
    async fn a_shorter_heavier_branch_drops_the_heights_above_it() {
        let a = HashMap::from([(4, vec![tx(1)])]);
        let b = HashMap::from([(3, vec![tx(1)])]);
        let chain = Chain(Mutex::new(Chain::branch("a", 4, &a)));
        let mut watch = ChainWatch::new(0);
        watch.follow(&chain).await.unwrap();
        *chain.0.lock().unwrap() = Chain::branch("b", 3, &b);
        watch.follow(&chain).await.unwrap();
        assert_eq!(watch.tip(), Some(3));
        assert_eq!(watch.height_of(&tx(1)), Some(3));
        assert_eq!(watch.replaced(), 2);
    }

    #[tokio::test]
    async fn an_unchanged_chain_costs_one_block_read() {
        struct Counting(Chain, Mutex<usize>);
        impl BlockSource for Counting {
            async fn tip(&self) -> Result<u64, LoadError> {
                self.0.tip().await
            }
            async fn block(&self, height: u64) -> Result<Option<BlockSummary>, LoadError> {
                *self.1.lock().unwrap() += 1;
                self.0.block(height).await
            }
        }
        let chain = Counting(
            Chain(Mutex::new(Chain::branch("a", 6, &HashMap::new()))),
            Mutex::new(0),
        );
        let mut watch = ChainWatch::new(0);
        watch.follow(&chain).await.unwrap();
        assert_eq!(*chain.1.lock().unwrap(), 7);
        watch.follow(&chain).await.unwrap();
        assert_eq!(*chain.1.lock().unwrap(), 8);
    }

    #[tokio::test]
    async fn a_chain_that_shrinks_while_it_is_read_is_read_again() {
        /// Answers a tip one higher than the chain, once (the chain moved to a shorter
        /// branch between the two reads).
        struct Stale(Chain, Mutex<bool>);
        impl BlockSource for Stale {
            async fn tip(&self) -> Result<u64, LoadError> {
                let tip = self.0.tip().await?;
                Ok(tip + u64::from(std::mem::take(&mut *self.1.lock().unwrap())))
            }
            async fn block(&self, height: u64) -> Result<Option<BlockSummary>, LoadError> {
                self.0.block(height).await
            }
        }
        let txs = HashMap::from([(3, vec![tx(1)])]);
        let chain = Stale(
            Chain(Mutex::new(Chain::branch("a", 3, &txs))),
            Mutex::new(true),
        );
        let mut watch = ChainWatch::new(0);
        watch.follow(&chain).await.unwrap();
        assert_eq!(watch.tip(), None, "nothing read yet");
        watch.follow(&chain).await.unwrap();
        assert_eq!(watch.tip(), Some(3));
        assert_eq!(watch.height_of(&tx(1)), Some(3));
    }
}
