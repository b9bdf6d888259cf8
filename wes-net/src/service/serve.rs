//! Serving peers' requests. A status is answered on the loop and a candidate goes to the
//! import queue; reads (headers, blocks, chunks, sizes) are answered on blocking threads, at
//! most [`NetConfig::max_serving`] at once: beyond it a request is refused, not queued. Each
//! answer holds its permit until it is handed to the swarm.
//!
//! [`NetConfig::max_serving`]: super::NetConfig::max_serving

use libp2p::PeerId;
use libp2p::request_response::ResponseChannel;
use wes_core::{Block, BlockHash, SignedTransaction, codec};

use super::Service;
use super::event_loop::Feedback;
use crate::backend::ChainBackend;
use crate::peers::Offence;
use crate::protocol::{Limits, Request, Response};

impl Service {
    /// A peer's request (`bytes` on the wire).
    pub(super) fn on_request(
        &mut self,
        peer: PeerId,
        bytes: &[u8],
        channel: ResponseChannel<Vec<u8>>,
    ) {
        let size = bytes.len();
        let request: Request =
            match codec::decode_with_limit(bytes, self.config.limits.max_request_bytes) {
                Ok(r) => r,
                Err(e) => return self.penalise(peer, Offence::Malformed, &e.to_string()),
            };
        match request {
            Request::Status(status) => {
                let ours = self.our_status();
                self.respond(channel, &Response::Status(ours));
                self.on_status(peer, status);
            }
            Request::Candidate(block) => self.on_candidate(peer, block, channel, size),
            // The transactions of a block this node just announced, perhaps before its own
            // import stored it: from memory, on the loop.
            Request::BlockTransactions { block, indexes }
                if let Some((_, announced)) = self.announced.iter().find(|(h, _)| *h == block) =>
            {
                let txs = pick(announced, &indexes);
                self.respond(channel, &Response::BlockTransactions(txs));
            }
            other => self.serve(peer, other, channel),
        }
    }

    /// Answers a read request on a blocking thread.
    fn serve(&mut self, peer: PeerId, request: Request, channel: ResponseChannel<Vec<u8>>) {
        let Ok(permit) = self.serving.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "busy: request refused");
            return;
        };
        let backend = self.backend.clone();
        let feedback = self.feedback_tx.clone();
        let limits = self.config.limits;
        tokio::task::spawn_blocking(move || {
            let Some(response) = answer(&*backend, request, limits) else {
                return;
            };
            let _ = feedback.blocking_send(Feedback::Respond {
                channel,
                response,
                _permit: permit,
            });
        });
    }

    pub(super) fn respond(&mut self, channel: ResponseChannel<Vec<u8>>, response: &Response) {
        let _ = self
            .swarm
            .behaviour_mut()
            .rr
            .send_response(channel, codec::encode(response));
    }
}

/// The answer to a read request, within `limits`: a locator of 64 hashes at most, headers
/// and blocks at most as many as the limits allow, and blocks only while the response stays
/// under its size limit (but at least one, the peer's limit being the same). `None` for
/// requests answered on the loop.
fn answer(backend: &dyn ChainBackend, request: Request, limits: Limits) -> Option<Response> {
    let response = match request {
        Request::Headers { locator, max } => Response::Headers(backend.headers_after(
            &locator[..locator.len().min(64)],
            max.min(limits.max_headers) as usize,
        )),
        Request::Blocks { hashes } => {
            let mut blocks = Vec::new();
            let mut size = 64;
            for h in hashes.iter().take(limits.max_blocks) {
                let Some(b) = backend.block(h) else { break };
                size += codec::encoded_len(&b);
                if size > limits.max_response_bytes && !blocks.is_empty() {
                    break;
                }
                blocks.push(b);
            }
            Response::Blocks(blocks)
        }
        Request::Chunk { id, index } => {
            Response::Chunk(backend.chunk(&id, index).ok().map(Into::into))
        }
        Request::Size { id } => Response::Size(backend.content_size(&id).ok()),
        Request::BlockTransactions { block, indexes } => {
            Response::BlockTransactions(block_transactions(backend, &block, &indexes))
        }
        Request::Status(_) | Request::Candidate(_) => return None,
    };
    Some(response)
}

/// The transactions of block `hash` at `indexes`, in that order; none if the block is not
/// stored, an index is out of range, or the indexes do not ascend strictly (as a requester
/// asks for what it lacks): so an answer never holds more than the block, however many
/// times a request repeats an index.
fn block_transactions(
    backend: &dyn ChainBackend,
    hash: &BlockHash,
    indexes: &[u32],
) -> Vec<SignedTransaction> {
    match backend.block(hash) {
        Some(block) => pick(&block, indexes),
        None => Vec::new(),
    }
}

