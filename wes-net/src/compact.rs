//! Compact blocks: a block is gossiped as its header, the ids of its transactions and the
//! coinbase, since its receivers hold almost every other transaction in their mempools
//! already (as in Bitcoin's BIP 152, with whole 32-byte ids, so no collision can be forged).
//! A receiver rebuilds the block from its pool ([`PartialBlock`]), asks the peer that relayed
//! it for the transactions it lacks (`Request::BlockTransactions`), and imports the block as
//! if it had come whole.
//!
//! Ids leave the witness out, so a pooled transaction can carry another valid witness than
//! the block's (another signer set of a multisig): the rebuilt block's witness root then
//! differs from the header's, which is nobody's fault. The transactions taken from the pool
//! are then fetched from the peer too, and only a peer whose own transactions still disagree
//! with its header is at fault.

use serde::{Deserialize, Serialize};
use wes_core::{Block, BlockHash, BlockHeader, SignedTransaction, TxId, merkle::merkle_root};

/// A block announced compactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactBlock {
    /// The block's header.
    pub header: BlockHeader,
    /// The ids of all its transactions, in order.
    pub ids: Vec<TxId>,
    /// Transactions sent whole because no receiver can hold them: the coinbase.
    pub prefilled: Vec<Prefilled>,
}

/// A transaction sent whole inside a [`CompactBlock`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefilled {
    /// Its position in the block.
    pub index: u32,
    /// The transaction.
    pub tx: SignedTransaction,
}

impl CompactBlock {
    /// `block` announced compactly, its coinbase prefilled.
    pub fn of(block: &Block) -> Self {
        CompactBlock {
            header: block.header.clone(),
            ids: block.tx_ids(),
            prefilled: block
                .transactions
                .first()
                .map(|tx| Prefilled {
                    index: 0,
                    tx: tx.clone(),
                })
                .into_iter()
                .collect(),
        }
    }

    /// The block's hash.
    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }
}

/// Why a compact block or the transactions sent for it cannot be used. Every variant is
/// evidence against the peer that sent them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompactError {
    /// A prefilled transaction's position is past the end of the block.
    #[error("prefilled transaction at {index} of a block of {len}")]
    PrefilledOutOfRange {
        /// The position given.
        index: u32,
        /// How many transactions the block has.
        len: usize,
    },
    /// A prefilled or fetched transaction is not the one the block lists at its position.
    #[error("transaction {index} is {got}, the block lists {expected}")]
    WrongTransaction {
        /// Its position.
        index: u32,
        /// The id the block lists.
        expected: TxId,
        /// The id of what was sent.
        got: TxId,
    },
    /// A peer sent another number of transactions than were asked for.
    #[error("{got} transactions sent for {expected} asked")]
    WrongCount {
        /// How many were asked for.
        expected: usize,
        /// How many came.
        got: usize,
    },
    /// The block's transactions, all from the peer, disagree with its header's roots.
    #[error("transactions disagree with the header's {root} root")]
    RootMismatch {
        /// `tx` or `witness`.
        root: &'static str,
    },
}

/// What rebuilding a compact block needs next.
#[derive(Debug)]
pub enum Rebuilt {
    /// The whole block, its roots checked against its header.
    Block(Box<Block>),
    /// The positions of the transactions to fetch from the peer, ascending.
    Missing(Vec<u32>),
}

/// A compact block being rebuilt: the transactions found so far, each known to have the id
/// the block lists at its position.
#[derive(Debug)]
pub struct PartialBlock {
    header: BlockHeader,
    ids: Vec<TxId>,
    slots: Vec<Option<SignedTransaction>>,
    /// Which slots were filled from this node's pool rather than by the peer.
    pooled: Vec<bool>,
}

