//! The XOR (Kademlia) metric: equal-work tie-breaking and aggregator election.
//!
//! # The tie-break rule, exactly
//!
//! Each candidate header `h` gets the key `h.hash() XOR h.parent`, the XOR distance between
//! its hash and the hash of its parent, read as a big-endian 256-bit number. Among tips of
//! equal cumulative work the **smallest key wins**; equal keys (only possible for tips with
//! different parents) fall back to the smaller hash.
//!
//! For siblings (the common case: two miners solve the same height on the same parent) the
//! seed is their common parent hash, which every node knows. For tips with different parents
//! each is measured against *its own* parent rather than against a per-pair seed such as the
//! fork point: a per-candidate key makes the rule a **total order** (transitive), so a node
//! comparing three or more tips in any order picks the same one. A per-pair seed can cycle
//! (`a` beats `b`, `b` beats `c`, `c` beats `a`), which would make the choice depend on
//! arrival order, the very thing the rule exists to remove.

use core::cmp::Ordering;

use wes_core::{BlockHeader, ChainId, Domain, Hash, hash_encoded};

/// The tie-break key of a header: `hash XOR parent`. Smaller wins.
pub fn tie_key(header: &BlockHeader) -> Hash {
    header.hash().0.xor(&header.parent.0)
}

/// Orders two headers of equal cumulative work: `Ordering::Greater` when `a` is preferred,
/// i.e. when `a`'s [`tie_key`] is smaller (then its hash is smaller). A total order;
/// `Equal` only for the same header hash.
pub fn xor_tie_break(a: &BlockHeader, b: &BlockHeader) -> Ordering {
    let (ha, hb) = (a.hash(), b.hash());
    let ka = ha.0.xor(&a.parent.0);
    let kb = hb.0.xor(&b.parent.0);
    // Hash's Ord is lexicographic on the bytes, i.e. big-endian numeric order.
    kb.cmp(&ka).then_with(|| hb.cmp(&ha))
}

/// The domain of aggregator election keys.
pub const AGGREGATOR_DOMAIN: Domain = Domain::new("wes-consensus/aggregator");
/// The domain peer ids are hashed in before their distance is taken.
pub const PEER_KEY_DOMAIN: Domain = Domain::new("wes-consensus/peer");

/// The key peers are compared against when electing the aggregator for `height` of `chain`:
/// `H(chain_id, height)`. Every node computes the same key without talking.
pub fn height_key(chain: ChainId, height: u64) -> Hash {
    hash_encoded(AGGREGATOR_DOMAIN, &(chain.0, height))
}

/// The Kademlia key of a peer id (any byte string, e.g. a libp2p `PeerId`'s bytes): its hash,
/// so ids of any length and structure are spread uniformly.
pub fn peer_key(peer_id: &[u8]) -> Hash {
    wes_core::hash(PEER_KEY_DOMAIN, peer_id)
}

/// The index in `peers` of the peer XOR-closest to `key` (by [`peer_key`]), the aggregator
/// that collects the candidates for that height; `None` if `peers` is empty. Duplicate ids
/// resolve to the first occurrence, so every node with the same peer set elects the same
/// peer whatever the order of the set.
pub fn elect_aggregator<P: AsRef<[u8]>>(peers: &[P], key: &Hash) -> Option<usize> {
    peers
        .iter()
        .enumerate()
        .map(|(i, p)| (peer_key(p.as_ref()).xor(key), i))
        .min()
        .map(|(_, i)| i)
}

/// The PoW + XOR candidate routing: blocks go to the peer [`elect_aggregator`] picks for
/// their height's [`height_key`]. Give it to the network as its
/// [`CandidateRouter`](wes_core::CandidateRouter).
#[derive(Clone, Copy, Debug)]
pub struct XorAggregator {
    /// The chain the heights belong to.
    pub chain: ChainId,
}

impl wes_core::CandidateRouter for XorAggregator {
    fn aggregator(&self, header: &BlockHeader, peers: &[Vec<u8>]) -> Option<usize> {
        elect_aggregator(peers, &height_key(self.chain, header.height))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn election_ignores_peer_order() {
        let peers: Vec<Vec<u8>> = (0u8..20).map(|i| vec![i; 38]).collect();
        let key = height_key(ChainId(7), 1234);
        let winner = &peers[elect_aggregator(&peers, &key).unwrap()];
        let mut reversed = peers.clone();
        reversed.reverse();
        assert_eq!(
            &reversed[elect_aggregator(&reversed, &key).unwrap()],
            winner
        );
        assert!(elect_aggregator::<Vec<u8>>(&[], &key).is_none());
    }

    #[test]
    fn different_heights_elect_different_aggregators() {
        let peers: Vec<[u8; 4]> = (0u32..16).map(|i| i.to_le_bytes()).collect();
        let winners: std::collections::HashSet<usize> = (0..64)
            .map(|h| elect_aggregator(&peers, &height_key(ChainId(1), h)).unwrap())
            .collect();
        assert!(winners.len() > 4, "the load spreads: {winners:?}");
    }
}
