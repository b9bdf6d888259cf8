//! [`Checkpoints`]: blocks a chain's operators vouch for, and the minimum work a chain
//! must carry before a node follows it (Bitcoin's checkpoints and `nMinimumChainWork`).
//!
//! A chain grows; a new node syncing it from genesis can be fed a long branch that forks
//! from the real chain early, cheap to make while difficulty was low. Checkpoints and a
//! minimum work, shipped with a release and raised as the chain grows, close that door:
//!
//! - A block at a checkpoint's height with another hash is invalid, and so is everything
//!   built on it ([`ChainError::Checkpoint`](crate::ChainError::Checkpoint)).
//! - Once the best chain has passed a checkpoint, blocks at and below it are final
//!   ([`ChainManager::finalized_height`](crate::ChainManager::finalized_height)): no branch
//!   leaving the best chain there is followed.
//! - Sync fetches no block bodies from a peer before its headers show the minimum work, and
//!   a producer does not build on a chain that does not carry it (it would be producing on a
//!   branch the network has long left).

use std::collections::BTreeMap;

use wes_core::BlockHash;

/// Blocks a chain's operators vouch for, by height.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkpoints(BTreeMap<u64, BlockHash>);

impl Checkpoints {
    /// No checkpoints.
    pub fn none() -> Self {
        Checkpoints::default()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The block vouched for at `height`, if any.
    pub fn at(&self, height: u64) -> Option<&BlockHash> {
        self.0.get(&height)
    }

    /// The block at `height` a block `hash` there contradicts: `Some(expected)` when a
    /// checkpoint names another block at that height.
    pub fn contradicted_by(&self, height: u64, hash: &BlockHash) -> Option<BlockHash> {
        self.at(height)
            .filter(|expected| *expected != hash)
            .copied()
    }

    /// The highest checkpoint at or below `height`.
    pub fn last_at_or_below(&self, height: u64) -> Option<(u64, BlockHash)> {
        self.0.range(..=height).next_back().map(|(h, b)| (*h, *b))
    }

    /// The checkpoints, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = (u64, BlockHash)> + '_ {
        self.0.iter().map(|(h, b)| (*h, *b))
    }
}

impl FromIterator<(u64, BlockHash)> for Checkpoints {
    fn from_iter<I: IntoIterator<Item = (u64, BlockHash)>>(iter: I) -> Self {
        Checkpoints(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wes_core::Hash;

    fn h(i: u8) -> BlockHash {
        BlockHash(Hash([i; 32]))
    }

    #[test]
    fn lookups() {
        let c: Checkpoints = [(10, h(1)), (20, h(2))].into_iter().collect();
        assert_eq!(c.contradicted_by(10, &h(1)), None);
        assert_eq!(c.contradicted_by(10, &h(9)), Some(h(1)));
        assert_eq!(c.contradicted_by(11, &h(9)), None, "no checkpoint there");
        assert_eq!(c.last_at_or_below(9), None);
        assert_eq!(c.last_at_or_below(10), Some((10, h(1))));
        assert_eq!(c.last_at_or_below(19), Some((10, h(1))));
        assert_eq!(c.last_at_or_below(u64::MAX), Some((20, h(2))));
        assert!(Checkpoints::none().is_empty());
        assert_eq!(c.iter().count(), 2);
    }
}