impl PartialBlock {
    /// Starts rebuilding `compact`: its prefilled transactions are taken (checked against
    /// the ids), and the others are looked up with `pool`, which answers one
    /// `Option` per id it is given (ids it does not hold: `None`).
    ///
    /// # Errors
    /// A prefilled transaction out of range or not the one listed.
    pub fn new(
        compact: CompactBlock,
        pool: impl FnOnce(&[TxId]) -> Vec<Option<SignedTransaction>>,
    ) -> Result<Self, CompactError> {
        let CompactBlock {
            header,
            ids,
            prefilled,
        } = compact;
        let len = ids.len();
        let mut slots: Vec<Option<SignedTransaction>> = vec![None; len];
        for Prefilled { index, tx } in prefilled {
            let Some(slot) = slots.get_mut(index as usize) else {
                return Err(CompactError::PrefilledOutOfRange { index, len });
            };
            check_id(&ids, index, &tx)?;
            *slot = Some(tx);
        }
        let wanted: Vec<TxId> = ids
            .iter()
            .zip(&slots)
            .filter(|(_, s)| s.is_none())
            .map(|(id, _)| *id)
            .collect();
        let mut found = pool(&wanted).into_iter();
        let mut pooled = vec![false; len];
        for (i, slot) in slots.iter_mut().enumerate() {
            if slot.is_some() {
                continue;
            }
            // A pool answering for another id than asked is ignored, not trusted.
            if let Some(tx) = found.next().flatten()
                && tx.id() == ids[i]
            {
                *slot = Some(tx);
                pooled[i] = true;
            }
        }
        Ok(PartialBlock {
            header,
            ids,
            slots,
            pooled,
        })
    }

    /// The block's hash.
    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }

    /// The block's header.
    pub fn header(&self) -> &BlockHeader {
        &self.header
    }

    /// The positions still missing, ascending.
    pub fn missing(&self) -> Vec<u32> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_none())
            .map(|(i, _)| i as u32)
            .collect()
    }

    /// Fills the positions `asked` (as [`missing`](Self::missing) gave them) with `txs`, the
    /// peer's answer in the same order.
    ///
    /// # Errors
    /// Another count than asked, or a transaction that is not the one listed there.
    pub fn fill(&mut self, asked: &[u32], txs: Vec<SignedTransaction>) -> Result<(), CompactError> {
        if txs.len() != asked.len() {
            return Err(CompactError::WrongCount {
                expected: asked.len(),
                got: txs.len(),
            });
        }
        for (&index, tx) in asked.iter().zip(txs) {
            let Some(slot) = self.slots.get_mut(index as usize) else {
                return Err(CompactError::PrefilledOutOfRange {
                    index,
                    len: self.ids.len(),
                });
            };
            check_id(&self.ids, index, &tx)?;
            *slot = Some(tx);
            self.pooled[index as usize] = false;
        }
        Ok(())
    }

    /// The block if every transaction is there and agrees with the header's roots; the
    /// positions to fetch otherwise. When the block disagrees with its witness root and some
    /// transactions came from this node's pool (which may hold them with other witnesses),
    /// those are dropped and asked for.
    ///
    /// # Errors
    /// The peer's ids or transactions disagree with the header.
    pub fn rebuild(&mut self) -> Result<Rebuilt, CompactError> {
        let missing = self.missing();
        if !missing.is_empty() {
            return Ok(Rebuilt::Missing(missing));
        }
        let ids: Vec<_> = self.ids.iter().map(|id| id.0).collect();
        if merkle_root(&ids) != self.header.tx_root {
            return Err(CompactError::RootMismatch { root: "tx" });
        }
        let leaves: Vec<_> = self
            .slots
            .iter()
            .zip(&self.ids)
            .map(|(tx, id)| tx.as_ref().map(|t| t.witness_commitment_for(id)))
            .collect::<Option<_>>()
            .unwrap_or_default();
        if merkle_root(&leaves) != self.header.witness_root {
            if !self.pooled.contains(&true) {
                return Err(CompactError::RootMismatch { root: "witness" });
            }
            for (slot, pooled) in self.slots.iter_mut().zip(&mut self.pooled) {
                if std::mem::take(pooled) {
                    *slot = None;
                }
            }
            return Ok(Rebuilt::Missing(self.missing()));
        }
        let transactions = self.slots.iter_mut().filter_map(Option::take).collect();
        Ok(Rebuilt::Block(Box::new(Block {
            header: self.header.clone(),
            transactions,
        })))
    }
}

