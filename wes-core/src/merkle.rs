//! A binary Merkle tree over 32-byte items, with inclusion proofs.
//!
//! * A leaf node is `H(leaf-domain, item)`; an inner node is `H(node-domain, left ‖ right)`,
//!   so a leaf can never be passed off as an inner node (no second-preimage tricks).
//! * When a level has an odd number of nodes the last one is carried up unchanged. Nothing is
//!   duplicated, so the mutation that hit Bitcoin (CVE-2012-2459: `[a, b, c]` and
//!   `[a, b, c, c]` sharing a root) cannot happen.
//! * The empty tree has the root `H(empty-domain, "")`.
//! * A proof names the leaf index and the leaf count; verification recomputes the path shape
//!   from them, so a proof is for exactly one position in exactly one tree size.

use serde::{Deserialize, Serialize};

use crate::hash::{Domain, Hash, Hasher, hash};

/// The three domains a tree hashes in. Trees that must never be confused with each other (for
/// example content ids in URES and transaction roots) use different domains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeDomains {
    /// Domain of leaf nodes.
    pub leaf: Domain,
    /// Domain of inner nodes.
    pub node: Domain,
    /// Domain of the empty root.
    pub empty: Domain,
}

impl TreeDomains {
    /// The domains of block transaction and witness roots and execution traces.
    pub const STANDARD: TreeDomains = TreeDomains {
        leaf: Domain::MERKLE_LEAF,
        node: Domain::MERKLE_NODE,
        empty: Domain::MERKLE_EMPTY,
    };

    fn leaf_hash(&self, item: &Hash) -> Hash {
        hash(self.leaf, item)
    }

    fn node_hash(&self, left: &Hash, right: &Hash) -> Hash {
        let mut h = Hasher::new(self.node);
        h.update(left).update(right);
        h.finalize()
    }

    fn empty_root(&self) -> Hash {
        hash(self.empty, [])
    }
}

/// The root of the tree over `items` in the standard domains, computed in one pass with
/// `O(items)` scratch space and no stored levels.
pub fn merkle_root(items: &[Hash]) -> Hash {
    merkle_root_in(TreeDomains::STANDARD, items)
}

/// [`merkle_root`] in the given domains.
pub fn merkle_root_in(domains: TreeDomains, items: &[Hash]) -> Hash {
    if items.is_empty() {
        return domains.empty_root();
    }
    let mut level: Vec<Hash> = items.iter().map(|i| domains.leaf_hash(i)).collect();
    while level.len() > 1 {
        level = next_level(domains, &level);
    }
    level[0]
}

fn next_level(domains: TreeDomains, level: &[Hash]) -> Vec<Hash> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [l, r] => domains.node_hash(l, r),
            [single] => *single,
            _ => unreachable!("chunks(2) yields one or two items"),
        })
        .collect()
}

/// A Merkle tree that keeps every level, for producing proofs.
#[derive(Clone, Debug)]
pub struct MerkleTree {
    domains: TreeDomains,
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// Builds the tree over `items` in the standard domains.
    pub fn new(items: &[Hash]) -> Self {
        Self::with_domains(TreeDomains::STANDARD, items)
    }

    /// Builds the tree over `items` in `domains`.
    pub fn with_domains(domains: TreeDomains, items: &[Hash]) -> Self {
        let mut levels = vec![
            items
                .iter()
                .map(|i| domains.leaf_hash(i))
                .collect::<Vec<_>>(),
        ];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let next = next_level(domains, levels.last().expect("non-empty"));
            levels.push(next);
        }
        MerkleTree { domains, levels }
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The root.
    pub fn root(&self) -> Hash {
        match self.levels.last().and_then(|l| l.first()) {
            Some(root) => *root,
            None => self.domains.empty_root(),
        }
    }

    /// The inclusion proof of leaf `index`, or `None` if there is no such leaf.
    pub fn proof(&self, index: usize) -> Option<MerkleProof> {
        if index >= self.len() {
            return None;
        }
        let mut siblings = Vec::with_capacity(self.levels.len());
        let mut pos = index;
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = pos ^ 1;
            if sibling < level.len() {
                siblings.push(level[sibling]);
            }
            pos /= 2;
        }
        Some(MerkleProof {
            index: index as u64,
            leaf_count: self.len() as u64,
            siblings,
        })
    }
}

/// Proof that an item is the leaf at `index` of a tree with `leaf_count` leaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleProof {
    /// Position of the leaf.
    pub index: u64,
    /// Number of leaves in the tree.
    pub leaf_count: u64,
    /// Sibling hashes from the leaf level upwards; levels where the node is carried up
    /// unchanged contribute none.
    pub siblings: Vec<Hash>,
}

