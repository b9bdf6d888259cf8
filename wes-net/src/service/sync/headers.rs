//! Checking a batch of a peer's headers before their bodies are fetched. Up to
//! [`Limits::max_headers`](crate::protocol::Limits::max_headers) headers are checked against
//! the node's state, so this runs on a blocking thread, not on the loop.

use std::collections::VecDeque;

use wes_core::{BlockHash, BlockHeader};

use crate::backend::ChainBackend;
use crate::peers::Offence;
use crate::protocol::check_header_chain;

/// Unknown hashes to fetch and the cursor, or the offence the headers show.
pub(in crate::service) type HeadersChecked =
    Result<(VecDeque<BlockHash>, BlockHash, u64), (Offence, String)>;

/// Checks a peer's headers: a chain starting on a known block, each passing the engine's
/// header checks. Returns those not known yet and the last hash.
pub(super) fn check_headers(backend: &dyn ChainBackend, headers: &[BlockHeader]) -> HeadersChecked {
    if let Err(i) = check_header_chain(headers, |h| backend.knows_block(h)) {
        return Err((
            Offence::BadSyncResponse,
            format!("headers do not form a chain at {i}"),
        ));
    }
    for h in headers {
        backend
            .check_header(h)
            .map_err(|e| (Offence::InvalidBlock, e.message))?;
    }
    let last = headers.last().map(|h| h.hash()).unwrap_or_default();
    let unknown = headers
        .iter()
        .map(|h| h.hash())
        .filter(|h| !backend.knows_block(h))
        .collect();
    let height = headers.last().map_or(0, |h| h.height);
    Ok((unknown, last, height))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::{self, BAD_NONCE, MemoryChain};
    use wes_core::Block;

    fn headers(blocks: &[Block]) -> Vec<BlockHeader> {
        blocks.iter().map(|b| b.header.clone()).collect()
    }

    #[test]
    fn a_branch_from_a_known_block_yields_its_unknown_blocks_and_the_cursor() {
        let ours = MemoryChain::new(testing::chain(5));
        let fork = testing::extend(ours.blocks[3].hash(), 3, 3, 1);
        let (unknown, last, height) = check_headers(&ours, &headers(&fork)).unwrap();
        assert_eq!(unknown, fork.iter().map(Block::hash).collect::<Vec<_>>());
        assert_eq!((last, height), (fork[2].hash(), 6));

        // Known headers are skipped; the cursor is still the last one.
        let mut longer = ours.blocks[4..].to_vec();
        longer.extend(testing::extend(ours.blocks[5].hash(), 5, 1, 0));
        let (unknown, last, height) = check_headers(&ours, &headers(&longer)).unwrap();
        assert_eq!(unknown, [longer[2].hash()]);
        assert_eq!((last, height), (longer[2].hash(), 6));
    }

    #[test]
    fn broken_chains_and_invalid_headers_are_offences() {
        let ours = MemoryChain::new(testing::chain(2));
        let fork = testing::extend(ours.blocks[2].hash(), 2, 3, 1);

        let detached = headers(&fork[1..]);
        let err = check_headers(&ours, &detached).unwrap_err();
        assert_eq!(err.0, Offence::BadSyncResponse, "{}", err.1);

        let mut gap = headers(&fork);
        gap.remove(1);
        assert_eq!(
            check_headers(&ours, &gap).unwrap_err().0,
            Offence::BadSyncResponse
        );

        let bad = testing::extend(ours.blocks[2].hash(), 2, 2, BAD_NONCE);
        assert_eq!(
            check_headers(&ours, &headers(&bad)).unwrap_err().0,
            Offence::InvalidBlock
        );
    }
}
