//! Checking a batch of a peer's headers before their bodies are fetched. Up to
//! [`Limits::max_headers`](crate::protocol::Limits::max_headers) headers are checked against
//! the node's state, so this runs on a blocking thread, not on the loop.

use std::collections::VecDeque;

use wes_core::{BlockHash, BlockHeader};

use crate::backend::ChainBackend;
use crate::peers::Offence;
use crate::protocol::check_header_chain;

/// A batch of headers that passed the checks.
#[derive(Debug)]
pub(in crate::service) struct Checked {
    /// The hashes not known yet, in order: the bodies to fetch.
    pub(in crate::service) unknown: VecDeque<BlockHash>,
    /// The last header's hash: the next batch continues after it.
    pub(in crate::service) cursor: BlockHash,
    /// Its height.
    pub(in crate::service) height: u64,
    /// The cumulative work of the chain ending at the cursor, if the backend can tell.
    pub(in crate::service) work: Option<u128>,
}

/// The checked batch, or the offence the headers show.
pub(in crate::service) type HeadersChecked = Result<Checked, (Offence, String)>;

/// Checks a peer's headers: a chain starting on a known block or on `cursor` (the last
/// header of the previous batch, with the work of the chain ending there), each passing the
/// engine's header checks. Returns those not known yet, the last hash and the work at it.
pub(super) fn check_headers(
    backend: &dyn ChainBackend,
    headers: &[BlockHeader],
    cursor: Option<(BlockHash, Option<u128>)>,
) -> HeadersChecked {
    let on_cursor = |h: &BlockHash| cursor.is_some_and(|(c, _)| c == *h);
    if let Err(i) = check_header_chain(headers, |h| on_cursor(h) || backend.knows_block(h)) {
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
    let work = headers.first().and_then(|first| {
        let base = match cursor {
            Some((c, work)) if c == first.parent => work,
            _ => backend.work_at(&first.parent),
        }?;
        headers.iter().try_fold(base, |sum, h| {
            Some(sum.saturating_add(backend.header_work(h)?))
        })
    });
    Ok(Checked {
        unknown,
        cursor: last,
        height,
        work,
    })
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
        let c = check_headers(&ours, &headers(&fork), None).unwrap();
        assert_eq!(c.unknown, fork.iter().map(Block::hash).collect::<Vec<_>>());
        assert_eq!((c.cursor, c.height), (fork[2].hash(), 6));
        // The memory chain's work is one per block: 3 to the fork point, 3 more.
        assert_eq!(c.work, Some(6));
        // The next batch continues on the cursor, which the node does not know yet.
        let next = testing::extend(fork[2].hash(), 6, 2, 1);
        let c = check_headers(&ours, &headers(&next), Some((c.cursor, c.work))).unwrap();
        assert_eq!((c.height, c.work), (8, Some(8)));

        // Known headers are skipped; the cursor is still the last one.
        let mut longer = ours.blocks[4..].to_vec();
        longer.extend(testing::extend(ours.blocks[5].hash(), 5, 1, 0));
        let c = check_headers(&ours, &headers(&longer), None).unwrap();
        assert_eq!(c.unknown, [longer[2].hash()]);
        assert_eq!((c.cursor, c.height), (longer[2].hash(), 6));
    }

    #[test]
    fn broken_chains_and_invalid_headers_are_offences() {
        let ours = MemoryChain::new(testing::chain(2));
        let fork = testing::extend(ours.blocks[2].hash(), 2, 3, 1);

        let detached = headers(&fork[1..]);
        let err = check_headers(&ours, &detached, None).unwrap_err();
        assert_eq!(err.0, Offence::BadSyncResponse, "{}", err.1);

        let mut gap = headers(&fork);
        gap.remove(1);
        assert_eq!(
            check_headers(&ours, &gap, None).unwrap_err().0,
            Offence::BadSyncResponse
        );

        let bad = testing::extend(ours.blocks[2].hash(), 2, 2, BAD_NONCE);
        assert_eq!(
            check_headers(&ours, &headers(&bad), None).unwrap_err().0,
            Offence::InvalidBlock
        );
    }
}