/// Why a Merkle proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// The index is outside the tree.
    #[error("leaf index {index} out of range for a tree of {leaf_count} leaves")]
    IndexOutOfRange {
        /// Claimed index.
        index: u64,
        /// Claimed leaf count.
        leaf_count: u64,
    },
    /// The proof has the wrong number of siblings for its position.
    #[error("proof has {got} siblings, a leaf at this position needs {expected}")]
    WrongLength {
        /// Siblings needed.
        expected: usize,
        /// Siblings given.
        got: usize,
    },
    /// The recomputed root differs.
    #[error("proof leads to root {got}, expected {expected}")]
    RootMismatch {
        /// The root the caller trusts.
        expected: Hash,
        /// The root the proof leads to.
        got: Hash,
    },
}

impl MerkleProof {
    /// Verifies that `item` is leaf `self.index` of the standard-domain tree with root `root`.
    pub fn verify(&self, root: &Hash, item: &Hash) -> Result<(), MerkleError> {
        self.verify_in(TreeDomains::STANDARD, root, item)
    }

    /// [`MerkleProof::verify`] in the given domains.
    pub fn verify_in(
        &self,
        domains: TreeDomains,
        root: &Hash,
        item: &Hash,
    ) -> Result<(), MerkleError> {
        let got = self.compute_root_in(domains, item)?;
        if &got == root {
            Ok(())
        } else {
            Err(MerkleError::RootMismatch {
                expected: *root,
                got,
            })
        }
    }

    /// The root this proof leads to for `item`, checking the proof's shape.
    pub fn compute_root_in(&self, domains: TreeDomains, item: &Hash) -> Result<Hash, MerkleError> {
        if self.index >= self.leaf_count {
            return Err(MerkleError::IndexOutOfRange {
                index: self.index,
                leaf_count: self.leaf_count,
            });
        }
        let expected = path_length(self.index, self.leaf_count);
        if self.siblings.len() != expected {
            return Err(MerkleError::WrongLength {
                expected,
                got: self.siblings.len(),
            });
        }
        let mut node = domains.leaf_hash(item);
        let (mut pos, mut width) = (self.index, self.leaf_count);
        let mut siblings = self.siblings.iter();
        while width > 1 {
            if pos ^ 1 < width {
                let sibling = siblings.next().expect("length checked above");
                node = if pos % 2 == 0 {
                    domains.node_hash(&node, sibling)
                } else {
                    domains.node_hash(sibling, &node)
                };
            }
            pos /= 2;
            width = width.div_ceil(2);
        }
        Ok(node)
    }
}

/// Number of siblings on the path of leaf `index` in a tree of `leaf_count` leaves.
fn path_length(mut index: u64, mut width: u64) -> usize {
    let mut n = 0;
    while width > 1 {
        if index ^ 1 < width {
            n += 1;
        }
        index /= 2;
        width = width.div_ceil(2);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<Hash> {
        (0..n as u64)
            .map(|i| hash(Domain::TX, i.to_le_bytes()))
            .collect()
    }

    #[test]
    fn every_leaf_of_every_small_tree_proves() {
        for n in 0..40 {
            let items = items(n);
            let tree = MerkleTree::new(&items);
            assert_eq!(tree.root(), merkle_root(&items), "n = {n}");
            for (i, item) in items.iter().enumerate() {
                let proof = tree.proof(i).unwrap();
                proof.verify(&tree.root(), item).unwrap();
                let other = hash(Domain::TX, b"other");
                assert!(proof.verify(&tree.root(), &other).is_err());
            }
            assert!(tree.proof(n).is_none());
        }
    }

    #[test]
    fn duplicating_the_last_leaf_changes_the_root() {
        let mut v = items(3);
        let root3 = merkle_root(&v);
        v.push(v[2]);
        assert_ne!(root3, merkle_root(&v));
    }

    #[test]
    fn a_proof_is_bound_to_its_index_and_tree_size() {
        let items = items(5);
        let tree = MerkleTree::new(&items);
        let mut proof = tree.proof(1).unwrap();
        proof.index = 0;
        assert!(proof.verify(&tree.root(), &items[1]).is_err());
        let mut proof = tree.proof(4).unwrap();
        proof.leaf_count = 9;
        assert!(matches!(
            proof.verify(&tree.root(), &items[4]),
            Err(MerkleError::WrongLength { .. } | MerkleError::RootMismatch { .. })
        ));
        let mut proof = tree.proof(0).unwrap();
        proof.index = 7;
        assert!(matches!(
            proof.verify(&tree.root(), &items[0]),
            Err(MerkleError::IndexOutOfRange { .. })
        ));
    }

    #[test]
    fn a_leaf_cannot_pose_as_an_inner_node() {
        let items = items(2);
        let root = merkle_root(&items);
        // The root of a one-leaf tree over the root value is a leaf hash, not the root.
        assert_ne!(merkle_root(&[root]), root);
    }

    #[test]
    fn domains_separate_trees() {
        const OTHER: TreeDomains = TreeDomains {
            leaf: Domain::new("test/leaf"),
            node: Domain::new("test/node"),
            empty: Domain::new("test/empty"),
        };
        let items = items(4);
        assert_ne!(merkle_root(&items), merkle_root_in(OTHER, &items));
    }
}
