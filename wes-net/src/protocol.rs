//! What peers say to each other: gossip topics, message ids, and the request-response
//! messages of block sync, resource transfer and candidate collection.
//!
//! Every message is encoded with `wes_core::codec` (canonical bincode) and decoded with a
//! size limit; a message that does not decode is evidence against its sender.

use serde::{Deserialize, Serialize};
use wes_core::{
    Block, BlockHash, BlockHeader, ChainId, Chunk, ContentId, Domain, Hash, MerkleProof,
    SignedTransaction,
};

/// The request-response protocol name (one protocol carries every request kind).
pub const PROTOCOL: &str = "/wes/req/1";
/// The Kademlia protocol name of WES networks.
pub const KAD_PROTOCOL: &str = "/wes/kad/1";
/// The identify protocol version string.
pub const IDENTIFY_PROTOCOL: &str = "/wes/1";

/// The domain gossip message ids are hashed in.
pub const MESSAGE_ID_DOMAIN: Domain = Domain::new("wes-net/gossip-message");

/// A gossip message's id: the hash of its bytes, so the same block or transaction relayed by
/// different peers is recognised as one message.
pub fn message_id(data: &[u8]) -> Hash {
    wes_core::hash(MESSAGE_ID_DOMAIN, data)
}

/// The gossip topics of one chain. The genesis hash is part of the name so that two chains
/// that happen to share a chain id never mix their traffic, and the blocks topic carries the
/// version of its message format ([`CompactBlock`](crate::CompactBlock) since version 2) so
/// that nodes speaking another never take each other's messages for garbage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topics {
    /// Where new blocks are announced, as [`CompactBlock`](crate::CompactBlock)s.
    pub blocks: String,
    /// Where transactions travel, in batches (`Vec<SignedTransaction>`, since version 2).
    pub transactions: String,
}

impl Topics {
    /// The topics of chain `chain` with genesis `genesis`.
    pub fn new(chain: ChainId, genesis: &BlockHash) -> Self {
        let g = genesis.0.to_string();
        let short = &g[..g.len().min(16)];
        Topics {
            blocks: format!("/wes/{}/{short}/blocks/2", chain.0),
            transactions: format!("/wes/{}/{short}/txs/2", chain.0),
        }
    }
}

/// Where a node's chain stands: exchanged when peers connect and then periodically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The genesis hash: peers on another genesis are another network.
    pub genesis: BlockHash,
    /// The best tip.
    pub best: BlockHash,
    /// Its height.
    pub height: u64,
    /// Cumulative work of the best chain.
    pub work: u128,
}

/// A resource chunk on the wire (`wes_core::Chunk` with serde).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireChunk {
    /// Chunk index.
    pub index: u64,
    /// The bytes.
    #[serde(with = "serde_bytes_compat")]
    pub bytes: Vec<u8>,
    /// Inclusion proof against the content id.
    pub proof: MerkleProof,
}

impl From<Chunk> for WireChunk {
    fn from(c: Chunk) -> Self {
        WireChunk {
            index: c.index,
            bytes: c.bytes,
            proof: c.proof,
        }
    }
}

impl From<WireChunk> for Chunk {
    fn from(c: WireChunk) -> Self {
        Chunk {
            index: c.index,
            bytes: c.bytes,
            proof: c.proof,
        }
    }
}

/// Byte vectors as one length-prefixed run (bincode encodes `Vec<u8>` element by element
/// otherwise, which is the same bytes but slower).
mod serde_bytes_compat {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        <Vec<u8>>::deserialize(d)
    }
}

/// A request to one peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// "Here is my status; what is yours?"
    Status(Status),
    /// Headers of the requester's missing blocks: the responder finds the first hash of
    /// `locator` on its best chain and returns up to `max` headers after it.
    Headers {
        /// Hashes of the requester's best chain, newest first, spaced exponentially, ending
        /// with genesis.
        locator: Vec<BlockHash>,
        /// How many headers at most.
        max: u32,
    },
    /// Whole blocks by hash (a prefix may be returned to stay under the response limit).
    Blocks {
        /// The blocks, in order.
        hashes: Vec<BlockHash>,
    },
    /// Chunk `index` of content `id`.
    Chunk {
        /// The content.
        id: ContentId,
        /// The chunk.
        index: u64,
    },
    /// The size of content `id`.
    Size {
        /// The content.
        id: ContentId,
    },
    /// A freshly mined block for the aggregator of its height.
    Candidate(Block),
    /// Transactions of a block announced compactly that the requester's pool lacks.
    BlockTransactions {
        /// The block.
        block: BlockHash,
        /// Their positions in it, ascending.
        indexes: Vec<u32>,
    },
}