fn check_id(ids: &[TxId], index: u32, tx: &SignedTransaction) -> Result<(), CompactError> {
    let expected = ids[index as usize];
    let got = tx.id();
    if got != expected {
        return Err(CompactError::WrongTransaction {
            index,
            expected,
            got,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use std::collections::HashMap;
    use wes_core::testing;

    fn sealed(mut block: Block) -> Block {
        block.seal_roots();
        block
    }

    fn blocks() -> impl Strategy<Value = Block> {
        (
            testing::block_header(),
            proptest::collection::vec(testing::signed_transaction(), 0..12),
        )
            .prop_map(|(header, transactions)| {
                sealed(Block {
                    header,
                    transactions,
                })
            })
    }

    /// A pool holding `held` of the block's transactions.
    fn pool(block: &Block, held: &[bool]) -> HashMap<TxId, SignedTransaction> {
        block
            .transactions
            .iter()
            .zip(held.iter().chain(std::iter::repeat(&false)))
            .filter(|(_, h)| **h)
            .map(|(tx, _)| (tx.id(), tx.clone()))
            .collect()
    }

    fn lookup(
        pool: &HashMap<TxId, SignedTransaction>,
    ) -> impl FnOnce(&[TxId]) -> Vec<Option<SignedTransaction>> {
        move |ids| ids.iter().map(|id| pool.get(id).cloned()).collect()
    }

    /// What the peer answers: the block's transactions at `asked`.
    fn answer(block: &Block, asked: &[u32]) -> Vec<SignedTransaction> {
        asked
            .iter()
            .map(|&i| block.transactions[i as usize].clone())
            .collect()
    }

    /// Rebuilds `block` from `compact` and the pool, fetching from an honest peer.
    fn rebuild(
        block: &Block,
        compact: CompactBlock,
        pool: &HashMap<TxId, SignedTransaction>,
    ) -> (Block, usize) {
        let mut partial = PartialBlock::new(compact, lookup(pool)).unwrap();
        let mut fetched = 0;
        for _ in 0..2 {
            match partial.rebuild().unwrap() {
                Rebuilt::Block(b) => return (*b, fetched),
                Rebuilt::Missing(asked) => {
                    fetched += asked.len();
                    partial.fill(&asked, answer(block, &asked)).unwrap();
                }
            }
        }
        match partial.rebuild().unwrap() {
            Rebuilt::Block(b) => (*b, fetched),
            Rebuilt::Missing(m) => panic!("still missing {m:?} after two rounds"),
        }
    }

    proptest! {
        #[test]
        fn any_block_is_rebuilt_exactly_fetching_only_what_the_pool_lacks(
            block in blocks(),
            held in proptest::collection::vec(any::<bool>(), 12),
        ) {
            let pool = pool(&block, &held);
            let compact = CompactBlock::of(&block);
            let decoded: CompactBlock =
                wes_core::codec::decode(&wes_core::codec::encode(&compact)).unwrap();
            prop_assert_eq!(&decoded, &compact);
            let (rebuilt, fetched) = rebuild(&block, compact, &pool);
            prop_assert_eq!(&rebuilt, &block);
            // The coinbase comes with the announcement; the rest is fetched only if unpooled.
            let unpooled = block
                .transactions
                .iter()
                .skip(1)
                .filter(|tx| !pool.contains_key(&tx.id()))
                .count();
            prop_assert_eq!(fetched, unpooled);
        }
    }

    fn a_block(n: usize) -> Block {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let header = testing::block_header()
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut transactions = Vec::new();
        while transactions.len() < n {
            let tx = testing::signed_transaction()
                .new_tree(&mut runner)
                .unwrap()
                .current();
            transactions.push(tx);
        }
        sealed(Block {
            header,
            transactions,
        })
    }

    #[test]
    fn a_pooled_transaction_with_another_witness_is_fetched_not_blamed() {
        let block = a_block(4);
        let mut pool = pool(&block, &[true; 4]);
        let mut other = block.transactions[2].clone();
        other.witness.proof.push(7);
        pool.insert(other.id(), other);
        let mut partial = PartialBlock::new(CompactBlock::of(&block), lookup(&pool)).unwrap();
        // Everything came from the pool but the witness root disagrees: all that came
        // from the pool is asked for again, the prefilled coinbase is kept.
        let Rebuilt::Missing(asked) = partial.rebuild().unwrap() else {
            panic!("the witness root cannot match");
        };
        assert_eq!(asked, vec![1, 2, 3]);
        partial.fill(&asked, answer(&block, &asked)).unwrap();
        let Rebuilt::Block(rebuilt) = partial.rebuild().unwrap() else {
            panic!("complete");
        };
        assert_eq!(*rebuilt, block);
    }

    #[test]
    fn a_peer_whose_transactions_disagree_with_its_header_is_at_fault() {
        let block = a_block(3);
        // Witnesses of its own that its header does not commit to.
        let mut lying = answer(&block, &[1, 2]);
        lying[1].witness.proof.push(1);
        let mut partial =
            PartialBlock::new(CompactBlock::of(&block), lookup(&HashMap::new())).unwrap();
        partial.fill(&[1, 2], lying).unwrap();
        assert_eq!(
            partial.rebuild().unwrap_err(),
            CompactError::RootMismatch { root: "witness" }
        );
        // Ids that are not the header's.
        let mut compact = CompactBlock::of(&block);
        compact.ids.swap(1, 2);
        let mut partial = PartialBlock::new(compact, lookup(&HashMap::new())).unwrap();
        partial.fill(&[1, 2], answer(&block, &[2, 1])).unwrap();
        assert_eq!(
            partial.rebuild().unwrap_err(),
            CompactError::RootMismatch { root: "tx" }
        );
    }

    #[test]
    fn wrong_answers_and_prefills_are_refused() {
        let block = a_block(3);
        let mut partial =
            PartialBlock::new(CompactBlock::of(&block), lookup(&HashMap::new())).unwrap();
        assert_eq!(partial.missing(), vec![1, 2]);
        assert!(matches!(
            partial.fill(&[1, 2], answer(&block, &[1])),
            Err(CompactError::WrongCount {
                expected: 2,
                got: 1
            })
        ));
        assert!(matches!(
            partial.fill(&[1, 2], answer(&block, &[2, 1])),
            Err(CompactError::WrongTransaction { index: 1, .. })
        ));
        assert!(matches!(
            partial.fill(&[9], answer(&block, &[1])),
            Err(CompactError::PrefilledOutOfRange { index: 9, len: 3 })
        ));
        let mut compact = CompactBlock::of(&block);
        compact.prefilled[0].index = 3;
        assert!(matches!(
            PartialBlock::new(compact, lookup(&HashMap::new())),
            Err(CompactError::PrefilledOutOfRange { index: 3, len: 3 })
        ));
        let mut compact = CompactBlock::of(&block);
        compact.prefilled[0].index = 1;
        assert!(matches!(
            PartialBlock::new(compact, lookup(&HashMap::new())),
            Err(CompactError::WrongTransaction { index: 1, .. })
        ));
    }

    #[test]
    fn a_pool_answering_another_transaction_is_not_trusted() {
        let block = a_block(3);
        let stranger = a_block(5).transactions[4].clone();
        let partial = PartialBlock::new(CompactBlock::of(&block), |ids: &[TxId]| {
            vec![Some(stranger.clone()); ids.len()]
        })
        .unwrap();
        assert_eq!(partial.missing(), vec![1, 2]);
    }
}