/// The transactions of `block` at `indexes`, as [`block_transactions`] answers them.
fn pick(block: &Block, indexes: &[u32]) -> Vec<SignedTransaction> {
    if indexes.windows(2).any(|w| w[0] >= w[1]) {
        return Vec::new();
    }
    indexes
        .iter()
        .map(|&i| block.transactions.get(i as usize).cloned())
        .collect::<Option<_>>()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::{self, MemoryChain};
    use wes_core::{Block, BlockHash, ContentId};

    fn hashes(blocks: &[Block]) -> Vec<BlockHash> {
        blocks.iter().map(Block::hash).collect()
    }

    fn blocks(chain: &MemoryChain, asked: Vec<BlockHash>, limits: Limits) -> Vec<BlockHash> {
        match answer(chain, Request::Blocks { hashes: asked }, limits) {
            Some(Response::Blocks(b)) => hashes(&b),
            other => panic!("blocks expected, got {other:?}"),
        }
    }

    #[test]
    fn block_transactions_are_served_only_for_strictly_ascending_indexes_in_range() {
        use proptest::strategy::{Strategy, ValueTree};
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut chain = testing::chain(1);
        chain[1].transactions = (0..3)
            .map(|_| {
                wes_core::testing::signed_transaction()
                    .new_tree(&mut runner)
                    .unwrap()
                    .current()
            })
            .collect();
        let hash = chain[1].hash();
        let txs = chain[1].transactions.clone();
        let backend = MemoryChain::new(chain);
        let served = |indexes: Vec<u32>| match answer(
            &backend,
            Request::BlockTransactions {
                block: hash,
                indexes,
            },
            Limits::default(),
        ) {
            Some(Response::BlockTransactions(t)) => t,
            other => panic!("block transactions expected, got {other:?}"),
        };
        assert_eq!(served(vec![0, 2]), vec![txs[0].clone(), txs[2].clone()]);
        assert!(served(vec![2, 0]).is_empty(), "not ascending");
        assert!(served(vec![1; 100_000]).is_empty(), "one index repeated");
        assert!(served(vec![1, 3]).is_empty(), "out of range");
    }

    #[test]
    fn blocks_stop_at_the_count_the_size_limit_or_the_first_unknown() {
        let chain = MemoryChain::new(testing::chain(40));
        let all = hashes(&chain.blocks[1..]);
        let limits = Limits::default();
        assert_eq!(
            blocks(&chain, all.clone(), limits),
            all[..limits.max_blocks]
        );

        let mut asked = all[..5].to_vec();
        asked.insert(3, testing::hash(9));
        assert_eq!(
            blocks(&chain, asked, limits),
            all[..3],
            "a prefix, in order"
        );

        let one = codec::encoded_len(&chain.blocks[1]);
        let two_fit = Limits {
            max_response_bytes: 64 + 2 * one,
            ..limits
        };
        assert_eq!(blocks(&chain, all.clone(), two_fit), all[..2]);
        let none_fit = Limits {
            max_response_bytes: 1,
            ..limits
        };
        assert_eq!(blocks(&chain, all, none_fit), vec![chain.blocks[1].hash()]);
    }

    #[test]
    fn headers_requests_are_clamped_to_the_limits() {
        let chain = MemoryChain::new(testing::chain(3));
        let limits = Limits {
            max_headers: 2,
            ..Limits::default()
        };
        let mut locator = vec![testing::hash(1); 99];
        locator.push(chain.blocks[2].hash());
        let request = Request::Headers { locator, max: 500 };
        let Some(Response::Headers(headers)) = answer(&chain, request, limits) else {
            panic!("headers expected");
        };
        assert_eq!(*chain.headers_asked.lock().unwrap(), [(64, 2)]);
        // Block 2 was beyond the 64 hashes looked at: headers from genesis on.
        let heights: Vec<u64> = headers.iter().map(|h| h.height).collect();
        assert_eq!(heights, [1, 2]);
    }

    #[test]
    fn what_the_loop_answers_is_not_served_here() {
        let chain = MemoryChain::new(testing::chain(1));
        let limits = Limits::default();
        let status = Request::Status(chain.status());
        assert_eq!(answer(&chain, status, limits), None);
        let candidate = Request::Candidate(chain.blocks[1].clone());
        assert_eq!(answer(&chain, candidate, limits), None);
        let size = Request::Size {
            id: ContentId::default(),
        };
        assert_eq!(answer(&chain, size, limits), Some(Response::Size(None)));
    }
}