/// The answer to a [`Request`] of the same kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// The responder's status.
    Status(Status),
    /// Consecutive headers, oldest first.
    Headers(Vec<BlockHeader>),
    /// Blocks, a prefix of those asked for.
    Blocks(Vec<Block>),
    /// The chunk, if the responder has it.
    Chunk(Option<WireChunk>),
    /// The size, if the responder has the content.
    Size(Option<u64>),
    /// The aggregator's best tip after considering the candidate.
    Candidate {
        /// Its best tip.
        best: BlockHash,
    },
    /// The transactions asked for, in the order asked; none if the responder does not have
    /// the block (or an index is out of range).
    BlockTransactions(Vec<SignedTransaction>),
}

/// Limits on what peers may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest gossip message (a block or a transaction).
    pub max_gossip_bytes: usize,
    /// Largest request frame.
    pub max_request_bytes: usize,
    /// Largest response frame.
    pub max_response_bytes: usize,
    /// Most headers returned per request.
    pub max_headers: u32,
    /// Most blocks asked for per request.
    pub max_blocks: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_gossip_bytes: 8 << 20,
            max_request_bytes: 8 << 20,
            max_response_bytes: 16 << 20,
            max_headers: 512,
            max_blocks: 32,
        }
    }
}

/// Is `headers` a chain: consecutive heights, each linked to the one before, the first
/// linked to `parent_known`'s answer? Returns the index of the first header that breaks it.
pub fn check_header_chain(
    headers: &[BlockHeader],
    parent_known: impl Fn(&BlockHash) -> bool,
) -> Result<(), usize> {
    let Some(first) = headers.first() else {
        return Ok(());
    };
    if !parent_known(&first.parent) {
        return Err(0);
    }
    for (i, pair) in headers.windows(2).enumerate() {
        if pair[1].parent != pair[0].hash() || Some(pair[1].height) != pair[0].height.checked_add(1)
        {
            return Err(i + 1);
        }
    }
    Ok(())
}

/// The heights a locator samples below `tip`: the last ten one by one, then doubling steps,
/// always ending with genesis (0).
pub fn locator_heights(tip: u64) -> Vec<u64> {
    let mut heights = Vec::new();
    let mut h = tip;
    let mut step = 1u64;
    loop {
        heights.push(h);
        if h == 0 {
            break;
        }
        if heights.len() >= 10 {
            step = step.saturating_mul(2);
        }
        h = h.saturating_sub(step);
    }
    heights
}

#[cfg(test)]
mod tests {
    use super::*;
    use wes_core::codec;

    #[test]
    fn locator_is_dense_then_sparse_and_ends_at_genesis() {
        assert_eq!(locator_heights(0), vec![0]);
        assert_eq!(locator_heights(3), vec![3, 2, 1, 0]);
        let l = locator_heights(1_000_000);
        assert_eq!(
            &l[..10],
            &[
                1_000_000, 999_999, 999_998, 999_997, 999_996, 999_995, 999_994, 999_993, 999_992,
                999_991
            ]
        );
        assert_eq!(*l.last().unwrap(), 0);
        assert!(l.len() < 40, "logarithmic: {}", l.len());
        assert!(l.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn requests_round_trip_and_garbage_is_an_error() {
        let req = Request::Headers {
            locator: vec![BlockHash::default()],
            max: 7,
        };
        let bytes = codec::encode(&req);
        assert_eq!(codec::decode::<Request>(&bytes).unwrap(), req);
        assert!(codec::decode::<Request>(&[0xff; 13]).is_err());
        assert!(codec::decode::<Response>(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn topics_differ_by_chain_and_genesis() {
        let g = BlockHash::default();
        assert_ne!(Topics::new(ChainId(1), &g), Topics::new(ChainId(2), &g));
        let other = BlockHash(wes_core::hash(MESSAGE_ID_DOMAIN, b"x"));
        assert_ne!(Topics::new(ChainId(1), &g), Topics::new(ChainId(1), &other));
    }
}
